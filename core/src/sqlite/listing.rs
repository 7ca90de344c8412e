//! The SQL of enrollment listings. Keyset pages cost the same at any depth: every filter
//! combination is served by an index ending in the insertion order (`enrollments_user`,
//! `enrollments_program_status`), and the cursor turns into a range condition on it. A
//! program's enrollments of every status are the merge of its per-status runs of
//! `enrollments_program_status` (eleven index seeks, no sort). Offset pages must skip
//! `(page - 1) * per_page` index entries, so deep offset pages get slower.

use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

use crate::domain::model::{Enrollment, Status};
use crate::domain::time::Timestamp;
use crate::error::Result;
use crate::sqlite::db;
use crate::storage::{EnrollmentKey, Listing};

/// The enrollments of `l`'s page, plus one more when there is one (to learn `has_more`), with
/// `steps_total` set.
pub(crate) fn list_enrollments(conn: &Connection, l: &Listing<'_>) -> Result<Vec<Enrollment>> {
    let (sql, values) = list_sql(l);
    let mut stmt = conn.prepare_cached(&sql)?;
    let from_row = match l.program {
        Some(_) => db::stored_enrollment_from_row,
        None => db::enrollment_from_row,
    };
    let rows = stmt.query_map(rusqlite::params_from_iter(values), from_row)?;
    let mut items: Vec<Enrollment> = rows
        .map(|r| r.map(|(_, e)| e))
        .collect::<rusqlite::Result<_>>()?;
    if let Some(p) = l.program {
        for e in &mut items {
            e.steps_total = p.steps.len() as u32;
        }
    }
    Ok(items)
}

/// The SELECT for a listing and its parameters.
fn list_sql(r: &Listing<'_>) -> (String, Vec<SqlValue>) {
    let mut w = Where::default();
    if let Some(u) = r.user_id {
        w.add("e.user_id = ?", SqlValue::Text(u.to_owned()));
    }
    if let Some(p) = r.program.map(|p| &p.id) {
        // With a user filter, walk the user's (few) enrollments, not the program's (many).
        let clause = if r.user_id.is_some() {
            "+e.program_id = ?"
        } else {
            "e.program_id = ?"
        };
        w.add(clause, SqlValue::Text(p.clone()));
    }
    if let Some(pairs) = &r.statuses {
        // A name means one canonical status in every vocabulary that has it, so status and
        // kind can be filtered separately.
        let statuses: Vec<String> = pairs.iter().map(|(_, s)| s.code().to_string()).collect();
        w.clauses
            .push(format!("e.status IN ({})", statuses.join(", ")));
        if r.program.is_none() {
            let kinds: Vec<String> = pairs
                .iter()
                .map(|(k, _)| db::kind_code(*k).to_string())
                .collect();
            w.clauses.push(format!("e.kind IN ({})", kinds.join(", ")));
        }
    }
    if let Some(t) = r.trigger {
        w.add("e.trigger = ?", SqlValue::Text(t.as_str().to_owned()));
    }
    let time = |t: Timestamp| SqlValue::Integer(t.millis());
    if let Some(t) = r.enrolled.0 {
        w.add("e.enrolled_at >= ?", time(t));
    }
    if let Some(t) = r.enrolled.1 {
        w.add("e.enrolled_at < ?", time(t));
    }
    if let Some(t) = r.completed.0 {
        w.add("e.completed_at >= ?", time(t));
    }
    if let Some(t) = r.completed.1 {
        w.add("e.completed_at < ?", time(t));
    }
    let (cmp, dir) = if r.newest_first {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(EnrollmentKey(rid)) = r.after {
        w.add(&format!("e.rid {cmp} ?"), SqlValue::Integer(rid));
    }
    let filter = if w.clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.clauses.join(" AND "))
    };
    let mut values = w.values;
    values.push(SqlValue::Integer(i64::from(r.limit) + 1));
    values.push(SqlValue::Integer(r.offset as i64));
    let n = values.len();
    let (limit, offset) = (n - 1, n);
    // With the program known, its step count is the caller's to set: counting the steps for
    // every row would take a correlated subquery, one index seek a row.
    let columns = match r.program {
        Some(_) => db::ENROLLMENT_STORED_COLUMNS,
        None => db::ENROLLMENT_COLUMNS,
    };
    let sql = if r.program.is_some() && r.user_id.is_none() && r.statuses.is_none() {
        // No index orders a program's enrollments by rid alone (one more index would cost
        // every enrollment a B-tree write): merge the program's per-status runs of
        // enrollments_program_status, which SQLite does without sorting and stops at the page.
        let and = if filter.is_empty() { "WHERE" } else { "AND" };
        let runs: Vec<String> = Status::ALL
            .iter()
            .map(|s| {
                format!(
                    "SELECT e.rid FROM enrollments e {filter} {and} e.status = {}",
                    s.code()
                )
            })
            .collect();
        format!(
            "SELECT {columns} FROM enrollments e WHERE e.rid IN ({} ORDER BY 1 {dir} \
             LIMIT ?{limit} OFFSET ?{offset}) ORDER BY e.rid {dir}",
            runs.join(" UNION ALL ")
        )
    } else {
        format!(
            "SELECT {columns} FROM enrollments e {filter} ORDER BY e.rid {dir} \
             LIMIT ?{limit} OFFSET ?{offset}"
        )
    };
    (sql, values)
}

/// A WHERE clause under construction: `?` in each added clause becomes the next numbered
/// parameter.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    values: Vec<SqlValue>,
}

impl Where {
    fn add(&mut self, clause: &str, value: SqlValue) {
        self.values.push(value);
        self.clauses
            .push(clause.replace('?', &format!("?{}", self.values.len())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Kind, Program, ProgramSpec};

    /// The query plan of a listing: no full scan of enrollments (other than by rowid when
    /// nothing narrows it) and no sort, so a deep keyset page costs what the first page costs.
    fn plan(
        status: Option<Status>,
        newest_first: bool,
        user: Option<&str>,
        kind: Option<Kind>,
    ) -> String {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        let program = kind.map(|kind| Program {
            spec: ProgramSpec {
                kind,
                ..ProgramSpec::course("p", "P")
            },
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        });
        let r = Listing {
            user_id: user,
            program: program.as_ref(),
            statuses: status.map(|s| vec![(kind.unwrap_or(Kind::Course), s)]),
            trigger: None,
            enrolled: (None, None),
            completed: (None, None),
            newest_first,
            after: Some(EnrollmentKey(1_000)),
            limit: 20,
            offset: 0,
        };
        let (sql, values) = list_sql(&r);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn listings_use_an_index_in_rid_order() {
        let course = Some(Kind::Course);
        let cases = [
            (
                plan(None, false, None, None),
                "SEARCH e USING INTEGER PRIMARY KEY",
            ),
            (plan(None, false, None, course), "MERGE (UNION ALL)"),
            (
                plan(None, false, None, course),
                "COVERING INDEX enrollments_program_status (program_id=? AND status=? AND rid>?)",
            ),
            (
                plan(Some(Status::Active), true, None, course),
                "enrollments_program_status",
            ),
            (plan(None, false, Some("u"), None), "enrollments_user"),
        ];
        for (plan, index) in cases {
            assert!(plan.contains(index), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "sorts: {plan}");
        }
    }
}
