//! `Store::report`: the summary, the per-status counts and the step funnel, checked against
//! hand-counted cases and against the same figures computed enrollment by enrollment through
//! the public API.

use std::sync::Arc;

use enrollkit::*;

fn step(id: &str, learner_completable: bool) -> Step {
    Step {
        id: id.into(),
        step_type: "task".into(),
        title: id.into(),
        learner_completable,
        schedule: None,
    }
}

fn store() -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
    ));
    let store = OpenOptions::new()
        .clock(clock.clone())
        .open_in_memory()
        .unwrap();
    for i in 0..8 {
        store
            .upsert_user(&User {
                id: format!("u{i}"),
                ..User::default()
            })
            .unwrap();
    }
    (store, clock)
}

#[test]
fn a_track_report_counts_every_enrollment_once_and_funnels_its_steps() {
    let (store, clock) = store();
    store
        .create_program(&ProgramSpec {
            id: "trk".into(),
            kind: Kind::Track,
            title: "Onboarding".into(),
            description: None,
            state: ProgramState::Active,
            self_enrollment: false,
            steps: vec![step("hello", false), step("survey", true)],
            assessment: None,
            policy: Default::default(),
        })
        .unwrap();
    let sys = Actor::System;
    let ids: Vec<String> = (0..6)
        .map(|i| {
            store
                .enroll(&sys, &EnrollRequest::new(format!("u{i}"), "trk"))
                .unwrap()
                .id
        })
        .collect();
    let deliver = |id: &str, s: &str| {
        store
            .update_step(
                &sys,
                id,
                s,
                &StepChange::Deliver {
                    destination_type: None,
                },
            )
            .unwrap()
    };
    // u0 and u1 complete: one after an hour, one after three.
    for (id, hours) in [(&ids[0], 1), (&ids[1], 3)] {
        clock.set(Timestamp::parse("2026-01-15T10:00:00Z").unwrap());
        clock.advance_millis(hours * 3_600_000);
        deliver(id, "hello");
        deliver(id, "survey");
        let e = store
            .update_step(&sys, id, "survey", &StepChange::Complete { result: None })
            .unwrap();
        assert_eq!(e.status, Status::Completed);
    }
    // u2: the first step skipped, the second not delivered yet -> still active.
    store
        .update_step(&sys, &ids[2], "hello", &StepChange::Skip)
        .unwrap();
    // u3 paused, u4 canceled, u5 failed.
    store.transition(&sys, &ids[3], &Command::Pause).unwrap();
    store.transition(&sys, &ids[4], &Command::Cancel).unwrap();
    store
        .transition(
            &sys,
            &ids[5],
            &Command::Fail {
                reason: FailureReason::UserRemovedFromWorkflow,
                message: None,
            },
        )
        .unwrap();

    let r = store.report(&Actor::Admin, "trk").unwrap();
    assert_eq!(
        (
            r.total_enrollees,
            r.active,
            r.completed,
            r.failed,
            r.paused,
            r.canceled
        ),
        (6, 1, 2, 1, 1, 1)
    );
    assert_eq!(r.kind, Kind::Track);
    // Completed steps: u0 and u1 completed "survey" ("hello" cannot be completed by them, and
    // was only delivered): 1 of 2 steps each, 0 for the others.
    assert!(
        (r.average_completion_rate - 100.0 / 6.0).abs() < 1e-9,
        "{r:?}"
    );
    assert_eq!(r.average_time_to_complete, Some(2.0 * 3600.0));
    let statuses: Vec<(&str, u64)> = r.by_status.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        statuses,
        [
            ("active", 1),
            ("canceled", 1),
            ("completed", 2),
            ("failed", 1),
            ("paused", 1)
        ]
    );
    let funnel: Vec<(&str, u32, u64, u64, u64)> = r
        .steps
        .iter()
        .map(|s| {
            (
                s.step_id.as_str(),
                s.position,
                s.delivered,
                s.completed,
                s.skipped,
            )
        })
        .collect();
    assert_eq!(funnel, [("hello", 1, 2, 0, 1), ("survey", 2, 2, 2, 0)]);

    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "total_enrollees",
        "active",
        "completed",
        "failed",
        "paused",
        "canceled",
        "average_completion_rate",
        "average_time_to_complete",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
}

#[test]
fn a_course_report_averages_progress_and_knows_nothing_of_time_without_completions() {
    let (store, _) = store();
    store
        .create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
    let empty = store.report(&Actor::System, "crs").unwrap();
    assert_eq!(
        (
            empty.total_enrollees,
            empty.average_completion_rate,
            empty.average_time_to_complete
        ),
        (0, 0.0, None)
    );
    assert!(empty.by_status.is_empty() && empty.steps.is_empty());
    for (i, p) in [10.0, 30.0, 50.0].into_iter().enumerate() {
        let e = store
            .enroll(&Actor::Admin, &EnrollRequest::new(format!("u{i}"), "crs"))
            .unwrap();
        store.set_progress(&Actor::Admin, &e.id, p).unwrap();
        if i == 2 {
            store
                .transition(&Actor::Admin, &e.id, &Command::Drop)
                .unwrap();
        }
    }
    let r = store.report(&Actor::Admin, "crs").unwrap();
    assert_eq!((r.total_enrollees, r.active, r.canceled), (3, 2, 1));
    assert_eq!(r.average_completion_rate, 30.0);
    assert_eq!(r.average_time_to_complete, None);
    assert_eq!(r.by_status.get("dropped"), Some(&1));
    assert_eq!(r.by_status.get("active"), Some(&2));
}

#[test]
fn reports_are_for_admins_and_the_system_and_name_bad_input() {
    let (store, _) = store();
    store
        .create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
    let learner = Actor::Learner("u0".into());
    assert_eq!(
        store.report(&learner, "crs").unwrap_err().code(),
        ErrorCode::PermissionDenied
    );
    assert_eq!(
        store.report(&Actor::Admin, "nope").unwrap_err().code(),
        ErrorCode::NotFound
    );
    match store.report(&Actor::Admin, "").unwrap_err() {
        Error::Validation { field, .. } => assert_eq!(field, "program_id"),
        other => panic!("{other:?}"),
    }
}
