//! The `rust` contender: workload W through enrollkit's public Rust API.

use enrollkit::{
    Actor, BatchMode, Deadline, Durability, EnrollOutcome, EnrollRequest, Enrollment, ListQuery,
    OpenOptions, Order, Pagination, Policy, ProgramSpec, Store, Timestamp, User,
};

use crate::{
    bulk_enroll_rate, chunks, file_size, median_round, query_rate, rate, Figures, Workload,
    PER_PAGE, STEPS,
};

type Result<T> = enrollkit::Result<T>;

fn open(w: &Workload, durability: Durability) -> Result<Store> {
    OpenOptions::new().durability(durability).open(&w.db)
}

/// The program of workload W with `policy`.
fn program(j: usize, policy: &Policy) -> ProgramSpec {
    ProgramSpec {
        policy: policy.clone(),
        ..ProgramSpec::course(Workload::program(j), format!("Course {j}"))
    }
}

/// Every policy, none of which refuses workload W's enrollments: a window open from 2000 to
/// 2200, a deadline 10 years after enrollment, a capacity of every enrollment with a waitlist
/// (so each completion looks for someone to promote), and (set after phase A, as it concerns
/// enrolling) a prerequisite.
fn every_policy(w: &Workload) -> Policy {
    Policy {
        enroll_opens_at: Timestamp::parse("2000-01-01T00:00:00Z").ok(),
        enroll_closes_at: Timestamp::parse("2200-01-01T00:00:00Z").ok(),
        deadline: Some(Deadline::AfterDays(3_650)),
        capacity: Some(w.n as u32),
        waitlist: true,
        prerequisites: Vec::new(),
    }
}

/// Phase A; returns the ids of the enrollments phase B changes. Programs get `policy`.
pub(crate) fn bulk(
    w: &Workload,
    store: &Store,
    f: &mut Figures,
    policy: &Policy,
) -> Result<Vec<String>> {
    for j in 0..w.programs {
        store.create_program(&program(j, policy))?;
    }
    f.users = rate(w.n, || {
        chunks(w.n).try_for_each(|range| {
            let users: Vec<User> = range
                .map(|i| User {
                    id: Workload::user(i),
                    ..User::default()
                })
                .collect();
            store.upsert_users(&users).map(drop)
        })
    })?;
    let keep = w.b_changed();
    let mut targets = Vec::with_capacity(keep);
    f.enroll = bulk_enroll_rate(w.n, || {
        chunks(w.n).try_for_each(|range| {
            let requests: Vec<EnrollRequest> = range
                .map(|i| EnrollRequest::new(Workload::user(i), Workload::program(i % w.programs)))
                .collect();
            let outcomes = store.enroll_many(&Actor::Admin, &requests, BatchMode::AllOrNothing)?;
            for o in outcomes {
                match o {
                    EnrollOutcome::Created(e) if targets.len() < keep => targets.push(e.id),
                    EnrollOutcome::Created(_) => {}
                    other => {
                        return Err(enrollkit::Error::Storage(
                            format!("unexpected outcome {}", other.kind()).into(),
                        ))
                    }
                }
            }
            Ok(())
        })
    })?;
    Ok(targets)
}

/// Phase B: read, check active, add 10 % (100 % completes), each its own transaction:
/// `add_progress` does all of it in one (it refuses an enrollment that is not active).
pub(crate) fn single(store: &Store, ids: &[String]) -> Result<f64> {
    rate(ids.len() * STEPS, || {
        (0..STEPS).try_for_each(|_| {
            ids.iter()
                .try_for_each(|id| store.add_progress(&Actor::Admin, id, 10.0).map(drop))
        })
    })
}

/// Query `q`'s page of its program's active enrollments, newest first.
fn list(w: &Workload, store: &Store, q: usize, pagination: Pagination) -> Result<Vec<Enrollment>> {
    let query = ListQuery {
        program_id: Some(Workload::program(q % w.programs)),
        status: Some("active".into()),
        order: Order::NewestFirst,
        pagination,
        ..ListQuery::default()
    };
    Ok(store.list_enrollments(&Actor::Admin, &query)?.items)
}

/// Page `number` (1-based) of query `q`.
pub(crate) fn page(
    w: &Workload,
    store: &Store,
    q: usize,
    number: usize,
) -> Result<Vec<Enrollment>> {
    let pagination = Pagination::Page {
        page: number as u32,
        per_page: PER_PAGE as u32,
    };
    list(w, store, q, pagination)
}

/// Phase C: first pages, last pages by offset and by keyset cursor, into `f`.
pub(crate) fn queries(w: &Workload, store: &Store, f: &mut Figures) -> Result<()> {
    let timed = |q: &dyn Fn(usize) -> Result<Vec<Enrollment>>| -> Result<f64> {
        query_rate(w.queries, || {
            (0..w.queries).try_for_each(|i| match q(i)?.len() {
                0 => Err(enrollkit::Error::Storage(
                    format!("query {i}: empty page").into(),
                )),
                _ => Ok(()),
            })
        })
    };
    let last_page = |q: usize| w.last_page(q % w.programs);
    f.first_page = timed(&|q| page(w, store, q, 1))?;
    f.offset_deep = timed(&|q| page(w, store, q, last_page(q)))?;
    // Keyset: the cursor is the last id of the page before the last one (fetched untimed).
    let mut cursors = Vec::with_capacity(w.queries);
    for q in 0..w.queries {
        cursors.push(match last_page(q) {
            1 => None,
            last => page(w, store, q, last - 1)?.pop().map(|e| e.id),
        });
    }
    f.keyset_deep = timed(&|q| {
        let pagination = Pagination::Cursor {
            starting_after: cursors[q].clone(),
            limit: PER_PAGE as u32,
        };
        list(w, store, q, pagination)
    })?;
    Ok(())
}

/// The ids of the `count` newest active enrollments (the paired rounds' targets).
pub(crate) fn active_ids(store: &Store, count: usize) -> Result<Vec<String>> {
    let mut ids: Vec<String> = Vec::with_capacity(count);
    while ids.len() < count {
        let query = ListQuery {
            status: Some("active".into()),
            order: Order::NewestFirst,
            pagination: Pagination::Cursor {
                starting_after: ids.last().cloned(),
                limit: (count - ids.len()).min(100) as u32,
            },
            ..ListQuery::default()
        };
        let page = store.list_enrollments(&Actor::Admin, &query)?;
        ids.extend(page.items.into_iter().map(|e| e.id));
        if !page.has_more {
            break;
        }
    }
    Ok(ids)
}

pub(crate) fn run(w: &Workload) -> Result<Figures> {
    run_with(w, &Policy::default())
}

/// The `rust-policies` contender: [`run`] with every policy configured on every program
/// ([`every_policy`]; issue #25's target: phase B within 10 % of `rust`'s).
pub(crate) fn run_with_policies(w: &Workload) -> Result<Figures> {
    run_with(w, &every_policy(w))
}

fn run_with(w: &Workload, policy: &Policy) -> Result<Figures> {
    let mut f = Figures::default();
    let targets = {
        let store = open(w, Durability::Normal)?;
        let targets = bulk(w, &store, &mut f, policy)?;
        if !policy.is_empty() {
            store.create_program(&ProgramSpec::course("prereq", "Prerequisite"))?;
            let required = Policy {
                prerequisites: vec!["prereq".into()],
                ..policy.clone()
            };
            for j in 0..w.programs {
                store.update_program(&program(j, &required))?;
            }
        }
        targets
    };
    f.db_bytes = file_size(&w.db);
    let (normal, full) = targets.split_at(w.rounds * w.b_targets());
    let store = open(w, Durability::Normal)?;
    f.single_normal = median_round(w, normal, |ids| single(&store, ids))?;
    drop(store);
    f.single_full = single(&open(w, Durability::Full)?, full)?;
    queries(w, &open(w, Durability::Normal)?, &mut f)?;
    Ok(f)
}
