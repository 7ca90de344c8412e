//! The public operations of [`Store`]: users, programs, enrollments, steps, attempts,
//! transitions, history. Each write loads the state, lets [`crate::lifecycle`] decide, and
//! stores the new state with its history event in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::api::store::unrun;
use crate::api::Store;
use crate::domain::ids::IdRandom;
use crate::domain::lifecycle::{self, Command};
use crate::domain::model::{
    Actor, Attempt, EnrollRequest, Enrollment, Event, FailureReason, Kind, Program, ProgramSpec,
    ProgramState, Status, StepChange, StepProgress, User, UserRef,
};
use crate::domain::time::Timestamp;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::storage::{EnrollmentKey, NewEvent, Refused, UserTimes, Write, WriteMode};

/// The smallest [`Store::enroll_many`] batch that runs as a bulk write ([`WriteMode::Bulk`])
/// with new enrollments written several at a time ([`Enrolling::bulk`]): preparing a bulk
/// write has a fixed cost (SQLite switches its foreign-key checks off and on, which prepares
/// each cached statement again) that only a batch of a few hundred rows earns back
/// (`bench/README.md`, "Settings and their measurements").
const BULK_BATCH_ROWS: usize = 256;

/// Largest page any list call returns.
pub const MAX_LIMIT: u32 = 1_000;

/// How [`Store::enroll_many`] treats a row that fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchMode {
    /// Any failed row rolls back the whole batch (rows already enrolled do not count as
    /// failures).
    #[default]
    AllOrNothing,
    /// Failed rows are skipped; every other row is written.
    BestEffort,
}

/// The result of one row of [`Store::enroll_many`].
#[derive(Debug)]
pub enum EnrollOutcome {
    /// A new enrollment was created (and committed).
    Created(Box<Enrollment>),
    /// The user already had an enrollment that blocks a new one; nothing was written for the
    /// row.
    AlreadyEnrolled {
        /// The existing enrollment's id.
        existing_id: String,
    },
    /// The row was refused with this error.
    Failed(Error),
    /// The row was valid but not written, because another row failed in
    /// [`BatchMode::AllOrNothing`].
    NotApplied,
}

/// `{"outcome": "created", "enrollment": {...}}`, `{"outcome": "already_enrolled",
/// "existing_id": ...}`, `{"outcome": "failed", "error": {...}}` or `{"outcome": "not_applied"}`.
impl serde::Serialize for EnrollOutcome {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("outcome", self.kind())?;
        match self {
            EnrollOutcome::Created(e) => map.serialize_entry("enrollment", e)?,
            EnrollOutcome::AlreadyEnrolled { existing_id } => {
                map.serialize_entry("existing_id", existing_id)?
            }
            EnrollOutcome::Failed(e) => map.serialize_entry("error", &e.details())?,
            EnrollOutcome::NotApplied => {}
        }
        map.end()
    }
}

impl EnrollOutcome {
    /// `created`, `already_enrolled`, `failed` or `not_applied`.
    pub fn kind(&self) -> &'static str {
        match self {
            EnrollOutcome::Created(_) => "created",
            EnrollOutcome::AlreadyEnrolled { .. } => "already_enrolled",
            EnrollOutcome::Failed(_) => "failed",
            EnrollOutcome::NotApplied => "not_applied",
        }
    }
}

/// What the rows of one enrolling call share ([`Store::enroll_in`]): the programs read so far
/// (the call's own map saves even the store cache's version check per row), the random
/// bytes for new enrollment ids and, in bulk calls, the new enrollments not written yet.
pub(crate) struct Enrolling {
    programs: HashMap<String, Arc<Program>>,
    random: IdRandom,
    /// Bulk calls: accepted new enrollments that wait to be written
    /// [`Write::batch_rows`] at a time ([`Enrolling::write_pending`]).
    pending: Option<Vec<Enrollment>>,
    /// Seats taken in each program with a capacity this call enrolled in: counted once under
    /// the program's lock, then kept as its rows take seats.
    seats: HashMap<String, u64>,
}

impl Enrolling {
    /// For a call of up to `rows` rows, each written when it is accepted.
    pub(crate) fn new(rows: usize) -> Enrolling {
        Enrolling {
            programs: HashMap::new(),
            random: IdRandom::for_ids(rows),
            pending: None,
            seats: HashMap::new(),
        }
    }

    /// For a bulk call of up to `rows` rows in `tx`, which writes new enrollments
    /// [`Write::batch_rows`] at a time: the caller must call [`Enrolling::write_pending`]
    /// after its last row, and must not commit when a call returned a storage error.
    pub(crate) fn bulk(tx: &dyn Write, rows: usize) -> Enrolling {
        Enrolling {
            pending: Some(Vec::with_capacity(tx.batch_rows())),
            ..Enrolling::new(rows)
        }
    }

    /// Writes the waiting enrollments and their events. They were accepted, so a failure
    /// here is not a row's refusal: it fails the call (a storage error).
    pub(crate) fn write_pending(&mut self, tx: &mut dyn Write, actor: &Actor) -> Result<()> {
        let Some(pending) = self.pending.as_mut() else {
            return Ok(());
        };
        let now = tx.now();
        let event = |e: &Enrollment| enrolled_event(e, actor, now);
        let written = if pending.len() == tx.batch_rows() {
            tx.insert_new_enrollments(pending, &event)
        } else {
            pending.iter().try_for_each(|e| {
                inserted(e, tx.insert_enrollment(e)?)?;
                tx.append_event(e, event(e))
            })
        };
        pending.clear();
        written.map_err(Error::into_storage)
    }

    /// Whether a waiting enrollment is of `user` in `program`, or has the id `id`: a row
    /// that reads those must see it written.
    fn waiting(&self, user: &str, program: &str, id: Option<&str>) -> bool {
        self.pending
            .iter()
            .flatten()
            .any(|e| (e.user_id == user && e.program_id == program) || id == Some(e.id.as_str()))
    }
}

/// Stores enrollment `e` (stored as `before` under `key`), changed at `now`, and records the
/// change's event: `action` by `actor`, from `before`'s status to `e`'s. Every change of one
/// enrollment ends so.
#[allow(clippy::too_many_arguments)]
pub(crate) fn store_change(
    tx: &mut dyn Write,
    key: EnrollmentKey,
    before: &Enrollment,
    e: &mut Enrollment,
    action: &str,
    actor: &Actor,
    reason: Option<String>,
    now: Timestamp,
) -> Result<()> {
    e.updated_at = now;
    tx.update_enrollment(key, before, e)?;
    let event = NewEvent {
        action,
        from: Some(before.status),
        to: Some(e.status),
        actor,
        reason,
        at: now,
    };
    tx.append_event(e, event)?;
    if before.status.holds_seat() && !e.status.holds_seat() {
        let program = tx.program(&e.program_id)?;
        if program.policy.capacity.is_some() {
            fill_seats(tx, &program, now)?;
        }
    }
    Ok(())
}

/// Promotes the head of `program`'s waitlist into each free seat, in waitlist order, each with
/// its `promote` event (actor `system`), in the caller's transaction: a seat that frees (an
/// enrollment that ends, is dropped, deleted or expires; a larger capacity) goes to the next
/// person at once. Without a capacity every waitlisted enrollment is promoted.
pub(crate) fn fill_seats(tx: &mut dyn Write, program: &Program, now: Timestamp) -> Result<()> {
    tx.lock_program(&program.id)?;
    // Nobody waiting (the usual case): no seats to count.
    if tx.waitlist(&program.id, 1)?.is_empty() {
        return Ok(());
    }
    let free = match program.policy.capacity {
        Some(capacity) => u64::from(capacity).saturating_sub(tx.seats_taken(&program.id)?),
        None => u64::MAX,
    };
    let mut left = free;
    while left > 0 {
        let batch = u32::try_from(left.min(u64::from(MAX_LIMIT))).unwrap_or(MAX_LIMIT);
        let heads = tx.waitlist_head(&program.id, batch)?;
        if heads.is_empty() {
            break;
        }
        for (key, before) in heads {
            let mut e = before.clone();
            e.steps_total = program.steps.len() as u32;
            lifecycle::promote(program, &mut e, now)?;
            // A promotion takes a seat: store_change frees none here.
            let reason = Some("seat_freed".to_owned());
            store_change(
                tx,
                key,
                &before,
                &mut e,
                "promote",
                &Actor::System,
                reason,
                now,
            )?;
            left -= 1;
        }
    }
    Ok(())
}

/// The event of a new enrollment.
fn enrolled_event<'a>(e: &Enrollment, actor: &'a Actor, at: Timestamp) -> NewEvent<'a> {
    NewEvent {
        action: "enrolled",
        from: None,
        to: Some(e.status),
        actor,
        reason: Some(e.trigger.as_str().to_owned()),
        at,
    }
}

/// Refuses prerequisites that name a program that does not exist (`not_found`), or that would
/// make a program require itself through others (`validation`): nobody could ever enroll.
fn check_prerequisite_programs(tx: &mut dyn Write, spec: &ProgramSpec) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    let mut next: Vec<String> = spec.policy.prerequisites.clone();
    while let Some(id) = next.pop() {
        if id == spec.id {
            return Err(Error::validation(
                "prerequisites",
                format!(
                    "program {} would require itself through its prerequisites",
                    spec.id
                ),
            ));
        }
        if seen.insert(id.clone()) {
            next.extend(tx.program(&id)?.policy.prerequisites.iter().cloned());
        }
    }
    Ok(())
}

pub(crate) fn check_limit(limit: u32) -> Result<()> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::validation(
            "limit",
            format!("{limit} is not between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(())
}

fn validate_request(req: &EnrollRequest) -> Result<()> {
    match &req.user {
        UserRef::Id(v) => validate::id("user_id", v)?,
        UserRef::Email(v) => validate::email(v)?,
        UserRef::ExternalId(v) => validate::id("external_id", v)?,
    }
    validate::id("program_id", &req.program_id)?;
    validate::opt_id("enrollment_id", req.id.as_deref())?;
    validate::opt_id("added_by_user_id", req.added_by_user_id.as_deref())?;
    validate::opt_id("added_by_program_id", req.added_by_program_id.as_deref())?;
    validate::opt_id("partnership_id", req.partnership_id.as_deref())?;
    if let Some(tz) = &req.timezone {
        validate::timezone(tz)?;
    }
    Ok(())
}

impl Store {
    // -----------------------------------------------------------------------------------------
    // Users

    /// Creates the user or replaces every field of an existing one. Email (case-insensitive) and
    /// external id must not belong to another user (`conflict`).
    pub fn upsert_user(&self, user: &User) -> Result<User> {
        validate::user(user)?;
        self.write(|tx| {
            tx.upsert_user(user, UserTimes::at(tx.now()), true)?;
            tx.user(&UserRef::Id(user.id.clone()))
        })
    }

    /// Creates or replaces many users in one transaction (a directory sync): each as
    /// [`Store::upsert_user`], all or nothing. A refused user fails the whole call with its error,
    /// whose message names the row (0-based position in `users`); nothing is written then.
    /// Returns how many users were written.
    ///
    /// ```
    /// use enrollkit::{Store, User};
    /// let store = Store::open_in_memory()?;
    /// let users: Vec<User> = (0..3)
    ///     .map(|i| User { id: format!("u{i}"), ..User::default() })
    ///     .collect();
    /// assert_eq!(store.upsert_users(&users)?, 3);
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn upsert_users(&self, users: &[User]) -> Result<u64> {
        for (i, user) in users.iter().enumerate() {
            validate::user(user).map_err(|e| e.in_row(i))?;
        }
        self.write(|tx| {
            // Several users to a statement where the backend batches (a sync is long).
            let times = UserTimes::at(tx.now());
            let batch = tx.batch_rows();
            for (chunk, rows) in users.chunks(batch).enumerate() {
                let together: Vec<&User> = rows.iter().collect();
                if rows.len() == batch && tx.replace_users(&together, times)? {
                    continue;
                }
                for (i, user) in rows.iter().enumerate() {
                    tx.upsert_user(user, times, true)
                        .map_err(|e| e.in_row(chunk * batch + i))?;
                }
            }
            Ok(users.len() as u64)
        })
    }

    /// The user with this id.
    pub fn get_user(&self, id: &str) -> Result<User> {
        self.find_user(&UserRef::Id(id.to_owned()))
    }

    /// The user named by id, email (case-insensitive) or external id.
    pub fn find_user(&self, by: &UserRef) -> Result<User> {
        match by {
            UserRef::Id(v) => validate::id("user_id", v)?,
            UserRef::Email(v) => validate::text("email", v, validate::MAX_TEXT_BYTES, true)?,
            UserRef::ExternalId(v) => validate::id("external_id", v)?,
        }
        self.read(|tx| tx.user(by))
    }

    /// Users ordered by id, after `after` (exclusive), at most `limit` (1–1000).
    pub fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        check_limit(limit)?;
        self.read(|tx| tx.users(after, limit))
    }

    // -----------------------------------------------------------------------------------------
    // Programs

    /// Creates a program; an existing id is a `conflict`.
    pub fn create_program(&self, spec: &ProgramSpec) -> Result<Program> {
        validate::program(spec)?;
        lifecycle::check_runnable(spec.kind, spec.state, &spec.steps)?;
        self.write(|tx| {
            if tx.program(&spec.id).is_ok() {
                return Err(Error::Conflict(format!(
                    "program {} already exists",
                    spec.id
                )));
            }
            check_prerequisite_programs(tx, spec)?;
            tx.write_program(spec, tx.now(), true)?;
            tx.program(&spec.id)
        })
        .map(Arc::unwrap_or_clone)
    }

    /// Replaces a program's settings. The kind cannot change (`validation`); the steps can change
    /// only while the program has no enrollments (`conflict`), so counters never disagree with
    /// the steps they count.
    pub fn update_program(&self, spec: &ProgramSpec) -> Result<Program> {
        validate::program(spec)?;
        self.write(|tx| {
            let old = tx.program(&spec.id)?;
            if old.kind != spec.kind {
                return Err(Error::validation(
                    "kind",
                    format!(
                        "program {} is a {}; the kind cannot change",
                        spec.id, old.kind
                    ),
                ));
            }
            lifecycle::check_runnable(spec.kind, spec.state, &spec.steps)?;
            let steps_changed = old.steps != spec.steps;
            if steps_changed && tx.program_has_enrollments(&spec.id)? {
                return Err(Error::Conflict(format!(
                    "program {} has enrollments; its steps cannot change",
                    spec.id
                )));
            }
            check_prerequisite_programs(tx, spec)?;
            tx.write_program(spec, tx.now(), steps_changed)?;
            let program = tx.program(&spec.id)?;
            // A larger capacity, or none, gives the waitlist the seats it adds at once; a
            // smaller one keeps everyone seated (nobody loses a seat).
            if old.policy.capacity != spec.policy.capacity {
                let now = tx.now();
                fill_seats(tx, &program, now)?;
            }
            Ok(program)
        })
        .map(Arc::unwrap_or_clone)
    }

    /// The program with this id, with its steps.
    pub fn get_program(&self, id: &str) -> Result<Program> {
        validate::id("program_id", id)?;
        self.read(|tx| tx.program(id)).map(Arc::unwrap_or_clone)
    }

    /// Programs ordered by id, optionally of one kind and state, after `after` (a program id,
    /// exclusive), at most `limit` (1–1000).
    pub fn list_programs(
        &self,
        kind: Option<Kind>,
        state: Option<ProgramState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Program>> {
        check_limit(limit)?;
        self.read(|tx| tx.programs(kind, state, after, limit))
    }

    // -----------------------------------------------------------------------------------------
    // Enrolling

    /// Enrolls a user in a program.
    ///
    /// Refused with `program_not_active` unless the program is active; `permission_denied` when
    /// a learner enrolls someone else or the program does not allow self-enrollment;
    /// `already_enrolled` (carrying the existing id) while the user has an open enrollment in the
    /// program, or a completed one and `allow_reenroll` is false. A new enrollment after an
    /// earlier one links to it (`previous_id`, `attempt_number`).
    pub fn enroll(&self, actor: &Actor, req: &EnrollRequest) -> Result<Enrollment> {
        // Bad input is refused before waiting for the writer (enroll_in checks it again).
        validate_request(req)?;
        self.write(|tx| self.enroll_in(tx, actor, req, &mut Enrolling::new(1)))
    }

    /// Checks and enrolls `req` within the caller's transaction: one enroll, or one row of a
    /// bulk enroll ([`Store::enroll_many`], [`Store::enroll_csv`]), whose rows share `call`.
    pub(crate) fn enroll_in(
        &self,
        tx: &mut dyn Write,
        actor: &Actor,
        req: &EnrollRequest,
        call: &mut Enrolling,
    ) -> Result<Enrollment> {
        validate_request(req)?;
        let now = tx.now();
        if !call.programs.contains_key(&req.program_id) {
            let program = tx.program(&req.program_id)?;
            call.programs.insert(req.program_id.clone(), program);
        }
        let user = tx.enrolling_user(&req.user)?;
        // An id given in UUID form is kept in its `enr_` form.
        let given = req
            .id
            .as_deref()
            .map(|id| validate::enrollment_id("enrollment_id", id))
            .transpose()?;
        if call.waiting(&user.id, &req.program_id, given.as_deref()) {
            call.write_pending(tx, actor)?;
        }
        let seats_taken = match call.programs[&req.program_id].policy.capacity {
            // Seats are counted once per call, under the program's lock (held to the end of
            // the transaction), then kept as rows take them.
            Some(_) => Some(match call.seats.get(&req.program_id) {
                Some(taken) => *taken,
                None => {
                    call.write_pending(tx, actor)?;
                    tx.lock_program(&req.program_id)?;
                    let taken = tx.seats_taken(&req.program_id)?;
                    call.seats.insert(req.program_id.clone(), taken);
                    taken
                }
            }),
            None => None,
        };
        let program = &call.programs[&req.program_id];
        let (open, latest) = tx.prior_enrollments(&user.id, &program.id)?;
        let prerequisites = &program.policy.prerequisites;
        let completed = if prerequisites.is_empty() || req.override_prerequisites.is_some() {
            Vec::new()
        } else {
            tx.completed_programs(&user.id, prerequisites)?
        };
        let id = match given {
            Some(id) => id.into_owned(),
            None => self.ids.next(now, &mut call.random)?,
        };
        let e = lifecycle::enroll(
            actor,
            program,
            &user,
            req,
            id,
            open.as_ref(),
            latest.as_ref(),
            &lifecycle::PolicyFacts {
                completed: &completed,
                seats_taken,
            },
            now,
        )?;
        if req.id.is_some() && tx.enrollment_id_used(&e.id)? {
            return Err(Error::Conflict(format!(
                "enrollment id {} is taken (by a current or deleted enrollment)",
                e.id
            )));
        }
        if let Some(pending) = call.pending.as_mut() {
            if e.is_untouched()
                && req.override_prerequisites.is_none()
                && program.policy.capacity.is_none()
            {
                pending.push(e.clone());
                if pending.len() == tx.batch_rows() {
                    call.write_pending(tx, actor)?;
                }
                return Ok(e);
            }
            call.write_pending(tx, actor)?;
        }
        // A refused insert (already enrolled, id taken) writes nothing. Once it succeeded, a
        // failure is not this row's refusal (the enrollment would stay without its event), so
        // it fails the whole call.
        inserted(&e, tx.insert_enrollment(&e)?)?;
        if e.status.holds_seat() {
            if let Some(taken) = call.seats.get_mut(&e.program_id) {
                *taken += 1;
            }
        }
        let mut event = enrolled_event(&e, actor, now);
        if let Some(why) = &req.override_prerequisites {
            event.reason = Some(format!(
                "{}; prerequisites overridden: {why}",
                e.trigger.as_str()
            ));
        }
        tx.append_event(&e, event).map_err(Error::into_storage)?;
        Ok(e)
    }

    /// Enrolls a batch in one transaction, with one [`EnrollOutcome`] per request, in order.
    ///
    /// In [`BatchMode::AllOrNothing`] a failed row rolls everything back (the other valid rows
    /// report [`EnrollOutcome::NotApplied`]); in [`BatchMode::BestEffort`] failed rows are
    /// skipped. A row whose user is already enrolled reports the existing id and is not a
    /// failure (when the existing enrollment is an earlier row of the batch and the batch
    /// rolls back, the row reports [`EnrollOutcome::NotApplied`] instead). Only storage
    /// failures (`busy`, `corrupt`, `storage`) fail the whole call.
    pub fn enroll_many(
        &self,
        actor: &Actor,
        requests: &[EnrollRequest],
        batch_mode: BatchMode,
    ) -> Result<Vec<EnrollOutcome>> {
        // All-or-nothing failures roll the transaction back. No savepoints: a row is refused
        // before it writes anything or by its one INSERT, which SQLite backs out by itself
        // (enroll_in), and a savepoint per row would make SQLite copy every page each row
        // touched into its sub-journal. Long batches write
        // their new enrollments several at a time (Enrolling::bulk).
        let bulk = requests.len() >= BULK_BATCH_ROWS;
        let mode = if bulk {
            WriteMode::Bulk
        } else {
            WriteMode::Single
        };
        // The rows' users and their enrollments, which every row reads, fetched at once where
        // that saves round trips to a server.
        let ahead: Vec<(&str, &str)> = match bulk {
            true => requests
                .iter()
                .filter_map(|r| match &r.user {
                    UserRef::Id(u) => Some((u.as_str(), r.program_id.as_str())),
                    _ => None,
                })
                .collect(),
            false => Vec::new(),
        };
        self.write_as(mode, |tx| {
            let mut call = if bulk {
                tx.read_ahead(&ahead)?;
                Enrolling::bulk(tx, requests.len())
            } else {
                Enrolling::new(requests.len())
            };
            let mut outcomes = Vec::with_capacity(requests.len());
            for req in requests {
                let row = self.enroll_in(tx, actor, req, &mut call);
                outcomes.push(match row {
                    Ok(e) => EnrollOutcome::Created(Box::new(e)),
                    Err(Error::AlreadyEnrolled { existing_id, .. }) => {
                        EnrollOutcome::AlreadyEnrolled { existing_id }
                    }
                    Err(e) if e.is_storage() => return Err(e),
                    Err(e) => EnrollOutcome::Failed(e),
                });
            }
            call.write_pending(tx, actor)?;
            let failed = outcomes
                .iter()
                .any(|o| matches!(o, EnrollOutcome::Failed(_)));
            if failed && batch_mode == BatchMode::AllOrNothing {
                tx.discard();
                // Rolled back: the batch's new enrollments, and so the "already enrolled"
                // of a later row in one of them, are not applied.
                let created: HashSet<String> = outcomes
                    .iter()
                    .filter_map(|o| match o {
                        EnrollOutcome::Created(e) => Some(e.id.clone()),
                        _ => None,
                    })
                    .collect();
                for o in &mut outcomes {
                    let undone = match o {
                        EnrollOutcome::Created(_) => true,
                        EnrollOutcome::AlreadyEnrolled { existing_id } => {
                            created.contains(existing_id)
                        }
                        _ => false,
                    };
                    if undone {
                        *o = EnrollOutcome::NotApplied;
                    }
                }
            }
            Ok(outcomes)
        })
    }

    // -----------------------------------------------------------------------------------------
    // Reading one enrollment

    /// The enrollment with this id. Learners may read only their own.
    pub fn get_enrollment(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        let id = &*validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let (_, e) = tx.enrollment(id)?;
            lifecycle::authorize_read(actor, &e.user_id)?;
            Ok(e)
        })
    }

    /// Progress of every step of the enrollment's program, in step order (untouched steps are
    /// `pending`).
    pub fn step_progress(&self, actor: &Actor, id: &str) -> Result<Vec<StepProgress>> {
        let id = &*validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let (key, e) = tx.enrollment(id)?;
            lifecycle::authorize_read(actor, &e.user_id)?;
            let program = tx.program(&e.program_id)?;
            let rows = tx.step_progress(key)?;
            Ok(ordered_steps(&program, rows))
        })
    }

    /// The enrollment's assessment attempts, oldest first.
    pub fn attempts(&self, actor: &Actor, id: &str) -> Result<Vec<Attempt>> {
        let id = &*validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let (key, e) = tx.enrollment(id)?;
            lifecycle::authorize_read(actor, &e.user_id)?;
            tx.attempts(key)
        })
    }

    /// Every enrollment of the user in the program, oldest first: the re-enrollment lineage.
    pub fn lineage(
        &self,
        actor: &Actor,
        user_id: &str,
        program_id: &str,
    ) -> Result<Vec<Enrollment>> {
        validate::id("user_id", user_id)?;
        validate::id("program_id", program_id)?;
        lifecycle::authorize_read(actor, user_id)?;
        self.read(|tx| tx.lineage(user_id, program_id))
    }

    // -----------------------------------------------------------------------------------------
    // Changing one enrollment

    /// Loads enrollment `id`, runs `change` on it, stores it and records one event naming
    /// `action`, all in one transaction. Returns the new state and `change`'s own result.
    pub(crate) fn modify<T>(
        &self,
        id: &str,
        actor: &Actor,
        action: &str,
        mut change: impl FnMut(
            &mut dyn Write,
            EnrollmentKey,
            &Program,
            &mut Enrollment,
        ) -> Result<(T, Option<String>)>,
    ) -> Result<(Enrollment, T)> {
        let id = &*validate::enrollment_id("enrollment_id", id)?;
        let mut out = None;
        let e = self.backend().change_enrollment(id, &mut |tx, kept| {
            let read;
            let (key, before) = match kept {
                Some(kept) => kept,
                None => {
                    read = tx.enrollment_for_update(id)?;
                    (read.0, &read.1)
                }
            };
            let now = tx.now();
            let program = tx.program(&before.program_id)?;
            let mut e = before.clone();
            e.steps_total = program.steps.len() as u32;
            let (value, reason) = change(tx, key, &program, &mut e)?;
            store_change(tx, key, before, &mut e, action, actor, reason, now)?;
            out = Some(value);
            Ok((key, e))
        })?;
        out.map(|value| (e, value)).ok_or_else(unrun)
    }

    /// Runs a lifecycle [`Command`] (start, progress, drop, reactivate, pause, resume, cancel,
    /// fail, begin/end processing) on an enrollment.
    pub fn transition(&self, actor: &Actor, id: &str, cmd: &Command) -> Result<Enrollment> {
        self.apply_command(actor, id, cmd.action(), |_| cmd.clone())
    }

    /// Runs the command `command` builds from the enrollment's current state, in the same
    /// transaction that read it (`action` is the command's [`Command::action`]).
    fn apply_command(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
        command: impl Fn(&Enrollment) -> Command,
    ) -> Result<Enrollment> {
        let (e, ()) = self.modify(id, actor, action, |tx, key, program, e| {
            let cmd = command(e);
            if let (Command::Reactivate, Some(capacity)) = (&cmd, program.policy.capacity) {
                // A dropped enrollment comes back only to a free seat.
                tx.lock_program(&program.id)?;
                if e.status == Status::Dropped
                    && tx.seats_taken(&program.id)? >= u64::from(capacity)
                {
                    return Err(Error::ProgramFull {
                        program_id: program.id.clone(),
                        capacity,
                    });
                }
            }
            let steps = step_rows(tx, key, program)?;
            lifecycle::apply(actor, program, e, &steps, &cmd, tx.now())?;
            let reason = match cmd {
                Command::Progress(p) => Some(progress_reason(p)),
                Command::Fail { reason, .. } => Some(reason.as_str().to_owned()),
                _ => None,
            };
            Ok(((), reason))
        })?;
        Ok(e)
    }

    /// Sets the progress (0–100) of a course or certification without steps; 100 completes a
    /// course (and a certification without an unpassed assessment).
    pub fn set_progress(&self, actor: &Actor, id: &str, percent: f64) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Progress(percent))
    }

    /// Adds `delta` (-100 to 100) to the progress of a course or certification without steps,
    /// reading and writing in one transaction, so concurrent additions are never lost (unlike
    /// [`Store::get_enrollment`] followed by [`Store::set_progress`]). The result is kept within
    /// 0–100; reaching 100 completes a course as [`Store::set_progress`] does, and the same
    /// rules refuse it (for example `invalid_transition` unless the enrollment is active).
    ///
    /// ```
    /// # use enrollkit::*;
    /// # let store = Store::open_in_memory().unwrap();
    /// # store.upsert_user(&User { id: "u1".into(), ..User::default() }).unwrap();
    /// # store.create_program(&ProgramSpec::course("c1", "C")).unwrap();
    /// let e = store.enroll(&Actor::Admin, &EnrollRequest::new("u1", "c1")).unwrap();
    /// assert_eq!(store.add_progress(&Actor::Admin, &e.id, 60.0).unwrap().progress_percent, 60.0);
    /// let done = store.add_progress(&Actor::Admin, &e.id, 60.0).unwrap();
    /// assert_eq!((done.progress_percent, done.status), (100.0, Status::Completed));
    /// ```
    pub fn add_progress(&self, actor: &Actor, id: &str, delta: f64) -> Result<Enrollment> {
        if !(-100.0..=100.0).contains(&delta) {
            return Err(Error::validation(
                "delta",
                format!("{delta} is not a number from -100 to 100"),
            ));
        }
        self.apply_command(actor, id, "progress", |e| {
            Command::Progress((e.progress_percent + delta).clamp(0.0, 100.0))
        })
    }

    /// Starts a `new` (scheduled or certification) enrollment now.
    pub fn start(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Start)
    }

    /// Drops a course enrollment (`active` → `dropped`).
    pub fn drop_enrollment(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Drop)
    }

    /// Reactivates a dropped course enrollment (`dropped` → `active`).
    pub fn reactivate(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Reactivate)
    }

    /// Pauses a track enrollment.
    pub fn pause(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Pause)
    }

    /// Resumes a paused track enrollment to the status it was paused from.
    pub fn resume(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Resume)
    }

    /// Cancels a track enrollment.
    pub fn cancel(&self, actor: &Actor, id: &str) -> Result<Enrollment> {
        self.transition(actor, id, &Command::Cancel)
    }

    /// Fails a track or certification enrollment with a reason and optional message.
    pub fn fail(
        &self,
        actor: &Actor,
        id: &str,
        reason: FailureReason,
        message: Option<&str>,
    ) -> Result<Enrollment> {
        let cmd = Command::Fail {
            reason,
            message: message.map(str::to_owned),
        };
        self.transition(actor, id, &cmd)
    }

    /// Applies a [`StepChange`] to one step; counters, percentages and status follow in the same
    /// transaction.
    pub fn update_step(
        &self,
        actor: &Actor,
        id: &str,
        step_id: &str,
        change: &StepChange,
    ) -> Result<Enrollment> {
        validate::id("step_id", step_id)?;
        let (e, ()) = self.modify(id, actor, change.action(), |tx, key, program, e| {
            let mut steps = tx.step_progress(key)?;
            let now = tx.now();
            let i = lifecycle::apply_step(actor, program, e, &mut steps, step_id, change, now)?;
            tx.write_step_progress(key, &steps[i])?;
            Ok(((), Some(step_id.to_owned())))
        })?;
        Ok(e)
    }

    /// Records an assessment attempt; returns the enrollment after it and the attempt.
    pub fn submit_attempt(
        &self,
        actor: &Actor,
        id: &str,
        score: f64,
    ) -> Result<(Enrollment, Attempt)> {
        self.modify(id, actor, "attempt", |tx, key, program, e| {
            let steps = step_rows(tx, key, program)?;
            let attempt = lifecycle::apply_attempt(actor, program, e, &steps, score, tx.now())?;
            tx.insert_attempt(key, &attempt)?;
            let reason = format!("attempt={} score={score}", attempt.number);
            Ok((attempt, Some(reason)))
        })
    }

    /// Assigns (or with `None` removes) the enrollment's mentor, who must be a known user.
    pub fn assign_mentor(
        &self,
        actor: &Actor,
        id: &str,
        mentor_id: Option<&str>,
    ) -> Result<Enrollment> {
        validate::opt_id("mentor_id", mentor_id)?;
        let (e, ()) = self.modify(id, actor, "assign_mentor", |tx, _, _, e| {
            lifecycle::check_admin_update(actor, e, "assign_mentor")?;
            if let Some(m) = mentor_id {
                tx.user(&UserRef::Id(m.to_owned()))?;
            }
            e.mentor_id = mentor_id.map(str::to_owned);
            e.mentor_assigned_at = mentor_id.map(|_| tx.now());
            Ok(((), mentor_id.map(str::to_owned)))
        })?;
        Ok(e)
    }

    /// Sets (or clears) when the host's next step for this enrollment is scheduled.
    pub fn set_next_step_at(
        &self,
        actor: &Actor,
        id: &str,
        at: Option<Timestamp>,
    ) -> Result<Enrollment> {
        let (e, ()) = self.modify(id, actor, "schedule_next_step", |_, _, _, e| {
            lifecycle::check_admin_update(actor, e, "schedule_next_step")?;
            e.next_step_at = at;
            Ok(((), at.map(|t| t.to_string())))
        })?;
        Ok(e)
    }

    /// Starts every scheduled (`new`, `start_at` reached) enrollment, at most `limit` (1–1000)
    /// per call, oldest schedule first; returns the started ids. Hosts call it from their
    /// scheduler.
    pub fn start_due(&self, actor: &Actor, limit: u32) -> Result<Vec<String>> {
        check_limit(limit)?;
        lifecycle::authorize(actor, "", false, "start scheduled enrollments")?;
        let now = self.now();
        let due = self.read(|tx| tx.scheduled_starts(now, limit))?;
        let mut started = Vec::with_capacity(due.len());
        for id in due {
            match self.start(actor, &id) {
                Ok(_) => started.push(id),
                // Started, paused or deleted by someone else in the meantime.
                Err(Error::InvalidTransition { .. } | Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(started)
    }

    /// Deletes the enrollment with its step progress and attempts (admin only). Its history
    /// stays, ending with a `deleted` event.
    pub fn delete_enrollment(&self, actor: &Actor, id: &str) -> Result<()> {
        let id = &*validate::enrollment_id("enrollment_id", id)?;
        if *actor != Actor::Admin {
            return Err(Error::PermissionDenied(format!(
                "deleting an enrollment needs an admin, not {}",
                actor.label()
            )));
        }
        self.write(|tx| {
            let (key, e) = tx.enrollment_for_update(id)?;
            tx.delete_enrollment(key)?;
            let now = tx.now();
            let event = NewEvent {
                action: "deleted",
                from: Some(e.status),
                to: None,
                actor,
                reason: None,
                at: now,
            };
            tx.append_event(&e, event)?;
            if e.status.holds_seat() {
                let program = tx.program(&e.program_id)?;
                if program.policy.capacity.is_some() {
                    fill_seats(tx, &program, now)?;
                }
            }
            Ok(())
        })
    }

    // -----------------------------------------------------------------------------------------
    // History

    /// The enrollment's history, oldest first (kept after deletion).
    pub fn history(&self, actor: &Actor, id: &str) -> Result<Vec<Event>> {
        let id = &*validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let events = tx.history(id)?;
            let first = events
                .first()
                .ok_or_else(|| Error::not_found("enrollment", id))?;
            lifecycle::authorize_read(actor, &first.user_id)?;
            Ok(events)
        })
    }

    /// The enrollment's status (in its program's vocabulary) at instant `at`, replayed from its
    /// history: `None` before it was created or after it was deleted.
    pub fn status_at(&self, actor: &Actor, id: &str, at: Timestamp) -> Result<Option<String>> {
        let events = self.history(actor, id)?;
        Ok(events
            .iter()
            .take_while(|ev| ev.at <= at)
            .last()
            .and_then(|ev| ev.to_status.clone()))
    }

    /// The change feed: events with a sequence number above `after`, oldest first, at most
    /// `limit` (1–1000). Learners see only events of their own enrollments.
    pub fn events_after(&self, actor: &Actor, after: i64, limit: u32) -> Result<Vec<Event>> {
        check_limit(limit)?;
        let user = match actor {
            Actor::Learner(id) => Some(id.as_str()),
            _ => None,
        };
        self.read(|tx| tx.events_after(after, user, limit))
    }
}

/// One [`StepProgress`] per program step, in step order, `pending` where no row exists.
pub(crate) fn ordered_steps(program: &Program, rows: Vec<StepProgress>) -> Vec<StepProgress> {
    let mut by_id: HashMap<String, StepProgress> =
        rows.into_iter().map(|p| (p.step_id.clone(), p)).collect();
    program
        .steps
        .iter()
        .map(|s| {
            by_id
                .remove(&s.id)
                .unwrap_or_else(|| StepProgress::pending(&s.id))
        })
        .collect()
}

/// The key of enrollment `e` just inserted, or the API's name for the storage's refusal: an
/// id in use is a `conflict`, an open enrollment `already_enrolled` (naming it), a missing user
/// `not_found`.
pub(crate) fn inserted(
    e: &Enrollment,
    outcome: std::result::Result<EnrollmentKey, Refused>,
) -> Result<EnrollmentKey> {
    match outcome {
        Ok(key) => Ok(key),
        Err(Refused::IdTaken) => Err(Error::Conflict(format!(
            "an enrollment with id {} already exists",
            e.id
        ))),
        Err(Refused::OpenEnrollment(open)) => Err(lifecycle::already_enrolled(
            e.kind,
            &e.user_id,
            &e.program_id,
            &open,
        )),
        Err(Refused::MissingParent) => Err(Error::not_found("user", e.user_id.clone())),
    }
}

/// The step progress records of enrollment `key`, which the lifecycle rules only consult for
/// a program with steps (a program without steps has none that count): skipped otherwise, one
/// query less for every course change.
fn step_rows(
    tx: &mut dyn Write,
    key: EnrollmentKey,
    program: &Program,
) -> Result<Vec<StepProgress>> {
    if program.steps.is_empty() {
        Ok(Vec::new())
    } else {
        tx.step_progress(key)
    }
}

/// The event reason of a progress change: `progress=` and the percent as `{}` prints an `f64`.
/// Whole percents (the usual case) are written digit by digit, much cheaper than formatting a
/// float.
fn progress_reason(percent: f64) -> String {
    if percent.fract() != 0.0 || !(0.0..=100.0).contains(&percent) || percent.is_sign_negative() {
        return format!("progress={percent}");
    }
    let n = percent as u8;
    let mut reason = String::with_capacity(12);
    reason.push_str("progress=");
    if n >= 100 {
        reason.push('1');
    }
    if n >= 10 {
        reason.push(char::from(b'0' + n / 10 % 10));
    }
    reason.push(char::from(b'0' + n % 10));
    reason
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_reasons_print_the_percent_as_a_float_does() {
        let whole = (0..=100).map(f64::from);
        let others = [
            -0.0,
            0.5,
            99.5,
            100.5,
            33.333_333_333_333_336,
            1e-9,
            -1.0,
            250.0,
        ];
        for p in whole.chain(others) {
            assert_eq!(super::progress_reason(p), format!("progress={p}"), "{p:?}");
        }
    }
}
