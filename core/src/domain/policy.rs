//! Enrollment policies of a program (issue #25): when enrolling is open, a deadline for each
//! enrollment, a capacity with a waitlist, and the programs to complete first. Every policy is
//! optional: a program without one behaves as if the policy did not exist, and a program with
//! none ([`Policy::is_empty`]) has no `policy` in its JSON at all.

use serde::{Deserialize, Serialize};

use crate::domain::time::Timestamp;
use crate::domain::validate;
use crate::error::{Error, Result};

/// The most days a relative deadline may give (a century).
pub const MAX_DEADLINE_DAYS: u32 = 36_500;

/// The most programs a program may require.
pub const MAX_PREREQUISITES: usize = 100;

/// A program's enrollment policies (`ProgramSpec::policy`). As JSON, every field is present
/// (`null`, `false` or `[]` when unset) once any is set.
///
/// ```
/// use enrollkit::{Deadline, Policy, Timestamp};
/// let policy: Policy = serde_json::from_str(
///     r#"{"enroll_closes_at": "2026-09-01T00:00:00Z", "deadline": {"after_days": 90},
///         "capacity": 30, "waitlist": true, "prerequisites": ["crs_intro"]}"#,
/// ).unwrap();
/// assert_eq!(policy.deadline, Some(Deadline::AfterDays(90)));
/// let enrolled = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
/// assert_eq!(policy.deadline_for(enrolled).unwrap().to_string(), "2026-04-01T00:00:00.000Z");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Enrolling is refused (`enrollment_closed`) before this instant.
    #[serde(default)]
    pub enroll_opens_at: Option<Timestamp>,
    /// Enrolling is refused (`enrollment_closed`) at and after this instant.
    #[serde(default)]
    pub enroll_closes_at: Option<Timestamp>,
    /// When each enrollment must be finished by; `Store::expire_due` ends the open ones past it.
    #[serde(default)]
    pub deadline: Option<Deadline>,
    /// How many open enrollments the program holds at most (seats).
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Whether enrolling into a full program joins a first-come, first-served waitlist rather
    /// than being refused (`program_full`). Needs a capacity.
    #[serde(default)]
    pub waitlist: bool,
    /// Programs the user must have completed (all of them) before enrolling
    /// (`prerequisites_not_met` otherwise; an admin may override, giving a reason).
    #[serde(default)]
    pub prerequisites: Vec<String>,
}

/// When an enrollment must be finished by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Deadline {
    /// A fixed instant, the same for every enrollment: `{"at": "2026-06-30T00:00:00Z"}`.
    At(Timestamp),
    /// A number of days (of 24 hours) after enrollment: `{"after_days": 90}`.
    AfterDays(u32),
}

impl Policy {
    /// Whether no policy is set: the program behaves as one without policies.
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }

    /// Refuses an inconsistent or out-of-range policy (`validation`, naming the field).
    pub fn validate(&self, program_id: &str) -> Result<()> {
        if let (Some(opens), Some(closes)) = (self.enroll_opens_at, self.enroll_closes_at) {
            if closes <= opens {
                return Err(Error::validation(
                    "enroll_closes_at",
                    format!("{closes} is not after enroll_opens_at {opens}"),
                ));
            }
        }
        if let Some(Deadline::AfterDays(days)) = self.deadline {
            if !(1..=MAX_DEADLINE_DAYS).contains(&days) {
                return Err(Error::validation(
                    "deadline",
                    format!("after_days {days} is not between 1 and {MAX_DEADLINE_DAYS}"),
                ));
            }
        }
        if self.capacity == Some(0) {
            return Err(Error::validation("capacity", "must be at least 1"));
        }
        if self.waitlist && self.capacity.is_none() {
            return Err(Error::validation(
                "waitlist",
                "a waitlist needs a capacity to wait for",
            ));
        }
        if self.prerequisites.len() > MAX_PREREQUISITES {
            return Err(Error::validation(
                "prerequisites",
                format!("more than {MAX_PREREQUISITES} programs"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.prerequisites {
            validate::id("prerequisites", p)?;
            if p == program_id {
                return Err(Error::validation(
                    "prerequisites",
                    format!("program {p} cannot require itself"),
                ));
            }
            if !seen.insert(p.as_str()) {
                return Err(Error::validation(
                    "prerequisites",
                    format!("program {p} appears twice"),
                ));
            }
        }
        Ok(())
    }

    /// Refuses (`enrollment_closed`) enrolling in `program_id` at `now` outside its window.
    pub fn check_window(&self, program_id: &str, now: Timestamp) -> Result<()> {
        let early = self.enroll_opens_at.filter(|opens| now < *opens);
        let late = self.enroll_closes_at.filter(|closes| now >= *closes);
        if early.is_some() || late.is_some() {
            return Err(Error::EnrollmentClosed {
                program_id: program_id.to_owned(),
                opens_at: early,
                closed_at: late,
            });
        }
        Ok(())
    }

    /// The deadline of an enrollment made at `enrolled_at`, if the program has one.
    pub fn deadline_for(&self, enrolled_at: Timestamp) -> Option<Timestamp> {
        self.deadline.map(|d| match d {
            Deadline::At(at) => at,
            Deadline::AfterDays(days) => Timestamp::from_millis(
                enrolled_at
                    .millis()
                    .saturating_add(i64::from(days) * 86_400_000),
            ),
        })
    }
}
