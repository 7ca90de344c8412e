//! Erasure on request (issue #25, point 6): `erase_user` deletes a person with their
//! enrollments, step progress and attempts, scrubs them from the history, frees their seats,
//! and leaves no trace of their id, email or name in a full export, nor (after `compact`) in
//! the SQLite file or its WAL. On SQLite and PostgreSQL.

use enrollkit::*;

mod support;

const ID: &str = "vic_9f3k2q";
const EMAIL: &str = "victim.9f3k2q@example.com";
const NAME: &str = "Vicky Ninefthree";

fn with_people(store: &Store) -> (Vec<String>, String) {
    store
        .upsert_user(&User {
            id: ID.into(),
            email: Some(EMAIL.into()),
            display_name: Some(NAME.into()),
            ..User::default()
        })
        .unwrap();
    let others: Vec<User> = ["o1", "o2", "o3"]
        .iter()
        .map(|id| User {
            id: (*id).into(),
            manager_id: Some(ID.into()),
            ..User::default()
        })
        .collect();
    store.upsert_users(&others).unwrap();
    let seats = Policy {
        capacity: Some(1),
        waitlist: true,
        ..Policy::default()
    };
    store
        .create_program(&ProgramSpec {
            policy: seats,
            ..ProgramSpec::course("seat", "One seat")
        })
        .unwrap();
    store
        .create_program(&ProgramSpec {
            kind: Kind::Certification,
            assessment: Some(Assessment {
                passing_score: 80.0,
                max_attempts: None,
            }),
            ..ProgramSpec::course("cert", "Cert")
        })
        .unwrap();
    let admin = Actor::Admin;
    let learner = Actor::Learner(ID.into());
    let mut mine = Vec::new();
    let seat = store
        .enroll(&learner, &EnrollRequest::new(ID, "seat"))
        .unwrap();
    mine.push(seat.id.clone());
    store.set_progress(&learner, &seat.id, 40.0).unwrap();
    let waiting = store
        .enroll(&admin, &EnrollRequest::new("o1", "seat"))
        .unwrap();
    assert_eq!(waiting.status, Status::Waitlisted);
    let cert = store
        .enroll(&admin, &EnrollRequest::new(ID, "cert"))
        .unwrap();
    store.submit_attempt(&learner, &cert.id, 61.5).unwrap();
    mine.push(cert.id);
    // Others' records that name the person: who enrolled them, their mentor, free text.
    let o2 = store
        .enroll(
            &admin,
            &EnrollRequest {
                added_by_user_id: Some(ID.into()),
                ..EnrollRequest::new("o2", "cert")
            },
        )
        .unwrap();
    store.assign_mentor(&admin, &o2.id, Some(ID)).unwrap();
    let o3 = store
        .enroll(&admin, &EnrollRequest::new("o3", "cert"))
        .unwrap();
    store
        .transition(
            &admin,
            &o3.id,
            &Command::Fail {
                reason: FailureReason::UnknownError,
                message: Some(format!("asked {NAME} ({EMAIL}) to review")),
            },
        )
        .unwrap();
    (mine, waiting.id)
}

fn export(store: &Store) -> String {
    let mut out = Vec::new();
    store.export_jsonl(&mut out, None).unwrap();
    String::from_utf8(out).unwrap()
}

fn assert_gone(what: &str, bytes: &[u8]) {
    for needle in [ID, EMAIL, NAME] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} found in {what}"
        );
    }
}

fn erase_on(store: &Store) {
    let (mine, waiting) = with_people(store);
    let before = export(store);
    assert!(before.contains(EMAIL) && before.contains(NAME));
    for actor in [Actor::System, Actor::Learner(ID.into())] {
        let err = store.erase_user(&actor, ID).unwrap_err();
        assert_eq!(err.code(), ErrorCode::PermissionDenied, "{err}");
    }
    let err = store.erase_user(&Actor::Admin, "nobody").unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert_eq!(export(store), before, "refusals change nothing");

    let erased = store.erase_user(&Actor::Admin, ID).unwrap();
    assert_eq!(erased.enrollments, 2);
    assert!(erased.tombstone.starts_with("erased_"), "{erased:?}");
    assert!(erased.events >= 4, "{erased:?}");
    assert_eq!(store.get_user(ID).unwrap_err().code(), ErrorCode::NotFound);
    for id in &mine {
        let err = store.get_enrollment(&Actor::Admin, id).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NotFound);
        // The history stays, in order, with the tombstone and no reasons.
        let history = store.history(&Actor::Admin, id).unwrap();
        assert!(!history.is_empty());
        for event in &history {
            assert_eq!(event.user_id, erased.tombstone);
            assert_eq!(event.reason, None);
            assert!(event.seq > 0);
        }
        assert!(history[0].to_status.is_some(), "statuses are kept");
    }
    // The freed seat went to the waitlist in the same transaction.
    let promoted = store.get_enrollment(&Actor::Admin, &waiting).unwrap();
    assert_eq!(promoted.status, Status::Active);
    // One user_erased event in the feed, naming the tombstone.
    let feed = store.events_after(&Actor::Admin, 0, 1000).unwrap();
    let erasures: Vec<&Event> = feed.iter().filter(|e| e.action == "user_erased").collect();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0].user_id, erased.tombstone);
    assert_eq!(erasures[0].actor, "admin");
    // Others no longer name the person.
    assert_eq!(store.get_user("o1").unwrap().manager_id, None);
    let after = export(store);
    assert_gone("the export", after.as_bytes());
    assert!(store.check_invariants().unwrap().is_empty());
    store.compact().unwrap();
}

#[test]
fn erasing_a_person_leaves_nothing_of_them_in_the_export_the_file_or_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erase.db");
    let store = Store::open(&path).unwrap();
    erase_on(&store);
    assert_gone("the database file", &std::fs::read(&path).unwrap());
    let wal = dir.path().join("erase.db-wal");
    if wal.exists() {
        assert_gone("the WAL", &std::fs::read(&wal).unwrap());
    }
    drop(store);
    assert_gone("the closed database file", &std::fs::read(&path).unwrap());
    if let Some(base) = support::postgres() {
        let store = Store::open(support::fresh_database(&base)).unwrap();
        erase_on(&store);
    }
}
