//! Work anniversaries: the users whose hire date comes round on a day, enrolled once each.

use crate::api::ops::{BatchMode, EnrollOutcome};
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::Actor;
use crate::domain::schedule;
use crate::domain::validate;
use crate::error::{Error, Result};

/// One user's outcome of [`Store::enroll_anniversaries`]. As JSON, the outcome's object
/// with `user_id` added: `{"enrollment": {...}, "outcome": "created", "user_id": ...}`.
#[derive(Debug)]
pub struct UserOutcome {
    /// The user whose anniversary it is.
    pub user_id: String,
    /// What became of their enrollment.
    pub outcome: EnrollOutcome,
}

impl serde::Serialize for UserOutcome {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(&self.outcome).map_err(serde::ser::Error::custom)?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("user_id".to_owned(), self.user_id.clone().into());
        }
        value.serialize(serializer)
    }
}

impl Store {
    /// Enrolls in `program_id`, with trigger `work_anniversary`, every user whose hire-date
    /// anniversary is `on_date` (`YYYY-MM-DD`; one year or more after the hire date; someone
    /// hired on the 29th of February has it on the 28th in other years). In a track the
    /// enrollment starts at the beginning of that day in the user's time zone (a scheduled
    /// start, which [`Store::start_due`] runs, when that is still ahead); other programs
    /// start at once. One [`UserOutcome`] per user, by user id.
    ///
    /// Running it again for the same date enrolls nobody twice: each anniversary's enrollment
    /// has an id of its own (UUID version 5 of the program, the user and the date), and a
    /// user already enrolled for it reports [`EnrollOutcome::AlreadyEnrolled`], whatever
    /// became of that enrollment since. Admin or system only.
    pub fn enroll_anniversaries(
        &self,
        actor: &Actor,
        program_id: &str,
        on_date: &str,
    ) -> Result<Vec<UserOutcome>> {
        lifecycle::authorize(actor, "", false, "enroll work anniversaries")?;
        validate::id("program_id", program_id)?;
        let on = validate::calendar_date("on_date", on_date)?;
        let program = self.get_program(program_id)?;
        let days = schedule::anniversary_month_days(on);
        let days: Vec<&str> = days.iter().map(String::as_str).collect();
        let users = self.read(|tx| tx.users_hired_on(&days))?;
        let now = self.now();
        let mut ids = Vec::new();
        let mut requests = Vec::new();
        for user in &users {
            if let Some(req) = schedule::anniversary_request(&program, user, on, now) {
                let id = req.id.as_deref().unwrap_or_default();
                let id = validate::enrollment_id("id", id).map(|id| id.into_owned());
                ids.push((user.id.clone(), id));
                requests.push(req);
            }
        }
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = self.enroll_many(actor, &requests, BatchMode::BestEffort)?;
        // An id already used is this anniversary's enrollment, made by an earlier run.
        outcomes
            .into_iter()
            .zip(ids)
            .map(|(outcome, (user_id, id))| {
                let outcome = match outcome {
                    EnrollOutcome::Failed(Error::Conflict(_)) => {
                        EnrollOutcome::AlreadyEnrolled { existing_id: id? }
                    }
                    other => other,
                };
                Ok(UserOutcome { user_id, outcome })
            })
            .collect()
    }
}
