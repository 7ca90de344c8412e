//! Step schedules (issue #24): `next_step_at` computed from a track's step schedules in the
//! enrollee's time zone, on enrollment, start, each step settled, pause and resume, on SQLite
//! and PostgreSQL, with the manual clock.

use std::sync::Arc;

use enrollkit::*;

mod support;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// Stores on each backend (PostgreSQL unless skipped) on a manual clock at `now`.
fn stores(now: &str) -> Vec<(Store, Arc<ManualClock>)> {
    let mut out = Vec::new();
    let clock = Arc::new(ManualClock::new(at(now)));
    out.push((
        OpenOptions::new()
            .clock(clock.clone())
            .open_in_memory()
            .unwrap(),
        clock,
    ));
    if let Some(base) = support::postgres() {
        let clock = Arc::new(ManualClock::new(at(now)));
        let store = OpenOptions::new()
            .clock(clock.clone())
            .open(support::fresh_database(&base))
            .unwrap();
        out.push((store, clock));
    }
    out
}

fn step(id: &str, schedule: Option<StepSchedule>) -> Step {
    Step {
        id: id.into(),
        step_type: "message".into(),
        title: id.into(),
        learner_completable: false,
        schedule,
    }
}

fn schedule(
    after: Anchor,
    delay: u32,
    unit: DelayUnit,
    time: Option<&str>,
) -> Option<StepSchedule> {
    Some(StepSchedule {
        after,
        delay,
        unit,
        at: time.map(|t| LocalTime::parse(t).unwrap()),
    })
}

/// A drip of three steps: welcome at once, a tip the next business day at 09:00, a survey on
/// day 3 after the start at 09:00.
fn drip() -> ProgramSpec {
    ProgramSpec {
        kind: Kind::Track,
        steps: vec![
            step("welcome", None),
            step(
                "tip",
                schedule(
                    Anchor::PreviousStep,
                    1,
                    DelayUnit::BusinessDays,
                    Some("09:00"),
                ),
            ),
            step(
                "survey",
                schedule(Anchor::Start, 3, DelayUnit::Days, Some("09:00")),
            ),
        ],
        ..ProgramSpec::course("drip", "Drip")
    }
}

fn user(id: &str, zone: &str) -> User {
    User {
        id: id.into(),
        timezone: Some(zone.into()),
        ..User::default()
    }
}

fn deliver(store: &Store, id: &str, step: &str) -> Enrollment {
    let change = StepChange::Deliver {
        destination_type: None,
    };
    store
        .update_step(&Actor::System, id, step, &change)
        .unwrap()
}

fn next(e: &Enrollment) -> Option<String> {
    e.next_step_at.map(|t| t.to_string())
}

#[test]
fn a_drip_runs_in_the_enrollees_zone_step_after_step() {
    // Friday 2027-03-12, 16:00 in New York (EST); New York springs forward on Sunday the 14th.
    for (store, clock) in stores("2027-03-12T21:00:00Z") {
        store.create_program(&drip()).unwrap();
        store.upsert_user(&user("ny", "America/New_York")).unwrap();
        let e = store
            .enroll(&Actor::Admin, &EnrollRequest::new("ny", "drip"))
            .unwrap();
        assert_eq!(e.timezone.as_deref(), Some("America/New_York"));
        assert_eq!(
            next(&e).as_deref(),
            Some("2027-03-12T21:00:00.000Z"),
            "welcome at once"
        );
        clock.set(at("2027-03-12T21:05:00Z"));
        let e = deliver(&store, &e.id, "welcome");
        // The next business day is Monday the 15th: 09:00 EDT.
        assert_eq!(next(&e).as_deref(), Some("2027-03-15T13:00:00.000Z"));
        clock.set(at("2027-03-15T13:00:30Z"));
        let e = deliver(&store, &e.id, "tip");
        // Day 3 after the start (Friday 16:00 EST): Monday the 15th at 09:00 EDT, already due.
        assert_eq!(next(&e).as_deref(), Some("2027-03-15T13:00:00.000Z"));
        let e = deliver(&store, &e.id, "survey");
        assert_eq!(e.status, Status::Completed);
        assert_eq!(next(&e), None, "nothing left to run");
        // Read back as stored.
        let stored = store.get_enrollment(&Actor::Admin, &e.id).unwrap();
        assert_eq!(stored, e);
    }
}

#[test]
fn a_pause_moves_the_pending_step_by_the_time_spent_paused() {
    for (store, clock) in stores("2027-06-01T08:00:00Z") {
        store.create_program(&drip()).unwrap();
        store.upsert_user(&user("b", "Europe/Berlin")).unwrap();
        let e = store
            .enroll(&Actor::Admin, &EnrollRequest::new("b", "drip"))
            .unwrap();
        let e = deliver(&store, &e.id, "welcome");
        // Tuesday 2027-06-01 10:00 CEST: the tip is on Wednesday at 09:00 CEST.
        assert_eq!(next(&e).as_deref(), Some("2027-06-02T07:00:00.000Z"));
        clock.set(at("2027-06-01T20:00:00Z"));
        let e = store
            .transition(&Actor::Admin, &e.id, &Command::Pause)
            .unwrap();
        assert_eq!(e.paused_at, Some(at("2027-06-01T20:00:00Z")));
        assert_eq!(next(&e).as_deref(), Some("2027-06-02T07:00:00.000Z"));
        // Five days and two hours later.
        clock.set(at("2027-06-06T22:00:00Z"));
        let e = store
            .transition(&Actor::Admin, &e.id, &Command::Resume)
            .unwrap();
        assert_eq!((e.status, e.paused_at), (Status::Active, None));
        assert_eq!(next(&e).as_deref(), Some("2027-06-07T09:00:00.000Z"));
    }
}

#[test]
fn a_scheduled_start_has_no_next_step_until_it_starts() {
    for (store, clock) in stores("2027-01-04T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        store.upsert_user(&user("t", "Asia/Tokyo")).unwrap();
        let mut req = EnrollRequest::new("t", "drip");
        req.start_at = Some(at("2027-01-05T00:00:00Z"));
        let e = store.enroll(&Actor::Admin, &req).unwrap();
        assert_eq!((e.status, next(&e)), (Status::New, None));
        clock.set(at("2027-01-05T00:00:01Z"));
        assert_eq!(
            store.start_due(&Actor::System, 10).unwrap(),
            vec![e.id.clone()]
        );
        let e = store.get_enrollment(&Actor::Admin, &e.id).unwrap();
        assert_eq!(next(&e).as_deref(), Some("2027-01-05T00:00:01.000Z"));
    }
}

#[test]
fn without_schedules_next_step_at_stays_the_hosts() {
    for (store, _) in stores("2027-01-04T09:00:00Z") {
        let mut spec = drip();
        for s in &mut spec.steps {
            s.schedule = None;
        }
        store.create_program(&spec).unwrap();
        store.upsert_user(&user("h", "UTC")).unwrap();
        let e = store
            .enroll(&Actor::Admin, &EnrollRequest::new("h", "drip"))
            .unwrap();
        assert_eq!(next(&e), None);
        let e = store
            .set_next_step_at(&Actor::Admin, &e.id, Some(at("2027-02-01T00:00:00Z")))
            .unwrap();
        let e = deliver(&store, &e.id, "welcome");
        assert_eq!(next(&e).as_deref(), Some("2027-02-01T00:00:00.000Z"));
    }
}

#[test]
fn schedules_are_checked_stored_and_exported() {
    for (store, _) in stores("2027-01-04T09:00:00Z") {
        let course = ProgramSpec {
            steps: vec![step("a", schedule(Anchor::Start, 1, DelayUnit::Days, None))],
            ..ProgramSpec::course("c", "C")
        };
        let refused = store.create_program(&course).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::Validation, "{refused}");
        let mut hours_at = drip();
        hours_at.id = "h".into();
        hours_at.steps[1].schedule = schedule(Anchor::Start, 2, DelayUnit::Hours, Some("09:00"));
        assert_eq!(
            store.create_program(&hours_at).unwrap_err().code(),
            ErrorCode::Validation
        );
        let bad_zone = store.upsert_user(&user("m", "Mars/Olympus")).unwrap_err();
        assert_eq!(bad_zone.code(), ErrorCode::Validation, "{bad_zone}");
        let created = store.create_program(&drip()).unwrap();
        assert_eq!(created.steps, drip().steps);
        assert_eq!(store.get_program("drip").unwrap().steps, drip().steps);
        let mut out = Vec::new();
        store.export_jsonl(&mut out, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(r#""schedule":{"after":"start","delay":3,"unit":"days","at":"09:00"}"#),
            "{text}"
        );
        let copy = Store::open_in_memory().unwrap();
        copy.import_jsonl(&mut text.as_bytes(), BatchMode::AllOrNothing, None)
            .unwrap();
        assert_eq!(copy.get_program("drip").unwrap().steps, drip().steps);
    }
}
