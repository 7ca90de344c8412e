//! The SQLite backend: the only module that names `rusqlite`. [`Database`] opens the file,
//! migrates it (the schema is `schema/*.sql`, one file per version), owns the writer, the
//! reader pool and the checkpoint thread, and runs transactions; `db` maps every table's rows.
//! It stores what [`crate::domain`] decided and makes no decision of its own.

pub(crate) mod checkpoint;
mod database;
pub(crate) mod db;

#[cfg(test)]
pub(crate) use database::{migrate, MIGRATIONS};
pub(crate) use database::{synchronous as database_synchronous, Database};
pub use database::{Durability, OpenOptions, SCHEMA_VERSION};
