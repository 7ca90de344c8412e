//! The `floor-pg` contender: workload W with the `postgres` crate, hand-written SQL and
//! statements prepared once per connection over `bench/floor_schema_pg.sql`, doing the work of
//! the SQLite floor (`floor.rs`) with the same statements. Nothing a hand-written application
//! could skip is skipped: ids are UUIDv7 text, every change writes its event, the
//! open-enrollment rule is the database's (a partial unique index), foreign keys are checked,
//! and phase B locks the row it reads (`FOR UPDATE`), as a program that other processes write
//! beside must under `READ COMMITTED`.
//!
//! Phase B is five round trips an operation: `BEGIN`, the `SELECT ... FOR UPDATE`, the
//! `UPDATE`, the event's `INSERT`, `COMMIT` (the `postgres` crate waits for each).
//!
//! Phase A's technique ([`Bulk`]): `floor-pg` inserts 64 rows per multi-row `INSERT` (users;
//! enrollments, then their events), the technique enrollkit uses, so that the two compare the
//! same statements; `floor-pg-copy` loads each chunk with binary `COPY`, the fastest load a
//! hand-written program can do, shown for what it leaves on the table. A program that must say
//! which rows of a batch were refused (as `enroll_many` does) cannot use `COPY`, which refuses
//! the whole batch for one bad row.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Statement, Transaction};

use crate::pg::{self, Error};
use crate::{
    bulk_enroll_rate, chunks, median_round, query_rate, rate, Figures, Workload, PER_PAGE, STEPS,
};

type Result<T> = std::result::Result<T, Error>;

const SCHEMA: &str = include_str!("../floor_schema_pg.sql");

/// Rows per multi-row `INSERT` of phase A with [`Bulk::Insert`], as enrollkit's.
const ROWS_PER_INSERT: usize = 64;

/// How phase A writes its rows.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Bulk {
    /// Multi-row `INSERT`s of [`ROWS_PER_INSERT`] rows, prepared once per row count.
    Insert,
    /// Binary `COPY ... FROM STDIN`, one per table and chunk.
    Copy,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const COLUMNS: &str =
    "rid, id, user_id, program_id, status, progress, enrolled_at, completed_at, updated_at";

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

fn row(r: &postgres::Row) -> Result<Row> {
    Ok(Row {
        rid: r.try_get(0)?,
        id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        program_id: r.try_get(3)?,
        status: r.try_get(4)?,
        progress: r.try_get(5)?,
        enrolled_at: r.try_get(6)?,
        completed_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
    })
}

/// Phase B's and C's statements, prepared once on a connection.
struct Statements {
    select: Statement,
    progress: Statement,
    complete: Statement,
    progress_event: Statement,
    complete_event: Statement,
    page: Statement,
    keyset: Statement,
}

/// The first page's (and the offset page's) query.
fn page_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM enrollments WHERE program_id = $1 AND status = 'active'
         ORDER BY rid DESC LIMIT $2 OFFSET $3"
    )
}

impl Statements {
    fn prepare(c: &mut Client) -> Result<Statements> {
        Ok(Statements {
            select: c.prepare(
                "SELECT rid, status, progress FROM enrollments WHERE id = $1 FOR UPDATE",
            )?,
            progress: c
                .prepare("UPDATE enrollments SET progress = $2, updated_at = $3 WHERE rid = $1")?,
            complete: c.prepare(
                "UPDATE enrollments SET status = 'completed', progress = 100, completed_at = $2,
                 updated_at = $2 WHERE rid = $1",
            )?,
            progress_event: c.prepare(
                "INSERT INTO events (enrollment_id, action, from_status, to_status, at)
                 VALUES ($1, 'progress', 'active', 'active', $2)",
            )?,
            complete_event: c.prepare(
                "INSERT INTO events (enrollment_id, action, from_status, to_status, at)
                 VALUES ($1, 'completed', 'active', 'completed', $2)",
            )?,
            page: c.prepare(&page_sql())?,
            keyset: c.prepare(&format!(
                "SELECT {COLUMNS} FROM enrollments WHERE program_id = $1 AND status = 'active'
                 AND rid < $2 ORDER BY rid DESC LIMIT $3"
            ))?,
        })
    }
}

/// A multi-row `INSERT`: `head` then `VALUES` and `row` once per row, whose `?k` are the
/// row's k-th parameter (1 to `params`). Prepared once per row count.
struct MultiRow {
    head: &'static str,
    row: &'static str,
    params: usize,
    prepared: HashMap<usize, Statement>,
}

impl MultiRow {
    fn new(head: &'static str, row: &'static str, params: usize) -> MultiRow {
        MultiRow {
            head,
            row,
            params,
            prepared: HashMap::new(),
        }
    }

    fn sql(&self, rows: usize) -> String {
        let rows: Vec<String> = (0..rows)
            .map(|r| {
                // Highest first, so that ?1 does not match the start of ?10.
                (1..=self.params).rev().fold(self.row.to_owned(), |row, k| {
                    row.replace(&format!("?{k}"), &format!("${}", r * self.params + k))
                })
            })
            .collect();
        format!("{} VALUES {}", self.head, rows.join(", "))
    }

    /// Inserts the rows of `values` (`params` a row), [`ROWS_PER_INSERT`] per statement.
    fn insert(&mut self, tx: &mut Transaction<'_>, values: &[&(dyn ToSql + Sync)]) -> Result<()> {
        for batch in values.chunks(ROWS_PER_INSERT * self.params) {
            let rows = batch.len() / self.params;
            if !self.prepared.contains_key(&rows) {
                let statement = tx.prepare(&self.sql(rows))?;
                self.prepared.insert(rows, statement);
            }
            tx.execute(&self.prepared[&rows], batch)?;
        }
        Ok(())
    }
}

/// Phase A; returns the ids of the enrollments phase B changes.
fn bulk(w: &Workload, c: &mut Client, bulk: Bulk, f: &mut Figures) -> Result<Vec<String>> {
    let mut tx = c.transaction()?;
    let program = tx.prepare(
        "INSERT INTO programs (id, kind, title, state, created_at) VALUES ($1, 'course', $2, 'active', $3)",
    )?;
    for j in 0..w.programs {
        tx.execute(
            &program,
            &[&Workload::program(j), &format!("Course {j}"), &now()],
        )?;
    }
    tx.commit()?;
    let mut users = MultiRow::new("INSERT INTO users (id, created_at)", "(?1, ?2)", 2);
    f.users = rate(w.n, || {
        chunks(w.n).try_for_each(|range| -> Result<()> {
            let mut tx = c.transaction()?;
            if bulk == Bulk::Copy {
                let sink = tx.copy_in("COPY users (id, created_at) FROM STDIN (FORMAT binary)")?;
                let mut writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT8]);
                for i in range {
                    writer.write(&[&Workload::user(i), &now()])?;
                }
                writer.finish()?;
            } else {
                let rows: Vec<(String, i64)> = range.map(|i| (Workload::user(i), now())).collect();
                let values: Vec<&(dyn ToSql + Sync)> = rows
                    .iter()
                    .flat_map(|(id, at)| [id as &(dyn ToSql + Sync), at])
                    .collect();
                users.insert(&mut tx, &values)?;
            }
            Ok(tx.commit()?)
        })
    })?;
    let mut enrollments = MultiRow::new(
        "INSERT INTO enrollments (id, user_id, program_id, status, enrolled_at, updated_at)",
        "(?1, ?2, ?3, 'active', ?4, ?4)",
        4,
    );
    let mut events = MultiRow::new(
        "INSERT INTO events (enrollment_id, action, to_status, at)",
        "(?1, 'enrolled', 'active', ?2)",
        2,
    );
    let keep = w.b_changed();
    let mut targets = Vec::with_capacity(keep);
    f.enroll = bulk_enroll_rate(w.n, || {
        chunks(w.n).try_for_each(|range| -> Result<()> {
            let rows: Vec<(String, String, String, i64)> = range
                .map(|i| {
                    let id = format!("enr_{}", uuid::Uuid::now_v7().simple());
                    let program = Workload::program(i % w.programs);
                    (id, Workload::user(i), program, now())
                })
                .collect();
            let mut tx = c.transaction()?;
            if bulk == Bulk::Copy {
                let sink = tx.copy_in(
                    "COPY enrollments (id, user_id, program_id, status, enrolled_at, updated_at) \
                     FROM STDIN (FORMAT binary)",
                )?;
                let types = [
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::INT8,
                    Type::INT8,
                ];
                let mut writer = BinaryCopyInWriter::new(sink, &types);
                for (id, user, program, at) in &rows {
                    writer.write(&[id, user, program, &"active", at, at])?;
                }
                writer.finish()?;
                let sink = tx.copy_in(
                    "COPY events (enrollment_id, action, to_status, at) FROM STDIN (FORMAT binary)",
                )?;
                let types = [Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8];
                let mut writer = BinaryCopyInWriter::new(sink, &types);
                for (id, _, _, at) in &rows {
                    writer.write(&[id, &"enrolled", &"active", at])?;
                }
                writer.finish()?;
            } else {
                let values: Vec<&(dyn ToSql + Sync)> = rows
                    .iter()
                    .flat_map(|(id, user, program, at)| {
                        [id as &(dyn ToSql + Sync), user, program, at]
                    })
                    .collect();
                enrollments.insert(&mut tx, &values)?;
                let values: Vec<&(dyn ToSql + Sync)> = rows
                    .iter()
                    .flat_map(|(id, _, _, at)| [id as &(dyn ToSql + Sync), at])
                    .collect();
                events.insert(&mut tx, &values)?;
            }
            tx.commit()?;
            let wanted = keep - targets.len();
            targets.extend(rows.into_iter().take(wanted).map(|r| r.0));
            Ok(())
        })
    })?;
    Ok(targets)
}

/// Phase B's round on `ids`: read (locking the row), check active, add 10 %, each its own
/// transaction.
fn single(c: &mut Client, s: &Statements, ids: &[String]) -> Result<f64> {
    rate(ids.len() * STEPS, || {
        (0..STEPS).try_for_each(|_| {
            ids.iter().try_for_each(|id| -> Result<()> {
                let mut tx = c.transaction()?;
                let r = tx.query_one(&s.select, &[id])?;
                let (rid, status, progress): (i64, &str, f64) =
                    (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                if status != "active" {
                    return Err(format!("{id} is not active").into());
                }
                let at = now();
                let progress = progress + 10.0;
                if progress >= 100.0 {
                    tx.execute(&s.complete, &[&rid, &at])?;
                    tx.execute(&s.complete_event, &[id, &at])?;
                } else {
                    tx.execute(&s.progress, &[&rid, &progress, &at])?;
                    tx.execute(&s.progress_event, &[id, &at])?;
                }
                Ok(tx.commit()?)
            })
        })
    })
}

/// A page of `program`'s active enrollments, newest first, from `offset`.
fn page(c: &mut Client, s: &Statement, program: &str, offset: usize) -> Result<Vec<Row>> {
    c.query(s, &[&program, &(PER_PAGE as i64), &(offset as i64)])?
        .iter()
        .map(row)
        .collect()
}

/// Phase C: first pages, last pages by offset and by keyset cursor, into `f`.
fn queries(w: &Workload, c: &mut Client, s: &Statements, f: &mut Figures) -> Result<()> {
    let timed = |c: &mut Client,
                 q: &mut dyn FnMut(&mut Client, usize) -> Result<Vec<Row>>|
     -> Result<f64> {
        query_rate(w.queries, || {
            (0..w.queries).try_for_each(|i| match q(c, i)?.len() {
                0 => Err(format!("query {i}: empty page").into()),
                _ => Ok(()),
            })
        })
    };
    let program = |q: usize| Workload::program(q % w.programs);
    let offset = |q: usize| (w.last_page(q % w.programs) - 1) * PER_PAGE;
    f.first_page = timed(c, &mut |c, q| page(c, &s.page, &program(q), 0))?;
    f.offset_deep = timed(c, &mut |c, q| page(c, &s.page, &program(q), offset(q)))?;
    // Keyset: the cursor is the rid of the last row of the page before the last one (untimed).
    let mut cursors = Vec::with_capacity(w.queries);
    for q in 0..w.queries {
        let before = match offset(q) {
            0 => None,
            o => page(c, &s.page, &program(q), o - PER_PAGE)?
                .pop()
                .map(|r| r.rid),
        };
        cursors.push(before.unwrap_or(i64::MAX));
    }
    f.keyset_deep = timed(c, &mut |c, q| {
        c.query(&s.keyset, &[&program(q), &cursors[q], &(PER_PAGE as i64)])?
            .iter()
            .map(row)
            .collect()
    })?;
    Ok(())
}

/// Workload W on a new database of the server at `w.db`, named for `contender`.
pub(crate) fn run(
    w: &Workload,
    contender: &str,
    bulk_by: Bulk,
) -> std::result::Result<Figures, String> {
    run_floor(w, contender, bulk_by).map_err(|e| e.to_string())
}

fn run_floor(w: &Workload, contender: &str, bulk_by: Bulk) -> Result<Figures> {
    let base = w.db.to_str().ok_or("the location is not UTF-8")?;
    let location = pg::fresh_database(base, &pg::database_name(contender, w.n))?;
    let mut c = pg::connect(&location)?;
    c.batch_execute(SCHEMA)?;
    let mut f = Figures::default();
    let targets = bulk(w, &mut c, bulk_by, &mut f)?;
    f.db_bytes = pg::database_bytes(&location)?;
    let s = Statements::prepare(&mut c)?;
    f.single_normal = median_round(w, &targets, |ids| single(&mut c, &s, ids))?;
    // Phase B must have completed exactly its targets.
    let completed: i64 = c
        .query_one(
            "SELECT count(*) FROM enrollments WHERE status = 'completed'",
            &[],
        )?
        .get(0);
    if completed != w.b_changed() as i64 {
        return Err(format!(
            "phase B completed {completed} enrollments, not {}",
            w.b_changed()
        )
        .into());
    }
    queries(w, &mut c, &s, &mut f)?;
    drop(c);
    let page_sql = page_sql();
    f.first_page_threads = pg::concurrent_first_pages(
        w,
        || {
            let mut c = pg::connect(&location)?;
            let s = c.prepare(&page_sql)?;
            Ok((c, s))
        },
        |(c, s), j| match page(c, s, &Workload::program(j), 0)?.len() {
            0 => Err(format!("program {j}: empty first page").into()),
            _ => Ok(()),
        },
    )?;
    Ok(f)
}
