//! The embedded default: one SQLite file, `.deploy/state.db` beside the
//! plan, in WAL mode (readers never wait for the writer; a killed writer
//! leaves the last committed transaction intact) with `synchronous=NORMAL`
//! and a busy timeout so concurrent deploy processes queue for the lock.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::error::{StateError, StateResult};
use super::schema;
use super::sql::{Row, SqlConnection, SqlValue};

pub struct SqliteConnection {
    connection: Connection,
    location: String,
    /// Opened with `SQLITE_OPEN_READ_ONLY`: transactions only read.
    read_only: bool,
}

/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl SqliteConnection {
    /// Opens (and with `create`, creates) the store at `path`, applying
    /// migrations. Without `create`, a missing file is `Ok(None)`.
    pub fn open(path: &Path, create: bool) -> StateResult<Option<SqliteConnection>> {
        let location = path.display().to_string();
        let existed = path.exists();
        if !existed {
            if !create {
                return Ok(None);
            }
            if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|error| StateError::Open { location: location.clone(), message: error.to_string() })?;
            }
        } else if let Some(error) = not_a_store(path) {
            return Err(error);
        } else if let Some(message) = damaged_file(path) {
            return Err(StateError::Corrupt { location, message });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(path, flags)
            .map_err(|error| StateError::Open { location: location.clone(), message: error.to_string() })?;
        if existed {
            if let Some(message) = truncated(&connection, path) {
                return Err(StateError::Corrupt { location, message });
            }
        }
        // A write-protected file (or a read-only mount) opens for reading
        // only: say so now, not as an odd failure of the first write.
        if connection.is_readonly(rusqlite::DatabaseName::Main).unwrap_or(false) {
            return Err(StateError::ReadOnly { location });
        }
        let mut store = SqliteConnection { connection, location: location.clone(), read_only: false };
        store.prepare(path)?;
        Ok(Some(store))
    }

    /// Opens an existing store for reading only, as an immutable file: no
    /// lock, no journal, no migration, nothing written beside it. `Ok(None)`
    /// when there is no file.
    pub fn open_read_only(path: &Path) -> StateResult<Option<SqliteConnection>> {
        let location = path.display().to_string();
        if let Some(error) = not_a_store(path) {
            return Err(error);
        }
        if !path.is_file() {
            return Ok(None);
        }
        let absolute = std::fs::canonicalize(path)
            .map_err(|error| StateError::Open { location: location.clone(), message: error.to_string() })?;
        let escaped = absolute.display().to_string().replace('%', "%25").replace('?', "%3f").replace('#', "%23");
        let uri = format!("file:{escaped}?immutable=1");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let connection = Connection::open_with_flags(uri, flags)
            .map_err(|error| StateError::Open { location: location.clone(), message: error.to_string() })?;
        Ok(Some(SqliteConnection { connection, location, read_only: true }))
    }

    /// Opens an existing store to read it (`deploy status`, `history`,
    /// `logs`): `SQLITE_OPEN_READ_ONLY`, nothing created, no migration, so a
    /// write-protected store or a read-only mount can be read. It still sees
    /// what a running deploy commits (the write-ahead log is read); where
    /// SQLite cannot share that log from here (no `-shm` file and a directory
    /// this user cannot write), nobody here can be writing it, and the file
    /// is read as an immutable file. `Ok(None)` when there is no file; the
    /// schema version comes with the connection (it may be older than this
    /// deploy's: [`super::schema::OutdatedReader`]).
    pub fn open_reader(path: &Path) -> StateResult<Option<(SqliteConnection, i64)>> {
        let location = path.display().to_string();
        if let Some(error) = not_a_store(path) {
            return Err(error);
        }
        if !path.exists() {
            return Ok(None);
        }
        if let Some(message) = damaged_file(path) {
            return Err(StateError::Corrupt { location, message });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags)
            .map_err(|error| StateError::Open { location: location.clone(), message: error.to_string() })?;
        let mut store = SqliteConnection { connection, location: location.clone(), read_only: true };
        store.connection.busy_timeout(BUSY_TIMEOUT).map_err(|error| store.map_error(error))?;
        let tables = match store.tables() {
            Ok(tables) => tables,
            Err(StateError::Open { .. } | StateError::ReadOnly { .. }) => {
                let Some(immutable) = SqliteConnection::open_read_only(path)? else { return Ok(None) };
                store = immutable;
                store.tables()?
            }
            Err(error) => return Err(error),
        };
        if let Some(message) = truncated(&store.connection, path) {
            return Err(StateError::Corrupt { location, message });
        }
        let has_meta = tables.iter().any(|name| name == "meta");
        let version = schema::readable_version(&mut store, !tables.is_empty(), has_meta)?;
        Ok(Some((store, version)))
    }

    /// The tables of the store: the first read of the file, so a file that
    /// is not SQLite fails here, before anything is written.
    fn tables(&mut self) -> StateResult<Vec<String>> {
        let location = self.location.clone();
        let mut statement = self
            .connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .map_err(|error| map_error(&location, error))?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(|error| map_error(&location, error))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| map_error(&location, error));
        names
    }

    fn prepare(&mut self, path: &Path) -> StateResult<()> {
        let location = self.location.clone();
        self.connection.busy_timeout(BUSY_TIMEOUT).map_err(|error| self.map_error(error))?;
        let tables = self.tables()?;
        let mode: String = self
            .connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|error| self.map_error(error))?;
        if !mode.eq_ignore_ascii_case("wal") && !is_memory(path) {
            return Err(StateError::Open { location, message: format!("cannot switch to WAL mode (got {mode})") });
        }
        self.connection.execute_batch("PRAGMA synchronous = NORMAL").map_err(|error| self.map_error(error))?;
        let has_meta = tables.iter().any(|name| name == "meta");
        schema::migrate(self, !tables.is_empty(), has_meta)
    }

    /// A transaction statement, prepared once per connection: a run's
    /// journal begins and commits a transaction for every few events, and
    /// parsing `BEGIN IMMEDIATE` again each time showed in its profile.
    fn control(&mut self, sql: &str) -> StateResult<()> {
        let result = self.connection.prepare_cached(sql).and_then(|mut statement| statement.execute([]).map(drop));
        result.map_err(|error| self.map_error(error))
    }

    fn map_error(&self, error: rusqlite::Error) -> StateError {
        map_error(&self.location, error)
    }

    fn bind(params: &[SqlValue]) -> Vec<Value> {
        params
            .iter()
            .map(|param| match param {
                SqlValue::Int(Some(number)) => Value::Integer(*number),
                SqlValue::Text(Some(text)) => Value::Text(text.clone()),
                SqlValue::Int(None) | SqlValue::Text(None) => Value::Null,
            })
            .collect()
    }
}

fn is_memory(path: &Path) -> bool {
    path == Path::new(":memory:")
}

fn map_error(location: &str, error: rusqlite::Error) -> StateError {
    if let rusqlite::Error::SqliteFailure(failure, _) = &error {
        match failure.code {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                return StateError::Corrupt { location: location.to_string(), message: error.to_string() }
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StateError::query(format!("{location} is busy (another deploy holds it too long): {error}"))
            }
            ErrorCode::ReadOnly => return StateError::ReadOnly { location: location.to_string() },
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                return StateError::Open { location: location.to_string(), message: error.to_string() }
            }
            _ => {}
        }
    }
    StateError::query(format!("{location}: {error}"))
}

/// `$1` → `?1`: SQLite's numbered parameters.
fn sqlite_placeholders(sql: &str) -> String {
    sql.replace('$', "?")
}

impl SqlConnection for SqliteConnection {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn location(&self) -> &str {
        &self.location
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> StateResult<u64> {
        let sql = sqlite_placeholders(sql);
        let location = self.location.clone();
        let mut statement = self.connection.prepare_cached(&sql).map_err(|error| map_error(&location, error))?;
        let changed = statement
            .execute(rusqlite::params_from_iter(Self::bind(params)))
            .map_err(|error| map_error(&location, error))?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> StateResult<Vec<Row>> {
        let sql = sqlite_placeholders(sql);
        let location = self.location.clone();
        let mut statement = self.connection.prepare_cached(&sql).map_err(|error| map_error(&location, error))?;
        let columns = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(Self::bind(params)))
            .map_err(|error| map_error(&location, error))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|error| map_error(&location, error))? {
            let mut values = Vec::with_capacity(columns);
            for index in 0..columns {
                let value = row.get_ref(index).map_err(|error| map_error(&location, error))?;
                values.push(match value {
                    ValueRef::Null => SqlValue::Int(None),
                    ValueRef::Integer(number) => SqlValue::Int(Some(number)),
                    ValueRef::Real(number) => SqlValue::Int(Some(number as i64)),
                    ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
                        SqlValue::Text(Some(String::from_utf8_lossy(bytes).into_owned()))
                    }
                });
            }
            out.push(Row { values });
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> StateResult<()> {
        self.connection.execute_batch(sql).map_err(|error| self.map_error(error))
    }

    fn begin(&mut self) -> StateResult<()> {
        if self.read_only {
            // Only reads run here: a deferred transaction takes no write lock.
            return self.control("BEGIN");
        }
        self.control("BEGIN IMMEDIATE")
    }

    fn commit(&mut self) -> StateResult<()> {
        self.control("COMMIT")
    }

    fn rollback(&mut self) -> StateResult<()> {
        self.control("ROLLBACK")
    }

    fn lock_key(&mut self, _key: &str) -> StateResult<()> {
        Ok(())
    }
}

/// Whether a write-ahead log beside `path` holds pages of the store.
fn wal_present(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(std::path::PathBuf::from(wal)).is_ok_and(|m| m.len() > 0)
}

/// A path that exists but is no regular file (after symlinks): a directory,
/// a device such as `/dev/null`, a FIFO, a socket. SQLite would read a device
/// as an empty database, or block on a FIFO; and it is never "damaged" — the
/// advice to move it away must not be given for `/dev/null`.
fn not_a_store(path: &Path) -> Option<StateError> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path).ok()?.file_type();
    let what = if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Some(StateError::NotAStore { location: path.display().to_string(), what: what.into() })
}

/// An existing state file that cannot hold a state: empty or shorter than
/// SQLite's header, with no write-ahead log holding its pages. SQLite itself
/// would treat an empty file as a new database, silently starting a new
/// history. Only the file's size is looked at (`stat`): opening and closing
/// the file here would drop the locks this process's own connections hold
/// on it (POSIX record locks belong to the process, not to a descriptor),
/// and SQLite would then delete a write-ahead log still in use.
fn damaged_file(path: &Path) -> Option<String> {
    const HEADER: u64 = 100;
    let length = std::fs::metadata(path).ok()?.len();
    if length >= HEADER || wal_present(path) {
        return None;
    }
    if length == 0 {
        return Some("the file is empty (0 bytes)".into());
    }
    Some(format!("the file ({length} bytes) is shorter than a SQLite header"))
}

/// A store whose file is shorter than the pages its header counts (when no
/// write-ahead log holds the rest), read through SQLite's own connection. A
/// file that is not SQLite at all fails at the first read, after this.
///
/// Other processes write at the same time: the page count is read first,
/// then whether a log exists, then the file's length — a log that held the
/// counted pages either is still there, or was checkpointed into the file
/// (which is then long enough) before it went away. A shortfall is looked
/// at once more after a moment before the store is called damaged.
fn truncated(connection: &Connection, path: &Path) -> Option<String> {
    let shortfall = || -> Option<(u64, u64)> {
        let page_size: i64 = connection.query_row("PRAGMA page_size", [], |row| row.get(0)).ok()?;
        let pages: i64 = connection.query_row("PRAGMA page_count", [], |row| row.get(0)).ok()?;
        let expected = u64::try_from(page_size.max(0)).ok()? * u64::try_from(pages.max(0)).ok()?;
        if wal_present(path) {
            return None;
        }
        let length = std::fs::metadata(path).ok()?.len();
        (expected > 0 && length < expected).then_some((length, expected))
    };
    shortfall()?;
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (length, expected) = shortfall()?;
    Some(format!("the file is truncated: {length} bytes, its header counts {expected} bytes"))
}
