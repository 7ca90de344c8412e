//! [`Database`] as a [`Backend`]: the storage boundary's traits over `db`'s row mapping. A
//! transaction of either kind is a [`Tx`] on the connection that runs it.

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use crate::domain::model::{
    Attempt, Enrollment, Event, Kind, Prior, Program, ProgramSpec, ProgramState, StepProgress,
    StepStatus, User, UserRef,
};
use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::sqlite::{bulk, db, listing, Database};
use crate::storage::{
    Backend, ChangeBody, EnrollmentKey, Listing, NewEvent, Read, Records, Refused, StatusTotals,
    UserTimes, WorkQuery, Write, WriteMode,
};

/// One transaction on one connection: a read (a snapshot on the writer or a pooled reader) or
/// a write (on the writer, inside [`crate::sqlite::database::WriteTx`]).
struct Tx<'c> {
    db: &'c Database,
    held: db::Held<'c>,
    now: Timestamp,
    /// `program_version` as this transaction sees it, once read: it only changes when the
    /// transaction changes programs itself.
    program_version: Option<i64>,
    /// Whether this transaction wrote a program. Its programs are then read from the database,
    /// not the store's cache: a change rolled back after its version was seen could be
    /// followed by another committing the same version number.
    programs_changed: bool,
    discard: bool,
    /// Whether the transaction writes rows in loops (bulk writes and loads): its statements are
    /// then held for the whole transaction (`db::Held`) rather than taken from the
    /// connection's cache for each row.
    looping: bool,
    /// `(table, CREATE INDEX statement)` of the indexes [`Write::defer_indexes`] dropped.
    deferred: Vec<(&'static str, String)>,
}

impl<'c> Tx<'c> {
    fn new(db: &'c Database, conn: &'c Connection, now: Timestamp) -> Tx<'c> {
        Tx {
            db,
            held: db::Held::new(conn),
            now,
            program_version: None,
            programs_changed: false,
            discard: false,
            looping: false,
            deferred: Vec::new(),
        }
    }

    fn conn(&self) -> &'c Connection {
        self.held.conn()
    }

    /// Rebuilds the deferred indexes of `table` (every table's with `None`).
    fn rebuild(&mut self, table: Option<&str>) -> Result<()> {
        let conn = self.conn();
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|(t, _)| table.map_or(true, |table| *t == table));
        self.deferred = later;
        bulk::rebuild_indexes(conn, now.iter().map(|(_, sql)| sql.as_str()))
    }
}

/// Whether a statement that writes several rows at once wrote them all (`Ok(true)`) or was
/// refused by a constraint, writing none (`Ok(false)`); any other failure is the database's.
fn all_written(written: Result<()>) -> Result<bool> {
    match written {
        Ok(()) => Ok(true),
        Err(e) if crate::sqlite::is_constraint_failure(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Rows with their SQLite row ids as keys.
fn keyed(rows: Result<Vec<(i64, Enrollment)>>) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
    Ok(rows?
        .into_iter()
        .map(|(rid, e)| (EnrollmentKey(rid), e))
        .collect())
}

impl Read for Tx<'_> {
    fn user(&mut self, by: &UserRef) -> Result<User> {
        db::find_user_held(&mut self.held, by)
    }

    fn users_hired_on(&mut self, month_days: &[&str]) -> Result<Vec<User>> {
        db::users_hired_on(self.conn(), month_days)
    }

    fn users(&mut self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        db::list_users(self.conn(), after, limit)
    }

    fn users_with_times(
        &mut self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(User, UserTimes)>> {
        db::list_users_with_times(self.conn(), after, limit)
    }

    fn program(&mut self, id: &str) -> Result<Arc<Program>> {
        if self.programs_changed {
            return Ok(Arc::new(db::get_program(self.conn(), id)?));
        }
        let version = match self.program_version {
            Some(v) => v,
            None => *self
                .program_version
                .insert(db::program_version(self.conn())?),
        };
        self.db.program_at(self.conn(), id, version)
    }

    fn programs(
        &mut self,
        kind: Option<Kind>,
        state: Option<ProgramState>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Program>> {
        db::list_programs(self.conn(), kind, state, after, limit)
    }

    fn enrollment(&mut self, id: &str) -> Result<(EnrollmentKey, Enrollment)> {
        let (rid, e) = db::get_enrollment(self.conn(), id)?;
        Ok((EnrollmentKey(rid), e))
    }

    fn step_progress(&mut self, key: EnrollmentKey) -> Result<Vec<StepProgress>> {
        db::load_step_progress(self.conn(), key.0)
    }

    fn attempts(&mut self, key: EnrollmentKey) -> Result<Vec<Attempt>> {
        db::load_attempts(self.conn(), key.0)
    }

    fn lineage(&mut self, user_id: &str, program_id: &str) -> Result<Vec<Enrollment>> {
        db::lineage(self.conn(), user_id, program_id)
    }

    fn enrollments(&mut self, l: &Listing<'_>) -> Result<Vec<Enrollment>> {
        listing::list_enrollments(self.conn(), l)
    }

    fn for_each_enrollment(
        &mut self,
        each: &mut dyn FnMut(&Enrollment) -> Result<()>,
    ) -> Result<()> {
        db::for_each_enrollment(self.conn(), |_, e| each(e))
    }

    fn for_each_enrollment_with_records(
        &mut self,
        last_status: bool,
        each: &mut dyn FnMut(
            Enrollment,
            Vec<StepProgress>,
            Vec<Attempt>,
            Option<String>,
        ) -> Result<()>,
    ) -> Result<()> {
        db::for_each_enrollment_with_records(self.conn(), last_status, each)
    }

    fn seats_taken(&mut self, program_id: &str) -> Result<u64> {
        db::seats_taken(self.conn(), program_id)
    }

    fn waitlist(
        &mut self,
        program_id: &str,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        keyed(db::waitlist(self.conn(), program_id, limit))
    }

    fn waitlist_position(&mut self, program_id: &str, key: EnrollmentKey) -> Result<u64> {
        db::waitlist_position(self.conn(), program_id, key.0)
    }

    fn scheduled_starts(&mut self, now: Timestamp, limit: u32) -> Result<Vec<String>> {
        db::scheduled_starts(self.conn(), now, limit)
    }

    fn scheduled_work(
        &mut self,
        program: Option<&str>,
        until: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        let (q, time) = WorkQuery::listing(program, until);
        keyed(db::scheduled_work(self.conn(), q, time, program, limit))
    }

    fn history(&mut self, enrollment_id: &str) -> Result<Vec<Event>> {
        db::history(self.conn(), enrollment_id)
    }

    fn events_after(&mut self, after: i64, user: Option<&str>, limit: u32) -> Result<Vec<Event>> {
        db::events_after(self.conn(), after, user, limit)
    }

    fn status_totals(&mut self, program_id: &str) -> Result<Vec<StatusTotals>> {
        db::status_totals(self.conn(), program_id)
    }

    fn step_counts(&mut self, program_id: &str) -> Result<Vec<(String, StepStatus, u64)>> {
        db::step_counts(self.conn(), program_id)
    }

    fn count(&mut self, records: Records) -> Result<u64> {
        db::count_rows(self.conn(), records.table())
    }

    fn has_any(&mut self, records: Records) -> Result<bool> {
        Ok(!bulk::is_empty(self.conn(), records.table())?)
    }

    fn storage_problems(&mut self) -> Result<Vec<String>> {
        db::integrity_problems(self.conn())
    }

    fn duplicate_open_enrollments(&mut self) -> Result<Vec<(String, String, i64)>> {
        db::duplicate_open_enrollments(self.conn())
    }

    fn copy_to(&mut self, dest: &Path) -> Result<()> {
        bulk::backup_to(self.conn(), dest, self.db.owner_only())
    }
}

impl Write for Tx<'_> {
    // SQLite has one writer at a time: nothing can delete the user before this commits.
    fn enrolling_user(&mut self, by: &UserRef) -> Result<User> {
        db::find_enrolling_user(&mut self.held, by)
    }

    fn now(&self) -> Timestamp {
        self.now
    }

    fn discard(&mut self) {
        self.discard = true;
    }

    fn upsert_user(&mut self, user: &User, times: UserTimes, replace: bool) -> Result<()> {
        db::upsert_user(&mut self.held, user, times, replace)
    }

    fn replace_users(&mut self, users: &[&User], times: UserTimes) -> Result<bool> {
        db::replace_users(&mut self.held, users, times)
    }

    fn insert_users(&mut self, users: &[(&User, UserTimes)]) -> Result<bool> {
        all_written(db::insert_users(&mut self.held, users))
    }

    fn write_program(
        &mut self,
        spec: &ProgramSpec,
        now: Timestamp,
        steps_changed: bool,
    ) -> Result<()> {
        self.programs_changed = true;
        db::write_program(self.conn(), spec, now, steps_changed)
    }

    fn set_program_times(
        &mut self,
        id: &str,
        created: Timestamp,
        updated: Timestamp,
    ) -> Result<()> {
        self.programs_changed = true;
        db::set_program_times(self.conn(), id, created, updated)
    }

    fn enrollment_for_update(&mut self, id: &str) -> Result<(EnrollmentKey, Enrollment)> {
        let (rid, e) = db::get_stored_enrollment(self.conn(), id)?;
        Ok((EnrollmentKey(rid), e))
    }

    fn program_has_enrollments(&mut self, id: &str) -> Result<bool> {
        db::program_has_enrollments(self.conn(), id)
    }

    fn prior_enrollments(
        &mut self,
        user_id: &str,
        program_id: &str,
    ) -> Result<(Option<Prior>, Option<Prior>)> {
        db::prior_enrollments(&mut self.held, user_id, program_id)
    }

    fn expirable(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        keyed(db::expirable(self.conn(), now, limit))
    }

    fn delete_user_with_enrollments(&mut self, user_id: &str) -> Result<Vec<Enrollment>> {
        db::delete_user_with_enrollments(self.conn(), user_id)
    }

    fn scrub_events(&mut self, user_id: &str, tombstone: &str) -> Result<u64> {
        db::scrub_events(self.conn(), user_id, tombstone)
    }

    fn clear_user_references(
        &mut self,
        user_id: &str,
        tombstone: &str,
        needles: &[&str],
    ) -> Result<()> {
        db::clear_user_references(self.conn(), user_id, tombstone, needles)
    }

    fn completed_programs(&mut self, user_id: &str, programs: &[String]) -> Result<Vec<String>> {
        db::completed_programs(self.conn(), user_id, programs)
    }

    fn enrollment_id_used(&mut self, id: &str) -> Result<bool> {
        db::enrollment_id_used(self.conn(), id)
    }

    fn enrollment_id_in_history(&mut self, id: &str) -> Result<bool> {
        // Looking up the history needs its index.
        self.rebuild(Some("events"))?;
        db::enrollment_id_in_history(self.conn(), id)
    }

    fn insert_enrollment(
        &mut self,
        e: &Enrollment,
    ) -> Result<std::result::Result<EnrollmentKey, Refused>> {
        Ok(db::insert_enrollment(&mut self.held, e)?.map(EnrollmentKey))
    }

    fn batch_rows(&self) -> usize {
        db::ROWS_PER_INSERT
    }

    fn insert_new_enrollments<'e>(
        &mut self,
        es: &[Enrollment],
        event: &dyn Fn(&Enrollment) -> NewEvent<'e>,
    ) -> Result<()> {
        db::insert_new_enrollments(&mut self.held, es, event)
    }

    fn insert_enrollments(&mut self, es: &[&Enrollment]) -> Result<bool> {
        all_written(db::insert_enrollments(&mut self.held, es))
    }

    fn claimable(
        &mut self,
        now: Timestamp,
        program: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(EnrollmentKey, Enrollment)>> {
        keyed(db::scheduled_work(
            self.conn(),
            WorkQuery::claiming(program),
            now,
            program,
            limit,
        ))
    }

    fn update_enrollment(
        &mut self,
        key: EnrollmentKey,
        before: &Enrollment,
        after: &Enrollment,
    ) -> Result<()> {
        db::update_enrollment(self.conn(), key.0, before, after)
    }

    fn delete_enrollment(&mut self, key: EnrollmentKey) -> Result<()> {
        db::delete_enrollment(self.conn(), key.0)
    }

    fn write_step_progress(&mut self, key: EnrollmentKey, step: &StepProgress) -> Result<()> {
        db::write_step_progress(self.conn(), key.0, step)
    }

    fn insert_attempt(&mut self, key: EnrollmentKey, attempt: &Attempt) -> Result<()> {
        db::insert_attempt(self.conn(), key.0, attempt)
    }

    fn append_event(&mut self, e: &Enrollment, event: NewEvent<'_>) -> Result<()> {
        match self.looping {
            true => db::insert_event(&mut self.held, e, event),
            false => db::insert_one_event(self.conn(), e, event),
        }
    }

    fn insert_event(&mut self, event: &Event) -> Result<std::result::Result<(), Refused>> {
        match all_written(db::insert_event_raw(&mut self.held, event))? {
            true => Ok(Ok(())),
            false => Ok(Err(Refused::IdTaken)),
        }
    }

    fn insert_events(&mut self, events: &[&Event]) -> Result<bool> {
        all_written(db::insert_events_raw(&mut self.held, events))
    }

    fn all_or_nothing(&mut self, body: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()> {
        let conn = self.conn();
        db::savepoint(conn, || body(self))
    }

    fn defer_indexes(&mut self) -> Result<()> {
        let deferred = bulk::defer_indexes(self.conn())?;
        self.deferred.extend(deferred);
        Ok(())
    }

    fn restore_indexes(&mut self, records: Records) -> Result<()> {
        self.rebuild(Some(records.table()))
    }
}

impl Backend for Database {
    fn compact(&self) -> Result<()> {
        Database::compact(self)
    }

    fn path(&self) -> Option<&Path> {
        Database::path(self)
    }

    fn now(&self) -> Timestamp {
        Database::now(self)
    }

    fn schema_version(&self) -> Result<i64> {
        Database::schema_version(self)
    }

    fn read(&self, body: &mut dyn FnMut(&mut dyn Read) -> Result<()>) -> Result<()> {
        let now = Database::now(self);
        Database::read(self, |conn| body(&mut Tx::new(self, conn, now)))
    }

    fn write(
        &self,
        mode: WriteMode,
        body: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        let mut write = match mode {
            WriteMode::Single => self.begin()?,
            WriteMode::Bulk => self.begin_bulk()?,
            WriteMode::Load { into_empty } => self.begin_spilling(into_empty)?,
        };
        let mut tx = Tx::new(self, write.conn(), write.now());
        tx.looping = mode != WriteMode::Single;
        body(&mut tx)?;
        let discard = tx.discard;
        if !discard {
            tx.rebuild(None)?;
        }
        drop(tx);
        if discard {
            write.rollback()
        } else {
            write.commit()
        }
    }

    fn change_enrollment(&self, id: &str, body: &mut ChangeBody<'_>) -> Result<Enrollment> {
        self.write_enrollment(id, |conn, now, version, kept| {
            let mut tx = Tx::new(self, conn, now);
            tx.program_version = Some(version);
            let kept = kept.map(|(rid, e)| (EnrollmentKey(rid), e));
            let (key, e) = body(&mut tx, kept)?;
            Ok((key.0, e, ()))
        })
        .map(|(e, ())| e)
    }
}
