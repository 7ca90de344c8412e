//! Checkpoints of the write-ahead log on a thread of their own.
//!
//! By itself SQLite checkpoints a WAL database in the connection that commits: the commit that
//! takes the WAL past 1,000 pages copies them into the database file and syncs the WAL and
//! the database before it returns. For single operations that made every 200th or so
//! `add_progress` wait for two `fsync`s: with checkpoints switched off, phase B of the
//! benchmark ran about 1.5 times as many operations a second.
//!
//! A file store's writer therefore asks its [`Checkpointer`] instead, every
//! [`REQUEST_PAGES`] pages the WAL grows by. The checkpointer opens a connection of its own,
//! runs a `PASSIVE` checkpoint (which never blocks the writer: it copies what no reader still
//! needs and syncs both files, as the writer's checkpoint would) and closes the connection
//! again, so it holds no lock between checkpoints.
//!
//! SQLite only starts the WAL over when a write begins with every page of it copied, which a
//! checkpoint running beside a busy writer rarely manages. So once the WAL holds
//! [`INLINE_PAGES`], the committing writer checkpoints itself, as SQLite would have: by then
//! the checkpointer has copied and synced all but the last few hundred pages, and the next
//! write starts the WAL over. The WAL file stays under [`INLINE_PAGES`] pages plus one
//! transaction's.
//!
//! Durability does not change: with `synchronous = NORMAL` a commit is durable once a
//! checkpoint has synced the WAL, and the WAL is still synced every [`REQUEST_PAGES`] pages
//! (with `FULL` every commit syncs it, as before; with `FULL` the writer also checkpoints
//! itself sooner, at [`FULL_INLINE_PAGES`]). When the thread cannot be started, and in a
//! process forked from the one that started it, the writer checkpoints by itself every
//! [`REQUEST_PAGES`] pages, as SQLite would; bulk writes only checkpoint by themselves, at
//! [`INLINE_PAGES`] ([`Checkpointer::set_bulk`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};

use crate::storage::Durability;

/// The writer asks for a checkpoint each time the WAL has grown by this many pages: SQLite's
/// own auto-checkpoint threshold.
pub(crate) const REQUEST_PAGES: i64 = 1000;

/// WAL pages from which the writer checkpoints itself with [`Durability::Normal`] and during
/// bulk writes (64 MiB of 4 KiB pages). Each such checkpoint is a stall of two or three
/// `fsync`s in a commit, so it should be rare; the WAL can only start over once all of it is
/// copied, which the thread beside a busy writer never achieves, so some limit is needed.
/// The choice among limits is measured in `bench/README.md` ("Settings and their measurements").
pub(crate) const INLINE_PAGES: i64 = 16 * 1024;

/// WAL pages from which the writer checkpoints itself with [`Durability::Full`] (8 MiB). Its
/// commits each sync the WAL, which costs more the larger the file grows, so the WAL is kept
/// small (see `bench/README.md`, "Settings and their measurements").
pub(crate) const FULL_INLINE_PAGES: i64 = 2 * REQUEST_PAGES;

/// A store's checkpointing thread, and the WAL hook that feeds it ([`Checkpointer::hook`]).
/// Dropping it stops the thread and waits for it.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the writer's WAL hook and the thread share.
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// A bulk write is running ([`Checkpointer::set_bulk`]).
    bulk: AtomicBool,
    /// WAL pages from which the writer checkpoints itself outside bulk writes, for the
    /// store's durability.
    single_inline_pages: i64,
    /// The process that started the thread. A child forked from it (with a copy of the store)
    /// has no such thread, and its copy of `state` may even be locked forever.
    pid: u32,
}

#[derive(Default)]
struct State {
    /// A checkpoint was asked for and has not started yet.
    requested: bool,
    /// The thread is waiting for requests (false before it starts and once it stopped).
    running: bool,
    /// The store is being dropped.
    stop: bool,
    /// Checkpoints the thread ran (successful or not).
    ran: u64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `(request, inline)`: WAL growth in pages between requests (`i64::MAX`: none), and the
    /// WAL pages from which the writer checkpoints itself.
    fn pages(&self) -> (i64, i64) {
        match self.bulk.load(Ordering::Relaxed) {
            true => (i64::MAX, INLINE_PAGES),
            false => (REQUEST_PAGES, self.single_inline_pages),
        }
    }

    /// Whether this is the process that started the thread (not a child forked from it).
    fn in_own_process(&self) -> bool {
        std::process::id() == self.pid
    }

    /// Asks the thread for a checkpoint; false when no thread runs.
    fn request(&self) -> bool {
        if !self.in_own_process() {
            return false;
        }
        let mut state = self.state();
        if !state.running {
            return false;
        }
        state.requested = true;
        self.wake.notify_one();
        true
    }
}

impl Checkpointer {
    /// Starts the thread for the store of the database file at `path` opened with
    /// `durability`. If the thread cannot be started, the writer checkpoints by itself.
    pub(crate) fn start(path: &Path, durability: Durability) -> Self {
        let single_inline_pages = match durability {
            Durability::Normal => INLINE_PAGES,
            Durability::Full => FULL_INLINE_PAGES,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                running: true,
                ..State::default()
            }),
            wake: Condvar::new(),
            bulk: AtomicBool::new(false),
            single_inline_pages,
            pid: std::process::id(),
        });
        let target = Target {
            path: path.to_owned(),
            synchronous: crate::sqlite::database_synchronous(durability),
        };
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("enrollkit-checkpoint".into())
            .spawn(move || run(&for_thread, &target));
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(_) => {
                shared.state().running = false;
                None
            }
        };
        Checkpointer { shared, thread }
    }

    /// The writer connection's WAL hook (`Connection::wal_hook`), which replaces SQLite's
    /// automatic checkpoints. It never fails the commit that calls it: a checkpoint that
    /// cannot run now (another connection is checkpointing) runs at a later commit.
    pub(crate) fn hook(
        &self,
    ) -> impl FnMut(&mut Wal, i32) -> rusqlite::Result<()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        let mut pacing = Pacing::default();
        move |wal, pages| {
            let (request_pages, inline_pages) = shared.pages();
            let checkpoint = match pacing.next(i64::from(pages), request_pages, inline_pages) {
                Step::Nothing => false,
                Step::Request => !shared.request(),
                Step::Checkpoint => true,
            };
            if checkpoint {
                // As SQLite's own hook does, whatever the checkpoint's outcome.
                let _ = wal.checkpoint();
            }
            Ok(())
        }
    }

    /// Switches to bulk writes' settings (`Database::begin_bulk`): no requests, and
    /// the writer's own checkpoint at [`INLINE_PAGES`] (SQLite's own threshold would
    /// checkpoint after every batch); and back.
    pub(crate) fn set_bulk(&self, bulk: bool) {
        self.shared.bulk.store(bulk, Ordering::Relaxed);
    }

    /// `(request, inline)` pages as the hook uses them now (request `i64::MAX`: none).
    #[cfg(test)]
    pub(crate) fn pages(&self) -> (i64, i64) {
        self.shared.pages()
    }

    /// Checkpoints the thread ran so far.
    #[cfg(test)]
    pub(crate) fn ran(&self) -> u64 {
        self.shared.state().ran
    }

    /// Stops the thread and waits for it (a checkpoint it is running ends first). From then
    /// on the writer checkpoints by itself.
    pub(crate) fn stop(&mut self) {
        if !self.shared.in_own_process() {
            // A forked child's copy of the store: the thread is the parent's, and waiting
            // for it (or for its lock) would wait forever.
            std::mem::forget(self.thread.take());
            return;
        }
        self.shared.state().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // Nothing the thread runs panics; a join error would have nothing to report.
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the writer's hook remembers between commits.
#[derive(Default)]
struct Pacing {
    /// WAL pages at the last request.
    requested_at: i64,
    /// WAL pages after the last commit.
    last: i64,
}

/// What the hook does after a commit.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Nothing,
    /// Ask the thread (or checkpoint here when it does not run).
    Request,
    /// Checkpoint here.
    Checkpoint,
}

impl Pacing {
    /// The step after a commit that left `pages` pages in the WAL, asking every
    /// `request_pages` pages of growth, checkpointing here from `inline_pages`.
    fn next(&mut self, pages: i64, request_pages: i64, inline_pages: i64) -> Step {
        if pages < self.last {
            // The WAL started over.
            self.requested_at = 0;
        }
        self.last = pages;
        if pages >= inline_pages {
            Step::Checkpoint
        } else if pages - self.requested_at >= request_pages {
            self.requested_at = pages;
            Step::Request
        } else {
            Step::Nothing
        }
    }
}

/// The database the thread checkpoints and how it connects.
struct Target {
    path: PathBuf,
    synchronous: &'static str,
}

impl Target {
    /// One `PASSIVE` checkpoint on a connection opened for it. Without a busy timeout: a
    /// lock held elsewhere skips the checkpoint rather than keep a dropped store waiting.
    fn checkpoint(&self) -> Result<(), Box<dyn std::error::Error>> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.pragma_update(None, "synchronous", self.synchronous)?;
        conn.wal_checkpoint_v2(Some(rusqlite::MAIN_DB), CheckpointMode::PASSIVE)?;
        // SQLite syncs the database file only after a checkpoint that reached the end of the
        // WAL, which one beside a busy writer never does: so the writer's own checkpoint would
        // have to sync everything copied since. Syncing here keeps that short.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)?
            .sync_data()?;
        Ok(())
    }
}

/// The thread: a checkpoint per request until the store is dropped.
fn run(shared: &Shared, target: &Target) {
    let mut state = shared.state();
    loop {
        while !state.requested && !state.stop {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.stop {
            break;
        }
        state.requested = false;
        drop(state);
        // A failed checkpoint (the file is busy, gone, not in WAL mode) leaves the WAL to
        // the next request, or to the writer's own checkpoint.
        let _ = target.checkpoint();
        state = shared.state();
        state.ran += 1;
    }
    state.running = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_asks_every_request_pages_of_growth_and_checkpoints_itself_past_the_limit() {
        let mut pacing = Pacing::default();
        let mut steps = |pages: &[i64], request: i64| -> Vec<Step> {
            pages
                .iter()
                .map(|&p| pacing.next(p, request, INLINE_PAGES))
                .collect()
        };
        use Step::*;
        assert_eq!(
            steps(&[400, 999, 1000, 1500, 1999, 2004, 2900], REQUEST_PAGES),
            [Nothing, Nothing, Request, Nothing, Nothing, Request, Nothing]
        );
        // The WAL started over: counted from 0 again.
        assert_eq!(
            steps(&[5, 999, 1001, 2000], REQUEST_PAGES),
            [Nothing, Nothing, Request, Nothing]
        );
        // Bulk writes ask for nothing.
        assert_eq!(steps(&[4000, 9000, 16000], i64::MAX), [Nothing; 3]);
        // From the limit on, every commit checkpoints itself.
        assert_eq!(
            steps(
                &[INLINE_PAGES - 1, INLINE_PAGES, INLINE_PAGES + 7],
                i64::MAX
            ),
            [Nothing, Checkpoint, Checkpoint]
        );
        assert_eq!(
            steps(&[INLINE_PAGES + 9, 3], REQUEST_PAGES),
            [Checkpoint, Nothing]
        );
        // With Durability::Full, from its own limit on.
        let mut full = Pacing::default();
        let steps: Vec<Step> = [1_000, 1_999, 2_000, 2_500]
            .iter()
            .map(|&p| full.next(p, REQUEST_PAGES, FULL_INLINE_PAGES))
            .collect();
        assert_eq!(steps, [Request, Nothing, Checkpoint, Checkpoint]);
    }
}
