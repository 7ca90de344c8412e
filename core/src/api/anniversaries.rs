//! Work anniversaries: the users whose hire date comes round on a day, enrolled once each.

use crate::api::ops::{BatchMode, EnrollOutcome};
use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{Actor, EnrollRequest, Kind, Trigger};
use crate::domain::schedule;
use crate::domain::validate;
use crate::error::{Error, Result};

/// The namespace of work-anniversary enrollment ids (UUID version 5 of program, user and
/// date): the same anniversary always gets the same id, so it is enrolled once.
const ANNIVERSARY_IDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x9b1e_6c0e_4a7d_5f3a_8c21_e0b5_d4f6_a317);

impl Store {
    /// Enrolls in `program_id`, with trigger `work_anniversary`, every user whose hire-date
    /// anniversary is `on_date` (`YYYY-MM-DD`; one year or more after the hire date; someone
    /// hired on the 29th of February has it on the 28th in other years). In a track the
    /// enrollment starts at the beginning of that day in the user's time zone (a scheduled
    /// start, which [`Store::start_due`] runs, when that is still ahead); other programs
    /// start at once. One [`EnrollOutcome`] per user, by user id.
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
    ) -> Result<Vec<EnrollOutcome>> {
        lifecycle::authorize(actor, "", false, "enroll work anniversaries")?;
        validate::id("program_id", program_id)?;
        let on = validate::calendar_date("on_date", on_date)?;
        let program = self.get_program(program_id)?;
        let days = schedule::anniversary_month_days(on);
        let days: Vec<&str> = days.iter().map(String::as_str).collect();
        let users = self.read(|tx| tx.users_hired_on(&days))?;
        let now = self.now();
        let mut ids = Vec::new();
        let requests: Vec<EnrollRequest> = users
            .iter()
            .filter(|u| {
                u.hire_date
                    .as_deref()
                    .and_then(|d| validate::calendar_date("hire_date", d).ok())
                    .is_some_and(|hired| schedule::is_work_anniversary(hired, on))
            })
            .map(|u| {
                let name = format!("work_anniversary/{program_id}/{}/{on_date}", u.id);
                let id = uuid::Uuid::new_v5(&ANNIVERSARY_IDS, name.as_bytes()).to_string();
                ids.push(validate::enrollment_id("id", &id).map(|id| id.into_owned()));
                let start =
                    schedule::start_of_day(on, schedule::zone_or_utc(u.timezone.as_deref()));
                EnrollRequest {
                    id: Some(id),
                    trigger: Some(Trigger::WorkAnniversary),
                    allow_reenroll: true,
                    start_at: (program.kind == Kind::Track && start > now).then_some(start),
                    ..EnrollRequest::new(u.id.clone(), program_id)
                }
            })
            .collect();
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = self.enroll_many(actor, &requests, BatchMode::BestEffort)?;
        // An id already used is this anniversary's enrollment, made by an earlier run.
        outcomes
            .into_iter()
            .zip(ids)
            .map(|(outcome, id)| match outcome {
                EnrollOutcome::Failed(Error::Conflict(_)) => {
                    Ok(EnrollOutcome::AlreadyEnrolled { existing_id: id? })
                }
                other => Ok(other),
            })
            .collect()
    }
}
