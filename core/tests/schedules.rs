//! Step schedules (issue #24): `next_step_at` computed from a track's step schedules in the
//! enrollee's time zone, on enrollment, start, each step settled, pause and resume, on SQLite
//! and PostgreSQL, with the manual clock.

use std::sync::Arc;

use enrollkit::*;

mod support;

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// Stores on each backend on a manual clock at `now`.
fn stores(now: &str) -> Vec<(Store, Arc<ManualClock>)> {
    support::stores(now)
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
        // Processing and back keeps the shifted time, as a claim given back does.
        for cmd in [Command::BeginProcessing, Command::EndProcessing] {
            let e = store.transition(&Actor::System, &e.id, &cmd).unwrap();
            assert_eq!(
                next(&e).as_deref(),
                Some("2027-06-07T09:00:00.000Z"),
                "{cmd:?}"
            );
        }
        clock.set(at("2027-06-07T09:00:00Z"));
        let claim = store
            .claim_due("w", None, 1, claim_lease())
            .unwrap()
            .remove(0);
        let e = store.release_claim("w", &claim.enrollment.id).unwrap();
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

fn claim_lease() -> std::time::Duration {
    std::time::Duration::from_secs(60)
}

/// Enrolls users `u0`..`u{n}` (zone UTC) into `program`; their ids.
fn enroll_all(store: &Store, program: &str, n: usize) -> Vec<String> {
    let users: Vec<User> = (0..n).map(|i| user(&format!("u{i}"), "UTC")).collect();
    store.upsert_users(&users).unwrap();
    (0..n)
        .map(|i| {
            store
                .enroll(&Actor::Admin, &EnrollRequest::new(format!("u{i}"), program))
                .unwrap()
                .id
        })
        .collect()
}

#[test]
fn workers_claim_due_steps_oldest_first_and_a_late_worker_is_refused() {
    for (store, clock) in stores("2027-03-01T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        let ids = enroll_all(&store, "drip", 3);
        // All three welcome steps are due now; claim two.
        let claims = store.claim_due("w1", None, 2, claim_lease()).unwrap();
        let claimed: Vec<&str> = claims.iter().map(|c| c.enrollment.id.as_str()).collect();
        assert_eq!(
            claimed,
            vec![ids[0].as_str(), ids[1].as_str()],
            "oldest first"
        );
        for c in &claims {
            assert_eq!(c.enrollment.status, Status::Processing);
            assert_eq!(c.enrollment.claimed_by.as_deref(), Some("w1"));
            assert_eq!(c.enrollment.lease_until, Some(at("2027-03-01T09:01:00Z")));
            assert_eq!(c.step_id.as_deref(), Some("welcome"));
        }
        // A second worker gets only the third; nothing is due after that.
        let other = store.claim_due("w2", None, 10, claim_lease()).unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].enrollment.id, ids[2]);
        assert!(store
            .claim_due("w3", None, 10, claim_lease())
            .unwrap()
            .is_empty());
        // w1 delivers its first step: the enrollment is active again, its tip due Tuesday.
        let change = StepChange::Deliver {
            destination_type: Some("email".into()),
        };
        let e = store.complete_claim("w1", &ids[0], &change).unwrap();
        assert_eq!((e.status, e.claimed_by.as_deref()), (Status::Active, None));
        assert_eq!(next(&e).as_deref(), Some("2027-03-02T09:00:00.000Z"));
        // A worker that does not hold a claim is refused, and nothing changes.
        let before = store.get_enrollment(&Actor::Admin, &ids[1]).unwrap();
        let refused = store.complete_claim("w2", &ids[1], &change).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::Conflict, "{refused}");
        assert_eq!(
            store.get_enrollment(&Actor::Admin, &ids[1]).unwrap(),
            before
        );
        // w1's lease on the second one ends; w3 takes it over; w1's late call is refused.
        clock.set(at("2027-03-01T09:01:00Z"));
        let taken = store.claim_due("w3", None, 10, claim_lease()).unwrap();
        let taken: Vec<&str> = taken.iter().map(|c| c.enrollment.id.as_str()).collect();
        assert_eq!(taken, vec![ids[1].as_str(), ids[2].as_str()]);
        let late = store.complete_claim("w1", &ids[1], &change).unwrap_err();
        assert_eq!(late.code(), ErrorCode::Conflict, "{late}");
        assert!(late.to_string().contains("claimed by worker w3"), "{late}");
        // w3 gives one back: it is due again at once, for anyone.
        let released = store.release_claim("w3", &ids[2]).unwrap();
        assert_eq!(
            (released.status, released.claimed_by),
            (Status::Active, None)
        );
        let again = store.claim_due("w4", None, 10, claim_lease()).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].enrollment.id, ids[2]);
        // Every change is in the history.
        let actions: Vec<String> = store
            .history(&Actor::Admin, &ids[2])
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["enrolled", "claim", "claim", "release", "claim"]);
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn claims_are_checked() {
    for (store, _) in stores("2027-03-01T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        enroll_all(&store, "drip", 1);
        let zero = store
            .claim_due("w", None, 10, std::time::Duration::ZERO)
            .unwrap_err();
        assert_eq!(zero.code(), ErrorCode::Validation);
        let long = store
            .claim_due("w", None, 10, MAX_LEASE + std::time::Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(long.code(), ErrorCode::Validation);
        assert_eq!(
            store
                .claim_due("", None, 10, claim_lease())
                .unwrap_err()
                .code(),
            ErrorCode::Validation
        );
        assert_eq!(
            store
                .claim_due("w", None, 0, claim_lease())
                .unwrap_err()
                .code(),
            ErrorCode::Validation
        );
        let claim = store
            .claim_due("w", None, 10, claim_lease())
            .unwrap()
            .remove(0);
        let start = store
            .complete_claim("w", &claim.enrollment.id, &StepChange::Start)
            .unwrap_err();
        assert_eq!(start.code(), ErrorCode::Validation);
    }
}

/// Every due step is claimed and delivered exactly once by 4 threads of workers at once, on
/// each backend; a claim's lease never lapses here, so no step is claimed twice.
#[test]
fn four_workers_at_once_deliver_every_due_step_once() {
    const N: usize = 200;
    for (store, _) in stores("2027-03-01T09:00:00Z") {
        let one_step = ProgramSpec {
            kind: Kind::Track,
            steps: vec![step(
                "only",
                schedule(Anchor::Start, 0, DelayUnit::Minutes, None),
            )],
            ..ProgramSpec::course("one", "One")
        };
        store.create_program(&one_step).unwrap();
        let users: Vec<User> = (0..N).map(|i| user(&format!("u{i}"), "UTC")).collect();
        store.upsert_users(&users).unwrap();
        let rows: Vec<EnrollRequest> = (0..N)
            .map(|i| EnrollRequest::new(format!("u{i}"), "one"))
            .collect();
        store
            .enroll_many(&Actor::Admin, &rows, BatchMode::AllOrNothing)
            .unwrap();
        let delivered = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for w in 0..4 {
                let (store, delivered) = (&store, &delivered);
                s.spawn(move || {
                    let worker = format!("w{w}");
                    loop {
                        let claims = store.claim_due(&worker, None, 7, claim_lease()).unwrap();
                        if claims.is_empty() {
                            break;
                        }
                        for c in claims {
                            let change = StepChange::Deliver {
                                destination_type: None,
                            };
                            let e = store
                                .complete_claim(&worker, &c.enrollment.id, &change)
                                .unwrap();
                            assert_eq!(e.status, Status::Completed);
                            delivered.lock().unwrap().push(e.id);
                        }
                    }
                });
            }
        });
        let mut delivered = delivered.into_inner().unwrap();
        delivered.sort();
        let before = delivered.len();
        delivered.dedup();
        assert_eq!(
            (before, delivered.len()),
            (N, N),
            "each step delivered once"
        );
    }
}

#[test]
fn work_anniversaries_enroll_each_person_once_in_their_zone() {
    // 20:00 UTC on the 14th: already the 15th in Tokyo, still the 14th in New York.
    for (store, clock) in stores("2027-03-14T20:00:00Z") {
        let track = ProgramSpec {
            kind: Kind::Track,
            steps: vec![step("hello", None)],
            ..ProgramSpec::course("anniv", "Anniversary")
        };
        store.create_program(&track).unwrap();
        let hired = |id: &str, zone: &str, date: Option<&str>| User {
            hire_date: date.map(str::to_owned),
            ..user(id, zone)
        };
        store
            .upsert_users(&[
                hired("a", "Asia/Tokyo", Some("2020-03-15")),
                hired("b", "America/New_York", Some("2021-03-15")),
                hired("c", "UTC", Some("2027-03-15")),
                hired("d", "UTC", Some("2020-02-29")),
                hired("e", "UTC", None),
            ])
            .unwrap();
        let bad = store
            .upsert_user(&hired("f", "UTC", Some("2021-02-30")))
            .unwrap_err();
        assert_eq!(bad.code(), ErrorCode::Validation, "{bad}");
        let created = |outcomes: &[UserOutcome]| -> Vec<Enrollment> {
            outcomes
                .iter()
                .map(|o| match &o.outcome {
                    EnrollOutcome::Created(e) => {
                        assert_eq!(o.user_id, e.user_id);
                        (**e).clone()
                    }
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let first = store
            .enroll_anniversaries(&Actor::System, "anniv", "2027-03-15")
            .unwrap();
        let first = created(&first);
        let who: Vec<&str> = first.iter().map(|e| e.user_id.as_str()).collect();
        assert_eq!(who, ["a", "b"]);
        assert!(first.iter().all(|e| e.trigger == Trigger::WorkAnniversary));
        // Tokyo's 15th has begun: a starts now; New York's starts at its midnight.
        assert_eq!((first[0].status, first[0].start_at), (Status::Active, None));
        assert_eq!(first[1].status, Status::New);
        assert_eq!(first[1].start_at, Some(at("2027-03-15T04:00:00Z")));
        // Again, and again after a's enrollment ended: nobody twice.
        store
            .transition(&Actor::Admin, &first[0].id, &Command::Cancel)
            .unwrap();
        for _ in 0..2 {
            let again = store
                .enroll_anniversaries(&Actor::System, "anniv", "2027-03-15")
                .unwrap();
            let existing: Vec<(&str, String)> = again
                .iter()
                .map(|o| match &o.outcome {
                    EnrollOutcome::AlreadyEnrolled { existing_id } => {
                        (o.user_id.as_str(), existing_id.clone())
                    }
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(
                existing,
                [("a", first[0].id.clone()), ("b", first[1].id.clone())]
            );
        }
        clock.set(at("2027-03-15T04:00:00Z"));
        assert_eq!(
            store.start_due(&Actor::System, 10).unwrap(),
            [first[1].id.clone()]
        );
        // The 29th of February comes round on the 28th in 2027.
        let leap = created(
            &store
                .enroll_anniversaries(&Actor::Admin, "anniv", "2027-02-28")
                .unwrap(),
        );
        assert_eq!(leap.len(), 1);
        assert_eq!(leap[0].user_id, "d");
        // Checked: the date, the actor.
        let bad_date = store
            .enroll_anniversaries(&Actor::Admin, "anniv", "2027-13-01")
            .unwrap_err();
        assert_eq!(bad_date.code(), ErrorCode::Validation);
        let learner = store
            .enroll_anniversaries(&Actor::Learner("a".into()), "anniv", "2027-03-15")
            .unwrap_err();
        assert_eq!(learner.code(), ErrorCode::PermissionDenied);
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn a_worker_completes_a_batch_of_claims_in_one_call_each_checked() {
    for (store, _) in stores("2027-03-01T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        let ids = enroll_all(&store, "drip", 4);
        let mine = store.claim_due("w1", None, 3, claim_lease()).unwrap();
        let theirs = store.claim_due("w2", None, 3, claim_lease()).unwrap();
        assert_eq!((mine.len(), theirs.len()), (3, 1));
        let deliver = StepChange::Deliver {
            destination_type: None,
        };
        let items = vec![
            (ids[0].clone(), deliver.clone()),
            (ids[1].clone(), StepChange::Skip),
            (ids[3].clone(), deliver.clone()),
            ("enr_unknown".to_owned(), deliver.clone()),
            (ids[2].clone(), StepChange::Start),
        ];
        let before = store.get_enrollment(&Actor::Admin, &ids[3]).unwrap();
        let results = store.complete_claims("w1", &items).unwrap();
        let codes: Vec<Option<ErrorCode>> = results
            .iter()
            .map(|r| r.as_ref().err().map(Error::code))
            .collect();
        assert_eq!(
            codes,
            [
                None,
                None,
                Some(ErrorCode::Conflict),
                Some(ErrorCode::NotFound),
                Some(ErrorCode::Validation)
            ]
        );
        let done = results[0].as_ref().unwrap();
        assert_eq!(
            (done.status, done.claimed_by.as_deref()),
            (Status::Active, None)
        );
        assert_eq!(results[1].as_ref().unwrap().steps_skipped, 1);
        assert_eq!(
            store.get_enrollment(&Actor::Admin, &ids[3]).unwrap(),
            before
        );
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn due_lists_scheduled_work_soonest_first_and_claims_can_keep_to_one_program() {
    for (store, clock) in stores("2027-03-01T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        let other = ProgramSpec {
            id: "other".into(),
            ..drip()
        };
        store.create_program(&other).unwrap();
        let users: Vec<User> = (0..3).map(|i| user(&format!("u{i}"), "UTC")).collect();
        store.upsert_users(&users).unwrap();
        let enroll = |user: &str, program: &str| {
            store
                .enroll(&Actor::Admin, &EnrollRequest::new(user, program))
                .unwrap()
                .id
        };
        let o0 = enroll("u0", "other");
        clock.set(at("2027-03-01T09:00:01Z"));
        let d1 = enroll("u1", "drip");
        let d2 = enroll("u2", "drip");
        let ids = |work: &[Claim]| -> Vec<String> {
            work.iter().map(|c| c.enrollment.id.clone()).collect()
        };
        let all = store.due(&Actor::Admin, None, None, 10).unwrap();
        assert_eq!(ids(&all), [o0.clone(), d1.clone(), d2.clone()]);
        assert!(all.iter().all(|c| c.step_id.as_deref() == Some("welcome")));
        assert!(all.iter().all(|c| c.enrollment.steps_total == 3));
        let drip_only = store.due(&Actor::System, Some("drip"), None, 10).unwrap();
        assert_eq!(ids(&drip_only), [d1.clone(), d2.clone()]);
        let until = Some(at("2027-03-01T09:00:00Z"));
        assert_eq!(
            ids(&store.due(&Actor::Admin, None, until, 10).unwrap()),
            std::slice::from_ref(&o0)
        );
        assert_eq!(store.due(&Actor::Admin, None, None, 1).unwrap().len(), 1);
        // A worker of one program takes only its work, and leaves the older one of the other.
        let claims = store
            .claim_due("w", Some("drip"), 10, claim_lease())
            .unwrap();
        assert_eq!(ids(&claims), [d1.clone(), d2.clone()]);
        assert!(store
            .claim_due("w", Some("drip"), 10, claim_lease())
            .unwrap()
            .is_empty());
        let untouched = store.history(&Actor::Admin, &o0).unwrap();
        assert_eq!(untouched.len(), 1, "{untouched:?}");
        // Claimed work is still listed, with its claim; delivered work moves on.
        let listed = store.due(&Actor::Admin, Some("drip"), None, 10).unwrap();
        assert_eq!(listed[0].enrollment.claimed_by.as_deref(), Some("w"));
        store
            .complete_claim(
                "w",
                &d1,
                &StepChange::Deliver {
                    destination_type: None,
                },
            )
            .unwrap();
        let listed = store.due(&Actor::Admin, Some("drip"), None, 10).unwrap();
        assert_eq!(ids(&listed), [d2.clone(), d1.clone()]);
        assert_eq!(listed[1].step_id.as_deref(), Some("tip"));
        // Checked: the actor, the program, the limit.
        let learner = Actor::Learner("u1".into());
        let refused = store.due(&learner, None, None, 10).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::PermissionDenied);
        for err in [
            store
                .due(&Actor::Admin, Some("nope"), None, 10)
                .unwrap_err(),
            store
                .claim_due("w", Some("nope"), 10, claim_lease())
                .unwrap_err(),
        ] {
            assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
        }
        let zero = store.due(&Actor::Admin, None, None, 0).unwrap_err();
        assert_eq!(zero.code(), ErrorCode::Validation);
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn a_claim_of_host_scheduled_work_with_no_step_left_ends_and_is_not_due_again() {
    for (store, _) in stores("2027-03-01T09:00:00Z") {
        let plain = ProgramSpec {
            kind: Kind::Track,
            steps: vec![step("only", None)],
            ..ProgramSpec::course("plain", "Plain")
        };
        store.create_program(&plain).unwrap();
        let id = enroll_all(&store, "plain", 1).remove(0);
        deliver(&store, &id, "only");
        // Delivered: every step has run; the host schedules work of its own on a new one.
        let again = ProgramSpec {
            kind: Kind::Track,
            steps: vec![step("only", None), step("second", None)],
            ..ProgramSpec::course("plain2", "Plain 2")
        };
        store.create_program(&again).unwrap();
        let e = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u0", "plain2"))
            .unwrap();
        deliver(&store, &e.id, "only");
        store
            .update_step(
                &Actor::System,
                &e.id,
                "second",
                &StepChange::Fail {
                    reason: "bounced".into(),
                    message: None,
                },
            )
            .unwrap();
        let now = store.now();
        store
            .set_next_step_at(&Actor::System, &e.id, Some(now))
            .unwrap();
        let claim = store
            .claim_due("w", Some("plain2"), 10, claim_lease())
            .unwrap()
            .remove(0);
        assert_eq!(claim.step_id, None);
        let fail = StepChange::Fail {
            reason: "x".into(),
            message: None,
        };
        let refused = store.complete_claim("w", &e.id, &fail).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::Validation, "{refused}");
        let done = store
            .complete_claim(
                "w",
                &e.id,
                &StepChange::Deliver {
                    destination_type: None,
                },
            )
            .unwrap();
        assert_eq!(
            (done.status, done.next_step_at, done.claimed_by),
            (Status::Active, None, None)
        );
        assert!(store
            .claim_due("w", None, 10, claim_lease())
            .unwrap()
            .is_empty());
        let last = store.history(&Actor::Admin, &e.id).unwrap().pop().unwrap();
        assert_eq!(last.reason.as_deref(), Some("worker=w step=none"));
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn a_scheduled_track_whose_steps_have_all_run_with_one_failed_fails() {
    for (store, _) in stores("2027-03-01T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        let id = enroll_all(&store, "drip", 1).remove(0);
        let fail = StepChange::Fail {
            reason: "bounced".into(),
            message: Some("mailbox full".into()),
        };
        // The welcome fails; the queue moves on to the tip and the survey.
        let claim = store.claim_due("w", None, 1, claim_lease()).unwrap();
        let e = store
            .complete_claim("w", &claim[0].enrollment.id, &fail)
            .unwrap();
        assert_eq!(e.status, Status::Active);
        assert_eq!(next(&e).as_deref(), Some("2027-03-02T09:00:00.000Z"));
        deliver(&store, &id, "tip");
        let e = deliver(&store, &id, "survey");
        assert_eq!(
            (e.status, e.failure_reason, e.next_step_at),
            (Status::Failed, Some(FailureReason::UnknownError), None)
        );
        assert_eq!(
            e.failure_message.as_deref(),
            Some("every step has run and these failed: welcome (bounced)")
        );
        assert!(e.failed_at.is_some());
        // Without schedules the host runs the steps: a failed one may be retried.
        let plain = ProgramSpec {
            kind: Kind::Track,
            steps: vec![step("a", None), step("b", None)],
            ..ProgramSpec::course("plain", "Plain")
        };
        store.create_program(&plain).unwrap();
        let p = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u0", "plain"))
            .unwrap();
        store
            .update_step(&Actor::System, &p.id, "a", &fail)
            .unwrap();
        let e = deliver(&store, &p.id, "b");
        assert_eq!(e.status, Status::Active);
        assert_eq!(deliver(&store, &p.id, "a").status, Status::Completed);
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn a_worker_renews_its_lease_and_keeps_its_claim() {
    for (store, clock) in stores("2027-03-01T09:00:00Z") {
        store.create_program(&drip()).unwrap();
        let id = enroll_all(&store, "drip", 1).remove(0);
        store.claim_due("w1", None, 1, claim_lease()).unwrap();
        clock.set(at("2027-03-01T09:00:50Z"));
        let renewed = store
            .renew_claim("w1", &id, std::time::Duration::from_secs(120))
            .unwrap();
        assert_eq!(renewed.lease_until, Some(at("2027-03-01T09:02:50Z")));
        assert_eq!(renewed.claimed_by.as_deref(), Some("w1"));
        // Past the first lease, nobody takes it over.
        clock.set(at("2027-03-01T09:02:00Z"));
        assert!(store
            .claim_due("w2", None, 10, claim_lease())
            .unwrap()
            .is_empty());
        let before = store.get_enrollment(&Actor::Admin, &id).unwrap();
        for (worker, lease) in [("w2", 60), ("w1", 0), ("w1", 86_401)] {
            let lease = std::time::Duration::from_secs(lease);
            let err = store.renew_claim(worker, &id, lease).unwrap_err();
            let code = if worker == "w2" {
                ErrorCode::Conflict
            } else {
                ErrorCode::Validation
            };
            assert_eq!(err.code(), code, "{err}");
        }
        assert_eq!(store.get_enrollment(&Actor::Admin, &id).unwrap(), before);
        // Once the renewed lease ends, renewing is too late.
        clock.set(at("2027-03-01T09:02:50Z"));
        let late = store.renew_claim("w1", &id, claim_lease()).unwrap_err();
        assert_eq!(late.code(), ErrorCode::Conflict, "{late}");
        let actions: Vec<String> = store
            .history(&Actor::Admin, &id)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["enrolled", "claim", "renew"]);
        assert!(store.check_invariants().unwrap().is_empty());
    }
}
