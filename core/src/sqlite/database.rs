//! The SQLite database behind a [`Store`](crate::Store): opening a file, pragmas, migrations,
//! the writer and the reader pool, transactions, the program and enrollment caches.
//!
//! One writer connection sits behind a mutex and runs every write in an `IMMEDIATE`
//! transaction, so writers never deadlock and each operation's state change and history event
//! commit together. File-backed stores read through a small pool of read-only connections, so
//! readers never wait for the writer (WAL). Several processes may open the same file; SQLite's
//! locking serializes their writers and the busy timeout absorbs short waits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::domain::model::Program;
use crate::domain::time::{Clock, Timestamp};
use crate::error::{Error, Failure, Result};
use crate::sqlite::checkpoint::Checkpointer;
use crate::storage::{Durability, OpenOptions, ProgramCache};

/// The schema, one SQL file per version: `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("schema/0001_initial.sql"),
    include_str!("schema/0002_open_index_comparisons.sql"),
    include_str!("schema/0003_events_without_autoincrement.sql"),
    include_str!("schema/0004_program_version.sql"),
    include_str!("schema/0005_no_program_index.sql"),
    include_str!("schema/0006_sql_views.sql"),
    include_str!("schema/0007_enrollment_ids_in_uuid_form.sql"),
    include_str!("schema/0008_step_schedules.sql"),
    include_str!("schema/0009_due_work_by_program.sql"),
    include_str!("schema/0010_enrollment_policies.sql"),
];

/// The schema version this build creates and understands (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// One SQLite database: the writer connection, a pool of readers, the checkpoint thread and
/// the caches that let writes skip reads. `Send + Sync`.
pub(crate) struct Database {
    /// File stores' checkpointing thread. First, so that it stops (and closes its connection)
    /// before the writer closes: the last connection to close checkpoints and removes the WAL.
    pub(crate) checkpointer: Option<Checkpointer>,
    pub(crate) writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// The path the database was opened with, as given ([`Database::path`]).
    path: Option<PathBuf>,
    /// The database file as SQLite resolved it when the writer opened it (an absolute path):
    /// what pooled readers and the checkpointer open, whatever the working directory is by
    /// then.
    file: Option<PathBuf>,
    options: OpenOptions,
    programs: ProgramCache,
    /// Set when a write that left WAL mode could not return to it (another connection held the
    /// file at that moment): the next write tries again before it begins.
    wal_pending: AtomicBool,
    enrollments: Mutex<WrittenEnrollments>,
}

/// Enrollments as this store's single-enrollment changes ([`Database::write_enrollment`]) left
/// them, so that the next change of the same enrollment need not read its 35 columns again.
/// An entry is current only while nothing else changed the database since it was written: the
/// writer's pager data version ([`crate::sqlite::db::data_version`], which every commit
/// changes, this store's other writes' as well as another connection's) must still be the one
/// that the last single-enrollment change left.
#[derive(Default)]
struct WrittenEnrollments {
    /// The writer's data version right after the commit of the last change kept; `None`
    /// before any (and after a failure to read it), which matches no version.
    data_version: Option<u32>,
    /// `program_version` when the entries were written: current too while they are (only
    /// other writes change programs).
    program_version: i64,
    /// id -> (rid, enrollment with `steps_total` 0).
    entries: FastMap<(i64, crate::domain::model::Enrollment)>,
}

/// The caches' maps from ids: hashed with foldhash, much cheaper than the default SipHash on
/// short keys and seeded per process like it; the keys are ids the store itself reads back,
/// not attacker-chosen in bulk.
type FastMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// Enrollments [`WrittenEnrollments`] keeps at most; it starts over when full.
const MAX_WRITTEN_ENROLLMENTS: usize = 4096;

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("durability", &self.options.durability)
            .finish_non_exhaustive()
    }
}

/// The writer connection's page cache in KiB (32 MiB; SQLite's default is 2 MiB).
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// The writer's page cache in KiB during imports (Database::begin_spilling): their
/// index rebuilds sort in memory up to about the cache size, on top of the cache itself.
const SPILLING_CACHE_KIB: i64 = 16 * 1024;

/// Readers kept open for reuse; more may be opened under load and are closed when returned.
const MAX_IDLE_READERS: usize = 4;

impl Database {
    /// Opens (creating or upgrading as needed, unless [`OpenOptions::create`] or
    /// [`OpenOptions::read_only`] say otherwise) the database file at `path`.
    pub(crate) fn open(path: impl AsRef<Path>, options: OpenOptions) -> Result<Database> {
        let path = path.as_ref().to_path_buf();
        let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if options.read_only {
            flags |= OpenFlags::SQLITE_OPEN_READ_ONLY;
        } else {
            flags |= OpenFlags::SQLITE_OPEN_READ_WRITE;
            if options.create {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
                if options.owner_only {
                    crate::sqlite::create_owner_only(&path)?;
                }
            }
        }
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| {
            Error::Storage(Failure::caused_by(
                format!("cannot open {}: {e}", path.display()),
                e,
            ))
        })?;
        // SQLite falls back to reading only when it may not write the file; say so now
        // rather than fail the first write (or the migration) with "readonly database".
        if !options.read_only && conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(Error::Storage(
                format!(
                    "{} is read-only for this process: open it with the read-only option to read it",
                    path.display()
                )
                .into(),
            ));
        }
        Database::init(conn, Some(path), options)
    }

    /// Opens a private in-memory database (gone when it is dropped). Refused with
    /// [`Error::Validation`] when [`OpenOptions::read_only`] is set: it would be empty forever.
    pub(crate) fn open_in_memory(options: OpenOptions) -> Result<Database> {
        if options.read_only {
            return Err(Error::validation(
                "read_only",
                "an in-memory database cannot be opened read-only",
            ));
        }
        let conn = Connection::open_in_memory()?;
        Database::init(conn, None, options)
    }

    /// Whether the files this database creates are its owner's only ([`OpenOptions::owner_only`]).
    pub(crate) fn owner_only(&self) -> bool {
        self.options.owner_only
    }

    /// The file this database was opened on, as given (`None` in memory).
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The current time on the database's clock.
    pub(crate) fn now(&self) -> Timestamp {
        self.options.clock.now()
    }

    /// The schema version of the open database (always [`SCHEMA_VERSION`] once open).
    pub(crate) fn schema_version(&self) -> Result<i64> {
        self.read(user_version)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>, options: OpenOptions) -> Result<Database> {
        configure(&conn, &options, !options.read_only)?;
        if options.read_only {
            check_version(&conn, MIGRATIONS.len() as i64)?;
        } else {
            migrate(&conn, MIGRATIONS)?;
        }
        let file = path.as_ref().map(|given| match conn.path() {
            Some(resolved) if !resolved.is_empty() => PathBuf::from(resolved),
            _ => given.clone(),
        });
        let checkpointer = match &file {
            Some(file) if !options.read_only => {
                let checkpointer = Checkpointer::start(file, options.durability);
                conn.wal_hook(Some(checkpointer.hook()))?;
                Some(checkpointer)
            }
            _ => None,
        };
        Ok(Database {
            checkpointer,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            path,
            file,
            options,
            programs: ProgramCache::default(),
            wal_pending: AtomicBool::new(false),
            enrollments: Mutex::default(),
        })
    }

    /// Program `id` with its steps as a transaction sees it, where `version` is the
    /// `program_version` it sees: from the cache when no program changed since it was read
    /// (one row read instead of the program and its steps).
    ///
    /// Only for transactions that do not change programs themselves: a change rolled back
    /// after its version was seen could be followed by another change committing the same
    /// version number.
    pub(crate) fn program_at(
        &self,
        conn: &Connection,
        id: &str,
        version: i64,
    ) -> Result<Arc<Program>> {
        self.programs
            .get(version, id, || crate::sqlite::db::get_program(conn, id))
    }

    /// Runs `f` in one IMMEDIATE transaction on the writer connection: committed if `f`
    /// returns `Ok`, rolled back (database unchanged) otherwise.
    #[cfg(test)]
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Connection, Timestamp) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.begin()?;
        let value = f(tx.conn(), tx.now())?;
        tx.commit()?;
        Ok(value)
    }

    /// Begins a write transaction (`IMMEDIATE`) on the writer connection: see [`WriteTx`].
    pub(crate) fn begin(&self) -> Result<WriteTx<'_>> {
        WriteTx::begin(self.lock_writer()?, &*self.options.clock, None, |_| Ok(()))
    }

    /// [`Database::begin`] with temporary data (sorts, journals) in files instead of memory:
    /// for imports, whose index rebuilds sort every row, so that memory stays bounded whatever
    /// the size of the import. The setting can only change outside a transaction.
    ///
    /// With `exclusive` (a load into an empty database file), the write also leaves WAL mode
    /// for a rollback journal when no other connection has the file open, and comes back to
    /// WAL afterwards ([`leave_wal`], [`return_to_wal`]). One transaction much larger than the
    /// page cache is WAL's worst case: every page is written to the WAL and then copied into
    /// the database, and a page written to the WAL twice makes the commit read back and
    /// re-checksum every frame after it. With a rollback journal, pages that did not exist
    /// before the transaction are written once, into the database. The price: other
    /// connections cannot open the file until the write ends (they wait up to their busy
    /// timeout), where in WAL mode they would read the empty database.
    pub(crate) fn begin_spilling(&self, exclusive: bool) -> Result<WriteTx<'_>> {
        let exclusive = exclusive && self.path.is_some();
        let sync = synchronous(self.options.durability);
        // SQLite's sorter keeps about a page cache's worth of rows in memory before it spills.
        self.begin_changed(
            |c| {
                if exclusive {
                    leave_wal(c)?;
                }
                c.pragma_update(None, "temp_store", "FILE")?;
                c.pragma_update(None, "cache_size", -SPILLING_CACHE_KIB)
            },
            Box::new(move |c: &Connection| {
                c.pragma_update(None, "temp_store", "MEMORY")?;
                c.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
                if !return_to_wal(c, sync)? {
                    self.wal_pending.store(true, Ordering::Relaxed);
                }
                Ok(())
            }),
        )
    }

    /// [`Database::begin`] for long batches whose rows find the user and program they
    /// reference in the same transaction before they write (`enroll_in`):
    ///
    /// * without SQLite's foreign-key checks, which would only repeat those look-ups (two
    ///   index searches per row);
    /// * with the WAL checkpointed by the writer itself every
    ///   [`crate::sqlite::checkpoint::INLINE_PAGES`] pages, instead of the checkpointing
    ///   thread every 1,000 pages (SQLite's own threshold). A large batch writes thousands of
    ///   pages, so checkpointing every 1,000 would copy again, at every commit, the index pages
    ///   that every batch changes. Single writes go back to asking the thread
    ///   ([`crate::sqlite::checkpoint`]).
    ///
    /// The foreign-key setting can only change outside a transaction, and switching it makes
    /// SQLite prepare every cached statement again, so small batches are better off with
    /// [`Database::begin`].
    pub(crate) fn begin_bulk(&self) -> Result<WriteTx<'_>> {
        let bulk = move |on: bool| {
            if let Some(checkpointer) = &self.checkpointer {
                checkpointer.set_bulk(on);
            }
        };
        self.begin_changed(
            |c| {
                c.pragma_update(None, "foreign_keys", false)?;
                bulk(true);
                Ok(())
            },
            Box::new(move |c: &Connection| {
                bulk(false);
                c.pragma_update(None, "foreign_keys", true)
            }),
        )
    }

    /// [`Database::begin`] with the writer's settings changed by `set` for the transaction and
    /// set back by `back` when it ends, however it ends.
    fn begin_changed<'d>(
        &'d self,
        set: impl FnOnce(&Connection) -> rusqlite::Result<()>,
        back: SetBack<'d>,
    ) -> Result<WriteTx<'d>> {
        WriteTx::begin(self.lock_writer()?, &*self.options.clock, Some(back), set)
    }

    /// [`crate::storage::Backend::compact`]: on the writer, between transactions, so that
    /// nothing of this store's holds the WAL; other connections' readers may make the
    /// checkpoints wait (the busy timeout) or leave frames (`busy`).
    pub(crate) fn compact(&self) -> Result<()> {
        let conn = self.lock_writer()?;
        let truncate = |conn: &Connection| -> Result<()> {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(Error::Busy(
                    "another connection kept the WAL from being checkpointed".into(),
                ));
            }
            Ok(())
        };
        truncate(&conn)?;
        conn.execute_batch("VACUUM")?;
        truncate(&conn)
    }

    /// The writer connection, locked; refused (before any waiting) on a read-only store.
    fn lock_writer(&self) -> Result<MutexGuard<'_, Connection>> {
        if self.options.read_only {
            return Err(Error::Storage("the store was opened read-only".into()));
        }
        let conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if self.wal_pending.load(Ordering::Relaxed)
            && matches!(
                return_to_wal(&conn, synchronous(self.options.durability)),
                Ok(true)
            )
        {
            self.wal_pending.store(false, Ordering::Relaxed);
        }
        Ok(conn)
    }

    fn written_enrollments(&self) -> MutexGuard<'_, WrittenEnrollments> {
        self.enrollments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Database::write`] for a change of the one enrollment `id` that `f` makes and returns as
    /// `(rid, enrollment as written, value)`. `f` gets the program version for
    /// [`Database::program_at`] and the enrollment as this store last wrote it (`(rid,
    /// enrollment)` with `steps_total` 0) when that is still current ([`WrittenEnrollments`]),
    /// else `None`: it must then read it. Returns the enrollment and the value.
    pub(crate) fn write_enrollment<T>(
        &self,
        id: &str,
        f: impl FnOnce(
            &Connection,
            Timestamp,
            i64,
            Option<(i64, &crate::domain::model::Enrollment)>,
        ) -> Result<(i64, crate::domain::model::Enrollment, T)>,
    ) -> Result<(crate::domain::model::Enrollment, T)> {
        let mut tx = self.begin()?;
        // Held for the whole change, like the writer: only changes made under both touch it.
        let mut kept = self.written_enrollments();
        let mut program_version = 0;
        let change = || {
            // Read inside the transaction: beginning it is what notices other commits.
            let data_version = crate::sqlite::db::data_version(tx.conn())?;
            if kept.data_version != Some(data_version) {
                kept.entries.clear();
            }
            program_version = match kept.entries.is_empty() {
                true => crate::sqlite::db::program_version(tx.conn())?,
                false => kept.program_version,
            };
            let current = kept.entries.get(id).map(|(rid, e)| (*rid, e));
            let written = f(tx.conn(), tx.now(), program_version, current)?;
            tx.commit()?;
            Ok(written)
        };
        let out = change();
        let (rid, e, value) = match out {
            Ok(written) => written,
            // Rolled back, so every entry still holds. Except, to be safe, this one: a failed
            // COMMIT may have written part of the change (an I/O error).
            Err(err) => {
                kept.entries.remove(id);
                return Err(err);
            }
        };
        // Still holding the writer: no other write can come between the commit and this. The
        // commit changed the data version; the other entries stay current under the new one.
        match crate::sqlite::db::data_version(tx.conn()) {
            Ok(data_version) => {
                kept.data_version = Some(data_version);
                kept.program_version = program_version;
                match kept.entries.get_mut(id) {
                    Some(entry) => {
                        entry.0 = rid;
                        entry.1.clone_from(&e);
                        entry.1.steps_total = 0;
                    }
                    None => {
                        if kept.entries.len() >= MAX_WRITTEN_ENROLLMENTS {
                            kept.entries.clear();
                        }
                        let mut entry = e.clone();
                        entry.steps_total = 0;
                        kept.entries.insert(id.to_owned(), (rid, entry));
                    }
                }
            }
            Err(_) => {
                kept.data_version = None;
                kept.entries.clear();
            }
        }
        Ok((e, value))
    }

    /// Runs `f` in one read transaction (a consistent snapshot): on the writer connection when
    /// it is idle (always for in-memory stores), else on a pooled read-only connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // An idle writer serves the read itself: its page cache is current, while a pooled
        // reader has to read again every page that a commit since its last use changed.
        let writer = match (self.writer.try_lock(), &self.file) {
            (Ok(conn), _) => Ok(conn),
            (Err(TryLockError::Poisoned(p)), _) => Ok(p.into_inner()),
            (Err(TryLockError::WouldBlock), None) => {
                Ok(self.writer.lock().unwrap_or_else(PoisonError::into_inner))
            }
            (Err(TryLockError::WouldBlock), Some(path)) => Err(path),
        };
        let path = match writer {
            Ok(conn) => return in_read_transaction(&conn, f),
            Err(path) => path,
        };
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let c = Connection::open_with_flags(path, flags)?;
                configure(&c, &self.options, false)?;
                c
            }
        };
        let out = in_read_transaction(&conn, f);
        let mut idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }
}

/// How a write sets the writer's settings back ([`Database::begin_changed`]).
type SetBack<'d> = Box<dyn FnMut(&Connection) -> rusqlite::Result<()> + 'd>;

/// A write transaction on the writer connection, in the manner of rusqlite's `Transaction`:
/// it holds the writer until dropped; [`WriteTx::commit`] commits, and dropping it uncommitted
/// rolls it back (an error, a discarded batch or a panic). Settings changed for the write
/// ([`Database::begin_bulk`], [`Database::begin_spilling`]) come back when it ends, before the
/// writer is released: the writer must not keep them. `BEGIN`, `COMMIT` and `ROLLBACK` come
/// from the connection's statement cache, where rusqlite's `Transaction` would prepare them
/// again for every write.
pub(crate) struct WriteTx<'d> {
    conn: MutexGuard<'d, Connection>,
    now: Timestamp,
    back: Option<SetBack<'d>>,
}

impl<'d> WriteTx<'d> {
    /// Changes the locked writer `conn`'s settings with `set` (`back` sets them back), then
    /// begins an `IMMEDIATE` transaction stamped with `clock`'s time once it holds the lock.
    fn begin(
        conn: MutexGuard<'d, Connection>,
        clock: &dyn Clock,
        back: Option<SetBack<'d>>,
        set: impl FnOnce(&Connection) -> rusqlite::Result<()>,
    ) -> Result<WriteTx<'d>> {
        // Built first, so that `back` runs even when `set` fails halfway or BEGIN fails.
        let mut tx = WriteTx {
            conn,
            now: Timestamp::from_millis(0),
            back,
        };
        set(&tx.conn)?;
        tx.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        tx.now = clock.now();
        Ok(tx)
    }

    /// The connection, inside the transaction.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The time that stamps every change of the transaction.
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// Commits, then sets changed settings back; the writer stays held until the
    /// transaction is dropped (a write may read what it committed before another begins).
    pub(crate) fn commit(&mut self) -> Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.set_back()
    }

    /// Rolls back, then sets changed settings back, reporting a failure to do either (dropping
    /// the transaction does the same, silently).
    pub(crate) fn rollback(mut self) -> Result<()> {
        self.roll_back()?;
        self.set_back()
    }

    fn roll_back(&self) -> Result<()> {
        if !self.conn.is_autocommit() {
            self.conn.prepare_cached("ROLLBACK")?.execute([])?;
        }
        Ok(())
    }

    fn set_back(&mut self) -> Result<()> {
        match self.back.take() {
            Some(mut back) => Ok(back(&self.conn)?),
            None => Ok(()),
        }
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        roll_back_if_open(&self.conn);
        // Only a failed or discarded write gets here with settings to set back; its error, if
        // any, is already on its way.
        let _ = self.set_back();
    }
}

/// Switches the database of `conn` (outside a transaction) from WAL to a rollback journal, with
/// `synchronous = FULL`: with a rollback journal, NORMAL could leave a corrupt file after a
/// power cut. SQLite refuses the switch while another connection has the file open; the
/// database then simply stays in WAL mode.
fn leave_wal(conn: &Connection) -> rusqlite::Result<()> {
    if switch_journal_mode(conn, "DELETE")?.as_deref() == Some("delete") {
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    Ok(())
}

/// `PRAGMA journal_mode = mode` on `conn`: the journal mode afterwards, or `None` when another
/// connection's lock refused the switch (SQLite reports that as busy, or returns the old mode).
fn switch_journal_mode(conn: &Connection, mode: &str) -> rusqlite::Result<Option<String>> {
    let sql = format!("PRAGMA journal_mode = {mode}");
    match conn.query_row(&sql, [], |r| r.get(0)) {
        Ok(mode) => Ok(Some(mode)),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Undoes [`leave_wal`] when it switched: WAL again, with the store's `synchronous` setting.
/// Returns whether the database is in WAL mode. Another connection that opened the file
/// meanwhile and reads it keeps it in rollback-journal mode (with `synchronous = FULL`) until it
/// lets go: that is not an error, the write that left WAL mode has committed; the store tries
/// again before its next write (`Database::lock_writer`), and any connection opening the file
/// switches it to WAL as well.
fn return_to_wal(conn: &Connection, synchronous: &str) -> rusqlite::Result<bool> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if mode != "delete" {
        return Ok(true);
    }
    if switch_journal_mode(conn, "WAL")?.as_deref() != Some("wal") {
        return Ok(false);
    }
    conn.pragma_update(None, "synchronous", synchronous)?;
    Ok(true)
}

/// `PRAGMA synchronous` for `durability`.
pub(crate) fn synchronous(durability: Durability) -> &'static str {
    match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    }
}

/// Sets the per-connection pragmas. WAL is a property of the file, set by the writer.
fn configure(conn: &Connection, options: &OpenOptions, writer: bool) -> Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Reading a page first turns "file is not a database" into a clean error before anything is
    // written to the file.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    if writer {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && mode != "memory" {
            return Err(Error::Storage(
                format!("cannot switch the database to WAL mode (journal_mode is {mode})").into(),
            ));
        }
        conn.pragma_update(None, "foreign_keys", true)?;
        // The writer's page cache, grown only as pages are used: a bulk load inserts into the
        // program indexes all over, and SQLite's default 2 MiB made it re-read index pages
        // from the file. Readers keep the default.
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    }
    conn.pragma_update(None, "synchronous", synchronous(options.durability))?;
    // Statement and savepoint journals stay in memory instead of temporary files: they only
    // ever hold the pages one statement or one import line changed. (Imports switch to files
    // for their index rebuilds, which sort every row: crate::Store::import_jsonl.)
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The query planner stability guarantee: a statement keeps its plan whatever values are
    // bound. Without it SQLite plans LIMIT/OFFSET with the bound values and so re-compiles a
    // cached listing statement on every call.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Rolls back whatever transaction `conn` still has open, on the way out of one (an error, a
/// discarded write, a panic). SQLite may already have rolled back by itself (some I/O errors
/// do); then the connection is in autocommit mode and there is nothing to do.
fn roll_back_if_open(conn: &Connection) {
    if conn.is_autocommit() {
        return;
    }
    let rolled_back = match conn.prepare_cached("ROLLBACK") {
        Ok(mut stmt) => stmt.execute([]).is_ok(),
        Err(_) => false,
    };
    if !rolled_back {
        // Out of memory or the like: try the uncached way before giving up.
        let _ = conn.execute_batch("ROLLBACK");
    }
}

/// Runs `f` in one read transaction on `conn` (a consistent snapshot), ended by a rollback
/// however `f` ends: it writes nothing to keep.
fn in_read_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    /// Ends the transaction when dropped: after `f`, its error, or a panic.
    struct Open<'c>(&'c Connection);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            roll_back_if_open(self.0);
        }
    }
    conn.prepare_cached("BEGIN")?.execute([])?;
    let _open = Open(conn);
    f(conn)
}

/// The schema version of the file (`PRAGMA user_version`; 0 for a file enrollkit never wrote).
fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Refuses a database from a newer enrollkit (version `current` above `latest`).
fn refuse_newer(current: i64, latest: i64) -> Result<()> {
    if current > latest {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: latest,
        });
    }
    Ok(())
}

/// For a read-only open: the database must be exactly at version `latest`, since it cannot be
/// upgraded (or created).
fn check_version(conn: &Connection, latest: i64) -> Result<()> {
    let current = user_version(conn)?;
    refuse_newer(current, latest)?;
    match current {
        c if c == latest => Ok(()),
        0 => Err(Error::Corrupt(
            "the file is not an enrollkit database (it has no enrollkit schema version)".into(),
        )),
        c => Err(Error::Storage(
            format!(
                "the database is at schema version {c} and needs an upgrade to {latest}: \
                 open it once without the read-only option"
            )
            .into(),
        )),
    }
}

/// Brings the database to the version `migrations` describe, in one IMMEDIATE transaction.
///
/// A fresh database runs every script; an older one runs the missing ones in order; a newer one
/// is refused with [`Error::SchemaTooNew`]; a database that has tables but no enrollkit version
/// is refused with [`Error::Corrupt`]. On any failure nothing is changed.
/// SQL functions that migrations may call, for what SQL cannot compute itself:
/// `enrollkit_enrollment_id(text)` is an enrollment id in its stored form (a UUID's `enr_`
/// form, anything else as it is: `validate::enrollment_id`).
fn register_migration_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "enrollkit_enrollment_id",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let id: Option<String> = ctx.get(0)?;
            Ok(id.map(|id| crate::domain::ids::from_uuid_text(&id).unwrap_or(id)))
        },
    )?;
    Ok(())
}

pub(crate) fn migrate(conn: &Connection, migrations: &[&str]) -> Result<()> {
    let latest = migrations.len() as i64;
    let current = user_version(conn)?;
    refuse_newer(current, latest)?;
    if current == latest {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        // Another process may have migrated while we waited for the lock.
        let current = user_version(conn)?;
        refuse_newer(current, latest)?;
        if current == 0 {
            let tables: i64 = conn.query_row(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )?;
            if tables > 0 {
                return Err(Error::Corrupt(
                    "the file is an SQLite database that enrollkit did not create".into(),
                ));
            }
        }
        register_migration_functions(conn)?;
        for (i, sql) in migrations.iter().enumerate().skip(current as usize) {
            conn.execute_batch(sql).map_err(|e| {
                Error::Storage(Failure::caused_by(
                    format!("migration to version {}: {e}", i + 1),
                    e,
                ))
            })?;
        }
        conn.pragma_update(None, "user_version", latest)?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            // The error is what matters; a failed rollback leaves SQLite to roll back on close.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Runs `f` in `tx`, committing it when `f` says so and rolling it back otherwise.
    fn run<T>(
        tx: Result<WriteTx<'_>>,
        f: impl FnOnce(&Connection, Timestamp) -> Result<(T, bool)>,
    ) -> Result<T> {
        let mut tx = tx?;
        let (value, commit) = f(tx.conn(), tx.now())?;
        if commit {
            tx.commit()?;
        } else {
            tx.rollback()?;
        }
        Ok(value)
    }
    use crate::domain::model::Status;
    use crate::sqlite::checkpoint;
    use rusqlite::params;

    #[test]
    fn a_write_that_fails_discards_or_panics_leaves_nothing_and_the_store_usable() {
        let dir = std::env::temp_dir().join(format!("enrollkit-tx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tx.db");
        let _ = std::fs::remove_file(&path);
        let store = Database::open(&path, OpenOptions::new()).unwrap();
        let add = |conn: &Connection, id: &str| {
            conn.execute(
                "INSERT INTO users (id, created_at, updated_at) VALUES (?1, 0, 0)",
                [id],
            )
            .map(drop)
            .map_err(Error::from)
        };
        let failed = store.write(|c, _| {
            add(c, "failed")?;
            Err::<(), _>(Error::validation("x", "refused"))
        });
        assert!(failed.is_err());
        let kept = run(store.begin(), |c, _| Ok((add(c, "discarded")?, false)));
        assert!(kept.is_ok());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(|c, _| -> Result<()> {
                add(c, "panicked")?;
                panic!("inside a write")
            })
        }));
        assert!(panicked.is_err());
        store.write(|c, _| add(c, "committed")).unwrap();
        let users = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT id FROM users ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap();
        assert_eq!(users, ["committed"]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn spilling_writes_use_temporary_files_and_restore_memory_after() {
        let store = Database::open_in_memory(OpenOptions::new()).unwrap();
        let temp_store = |c: &Connection| -> Result<i64> {
            Ok(c.query_row("PRAGMA temp_store", [], |r| r.get(0))?)
        };
        let inside = run(store.begin_spilling(false), |c, _| {
            Ok((temp_store(c)?, true))
        })
        .unwrap();
        assert_eq!(inside, 1, "FILE during the write");
        let cache = run(store.begin_spilling(false), |c, _| {
            Ok((
                c.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0))?,
                true,
            ))
        })
        .unwrap();
        assert_eq!(cache, -SPILLING_CACHE_KIB);
        assert_eq!(store.read(temp_store).unwrap(), 2, "MEMORY after it");
        let failed = run(store.begin_spilling(false), |_, _| -> Result<((), bool)> {
            Err(Error::validation("x", "refused"))
        });
        assert!(failed.is_err());
        assert_eq!(
            store.read(temp_store).unwrap(),
            2,
            "MEMORY after a failure too"
        );
        let cache: i64 = store
            .write(|c, _| Ok(c.query_row("PRAGMA cache_size", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(cache, -WRITER_CACHE_KIB, "the writer's cache is back");
    }

    #[test]
    fn exclusive_spilling_writes_leave_wal_only_when_alone_and_always_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("load.db");
        for durability in [Durability::Normal, Durability::Full] {
            let _ = std::fs::remove_file(&path);
            let store = Database::open(&path, OpenOptions::new().durability(durability)).unwrap();
            // (journal mode, synchronous: 1 NORMAL, 2 FULL)
            let settings = |c: &Connection| -> Result<(String, i64)> {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    c.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
                ))
            };
            let configured = (
                "wal".to_owned(),
                if durability == Durability::Full { 2 } else { 1 },
            );
            let inside = run(store.begin_spilling(true), |c, _| Ok((settings(c)?, true))).unwrap();
            assert_eq!(
                inside,
                ("delete".to_owned(), 2),
                "{durability:?}: during the write"
            );
            assert_eq!(
                store.write(|c, _| settings(c)).unwrap(),
                configured,
                "after it"
            );
            let wal = dir.path().join("load.db-wal");
            assert!(wal.exists(), "back in WAL mode");
            let failed = run(store.begin_spilling(true), |_, _| -> Result<((), bool)> {
                Err(Error::validation("x", "refused"))
            });
            assert!(failed.is_err());
            assert_eq!(
                store.write(|c, _| settings(c)).unwrap(),
                configured,
                "after a failure"
            );
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(store.begin_spilling(true), |_, _| -> Result<((), bool)> {
                    panic!("inside a write")
                })
            }));
            assert!(panicked.is_err());
            assert_eq!(
                store.write(|c, _| settings(c)).unwrap(),
                configured,
                "after a panic"
            );

            // Another connection has the file open: the write stays in WAL mode, and the
            // other connection reads what it committed.
            let other = Database::open(&path, OpenOptions::new()).unwrap();
            assert_eq!(other.schema_version().unwrap(), SCHEMA_VERSION);
            let inside = run(store.begin_spilling(true), |c, _| {
                c.execute(
                    "INSERT INTO program_version (id, version) VALUES (1, 0)
                               ON CONFLICT (id) DO UPDATE SET version = 41",
                    [],
                )?;
                Ok((settings(c)?, true))
            })
            .unwrap();
            assert_eq!(inside, configured, "{durability:?}: not alone");
            let version: i64 = other
                .read(|c| Ok(c.query_row("SELECT version FROM program_version", [], |r| r.get(0))?))
                .unwrap();
            assert_eq!(version, 41);
            // Without `exclusive`, never.
            drop(other);
            let inside = run(store.begin_spilling(false), |c, _| Ok((settings(c)?, true))).unwrap();
            assert_eq!(inside, configured);
        }
    }

    #[test]
    fn a_reader_that_holds_the_file_only_delays_the_return_to_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("held.db");
        let store = Database::open(&path, OpenOptions::new()).unwrap();
        {
            let conn = store.lock_writer().unwrap();
            leave_wal(&conn).unwrap();
        }
        let mode = |c: &Connection| -> Result<(String, i64)> {
            Ok((
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                c.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
            ))
        };
        // Another connection reads the file in rollback-journal mode (a SHARED lock).
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap();
        {
            let conn = store.lock_writer().unwrap();
            conn.busy_timeout(Duration::from_millis(20)).unwrap();
            assert!(
                !return_to_wal(&conn, "NORMAL").unwrap(),
                "not while it reads"
            );
            assert_eq!(mode(&conn).unwrap(), ("delete".to_owned(), 2));
            conn.busy_timeout(store.options.busy_timeout).unwrap();
        }
        store.wal_pending.store(true, Ordering::Relaxed);
        reader.execute_batch("COMMIT").unwrap();
        drop(reader);
        // The next write switches back first, with the store's own synchronous setting.
        assert_eq!(store.write(|c, _| mode(c)).unwrap(), ("wal".to_owned(), 1));
        assert!(!store.wal_pending.load(Ordering::Relaxed));
    }

    #[test]
    fn bulk_writes_change_two_settings_and_always_set_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Database::open(dir.path().join("bulk.db"), OpenOptions::new()).unwrap();
        // (foreign keys enforced, (WAL pages between checkpoint requests, pages from which
        // the writer checkpoints itself)); SQLite's own auto-checkpoint stays off (the
        // checkpointer's hook replaces it)
        let settings = |c: &Connection| -> Result<(bool, (i64, i64))> {
            let auto: i64 = c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
            assert_eq!(auto, 0, "SQLite's own checkpoints");
            let pages = store.checkpointer.as_ref().unwrap().pages();
            Ok((c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?, pages))
        };
        let single = (true, (checkpoint::REQUEST_PAGES, checkpoint::INLINE_PAGES));
        assert_eq!(store.write(|c, _| settings(c)).unwrap(), single);
        let inside = run(store.begin_bulk(), |c, _| Ok((settings(c)?, true))).unwrap();
        let bulk = (i64::MAX, checkpoint::INLINE_PAGES);
        assert_eq!(inside, (false, bulk), "during the write");
        assert_eq!(store.write(|c, _| settings(c)).unwrap(), single, "after it");
        let failed = run(store.begin_bulk(), |_, _| -> Result<((), bool)> {
            Err(Error::validation("x", "refused"))
        });
        assert!(failed.is_err());
        assert_eq!(
            store.write(|c, _| settings(c)).unwrap(),
            single,
            "after a failure"
        );
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(store.begin_bulk(), |_, _| -> Result<((), bool)> {
                panic!("inside a write")
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(
            store.write(|c, _| settings(c)).unwrap(),
            single,
            "after a panic"
        );
        // And enforced: an enrollment of a user that does not exist is refused by SQLite.
        let orphan = store.write(|c, _| {
            Ok(c.execute(
                "INSERT INTO enrollments (id, user_id, program_id, kind, status, trigger,
                                          enrolled_at, updated_at)
                 VALUES ('e', 'ghost', 'nope', 0, 1, 'manual_user_trigger', 0, 0)",
                [],
            )?)
        });
        assert!(
            orphan
                .as_ref()
                .is_err_and(|e| e.to_string().contains("FOREIGN KEY")),
            "{orphan:?}"
        );
    }

    #[test]
    fn every_change_to_programs_or_steps_bumps_the_program_version() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        let version = || -> i64 {
            conn.query_row("SELECT version FROM program_version", [], |r| r.get(0))
                .unwrap()
        };
        let changes = [
            "INSERT INTO programs (id, kind, title, state, self_enrollment, created_at, updated_at)
                 VALUES ('p', 'course', 'P', 'active', 1, 0, 0)",
            "UPDATE programs SET title = 'Q' WHERE id = 'p'",
            "INSERT INTO program_steps (program_id, step_id, position, step_type, title,
                                        learner_completable) VALUES ('p', 's', 1, 'x', 'S', 1)",
            "UPDATE program_steps SET title = 'T' WHERE step_id = 's'",
            "DELETE FROM program_steps WHERE step_id = 's'",
            "DELETE FROM programs WHERE id = 'p'",
        ];
        for (i, sql) in changes.iter().enumerate() {
            conn.execute(sql, []).unwrap();
            assert_eq!(version(), i as i64 + 1, "{sql}");
        }
    }

    /// One write of about `pages` WAL pages (rows of 3,000 random bytes, one to a page, in a
    /// table of the test's own).
    fn write_pages(store: &Database, pages: usize) {
        store
            .write(|c, _| {
                c.execute_batch("CREATE TABLE IF NOT EXISTS pad (x BLOB)")?;
                c.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                     INSERT INTO pad SELECT randomblob(3000) FROM n",
                    [pages as i64],
                )?;
                Ok(())
            })
            .unwrap();
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// Frames the WAL file next to `db` has room for (4 KiB pages).
    fn wal_frames(db: &Path) -> u64 {
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        file_len(&wal).saturating_sub(32) / (4096 + 24)
    }

    #[test]
    fn single_writes_leave_checkpoints_to_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread.db");
        let store = Database::open(&path, OpenOptions::new()).unwrap();
        let before = file_len(&path);
        // Past the request threshold: the commit asks the thread and returns.
        write_pages(&store, 1_200);
        let checkpointer = store.checkpointer.as_ref().unwrap();
        let waited = std::time::Instant::now();
        while checkpointer.ran() == 0 && waited.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(checkpointer.ran(), 1);
        // The pages are in the database file now, not only in the WAL.
        assert!(
            file_len(&path) >= before + 1_100 * 4096,
            "{}",
            file_len(&path)
        );
        assert!(wal_frames(&path) >= 1_200);
        // Dropping the store stops the thread first: the writer closes last, checkpoints
        // the rest and removes the WAL.
        write_pages(&store, 1_500);
        drop(store);
        assert!(!PathBuf::from(format!("{}-wal", path.display())).exists());
        let store = Database::open(&path, OpenOptions::new()).unwrap();
        let rows: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM pad", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(rows, 2_700);
    }

    #[test]
    fn with_full_durability_the_writer_checkpoints_itself_sooner() {
        let dir = tempfile::tempdir().unwrap();
        let store = Database::open(
            dir.path().join("full.db"),
            OpenOptions::new().durability(Durability::Full),
        )
        .unwrap();
        let checkpointer = store.checkpointer.as_ref().unwrap();
        let single = (checkpoint::REQUEST_PAGES, checkpoint::FULL_INLINE_PAGES);
        assert_eq!(checkpointer.pages(), single);
        let bulk = run(store.begin_bulk(), |_, _| Ok((checkpointer.pages(), true)));
        assert_eq!(bulk.unwrap(), (i64::MAX, checkpoint::INLINE_PAGES));
        assert_eq!(checkpointer.pages(), single, "after a bulk write");
    }

    #[test]
    fn without_the_thread_the_writer_checkpoints_itself_as_sqlite_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inline.db");
        let mut store = Database::open(&path, OpenOptions::new()).unwrap();
        store.checkpointer.as_mut().unwrap().stop();
        for _ in 0..8 {
            write_pages(&store, 700);
        }
        // Checkpointed (and started over) once past 1,000 pages: never more than 1,000
        // pages plus one write's. Left to the limit, the WAL would hold all 5,600.
        assert!(wal_frames(&path) < 1_000 + 750, "{}", wal_frames(&path));
        assert!(file_len(&path) >= 5_000 * 4096, "{}", file_len(&path));
        assert_eq!(store.checkpointer.as_ref().unwrap().ran(), 0);
    }

    #[test]
    fn the_writer_has_a_32_mib_page_cache() {
        let store = Database::open_in_memory(OpenOptions::new()).unwrap();
        let kib: i64 = store
            .write(|c, _| Ok(c.query_row("PRAGMA cache_size", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(kib, -WRITER_CACHE_KIB);
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    #[test]
    fn upgrades_step_by_step_in_one_transaction() {
        let v2 = "CREATE TABLE extra (x INTEGER);";
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, &MIGRATIONS[..1]).unwrap();
        conn.execute(
            "INSERT INTO users (id, created_at, updated_at) VALUES ('u', 0, 0)",
            [],
        )
        .unwrap();
        let mut next: Vec<&str> = MIGRATIONS.to_vec();
        next.push(v2);
        migrate(&conn, &next).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION + 1);
        let users: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 1, "data survives the upgrade");

        let fresh = Connection::open_in_memory().unwrap();
        migrate(&fresh, &next).unwrap();
        assert_eq!(tables(&conn), tables(&fresh), "upgraded equals fresh");
    }

    #[test]
    fn version_2_upgrades_and_keeps_every_event_and_its_seq() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, &MIGRATIONS[..2]).unwrap();
        let insert = |seq: Option<i64>, enrollment: &str| {
            conn.execute(
                "INSERT INTO events (seq, enrollment_id, user_id, program_id, action, actor, at)
                 VALUES (?1, ?2, 'u', 'p', 'enrolled', 'admin', 0)",
                params![seq, enrollment],
            )
            .unwrap();
        };
        insert(None, "e1");
        insert(Some(40), "e2");
        insert(None, "e3");
        let events = |conn: &Connection| -> Vec<(i64, String)> {
            let mut stmt = conn
                .prepare("SELECT seq, enrollment_id FROM events ORDER BY seq")
                .unwrap();
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        let before = events(&conn);
        assert_eq!(
            before,
            [(1, "e1".into()), (40, "e2".into()), (41, "e3".into())]
        );
        migrate(&conn, MIGRATIONS).unwrap();
        assert_eq!(events(&conn), before);
        insert(None, "e4");
        assert_eq!(
            events(&conn).last(),
            Some(&(42, "e4".to_owned())),
            "numbers go on"
        );
        let sequences: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_sequence", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sequences, 0, "no AUTOINCREMENT table is left");
        let fresh = Connection::open_in_memory().unwrap();
        migrate(&fresh, MIGRATIONS).unwrap();
        assert_eq!(tables(&conn), tables(&fresh), "upgraded equals fresh");
    }

    #[test]
    fn version_9_upgrades_to_the_waitlisted_and_expired_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v9.db");
        let conn = Connection::open(&path).unwrap();
        migrate(&conn, &MIGRATIONS[..9]).unwrap();
        let insert = |conn: &Connection, id: &str, status: i64| {
            conn.execute(
                "INSERT INTO enrollments (id, user_id, program_id, kind, status, trigger,
                                          enrolled_at, updated_at)
                 VALUES (?1, ?1, 'p', 0, ?2, 'user_join', 0, 0)",
                params![id, status],
            )
        };
        conn.execute_batch(
            "INSERT INTO users (id, created_at, updated_at) VALUES ('a', 0, 0), ('b', 0, 0),
                 ('c', 0, 0), ('d', 0, 0);
             INSERT INTO programs (id, kind, title, state, self_enrollment, created_at, updated_at)
                 VALUES ('p', 'course', 'P', 'active', 1, 0, 0);",
        )
        .unwrap();
        insert(&conn, "a", 1).unwrap();
        assert!(
            insert(&conn, "b", 11).is_err(),
            "version 9 has no status 11"
        );
        migrate(&conn, MIGRATIONS).unwrap();
        // The new definition holds for this connection and for a new one.
        insert(&conn, "b", 11).unwrap();
        let other = Connection::open(&path).unwrap();
        insert(&other, "c", 12).unwrap();
        assert!(insert(&other, "d", 13).is_err(), "statuses stop at 12");
        let ok: String = other
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let fresh = Connection::open_in_memory().unwrap();
        migrate(&fresh, MIGRATIONS).unwrap();
        assert_eq!(tables(&conn), tables(&fresh), "upgraded equals fresh");
    }

    #[test]
    fn version_1_upgrades_and_keeps_one_open_enrollment() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, created_at, updated_at) VALUES ('u', 0, 0);
             INSERT INTO programs (id, kind, title, state, self_enrollment, created_at, updated_at)
                 VALUES ('p', 'course', 'P', 'active', 1, 0, 0);
             INSERT INTO enrollments (id, user_id, program_id, kind, status, trigger, enrolled_at,
                                      updated_at)
                 VALUES ('e1', 'u', 'p', 0, 1, 'admin', 0, 0);",
        )
        .unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        let fresh = Connection::open_in_memory().unwrap();
        migrate(&fresh, MIGRATIONS).unwrap();
        assert_eq!(tables(&conn), tables(&fresh), "upgraded equals fresh");
        let insert = |id: &str, status: i64| {
            conn.execute(
                "INSERT INTO enrollments (id, user_id, program_id, kind, status, trigger,
                                          enrolled_at, updated_at)
                 VALUES (?1, 'u', 'p', 0, ?2, 'admin', 0, 0)",
                params![id, status],
            )
        };
        for (status, open) in Status::ALL.iter().map(|s| (s.code(), s.is_open())) {
            assert_eq!(
                insert(&format!("e{status}x"), status).is_ok(),
                !open,
                "status {status}: a second open enrollment must be refused"
            );
        }
    }

    #[test]
    fn version_7_gives_enrollment_ids_in_uuid_form_their_enr_form() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, &MIGRATIONS[..6]).unwrap();
        let uuid = "0190A8F2-C3D4-7E5F-8A9B-0C1D2E3F4A5B";
        let enr = "enr_01J2MF5GYMFSFRN6RC3MQ3YJJV";
        conn.execute_batch(&format!(
            "INSERT INTO users (id, created_at, updated_at) VALUES ('u', 0, 0);
             INSERT INTO programs (id, kind, title, state, self_enrollment, created_at, updated_at)
                 VALUES ('p', 'course', 'P', 'active', 1, 0, 0);
             INSERT INTO enrollments (id, user_id, program_id, kind, status, trigger, enrolled_at,
                                      updated_at)
                 VALUES ('{uuid}', 'u', 'p', 0, 7, 'admin', 0, 0);
             INSERT INTO enrollments (id, user_id, program_id, kind, status, trigger, enrolled_at,
                                      updated_at, previous_id)
                 VALUES ('mine-1', 'u', 'p', 0, 1, 'admin', 0, 0, '{uuid}');
             INSERT INTO events (enrollment_id, user_id, program_id, action, actor, at)
                 VALUES ('{uuid}', 'u', 'p', 'enrolled', 'admin', 0),
                        ('mine-1', 'u', 'p', 'enrolled', 'admin', 0);"
        ))
        .unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        let column = |sql: &str| -> Vec<Option<String>> {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.map(|r| r.unwrap()).collect()
        };
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            column("SELECT id FROM enrollments ORDER BY rid"),
            [some(enr), some("mine-1")]
        );
        assert_eq!(
            column("SELECT previous_id FROM enrollments ORDER BY rid"),
            [None, some(enr)]
        );
        assert_eq!(
            column("SELECT enrollment_id FROM events ORDER BY seq"),
            [some(enr), some("mine-1")]
        );
    }

    #[test]
    fn failed_migration_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        let before = tables(&conn);
        let mut next: Vec<&str> = MIGRATIONS.to_vec();
        next.push("CREATE TABLE ok (x); CREATE TABLE users (x);");
        let err = migrate(&conn, &next).unwrap_err();
        assert_eq!(err.code(), "storage");
        assert_eq!(tables(&conn), before);
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn durability_sets_synchronous_on_writer_and_readers() {
        let dir = tempfile::tempdir().unwrap();
        for (durability, level) in [(Durability::Normal, 1), (Durability::Full, 2)] {
            let path = dir.path().join(format!("{durability:?}.db"));
            let store = Database::open(&path, OpenOptions::new().durability(durability)).unwrap();
            let pragma = |c: &Connection| -> i64 {
                c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
            };
            assert_eq!(store.write(|tx, _| Ok(pragma(tx))).unwrap(), level);
            assert_eq!(store.read(|tx| Ok(pragma(tx))).unwrap(), level);
            // While the writer is busy, reads go to a pooled reader.
            let busy = store.writer.lock().unwrap();
            assert_eq!(store.read(|tx| Ok(pragma(tx))).unwrap(), level);
            drop(busy);
        }
    }

    /// The SQL views' name tables are copies of the engine's: they must say what it says.
    #[test]
    fn views_name_every_status_as_the_engine() {
        use crate::domain::model::{Kind, StepStatus};
        use crate::sqlite::db::{kind_code, step_status_code};
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        let rows = |sql: &str| -> Vec<(i64, i64, String)> {
            let mut stmt = conn.prepare(sql).unwrap();
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap();
            let mut rows: Vec<_> = rows.map(|r| r.unwrap()).collect();
            rows.sort();
            rows
        };
        let kinds = [Kind::Course, Kind::Certification, Kind::Track];
        let mut expected: Vec<(i64, i64, String)> = kinds
            .iter()
            .flat_map(|k| {
                Status::ALL.iter().filter_map(move |s| {
                    s.name(*k).map(|n| (kind_code(*k), s.code(), n.to_owned()))
                })
            })
            .collect();
        expected.sort();
        assert_eq!(
            rows("SELECT kind, status, name FROM status_names"),
            expected
        );
        let mut expected: Vec<_> = kinds
            .iter()
            .map(|k| (kind_code(*k), 0, k.as_str().to_owned()))
            .collect();
        expected.sort();
        assert_eq!(rows("SELECT kind, 0, name FROM kind_names"), expected);
        let expected: Vec<_> = StepStatus::ALL
            .iter()
            .map(|s| (step_status_code(*s), 0, s.as_str().to_owned()))
            .collect();
        assert_eq!(
            rows("SELECT status, 0, name FROM step_status_names"),
            expected
        );
    }

    #[test]
    fn refuses_newer_and_foreign_databases() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert_eq!(
            migrate(&conn, MIGRATIONS).unwrap_err().code(),
            "schema_too_new"
        );

        let other = Connection::open_in_memory().unwrap();
        other.execute_batch("CREATE TABLE notes (x)").unwrap();
        assert_eq!(migrate(&other, MIGRATIONS).unwrap_err().code(), "corrupt");
    }

    #[test]
    fn read_only_opens_only_a_current_database() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let open = |p: &Path| Database::open(p, OpenOptions::new().read_only(true));
        let code = |r: Result<Database>| r.unwrap_err().code();
        assert_eq!(code(open(&dir.join("missing.db"))), "storage");
        std::fs::write(dir.join("empty.db"), b"").unwrap();
        assert_eq!(code(open(&dir.join("empty.db"))), "corrupt");
        let at = |name: &str, version: usize| {
            let path = dir.join(name);
            let conn = Connection::open(&path).unwrap();
            migrate(&conn, &MIGRATIONS[..version]).unwrap();
            if version == MIGRATIONS.len() {
                conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                    .unwrap();
            }
            path
        };
        let old = open(&at("old.db", 2)).unwrap_err();
        assert_eq!(old.code(), "storage");
        assert!(old.to_string().contains("schema version 2"), "{old}");
        assert_eq!(
            code(open(&at("new.db", MIGRATIONS.len()))),
            "schema_too_new"
        );
        assert_eq!(
            code(Database::open_in_memory(OpenOptions::new().read_only(true))),
            "validation"
        );
    }
}
