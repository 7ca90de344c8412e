//! Printing: readable tables by default, JSON with `--json`.

use enrollkit::{
    Attempt, EnrollOutcome, Enrollment, EnrollmentPage, Event, ImportReport, Program, User,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::{json, Value};

use crate::demo::Summary;
use enrollkit::ProgramReport;

/// `println!` that ends the process quietly when stdout is closed (e.g. piped into `head`)
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// Where results go.
pub struct Out {
    json: bool,
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        say!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "-".into())
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Rows as aligned columns under `header` (text output only).
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) {
        table(header, rows);
    }

    /// One outcome per row of a batch enroll (`anniversaries`): as JSON, the core's outcomes;
    /// as text, a table and the counts.
    pub fn outcomes(&self, outcomes: &[EnrollOutcome]) {
        if self.json {
            return say!("{}", json!(outcomes));
        }
        let rows: Vec<Vec<String>> = outcomes
            .iter()
            .map(|o| match o {
                EnrollOutcome::Created(e) => vec![
                    o.kind().to_owned(),
                    e.id.clone(),
                    e.user_id.clone(),
                    e.status_name().to_owned(),
                    opt(&e.start_at),
                ],
                EnrollOutcome::AlreadyEnrolled { existing_id } => vec![
                    o.kind().to_owned(),
                    existing_id.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ],
                EnrollOutcome::Failed(err) => vec![
                    o.kind().to_owned(),
                    "-".into(),
                    "-".into(),
                    format!("{err} [{}]", err.code()),
                    "-".into(),
                ],
                _ => vec![
                    o.kind().to_owned(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ],
            })
            .collect();
        if !rows.is_empty() {
            table(
                &["OUTCOME", "ENROLLMENT", "USER", "STATUS", "START AT"],
                &rows,
            );
        }
        let count = |kind: &str| outcomes.iter().filter(|o| o.kind() == kind).count();
        say!(
            "{} enrolled, {} already enrolled, {} failed",
            count("created"),
            count("already_enrolled"),
            count("failed")
        );
    }

    /// Any serializable record: JSON, or `key: value` lines.
    pub fn record<T: Serialize>(&self, value: &T) {
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        if self.json {
            say!("{v}");
            return;
        }
        match v {
            Value::Object(map) => {
                let width = map.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in map {
                    let text = match v {
                        Value::String(s) => s,
                        Value::Null => "-".into(),
                        other => other.to_string(),
                    };
                    say!("{k:<width$}  {text}");
                }
            }
            other => say!("{other}"),
        }
    }

    /// A JSON document (reference renderings): pretty unless `--json`.
    pub fn json(&self, value: &Value) {
        if self.json {
            say!("{value}");
        } else {
            say!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        }
    }

    pub fn enrollment(&self, e: &Enrollment) {
        self.record(e);
    }

    /// An attempt and the enrollment after it (one JSON object with `--json`).
    pub fn attempt(&self, attempt: &Attempt, e: &Enrollment) {
        if self.json {
            return say!("{}", json!({"attempt": attempt, "enrollment": e}));
        }
        self.record(attempt);
        say!("");
        self.record(e);
    }

    /// An enrollment's history (a JSON array with `--json`).
    pub fn history(&self, events: &[Event]) {
        if self.json {
            return say!("{}", json!(events));
        }
        self.events(events);
    }

    pub fn users(&self, users: &[User]) {
        if self.json {
            return say!("{}", json!(users));
        }
        let rows: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                vec![
                    u.id.clone(),
                    opt(&u.email),
                    opt(&u.display_name),
                    opt(&u.department),
                ]
            })
            .collect();
        table(&["ID", "EMAIL", "NAME", "DEPARTMENT"], &rows);
    }

    pub fn programs(&self, programs: &[Program]) {
        if self.json {
            return say!("{}", json!(programs));
        }
        let rows: Vec<Vec<String>> = programs
            .iter()
            .map(|p| {
                vec![
                    p.id.clone(),
                    p.kind.to_string(),
                    p.state.to_string(),
                    p.steps.len().to_string(),
                    p.title.clone(),
                ]
            })
            .collect();
        table(&["ID", "KIND", "STATE", "STEPS", "TITLE"], &rows);
    }

    pub fn page(&self, page: &EnrollmentPage) {
        if self.json {
            return say!(
                "{}",
                json!({"items": page.items, "has_more": page.has_more, "next_cursor": page.next_cursor})
            );
        }
        let rows: Vec<Vec<String>> = page
            .items
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.user_id.clone(),
                    e.program_id.clone(),
                    e.status_name().to_owned(),
                    format!("{}", e.progress_percent),
                    e.enrolled_at.to_string(),
                ]
            })
            .collect();
        table(
            &["ID", "USER", "PROGRAM", "STATUS", "PROGRESS", "ENROLLED"],
            &rows,
        );
        if let Some(next) = &page.next_cursor {
            say!("more: --after {next}");
        }
    }

    /// Events: JSON Lines with `--json` (one per line, for `events --follow`), else a table.
    pub fn events(&self, events: &[Event]) {
        if self.json {
            for e in events {
                say!("{}", json!(e));
            }
            return;
        }
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    e.at.to_string(),
                    e.enrollment_id.clone(),
                    e.action.clone(),
                    format!("{} -> {}", opt(&e.from_status), opt(&e.to_status)),
                    e.actor.clone(),
                    opt(&e.reason),
                ]
            })
            .collect();
        table(
            &[
                "SEQ",
                "AT",
                "ENROLLMENT",
                "ACTION",
                "STATUS",
                "ACTOR",
                "REASON",
            ],
            &rows,
        );
    }

    /// A program report: as JSON, the core's shape (the track reference's summary fields at the
    /// top level); as text, the summary, the counts per status and the step funnel.
    pub fn report(&self, r: &ProgramReport) {
        if self.json {
            return say!("{}", json!(r));
        }
        say!(
            "{} ({}): {} enrollments: {} active, {} completed, {} failed, {} paused, {} canceled or dropped",
            r.program_id,
            r.kind,
            r.total_enrollees,
            r.active,
            r.completed,
            r.failed,
            r.paused,
            r.canceled
        );
        for (status, n) in &r.by_status {
            say!("  {status:<18} {n}");
        }
        say!(
            "average completion       {:.1} %",
            r.average_completion_rate
        );
        match r.average_time_to_complete {
            Some(s) => say!("average time to complete {:.2} days", s / 86_400.0),
            None => say!("average time to complete -"),
        }
        if !r.steps.is_empty() {
            let rows: Vec<Vec<String>> = r
                .steps
                .iter()
                .map(|s| {
                    vec![
                        s.position.to_string(),
                        s.step_id.clone(),
                        s.delivered.to_string(),
                        s.completed.to_string(),
                        s.skipped.to_string(),
                        s.failed.to_string(),
                    ]
                })
                .collect();
            table(
                &[
                    "ORDER",
                    "STEP",
                    "DELIVERED",
                    "COMPLETED",
                    "SKIPPED",
                    "FAILED",
                ],
                &rows,
            );
        }
    }

    pub fn import(&self, report: &ImportReport) {
        if self.json {
            return say!("{}", json!(report));
        }
        for e in &report.errors {
            eprintln!("line {}: {} [{}]", e.line, e.error, e.error.code());
        }
        let c = report.imported;
        if report.committed {
            say!(
                "imported {} users, {} programs, {} enrollments, {} events ({} lines refused)",
                c.users,
                c.programs,
                c.enrollments,
                c.events,
                report.errors.len()
            );
        } else {
            say!(
                "nothing imported: {} lines refused (use --best-effort to skip them)",
                report.errors.len()
            );
        }
    }

    pub fn check(&self, problems: &[String]) {
        if self.json {
            return say!(
                "{}",
                json!({"ok": problems.is_empty(), "violations": problems})
            );
        }
        if problems.is_empty() {
            say!("ok: integrity check and invariants hold");
        }
        for p in problems {
            say!("violation: {p}");
        }
    }

    pub fn demo(&self, s: &Summary) {
        if self.json {
            return say!("{}", json!(s));
        }
        say!(
            "demo database: {} users, {} programs, {} enrollments, {} events",
            s.users,
            s.programs,
            s.enrollments,
            s.events
        );
        for r in &s.reports {
            self.report(r);
            say!("");
        }
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal); `total` 0 = unknown.
pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = if total > 0 {
        ProgressBar::new(total)
    } else {
        ProgressBar::new_spinner()
    };
    let template = if total > 0 {
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})"
    } else {
        "{msg} {spinner} {pos} records"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(what.to_owned());
    bar
}
