//! Input validation shared by every operation. Everything here returns
//! [`Error::Validation`](crate::Error) and runs before any write.

use crate::domain::model::{Assessment, Kind, ProgramSpec, User};
use crate::error::{Error, Result};
use std::borrow::Cow;

/// Longest accepted id, in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Longest accepted short text (names, titles, emails), in bytes.
pub const MAX_TEXT_BYTES: usize = 1_024;
/// Longest accepted description or message, in bytes.
pub const MAX_LONG_TEXT_BYTES: usize = 16_384;
/// Largest accepted step result, in bytes of JSON.
pub const MAX_RESULT_BYTES: usize = 65_536;
/// Most steps a program may have.
pub const MAX_STEPS: usize = 1_000;
/// Most groups a user may have.
pub const MAX_GROUPS: usize = 100;

/// An id: 1 to [`MAX_ID_BYTES`] bytes, no control characters, no leading or trailing spaces.
pub fn id(field: &'static str, value: &str) -> Result<()> {
    // Fast path for the usual id (printable ASCII without spaces): it passes every check
    // below, which decode it character by character.
    if !value.is_empty()
        && value.len() <= MAX_ID_BYTES
        && value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Ok(());
    }
    if value.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    if value.len() > MAX_ID_BYTES {
        return Err(Error::validation(
            field,
            format!("{} bytes is longer than {MAX_ID_BYTES}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            "must not contain control characters",
        ));
    }
    if value.trim() != value {
        return Err(Error::validation(
            field,
            "must not start or end with whitespace",
        ));
    }
    Ok(())
}

/// Optional id.
pub fn opt_id(field: &'static str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| id(field, v))
}

/// A text of at most `max` bytes without NUL; `required` texts must not be blank.
pub fn text(field: &'static str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(Error::validation(
            field,
            format!("{} bytes is longer than {max}", value.len()),
        ));
    }
    if value.contains('\0') {
        return Err(Error::validation(field, "must not contain NUL"));
    }
    Ok(())
}

/// Optional short text.
pub fn opt_text(field: &'static str, value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| text(field, v, MAX_TEXT_BYTES, true))
}

/// An email: one `@` with text on both sides, no spaces.
pub fn email(value: &str) -> Result<()> {
    text("email", value, MAX_TEXT_BYTES, true)?;
    let ok = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "email",
            format!("{value:?} is not an email address"),
        ))
    }
}

/// A calendar date, `YYYY-MM-DD` (years 1-9999).
pub fn calendar_date(field: &'static str, value: &str) -> Result<chrono::NaiveDate> {
    let bad = || Error::validation(field, format!("{value:?} is not a date like 2024-03-01"));
    if value.len() != 10 {
        return Err(bad());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())
}

/// An IANA time zone name the time zone database knows: `UTC`, `America/New_York`,
/// `Etc/GMT+5` (not `Mars/Olympus`).
pub fn timezone(value: &str) -> Result<()> {
    crate::domain::schedule::zone(value).map(drop)
}

/// A reason code: 1–64 characters of letters, digits, `_`, `-`, `.`.
pub fn code(field: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            field,
            format!("{value:?} must be 1-64 letters, digits, '_', '-' or '.'"),
        ))
    }
}

/// A percentage or score: finite and within 0–100.
pub fn percent(field: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::validation(
            field,
            format!("{value} is not a number from 0 to 100"),
        ))
    }
}

/// A step result: a JSON object of at most [`MAX_RESULT_BYTES`].
pub fn result(value: &serde_json::Value) -> Result<()> {
    if !value.is_object() {
        return Err(Error::validation("result", "must be a JSON object"));
    }
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_RESULT_BYTES {
        return Err(Error::validation(
            "result",
            format!("{size} bytes is larger than {MAX_RESULT_BYTES}"),
        ));
    }
    Ok(())
}

/// Parses a step result from JSON text (for bindings and files): malformed JSON or a non-object
/// is a `validation` error.
///
/// ```
/// assert!(enrollkit::parse_result(r#"{"status":"responded"}"#).is_ok());
/// assert_eq!(enrollkit::parse_result("{oops").unwrap_err().code(), "validation");
/// ```
pub fn parse_result(text: &str) -> Result<serde_json::Value> {
    if text.len() > MAX_RESULT_BYTES {
        return Err(Error::validation(
            "result",
            format!("{} bytes is larger than {MAX_RESULT_BYTES}", text.len()),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::validation("result", format!("malformed JSON: {e}")))?;
    result(&value)?;
    Ok(value)
}

/// A whole user record.
pub fn user(user: &User) -> Result<()> {
    id("user_id", &user.id)?;
    if let Some(e) = &user.email {
        email(e)?;
    }
    opt_text("display_name", user.display_name.as_deref())?;
    opt_id("external_id", user.external_id.as_deref())?;
    opt_text("department", user.department.as_deref())?;
    opt_text("location", user.location.as_deref())?;
    opt_id("manager_id", user.manager_id.as_deref())?;
    if user.manager_id.as_deref() == Some(user.id.as_str()) {
        return Err(Error::validation(
            "manager_id",
            "a user cannot manage themselves",
        ));
    }
    if user.groups.len() > MAX_GROUPS {
        return Err(Error::validation(
            "groups",
            format!("more than {MAX_GROUPS} groups"),
        ));
    }
    for g in &user.groups {
        text("groups", g, MAX_TEXT_BYTES, true)?;
    }
    if let Some(d) = &user.hire_date {
        calendar_date("hire_date", d)?;
    }
    if user.partnerships.len() > MAX_GROUPS {
        return Err(Error::validation(
            "partnerships",
            format!("more than {MAX_GROUPS} partnerships"),
        ));
    }
    for p in &user.partnerships {
        id("partnerships", p)?;
    }
    if let Some(tz) = &user.timezone {
        timezone(tz)?;
    }
    Ok(())
}

/// An enrollment id as stored: valid as an [`id`], and given either as stored or as the
/// canonical 8-4-4-4-12 UUID text of a generated id (the certification reference's `uuid`).
pub fn enrollment_id<'a>(field: &'static str, value: &'a str) -> Result<Cow<'a, str>> {
    id(field, value)?;
    Ok(match crate::domain::ids::from_uuid_text(value) {
        Some(id) => Cow::Owned(id),
        None => Cow::Borrowed(value),
    })
}

/// A whole program spec.
pub fn program(spec: &ProgramSpec) -> Result<()> {
    id("program_id", &spec.id)?;
    text("title", &spec.title, MAX_TEXT_BYTES, true)?;
    if let Some(d) = &spec.description {
        text("description", d, MAX_LONG_TEXT_BYTES, false)?;
    }
    if spec.steps.len() > MAX_STEPS {
        return Err(Error::validation(
            "steps",
            format!("more than {MAX_STEPS} steps"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for step in &spec.steps {
        id("step_id", &step.id)?;
        code("step_type", &step.step_type)?;
        text("step_title", &step.title, MAX_TEXT_BYTES, true)?;
        if !seen.insert(step.id.as_str()) {
            return Err(Error::validation(
                "steps",
                format!("step id {:?} appears twice", step.id),
            ));
        }
        if let Some(schedule) = &step.schedule {
            if spec.kind != Kind::Track {
                return Err(Error::validation(
                    "schedule",
                    format!("step {:?}: only a track's steps run on a schedule", step.id),
                ));
            }
            schedule.validate()?;
        }
    }
    spec.policy.validate(&spec.id)?;
    if let Some(Assessment {
        passing_score,
        max_attempts,
    }) = spec.assessment
    {
        percent("passing_score", passing_score)?;
        if max_attempts == Some(0) {
            return Err(Error::validation("max_attempts", "must be at least 1"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(id("x", "usr_1").is_ok());
        assert!(id("x", "o'brien; DROP TABLE users;--").is_ok());
        assert!(id("x", "").is_err());
        assert!(id("x", " a").is_err());
        assert!(id("x", "a\0b").is_err());
        assert!(id("x", &"a".repeat(MAX_ID_BYTES)).is_ok());
        assert!(id("x", &"a".repeat(MAX_ID_BYTES + 1)).is_err());
        // Every ASCII character inside, alone and at the end (the fast path covers only
        // printable ones without spaces); and non-ASCII ones, which take the full checks.
        for c in (0u8..=0x7f).map(char::from) {
            let bad = c.is_control();
            assert_eq!(id("x", &format!("a{c}b")).is_err(), bad, "{c:?} inside");
            let bad_alone = bad || c.is_whitespace();
            assert_eq!(id("x", &c.to_string()).is_err(), bad_alone, "{c:?} alone");
            assert_eq!(id("x", &format!("a{c}")).is_err(), bad_alone, "{c:?} last");
        }
        assert!(id("x", "caf\u{e9} \u{2013} \u{65e5}").is_ok());
        assert!(id("x", "a\u{85}b").is_err());
        assert!(id("x", "\u{2003}a").is_err());
        assert!(id("x", &"\u{e9}".repeat(MAX_ID_BYTES / 2 + 1)).is_err());
    }

    #[test]
    fn percents() {
        assert!(percent("p", 0.0).is_ok());
        assert!(percent("p", 100.0).is_ok());
        assert!(percent("p", -0.1).is_err());
        assert!(percent("p", 100.01).is_err());
        assert!(percent("p", f64::NAN).is_err());
        assert!(percent("p", f64::INFINITY).is_err());
    }

    #[test]
    fn emails_and_zones() {
        assert!(email("a@b.c").is_ok());
        assert!(email("a b@c").is_err());
        assert!(email("@c").is_err());
        assert!(email("a@b@c").is_err());
        assert!(timezone("America/New_York").is_ok());
        assert!(timezone("Etc/GMT+5").is_ok());
        assert!(timezone("Mars/Olympus Mons").is_err());
        assert!(timezone("Mars/Olympus").is_err());
    }

    #[test]
    fn results() {
        assert!(parse_result("{}").is_ok());
        assert!(parse_result("[1]").is_err());
        assert!(parse_result("{\"a\":").is_err());
    }
}
