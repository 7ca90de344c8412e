//! The [`Store`] itself: opening one, and what it is. Its operations are in the other modules
//! of `api` (`ops`, `query`, `views`, `report`, `dump`, `roster`, `check`); every public
//! method of `Store` is in this folder.

use std::path::Path;

use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::sqlite::{Database, OpenOptions};

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
/// })?;
/// let e = store.enroll(&Actor::Learner("usr_1".into()), &EnrollRequest::new("usr_1", "crs_1"))?;
/// let e = store.set_progress(&Actor::Learner("usr_1".into()), &e.id, 100.0)?;
/// assert_eq!(e.status_name(), "completed");
/// # Ok::<(), enrollkit::Error>(())
/// ```
pub struct Store {
    /// Where the store keeps its data; its methods are the only storage the operations use.
    pub(crate) db: Database,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("db", &self.db).finish()
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
        self.db.path()
    }

    /// The current time on the store's clock.
    pub fn now(&self) -> Timestamp {
        self.db.now()
    }

    /// The schema version of the open database (always [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)
    /// once open).
    pub fn schema_version(&self) -> Result<i64> {
        self.db.schema_version()
    }
}

impl OpenOptions {
    /// Opens (creating or upgrading as needed, unless [`OpenOptions::create`] or
    /// [`OpenOptions::read_only`] say otherwise) the database at `path`.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Store> {
        Ok(Store {
            db: Database::open(path.as_ref(), self)?,
        })
    }

    /// Opens a private in-memory database (gone when the store is dropped). Refused with
    /// [`Error::Validation`](crate::Error::Validation) when [`OpenOptions::read_only`] is set:
    /// it would be empty forever.
    pub fn open_in_memory(self) -> Result<Store> {
        Ok(Store {
            db: Database::open_in_memory(self)?,
        })
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
