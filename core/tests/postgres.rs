//! What only a server database has to prove: races between connections of several threads
//! and processes,
//! a change feed that never skips while writers commit out of order, and the schema checks of
//! opening. Skipped (saying so) with `ENROLLKIT_SKIP_POSTGRES=1`; run under `scripts/pg run`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use enrollkit::*;

mod support;

fn open(location: &str) -> Store {
    OpenOptions::new()
        .busy_timeout(Duration::from_secs(30))
        .open(location)
        .unwrap()
}

fn fresh() -> Option<(String, Store)> {
    let base = support::postgres()?;
    let location = support::fresh_database(&base);
    let store = open(&location);
    Some((location, store))
}

/// One round's enroll attempts of `u1` in `c1` from 4 threads, released together when the file
/// `go` appears; each outcome as `C id` (created) or `A id` (already enrolled in id).
fn enroll_at_once(location: &str, go: &std::path::Path) -> Vec<String> {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (location, go) = (location.to_owned(), go.to_owned());
            std::thread::spawn(move || {
                let store = open(&location);
                while !go.exists() {
                    std::thread::sleep(Duration::from_micros(200));
                }
                let req = EnrollRequest {
                    allow_reenroll: true,
                    ..EnrollRequest::new("u1", "c1")
                };
                match store.enroll(&Actor::Admin, &req) {
                    Ok(e) => format!("C {}", e.id),
                    Err(Error::AlreadyEnrolled { existing_id, .. }) => format!("A {existing_id}"),
                    Err(e) => panic!("{e:?}"),
                }
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn one_user_enrolled_by_four_processes_of_four_threads_at_once_gets_one_enrollment() {
    // A child process: its four threads' outcomes on stdout.
    if let (Ok(location), Ok(go)) = (
        std::env::var("ENROLLKIT_RACE_DB"),
        std::env::var("ENROLLKIT_RACE_GO"),
    ) {
        for line in enroll_at_once(&location, std::path::Path::new(&go)) {
            println!("\n{line}");
        }
        return;
    }
    let Some((location, store)) = fresh() else {
        return;
    };
    store
        .upsert_user(&User {
            id: "u1".into(),
            ..User::default()
        })
        .unwrap();
    store
        .create_program(&ProgramSpec::course("c1", "C"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let go = dir.path().join(format!("go{round}"));
        let children: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "one_user_enrolled_by_four_processes_of_four_threads_at_once_gets_one_enrollment",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env("ENROLLKIT_RACE_DB", &location)
                    .env("ENROLLKIT_RACE_GO", &go)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        // Every child has connected by then; all 16 threads then start at once.
        std::thread::sleep(Duration::from_millis(700));
        std::fs::write(&go, b"").unwrap();
        let mut outcomes = Vec::new();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: a child failed");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            outcomes.extend(
                text.lines()
                    .filter(|l| l.starts_with("C ") || l.starts_with("A "))
                    .map(str::to_owned),
            );
        }
        assert_eq!(outcomes.len(), 16, "round {round}: {outcomes:?}");
        let created: Vec<&str> = outcomes
            .iter()
            .filter_map(|o| o.strip_prefix("C "))
            .collect();
        assert_eq!(created.len(), 1, "round {round}: {outcomes:?}");
        for o in &outcomes {
            assert_eq!(&o[2..], created[0], "round {round}: every refusal names it");
        }
        store
            .transition(&Actor::Admin, created[0], &Command::Progress(100.0))
            .unwrap();
    }
    assert!(store.check_invariants().unwrap().is_empty());
    assert_eq!(store.stats().unwrap().enrollments, 3);
}

/// Writer `w`'s work in the change-feed race: its users enrolled and their progress added,
/// two events each; returns the events written.
fn write_feed(location: &str, w: usize) -> usize {
    let store = open(location);
    let mut written = 0;
    for i in 0..FEED_ENROLLMENTS {
        let request = EnrollRequest::new(format!("u{w}_{i}"), "c1");
        let e = store.enroll(&Actor::Admin, &request).unwrap();
        store.add_progress(&Actor::Admin, &e.id, 10.0).unwrap();
        written += 2;
    }
    written
}

const FEED_ENROLLMENTS: usize = 60;
/// Writer threads in the test's process, and writer processes (two threads each).
const FEED_THREADS: usize = 6;
const FEED_PROCESSES: usize = 2;

#[test]
fn the_change_feed_shows_every_event_once_in_order_while_writers_race() {
    // A child process: two writers, then the number of events they wrote on stdout.
    if let (Ok(location), Ok(first)) = (
        std::env::var("ENROLLKIT_FEED_DB"),
        std::env::var("ENROLLKIT_FEED_WRITER"),
    ) {
        let first: usize = first.parse().unwrap();
        let threads: Vec<_> = (first..first + 2)
            .map(|w| {
                let location = location.clone();
                std::thread::spawn(move || write_feed(&location, w))
            })
            .collect();
        let written: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        println!("\nwritten {written}");
        return;
    }
    let Some((location, store)) = fresh() else {
        return;
    };
    const WRITERS: usize = FEED_THREADS + 2 * FEED_PROCESSES;
    const ENROLLMENTS: usize = FEED_ENROLLMENTS;
    for w in 0..WRITERS {
        store
            .upsert_users(
                &(0..ENROLLMENTS)
                    .map(|i| User {
                        id: format!("u{w}_{i}"),
                        ..User::default()
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap();
    }
    store
        .create_program(&ProgramSpec::course("c1", "C"))
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let processes: Vec<_> = (0..FEED_PROCESSES)
        .map(|p| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "the_change_feed_shows_every_event_once_in_order_while_writers_race",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("ENROLLKIT_FEED_DB", &location)
                .env("ENROLLKIT_FEED_WRITER", (FEED_THREADS + 2 * p).to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let writers: Vec<_> = (0..FEED_THREADS)
        .map(|w| {
            let location = location.clone();
            std::thread::spawn(move || write_feed(&location, w))
        })
        .collect();
    let reader = {
        let (location, done) = (location.clone(), done.clone());
        std::thread::spawn(move || {
            let store = open(&location);
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = store.events_after(&Actor::Admin, after, 100).unwrap();
                if let Some(last) = page.last() {
                    after = last.seq;
                }
                let empty = page.is_empty();
                seen.extend(page.into_iter().map(|e| e.seq));
                if finished && empty {
                    return seen;
                }
            }
        })
    };
    let mut written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    for p in processes {
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer process failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find_map(|l| l.strip_prefix("written "));
        written += line.expect("the writer's count").parse::<usize>().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events_after(&Actor::Admin, after, 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page.into_iter().map(|e| e.seq));
    }
    assert_eq!(all.len(), written);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "each once"
    );
    assert_eq!(seen, all, "the tailing reader saw every event");
}

#[test]
fn a_newer_schema_is_refused_and_a_foreign_database_is_left_alone() {
    let Some(base) = support::postgres() else {
        return;
    };
    let location = support::fresh_database(&base);
    drop(open(&location));
    let mut client = postgres::Client::connect(&location, postgres::NoTls).unwrap();
    client
        .batch_execute("UPDATE enrollkit_schema SET version = 99")
        .unwrap();
    let err = OpenOptions::new().open(&location).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SchemaTooNew, "{err}");

    let foreign = support::fresh_database(&base);
    let mut client = postgres::Client::connect(&foreign, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('keep me')")
        .unwrap();
    let err = OpenOptions::new().open(&foreign).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");
    let kept: String = client
        .query_one("SELECT name FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, "keep me");

    let err = OpenOptions::new()
        .open("postgres://nobody@/db?port=notanumber")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");

    // A database that does not exist is said so at once, not after the pool's timeout.
    let started = std::time::Instant::now();
    let missing = support::with_database(&base, "no_such_database");
    let err = OpenOptions::new().open(&missing).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Storage, "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_store_opened_read_only_reads_and_refuses_writes() {
    let Some((location, store)) = fresh() else {
        return;
    };
    store
        .create_program(&ProgramSpec::course("c1", "C"))
        .unwrap();
    let reader = OpenOptions::new().read_only(true).open(&location).unwrap();
    assert_eq!(reader.get_program("c1").unwrap().id, "c1");
    let err = reader
        .create_program(&ProgramSpec::course("c2", "C"))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Storage, "{err}");
    assert_eq!(store.stats().unwrap().programs, 1);
    assert_eq!(reader.path(), None);
}

/// The mechanism behind the feed's order, checked directly: an event append waits for the
/// transaction lock that every event-appending transaction holds until it ends. The key is
/// the backend's `EVENTS_LOCK`: this test fails when they drift. (Without the lock, this test
/// and the race above both fail.)
#[test]
fn an_event_append_waits_for_the_transaction_that_holds_the_event_lock() {
    let Some((location, store)) = fresh() else {
        return;
    };
    store
        .upsert_user(&User {
            id: "u1".into(),
            ..User::default()
        })
        .unwrap();
    store
        .create_program(&ProgramSpec::course("c1", "C"))
        .unwrap();
    let mut client = postgres::Client::connect(&location, postgres::NoTls).unwrap();
    let mut holder = client.transaction().unwrap();
    holder
        .execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&0x656e_726f_6c6c_0002_i64],
        )
        .unwrap();
    let (sent, enrolled) = std::sync::mpsc::channel();
    let writer = {
        let location = location.clone();
        std::thread::spawn(move || {
            let store = open(&location);
            let e = store.enroll(&Actor::Admin, &EnrollRequest::new("u1", "c1"));
            sent.send(()).unwrap();
            e
        })
    };
    assert!(
        enrolled.recv_timeout(Duration::from_millis(500)).is_err(),
        "the enrollment's event did not wait for the lock"
    );
    holder.commit().unwrap();
    enrolled.recv_timeout(Duration::from_secs(10)).unwrap();
    writer.join().unwrap().unwrap();
}

/// `sslmode=require` connects over TLS and verifies the server's certificate: against the
/// test CA (`sslrootcert`, which `scripts/pg` makes) it works; against a file that does not
/// hold the CA it is refused, before anything is read or written.
#[test]
fn sslmode_require_connects_over_tls_and_verifies_the_server() {
    let Some(base) = support::postgres() else {
        return;
    };
    let tls = std::env::var("ENROLLKIT_TEST_POSTGRES_TLS")
        .expect("scripts/pg sets ENROLLKIT_TEST_POSTGRES_TLS beside ENROLLKIT_TEST_POSTGRES");
    let local = support::fresh_database(&base);
    let name = local.rsplit("dbname=").next().unwrap();
    let over_tls = support::with_database(&tls, name);
    let store = open(&over_tls);
    store
        .create_program(&ProgramSpec::course("c1", "C"))
        .unwrap();
    assert_eq!(open(&local).get_program("c1").unwrap().id, "c1");

    // The server's own certificate is no root of trust for it.
    let wrong_root = over_tls.replace("ca.crt", "server.crt");
    assert_ne!(wrong_root, over_tls);
    let err = OpenOptions::new().open(&wrong_root).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Storage, "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");

    let missing = over_tls.replace("ca.crt", "no-such.crt");
    let err = OpenOptions::new().open(&missing).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation, "{err}");
}

/// Imports write users 64 at a time on PostgreSQL: a line that repeats an earlier user of its
/// batch is refused on its own (best effort) and the rest of the batch is written; all or
/// nothing, nothing is.
#[test]
fn an_import_refuses_a_repeated_user_inside_a_batch_and_keeps_the_others() {
    let Some(base) = support::postgres() else {
        return;
    };
    let source = Store::open_in_memory().unwrap();
    let users: Vec<User> = (0..70)
        .map(|i| User {
            id: format!("u{i:02}"),
            ..User::default()
        })
        .collect();
    source.upsert_users(&users).unwrap();
    let mut out = Vec::new();
    source.export_jsonl(&mut out, None).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // Line 31 (1-based) repeats the user of line 11.
    let repeated = lines[10];
    lines.insert(30, repeated);
    let input = lines.join("\n") + "\n";
    for mode in [BatchMode::AllOrNothing, BatchMode::BestEffort] {
        let store = open(&support::fresh_database(&base));
        let report = store
            .import_jsonl(&mut input.as_bytes(), mode, None)
            .unwrap();
        assert_eq!(report.errors.len(), 1, "{mode:?}: {report:?}");
        assert_eq!(report.errors[0].line, 31);
        assert_eq!(report.errors[0].error.code(), ErrorCode::Conflict);
        let stored = store.stats().unwrap().users;
        match mode {
            BatchMode::AllOrNothing => assert_eq!(stored, 0),
            BatchMode::BestEffort => assert_eq!(stored, 70),
        }
    }
}

/// A program that another store (another application server) changes is what this store's
/// next operations see, whether they read the program on its own (an enrollment) or with the
/// enrollment they change (an attempt): programs are cached only while no program changed.
#[test]
fn a_program_changed_through_another_store_is_what_the_next_operation_sees() {
    let Some((location, here)) = fresh() else {
        return;
    };
    let there = open(&location);
    let cert = ProgramSpec {
        kind: Kind::Certification,
        assessment: Some(Assessment {
            passing_score: 50.0,
            max_attempts: None,
        }),
        ..ProgramSpec::course("cert", "Certified")
    };
    here.create_program(&cert).unwrap();
    let users: Vec<User> = ["u1", "u2", "u3"]
        .iter()
        .map(|id| User {
            id: id.to_string(),
            ..User::default()
        })
        .collect();
    here.upsert_users(&users).unwrap();
    let learner = |u: &str| Actor::Learner(u.to_owned());
    let e1 = here
        .enroll(&learner("u1"), &EnrollRequest::new("u1", "cert"))
        .unwrap();
    let e2 = here
        .enroll(&learner("u2"), &EnrollRequest::new("u2", "cert"))
        .unwrap();
    let (_, first) = here.submit_attempt(&Actor::Admin, &e1.id, 60.0).unwrap();
    assert_eq!(first.passed, Some(true), "60 passes at 50");

    there
        .update_program(&ProgramSpec {
            self_enrollment: false,
            assessment: Some(Assessment {
                passing_score: 80.0,
                max_attempts: None,
            }),
            ..cert
        })
        .unwrap();
    let (_, second) = here.submit_attempt(&Actor::Admin, &e2.id, 60.0).unwrap();
    assert_eq!(
        second.passed,
        Some(false),
        "60 fails at 80, set by the other store"
    );
    let refused = here
        .enroll(&learner("u3"), &EnrollRequest::new("u3", "cert"))
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::PermissionDenied, "{refused}");
}

/// A bulk enrollment fetches its rows' users and enrollments at once on PostgreSQL (one round
/// trip each instead of two a row): every outcome must be the one SQLite gives, row by row,
/// for users given by id, by email and unknown, rows repeated in the batch, users already
/// enrolled and users enrolling again after completing.
#[test]
fn a_bulk_enrollment_gives_the_outcomes_sqlite_gives_row_by_row() {
    let Some((_, pg)) = fresh() else {
        return;
    };
    let sqlite = Store::open_in_memory().unwrap();
    let mut requests = Vec::new();
    for store in [&pg, &sqlite] {
        store
            .create_program(&ProgramSpec {
                kind: Kind::Track,
                steps: vec![Step {
                    id: "s1".into(),
                    step_type: "message".into(),
                    title: "Welcome".into(),
                    learner_completable: false,
                    schedule: None,
                }],
                ..ProgramSpec::course("p0", "P0")
            })
            .unwrap();
        store
            .create_program(&ProgramSpec::course("p1", "P1"))
            .unwrap();
        let users: Vec<User> = (0..300)
            .map(|i| User {
                id: format!("u{i:03}"),
                email: Some(format!("U{i:03}@example.com")),
                ..User::default()
            })
            .collect();
        store.upsert_users(&users).unwrap();
        // u000-u049 canceled an enrollment in the track p0; u050-u099 are enrolled in it.
        for i in 0..100 {
            let e = store
                .enroll(&Actor::Admin, &EnrollRequest::new(format!("u{i:03}"), "p0"))
                .unwrap();
            if i < 50 {
                store
                    .transition(&Actor::Admin, &e.id, &Command::Cancel)
                    .unwrap();
            }
        }
    }
    for i in 0..300 {
        requests.push(EnrollRequest::new(format!("u{i:03}"), "p0"));
        if i % 7 == 0 {
            // Again in the same batch, and in another program.
            requests.push(EnrollRequest::new(format!("u{i:03}"), "p0"));
            requests.push(EnrollRequest::new(format!("u{i:03}"), "p1"));
        }
        if i % 11 == 0 {
            requests.push(EnrollRequest::new(format!("ghost{i}"), "p1"));
            requests.push(EnrollRequest::for_user(
                UserRef::Email(format!("u{i:03}@EXAMPLE.com")),
                "p1",
            ));
        }
    }
    requests.push(EnrollRequest::new("u001", "nowhere"));
    assert!(requests.len() >= 256, "a bulk call");
    let described = |store: &Store, outcomes: Vec<EnrollOutcome>| -> Vec<String> {
        let named = |id: &str| {
            let e = store.get_enrollment(&Actor::Admin, id).unwrap();
            format!("{}/{}#{}", e.user_id, e.program_id, e.attempt_number)
        };
        outcomes
            .into_iter()
            .map(|o| match o {
                EnrollOutcome::Created(e) => format!(
                    "created {}/{}#{} after {:?}",
                    e.user_id,
                    e.program_id,
                    e.attempt_number,
                    e.previous_id.as_deref().map(named)
                ),
                EnrollOutcome::AlreadyEnrolled { existing_id } => {
                    format!("already {}", named(&existing_id))
                }
                EnrollOutcome::Failed(err) => format!("failed {:?}", err.code()),
                EnrollOutcome::NotApplied => "not applied".to_owned(),
            })
            .collect()
    };
    let on_pg = pg
        .enroll_many(&Actor::Admin, &requests, BatchMode::BestEffort)
        .unwrap();
    let on_sqlite = sqlite
        .enroll_many(&Actor::Admin, &requests, BatchMode::BestEffort)
        .unwrap();
    let (on_pg, on_sqlite) = (described(&pg, on_pg), described(&sqlite, on_sqlite));
    for (i, (a, b)) in on_pg.iter().zip(&on_sqlite).enumerate() {
        assert_eq!(a, b, "row {i}: {:?}", requests[i].user);
    }
    assert_eq!(on_pg.len(), on_sqlite.len());
    for kind in ["created", "already", "failed"] {
        assert!(on_pg.iter().any(|o| o.starts_with(kind)), "no {kind} row");
    }
    assert!(
        on_pg.iter().any(|o| o.contains("#2 after Some")),
        "no second attempt: {on_pg:?}"
    );
}

/// Users are written a batch to a statement on PostgreSQL; a batch that a row refuses (an
/// email of another user) or that names a user twice is written one by one instead: every
/// result must be SQLite's.
#[test]
fn a_batch_of_users_gives_the_results_sqlite_gives() {
    let Some((_, pg)) = fresh() else {
        return;
    };
    let sqlite = Store::open_in_memory().unwrap();
    let user = |i: usize, email: &str| User {
        id: format!("u{i:03}"),
        email: Some(email.to_owned()),
        display_name: Some(format!("User {i}")),
        groups: vec!["g".into()],
        ..User::default()
    };
    let plain: Vec<User> = (0..200)
        .map(|i| user(i, &format!("u{i}@example.com")))
        .collect();
    let mut twice = plain.clone();
    twice[20] = user(10, "changed@example.com");
    let mut taken = plain.clone();
    taken[170] = user(170, "U3@EXAMPLE.COM");
    for store in [&pg, &sqlite] {
        assert_eq!(store.upsert_users(&plain).unwrap(), 200);
    }
    for batch in [&twice, &taken, &plain] {
        let results: Vec<String> = [&pg, &sqlite]
            .iter()
            .map(|store| match store.upsert_users(batch) {
                Ok(n) => format!("ok {n}"),
                Err(e) => format!("{:?} {e}", e.code()),
            })
            .collect();
        assert_eq!(results[0], results[1]);
        let listed: Vec<Vec<User>> = [&pg, &sqlite]
            .iter()
            .map(|store| store.list_users(None, 1000).unwrap())
            .collect();
        assert_eq!(listed[0], listed[1]);
    }
    let refused = pg.upsert_users(&taken).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Conflict, "{refused}");
    assert_eq!(
        pg.get_user("u010").unwrap().email.as_deref(),
        Some("u10@example.com")
    );
}

/// Pooled connections that the server closed while they were idle (a restart, a failover, an
/// administrator's `pg_terminate_backend`) are found dead by their `BEGIN` and replaced: the
/// next reads and writes succeed, with no check of every connection before each use.
#[test]
fn operations_after_the_server_closed_the_idle_connections_take_new_ones() {
    let Some((location, store)) = fresh() else {
        return;
    };
    store
        .create_program(&ProgramSpec::course("c1", "C1"))
        .unwrap();
    let users: Vec<User> = (0..8)
        .map(|i| User {
            id: format!("u{i}"),
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
    // Several connections in the pool: four threads at once.
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                for _ in 0..20 {
                    store.get_user(&format!("u{t}")).unwrap();
                }
            });
        }
    });
    let mut admin = postgres::Client::connect(&location, postgres::NoTls).unwrap();
    let closed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    assert!(closed >= 1, "the store's idle connections");
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..8 {
        store.get_user(&format!("u{i}")).unwrap();
        store
            .enroll(&Actor::Admin, &EnrollRequest::new(format!("u{i}"), "c1"))
            .unwrap();
    }
    assert_eq!(store.stats().unwrap().enrollments, 8);
}
