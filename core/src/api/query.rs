//! Listing enrollments: filters, page/per_page pagination (as the course reference) and keyset
//! cursors (`starting_after`) that stay stable while rows are written.
//!
//! Keyset pages cost the same at any depth: every filter combination is served by an index
//! ending in the insertion order (`enrollments_user`, `enrollments_program_status`), and the
//! cursor turns into a range condition on it. A program's enrollments of every status are the
//! merge of its per-status runs of `enrollments_program_status` (eleven index seeks, no sort).
//! Offset pages (`page`, `per_page`) must skip `(page - 1) * per_page` index entries, so deep
//! offset pages get slower (about three times more so for that merge); prefer cursors for
//! exports and feeds.

use rusqlite::types::Value as SqlValue;

use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{Actor, Enrollment, Kind, Program, Status, Trigger};
use crate::domain::time::Timestamp;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::sqlite::db;

/// Default page size (the course reference's `per_page` default).
pub const DEFAULT_PER_PAGE: u32 = 20;
/// Largest page size (the course reference's `per_page` maximum).
pub const MAX_PER_PAGE: u32 = 100;

/// Order of a listing: by creation (insertion) order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    #[default]
    OldestFirst,
    /// Newest first.
    NewestFirst,
}

/// Which page to return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pagination {
    /// Page number (1-based) of `per_page` rows (1–100), as in the course reference.
    Page {
        /// 1-based page number.
        page: u32,
        /// Rows per page, 1–100.
        per_page: u32,
    },
    /// Up to `limit` rows (1–100) after the enrollment `starting_after` (exclusive) in the
    /// listing's order; from the start when `None`.
    Cursor {
        /// Id of the last enrollment of the previous page.
        starting_after: Option<String>,
        /// Rows per page, 1–100.
        limit: u32,
    },
}

impl Default for Pagination {
    fn default() -> Self {
        Pagination::Page {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// Filters and pagination for [`Store::list_enrollments`]. Every filter is optional; all given
/// filters must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    /// Only this user's enrollments (learners always get only their own).
    pub user_id: Option<String>,
    /// Only this program's enrollments.
    pub program_id: Option<String>,
    /// Only this status, named in the program's vocabulary (`in_progress`, `dropped`, ...).
    /// Without `program_id` a name matches in every vocabulary that has it.
    pub status: Option<String>,
    /// Only enrollments created by this trigger.
    pub trigger: Option<Trigger>,
    /// Enrolled at or after this instant.
    pub enrolled_from: Option<Timestamp>,
    /// Enrolled before this instant.
    pub enrolled_to: Option<Timestamp>,
    /// Completed at or after this instant.
    pub completed_from: Option<Timestamp>,
    /// Completed before this instant.
    pub completed_to: Option<Timestamp>,
    /// Order.
    pub order: Order,
    /// Page.
    pub pagination: Pagination,
}

/// One page of enrollments. Serializes as `{"items": [...], "has_more": bool, "next_cursor":
/// id or null}`, the form the C ABI and the Python module return.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EnrollmentPage {
    /// The enrollments on this page.
    pub items: Vec<Enrollment>,
    /// Whether more rows follow.
    pub has_more: bool,
    /// Pass as `starting_after` to get the next page (cursor pagination; `None` at the end).
    pub next_cursor: Option<String>,
}

impl Store {
    /// Lists enrollments matching `query`. Admins and the system see every enrollment; learners
    /// see only their own (filtering on another user is `permission_denied`).
    ///
    /// ```
    /// use enrollkit::{Actor, ListQuery, Pagination, Store};
    /// let store = Store::open_in_memory()?;
    /// let page = store.list_enrollments(&Actor::Admin, &ListQuery {
    ///     status: Some("active".into()),
    ///     pagination: Pagination::Cursor { starting_after: None, limit: 50 },
    ///     ..ListQuery::default()
    /// })?;
    /// assert!(page.items.is_empty() && !page.has_more);
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn list_enrollments(&self, actor: &Actor, query: &ListQuery) -> Result<EnrollmentPage> {
        let mut user_id = query.user_id.clone();
        if let Actor::Learner(me) = actor {
            match &user_id {
                Some(u) => lifecycle::authorize_read(actor, u)?,
                None => user_id = Some(me.clone()),
            }
        }
        validate::opt_id("user_id", user_id.as_deref())?;
        validate::opt_id("program_id", query.program_id.as_deref())?;
        let (limit, offset) = match &query.pagination {
            Pagination::Page { page, per_page } => {
                check_page_size(*per_page)?;
                if *page == 0 {
                    return Err(Error::validation("page", "pages are numbered from 1"));
                }
                (*per_page, u64::from(*page - 1) * u64::from(*per_page))
            }
            Pagination::Cursor {
                starting_after,
                limit,
            } => {
                check_page_size(*limit)?;
                validate::opt_id("starting_after", starting_after.as_deref())?;
                (*limit, 0)
            }
        };

        self.db.read(|c| {
            let program = match &query.program_id {
                Some(p) => Some(db::get_program(c, p)?),
                None => None,
            };
            let cursor_rid = match &query.pagination {
                Pagination::Cursor {
                    starting_after: Some(after),
                    ..
                } => {
                    let (rid, e) = db::get_enrollment(c, after).map_err(|err| match err {
                        Error::NotFound { .. } => Error::validation(
                            "starting_after",
                            format!("no enrollment {after:?} to continue after"),
                        ),
                        other => other,
                    })?;
                    lifecycle::authorize_read(actor, &e.user_id)?;
                    Some(rid)
                }
                _ => None,
            };
            let resolved = Resolved {
                user_id: user_id.as_deref(),
                program: program.as_ref(),
                cursor_rid,
                limit,
                offset,
            };
            let (sql, values) = list_sql(query, &resolved)?;
            let mut stmt = c.prepare_cached(&sql)?;
            let from_row = match resolved.program {
                Some(_) => db::stored_enrollment_from_row,
                None => db::enrollment_from_row,
            };
            let rows = stmt.query_map(rusqlite::params_from_iter(values), from_row)?;
            let mut items: Vec<Enrollment> = rows
                .map(|r| r.map(|(_, e)| e))
                .collect::<rusqlite::Result<_>>()?;
            if let Some(p) = resolved.program {
                for e in &mut items {
                    e.steps_total = p.steps.len() as u32;
                }
            }
            let has_more = items.len() > limit as usize;
            items.truncate(limit as usize);
            let next_cursor = if has_more {
                items.last().map(|e| e.id.clone())
            } else {
                None
            };
            Ok(EnrollmentPage {
                items,
                has_more,
                next_cursor,
            })
        })
    }
}

/// What [`list_sql`] needs besides the query: looked up or decided by the caller.
struct Resolved<'a> {
    /// The user filter after applying the actor (learners: always themselves).
    user_id: Option<&'a str>,
    /// The filtered program: the status is parsed in its kind's vocabulary, and the listing
    /// selects only the stored columns, the caller setting every row's `steps_total` to the
    /// program's step count; without a program filter, rows span programs and count their
    /// program's steps in SQL.
    program: Option<&'a Program>,
    /// The rowid of the `starting_after` enrollment.
    cursor_rid: Option<i64>,
    /// Rows to return (one more is fetched to learn `has_more`).
    limit: u32,
    /// Rows to skip (page pagination).
    offset: u64,
}

/// The SELECT for a listing and its parameters.
fn list_sql(query: &ListQuery, r: &Resolved<'_>) -> Result<(String, Vec<SqlValue>)> {
    let mut w = Where::default();
    if let Some(u) = r.user_id {
        w.add("e.user_id = ?", SqlValue::Text(u.to_owned()));
    }
    if let Some(p) = &query.program_id {
        // With a user filter, walk the user's (few) enrollments, not the program's (many).
        let clause = if r.user_id.is_some() {
            "+e.program_id = ?"
        } else {
            "e.program_id = ?"
        };
        w.add(clause, SqlValue::Text(p.clone()));
    }
    if let Some(name) = &query.status {
        let pairs: Vec<(Kind, Status)> = match r.program {
            Some(p) => vec![(p.kind, Status::parse(p.kind, name)?)],
            None => Status::matching(name),
        };
        if pairs.is_empty() {
            return Err(Error::validation(
                "status",
                format!("{name:?} is not a status of any program kind"),
            ));
        }
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
    if let Some(t) = query.trigger {
        w.add("e.trigger = ?", SqlValue::Text(t.as_str().to_owned()));
    }
    let time = |t: Timestamp| SqlValue::Integer(t.millis());
    if let Some(t) = query.enrolled_from {
        w.add("e.enrolled_at >= ?", time(t));
    }
    if let Some(t) = query.enrolled_to {
        w.add("e.enrolled_at < ?", time(t));
    }
    if let Some(t) = query.completed_from {
        w.add("e.completed_at >= ?", time(t));
    }
    if let Some(t) = query.completed_to {
        w.add("e.completed_at < ?", time(t));
    }
    let (cmp, dir) = match query.order {
        Order::OldestFirst => (">", "ASC"),
        Order::NewestFirst => ("<", "DESC"),
    };
    if let Some(rid) = r.cursor_rid {
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
    // Counting the steps for every row (a correlated subquery, one index seek a row) cost a
    // tenth of a first page at 1,000,000.
    let columns = match r.program {
        Some(_) => db::ENROLLMENT_STORED_COLUMNS,
        None => db::ENROLLMENT_COLUMNS,
    };
    let sql = if query.program_id.is_some() && r.user_id.is_none() && query.status.is_none() {
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
    Ok((sql, values))
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

fn check_page_size(n: u32) -> Result<()> {
    if n == 0 || n > MAX_PER_PAGE {
        return Err(Error::validation(
            "per_page",
            format!("{n} is not between 1 and {MAX_PER_PAGE}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::ProgramSpec;

    /// The query plan of a listing: no full scan of enrollments (other than by rowid when
    /// nothing narrows it) and no sort, so a deep keyset page costs what the first page costs.
    fn plan(query: &ListQuery, user: Option<&str>, kind: Option<Kind>) -> String {
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
        let r = Resolved {
            user_id: user,
            program: program.as_ref(),
            cursor_rid: Some(1_000),
            limit: 20,
            offset: 0,
        };
        let (sql, values) = list_sql(query, &r).unwrap();
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
        let by_program = ListQuery {
            program_id: Some("p".into()),
            ..ListQuery::default()
        };
        let by_program_status = ListQuery {
            status: Some("active".into()),
            order: Order::NewestFirst,
            ..by_program.clone()
        };
        let cases = [
            (
                plan(&ListQuery::default(), None, None),
                "SEARCH e USING INTEGER PRIMARY KEY",
            ),
            (
                plan(&by_program, None, Some(Kind::Course)),
                "MERGE (UNION ALL)",
            ),
            (
                plan(&by_program, None, Some(Kind::Course)),
                "COVERING INDEX enrollments_program_status (program_id=? AND status=? AND rid>?)",
            ),
            (
                plan(&by_program_status, None, Some(Kind::Course)),
                "enrollments_program_status",
            ),
            (
                plan(&ListQuery::default(), Some("u"), None),
                "enrollments_user",
            ),
        ];
        for (plan, index) in cases {
            assert!(plan.contains(index), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "sorts: {plan}");
        }
    }
}
