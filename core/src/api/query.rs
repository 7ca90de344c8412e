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

use crate::api::Store;
use crate::domain::lifecycle;
use crate::domain::model::{Actor, Enrollment, Kind, Status, Trigger};
use crate::domain::time::Timestamp;
use crate::domain::validate;
use crate::error::{Error, Result};
use crate::storage::Listing;

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
        // The cursor is an enrollment id: either spelling (validate::enrollment_id).
        let (limit, offset, after) = match &query.pagination {
            Pagination::Page { page, per_page } => {
                check_page_size(*per_page)?;
                if *page == 0 {
                    return Err(Error::validation("page", "pages are numbered from 1"));
                }
                (*per_page, u64::from(*page - 1) * u64::from(*per_page), None)
            }
            Pagination::Cursor {
                starting_after,
                limit,
            } => {
                check_page_size(*limit)?;
                let after = starting_after
                    .as_deref()
                    .map(|after| validate::enrollment_id("starting_after", after))
                    .transpose()?;
                (*limit, 0, after)
            }
        };

        self.read(|tx| {
            let program = match &query.program_id {
                Some(p) => Some(tx.program(p)?),
                None => None,
            };
            let cursor = match after.as_deref() {
                Some(after) => {
                    let (key, e) = tx.enrollment(after).map_err(|err| match err {
                        Error::NotFound { .. } => Error::validation(
                            "starting_after",
                            format!("no enrollment {after:?} to continue after"),
                        ),
                        other => other,
                    })?;
                    lifecycle::authorize_read(actor, &e.user_id)?;
                    Some(key)
                }
                _ => None,
            };
            let statuses = match &query.status {
                None => None,
                Some(name) => {
                    let pairs: Vec<(Kind, Status)> = match &program {
                        Some(p) => vec![(p.kind, Status::parse(p.kind, name)?)],
                        None => Status::matching(name),
                    };
                    if pairs.is_empty() {
                        return Err(Error::validation(
                            "status",
                            format!("{name:?} is not a status of any program kind"),
                        ));
                    }
                    Some(pairs)
                }
            };
            let mut items = tx.enrollments(&Listing {
                user_id: user_id.as_deref(),
                program: program.as_deref(),
                statuses,
                trigger: query.trigger,
                enrolled: (query.enrolled_from, query.enrolled_to),
                completed: (query.completed_from, query.completed_to),
                newest_first: query.order == Order::NewestFirst,
                after: cursor,
                limit,
                offset,
            })?;
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

fn check_page_size(n: u32) -> Result<()> {
    if n == 0 || n > MAX_PER_PAGE {
        return Err(Error::validation(
            "per_page",
            format!("{n} is not between 1 and {MAX_PER_PAGE}"),
        ));
    }
    Ok(())
}
