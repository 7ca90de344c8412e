//! The [`Store`] itself: opening one, and what it is. Its operations are in the other modules
//! of `api` (`ops`, `query`, `views`, `report`, `dump`, `roster`, `check`); every public
//! method of `Store` is in this folder.

use std::path::Path;

use crate::domain::ids::IdGenerator;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::sqlite::Database;
use crate::storage::OpenOptions;
use crate::storage::{Backend, Read, Write, WriteMode};

/// An enrollkit database. `Send + Sync`: share one `Store` (e.g. in an `Arc`) between threads.
///
/// A store of a file that it may write runs one thread of its own, which checkpoints the
/// write-ahead log so that commits need not wait for it; dropping the store stops the thread
/// and waits for it.
///
/// ```
/// use enrollkit::{Actor, EnrollRequest, Kind, ProgramSpec, ProgramState, Store, User};
/// let store = Store::open_in_memory()?;
/// store.upsert_user(&User { id: "usr_1".into(), email: Some("ada@example.com".into()), ..User::default() })?;
/// store.create_program(&ProgramSpec {
///     id: "crs_1".into(), kind: Kind::Course, title: "Rust 101".into(), description: None,
///     state: ProgramState::Active, self_enrollment: true, steps: vec![], assessment: None,
///     policy: Default::default(),
/// })?;
/// let e = store.enroll(&Actor::Learner("usr_1".into()), &EnrollRequest::new("usr_1", "crs_1"))?;
/// let e = store.set_progress(&Actor::Learner("usr_1".into()), &e.id, 100.0)?;
/// assert_eq!(e.status_name(), "completed");
/// # Ok::<(), enrollkit::Error>(())
/// ```
pub struct Store {
    /// Where the store keeps its data: the operations reach storage only through it.
    backend: Box<dyn Backend>,
    /// New enrollment ids: time-ordered, and increasing within this store.
    pub(crate) ids: IdGenerator,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Opens (creating or upgrading as needed) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        OpenOptions::new().open(path)
    }

    /// Opens a private in-memory database with default options.
    pub fn open_in_memory() -> Result<Store> {
        OpenOptions::new().open_in_memory()
    }

    /// The file this store was opened on (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.backend.path()
    }

    /// The current time on the store's clock.
    pub fn now(&self) -> Timestamp {
        self.backend.now()
    }

    /// The schema version of the open database (always [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)
    /// once open).
    pub fn schema_version(&self) -> Result<i64> {
        self.backend.schema_version()
    }

    fn with_backend(backend: impl Backend + 'static) -> Store {
        Store {
            backend: Box::new(backend),
            ids: IdGenerator::default(),
        }
    }

    /// Runs `body` in one read transaction (a consistent snapshot) and returns what it
    /// returned.
    pub(crate) fn read<T>(&self, mut body: impl FnMut(&mut dyn Read) -> Result<T>) -> Result<T> {
        let mut out = None;
        self.backend.read(&mut |tx| {
            out = Some(body(tx)?);
            Ok(())
        })?;
        out.ok_or_else(unrun)
    }

    /// Runs `body` in one write transaction of `mode` and returns what it returned: committed
    /// when it returns `Ok` (unless it called [`Write::discard`]), rolled back otherwise.
    pub(crate) fn write_as<T>(
        &self,
        mode: WriteMode,
        mut body: impl FnMut(&mut dyn Write) -> Result<T>,
    ) -> Result<T> {
        let mut out = None;
        self.backend.write(mode, &mut |tx| {
            out = Some(body(tx)?);
            Ok(())
        })?;
        out.ok_or_else(unrun)
    }

    /// [`Store::write_as`] for one operation.
    pub(crate) fn write<T>(&self, body: impl FnMut(&mut dyn Write) -> Result<T>) -> Result<T> {
        self.write_as(WriteMode::Single, body)
    }

    /// The backend, for operations that need more than [`Store::read`] and [`Store::write`].
    pub(crate) fn backend(&self) -> &dyn Backend {
        &*self.backend
    }
}

/// A backend returned from a transaction without running its body: a bug in the backend.
pub(crate) fn unrun() -> Error {
    Error::Storage("the storage backend did not run the transaction".into())
}

/// Whether `location` names a PostgreSQL database (a `postgres://` or `postgresql://` URL, or
/// libpq key=value settings naming a host or a database) rather than an SQLite file: what
/// [`Store::open`] decides by.
///
/// ```
/// assert!(enrollkit::is_postgres_location("postgres://app@db1,db2/lms?target_session_attrs=read-write"));
/// assert!(enrollkit::is_postgres_location("host=/run/postgresql dbname=lms"));
/// assert!(!enrollkit::is_postgres_location("enrollments.db"));
/// ```
pub fn is_postgres_location(location: &str) -> bool {
    crate::postgres::is_location(location)
}

impl OpenOptions {
    /// Opens (creating or upgrading as needed, unless [`OpenOptions::create`] or
    /// [`OpenOptions::read_only`] say otherwise) the database at `path`: an SQLite file, or a
    /// PostgreSQL database when `path` is a PostgreSQL location ([`is_postgres_location`]).
    pub fn open(self, path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        match path.to_str() {
            Some(location) if crate::postgres::is_location(location) => Ok(Store::with_backend(
                crate::postgres::Database::open(location, self)?,
            )),
            _ => Ok(Store::with_backend(Database::open(path, self)?)),
        }
    }

    /// Opens a private in-memory database (gone when the store is dropped). Refused with
    /// [`Error::Validation`](crate::Error::Validation) when [`OpenOptions::read_only`] is set:
    /// it would be empty forever.
    pub fn open_in_memory(self) -> Result<Store> {
        Ok(Store::with_backend(Database::open_in_memory(self)?))
    }
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_is_send_and_sync() {
        assert_send_sync::<super::Store>();
    }
}
