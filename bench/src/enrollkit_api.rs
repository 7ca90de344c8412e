//! The `rust` contender: workload W through enrollkit's public Rust API.

use enrollkit::{
    Actor, BatchMode, Durability, EnrollOutcome, EnrollRequest, Kind, ListQuery, OpenOptions,
    Order, Pagination, ProgramSpec, ProgramState, Status, Store, User,
};

use crate::{file_size, rate, Figures, Workload, CHUNK, PER_PAGE, STEPS};

type Result<T> = enrollkit::Result<T>;

fn open(w: &Workload, durability: Durability) -> Result<Store> {
    OpenOptions::new().durability(durability).open(&w.db)
}

/// Phase A; returns the ids of the enrollments phase B changes.
fn bulk(w: &Workload, store: &Store, f: &mut Figures) -> Result<Vec<String>> {
    for j in 0..w.programs {
        store.create_program(&ProgramSpec {
            id: Workload::program(j),
            kind: Kind::Course,
            title: format!("Course {j}"),
            description: None,
            state: ProgramState::Active,
            self_enrollment: true,
            steps: vec![],
            assessment: None,
        })?;
    }
    let mut result = Ok(());
    f.users = rate(w.n, || {
        result = (0..w.n).step_by(CHUNK).try_for_each(|start| {
            let users: Vec<User> = (start..(start + CHUNK).min(w.n))
                .map(|i| User {
                    id: Workload::user(i),
                    ..User::default()
                })
                .collect();
            store.upsert_users(&users).map(drop)
        });
    });
    result?;
    let keep = 2 * w.b_targets();
    let mut targets = Vec::with_capacity(keep);
    let mut result = Ok(());
    f.enroll = rate(w.n, || {
        result = (0..w.n).step_by(CHUNK).try_for_each(|start| {
            let requests: Vec<EnrollRequest> = (start..(start + CHUNK).min(w.n))
                .map(|i| EnrollRequest::new(Workload::user(i), Workload::program(i % w.programs)))
                .collect();
            let outcomes = store.enroll_many(&Actor::Admin, &requests, BatchMode::AllOrNothing)?;
            for o in outcomes {
                match o {
                    EnrollOutcome::Created(e) if targets.len() < keep => targets.push(e.id),
                    EnrollOutcome::Created(_) => {}
                    other => {
                        return Err(enrollkit::Error::Storage(format!(
                            "unexpected outcome {}",
                            other.kind()
                        )))
                    }
                }
            }
            Ok(())
        });
    });
    result?;
    Ok(targets)
}

/// Phase B: read, check active, add 10 % (100 % completes), each its own transaction.
fn single(store: &Store, ids: &[String]) -> Result<f64> {
    let mut result = Ok(());
    let per_s = rate(ids.len() * STEPS, || {
        result = (0..STEPS).try_for_each(|_| {
            ids.iter().try_for_each(|id| {
                let e = store.get_enrollment(&Actor::Admin, id)?;
                if e.status != Status::Active {
                    return Err(enrollkit::Error::Storage(format!("{id} is not active")));
                }
                store
                    .set_progress(&Actor::Admin, id, e.progress_percent + 10.0)
                    .map(drop)
            })
        });
    });
    result.map(|()| per_s)
}

fn page_query(program: String, pagination: Pagination) -> ListQuery {
    ListQuery {
        program_id: Some(program),
        status: Some("active".into()),
        order: Order::NewestFirst,
        pagination,
        ..ListQuery::default()
    }
}

fn page(w: &Workload, store: &Store, q: usize, number: usize) -> Result<usize> {
    let j = q % w.programs;
    let query = page_query(
        Workload::program(j),
        Pagination::Page {
            page: number as u32,
            per_page: PER_PAGE as u32,
        },
    );
    Ok(store.list_enrollments(&Actor::Admin, &query)?.items.len())
}

/// Phase C.
fn queries(w: &Workload, store: &Store, f: &mut Figures) -> Result<()> {
    let timed = |f: &mut f64, q: &dyn Fn(usize) -> Result<usize>| -> Result<()> {
        let mut result = Ok(());
        *f = rate(w.queries, || {
            result = (0..w.queries).try_for_each(|i| {
                let rows = q(i)?;
                if rows == 0 {
                    return Err(enrollkit::Error::Storage(format!("query {i}: empty page")));
                }
                Ok(())
            })
        });
        result
    };
    timed(&mut f.first_page, &|q| page(w, store, q, 1))?;
    timed(&mut f.offset_deep, &|q| {
        page(w, store, q, w.last_page(q % w.programs))
    })?;
    // Keyset: the cursor is the last id of the page before the last one (fetched untimed).
    let mut cursors = Vec::with_capacity(w.queries);
    for q in 0..w.queries {
        let j = q % w.programs;
        let last = w.last_page(j);
        cursors.push(if last == 1 {
            None
        } else {
            let before = page_query(
                Workload::program(j),
                Pagination::Page {
                    page: last as u32 - 1,
                    per_page: PER_PAGE as u32,
                },
            );
            let items = store.list_enrollments(&Actor::Admin, &before)?.items;
            items.last().map(|e| e.id.clone())
        });
    }
    timed(&mut f.keyset_deep, &|q| {
        let query = page_query(
            Workload::program(q % w.programs),
            Pagination::Cursor {
                starting_after: cursors[q].clone(),
                limit: PER_PAGE as u32,
            },
        );
        Ok(store.list_enrollments(&Actor::Admin, &query)?.items.len())
    })
}

pub(crate) fn run(w: &Workload) -> Result<Figures> {
    let mut f = Figures::default();
    let targets = {
        let store = open(w, Durability::Normal)?;
        bulk(w, &store, &mut f)?
    };
    f.db_bytes = file_size(&w.db);
    let (normal, full) = targets.split_at(w.b_targets());
    f.single_normal = single(&open(w, Durability::Normal)?, normal)?;
    f.single_full = single(&open(w, Durability::Full)?, full)?;
    queries(w, &open(w, Durability::Normal)?, &mut f)?;
    Ok(f)
}
