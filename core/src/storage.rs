//! The storage boundary: what the engine asks of a backend, in the domain's terms.
//!
//! [`crate::api`] runs every operation through these traits and never names a backend: a
//! [`Backend`] runs read transactions (one consistent snapshot, [`Read`]) and write
//! transactions ([`Write`]); the operations decide with [`crate::domain`] and hand the
//! backend records to store. A backend (SQLite today, in [`crate::sqlite`]) stores, finds and
//! counts; it makes no decision of its own, and reports the refusals of its uniqueness rules
//! as a typed [`Refused`], which the api layer names in its own terms (`already_enrolled`
//! with the existing id, `conflict`, `not_found`).
//!
//! Nothing here is SQLite's: no row ids (a stored enrollment is known by its opaque
//! [`EnrollmentKey`]), no statements, journals or pragmas. Batching is the backend's to size
//! ([`Write::batch_rows`]); index maintenance during a load is the backend's to defer
//! ([`Write::defer_indexes`]).
//!
//! Transaction bodies are `FnMut`: a backend may run one again after a transient failure (a
//! serialization failure on a server database), so a body must not keep effects outside
//! the transaction between runs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::model::{
    Actor, Attempt, Enrollment, Event, Kind, Prior, Program, ProgramSpec, ProgramState, Status,
    StepProgress, StepStatus, Trigger, User, UserRef,
};
use crate::domain::time::{Clock, SystemClock, Timestamp};
use crate::error::Result;

/// How hard SQLite works to keep committed transactions across power loss.
///
/// Both settings survive a crash of the *process* without losing a committed transaction.
/// They differ only on power loss or an OS crash:
///
/// * [`Durability::Normal`] (the default, `PRAGMA synchronous = NORMAL` in WAL mode): the
///   database is never corrupted, but the last transactions committed before the power cut may
///   be rolled back.
/// * [`Durability::Full`] (`PRAGMA synchronous = FULL`): every commit is synced to disk before
///   the call returns; nothing committed is lost, at the cost of one fsync per write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = NORMAL`: fast; a power cut may lose the latest commits.
    #[default]
    Normal,
    /// `synchronous = FULL`: every commit is durable when the call returns.
    Full,
}

/// Options for opening a [`Store`](crate::Store).
///
/// ```
/// use std::time::Duration;
/// use enrollkit::{Durability, OpenOptions};
/// let store = OpenOptions::new()
///     .durability(Durability::Full)
///     .busy_timeout(Duration::from_secs(2))
///     .open_in_memory()
///     .unwrap();
/// # drop(store);
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub(crate) durability: Durability,
    pub(crate) busy_timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) create: bool,
    pub(crate) read_only: bool,
    pub(crate) owner_only: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// Defaults: [`Durability::Normal`], 5 second busy timeout, the system clock, create the file
    /// if missing, readable by its owner only.
    pub fn new() -> OpenOptions {
        OpenOptions {
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            create: true,
            read_only: false,
            owner_only: true,
        }
    }

    /// Sets the durability level.
    pub fn durability(mut self, durability: Durability) -> OpenOptions {
        self.durability = durability;
        self
    }

    /// How long an operation waits for another connection's lock before failing with
    /// [`Error::Busy`](crate::Error::Busy).
    pub fn busy_timeout(mut self, timeout: Duration) -> OpenOptions {
        self.busy_timeout = timeout;
        self
    }

    /// The clock that stamps every change (inject a [`ManualClock`](crate::ManualClock) in
    /// tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> OpenOptions {
        self.clock = clock;
        self
    }

    /// Whether to create the file when it does not exist (default true). With `false`, a missing
    /// file is a [`Error::Storage`](crate::Error::Storage) error.
    pub fn create(mut self, create: bool) -> OpenOptions {
        self.create = create;
        self
    }

    /// Whether to open the file for reading only (default false): for a file this process may
    /// not write (a read-only file or mount, an archived copy). Every read works; every write
    /// fails with [`Error::Storage`](crate::Error::Storage) before it touches the file. The file is never created
    /// nor upgraded: it must already be at [`SCHEMA_VERSION`](crate::SCHEMA_VERSION). SQLite still needs the WAL's
    /// `-shm` file, or a directory it may create it in; without either, opening fails with
    /// [`Error::Storage`](crate::Error::Storage).
    ///
    /// Without this option, opening a file that cannot be written fails with
    /// [`Error::Storage`](crate::Error::Storage) saying so, before anything is read or written.
    pub fn read_only(mut self, read_only: bool) -> OpenOptions {
        self.read_only = read_only;
        self
    }

    /// Whether a database file this store creates (when it opens a missing file, and the
    /// copies [`Store::backup`](crate::Store::backup) writes) may be read and written by its
    /// owner only (default true): it is created with mode 0600 whatever the process's umask,
    /// and SQLite gives its WAL and shared-memory files the database file's mode. With
    /// `false`, new files get SQLite's 0644 less the umask. Files that exist keep their mode.
    /// PostgreSQL locations ignore it.
    pub fn owner_only(mut self, owner_only: bool) -> OpenOptions {
        self.owner_only = owner_only;
        self
    }
}

/// A stored enrollment as its backend knows it (a row id): valid within the transaction that
/// read or inserted it, and meaningless to anything but that backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct EnrollmentKey(pub(crate) i64);

/// Why storage refused to write a record: the record's fault, not the database's. Nothing was
/// written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Refused {
    /// Another record (current or deleted) has its id, or (events) its sequence number.
    IdTaken,
    /// The user has this open enrollment in the program (at most one open enrollment per user
    /// and program).
    OpenEnrollment(Prior),
    /// A record it refers to (the user, the program) does not exist.
    MissingParent,
}

/// The kinds of record a database holds, for counts and loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Records {
    /// Users.
    Users,
    /// Programs (with their steps).
    Programs,
    /// Enrollments (with their step progress and attempts).
    Enrollments,
    /// History events.
    Events,
}

impl Records {
    /// Every kind, in the order an export writes them.
    pub(crate) const ALL: [Records; 4] = [
        Records::Users,
        Records::Programs,
        Records::Enrollments,
        Records::Events,
    ];

    /// The table that holds them, in every backend's schema.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Records::Users => "users",
            Records::Programs => "programs",
            Records::Enrollments => "enrollments",
            Records::Events => "events",
        }
    }
}

/// When a user was created and last changed. A new user has one time for both; an import
/// keeps the times its export carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserTimes {
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl UserTimes {
    /// A user created (or changed) at `now`.
    pub(crate) fn at(now: Timestamp) -> UserTimes {
        UserTimes {
            created_at: now,
            updated_at: now,
        }
    }
}

/// A new history event, besides the enrollment it belongs to (whose id, user and program it
/// records). The backend numbers it: sequence numbers strictly increase across the database
/// and are never reused.
pub(crate) struct NewEvent<'a> {
    pub action: &'a str,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub actor: &'a Actor,
    pub reason: Option<String>,
    pub at: Timestamp,
}

/// What a program's enrollments of one status add up to (the program report).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StatusTotals {
    pub(crate) status: Status,
    pub(crate) count: u64,
    /// Sum of `progress` (percent).
    pub(crate) progress: f64,
    /// Sum of `steps_completed`.
    pub(crate) steps_completed: u64,
    /// How many have a completion time.
    pub(crate) completed: u64,
    /// Sum over those of the milliseconds from start (or enrollment) to completion.
    pub(crate) completion_ms: i128,
}

/// A page of enrollments as the api resolved it: every filter checked and every name turned
/// into what it means.
pub(crate) struct Listing<'a> {
    /// The user filter after applying the actor (learners: always themselves).
    pub(crate) user_id: Option<&'a str>,
    /// The filtered program: the status is parsed in its kind's vocabulary, and every row's
    /// `steps_total` is its step count.
    pub(crate) program: Option<&'a Program>,
    /// The statuses asked for, with the kinds whose vocabulary names them that way (`None`:
    /// every status).
    pub(crate) statuses: Option<Vec<(Kind, Status)>>,
    /// Only enrollments with this trigger.
    pub(crate) trigger: Option<Trigger>,
    /// Enrolled in `[from, to)`, either bound optional.
    pub(crate) enrolled: (Option<Timestamp>, Option<Timestamp>),
    /// Completed in `[from, to)`, either bound optional.
    pub(crate) completed: (Option<Timestamp>, Option<Timestamp>),
    /// Newest first instead of oldest first (creation order).
    pub(crate) newest_first: bool,
    /// Only enrollments after this one in the page's order (keyset pagination).
    pub(crate) after: Option<EnrollmentKey>,
    /// Enrollments to return (one more is fetched to learn whether there are more).
    pub(crate) limit: u32,
    /// Enrollments to skip (page pagination).
    pub(crate) offset: u64,
}

/// How a write transaction will be used, so that the backend can prepare for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteMode {
    /// One operation, or a short batch.
    Single,
    /// A long batch whose rows each look up the user and program they reference before
    /// writing (bulk enrollment, rosters): the backend may skip checking those references
    /// again.
    Bulk,
    /// A load of many records (imports); `into_empty` when the database holds none yet, and
    /// readers would only see it empty until the load ends.
    Load {
        /// The database had no records when the load began.
        into_empty: bool,
    },
}

/// What a read transaction can ask: one consistent snapshot of the database.
pub(crate) trait Read {
    /// The user named by id, email (case-insensitive) or external id; `not_found` otherwise.
    fn user(&mut self, by: &UserRef) -> Result<User>;

    /// The users whose `hire_date` falls on one of `month_days` (`MM-DD`) of any year,
    /// ordered by id.
    fn users_hired_on(&mut self, month_days: &[&str]) -> Result<Vec<User>>;

    /// Users ordered by id, after `after` (exclusive), at most `limit`.
    fn users(&mut self, after: Option<&str>, limit: u32) -> Result<Vec<User>>;

    /// [`Read::users`] with each user's times (exports).
    fn users_with_times(
        &mut self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(User, UserTimes)>>;

    /// The program with this id and its steps; `not_found` otherwise.
    fn program(&mut self, id: &str) -> Result<Arc<Program>>;

    /// Programs ordered by id, optionally of one kind and state, after `after`, at most
    /// `limit`.
    fn programs(
        &mut self,
        kind: Option<Kind>,
        state: Option<ProgramState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Program>>;

    /// The enrollment with this id (`not_found` otherwise), with its key.
    fn enrollment(&mut self, id: &str) -> Result<(EnrollmentKey, Enrollment)>;

    /// The step progress records of an enrollment (only touched steps have one), in no
    /// particular order.
    fn step_progress(&mut self, key: EnrollmentKey) -> Result<Vec<StepProgress>>;

    /// The assessment attempts of an enrollment, oldest first.
    fn attempts(&mut self, key: EnrollmentKey) -> Result<Vec<Attempt>>;

    /// Every enrollment of the user in the program, oldest first.
    fn lineage(&mut self, user_id: &str, program_id: &str) -> Result<Vec<Enrollment>>;

    /// The enrollments of a [`Listing`]'s page, plus one more when there is one.
    fn enrollments(&mut self, listing: &Listing<'_>) -> Result<Vec<Enrollment>>;

    /// Calls `each` with every enrollment, in creation order.
    fn for_each_enrollment(
        &mut self,
        each: &mut dyn FnMut(&Enrollment) -> Result<()>,
    ) -> Result<()>;

    /// Calls `each` with every enrollment in creation order, with its step progress and
    /// attempts and (with `last_status`, else `None`) the status its history ends in.
    fn for_each_enrollment_with_records(
        &mut self,
        last_status: bool,
        each: &mut dyn FnMut(
            Enrollment,
            Vec<StepProgress>,
            Vec<Attempt>,
            Option<String>,
        ) -> Result<()>,
    ) -> Result<()>;

    /// Ids of scheduled enrollments (`new`, `start_at` at or before `now`), oldest schedule
    /// first, at most `limit`.
    fn scheduled_starts(&mut self, now: Timestamp, limit: u32) -> Result<Vec<String>>;

    /// How many enrollments of the program hold a seat ([`crate::Status::holds_seat`]).
    fn seats_taken(&mut self, program_id: &str) -> Result<u64>;

    /// The program's waitlisted enrollments in waitlist order (first come, first served), at
    /// most `limit`. `steps_total` is left 0.
    fn waitlist(
        &mut self,
        program_id: &str,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>>;

    /// The place (from 1) of the waitlisted enrollment `key` in the program's waitlist.
    fn waitlist_position(&mut self, program_id: &str, key: EnrollmentKey) -> Result<u64>;

    /// Scheduled work: running enrollments with a next step time (at or before `until`, when
    /// given; of `program`, when given), soonest first, at most `limit`, claimed or not.
    /// `steps_total` is left 0.
    fn scheduled_work(
        &mut self,
        program: Option<&str>,
        until: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>>;

    /// The history of an enrollment (kept after its deletion), oldest first.
    fn history(&mut self, enrollment_id: &str) -> Result<Vec<Event>>;

    /// Events with a sequence number above `after` (of `user`'s enrollments only, when
    /// given), oldest first, at most `limit`.
    fn events_after(&mut self, after: i64, user: Option<&str>, limit: u32) -> Result<Vec<Event>>;

    /// Per-status totals of a program's enrollments.
    fn status_totals(&mut self, program_id: &str) -> Result<Vec<StatusTotals>>;

    /// `(step id, step status, enrollments)` over a program's step progress records.
    fn step_counts(&mut self, program_id: &str) -> Result<Vec<(String, StepStatus, u64)>>;

    /// How many records of a kind the database holds.
    fn count(&mut self, records: Records) -> Result<u64>;

    /// Whether the database holds any record of a kind.
    fn has_any(&mut self, records: Records) -> Result<bool>;

    /// What the backend's own consistency checks find wrong with the stored data (empty when
    /// nothing), as readable lines.
    fn storage_problems(&mut self) -> Result<Vec<String>>;

    /// `(user, program, count)` of every user with more than one open enrollment in a
    /// program.
    fn duplicate_open_enrollments(&mut self) -> Result<Vec<(String, String, i64)>>;

    /// Copies the database, as this transaction sees it, to a new file `dest`.
    fn copy_to(&mut self, dest: &Path) -> Result<()>;
}

/// What a write transaction can do besides reading. Every change is part of the transaction,
/// which commits when its body returns `Ok` (unless [`Write::discard`] was called) and leaves
/// the database unchanged otherwise.
pub(crate) trait Write: Read {
    /// The time that stamps every change of the transaction.
    fn now(&self) -> Timestamp;

    /// Makes the transaction roll back instead of committing when its body returns `Ok`.
    fn discard(&mut self);

    /// Creates a user or (with `replace`) replaces every field of an existing one; without
    /// `replace`, an existing id is a `conflict`. An email or external id that belongs to
    /// another user is a `conflict`.
    fn upsert_user(&mut self, user: &User, times: UserTimes, replace: bool) -> Result<()>;

    /// Creates or replaces [`Write::batch_rows`] users at once, as [`Write::upsert_user`] with
    /// `replace` would one by one: `true`, or `false` when one of them is refused (an email
    /// or external id taken); some of them may be written then, and [`Write::upsert_user`]
    /// for each one completes the batch and names the refused one.
    fn replace_users(&mut self, users: &[&User], times: UserTimes) -> Result<bool>;

    /// Inserts [`Write::batch_rows`] new users at once: all of them (`true`), or none
    /// (`false`: one of them clashes, with a stored user or another of them; write them one
    /// by one with [`Write::upsert_user`] to learn which).
    fn insert_users(&mut self, users: &[(&User, UserTimes)]) -> Result<bool>;

    /// Stores a program's settings, and its steps when `steps_changed` (created or replaced
    /// at `now`).
    fn write_program(
        &mut self,
        spec: &ProgramSpec,
        now: Timestamp,
        steps_changed: bool,
    ) -> Result<()>;

    /// Sets a program's creation and change times (imports).
    fn set_program_times(&mut self, id: &str, created: Timestamp, updated: Timestamp)
        -> Result<()>;

    /// The enrollment with this id as a change reads it (`not_found` otherwise), with its key:
    /// `steps_total` is left 0, for the change takes it from the program it loads anyway.
    fn enrollment_for_update(&mut self, id: &str) -> Result<(EnrollmentKey, Enrollment)>;

    /// Whether the program has enrollments.
    fn program_has_enrollments(&mut self, id: &str) -> Result<bool>;

    /// The user a new enrollment is for, as [`Read::user`] finds them, kept from being deleted
    /// until the transaction ends (the enrollment names them). A backend may leave empty the
    /// fields an enrollment does not take (all but `id`, `timezone` and `partnerships`), which
    /// saves reading them for every row of a bulk enrollment.
    fn enrolling_user(&mut self, by: &UserRef) -> Result<User>;

    /// Says that the next reads will ask for these `(user id, program id)` pairs: each user
    /// ([`Write::enrolling_user`] by id) and their prior enrollments in the program
    /// ([`Write::prior_enrollments`]), as the rows of a bulk enrollment do. A backend whose
    /// every read costs a round trip to a server fetches them all at once and answers those
    /// reads from what it fetched, with the same results; one whose reads are cheap does
    /// nothing (the default).
    fn read_ahead(&mut self, _rows: &[(&str, &str)]) -> Result<()> {
        Ok(())
    }

    /// The enrollments a worker may claim at `now` (the due-work queue): running ones whose
    /// next step is due, unclaimed or under a lease that has ended, oldest due first, at most
    /// `limit`, locked until the transaction ends. A backend with concurrent writers passes
    /// over rows another transaction holds (being claimed), rather than waiting for them.
    /// Only `program`'s, when given. `steps_total` is left 0.
    fn claimable(
        &mut self,
        now: Timestamp,
        program: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>>;

    /// The enrollments whose deadline has passed at `now` (open ones, dropped ones excepted),
    /// soonest deadline first, at most `limit`, locked until the transaction ends; a backend
    /// with concurrent writers passes over rows another transaction holds. `steps_total` is
    /// left 0.
    fn expirable(&mut self, now: Timestamp, limit: u32)
        -> Result<Vec<(EnrollmentKey, Enrollment)>>;

    /// The user's open enrollment in the program, and their latest one.
    fn prior_enrollments(
        &mut self,
        user_id: &str,
        program_id: &str,
    ) -> Result<(Option<Prior>, Option<Prior>)>;

    /// Holds the program's seats until the transaction ends: a backend with concurrent
    /// writers locks the program's row, so that counting seats and filling them is one
    /// writer's at a time; one whose writer is alone does nothing (the default).
    fn lock_program(&mut self, _program_id: &str) -> Result<()> {
        Ok(())
    }

    /// [`Read::waitlist`], its rows locked until the transaction ends (the ones to promote): a
    /// backend with concurrent writers leaves out a row that stopped waiting while it waited
    /// for the lock. The default reads them: a lone writer's rows cannot change meanwhile.
    fn waitlist_head(
        &mut self,
        program_id: &str,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        self.waitlist(program_id, limit)
    }

    /// Deletes user `user_id` with every enrollment of theirs (their step progress and attempts
    /// with them) and returns the enrollments as they were; the user must exist
    /// (`not_found`). A backend with concurrent writers locks the user's row first, so that
    /// no enrollment of them (which locks the user) can commit meanwhile.
    fn delete_user_with_enrollments(&mut self, user_id: &str) -> Result<Vec<Enrollment>>;

    /// Scrubs user `user_id` from the history: their events get `tombstone` as user id and no
    /// reason, and an actor naming the learner names the tombstone. Returns how many events
    /// changed.
    fn scrub_events(&mut self, user_id: &str, tombstone: &str) -> Result<u64>;

    /// Removes what names user `user_id` from other records: other users' `manager_id`,
    /// enrollments' `mentor_id` (with `mentor_assigned_at`) and `added_by_user_id` are cleared,
    /// and in free text (events' reasons, enrollments' and steps' failure messages, step
    /// results) each of `needles` (their id, email, name) is replaced by `tombstone`.
    fn clear_user_references(
        &mut self,
        user_id: &str,
        tombstone: &str,
        needles: &[&str],
    ) -> Result<()>;

    /// Which of `programs` the user has completed (has a `completed` enrollment in), in no
    /// particular order: an enrollment's prerequisites.
    fn completed_programs(&mut self, user_id: &str, programs: &[String]) -> Result<Vec<String>>;

    /// Whether an enrollment, current or deleted, has this id.
    fn enrollment_id_used(&mut self, id: &str) -> Result<bool>;

    /// Whether the history names an enrollment with this id.
    fn enrollment_id_in_history(&mut self, id: &str) -> Result<bool>;

    /// Inserts an enrollment, or says what refused it.
    fn insert_enrollment(
        &mut self,
        e: &Enrollment,
    ) -> Result<std::result::Result<EnrollmentKey, Refused>>;

    /// How many records the batch inserts take at once (1: the backend does not batch).
    fn batch_rows(&self) -> usize;

    /// Inserts [`Write::batch_rows`] new (untouched) enrollments, each with the event `event`
    /// gives it. Any failure fails the transaction: the caller checked every rule first.
    fn insert_new_enrollments<'e>(
        &mut self,
        es: &[Enrollment],
        event: &dyn Fn(&Enrollment) -> NewEvent<'e>,
    ) -> Result<()>;

    /// Inserts [`Write::batch_rows`] enrollments as they are (imports): all (`true`), or none
    /// (`false`: one was refused; insert them one by one to learn which).
    fn insert_enrollments(&mut self, es: &[&Enrollment]) -> Result<bool>;

    /// Stores `after` over the enrollment `key`, whose stored state is `before`.
    fn update_enrollment(
        &mut self,
        key: EnrollmentKey,
        before: &Enrollment,
        after: &Enrollment,
    ) -> Result<()>;

    /// Deletes an enrollment with its step progress and attempts (its history stays).
    fn delete_enrollment(&mut self, key: EnrollmentKey) -> Result<()>;

    /// Stores the progress of one step of an enrollment (created or replaced).
    fn write_step_progress(&mut self, key: EnrollmentKey, step: &StepProgress) -> Result<()>;

    /// Stores an assessment attempt of an enrollment.
    fn insert_attempt(&mut self, key: EnrollmentKey, attempt: &Attempt) -> Result<()>;

    /// Appends an event to the history of enrollment `e`.
    fn append_event(&mut self, e: &Enrollment, event: NewEvent<'_>) -> Result<()>;

    /// Inserts an event as it is, sequence number included (imports); a number in use is
    /// [`Refused::IdTaken`].
    fn insert_event(&mut self, event: &Event) -> Result<std::result::Result<(), Refused>>;

    /// Inserts [`Write::batch_rows`] events as they are: all (`true`), or none (`false`).
    fn insert_events(&mut self, events: &[&Event]) -> Result<bool>;

    /// Runs `body` so that it writes everything or nothing: a failure undoes its changes and
    /// leaves the rest of the transaction as it was.
    fn all_or_nothing(&mut self, body: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()>;

    /// Before a load: the backend may stop maintaining the secondary indexes of record kinds
    /// that hold nothing yet, until [`Write::restore_indexes`] (or the end of the transaction,
    /// which restores them whatever it does). Lookups that need them must restore them first.
    fn defer_indexes(&mut self) -> Result<()>;

    /// Restores the indexes of `records` that [`Write::defer_indexes`] deferred.
    fn restore_indexes(&mut self, records: Records) -> Result<()>;
}

/// The body of a [`Backend::change_enrollment`].
pub(crate) type ChangeBody<'a> = dyn FnMut(
        &mut dyn Write,
        Option<(EnrollmentKey, &Enrollment)>,
    ) -> Result<(EnrollmentKey, Enrollment)>
    + 'a;

/// A database: runs transactions of the operations.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// The file the database is in (`None` in memory or on a server).
    fn path(&self) -> Option<&Path>;

    /// The current time on the store's clock.
    fn now(&self) -> Timestamp;

    /// The schema version of the database.
    fn schema_version(&self) -> Result<i64>;

    /// Runs `body` in one read transaction: a consistent snapshot.
    fn read(&self, body: &mut dyn FnMut(&mut dyn Read) -> Result<()>) -> Result<()>;

    /// Runs `body` in one write transaction, prepared for `mode`: committed when it returns
    /// `Ok` (and did not [`Write::discard`]), rolled back otherwise.
    fn write(
        &self,
        mode: WriteMode,
        body: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<()>;

    /// [`Backend::write`] for a change of the one enrollment `id`: `body` gets the enrollment
    /// as this store last wrote it, when the backend knows it is still current (with
    /// `steps_total` 0), else `None` (it must read it), and returns the enrollment as it
    /// wrote it, which this returns once committed.
    fn change_enrollment(&self, id: &str, body: &mut ChangeBody<'_>) -> Result<Enrollment>;

    /// Rewrites the stored data so that nothing deleted or overwritten is left in it: SQLite
    /// checkpoints the WAL (emptying it), rebuilds the file (`VACUUM`) and checkpoints again;
    /// PostgreSQL vacuums the tables.
    fn compact(&self) -> Result<()>;
}

/// A program's policies as the SQL backends store them (`programs.policy_json`): JSON, or NULL
/// for none.
pub(crate) fn policy_json(policy: &crate::Policy) -> Result<Option<String>> {
    Ok((!policy.is_empty())
        .then(|| serde_json::to_string(policy))
        .transpose()?)
}

/// The free-text columns (`table`, `column`) that may name a person, scrubbed by
/// [`Write::clear_user_references`].
pub(crate) const FREE_TEXT: [(&str, &str); 4] = [
    ("events", "reason"),
    ("enrollments", "failure_message"),
    ("step_progress", "failure_message"),
    ("step_progress", "result_json"),
];

/// The statuses that hold a seat, as SQL on `status` ([`crate::Status::holds_seat`]; a test
/// checks it for every status).
pub(crate) const SEAT_CONDITION: &str = "status < 7";

/// The statuses [`Write::expirable`] ends, as SQL on `status`: the condition of the partial
/// index `enrollments_deadline` (schema 10), which the query repeats so that it uses it. A test
/// checks it against [`crate::Status`] (open, not dropped) and finds it in the index.
pub(crate) const EXPIRABLE_CONDITION: &str = "status < 7 OR status = 11";

/// The query of [`Write::expirable`] selecting `columns` of `enrollments e`, `time` and
/// `limit` the text of its two parameters.
pub(crate) fn expirable_sql(columns: &str, time: &str, limit: &str) -> String {
    format!(
        "SELECT {columns} FROM enrollments e WHERE deadline_at IS NOT NULL \
         AND ({EXPIRABLE_CONDITION}) AND deadline_at <= {time} ORDER BY deadline_at, rid \
         LIMIT {limit}"
    )
}

/// Which scheduled work a query of the SQL backends asks for: [`Read::scheduled_work`]
/// (`until` optional) or [`Write::claimable`] (`claimable`, `until` the time now).
#[derive(Clone, Copy)]
pub(crate) struct WorkQuery {
    /// Only enrollments a worker may claim: not held under a lease that runs at `until`.
    pub claimable: bool,
    /// Only work due at or before a time (a parameter).
    pub until: bool,
    /// Only one program's (a parameter).
    pub program: bool,
}

impl WorkQuery {
    /// [`Write::claimable`]'s query (at the time now), of `program` when given.
    pub(crate) fn claiming(program: Option<&str>) -> WorkQuery {
        WorkQuery {
            claimable: true,
            until: true,
            program: program.is_some(),
        }
    }

    /// [`Read::scheduled_work`]'s query, of `program` and due by `until` when given, with the
    /// time it binds (any, when `until` is absent: the query then has no time parameter).
    pub(crate) fn listing(
        program: Option<&str>,
        until: Option<Timestamp>,
    ) -> (WorkQuery, Timestamp) {
        let q = WorkQuery {
            claimable: false,
            until: until.is_some(),
            program: program.is_some(),
        };
        (q, until.unwrap_or(Timestamp::from_millis(0)))
    }
}

/// A parameter of a [`WorkQuery`]'s SQL, in the order [`work_sql`] numbers them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum WorkParam {
    /// The time (`until`, or now).
    Time,
    /// The program id.
    Program,
    /// The row limit.
    Limit,
}

/// The SQL of `q` selecting `columns` of `enrollments e`, soonest first, with `placeholder(n)`
/// the text of the n-th parameter (from 1), and the parameters in that order. The condition on
/// status and `next_step_at` is the partial indexes' (`enrollments_due`, schema 8, and
/// `enrollments_due_program`, schema 9), so a query walks one of them in its order (tests check
/// the plans on both backends).
pub(crate) fn work_sql(
    columns: &str,
    q: WorkQuery,
    placeholder: fn(usize) -> String,
) -> (String, Vec<WorkParam>) {
    let codes = |statuses: &[Status]| {
        let codes: Vec<String> = statuses.iter().map(|s| s.code().to_string()).collect();
        codes.join(", ")
    };
    let running = [
        Status::Active,
        Status::Processing,
        Status::ActiveBatch,
        Status::ProcessingBatch,
    ];
    let mut params = Vec::new();
    let mut param = |p: WorkParam| {
        params.push(p);
        placeholder(params.len())
    };
    let mut sql = format!(
        "SELECT {columns} FROM enrollments e WHERE e.status IN ({}) \
         AND e.next_step_at IS NOT NULL",
        codes(&running)
    );
    if q.program {
        sql += &format!(" AND e.program_id = {}", param(WorkParam::Program));
    }
    if q.until {
        let t = param(WorkParam::Time);
        sql += &format!(" AND e.next_step_at <= {t}");
        if q.claimable {
            let unclaimed = codes(&[Status::Active, Status::ActiveBatch]);
            sql += &format!(" AND (e.status IN ({unclaimed}) OR e.lease_until <= {t})");
        }
    }
    sql += &format!(
        " ORDER BY e.next_step_at, e.rid LIMIT {}",
        param(WorkParam::Limit)
    );
    (sql, params)
}

/// [`work_sql`]'s statements of one backend, built once per kind of [`WorkQuery`].
pub(crate) struct WorkSql {
    built: [std::sync::OnceLock<(String, Vec<WorkParam>)>; 8],
    columns: fn() -> String,
    placeholder: fn(usize) -> String,
    claim_suffix: &'static str,
}

impl WorkSql {
    /// Statements selecting `columns()` with `placeholder` parameters; `claim_suffix` ends
    /// the claiming ones (`FOR UPDATE SKIP LOCKED` where writers run at once).
    pub(crate) const fn new(
        columns: fn() -> String,
        placeholder: fn(usize) -> String,
        claim_suffix: &'static str,
    ) -> Self {
        WorkSql {
            built: [const { std::sync::OnceLock::new() }; 8],
            columns,
            placeholder,
            claim_suffix,
        }
    }

    /// The SQL of `q` and its parameters, in order.
    pub(crate) fn get(&self, q: WorkQuery) -> &(String, Vec<WorkParam>) {
        let i = usize::from(q.claimable) | usize::from(q.until) << 1 | usize::from(q.program) << 2;
        self.built[i].get_or_init(|| {
            let (mut sql, params) = work_sql(&(self.columns)(), q, self.placeholder);
            if q.claimable {
                sql += self.claim_suffix;
            }
            (sql, params)
        })
    }
}

/// Programs that transactions read, kept between them while the database's program version
/// stays the same: a number every change to a program or its steps replaces, in the same
/// transaction, whichever connection makes it (SQLite: triggers bumping `program_version`;
/// PostgreSQL: triggers taking the next value of a sequence). A hit saves reading the program
/// and its steps.
///
/// Only for transactions that have not changed programs themselves: a change rolled back
/// after its version was seen could be followed by another change committing the same
/// number (SQLite's counter), and an uncommitted program must not reach other transactions.
#[derive(Default)]
pub(crate) struct ProgramCache {
    held: std::sync::Mutex<CachedPrograms>,
}

#[derive(Default)]
struct CachedPrograms {
    version: i64,
    programs: std::collections::HashMap<String, Arc<Program>, foldhash::fast::RandomState>,
}

impl ProgramCache {
    /// Programs the cache holds at most; it starts over when full.
    const MAX: usize = 1024;

    /// Program `id` as of program version `version`: the cached one, or `load()`'s, which is
    /// kept for the transactions that see the same version. The lock is not held while
    /// `load` runs (a read from the database).
    pub(crate) fn get(
        &self,
        version: i64,
        id: &str,
        load: impl FnOnce() -> Result<Program>,
    ) -> Result<Arc<Program>> {
        let lock = || {
            self.held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        {
            let cache = lock();
            if cache.version == version {
                if let Some(p) = cache.programs.get(id) {
                    return Ok(Arc::clone(p));
                }
            }
        }
        let program = Arc::new(load()?);
        let mut cache = lock();
        if cache.version != version {
            // Versions only grow as transactions see them, but an older snapshot can still
            // load after a newer one: the newest version's programs are the ones to keep.
            if version < cache.version {
                return Ok(program);
            }
            cache.programs.clear();
            cache.version = version;
        }
        if cache.programs.len() >= Self::MAX {
            cache.programs.clear();
        }
        cache.programs.insert(id.to_owned(), Arc::clone(&program));
        Ok(program)
    }
}

impl std::fmt::Debug for ProgramCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramCache").finish_non_exhaustive()
    }
}
