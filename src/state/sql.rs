//! The little SQL both backends speak: statements with `$1, $2, …`
//! placeholders, values that are integers or text (or NULL of either), rows
//! of such values, and transactions. The store's logic is written once
//! over [`SqlConnection`]; SQLite and PostgreSQL implement it.

use super::error::{StateError, StateResult};

/// A parameter or a column value. Nulls keep their type: PostgreSQL needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> SqlValue {
        SqlValue::Int(Some(value))
    }
}

impl From<Option<i64>> for SqlValue {
    fn from(value: Option<i64>) -> SqlValue {
        SqlValue::Int(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> SqlValue {
        SqlValue::Text(Some(value.to_string()))
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> SqlValue {
        SqlValue::Text(Some(value))
    }
}

impl From<&String> for SqlValue {
    fn from(value: &String) -> SqlValue {
        SqlValue::Text(Some(value.clone()))
    }
}

impl From<Option<String>> for SqlValue {
    fn from(value: Option<String>) -> SqlValue {
        SqlValue::Text(value)
    }
}

impl From<Option<&str>> for SqlValue {
    fn from(value: Option<&str>) -> SqlValue {
        SqlValue::Text(value.map(str::to_string))
    }
}

/// One result row.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub values: Vec<SqlValue>,
}

impl Row {
    fn get(&self, index: usize) -> StateResult<&SqlValue> {
        self.values.get(index).ok_or_else(|| StateError::query(format!("column {index} is missing")))
    }

    pub fn text(&self, index: usize) -> StateResult<String> {
        self.opt_text(index)?.ok_or_else(|| StateError::query(format!("column {index} is NULL")))
    }

    pub fn opt_text(&self, index: usize) -> StateResult<Option<String>> {
        match self.get(index)? {
            SqlValue::Text(text) => Ok(text.clone()),
            SqlValue::Int(number) => Ok(number.map(|n| n.to_string())),
        }
    }

    pub fn int(&self, index: usize) -> StateResult<i64> {
        self.opt_int(index)?.ok_or_else(|| StateError::query(format!("column {index} is NULL")))
    }

    pub fn opt_int(&self, index: usize) -> StateResult<Option<i64>> {
        match self.get(index)? {
            SqlValue::Int(number) => Ok(*number),
            SqlValue::Text(None) => Ok(None),
            SqlValue::Text(Some(text)) => {
                text.parse().map(Some).map_err(|_| StateError::query(format!("column {index} is not a number")))
            }
        }
    }
}

/// One connection to a store.
pub trait SqlConnection: Send {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Where the store is, for messages (a path, or a URL without password).
    fn location(&self) -> &str;
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StateResult<u64>;
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> StateResult<Vec<Row>>;
    /// Runs several statements without parameters (schema changes).
    fn batch(&mut self, sql: &str) -> StateResult<()>;
    /// Starts a transaction that writes: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so two writers never deadlock on an upgrade.
    fn begin(&mut self) -> StateResult<()>;
    fn commit(&mut self) -> StateResult<()>;
    fn rollback(&mut self) -> StateResult<()>;
    /// Inside a transaction: waits for and holds, until the transaction
    /// ends, an exclusive lock on `key` across every client of the store.
    /// PostgreSQL takes a transaction-level advisory lock; SQLite's write
    /// transaction is exclusive already.
    fn lock_key(&mut self, key: &str) -> StateResult<()>;
}

/// Runs `work` in a transaction: committed when it returns `Ok`, rolled back otherwise.
pub fn transaction<C: SqlConnection + ?Sized, T>(
    connection: &mut C,
    work: impl FnOnce(&mut C) -> StateResult<T>,
) -> StateResult<T> {
    connection.begin()?;
    match work(connection) {
        Ok(value) => {
            connection.commit()?;
            Ok(value)
        }
        Err(error) => {
            let _ = connection.rollback();
            Err(error)
        }
    }
}
