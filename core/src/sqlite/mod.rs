//! The SQLite backend: the only module that names `rusqlite`. [`Database`] opens the file,
//! migrates it (the schema is `schema/*.sql`, one file per version), owns the writer, the
//! reader pool and the checkpoint thread, and runs transactions; `db` maps every table's rows.
//! It stores what [`crate::domain`] decided and makes no decision of its own.

pub(crate) mod bulk;
pub(crate) mod checkpoint;
mod database;
pub(crate) mod db;
pub(crate) mod listing;

#[cfg(test)]
pub(crate) use database::{migrate, MIGRATIONS};
pub(crate) use database::{synchronous as database_synchronous, Database};

/// A connection inside one of [`Database`]'s transactions, as the operations hand it to `db`'s
/// functions.
pub(crate) type Conn = rusqlite::Connection;

use crate::error::Error;

/// SQLite's failures mapped once to public codes: a lock held too long is `busy`, a file that
/// is not a database (or a damaged one) is `corrupt`, anything else `storage`.
impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match &err {
            rusqlite::Error::SqliteFailure(e, _) => match e.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::Busy(err.to_string()),
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                    Error::Corrupt(err.to_string())
                }
                _ => Error::Storage(err.to_string()),
            },
            _ => Error::Storage(err.to_string()),
        }
    }
}

pub use database::{Durability, OpenOptions, SCHEMA_VERSION};
