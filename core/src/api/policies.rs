//! Enrollment policies that act over time or across enrollments (issue #25): deadlines, ended
//! by [`Store::expire_due`], and the waitlist of a program with a capacity
//! ([`Store::waitlist`], [`Store::waitlist_position`]; seats are filled by
//! `ops::fill_seats` when they free). The policies checked when enrolling (windows,
//! prerequisites, partner users, capacity) live in [`crate::domain::lifecycle::enroll`].

use std::collections::BTreeSet;

use crate::api::ops::{check_limit, fill_seats, store_change};
use crate::api::Store;
use crate::domain::ids::IdRandom;
use crate::domain::lifecycle;
use crate::domain::model::{
    Actor, Enrollment, Kind, NewEnrollment, Status, Trigger, User, UserRef,
};
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::storage::NewEvent;

/// What [`Store::erase_user`] did. As JSON: `{"tombstone": ..., "enrollments": N, "events":
/// N}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Erasure {
    /// The id that stands for the person in the history from now on (`erased_` and 26
    /// random characters: it says nothing about them).
    pub tombstone: String,
    /// Enrollments deleted (with their step progress and attempts).
    pub enrollments: u64,
    /// History events scrubbed.
    pub events: u64,
}

/// The shortest id, email or name that erasure replaces in free text.
const MIN_NEEDLE_CHARS: usize = 4;

/// The enrollment a `user_erased` event is recorded against: the tombstone stands for both
/// the enrollment and the user; no program.
fn tombstone_record(tombstone: &str, now: crate::Timestamp) -> Enrollment {
    NewEnrollment {
        id: tombstone.to_owned(),
        user_id: tombstone.to_owned(),
        program_id: String::new(),
        kind: Kind::Course,
        status: Status::New,
        trigger: Trigger::ManualUserTrigger,
        added_by_user_id: None,
        added_by_program_id: None,
        partnership_id: None,
        timezone: None,
        enrolled_at: now,
        start_at: None,
        started_at: None,
        steps_total: 0,
        previous_id: None,
        attempt_number: 1,
        updated_at: now,
        next_step_at: None,
        deadline_at: None,
    }
    .enrollment()
}

impl Store {
    /// Ends up to `limit` (1–1000) enrollments whose deadline (`deadline_at`, from the
    /// program's deadline policy) has passed by the store's clock, soonest deadline first: a
    /// course enrollment becomes `expired`; a certification or track one `failed` with reason
    /// `deadline_passed`. Open enrollments only (a dropped course waits for its reactivation;
    /// a waitlisted one expires too). One history event each (`expire`, reason
    /// `deadline=...`); returns their ids. Hosts call it from their scheduler, as
    /// [`Store::start_due`]. Admin or system only.
    pub fn expire_due(&self, actor: &Actor, limit: u32) -> Result<Vec<String>> {
        check_limit(limit)?;
        lifecycle::authorize(actor, "", false, "expire enrollments")?;
        let mut expired = Vec::new();
        self.write(|tx| {
            expired.clear();
            let now = tx.now();
            for (_, listed) in tx.expirable(now, limit)? {
                // Read again: expiring an earlier one may have promoted this one (its seat).
                let (key, before) = tx.enrollment_for_update(&listed.id)?;
                let program = tx.program(&before.program_id)?;
                let steps = tx.step_progress(key)?;
                let mut e = before.clone();
                e.steps_total = program.steps.len() as u32;
                lifecycle::expire(&program, &mut e, &steps, now)?;
                let reason = before.deadline_at.map(|d| format!("deadline={d}"));
                store_change(tx, key, &before, &mut e, "expire", actor, reason, now)?;
                expired.push(e.id);
            }
            Ok(())
        })?;
        Ok(expired)
    }

    /// The program's waitlist: its `waitlisted` enrollments in order (first come, first
    /// served: the first is promoted into the next seat that frees), at most `limit` (1–1000).
    /// Admin or system only; `not_found` for a program that does not exist.
    pub fn waitlist(&self, actor: &Actor, program_id: &str, limit: u32) -> Result<Vec<Enrollment>> {
        check_limit(limit)?;
        lifecycle::authorize(actor, "", false, "read a waitlist")?;
        validate::id("program_id", program_id)?;
        self.read(|tx| {
            let program = tx.program(program_id)?;
            let rows = tx.waitlist(program_id, limit)?;
            Ok(rows
                .into_iter()
                .map(|(_, mut e)| {
                    e.steps_total = program.steps.len() as u32;
                    e
                })
                .collect())
        })
    }

    /// The place (from 1) of enrollment `id` in its program's waitlist, or `None` when it is
    /// not waitlisted. A learner may ask about their own enrollment.
    pub fn waitlist_position(&self, actor: &Actor, id: &str) -> Result<Option<u32>> {
        let id = validate::enrollment_id("enrollment_id", id)?;
        self.read(|tx| {
            let (key, e) = tx.enrollment(&id)?;
            lifecycle::authorize_read(actor, &e.user_id)?;
            if e.status != Status::Waitlisted {
                return Ok(None);
            }
            let place = tx.waitlist_position(&e.program_id, key)?;
            Ok(Some(u32::try_from(place).unwrap_or(u32::MAX)))
        })
    }

    /// Erases user `user_id` on request (admin only): deletes the user with every enrollment
    /// of theirs, its step progress and attempts, and scrubs them from the history: their
    /// events keep their sequence numbers, actions and statuses but name a tombstone instead of
    /// the user and lose their reasons (scores, messages, free text); other records that name
    /// them (a manager, a mentor, who enrolled someone) no longer do, and in other free text
    /// (events' reasons, failure messages, step results) their id, email and name, as stored
    /// and when at least 4 characters long, become the tombstone. One `user_erased` event (user
    /// and enrollment: the tombstone) goes into the feed, and each seat the erased enrollments
    /// held goes to its program's waitlist. One transaction.
    ///
    /// SQLite keeps removed bytes in free pages and in the WAL until they are reused:
    /// [`Store::compact`] rewrites them away (a test finds nothing of the person in the file
    /// or the WAL after it). On PostgreSQL, `compact` vacuums the tables; the server's WAL
    /// and backups keep what its retention says.
    pub fn erase_user(&self, actor: &Actor, user_id: &str) -> Result<Erasure> {
        if *actor != Actor::Admin {
            return Err(Error::PermissionDenied(format!(
                "erasing a user needs an admin, not {}",
                actor.label()
            )));
        }
        validate::id("user_id", user_id)?;
        let mut random = IdRandom::for_ids(1);
        let mut done = None;
        self.write(|tx| {
            let now = tx.now();
            let user: User = tx.user(&UserRef::Id(user_id.to_owned()))?;
            let tombstone = format!("erased_{}", &self.ids.next(now, &mut random)?[4..]);
            let enrollments = tx.delete_user_with_enrollments(user_id)?;
            // Shorter texts would match inside unrelated words.
            let needles: Vec<&str> = [
                Some(user_id),
                user.email.as_deref(),
                user.display_name.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter(|n| n.chars().count() >= MIN_NEEDLE_CHARS)
            .collect();
            let events = tx.scrub_events(user_id, &tombstone)?;
            tx.clear_user_references(user_id, &tombstone, &needles)?;
            let event = NewEvent {
                action: "user_erased",
                from: None,
                to: None,
                actor,
                reason: Some(format!("enrollments={}", enrollments.len())),
                at: now,
            };
            tx.append_event(&tombstone_record(&tombstone, now), event)?;
            let freed: BTreeSet<&str> = enrollments
                .iter()
                .filter(|e| e.status.holds_seat())
                .map(|e| e.program_id.as_str())
                .collect();
            for program_id in freed {
                let program = tx.program(program_id)?;
                if program.policy.capacity.is_some() {
                    fill_seats(tx, &program, now)?;
                }
            }
            done = Some(Erasure {
                tombstone,
                enrollments: enrollments.len() as u64,
                events,
            });
            Ok(())
        })?;
        done.ok_or_else(|| Error::Storage("the erasure did not run".into()))
    }
}
