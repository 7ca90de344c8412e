//! Step schedules: when a track's steps run, in the enrollee's time zone.
//!
//! A step may carry a [`StepSchedule`]: a delay after the enrollment's start or after the
//! previous step's delivery, in minutes, hours, calendar days or business days (Monday to
//! Friday), optionally at a local time of day ("day 3 at 09:00"). Days count in the enrollee's
//! IANA time zone (the enrollment's, which it took from its user, else UTC), so "09:00" stays
//! 09:00 on the wall clock across daylight-saving changes. Minutes and hours are elapsed time.
//!
//! Local times that a daylight-saving change skips or repeats follow RFC 5545 (iCalendar),
//! section 3.3.5: a skipped time is read with the offset in force before the change (02:30 on
//! the day New York springs forward is 03:30 EDT), a repeated one is its first occurrence
//! (01:30 on the day New York falls back is 01:30 EDT).

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, Offset, TimeZone, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::model::{
    EnrollRequest, Enrollment, Kind, Program, Status, Step, StepProgress, StepStatus, Trigger, User,
};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

string_enum! {
    /// What a step's delay counts from.
    Anchor, "schedule.after" {
        /// The enrollment's start (`started_at`: when a track became active).
        Start = "start",
        /// The delivery (or skip) of the step before it; the first step counts from the start.
        PreviousStep = "previous_step",
    }
}

string_enum! {
    /// The unit of a step's delay.
    DelayUnit, "schedule.unit" {
        /// Elapsed minutes.
        Minutes = "minutes",
        /// Elapsed hours.
        Hours = "hours",
        /// Calendar days in the enrollee's time zone (the wall-clock time is kept).
        Days = "days",
        /// Days from Monday to Friday in the enrollee's time zone: Saturdays and Sundays are
        /// skipped, and a delay of 0 moves a weekend anchor to Monday.
        BusinessDays = "business_days",
    }
}

/// A local time of day, `HH:MM` on the wire (24-hour clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocalTime {
    hour: u8,
    minute: u8,
}

impl LocalTime {
    /// `hour`:`minute`; a `validation` error outside 00:00–23:59.
    pub fn new(hour: u8, minute: u8) -> Result<LocalTime> {
        if hour < 24 && minute < 60 {
            Ok(LocalTime { hour, minute })
        } else {
            Err(Error::validation(
                "schedule.at",
                format!("{hour:02}:{minute:02} is not a time of day (00:00-23:59)"),
            ))
        }
    }

    /// Parses `HH:MM`.
    pub fn parse(text: &str) -> Result<LocalTime> {
        let bad = || {
            Error::validation(
                "schedule.at",
                format!("{text:?} is not a time of day like 09:00"),
            )
        };
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u8 = h.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        LocalTime::new(h, m).map_err(|_| bad())
    }

    /// The hour, 0–23.
    pub fn hour(self) -> u8 {
        self.hour
    }

    /// The minute, 0–59.
    pub fn minute(self) -> u8 {
        self.minute
    }

    fn naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour.into(), self.minute.into(), 0).unwrap_or(NaiveTime::MIN)
    }
}

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LocalTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The longest delay a schedule may have: ten years of minutes, enough for any program and
/// far from the timestamp range's end.
pub const MAX_DELAY: u32 = 10 * 366 * 24 * 60;

/// When a step runs: `delay` `unit`s after `after`, at local time `at` when given (days and
/// business days only).
///
/// ```
/// use enrollkit::{StepSchedule, Anchor, DelayUnit, LocalTime};
/// let day3 = StepSchedule { after: Anchor::Start, delay: 3, unit: DelayUnit::Days,
///                           at: Some(LocalTime::parse("09:00").unwrap()) };
/// assert_eq!(serde_json::to_string(&day3).unwrap(),
///            r#"{"after":"start","delay":3,"unit":"days","at":"09:00"}"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSchedule {
    /// What the delay counts from.
    pub after: Anchor,
    /// How many units (0 or more, at most [`MAX_DELAY`]).
    pub delay: u32,
    /// The unit.
    pub unit: DelayUnit,
    /// The local time of day the step runs at (days and business days only); without it, the
    /// anchor's local time of day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<LocalTime>,
}

impl StepSchedule {
    /// Refuses a delay above [`MAX_DELAY`] and a time of day on minutes or hours
    /// (`validation`).
    pub fn validate(&self) -> Result<()> {
        if self.delay > MAX_DELAY {
            return Err(Error::validation(
                "schedule.delay",
                format!("{} is above the longest delay, {MAX_DELAY}", self.delay),
            ));
        }
        if self.at.is_some() && matches!(self.unit, DelayUnit::Minutes | DelayUnit::Hours) {
            return Err(Error::validation(
                "schedule.at",
                "a time of day needs a delay in days or business_days",
            ));
        }
        Ok(())
    }

    /// The instant the step runs when its anchor is `anchor`, in time zone `zone`.
    pub fn due_at(&self, anchor: Timestamp, zone: Tz) -> Timestamp {
        let start = match DateTime::from_timestamp_millis(anchor.millis()) {
            Some(t) => t.with_timezone(&zone),
            None => return anchor,
        };
        let delay = i64::from(self.delay);
        let instant = match self.unit {
            DelayUnit::Minutes => return add_millis(anchor, delay * 60_000),
            DelayUnit::Hours => return add_millis(anchor, delay * 3_600_000),
            DelayUnit::Days => start
                .date_naive()
                .checked_add_days(chrono::Days::new(delay as u64)),
            DelayUnit::BusinessDays => Some(add_business_days(start.date_naive(), self.delay)),
        };
        let Some(date) = instant else {
            return anchor;
        };
        let time = self.at.map_or(start.time(), LocalTime::naive);
        local_instant(zone, date, time).unwrap_or(anchor)
    }
}

/// `t` plus `millis`, clamped to the timestamp range.
fn add_millis(t: Timestamp, millis: i64) -> Timestamp {
    Timestamp::from_millis(t.millis().saturating_add(millis))
}

/// `date` plus `days` business days (Monday to Friday); 0 moves a weekend date to Monday.
fn add_business_days(date: NaiveDate, days: u32) -> NaiveDate {
    let is_weekend = |d: NaiveDate| matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let mut d = date;
    while is_weekend(d) {
        d = d.succ_opt().unwrap_or(d);
    }
    // Whole weeks first: five business days are seven calendar days from a weekday.
    let weeks = days / 5;
    d = d
        .checked_add_days(chrono::Days::new(u64::from(weeks) * 7))
        .unwrap_or(d);
    for _ in 0..days % 5 {
        d = d.succ_opt().unwrap_or(d);
        while is_weekend(d) {
            d = d.succ_opt().unwrap_or(d);
        }
    }
    d
}

/// The instant of local `date` `time` in `zone` (RFC 5545 for skipped and repeated times).
fn local_instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> Option<Timestamp> {
    let local = date.and_time(time);
    let instant = match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(first, _) => first,
        LocalResult::None => {
            // Skipped by a change: read with the offset in force before it. No zone skips
            // more than a day, so the offset a day earlier is that one.
            let before = zone
                .from_local_datetime(&(local - Duration::days(1)))
                .earliest()?
                .offset()
                .fix();
            before
                .from_local_datetime(&local)
                .single()?
                .with_timezone(&zone)
        }
    };
    Some(Timestamp::from_millis(instant.timestamp_millis()))
}

/// The IANA time zone `name` (`America/New_York`, `UTC`); `validation` for a name the time
/// zone database does not have.
pub fn zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        Error::validation(
            "timezone",
            format!("{name:?} is not an IANA time zone name like America/New_York"),
        )
    })
}

/// The zone schedules of an enrollment with time zone `name` run in: that zone, else UTC (a
/// name stored before names were checked, which the zone database does not know, included).
pub fn zone_or_utc(name: Option<&str>) -> Tz {
    name.and_then(|n| n.parse::<Tz>().ok()).unwrap_or(Tz::UTC)
}

/// Whether any step of `program` has a schedule: then `next_step_at` is the engine's to
/// compute; otherwise the host's to set.
pub fn is_scheduled(program: &Program) -> bool {
    program.steps.iter().any(|s| s.schedule.is_some())
}

/// Sets `e.next_step_at` from `program`'s schedules and `steps` (the enrollment's step
/// progress; absent steps are pending), when the program has schedules.
///
/// A running enrollment's next step is its first pending one in program order; it runs at its
/// schedule's due time, counted from the start (`started_at`) or from when the step before it
/// was settled (delivered, completed, skipped or failed). In a program with schedules, a step
/// without one runs as soon as the step before it is settled. A paused enrollment keeps the
/// time (resume shifts it); any other status (not started yet, delivered, finished) has none.
pub(crate) fn reschedule(program: &Program, e: &mut Enrollment, steps: &[StepProgress]) {
    if !is_scheduled(program) {
        return;
    }
    e.next_step_at = match e.status {
        Status::Paused => e.next_step_at,
        s if s.is_running() => next_due(program, e, steps),
        _ => None,
    };
}

/// The due time of `e`'s first pending step, if any.
fn next_due(program: &Program, e: &Enrollment, steps: &[StepProgress]) -> Option<Timestamp> {
    let start = e.started_at.unwrap_or(e.enrolled_at);
    let (step, settled_before) = first_pending(program, steps)?;
    let schedule = step.schedule.unwrap_or(StepSchedule {
        after: Anchor::PreviousStep,
        delay: 0,
        unit: DelayUnit::Minutes,
        at: None,
    });
    let anchor = match schedule.after {
        Anchor::Start => start,
        Anchor::PreviousStep => settled_before.unwrap_or(start),
    };
    Some(schedule.due_at(anchor, zone_or_utc(e.timezone.as_deref())))
}

/// The first step of `program` that `steps` (the enrollment's step progress; absent steps are
/// pending) has pending, with when the step before it was settled (delivered, completed,
/// skipped or failed; `None` for the first step).
pub(crate) fn first_pending<'p>(
    program: &'p Program,
    steps: &[StepProgress],
) -> Option<(&'p Step, Option<Timestamp>)> {
    let mut settled_before = None;
    for step in &program.steps {
        let progress = steps.iter().find(|p| p.step_id == step.id);
        let Some(p) = progress.filter(|p| p.status != StepStatus::Pending) else {
            return Some((step, settled_before));
        };
        settled_before = p
            .delivered_at
            .or(p.skipped_at)
            .or(p.completed_at)
            .or(p.failed_at)
            .or(settled_before);
    }
    None
}

/// The month-days (`MM-DD`) whose hire dates have a work anniversary on `on`: its own, and
/// the 29th of February when `on` is the 28th in a year without one.
pub fn anniversary_month_days(on: NaiveDate) -> Vec<String> {
    let mut days = vec![on.format("%m-%d").to_string()];
    let leap = NaiveDate::from_ymd_opt(on.year(), 2, 29).is_some();
    if on.month() == 2 && on.day() == 28 && !leap {
        days.push("02-29".to_owned());
    }
    days
}

/// Whether someone hired on `hired` has a work anniversary on `on`: the same month and day (the
/// 28th of February for the 29th in a year without one), one year or more later.
pub fn is_work_anniversary(hired: NaiveDate, on: NaiveDate) -> bool {
    hired.year() < on.year()
        && anniversary_month_days(on).contains(&hired.format("%m-%d").to_string())
}

/// The namespace of work-anniversary enrollment ids (UUID version 5 of program, user and
/// date): the same anniversary always gets the same id, so it is enrolled once.
const ANNIVERSARY_IDS: uuid::Uuid =
    uuid::Uuid::from_u128(0x9b1e_6c0e_4a7d_5f3a_8c21_e0b5_d4f6_a317);

/// The enrollment of `user` in `program` for their work anniversary on `on`, or `None` when
/// `on` is not one (no hire date, another day, or less than a year): trigger
/// `work_anniversary`, re-enrollment allowed (it comes every year), an id of its own for that
/// anniversary (UUID version 5 of program, user and date), and in a track a start at the
/// beginning of the day in the user's zone when that is still ahead of `now`.
pub fn anniversary_request(
    program: &Program,
    user: &User,
    on: NaiveDate,
    now: Timestamp,
) -> Option<EnrollRequest> {
    let hired = NaiveDate::parse_from_str(user.hire_date.as_deref()?, "%Y-%m-%d").ok()?;
    if !is_work_anniversary(hired, on) {
        return None;
    }
    let name = format!("work_anniversary/{}/{}/{on}", program.id, user.id);
    let start = start_of_day(on, zone_or_utc(user.timezone.as_deref()));
    Some(EnrollRequest {
        id: Some(uuid::Uuid::new_v5(&ANNIVERSARY_IDS, name.as_bytes()).to_string()),
        trigger: Some(Trigger::WorkAnniversary),
        allow_reenroll: true,
        start_at: (program.kind == Kind::Track && start > now).then_some(start),
        ..EnrollRequest::new(user.id.clone(), program.id.clone())
    })
}

/// The first instant of `date` in `zone` (midnight, or the first time after a change that
/// skips it).
pub fn start_of_day(date: NaiveDate, zone: Tz) -> Timestamp {
    local_instant(zone, date, NaiveTime::MIN).unwrap_or_else(|| {
        Timestamp::from_millis(date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn days(delay: u32, time: Option<&str>) -> StepSchedule {
        StepSchedule {
            after: Anchor::Start,
            delay,
            unit: DelayUnit::Days,
            at: time.map(|t| LocalTime::parse(t).unwrap()),
        }
    }

    fn in_zone(s: &StepSchedule, anchor: &str, name: &str) -> String {
        s.due_at(at(anchor), zone(name).unwrap()).to_string()
    }

    #[test]
    fn a_nine_oclock_step_keeps_the_wall_clock_across_new_yorks_changes() {
        // 2027-03-14: New York springs forward (EST -5 -> EDT -4); 2027-11-07: falls back.
        let nine = days(1, Some("09:00"));
        assert_eq!(
            in_zone(&nine, "2027-03-13T15:00:00Z", "America/New_York"),
            "2027-03-14T13:00:00.000Z"
        );
        assert_eq!(
            in_zone(&nine, "2027-11-06T15:00:00Z", "America/New_York"),
            "2027-11-07T14:00:00.000Z"
        );
        // The day before each change, for contrast: 09:00 EST and 09:00 EDT.
        assert_eq!(
            in_zone(&nine, "2027-03-12T15:00:00Z", "America/New_York"),
            "2027-03-13T14:00:00.000Z"
        );
        assert_eq!(
            in_zone(&nine, "2027-11-05T15:00:00Z", "America/New_York"),
            "2027-11-06T13:00:00.000Z"
        );
    }

    #[test]
    fn skipped_and_repeated_local_times_follow_rfc_5545() {
        // 02:30 does not exist on 2027-03-14 in New York: read as EST, it is 03:30 EDT.
        assert_eq!(
            in_zone(
                &days(1, Some("02:30")),
                "2027-03-13T15:00:00Z",
                "America/New_York"
            ),
            "2027-03-14T07:30:00.000Z"
        );
        // 01:30 happens twice on 2027-11-07: the first, EDT.
        assert_eq!(
            in_zone(
                &days(1, Some("01:30")),
                "2027-11-06T15:00:00Z",
                "America/New_York"
            ),
            "2027-11-07T05:30:00.000Z"
        );
    }

    #[test]
    fn berlin_and_lord_howes_half_hour_change() {
        // Berlin springs forward on 2027-03-28 (CET +1 -> CEST +2).
        assert_eq!(
            in_zone(
                &days(1, Some("09:00")),
                "2027-03-27T12:00:00Z",
                "Europe/Berlin"
            ),
            "2027-03-28T07:00:00.000Z"
        );
        assert_eq!(
            in_zone(
                &days(1, Some("02:30")),
                "2027-03-27T12:00:00Z",
                "Europe/Berlin"
            ),
            "2027-03-28T01:30:00.000Z"
        );
        // Lord Howe moves by half an hour: +10:30 -> +11:00 on 2027-10-03 at 02:00.
        assert_eq!(
            in_zone(
                &days(1, Some("09:00")),
                "2027-10-02T00:00:00Z",
                "Australia/Lord_Howe"
            ),
            "2027-10-02T22:00:00.000Z"
        );
        assert_eq!(
            in_zone(
                &days(1, Some("02:15")),
                "2027-10-02T00:00:00Z",
                "Australia/Lord_Howe"
            ),
            "2027-10-02T15:45:00.000Z"
        );
        // And back on 2027-04-04 at 02:00 (+11:00 -> +10:30): 01:45 happens twice.
        assert_eq!(
            in_zone(
                &days(1, Some("01:45")),
                "2027-04-03T00:00:00Z",
                "Australia/Lord_Howe"
            ),
            "2027-04-03T14:45:00.000Z"
        );
    }

    #[test]
    fn days_keep_the_anchors_wall_clock_and_hours_are_elapsed_time() {
        // 08:15 EST on the 13th; a day later is 08:15 EDT, 23 hours later in elapsed time.
        assert_eq!(
            in_zone(&days(1, None), "2027-03-13T13:15:00Z", "America/New_York"),
            "2027-03-14T12:15:00.000Z"
        );
        let hours = StepSchedule {
            unit: DelayUnit::Hours,
            delay: 24,
            ..days(0, None)
        };
        assert_eq!(
            in_zone(&hours, "2027-03-13T13:15:00Z", "America/New_York"),
            "2027-03-14T13:15:00.000Z"
        );
        let minutes = StepSchedule {
            unit: DelayUnit::Minutes,
            delay: 90,
            ..days(0, None)
        };
        assert_eq!(
            in_zone(&minutes, "2027-03-13T13:15:00Z", "UTC"),
            "2027-03-13T14:45:00.000Z"
        );
    }

    #[test]
    fn business_days_skip_weekends_in_the_enrollees_zone() {
        let business = |delay: u32| StepSchedule {
            unit: DelayUnit::BusinessDays,
            delay,
            ..days(0, Some("09:00"))
        };
        // Friday 2027-03-05 in Tokyo (it is still Thursday in UTC).
        let friday = "2027-03-04T20:00:00Z";
        assert_eq!(
            in_zone(&business(1), friday, "Asia/Tokyo"),
            "2027-03-08T00:00:00.000Z",
            "Monday 09:00 JST"
        );
        assert_eq!(
            in_zone(&business(5), friday, "Asia/Tokyo"),
            "2027-03-12T00:00:00.000Z"
        );
        assert_eq!(
            in_zone(&business(7), friday, "Asia/Tokyo"),
            "2027-03-16T00:00:00.000Z"
        );
        // Saturday: 0 business days is Monday; 1 is Tuesday.
        let saturday = "2027-03-06T12:00:00Z";
        assert_eq!(
            in_zone(&business(0), saturday, "UTC"),
            "2027-03-08T09:00:00.000Z"
        );
        assert_eq!(
            in_zone(&business(1), saturday, "UTC"),
            "2027-03-09T09:00:00.000Z"
        );
    }

    #[test]
    fn work_anniversaries_fall_on_the_hire_day_and_february_29_on_the_28th() {
        let d = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").unwrap();
        assert!(is_work_anniversary(d("2020-03-15"), d("2027-03-15")));
        assert!(
            !is_work_anniversary(d("2027-03-15"), d("2027-03-15")),
            "the hire day itself"
        );
        assert!(!is_work_anniversary(d("2020-03-15"), d("2027-03-16")));
        assert!(is_work_anniversary(d("2020-02-29"), d("2027-02-28")));
        assert!(
            !is_work_anniversary(d("2020-02-29"), d("2028-02-28")),
            "2028 has a 29th"
        );
        assert!(is_work_anniversary(d("2020-02-29"), d("2028-02-29")));
        assert_eq!(anniversary_month_days(d("2027-02-28")), ["02-28", "02-29"]);
        assert_eq!(
            start_of_day(d("2027-03-15"), zone("Asia/Tokyo").unwrap()).to_string(),
            "2027-03-14T15:00:00.000Z"
        );
    }

    #[test]
    fn schedules_and_zones_are_checked() {
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("America/New_York").is_ok());
        assert!(zone("UTC").is_ok());
        assert_eq!(zone_or_utc(Some("Mars/Olympus")), Tz::UTC);
        assert!(days(MAX_DELAY + 1, None).validate().is_err());
        let hours_at = StepSchedule {
            unit: DelayUnit::Hours,
            ..days(1, Some("09:00"))
        };
        assert!(hours_at.validate().is_err());
        for bad in ["9:00", "24:00", "09:60", "0900", "09:0a", ""] {
            assert!(LocalTime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(LocalTime::parse("23:59").unwrap().to_string(), "23:59");
        let parsed: StepSchedule =
            serde_json::from_str(r#"{"after":"previous_step","delay":2,"unit":"business_days"}"#)
                .unwrap();
        assert_eq!(parsed.after, Anchor::PreviousStep);
        assert!(serde_json::from_str::<StepSchedule>(
            r#"{"after":"start","delay":1,"unit":"weeks"}"#
        )
        .is_err());
    }
}
