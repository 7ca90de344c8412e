//! Capacity with a waitlist under races (issue #25, point 3): 4 processes of 4 threads enroll
//! 1,000 people at once into a program of 100 seats, on an SQLite file and on PostgreSQL;
//! exactly 100 are seated and 900 waitlisted, in the order the engine took them (the feed's
//! order); 10 seated people dropping at once promote exactly the next 10. The child processes
//! are this test binary again (`support::race_children`).

use std::time::{Duration, Instant};

use enrollkit::*;

mod support;

const PEOPLE: usize = 1_000;
const SEATS: u32 = 100;
const THREADS: usize = 4;
const PROCESSES: usize = 4;
const TEST: &str = "four_processes_of_four_threads_fill_a_program_of_100_seats";

fn open(location: &str) -> Store {
    OpenOptions::new()
        .busy_timeout(Duration::from_secs(60))
        .open(location)
        .unwrap()
}

/// A child process: each thread enrolls its share of the people, one by one.
fn enroll_share(location: &str, process: &str) {
    let store = open(location);
    let p: usize = process[1..].parse().unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = &store;
            s.spawn(move || {
                support::wait_for_go();
                let lane = p * THREADS + t;
                for i in (lane..PEOPLE).step_by(PROCESSES * THREADS) {
                    let user = format!("u{i:04}");
                    let e = store
                        .enroll(&Actor::System, &EnrollRequest::new(user, "seats"))
                        .unwrap();
                    assert!(matches!(e.status, Status::Active | Status::Waitlisted));
                }
            });
        }
    });
}

/// The enrollment ids of the `enrolled` events, in the feed's order.
fn arrivals(store: &Store) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let events = store.events_after(&Actor::Admin, after, 1000).unwrap();
        let Some(last) = events.last() else { break };
        after = last.seq;
        ids.extend(
            events
                .into_iter()
                .filter(|e| e.action == "enrolled")
                .map(|e| e.enrollment_id),
        );
    }
    ids
}

fn race(location: &str) {
    let store = open(location);
    let policy = Policy {
        capacity: Some(SEATS),
        waitlist: true,
        ..Policy::default()
    };
    store
        .create_program(&ProgramSpec {
            policy,
            ..ProgramSpec::course("seats", "Seats")
        })
        .unwrap();
    let users: Vec<User> = (0..PEOPLE)
        .map(|i| User {
            id: format!("u{i:04}"),
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
    let started = Instant::now();
    support::race_children(TEST, PROCESSES, location);
    let took = started.elapsed();
    eprintln!(
        "capacity race: {PEOPLE} enrollments from {PROCESSES} processes x {THREADS} threads in \
         {took:.2?} ({:.0}/s, process start-up included)",
        PEOPLE as f64 / took.as_secs_f64()
    );
    let arrived = arrivals(&store);
    assert_eq!(arrived.len(), PEOPLE);
    let (seated, waiting) = arrived.split_at(SEATS as usize);
    for id in seated {
        let e = store.get_enrollment(&Actor::Admin, id).unwrap();
        assert_eq!(
            e.status,
            Status::Active,
            "the first {SEATS} to arrive are seated"
        );
    }
    let waitlist: Vec<String> = store
        .waitlist(&Actor::Admin, "seats", 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(waitlist, waiting, "the rest wait in the order they arrived");
    for (i, id) in waiting.iter().enumerate().step_by(97) {
        assert_eq!(
            store.waitlist_position(&Actor::Admin, id).unwrap(),
            Some(i as u32 + 1)
        );
    }
    // Ten seated people drop at once: exactly the next ten are promoted.
    std::thread::scope(|s| {
        for id in &seated[..10] {
            let store = &store;
            s.spawn(move || {
                store.transition(&Actor::Admin, id, &Command::Drop).unwrap();
            });
        }
    });
    for (i, id) in waiting.iter().enumerate().take(11) {
        let status = store.get_enrollment(&Actor::Admin, id).unwrap().status;
        let expected = if i < 10 {
            Status::Active
        } else {
            Status::Waitlisted
        };
        assert_eq!(status, expected, "waiting[{i}]");
    }
    assert_eq!(
        store.waitlist(&Actor::Admin, "seats", 1000).unwrap().len(),
        PEOPLE - SEATS as usize - 10
    );
    assert!(store.check_invariants().unwrap().is_empty());
}

#[test]
fn four_processes_of_four_threads_fill_a_program_of_100_seats() {
    if let Some((location, process)) = support::race_child() {
        enroll_share(&location, &process);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seats.db");
    race(file.to_str().unwrap());
    if let Some(base) = support::postgres() {
        race(&support::fresh_database(&base));
    }
}
