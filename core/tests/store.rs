//! Opening files, refusing bad ones, threads, and busy handling.

use std::sync::Arc;
use std::time::Duration;

use enrollkit::*;

fn setup(store: &Store, users: usize) {
    for i in 0..users {
        store
            .upsert_user(&User {
                id: format!("u{i}"),
                ..User::default()
            })
            .unwrap();
    }
    store
        .create_program(&ProgramSpec::course("crs", "Course"))
        .unwrap();
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    let id = {
        let store = Store::open(&path).unwrap();
        setup(&store, 1);
        let e = store
            .enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
            .unwrap();
        store.set_progress(&Actor::Admin, &e.id, 30.0).unwrap();
        e.id
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let e = store.get_enrollment(&Actor::Admin, &id).unwrap();
    assert_eq!(e.progress_percent, 30.0);
    assert_eq!(store.history(&Actor::Admin, &id).unwrap().len(), 2);
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert_eq!(err.code(), "corrupt", "{err}");
    // The SQLite error is kept, behind the failure's description.
    let failure = std::error::Error::source(&err).expect("a failure");
    let sqlite = failure.source().expect("the SQLite error");
    assert!(
        sqlite.downcast_ref::<rusqlite::Error>().is_some(),
        "{sqlite:?}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file is untouched"
    );
    assert!(!dir.path().join("notes.db-wal").exists());
}

#[test]
fn a_foreign_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    assert_eq!(Store::open(&path).unwrap_err().code(), "corrupt");
    let body: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(body, "keep me");
}

#[test]
fn a_newer_schema_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 3)
        .unwrap();
    match Store::open(&path).unwrap_err() {
        Error::SchemaTooNew { found, supported } => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 3, SCHEMA_VERSION))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_file_is_an_error_without_create() {
    let dir = tempfile::tempdir().unwrap();
    let err = OpenOptions::new()
        .create(false)
        .open(dir.path().join("missing.db"))
        .unwrap_err();
    assert_eq!(err.code(), "storage");
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn concurrent_duplicate_enrolls_create_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("c.db")).unwrap());
    setup(&store, 1);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let created: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created.len(), 1);
    for r in &results {
        if let Err(Error::AlreadyEnrolled { existing_id, .. }) = r {
            assert_eq!(existing_id, &created[0].id);
        } else {
            assert!(r.is_ok(), "{r:?}");
        }
    }
}

#[test]
fn two_stores_on_one_file_share_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = Store::open(&path).unwrap();
    let b = Store::open(&path).unwrap();
    setup(&a, 1);
    let e = a
        .enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
        .unwrap();
    let err = b
        .enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
        .unwrap_err();
    assert_eq!(err.code(), "already_enrolled");
    b.set_progress(&Actor::Admin, &e.id, 100.0).unwrap();
    assert_eq!(
        a.get_enrollment(&Actor::Admin, &e.id)
            .unwrap()
            .status_name(),
        "completed"
    );
}

#[test]
fn many_threads_progress_without_losing_updates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("t.db")).unwrap());
    setup(&store, 16);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in (t..16).step_by(4) {
                    let me = Actor::Learner(format!("u{i}"));
                    let e = store
                        .enroll(&me, &EnrollRequest::new(format!("u{i}"), "crs"))
                        .unwrap();
                    for p in [10.0, 50.0, 100.0] {
                        store.set_progress(&me, &e.id, p).unwrap();
                    }
                    let page = store.list_enrollments(&me, &ListQuery::default()).unwrap();
                    assert_eq!(page.items.len(), 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let all = store
        .list_enrollments(
            &Actor::Admin,
            &ListQuery {
                status: Some("completed".into()),
                pagination: Pagination::Page {
                    page: 1,
                    per_page: 100,
                },
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(all.items.len(), 16);
    assert_eq!(
        store.events_after(&Actor::Admin, 0, 1000).unwrap().len(),
        16 * 4
    );
    assert!(store.check_invariants().unwrap().is_empty());
}

#[test]
fn a_long_foreign_lock_is_a_busy_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let store = OpenOptions::new()
        .busy_timeout(Duration::from_millis(50))
        .open(&path)
        .unwrap();
    setup(&store, 1);
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store
        .enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
        .unwrap_err();
    assert_eq!(err.code(), "busy", "{err}");
    // Readers are not blocked by the writer.
    assert!(store.get_program("crs").is_ok());
    blocker.execute_batch("ROLLBACK").unwrap();
    store
        .enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
        .unwrap();
}

#[test]
fn error_codes_are_stable_and_complete() {
    assert_eq!(ErrorCode::ALL.len(), 15);
    let samples = [
        Error::Busy("x".into()),
        Error::Storage("x".into()),
        Error::Corrupt("x".into()),
        Error::Conflict("x".into()),
        Error::PermissionDenied("x".into()),
        Error::EnrollmentClosed {
            program_id: "p".into(),
            opens_at: None,
            closed_at: Some(Timestamp::from_millis(0)),
        },
        Error::PrerequisitesNotMet {
            program_id: "p".into(),
            missing: vec!["q".into()],
        },
        Error::ProgramFull {
            program_id: "p".into(),
            capacity: 1,
        },
    ];
    for e in samples {
        assert!(ErrorCode::ALL.contains(&e.code()));
        assert_eq!(e.details()["code"], e.code().as_str());
    }
}

/// Run in a child process by `processes_share_one_file`: races the other children to enroll
/// the same ten users, then progresses whatever it created.
fn child(path: &str) {
    let store = Store::open(path).unwrap();
    let mut created = 0;
    for i in 0..10 {
        match store.enroll(&Actor::System, &EnrollRequest::new(format!("u{i}"), "crs")) {
            Ok(e) => {
                created += 1;
                store.set_progress(&Actor::System, &e.id, 100.0).unwrap();
            }
            Err(Error::AlreadyEnrolled { .. }) => {}
            Err(e) => panic!("child: {e}"),
        }
    }
    println!("created={created}");
}

#[test]
fn processes_share_one_file() {
    if let Ok(path) = std::env::var("ENROLLKIT_TEST_CHILD_DB") {
        return child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("procs.db");
    setup(&Store::open(&path).unwrap(), 10);
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "processes_share_one_file",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("ENROLLKIT_TEST_CHILD_DB", &path)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut created = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed");
        let text = String::from_utf8_lossy(&out.stdout);
        // The harness may print "test name ... " on the same line first.
        let n: usize = text
            .split("created=")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .expect("child reports")
            .parse()
            .unwrap();
        created += n;
    }
    assert_eq!(
        created, 10,
        "exactly one enrollment per user across processes"
    );
    let store = Store::open(&path).unwrap();
    let done = store
        .list_enrollments(
            &Actor::Admin,
            &ListQuery {
                status: Some("completed".into()),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(done.items.len(), 10);
    assert!(store.check_invariants().unwrap().is_empty());
}

#[test]
fn a_program_changed_elsewhere_is_seen_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    let a = Store::open(&path).unwrap();
    setup(&a, 5);
    let enroll = |store: &Store, actor: &Actor, user: &str| {
        store.enroll(actor, &EnrollRequest::new(user, "crs"))
    };
    // Store `a` has read (and may keep) the active, self-enrollable program.
    enroll(&a, &Actor::Admin, "u0").unwrap();
    let mut spec = a.get_program("crs").unwrap().spec;

    // Another connection pauses it: `a` refuses the next enrollment.
    let b = Store::open(&path).unwrap();
    spec.state = ProgramState::Paused;
    b.update_program(&spec).unwrap();
    let err = enroll(&a, &Actor::Admin, "u1").unwrap_err();
    assert_eq!(err.code(), "program_not_active");

    // It reactivates it without self-enrollment: `a` refuses a learner enrolling themself.
    spec.state = ProgramState::Active;
    spec.self_enrollment = false;
    b.update_program(&spec).unwrap();
    let learner = Actor::Learner("u2".into());
    assert_eq!(
        enroll(&a, &learner, "u2").unwrap_err().code(),
        "permission_denied"
    );
    enroll(&a, &Actor::Admin, "u2").unwrap();

    // A change through `a` itself is seen too, in batches as well.
    spec.state = ProgramState::Archived;
    a.update_program(&spec).unwrap();
    assert_eq!(
        enroll(&a, &Actor::Admin, "u3").unwrap_err().code(),
        "program_not_active"
    );
    let outcomes = a
        .enroll_many(
            &Actor::Admin,
            &[EnrollRequest::new("u4", "crs")],
            BatchMode::BestEffort,
        )
        .unwrap();
    assert!(
        matches!(&outcomes[0], EnrollOutcome::Failed(e) if e.code() == "program_not_active"),
        "{outcomes:?}"
    );
}

#[test]
fn concurrent_add_progress_loses_no_addition() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Arc::new(Store::open(&path).unwrap());
    setup(&store, 1);
    let id = store
        .enroll(&Actor::Admin, &EnrollRequest::new("u0", "crs"))
        .unwrap()
        .id;
    // Four threads on one store and two more stores (connections) on the same file.
    let stores = [
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        Arc::new(Store::open(&path).unwrap()),
        Arc::new(Store::open(&path).unwrap()),
    ];
    let handles: Vec<_> = stores
        .into_iter()
        .map(|s| {
            let id = id.clone();
            std::thread::spawn(move || {
                for _ in 0..15 {
                    s.add_progress(&Actor::Admin, &id, 1.0).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let e = store.get_enrollment(&Actor::Admin, &id).unwrap();
    assert_eq!((e.progress_percent, e.status), (90.0, Status::Active));
    assert_eq!(store.history(&Actor::Admin, &id).unwrap().len(), 1 + 90);
}

#[test]
fn emails_and_external_ids_belong_to_one_user() {
    let store = Store::open_in_memory().unwrap();
    let user = |id: &str, email: &str, external: &str| User {
        id: id.into(),
        email: Some(email.into()),
        external_id: Some(external.into()),
        ..User::default()
    };
    store.upsert_user(&user("a", "a@x.org", "A1")).unwrap();
    let clash = store.upsert_user(&user("b", "A@X.org", "B1")).unwrap_err();
    assert_eq!(clash.code(), "conflict");
    assert_eq!(
        clash.to_string(),
        "conflict: email \"A@X.org\" already belongs to user a"
    );
    let clash = store.upsert_user(&user("b", "b@x.org", "A1")).unwrap_err();
    assert!(
        clash
            .to_string()
            .ends_with("external_id \"A1\" already belongs to user a"),
        "{clash}"
    );
    // The user itself may keep (or re-case) its own.
    store.upsert_user(&user("a", "A@x.org", "A1")).unwrap();
    assert_eq!(
        store.get_user("a").unwrap().email.as_deref(),
        Some("A@x.org")
    );
}

#[test]
fn long_batches_refuse_unknown_users_and_programs_themselves() {
    // Batches of 256 rows and more run without SQLite's foreign-key checks: enroll_in's own
    // look-ups must refuse what those checks would have.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fk.db");
    let store = Store::open(&path).unwrap();
    setup(&store, 300);
    let mut requests: Vec<EnrollRequest> = (0..300)
        .map(|i| EnrollRequest::new(format!("u{i}"), "crs"))
        .collect();
    requests[100] = EnrollRequest::new("ghost", "crs");
    requests[200] = EnrollRequest::new("u200", "nope");
    let outcomes = store
        .enroll_many(&Actor::Admin, &requests, BatchMode::BestEffort)
        .unwrap();
    for (i, o) in outcomes.iter().enumerate() {
        match (i, o) {
            (100 | 200, EnrollOutcome::Failed(e)) => assert_eq!(e.code(), "not_found", "{i}"),
            (_, EnrollOutcome::Created(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(orphans, 0);
    let enrolled: i64 = conn
        .query_row("SELECT count(*) FROM enrollments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(enrolled, 298);
}

/// A store keeps the enrollments its own changes wrote, to change them again without reading
/// them: every change another connection commits, and every other write of the store itself,
/// must make it read them again.
#[test]
fn changes_start_from_what_the_database_holds_now() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.db");
    let a = Store::open(&path).unwrap();
    let b = Store::open(&path).unwrap();
    setup(&a, 3);
    let admin = Actor::Admin;
    let x = a
        .enroll(&admin, &EnrollRequest::new("u0", "crs"))
        .unwrap()
        .id;

    // Another connection's change.
    assert_eq!(
        a.add_progress(&admin, &x, 10.0).unwrap().progress_percent,
        10.0
    );
    assert_eq!(
        b.add_progress(&admin, &x, 20.0).unwrap().progress_percent,
        30.0
    );
    assert_eq!(
        a.add_progress(&admin, &x, 5.0).unwrap().progress_percent,
        35.0
    );
    assert_eq!(a.history(&admin, &x).unwrap().len(), 4);

    // Another connection's delete, then this store's own.
    let y = a
        .enroll(&admin, &EnrollRequest::new("u1", "crs"))
        .unwrap()
        .id;
    a.add_progress(&admin, &y, 10.0).unwrap();
    b.delete_enrollment(&admin, &y).unwrap();
    assert_eq!(
        a.add_progress(&admin, &y, 10.0).unwrap_err().code(),
        "not_found"
    );
    let z = a
        .enroll(&admin, &EnrollRequest::new("u2", "crs"))
        .unwrap()
        .id;
    a.add_progress(&admin, &z, 10.0).unwrap();
    a.delete_enrollment(&admin, &z).unwrap();
    assert_eq!(
        a.add_progress(&admin, &z, 10.0).unwrap_err().code(),
        "not_found"
    );

    // A refused change leaves the enrollment as the database holds it.
    a.set_progress(&admin, &x, 100.0).unwrap();
    assert_eq!(
        a.add_progress(&admin, &x, 1.0).unwrap_err().code(),
        "invalid_transition"
    );
    assert_eq!(
        a.get_enrollment(&admin, &x).unwrap().status_name(),
        "completed"
    );

    // Programs: a passing score changed by the other connection, then by this store.
    let cert = |passing_score: f64| ProgramSpec {
        kind: Kind::Certification,
        assessment: Some(Assessment {
            passing_score,
            max_attempts: Some(5),
        }),
        ..ProgramSpec::course("cert", "Certification")
    };
    a.create_program(&cert(80.0)).unwrap();
    let c = a
        .enroll(&admin, &EnrollRequest::new("u0", "cert"))
        .unwrap()
        .id;
    assert_eq!(
        a.submit_attempt(&admin, &c, 70.0).unwrap().1.passed,
        Some(false)
    );
    b.update_program(&cert(75.0)).unwrap();
    assert_eq!(
        a.submit_attempt(&admin, &c, 74.0).unwrap().1.passed,
        Some(false)
    );
    a.update_program(&cert(60.0)).unwrap();
    let (e, attempt) = a.submit_attempt(&admin, &c, 65.0).unwrap();
    assert_eq!(attempt.passed, Some(true), "{attempt:?}");
    assert_eq!((e.attempts, e.best_score), (3, Some(74.0)));
}

/// Batches of 256 rows and more write their new enrollments several to a statement, after
/// the rows were accepted: a refusal SQLite makes only then (here an application's trigger)
/// fails the whole call and leaves nothing written, as in a short batch.
#[test]
fn a_refusal_when_a_batch_writes_fails_the_call_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trigger.db");
    let store = Store::open(&path).unwrap();
    setup(&store, 300);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER no_u150 BEFORE INSERT ON enrollments WHEN NEW.user_id = 'u150'
         BEGIN SELECT RAISE(ABORT, 'u150 may not enroll'); END;",
    )
    .unwrap();
    let requests: Vec<EnrollRequest> = (0..300)
        .map(|i| EnrollRequest::new(format!("u{i}"), "crs"))
        .collect();
    for rows in [&requests[..], &requests[140..160]] {
        let err = store
            .enroll_many(&Actor::Admin, rows, BatchMode::BestEffort)
            .unwrap_err();
        assert_eq!(err.code(), "storage", "{} rows: {err}", rows.len());
        assert!(err.to_string().contains("u150 may not enroll"), "{err}");
        let count = |table: &str| -> i64 {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!((count("enrollments"), count("events")), (0, 0));
    }
    // Without the trigger, the same batch enrolls every row.
    conn.execute_batch("DROP TRIGGER no_u150").unwrap();
    let outcomes = store
        .enroll_many(&Actor::Admin, &requests, BatchMode::BestEffort)
        .unwrap();
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, EnrollOutcome::Created(_))));
}

/// `check_invariants` finds each kind of damage done behind the engine's back, naming the
/// enrollment: the same invariants an import checks, plus history and SQLite's own checks.
#[test]
fn check_finds_every_broken_invariant_and_names_the_enrollment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("check.db");
    let store = Store::open(&path).unwrap();
    store
        .upsert_user(&User {
            id: "u".into(),
            ..User::default()
        })
        .unwrap();
    store
        .create_program(&ProgramSpec {
            id: "cert".into(),
            kind: Kind::Certification,
            title: "Cert".into(),
            description: None,
            state: ProgramState::Active,
            self_enrollment: false,
            steps: vec![Step {
                id: "s1".into(),
                step_type: "lesson".into(),
                title: "S1".into(),
                learner_completable: true,
                schedule: None,
            }],
            assessment: Some(Assessment {
                passing_score: 90.0,
                max_attempts: None,
            }),
            policy: Default::default(),
        })
        .unwrap();
    let e = store
        .enroll(&Actor::Admin, &EnrollRequest::new("u", "cert"))
        .unwrap();
    store.submit_attempt(&Actor::Admin, &e.id, 50.0).unwrap();
    assert_eq!(store.check_invariants().unwrap(), Vec::<String>::new());
    let damages = [
        ("UPDATE enrollments SET steps_completed = 1", "step counters"),
        ("UPDATE attempts SET number = 2", "numbered"),
        ("UPDATE enrollments SET best_score = 10", "best_score"),
        ("UPDATE enrollments SET resume_status = 1", "resume_status"),
        (
            "INSERT INTO step_progress (enrollment_rid, step_id, status) SELECT rid, 'nope', 0 FROM enrollments",
            "unknown or repeated",
        ),
        (
            "UPDATE events SET to_status = 'completed' WHERE seq = (SELECT max(seq) FROM events)",
            "history ends in",
        ),
        (
            "PRAGMA foreign_keys = OFF; DELETE FROM programs",
            "program cert is missing",
        ),
    ];
    let pristine = dir.path().join("pristine.db");
    store.backup(&pristine).unwrap();
    drop(store);
    for (i, (sql, expected)) in damages.into_iter().enumerate() {
        let damaged = dir.path().join(format!("damaged{i}.db"));
        std::fs::copy(&pristine, &damaged).unwrap();
        let conn = rusqlite::Connection::open(&damaged).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let found = Store::open(&damaged).unwrap().check_invariants().unwrap();
        assert!(
            found
                .iter()
                .any(|l| l.starts_with(&e.id) && l.contains(expected)),
            "{sql}: {found:?}"
        );
    }
}

#[test]
fn an_output_that_refuses_writes_is_a_storage_error_caused_by_its_io_error() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let store = Store::open_in_memory().unwrap();
    let err = store.export_jsonl(&mut Full, None).unwrap_err();
    assert_eq!(err.code(), "storage", "{err}");
    let Error::Storage(failure) = &err else {
        panic!("{err:?}")
    };
    assert!(
        failure.message().starts_with("cannot write the export"),
        "{failure}"
    );
    let io = std::error::Error::source(failure).expect("the I/O error");
    let io = io.downcast_ref::<std::io::Error>().expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::StorageFull);
}
