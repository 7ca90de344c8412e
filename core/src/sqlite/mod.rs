//! The SQLite backend: the only module that names `rusqlite`. [`Database`] opens the file,
//! migrates it (the schema is `schema/*.sql`, one file per version), owns the writer, the
//! reader pool and the checkpoint thread, and runs transactions; `db` maps every table's rows.
//! It stores what [`crate::domain`] decided and makes no decision of its own.

mod backend;
pub(crate) mod bulk;
pub(crate) mod checkpoint;
mod database;
pub(crate) mod db;
pub(crate) mod listing;

#[cfg(test)]
pub(crate) use database::{migrate, MIGRATIONS};
pub(crate) use database::{synchronous as database_synchronous, Database};

use crate::error::{Error, Failure};

/// SQLite's failures mapped once to public codes: a lock held too long is `busy`, a file that
/// is not a database (or a damaged one) is `corrupt`, anything else `storage`. The SQLite
/// error stays the [`Failure`]'s source (`is_constraint_failure` reads it).
impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        let code = err.sqlite_error_code();
        let failure = Failure::caused_by(err.to_string(), err);
        match code {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy(failure),
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::Corrupt(failure),
            _ => Error::Storage(failure),
        }
    }
}

/// Whether `err` is SQLite refusing a write for a constraint (unique, foreign key, check):
/// the record's fault, not the database's.
pub(crate) fn is_constraint_failure(err: &Error) -> bool {
    match err {
        Error::Storage(f) => f.cause::<rusqlite::Error>().is_some_and(|e| {
            e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::ConstraintViolation)
        }),
        _ => false,
    }
}

pub use database::SCHEMA_VERSION;

/// Creates `path` as an empty file that only its owner may read and write (mode 0600, set
/// after creation, so whatever the umask) when nothing is there, which SQLite then opens as a
/// new database; SQLite creates the WAL and shared-memory files with the database file's mode.
/// Leaves an existing file alone. `:memory:` and the empty path (SQLite's temporary database)
/// are not files.
pub(crate) fn create_owner_only(path: &std::path::Path) -> crate::error::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Ok(());
        }
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .and_then(|file| file.set_permissions(std::fs::Permissions::from_mode(0o600)));
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(Error::Storage(Failure::caused_by(
                format!("cannot create {}: {e}", path.display()),
                e,
            ))),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}
