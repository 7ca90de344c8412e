//! `enrollkit-bench reports`: how long `Store::report` takes for one program of many
//! enrollments, and for every program of a database of the workload.

use std::path::Path;
use std::time::Instant;

use enrollkit::{
    Actor, BatchMode, EnrollRequest, Kind, OpenOptions, ProgramSpec, ProgramState, Step, Store,
    User,
};
use serde_json::{json, Value};

use crate::{chunks, median, remove_database, Workload};

/// The program of the one-program database: a track of three steps, so the report's funnel
/// has rows to count.
const PROGRAM: &str = "trk_report";

/// Milliseconds of `rounds` calls of `f`, the median.
fn median_ms(rounds: usize, mut f: impl FnMut() -> enrollkit::Result<()>) -> Result<f64, String> {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        f().map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(times))
}

/// A fresh database at `db` with one track of `n` enrollments: every tenth has its first step
/// delivered, every hundredth is canceled.
fn one_program(db: &Path, n: usize) -> enrollkit::Result<Store> {
    remove_database(db);
    let store = OpenOptions::new().open(db)?;
    let step = |id: &str| Step {
        id: id.into(),
        step_type: "message".into(),
        title: id.into(),
        learner_completable: false,
        schedule: None,
    };
    store.create_program(&ProgramSpec {
        id: PROGRAM.into(),
        kind: Kind::Track,
        title: "Report".into(),
        description: None,
        state: ProgramState::Active,
        self_enrollment: false,
        steps: vec![step("one"), step("two"), step("three")],
        assessment: None,
        policy: Default::default(),
    })?;
    for range in chunks(n) {
        let users: Vec<User> = range
            .clone()
            .map(|i| User {
                id: Workload::user(i),
                ..User::default()
            })
            .collect();
        store.upsert_users(&users)?;
        let requests: Vec<EnrollRequest> = range
            .map(|i| EnrollRequest::new(Workload::user(i), PROGRAM))
            .collect();
        let outcomes = store.enroll_many(&Actor::System, &requests, BatchMode::AllOrNothing)?;
        for (k, o) in outcomes.into_iter().enumerate() {
            let enrollkit::EnrollOutcome::Created(e) = o else {
                return Err(enrollkit::Error::Storage(
                    "an enrollment was refused".into(),
                ));
            };
            if k % 10 == 0 {
                store.update_step(
                    &Actor::System,
                    &e.id,
                    "one",
                    &enrollkit::StepChange::Deliver {
                        destination_type: None,
                    },
                )?;
            }
            if k % 100 == 1 {
                store.cancel(&Actor::System, &e.id)?;
            }
        }
    }
    Ok(store)
}

/// `reports ONE_DB ONE_N ROUNDS [ALL_DB]`: the median milliseconds of `Store::report` for one
/// program of `ONE_N` enrollments (in a database made at `ONE_DB`), and, with `ALL_DB` (a
/// database the workload's runs left), of reporting every program in it once.
pub(crate) fn run(
    one_db: &Path,
    one_n: usize,
    rounds: usize,
    all_db: Option<&Path>,
) -> Result<Value, String> {
    let store = one_program(one_db, one_n).map_err(|e| e.to_string())?;
    let report = store
        .report(&Actor::Admin, PROGRAM)
        .map_err(|e| e.to_string())?;
    if report.total_enrollees != one_n as u64 {
        return Err(format!(
            "{} enrollments reported, not {one_n}",
            report.total_enrollees
        ));
    }
    let one_ms = median_ms(rounds, || store.report(&Actor::Admin, PROGRAM).map(drop))?;
    drop(store);
    let mut out =
        json!({"contender": "reports", "rounds": rounds, "one_n": one_n, "one_ms": one_ms});
    if let Some(all_db) = all_db {
        let store = OpenOptions::new()
            .create(false)
            .open(all_db)
            .map_err(|e| e.to_string())?;
        let mut programs = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store
                .list_programs(None, None, after.as_deref(), 1000)
                .map_err(|e| e.to_string())?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            programs.extend(page.into_iter().map(|p| p.id.clone()));
        }
        let enrollments = store.stats().map_err(|e| e.to_string())?.enrollments;
        let all_ms = median_ms(rounds, || {
            programs
                .iter()
                .try_for_each(|p| store.report(&Actor::Admin, p).map(drop))
        })?;
        out["all_programs"] = json!(programs.len());
        out["all_enrollments"] = json!(enrollments);
        out["all_ms"] = json!(all_ms);
    }
    Ok(out)
}
