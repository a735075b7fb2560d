//! Where the state lives: `--state` or `DEPLOY_STATE` (a path, or a
//! `postgres://` / `postgresql://` URL), else `.deploy/state.db` beside the plan.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The directory and file name of the embedded default.
pub const DEFAULT_DIR: &str = ".deploy";
pub const DEFAULT_FILE: &str = "state.db";

impl StateLocation {
    /// Parses `--state` / `DEPLOY_STATE`.
    pub fn parse(text: &str) -> StateLocation {
        let trimmed = text.trim();
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            StateLocation::Postgres(trimmed.to_string())
        } else {
            StateLocation::Sqlite(PathBuf::from(trimmed.strip_prefix("sqlite://").unwrap_or(trimmed)))
        }
    }

    /// The state of a plan: the explicit location, else beside the plan.
    pub fn for_plan(explicit: Option<&str>, plan: &Path) -> StateLocation {
        if let Some(text) = explicit.filter(|text| !text.trim().is_empty()) {
            return StateLocation::parse(text);
        }
        let dir = plan.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        StateLocation::Sqlite(dir.join(DEFAULT_DIR).join(DEFAULT_FILE))
    }

    /// For commands without a plan: the explicit location, else the nearest
    /// `.deploy/state.db` in this directory or a parent, else the one here.
    pub fn discover(explicit: Option<&str>, plan: Option<&Path>) -> StateLocation {
        if let Some(plan) = plan {
            return StateLocation::for_plan(explicit, plan);
        }
        if let Some(text) = explicit.filter(|text| !text.trim().is_empty()) {
            return StateLocation::parse(text);
        }
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        for dir in here.ancestors() {
            let candidate = dir.join(DEFAULT_DIR).join(DEFAULT_FILE);
            if candidate.is_file() {
                return StateLocation::Sqlite(candidate);
            }
        }
        StateLocation::Sqlite(PathBuf::from(DEFAULT_DIR).join(DEFAULT_FILE))
    }

    pub fn describe(&self) -> String {
        match self {
            StateLocation::Sqlite(path) => path.display().to_string(),
            StateLocation::Postgres(url) => url
                .parse::<tokio_postgres::Config>()
                .map(|config| super::postgres::describe(&config))
                .unwrap_or_else(|_| "(a PostgreSQL URL)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(StateLocation::parse("postgres://u@h/db"), StateLocation::Postgres("postgres://u@h/db".into()));
        assert_eq!(StateLocation::parse("x/state.db"), StateLocation::Sqlite(PathBuf::from("x/state.db")));
        assert_eq!(
            StateLocation::for_plan(None, Path::new("/a/release.deploy")),
            StateLocation::Sqlite(PathBuf::from("/a/.deploy/state.db"))
        );
        assert_eq!(
            StateLocation::for_plan(None, Path::new("release.deploy")),
            StateLocation::Sqlite(PathBuf::from("./.deploy/state.db"))
        );
    }

    #[test]
    fn describes_without_password() {
        let location = StateLocation::parse("postgres://me:secret@db.example:6543/deploy");
        assert_eq!(location.describe(), "postgres://me@db.example:6543/deploy");
    }
}
