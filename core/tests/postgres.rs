//! What only a server database has to prove: races between connections of several threads,
//! a change feed that never skips while writers commit out of order, and the schema checks of
//! opening. Skipped (saying so) with `ENROLLKIT_SKIP_POSTGRES=1`; run under `scripts/pg run`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
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

#[test]
fn one_user_enrolled_by_sixteen_threads_at_once_gets_one_enrollment() {
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
    for round in 0..5 {
        let start = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (start, location) = (start.clone(), location.clone());
                std::thread::spawn(move || {
                    let store = open(&location);
                    start.wait();
                    let req = EnrollRequest {
                        allow_reenroll: true,
                        ..EnrollRequest::new("u1", "c1")
                    };
                    store.enroll(&Actor::Admin, &req)
                })
            })
            .collect();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let created: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(created.len(), 1, "round {round}: {outcomes:?}");
        for o in &outcomes {
            if let Err(e) = o {
                let Error::AlreadyEnrolled { existing_id, .. } = e else {
                    panic!("round {round}: {e:?}")
                };
                assert_eq!(existing_id, &created[0].id);
            }
        }
        store
            .transition(&Actor::Admin, &created[0].id, &Command::Progress(100.0))
            .unwrap();
    }
    assert!(store.check_invariants().unwrap().is_empty());
}

#[test]
fn the_change_feed_shows_every_event_once_in_order_while_writers_race() {
    let Some((location, store)) = fresh() else {
        return;
    };
    const WRITERS: usize = 6;
    const ENROLLMENTS: usize = 40;
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
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let location = location.clone();
            std::thread::spawn(move || {
                let store = open(&location);
                let mut written = 0;
                for i in 0..ENROLLMENTS {
                    let e = store
                        .enroll(
                            &Actor::Admin,
                            &EnrollRequest::new(format!("u{w}_{i}"), "c1"),
                        )
                        .unwrap();
                    store.add_progress(&Actor::Admin, &e.id, 10.0).unwrap();
                    written += 2;
                }
                written
            })
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
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
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
