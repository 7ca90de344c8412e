//! CSV rosters: enrolling the rows of a spreadsheet, as an administrator's bulk enroll.
//!
//! A roster is CSV (RFC 4180: quoted cells may hold commas, quotes and line breaks) whose first
//! record names the columns. Its columns are the fields of an enroll request's JSON form
//! ([`EnrollRequest::from_json`]), in any order: exactly one of `user_id`, `email` and
//! `external_id`, then `program_id`, and optionally `id`, `trigger`, `added_by_user_id`,
//! `added_by_program_id`, `partnership_id`, `timezone`, `start_at` (RFC 3339),
//! `allow_reenroll` and `batch` (`true` or `false`). An empty cell is an absent field; header
//! cells may be padded with spaces, and a leading byte order mark is skipped. Each
//! row is enrolled as [`Store::enroll_many`] enrolls a request, with the same checks; a row
//! whose user already has an open enrollment in the program (or a completed one, without
//! `allow_reenroll`) is refused with `already_enrolled`, so that a roster imported twice
//! creates nothing the second time.

use std::io::{self, BufRead, Read};

use serde_json::{Map, Value};

use crate::api::dump::{ImportError, ImportReport, Progress};
use crate::api::ops::{BatchMode, Enrolling};
use crate::api::Store;
use crate::domain::model::{Actor, EnrollRequest};
use crate::error::{Error, Failure, Result};
use crate::storage::WriteMode;

/// The columns a roster may have.
const ROSTER_COLUMNS: [&str; 13] = [
    "user_id",
    "email",
    "external_id",
    "program_id",
    "id",
    "trigger",
    "added_by_user_id",
    "added_by_program_id",
    "partnership_id",
    "timezone",
    "start_at",
    "allow_reenroll",
    "batch",
];

/// Columns that hold booleans.
const FLAGS: [&str; 2] = ["allow_reenroll", "batch"];

/// The checked header: each column's name, in order.
fn columns(header: &csv::StringRecord) -> Result<Vec<&'static str>> {
    let refuse = |message: String| Error::validation("header", message);
    let mut names: Vec<&'static str> = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        // Spreadsheets often begin a UTF-8 file with a byte order mark.
        let cell = if i == 0 {
            cell.trim_start_matches('\u{feff}')
        } else {
            cell
        };
        let name = cell.trim();
        let Some(&known) = ROSTER_COLUMNS.iter().find(|c| **c == name) else {
            return Err(refuse(format!(
                "unknown column {name:?}; a roster's columns are {}",
                ROSTER_COLUMNS.join(", ")
            )));
        };
        if names.contains(&known) {
            return Err(refuse(format!("column {known:?} appears twice")));
        }
        names.push(known);
    }
    if !names.contains(&"program_id") {
        return Err(refuse("a roster needs a program_id column".into()));
    }
    if !names
        .iter()
        .any(|n| matches!(*n, "user_id" | "email" | "external_id"))
    {
        return Err(refuse(
            "a roster needs a user_id, email or external_id column".into(),
        ));
    }
    Ok(names)
}

/// The request of one roster row: the JSON form of its non-empty cells, parsed as
/// [`EnrollRequest::from_json`] parses it.
fn request(columns: &[&'static str], row: &csv::StringRecord) -> Result<EnrollRequest> {
    if row.len() != columns.len() {
        return Err(Error::validation(
            "row",
            format!("{} cells for {} columns", row.len(), columns.len()),
        ));
    }
    let mut fields = Map::new();
    for (&name, cell) in columns.iter().zip(row) {
        if cell.is_empty() {
            continue;
        }
        let value = if FLAGS.contains(&name) {
            match cell {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => {
                    return Err(Error::validation(
                        name,
                        format!("must be true or false, not {other:?}"),
                    ))
                }
            }
        } else {
            Value::String(cell.to_owned())
        };
        fields.insert(name.to_owned(), value);
    }
    EnrollRequest::from_json_value(Value::Object(fields))
}

/// The input with every CRLF turned into LF, counting the bytes read. (csv reads a CRLF's `\r`
/// as the end of a record and its `\n` with the next one, so every record after a CRLF would
/// report the line before its own. CRLFs inside quoted cells become LFs too: no roster field
/// may hold a line break anyway.)
struct UnixLines<'a> {
    inner: &'a mut dyn BufRead,
    /// Input bytes consumed.
    bytes: u64,
    /// A `\r` that ended the last chunk, held back until the next byte is known.
    held_cr: bool,
}

impl Read for UnixLines<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let chunk = self.inner.fill_buf()?;
            let mut written = 0;
            if self.held_cr && chunk.first() != Some(&b'\n') {
                out[0] = b'\r';
                written = 1;
            }
            self.held_cr = false;
            if chunk.is_empty() {
                return Ok(written);
            }
            let mut used = 0;
            while used < chunk.len() && written < out.len() {
                let b = chunk[used];
                used += 1;
                if b == b'\r' {
                    match chunk.get(used) {
                        Some(b'\n') => continue,
                        Some(_) => {}
                        None => {
                            self.held_cr = true;
                            break;
                        }
                    }
                }
                out[written] = b;
                written += 1;
            }
            self.inner.consume(used);
            self.bytes += used as u64;
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

impl Store {
    /// Enrolls the rows of a CSV roster (see the module docs) in one transaction, read as a
    /// stream; `actor` enrolls each row.
    ///
    /// Refused rows are reported with the line their record starts on. In
    /// [`BatchMode::AllOrNothing`] (the default) any refused row rolls everything back
    /// (`committed` is false); in [`BatchMode::BestEffort`] refused rows are skipped.
    /// `imported.enrollments` counts the enrollments created (each with its history event). A
    /// header that is not a roster's is a `validation` error; unreadable input and storage
    /// failures fail the call; in each case nothing is written.
    pub fn enroll_csv(
        &self,
        actor: &Actor,
        input: &mut dyn BufRead,
        mode: BatchMode,
        mut progress: Option<Progress<'_>>,
    ) -> Result<ImportReport> {
        let input = UnixLines {
            inner: input,
            bytes: 0,
            held_cr: false,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let unreadable = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line());
            Error::Storage(Failure::caused_by(
                format!("cannot read the roster at line {line}: {e}"),
                e,
            ))
        };
        let mut header = csv::StringRecord::new();
        if !reader.read_record(&mut header).map_err(unreadable)? {
            return Err(Error::validation("header", "the roster is empty"));
        }
        let columns = columns(&header)?;
        // Rosters are long enough to be worth a bulk write (enroll_in looks up each row's user
        // and program itself).
        let mut reader = Some(reader);
        self.write_as(WriteMode::Bulk, |tx| {
            // The roster is read as it is written: it cannot be read again.
            let mut reader = reader.take().ok_or_else(|| {
                Error::Busy("the roster was read by a transaction that failed".into())
            })?;
            // (Rosters are usually long: random bytes for the most ids one read serves.)
            let mut call = Enrolling::bulk(tx, usize::MAX);
            let mut report = ImportReport::default();
            let mut row = csv::StringRecord::new();
            let mut rows = 0u64;
            while reader.read_record(&mut row).map_err(unreadable)? {
                let line = row.position().map_or(0, |p| p.line());
                let outcome = request(&columns, &row)
                    .and_then(|req| self.enroll_in(tx, actor, &req, &mut call));
                match outcome {
                    Ok(_) => report.imported.enrollments += 1,
                    Err(e) if e.is_storage() => return Err(e),
                    Err(error) => report.errors.push(ImportError { line, error }),
                }
                rows += 1;
                if rows % 10_000 == 0 {
                    if let Some(p) = progress.as_mut() {
                        p(line, reader.get_ref().bytes);
                    }
                }
            }
            call.write_pending(tx, actor)?;
            if let Some(p) = progress.as_mut() {
                p(reader.position().line(), reader.get_ref().bytes);
            }
            report.committed = report.errors.is_empty() || mode == BatchMode::BestEffort;
            if !report.committed {
                tx.discard();
                report.imported = Default::default();
            }
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRLFs become LFs however the input is cut into chunks, lone CRs stay, and every input
    /// byte is counted.
    #[test]
    fn unix_lines_across_chunk_boundaries() {
        let input = b"a,b\r\nc,\"d\r\ne\"\r\n\rf\r\r\n\r";
        let expected = b"a,b\nc,\"d\ne\"\n\rf\r\n\r";
        for capacity in 1..=input.len() {
            for out_len in [1, 2, 3, 64] {
                let mut inner = io::BufReader::with_capacity(capacity, &input[..]);
                let mut lines = UnixLines {
                    inner: &mut inner,
                    bytes: 0,
                    held_cr: false,
                };
                let mut got = Vec::new();
                let mut buf = vec![0; out_len];
                loop {
                    let n = lines.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got, expected, "capacity {capacity}, reads of {out_len}");
                assert_eq!(lines.bytes, input.len() as u64);
            }
        }
    }
}
