//! Criterion micro-benchmarks of enrollkit's core operations on an in-memory store
//! (`cargo bench -p enrollkit-bench`).

use criterion::{criterion_main, BatchSize, Criterion};
use enrollkit::{
    Actor, BatchMode, EnrollRequest, ListQuery, Order, Pagination, ProgramSpec, Store, User,
};

const USERS: usize = 2_000;

fn store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let users: Vec<User> = (0..USERS)
        .map(|i| User {
            id: format!("u{i}"),
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
    for p in ["crs", "other"] {
        store
            .create_program(&ProgramSpec::course(p, "Course"))
            .unwrap();
    }
    store
}

fn enrolled(store: &Store) -> Vec<String> {
    let requests: Vec<EnrollRequest> = (0..USERS)
        .map(|i| EnrollRequest::new(format!("u{i}"), "crs"))
        .collect();
    store
        .enroll_many(&Actor::Admin, &requests, BatchMode::AllOrNothing)
        .unwrap()
        .into_iter()
        .map(|o| match o {
            enrollkit::EnrollOutcome::Created(e) => e.id,
            other => panic!("{}", other.kind()),
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let s = store();
    let ids = enrolled(&s);
    // Before the benchmarks below add history: 2,000 users and enrollments, 2,000 events.
    let export = {
        let mut out = Vec::new();
        s.export_jsonl(&mut out, None).unwrap();
        out
    };
    let mut i = 0;
    c.bench_function("enroll (one transaction each)", |b| {
        b.iter_batched(
            || {
                i += 1;
                EnrollRequest::new(format!("u{}", i % USERS), "other")
            },
            |req| match s.enroll(&Actor::Admin, &req) {
                Ok(e) => s.delete_enrollment(&Actor::Admin, &e.id).unwrap(),
                Err(e) => panic!("{e}"),
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("enroll_many (1,000 per batch), per batch", |b| {
        b.iter_batched(
            || {
                let st = store();
                let reqs: Vec<EnrollRequest> = (0..1_000)
                    .map(|i| EnrollRequest::new(format!("u{i}"), "crs"))
                    .collect();
                (st, reqs)
            },
            |(st, reqs)| {
                st.enroll_many(&Actor::Admin, &reqs, BatchMode::AllOrNothing)
                    .unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    c.bench_function("get_enrollment", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % ids.len();
            s.get_enrollment(&Actor::Admin, &ids[k]).unwrap()
        })
    });
    c.bench_function("set_progress", |b| {
        let mut k = 0;
        b.iter(|| {
            k += 1;
            let id = &ids[k % ids.len()];
            s.set_progress(&Actor::Admin, id, ((k / ids.len()) % 99) as f64)
                .unwrap()
        })
    });
    c.bench_function(
        "add_progress (read, check active, add, record; workload B)",
        |b| {
            let mut k = 0;
            b.iter(|| {
                k += 1;
                // Up and down by 1, so that no enrollment completes.
                let delta = if (k / ids.len()) % 2 == 0 { 1.0 } else { -1.0 };
                s.add_progress(&Actor::Admin, &ids[k % ids.len()], delta)
                    .unwrap()
            })
        },
    );
    c.bench_function(
        "import_jsonl (2,000 users, enrollments and events), per import",
        |b| {
            b.iter_batched(
                || Store::open_in_memory().unwrap(),
                |target| {
                    let report = target
                        .import_jsonl(&mut &export[..], BatchMode::AllOrNothing, None)
                        .unwrap();
                    assert!(report.committed, "{report:?}");
                    target
                },
                BatchSize::LargeInput,
            )
        },
    );
    c.bench_function("list first page (20, newest first)", |b| {
        let q = ListQuery {
            program_id: Some("crs".into()),
            status: Some("active".into()),
            order: Order::NewestFirst,
            pagination: Pagination::Page {
                page: 1,
                per_page: 20,
            },
            ..ListQuery::default()
        };
        b.iter(|| s.list_enrollments(&Actor::Admin, &q).unwrap())
    });
    c.bench_function("history", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % ids.len();
            s.history(&Actor::Admin, &ids[k]).unwrap()
        })
    });
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(ops, super::benches);
}
criterion_main!(group::ops);
