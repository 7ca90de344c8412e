//! `info` and `report`: summaries computed through the public core API.

use std::collections::BTreeMap;
use std::path::Path;

use enrollkit::{Actor, Error, Kind, ListQuery, Pagination, StepStatus, Store, MAX_PER_PAGE};
use serde::Serialize;
use serde_json::{json, Value};

/// `info`: schema version, record counts, file size.
pub fn info(store: &Store, path: &Path) -> Result<Value, Error> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let wal = std::fs::metadata(format!("{}-wal", path.display()))
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(json!({
        "db": path,
        "schema_version": store.schema_version()?,
        "records": store.stats()?,
        "file_bytes": size,
        "wal_bytes": wal,
    }))
}

/// One step's line of the completion funnel.
#[derive(Serialize)]
pub struct FunnelStep {
    pub order: usize,
    pub step_id: String,
    /// Enrollments that had the step delivered (or completed).
    pub delivered: u64,
    /// Enrollments that completed the step.
    pub completed: u64,
}

/// `report PROGRAM`: the track reference's report summary and a step funnel.
#[derive(Serialize)]
pub struct ProgramReport {
    pub program_id: String,
    pub kind: Kind,
    pub total: u64,
    /// Enrollments per status, in the program's vocabulary.
    pub by_status: BTreeMap<String, u64>,
    /// Mean completion (tracks: completed steps / steps; others: progress), in percent.
    pub average_completion_percent: f64,
    /// Mean days from start (or enrollment) to completion over completed enrollments.
    pub average_days_to_complete: Option<f64>,
    pub funnel: Vec<FunnelStep>,
}

pub fn program(store: &Store, actor: &Actor, program_id: &str) -> Result<ProgramReport, Error> {
    let program = store.get_program(program_id)?;
    let mut report = ProgramReport {
        program_id: program.id.clone(),
        kind: program.kind,
        total: 0,
        by_status: BTreeMap::new(),
        average_completion_percent: 0.0,
        average_days_to_complete: None,
        funnel: program
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| FunnelStep {
                order: i + 1,
                step_id: s.id.clone(),
                delivered: 0,
                completed: 0,
            })
            .collect(),
    };
    let (mut completion, mut days, mut completed) = (0.0, 0.0, 0u64);
    let mut cursor = None;
    loop {
        let page = store.list_enrollments(
            actor,
            &ListQuery {
                program_id: Some(program.id.clone()),
                pagination: Pagination::Cursor {
                    starting_after: cursor,
                    limit: MAX_PER_PAGE,
                },
                ..ListQuery::default()
            },
        )?;
        for e in &page.items {
            report.total += 1;
            *report
                .by_status
                .entry(e.status_name().to_owned())
                .or_default() += 1;
            completion += if e.kind == Kind::Track {
                e.completion_percent()
            } else {
                e.progress_percent
            };
            if let Some(done) = e.completed_at {
                let from = e.started_at.unwrap_or(e.enrolled_at);
                days += (done.millis() - from.millis()) as f64 / 86_400_000.0;
                completed += 1;
            }
            if !program.steps.is_empty() {
                for (line, p) in report
                    .funnel
                    .iter_mut()
                    .zip(store.step_progress(actor, &e.id)?)
                {
                    line.delivered += u64::from(matches!(
                        p.status,
                        StepStatus::Delivered | StepStatus::Completed
                    ));
                    line.completed += u64::from(p.status == StepStatus::Completed);
                }
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    if report.total > 0 {
        report.average_completion_percent =
            (completion / report.total as f64 * 10.0).round() / 10.0;
    }
    if completed > 0 {
        report.average_days_to_complete = Some((days / completed as f64 * 100.0).round() / 100.0);
    }
    Ok(report)
}
