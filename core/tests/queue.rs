//! The due-work queue under races (issue #24, point 3): 4 processes of 4 worker threads each
//! claim and deliver thousands of due steps at once, on an SQLite file and on PostgreSQL;
//! every step is delivered exactly once and claimed once. The child processes are this test
//! binary again, told by environment variables what to do.

use std::time::Duration;

use enrollkit::*;

mod support;

/// Due steps in all.
const DUE: usize = 2_000;

fn open(location: &str) -> Store {
    OpenOptions::new()
        .busy_timeout(Duration::from_secs(60))
        .open(location)
        .unwrap()
}

/// A child process: 4 threads, each claiming up to 16 at a time and delivering each step
/// until nothing is due; prints `D <enrollment id>` per step it delivered.
fn work(location: &str, process: &str) {
    let store = open(location);
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                let worker = format!("{process}-{t}");
                support::wait_for_go();
                let mut out = String::new();
                loop {
                    let claims = store
                        .claim_due(&worker, None, 16, Duration::from_secs(600))
                        .unwrap();
                    if claims.is_empty() {
                        break;
                    }
                    let change = StepChange::Deliver {
                        destination_type: None,
                    };
                    if t % 2 == 0 {
                        // Half the workers complete claim by claim, half a batch at once.
                        for c in claims {
                            let e = store
                                .complete_claim(&worker, &c.enrollment.id, &change)
                                .unwrap();
                            out.push_str(&format!("\nD {}\n", e.id));
                        }
                    } else {
                        let items: Vec<(String, StepChange)> = claims
                            .into_iter()
                            .map(|c| (c.enrollment.id, change.clone()))
                            .collect();
                        for e in store.complete_claims(&worker, &items).unwrap() {
                            out.push_str(&format!("\nD {}\n", e.unwrap().id));
                        }
                    }
                }
                print!("{out}");
            });
        }
    });
}

fn race(location: &str) {
    let store = open(location);
    let program = ProgramSpec {
        kind: Kind::Track,
        steps: vec![Step {
            id: "only".into(),
            step_type: "message".into(),
            title: "Only".into(),
            learner_completable: false,
            schedule: Some(StepSchedule {
                after: Anchor::Start,
                delay: 0,
                unit: DelayUnit::Minutes,
                at: None,
            }),
        }],
        ..ProgramSpec::course("drip", "Drip")
    };
    store.create_program(&program).unwrap();
    let users: Vec<User> = (0..DUE)
        .map(|i| User {
            id: format!("u{i:05}"),
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
    let rows: Vec<EnrollRequest> = users
        .iter()
        .map(|u| EnrollRequest::new(u.id.clone(), "drip"))
        .collect();
    store
        .enroll_many(&Actor::Admin, &rows, BatchMode::AllOrNothing)
        .unwrap();
    let mut delivered: Vec<String> = support::race_children(
        "four_processes_of_four_workers_deliver_every_due_step_once",
        4,
        location,
    )
    .iter()
    .filter_map(|l| l.strip_prefix("D "))
    .map(str::to_owned)
    .collect();
    let all = delivered.len();
    delivered.sort();
    delivered.dedup();
    assert_eq!(
        (all, delivered.len()),
        (DUE, DUE),
        "each step delivered once"
    );
    // Each enrollment was claimed once and is done; nothing is due any more.
    let mut claims = 0;
    let mut after = 0;
    loop {
        let events = store.events_after(&Actor::Admin, after, 1000).unwrap();
        let Some(last) = events.last() else { break };
        after = last.seq;
        claims += events.iter().filter(|e| e.action == "claim").count();
    }
    assert_eq!(claims, DUE);
    assert!(store
        .claim_due("late", None, 10, Duration::from_secs(1))
        .unwrap()
        .is_empty());
    assert!(store.check_invariants().unwrap().is_empty());
}

#[test]
fn four_processes_of_four_workers_deliver_every_due_step_once() {
    if let Some((location, process)) = support::race_child() {
        work(&location, &process);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue.db");
    race(file.to_str().unwrap());
    if let Some(base) = support::postgres() {
        race(&support::fresh_database(&base));
    }
}
