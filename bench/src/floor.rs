//! The `floor` contender: workload W with plain rusqlite, hand-written SQL and cached statements
//! over `bench/floor_schema.sql`. Nothing a hand-written application could skip is skipped: ids
//! are UUIDv7 text, every change writes its event, the open-enrollment rule is the database's.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::{
    bulk_enroll_rate, chunks, file_size, median_round, query_rate, rate, Figures, Workload,
    PER_PAGE, STEPS,
};

type Result<T> = rusqlite::Result<T>;

const SCHEMA: &str = include_str!("../floor_schema.sql");

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn open(w: &Workload, full: bool) -> Result<Connection> {
    open_path(&w.db, full)
}

/// The floor's connection to `db`: WAL, synchronous NORMAL (FULL if `full`), foreign keys.
pub(crate) fn open_path(db: &Path, full: bool) -> Result<Connection> {
    let c = Connection::open(db)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(c)
}

/// One listed row, materialized as an application would.
#[allow(dead_code)] // read to build the row, as an application would; not all used here
struct Row {
    rid: i64,
    id: String,
    user_id: String,
    program_id: String,
    status: String,
    progress: f64,
    enrolled_at: i64,
    completed_at: Option<i64>,
    updated_at: i64,
}

const COLUMNS: &str =
    "rid, id, user_id, program_id, status, progress, enrolled_at, completed_at, updated_at";

fn row(r: &rusqlite::Row<'_>) -> Result<Row> {
    Ok(Row {
        rid: r.get(0)?,
        id: r.get(1)?,
        user_id: r.get(2)?,
        program_id: r.get(3)?,
        status: r.get(4)?,
        progress: r.get(5)?,
        enrolled_at: r.get(6)?,
        completed_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn bulk(w: &Workload, c: &mut Connection, f: &mut Figures) -> Result<Vec<String>> {
    let tx = c.transaction()?;
    for j in 0..w.programs {
        tx.prepare_cached(
            "INSERT INTO programs (id, kind, title, state, created_at) VALUES (?1, 'course', ?2, 'active', ?3)",
        )?
        .execute(params![Workload::program(j), format!("Course {j}"), now()])?;
    }
    tx.commit()?;
    f.users = rate(w.n, || {
        chunks(w.n).try_for_each(|range| {
            let tx = c.transaction()?;
            for i in range {
                tx.prepare_cached("INSERT INTO users (id, created_at) VALUES (?1, ?2)")?
                    .execute(params![Workload::user(i), now()])?;
            }
            tx.commit()
        })
    })?;
    let keep = w.b_changed();
    let mut targets = Vec::with_capacity(keep);
    f.enroll = bulk_enroll_rate(w.n, || {
        chunks(w.n).try_for_each(|range| {
            let tx = c.transaction()?;
            for i in range {
                let id = format!("enr_{}", uuid::Uuid::now_v7().simple());
                let at = now();
                tx.prepare_cached(
                    "INSERT INTO enrollments (id, user_id, program_id, status, enrolled_at, updated_at)
                     VALUES (?1, ?2, ?3, 'active', ?4, ?4)",
                )?
                .execute(params![
                    id,
                    Workload::user(i),
                    Workload::program(i % w.programs),
                    at
                ])?;
                tx.prepare_cached(
                    "INSERT INTO events (enrollment_id, action, to_status, at) VALUES (?1, 'enrolled', 'active', ?2)",
                )?
                .execute(params![id, at])?;
                if targets.len() < keep {
                    targets.push(id);
                }
            }
            tx.commit()
        })
    })?;
    Ok(targets)
}

/// Phase B's round on `ids`: read, check active, add 10 %, each its own transaction.
pub(crate) fn single(c: &mut Connection, ids: &[String]) -> Result<f64> {
    rate(ids.len() * STEPS, || {
        (0..STEPS).try_for_each(|_| {
            ids.iter().try_for_each(|id| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (rid, status, progress): (i64, String, f64) = tx
                    .prepare_cached("SELECT rid, status, progress FROM enrollments WHERE id = ?1")?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                if status != "active" {
                    return Err(rusqlite::Error::InvalidQuery);
                }
                let at = now();
                let progress = progress + 10.0;
                if progress >= 100.0 {
                    tx.prepare_cached(
                        "UPDATE enrollments SET status = 'completed', progress = 100, completed_at = ?2,
                         updated_at = ?2 WHERE rid = ?1",
                    )?
                    .execute(params![rid, at])?;
                    tx.prepare_cached(
                        "INSERT INTO events (enrollment_id, action, from_status, to_status, at)
                         VALUES (?1, 'completed', 'active', 'completed', ?2)",
                    )?
                    .execute(params![id, at])?;
                } else {
                    tx.prepare_cached(
                        "UPDATE enrollments SET progress = ?2, updated_at = ?3 WHERE rid = ?1",
                    )?
                    .execute(params![rid, progress, at])?;
                    tx.prepare_cached(
                        "INSERT INTO events (enrollment_id, action, from_status, to_status, at)
                         VALUES (?1, 'progress', 'active', 'active', ?2)",
                    )?
                    .execute(params![id, at])?;
                }
                tx.commit()
            })
        })
    })
}

fn page(c: &Connection, program: &str, offset: usize) -> Result<Vec<Row>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM enrollments WHERE program_id = ?1 AND status = 'active'
         ORDER BY rid DESC LIMIT ?2 OFFSET ?3"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![program, PER_PAGE as i64, offset as i64], row)?;
    rows.collect()
}

fn queries(w: &Workload, c: &Connection, f: &mut Figures) -> Result<()> {
    let timed = |q: &dyn Fn(usize) -> Result<Vec<Row>>| -> Result<f64> {
        query_rate(w.queries, || {
            (0..w.queries).try_for_each(|i| match q(i)?.len() {
                0 => Err(rusqlite::Error::QueryReturnedNoRows),
                _ => Ok(()),
            })
        })
    };
    let program = |q: usize| Workload::program(q % w.programs);
    let offset = |q: usize| (w.last_page(q % w.programs) - 1) * PER_PAGE;
    f.first_page = timed(&|q| page(c, &program(q), 0))?;
    f.offset_deep = timed(&|q| page(c, &program(q), offset(q)))?;
    // Keyset: the cursor is the rid of the last row of the page before the last one (untimed).
    let mut cursors = Vec::with_capacity(w.queries);
    for q in 0..w.queries {
        let before = match offset(q) {
            0 => None,
            o => page(c, &program(q), o - PER_PAGE)?.pop().map(|r| r.rid),
        };
        cursors.push(before.unwrap_or(i64::MAX));
    }
    f.keyset_deep = timed(&|q| {
        let sql = format!(
            "SELECT {COLUMNS} FROM enrollments WHERE program_id = ?1 AND status = 'active'
             AND rid < ?2 ORDER BY rid DESC LIMIT ?3"
        );
        let mut stmt = c.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![program(q), cursors[q], PER_PAGE as i64], row)?;
        rows.collect()
    })?;
    Ok(())
}

/// The ids of the `count` newest active enrollments (the paired rounds' targets).
pub(crate) fn active_ids(c: &Connection, count: usize) -> Result<Vec<String>> {
    c.prepare("SELECT id FROM enrollments WHERE status = 'active' ORDER BY rid DESC LIMIT ?1")?
        .query_map([count as i64], |r| r.get(0))?
        .collect()
}

pub(crate) fn run(w: &Workload) -> Result<Figures> {
    let mut f = Figures::default();
    let targets = {
        let mut c = open(w, false)?;
        c.execute_batch(SCHEMA)?;
        bulk(w, &mut c, &mut f)?
    };
    f.db_bytes = file_size(&w.db);
    let (normal, full) = targets.split_at(w.rounds * w.b_targets());
    let mut c = open(w, false)?;
    f.single_normal = median_round(w, normal, |ids| single(&mut c, ids))?;
    drop(c);
    f.single_full = single(&mut open(w, true)?, full)?;
    let c = open(w, false)?;
    // Phase B must have completed exactly its targets.
    let completed: Option<i64> = c
        .query_row(
            "SELECT COUNT(*) FROM enrollments WHERE status = 'completed'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if completed != Some(w.b_changed() as i64) {
        return Err(rusqlite::Error::InvalidQuery);
    }
    queries(w, &c, &mut f)?;
    Ok(f)
}
