//! Enrollment policies (issue #25): windows, prerequisites and partner users, on SQLite and
//! PostgreSQL, with the manual clock. A refused enrollment changes nothing.

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

fn course(id: &str, policy: Policy) -> ProgramSpec {
    ProgramSpec {
        policy,
        ..ProgramSpec::course(id, id)
    }
}

fn users(store: &Store, ids: &[&str]) {
    let users: Vec<User> = ids
        .iter()
        .map(|id| User {
            id: (*id).into(),
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
}

/// What a refused call must leave as it was.
fn snapshot(store: &Store) -> (RecordCounts, usize) {
    let events = store.events_after(&Actor::Admin, 0, 1000).unwrap().len();
    (store.stats().unwrap(), events)
}

#[test]
fn enrolling_is_refused_outside_the_programs_window() {
    for (store, clock) in stores("2026-03-01T00:00:00Z") {
        let window = Policy {
            enroll_opens_at: Some(at("2026-04-01T00:00:00Z")),
            enroll_closes_at: Some(at("2026-05-01T00:00:00Z")),
            ..Policy::default()
        };
        store
            .create_program(&course("spring", window.clone()))
            .unwrap();
        users(&store, &["u1", "u2"]);
        let before = snapshot(&store);
        let early = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u1", "spring"))
            .unwrap_err();
        assert_eq!(early.code(), ErrorCode::EnrollmentClosed, "{early}");
        assert_eq!(
            early.to_string(),
            "enrollment in spring opens at 2026-04-01T00:00:00.000Z"
        );
        assert_eq!(early.details()["opens_at"], "2026-04-01T00:00:00.000Z");
        assert_eq!(early.details()["closed_at"], serde_json::Value::Null);
        assert_eq!(snapshot(&store), before);
        clock.set(at("2026-04-01T00:00:00Z"));
        store
            .enroll(&Actor::Admin, &EnrollRequest::new("u1", "spring"))
            .unwrap();
        clock.set(at("2026-05-01T00:00:00Z"));
        let late = store
            .enroll(
                &Actor::Learner("u2".into()),
                &EnrollRequest::new("u2", "spring"),
            )
            .unwrap_err();
        assert_eq!(late.code(), ErrorCode::EnrollmentClosed, "{late}");
        assert_eq!(late.details()["closed_at"], "2026-05-01T00:00:00.000Z");
        // Batches refuse the row, and the policy is the program's: stored, read, exported.
        let outcomes = store
            .enroll_many(
                &Actor::Admin,
                &[EnrollRequest::new("u2", "spring")],
                BatchMode::BestEffort,
            )
            .unwrap();
        assert!(
            matches!(&outcomes[0], EnrollOutcome::Failed(e) if e.code() == ErrorCode::EnrollmentClosed)
        );
        assert_eq!(store.get_program("spring").unwrap().policy, window);
        let mut export = Vec::new();
        store.export_jsonl(&mut export, None).unwrap();
        let export = String::from_utf8(export).unwrap();
        assert!(
            export.contains(r#""enroll_opens_at":"2026-04-01T00:00:00.000Z""#),
            "{export}"
        );
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn policies_are_checked_and_absent_from_programs_without_them() {
    for (store, _) in stores("2026-03-01T00:00:00Z") {
        store
            .create_program(&course("plain", Policy::default()))
            .unwrap();
        let json = serde_json::to_value(store.get_program("plain").unwrap()).unwrap();
        assert!(json.get("policy").is_none(), "{json}");
        let cases = [
            (
                Policy {
                    enroll_opens_at: Some(at("2026-05-01T00:00:00Z")),
                    enroll_closes_at: Some(at("2026-04-01T00:00:00Z")),
                    ..Policy::default()
                },
                "enroll_closes_at",
            ),
            (
                Policy {
                    deadline: Some(Deadline::AfterDays(0)),
                    ..Policy::default()
                },
                "deadline",
            ),
            (
                Policy {
                    capacity: Some(0),
                    ..Policy::default()
                },
                "capacity",
            ),
            (
                Policy {
                    waitlist: true,
                    ..Policy::default()
                },
                "waitlist",
            ),
            (
                Policy {
                    prerequisites: vec!["bad".into()],
                    ..Policy::default()
                },
                "prerequisites",
            ),
            (
                Policy {
                    prerequisites: vec!["plain".into(), "plain".into()],
                    ..Policy::default()
                },
                "prerequisites",
            ),
        ];
        for (policy, field) in cases {
            let err = store.create_program(&course("bad", policy)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Validation, "{err}");
            assert_eq!(err.details()["field"], field, "{err}");
        }
        // A prerequisite that does not exist, or a requirement of itself through others.
        let missing = Policy {
            prerequisites: vec!["nope".into()],
            ..Policy::default()
        };
        let err = store.create_program(&course("x", missing)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
        let needs = |p: &str| Policy {
            prerequisites: vec![p.into()],
            ..Policy::default()
        };
        store.create_program(&course("a", needs("plain"))).unwrap();
        store.create_program(&course("b", needs("a"))).unwrap();
        let cycle = store
            .update_program(&course("plain", needs("b")))
            .unwrap_err();
        assert_eq!(cycle.code(), ErrorCode::Validation, "{cycle}");
        assert!(store.get_program("x").is_err());
    }
}

#[test]
fn prerequisites_must_be_completed_unless_an_admin_overrides_them() {
    for (store, _) in stores("2026-03-01T00:00:00Z") {
        store
            .create_program(&course("intro", Policy::default()))
            .unwrap();
        store
            .create_program(&course("basics", Policy::default()))
            .unwrap();
        let advanced = Policy {
            prerequisites: vec!["intro".into(), "basics".into()],
            ..Policy::default()
        };
        store.create_program(&course("advanced", advanced)).unwrap();
        users(&store, &["u1", "u2"]);
        let learner = Actor::Learner("u1".into());
        let intro = store
            .enroll(&learner, &EnrollRequest::new("u1", "intro"))
            .unwrap();
        store.set_progress(&learner, &intro.id, 100.0).unwrap();
        // Basics only started: still missing.
        let basics = store
            .enroll(&learner, &EnrollRequest::new("u1", "basics"))
            .unwrap();
        let before = snapshot(&store);
        let err = store
            .enroll(&learner, &EnrollRequest::new("u1", "advanced"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::PrerequisitesNotMet, "{err}");
        assert_eq!(err.details()["missing"], serde_json::json!(["basics"]));
        assert_eq!(snapshot(&store), before);
        store.set_progress(&learner, &basics.id, 100.0).unwrap();
        store
            .enroll(&learner, &EnrollRequest::new("u1", "advanced"))
            .unwrap();
        // u2 has none: an admin overrides, with a reason the history keeps; nobody else may.
        let err = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u2", "advanced"))
            .unwrap_err();
        assert_eq!(
            err.details()["missing"],
            serde_json::json!(["intro", "basics"])
        );
        let overriding = EnrollRequest {
            override_prerequisites: Some("transfer credit from another school".into()),
            ..EnrollRequest::new("u2", "advanced")
        };
        for actor in [Actor::System, Actor::Learner("u2".into())] {
            let err = store.enroll(&actor, &overriding).unwrap_err();
            assert_eq!(err.code(), ErrorCode::PermissionDenied, "{err}");
        }
        let blank = EnrollRequest {
            override_prerequisites: Some(" ".into()),
            ..EnrollRequest::new("u2", "advanced")
        };
        let err = store.enroll(&Actor::Admin, &blank).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Validation, "{err}");
        let e = store.enroll(&Actor::Admin, &overriding).unwrap();
        let history = store.history(&Actor::Admin, &e.id).unwrap();
        assert_eq!(
            history[0].reason.as_deref(),
            Some("manual_user_trigger; prerequisites overridden: transfer credit from another school")
        );
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn a_partner_user_enrolls_in_a_certification_with_one_of_their_partnerships() {
    for (store, _) in stores("2026-03-01T00:00:00Z") {
        let cert = ProgramSpec {
            kind: Kind::Certification,
            ..ProgramSpec::course("cert", "Cert")
        };
        store.create_program(&cert).unwrap();
        store
            .create_program(&course("crs", Policy::default()))
            .unwrap();
        store
            .upsert_user(&User {
                id: "partner".into(),
                partnerships: vec!["prt_a".into(), "prt_b".into()],
                ..User::default()
            })
            .unwrap();
        users(&store, &["plain"]);
        assert_eq!(
            store.get_user("partner").unwrap().partnerships,
            ["prt_a", "prt_b"]
        );
        let with = |user: &str, p: Option<&str>| EnrollRequest {
            partnership_id: p.map(str::to_owned),
            ..EnrollRequest::new(user, "cert")
        };
        let before = snapshot(&store);
        for p in [None, Some("prt_other")] {
            let err = store
                .enroll(&Actor::Admin, &with("partner", p))
                .unwrap_err();
            assert_eq!(err.code(), ErrorCode::Validation, "{err}");
            assert_eq!(err.details()["field"], "partnership_id");
        }
        assert_eq!(snapshot(&store), before);
        let e = store
            .enroll(&Actor::Admin, &with("partner", Some("prt_b")))
            .unwrap();
        assert_eq!(e.partnership_id.as_deref(), Some("prt_b"));
        // Other users may give a partnership or none; courses do not ask.
        store.enroll(&Actor::Admin, &with("plain", None)).unwrap();
        store
            .enroll(&Actor::Admin, &EnrollRequest::new("partner", "crs"))
            .unwrap();
        // Partnerships are checked ids.
        let bad = store
            .upsert_user(&User {
                id: "x".into(),
                partnerships: vec![" ".into()],
                ..User::default()
            })
            .unwrap_err();
        assert_eq!(bad.details()["field"], "partnerships");
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn expire_due_ends_enrollments_past_their_deadline_in_each_vocabulary() {
    for (store, clock) in stores("2026-03-01T00:00:00Z") {
        let in_days = Policy {
            deadline: Some(Deadline::AfterDays(30)),
            ..Policy::default()
        };
        let fixed = Policy {
            deadline: Some(Deadline::At(at("2026-03-15T00:00:00Z"))),
            ..Policy::default()
        };
        store
            .create_program(&course("crs", in_days.clone()))
            .unwrap();
        store
            .create_program(&ProgramSpec {
                kind: Kind::Certification,
                policy: fixed,
                ..ProgramSpec::course("cert", "Cert")
            })
            .unwrap();
        let track = ProgramSpec {
            kind: Kind::Track,
            steps: vec![Step {
                id: "s".into(),
                step_type: "message".into(),
                title: "S".into(),
                learner_completable: false,
                schedule: None,
            }],
            policy: in_days,
            ..ProgramSpec::course("trk", "Track")
        };
        store.create_program(&track).unwrap();
        store
            .create_program(&course("plain", Policy::default()))
            .unwrap();
        users(&store, &["u1", "u2", "u3"]);
        let enroll = |user: &str, program: &str| {
            store
                .enroll(&Actor::Admin, &EnrollRequest::new(user, program))
                .unwrap()
        };
        let c1 = enroll("u1", "crs");
        assert_eq!(c1.deadline_at, Some(at("2026-03-31T00:00:00Z")));
        let cert = enroll("u1", "cert");
        assert_eq!(cert.deadline_at, Some(at("2026-03-15T00:00:00Z")));
        let t1 = enroll("u1", "trk");
        let plain = enroll("u1", "plain");
        assert_eq!(plain.deadline_at, None);
        // u2 finishes in time; u3 drops (a dropped course waits for its reactivation).
        let c2 = enroll("u2", "crs");
        store.set_progress(&Actor::Admin, &c2.id, 100.0).unwrap();
        let c3 = enroll("u3", "crs");
        store
            .transition(&Actor::Admin, &c3.id, &Command::Drop)
            .unwrap();
        // Nothing is due yet; learners may not sweep.
        assert!(store.expire_due(&Actor::System, 100).unwrap().is_empty());
        let learner = store
            .expire_due(&Actor::Learner("u1".into()), 100)
            .unwrap_err();
        assert_eq!(learner.code(), ErrorCode::PermissionDenied);
        let zero = store.expire_due(&Actor::System, 0).unwrap_err();
        assert_eq!(zero.code(), ErrorCode::Validation);
        clock.set(at("2026-03-15T00:00:00Z"));
        assert_eq!(
            store.expire_due(&Actor::System, 100).unwrap(),
            std::slice::from_ref(&cert.id)
        );
        clock.set(at("2026-04-01T00:00:00Z"));
        let expired = store.expire_due(&Actor::System, 1).unwrap();
        assert_eq!(expired.len(), 1, "at most the limit");
        let rest = store.expire_due(&Actor::System, 100).unwrap();
        let mut all: Vec<String> = expired.into_iter().chain(rest).collect();
        all.sort();
        let mut expected = vec![c1.id.clone(), t1.id.clone()];
        expected.sort();
        assert_eq!(all, expected);
        let get = |id: &str| store.get_enrollment(&Actor::Admin, id).unwrap();
        assert_eq!(get(&c1.id).status_name(), "expired");
        let cert = get(&cert.id);
        assert_eq!(
            (cert.status_name(), cert.failure_reason),
            ("failed", Some(FailureReason::DeadlinePassed))
        );
        let t1 = get(&t1.id);
        assert_eq!(
            (t1.status_name(), t1.failure_reason, t1.next_step_at),
            ("failed", Some(FailureReason::DeadlinePassed), None)
        );
        assert_eq!(get(&c2.id).status_name(), "completed");
        assert_eq!(get(&c3.id).status_name(), "dropped");
        let history = store.history(&Actor::Admin, &c1.id).unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            (last.action.as_str(), last.reason.as_deref()),
            ("expire", Some("deadline=2026-03-31T00:00:00.000Z"))
        );
        // An expired course is closed: the learner may enroll again, with a new deadline.
        let again = enroll("u1", "crs");
        assert_eq!(again.deadline_at, Some(at("2026-05-01T00:00:00Z")));
        assert!(store.expire_due(&Actor::System, 100).unwrap().is_empty());
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn a_full_program_waitlists_first_come_first_served_and_promotes_in_the_same_transaction() {
    for (store, _) in stores("2026-03-01T00:00:00Z") {
        let seats = Policy {
            capacity: Some(2),
            waitlist: true,
            deadline: Some(Deadline::AfterDays(10)),
            ..Policy::default()
        };
        store.create_program(&course("crs", seats)).unwrap();
        let strict = Policy {
            capacity: Some(1),
            ..Policy::default()
        };
        store.create_program(&course("strict", strict)).unwrap();
        users(&store, &["u1", "u2", "u3", "u4", "u5"]);
        let enroll = |user: &str| {
            store
                .enroll(&Actor::Admin, &EnrollRequest::new(user, "crs"))
                .unwrap()
        };
        let seated: Vec<Enrollment> = ["u1", "u2"].iter().map(|u| enroll(u)).collect();
        assert!(seated.iter().all(|e| e.status == Status::Active));
        let waiting: Vec<Enrollment> = ["u3", "u4", "u5"].iter().map(|u| enroll(u)).collect();
        for (i, e) in waiting.iter().enumerate() {
            assert_eq!(e.status_name(), "waitlisted");
            assert_eq!(
                e.deadline_at, None,
                "a deadline in days starts at promotion"
            );
            let learner = Actor::Learner(e.user_id.clone());
            assert_eq!(
                store.waitlist_position(&learner, &e.id).unwrap(),
                Some(i as u32 + 1)
            );
        }
        assert_eq!(
            store
                .waitlist_position(&Actor::Admin, &seated[0].id)
                .unwrap(),
            None
        );
        let other = store
            .waitlist_position(&Actor::Learner("u1".into()), &waiting[0].id)
            .unwrap_err();
        assert_eq!(other.code(), ErrorCode::PermissionDenied);
        let listed: Vec<String> = store
            .waitlist(&Actor::Admin, "crs", 10)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        let ids: Vec<String> = waiting.iter().map(|e| e.id.clone()).collect();
        assert_eq!(listed, ids);
        // A waitlisted enrollment accepts no progress; u4 leaves the waitlist.
        let err = store
            .set_progress(&Actor::Admin, &waiting[0].id, 10.0)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidTransition, "{err}");
        store
            .transition(&Actor::Learner("u4".into()), &waiting[1].id, &Command::Drop)
            .unwrap();
        assert_eq!(
            store
                .waitlist_position(&Actor::Admin, &waiting[2].id)
                .unwrap(),
            Some(2)
        );
        // A seat frees: the head of the waitlist has it at once, with its event.
        store
            .transition(&Actor::Admin, &seated[0].id, &Command::Drop)
            .unwrap();
        let promoted = store.get_enrollment(&Actor::Admin, &waiting[0].id).unwrap();
        assert_eq!(promoted.status_name(), "active");
        assert_eq!(promoted.deadline_at, Some(at("2026-03-11T00:00:00Z")));
        let last = store
            .history(&Actor::Admin, &promoted.id)
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(
            (
                last.action.as_str(),
                last.from_status.as_deref(),
                last.to_status.as_deref()
            ),
            ("promote", Some("waitlisted"), Some("active"))
        );
        // The dropped one cannot come back while the program is full.
        let full = store
            .transition(&Actor::Admin, &seated[0].id, &Command::Reactivate)
            .unwrap_err();
        assert_eq!(full.code(), ErrorCode::ProgramFull, "{full}");
        // Completion and deletion free seats too; a larger capacity promotes at once.
        store
            .set_progress(&Actor::Admin, &seated[1].id, 100.0)
            .unwrap();
        assert_eq!(
            store
                .get_enrollment(&Actor::Admin, &waiting[2].id)
                .unwrap()
                .status_name(),
            "active"
        );
        assert!(store.waitlist(&Actor::Admin, "crs", 10).unwrap().is_empty());
        // Without a waitlist a full program refuses, changing nothing.
        store
            .enroll(&Actor::Admin, &EnrollRequest::new("u1", "strict"))
            .unwrap();
        let err = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u2", "strict"))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ProgramFull, "{err}");
        assert_eq!(err.details()["capacity"], 1);
        // Capacity changes: a smaller one keeps people seated; a larger one seats the
        // waitlist.
        let wider = Policy {
            capacity: Some(1),
            waitlist: true,
            ..Policy::default()
        };
        store.update_program(&course("strict", wider)).unwrap();
        let w = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u2", "strict"))
            .unwrap();
        assert_eq!(w.status_name(), "waitlisted");
        let more = Policy {
            capacity: Some(3),
            waitlist: true,
            ..Policy::default()
        };
        store.update_program(&course("strict", more)).unwrap();
        assert_eq!(
            store
                .get_enrollment(&Actor::Admin, &w.id)
                .unwrap()
                .status_name(),
            "active"
        );
        let err = store
            .waitlist(&Actor::Learner("u1".into()), "crs", 10)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::PermissionDenied);
        assert!(store.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn policies_waitlists_deadlines_and_partnerships_survive_an_export_and_import() {
    for (store, _) in stores("2026-03-01T00:00:00Z") {
        let every = Policy {
            enroll_opens_at: Some(at("2026-01-01T00:00:00Z")),
            enroll_closes_at: Some(at("2027-01-01T00:00:00Z")),
            deadline: Some(Deadline::AfterDays(30)),
            capacity: Some(1),
            waitlist: true,
            prerequisites: vec![],
        };
        store.create_program(&course("crs", every)).unwrap();
        store
            .upsert_user(&User {
                id: "p".into(),
                partnerships: vec!["prt_a".into()],
                ..User::default()
            })
            .unwrap();
        users(&store, &["u1"]);
        store
            .enroll(&Actor::Admin, &EnrollRequest::new("p", "crs"))
            .unwrap();
        let waiting = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u1", "crs"))
            .unwrap();
        assert_eq!(waiting.status, Status::Waitlisted);
        let mut first = Vec::new();
        store.export_jsonl(&mut first, None).unwrap();
        let copy = OpenOptions::new().open_in_memory().unwrap();
        let report = copy
            .import_jsonl(&mut first.as_slice(), BatchMode::AllOrNothing, None)
            .unwrap();
        assert!(report.errors.is_empty(), "{report:?}");
        let mut second = Vec::new();
        copy.export_jsonl(&mut second, None).unwrap();
        let strip = |bytes: &[u8]| -> Vec<String> {
            // The header line names the export's time.
            String::from_utf8(bytes.to_vec())
                .unwrap()
                .lines()
                .skip(1)
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(strip(&second), strip(&first));
        assert_eq!(
            copy.waitlist_position(&Actor::Admin, &waiting.id).unwrap(),
            Some(1)
        );
        assert_eq!(copy.get_user("p").unwrap().partnerships, ["prt_a"]);
        assert!(copy.check_invariants().unwrap().is_empty());
    }
}

#[test]
fn an_expiry_that_frees_a_seat_promotes_before_the_next_expiry_is_recorded() {
    for (store, clock) in stores("2026-03-01T00:00:00Z") {
        let policy = Policy {
            capacity: Some(1),
            waitlist: true,
            deadline: Some(Deadline::At(at("2026-03-10T00:00:00Z"))),
            ..Policy::default()
        };
        store.create_program(&course("crs", policy)).unwrap();
        users(&store, &["u1", "u2"]);
        let seated = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u1", "crs"))
            .unwrap();
        let waiting = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u2", "crs"))
            .unwrap();
        assert_eq!(waiting.status, Status::Waitlisted);
        clock.set(at("2026-03-10T00:00:00Z"));
        let expired = store.expire_due(&Actor::System, 10).unwrap();
        assert_eq!(expired, [seated.id.clone(), waiting.id.clone()]);
        let history: Vec<(String, Option<String>, Option<String>)> = store
            .history(&Actor::Admin, &waiting.id)
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.from_status, e.to_status))
            .collect();
        let s = |t: &str| Some(t.to_owned());
        assert_eq!(
            history,
            [
                ("enrolled".to_owned(), None, s("waitlisted")),
                ("promote".to_owned(), s("waitlisted"), s("active")),
                ("expire".to_owned(), s("active"), s("expired")),
            ]
        );
        assert!(store.check_invariants().unwrap().is_empty());
    }
}
