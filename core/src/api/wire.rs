//! The JSON input forms of requests, shared by every surface that takes JSON (the C ABI, the
//! CLI, files, the scenario corpus), so they all accept exactly the same documents.
//!
//! Parsing is strict: unknown fields, wrong types and bad enum names are `validation` errors.

use serde::Deserialize;

use crate::api::ops::BatchMode;
use crate::api::query::{ListQuery, Order, Pagination, DEFAULT_PER_PAGE};
use crate::domain::model::{EnrollRequest, ProgramSpec, Trigger, User, UserRef};
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};

fn parse<'a, T: Deserialize<'a>>(what: &'static str, text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::validation(what, format!("malformed JSON: {e}")))
}

fn from_value<T: serde::de::DeserializeOwned>(
    what: &'static str,
    v: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::validation(what, e.to_string()))
}

/// Parses a JSON array and each element with `each`; an element's error names its row.
fn rows<T>(
    what: &'static str,
    text: &str,
    each: impl Fn(serde_json::Value) -> Result<T>,
) -> Result<Vec<T>> {
    parse::<Vec<serde_json::Value>>(what, text)?
        .into_iter()
        .enumerate()
        .map(|(i, row)| each(row).map_err(|e| e.in_row(i)))
        .collect()
}

fn time(v: Option<String>) -> Result<Option<Timestamp>> {
    v.as_deref().map(Timestamp::parse).transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollWire {
    user_id: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    program_id: String,
    id: Option<String>,
    trigger: Option<String>,
    added_by_user_id: Option<String>,
    added_by_program_id: Option<String>,
    partnership_id: Option<String>,
    timezone: Option<String>,
    start_at: Option<String>,
    #[serde(default)]
    allow_reenroll: bool,
    #[serde(default)]
    batch: bool,
    override_prerequisites: Option<String>,
}

impl EnrollWire {
    fn into_request(self) -> Result<EnrollRequest> {
        let user = match (self.user_id, self.email, self.external_id) {
            (Some(v), None, None) => UserRef::Id(v),
            (None, Some(v), None) => UserRef::Email(v),
            (None, None, Some(v)) => UserRef::ExternalId(v),
            _ => {
                return Err(Error::validation(
                    "user",
                    "give exactly one of user_id, email, external_id",
                ))
            }
        };
        let mut req = EnrollRequest::for_user(user, self.program_id);
        req.id = self.id;
        req.trigger = self.trigger.as_deref().map(Trigger::parse).transpose()?;
        req.added_by_user_id = self.added_by_user_id;
        req.added_by_program_id = self.added_by_program_id;
        req.partnership_id = self.partnership_id;
        req.timezone = self.timezone;
        req.start_at = time(self.start_at)?;
        req.allow_reenroll = self.allow_reenroll;
        req.batch = self.batch;
        req.override_prerequisites = self.override_prerequisites;
        Ok(req)
    }
}

impl EnrollRequest {
    /// Parses the JSON form of a request:
    /// `{"user_id" | "email" | "external_id": ..., "program_id": ..., "id"?, "trigger"?,
    /// "added_by_user_id"?, "added_by_program_id"?, "partnership_id"?, "timezone"?,
    /// "start_at"? (RFC 3339), "allow_reenroll"?, "batch"?, "override_prerequisites"? (the
    /// admin's reason)}`.
    ///
    /// ```
    /// let req = enrollkit::EnrollRequest::from_json(r#"{"email": "a@b.c", "program_id": "p", "trigger": "schedule"}"#)?;
    /// assert_eq!(req.user, enrollkit::UserRef::Email("a@b.c".into()));
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<EnrollRequest> {
        parse::<EnrollWire>("request", text)?.into_request()
    }

    /// [`EnrollRequest::from_json`] for an already parsed value.
    pub fn from_json_value(value: serde_json::Value) -> Result<EnrollRequest> {
        from_value::<EnrollWire>("request", value)?.into_request()
    }

    /// Parses a JSON array of requests (for [`Store::enroll_many`](crate::Store::enroll_many));
    /// the error of a malformed row names the row (0-based).
    pub fn many_from_json(text: &str) -> Result<Vec<EnrollRequest>> {
        rows("requests", text, EnrollRequest::from_json_value)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListWire {
    user_id: Option<String>,
    program_id: Option<String>,
    status: Option<String>,
    trigger: Option<String>,
    enrolled_from: Option<String>,
    enrolled_to: Option<String>,
    completed_from: Option<String>,
    completed_to: Option<String>,
    order: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
    starting_after: Option<String>,
    limit: Option<u32>,
}

impl ListQuery {
    /// Parses the JSON form of a listing: every filter of [`ListQuery`] by name, `order`
    /// (`oldest_first` | `newest_first`), and either `page`/`per_page` or
    /// `starting_after`/`limit` (cursor pagination when either of those is present).
    ///
    /// ```
    /// let q = enrollkit::ListQuery::from_json(r#"{"program_id": "p", "status": "active", "limit": 50}"#)?;
    /// assert!(matches!(q.pagination, enrollkit::Pagination::Cursor { limit: 50, .. }));
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<ListQuery> {
        let w: ListWire = parse("query", text)?;
        let cursor = w.limit.is_some() || w.starting_after.is_some();
        if cursor && (w.page.is_some() || w.per_page.is_some()) {
            return Err(Error::validation(
                "query",
                "use either page/per_page or starting_after/limit",
            ));
        }
        Ok(ListQuery {
            user_id: w.user_id,
            program_id: w.program_id,
            status: w.status,
            trigger: w.trigger.as_deref().map(Trigger::parse).transpose()?,
            enrolled_from: time(w.enrolled_from)?,
            enrolled_to: time(w.enrolled_to)?,
            completed_from: time(w.completed_from)?,
            completed_to: time(w.completed_to)?,
            order: match w.order.as_deref() {
                None | Some("oldest_first") => Order::OldestFirst,
                Some("newest_first") => Order::NewestFirst,
                Some(other) => {
                    return Err(Error::validation(
                        "order",
                        format!("{other:?}: expected oldest_first or newest_first"),
                    ))
                }
            },
            pagination: if cursor {
                Pagination::Cursor {
                    starting_after: w.starting_after,
                    limit: w.limit.unwrap_or(DEFAULT_PER_PAGE),
                }
            } else {
                Pagination::Page {
                    page: w.page.unwrap_or(1),
                    per_page: w.per_page.unwrap_or(DEFAULT_PER_PAGE),
                }
            },
        })
    }
}

impl User {
    /// Parses a user from JSON (the same fields as the struct; `id` required).
    pub fn from_json(text: &str) -> Result<User> {
        parse("user", text)
    }

    /// Parses a JSON array of users (for [`Store::upsert_users`](crate::Store::upsert_users));
    /// the error of a malformed user names the row (0-based).
    ///
    /// ```
    /// let users = enrollkit::User::many_from_json(r#"[{"id": "u1"}, {"id": "u2", "email": "b@x.io"}]"#)?;
    /// assert_eq!(users[1].email.as_deref(), Some("b@x.io"));
    /// # Ok::<(), enrollkit::Error>(())
    /// ```
    pub fn many_from_json(text: &str) -> Result<Vec<User>> {
        rows("users", text, |row| from_value("user", row))
    }
}

impl ProgramSpec {
    /// Parses a program spec from JSON (the same fields as the struct).
    pub fn from_json(text: &str) -> Result<ProgramSpec> {
        parse("program", text)
    }
}

impl BatchMode {
    /// Parses `all_or_nothing` or `best_effort`.
    pub fn parse(text: &str) -> Result<BatchMode> {
        match text {
            "all_or_nothing" => Ok(BatchMode::AllOrNothing),
            "best_effort" => Ok(BatchMode::BestEffort),
            _ => Err(Error::validation(
                "mode",
                format!("{text:?}: expected all_or_nothing or best_effort"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enroll_requests_are_strict() {
        assert!(EnrollRequest::from_json(r#"{"user_id": "u", "program_id": "p"}"#).is_ok());
        for bad in [
            r#"{"program_id": "p"}"#,
            r#"{"user_id": "u", "email": "e@x", "program_id": "p"}"#,
            r#"{"user_id": "u", "program_id": "p", "colour": "red"}"#,
            r#"{"user_id": "u", "program_id": "p", "start_at": "tomorrow"}"#,
            r#"{"user_id": 7, "program_id": "p"}"#,
            r#"{"user_id": "u""#,
        ] {
            assert_eq!(
                EnrollRequest::from_json(bad).unwrap_err().code(),
                "validation",
                "{bad}"
            );
        }
    }

    #[test]
    fn list_queries() {
        let q = ListQuery::from_json("{}").unwrap();
        assert_eq!(q, ListQuery::default());
        assert!(ListQuery::from_json(r#"{"page": 2, "limit": 3}"#).is_err());
        assert!(ListQuery::from_json(r#"{"order": "sideways"}"#).is_err());
        assert!(ListQuery::from_json(r#"{"per_page": -1}"#).is_err());
    }
}
