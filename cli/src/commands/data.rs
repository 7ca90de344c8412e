//! The database as a whole: `init`, `info`, `demo`, `events`, `report`, `import`, `export`,
//! `backup`, `check`.
//!
//! `init`, `demo` and `import` create the database when missing; the others need an existing
//! one. `import` and `check` exit 1 when they ran but found problems.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use enrollkit::{Actor, BatchMode, Error, Failure, Store};
use serde_json::json;

use super::common::{self, open, Fail, Outcome};
use crate::args::Cli;
use crate::output::{self, Out};

/// `init`: creates or migrates the database and prints its schema version.
pub fn init(cli: &Cli, out: &Out) -> Outcome {
    let store = open(cli, false)?;
    out.record(&json!({"db": cli.db, "schema_version": store.schema_version()?}));
    Ok(ExitCode::SUCCESS)
}

/// `info`: schema version, record counts, and the sizes of the file and its WAL.
pub fn info(cli: &Cli, out: &Out) -> Outcome {
    let store = open(cli, true)?;
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
    out.record(&json!({
        "db": cli.db,
        "schema_version": store.schema_version()?,
        "records": store.stats()?,
        "file_bytes": size(&cli.db),
        "wal_bytes": size(Path::new(&format!("{}-wal", cli.db.display()))),
    }));
    Ok(ExitCode::SUCCESS)
}

/// `demo`: fills a database without data with `users` users and their enrollments. With
/// `force` it first deletes the file and its `-wal`/`-shm`, but only after opening it as an
/// enrollkit database, so it never deletes a file that is something else.
pub fn demo(cli: &Cli, out: &Out, users: usize, force: bool) -> Outcome {
    if force && common::is_postgres(cli) {
        return Err(Fail::Usage(
            "--force replaces SQLite files only: give demo an empty PostgreSQL database".into(),
        ));
    }
    if force {
        if cli.db.exists() {
            drop(Store::open(&cli.db)?); // only ever replace an enrollkit database
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = cli.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    if open(cli, false)?.stats()? != enrollkit::RecordCounts::default() {
        return Err(Fail::Usage(format!(
            "{} already has data: give another --db or --force to replace it",
            cli.db.display()
        )));
    }
    let summary = crate::demo::run(&cli.db, users)?;
    out.demo(&summary);
    Ok(ExitCode::SUCCESS)
}

/// `events`: up to `limit` events after the sequence number `after`. With `follow` it never
/// returns: it keeps reading from the last event printed, prints only non-empty batches, and
/// sleeps a second whenever a batch was not full.
pub fn events(
    cli: &Cli,
    out: &Out,
    actor: &Actor,
    after: i64,
    limit: u32,
    follow: bool,
) -> Outcome {
    let store = open(cli, true)?;
    let mut after = after;
    loop {
        let events = store.events_after(actor, after, limit)?;
        if let Some(last) = events.last() {
            after = last.seq;
        }
        if !events.is_empty() || !follow {
            out.events(&events);
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        if events.len() < limit as usize {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

/// `report`: the program's totals by status, averages and step funnel.
pub fn report(cli: &Cli, out: &Out, actor: &Actor, program: &str) -> Outcome {
    let store = open(cli, true)?;
    out.report(&store.report(actor, program)?);
    Ok(ExitCode::SUCCESS)
}

/// `import`: a JSON Lines export, or with `csv` a roster enrolled by `actor`, in one
/// transaction (`best_effort` skips refused lines instead). Exit 1 when any line was refused.
pub fn import(
    cli: &Cli,
    out: &Out,
    actor: &Actor,
    file: &Path,
    best_effort: bool,
    csv: bool,
) -> Outcome {
    let store = open(cli, false)?;
    let f = std::fs::File::open(file)
        .map_err(|e| Fail::Usage(format!("cannot read {}: {e}", file.display())))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = output::progress_bar(size, "importing");
    let mut progress = |_lines: u64, bytes: u64| bar.set_position(bytes);
    let mode = if best_effort {
        BatchMode::BestEffort
    } else {
        BatchMode::AllOrNothing
    };
    let mut input = BufReader::with_capacity(1 << 20, f);
    let report = if csv {
        store.enroll_csv(actor, &mut input, mode, Some(&mut progress))?
    } else {
        store.import_jsonl(&mut input, mode, Some(&mut progress))?
    };
    bar.finish_and_clear();
    out.import(&report);
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `export`: the whole database as JSON Lines, or with `csv` the enrollments (of `program`
/// only, when given) as CSV. A failed final flush is a storage failure.
pub fn export(cli: &Cli, out: &Out, file: &Path, csv: bool, program: Option<&str>) -> Outcome {
    // Refused before anything is opened or created: an existing file stays as it was.
    if program.is_some() && !csv {
        return Err(Fail::Usage("--program needs --csv".into()));
    }
    let store = open(cli, true)?;
    let f = std::fs::File::create(file)
        .map_err(|e| Fail::Usage(format!("cannot create {}: {e}", file.display())))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    if csv {
        let rows = store.export_enrollments_csv(&mut w, program)?;
        out.record(&json!({"file": file, "enrollments": rows}));
    } else {
        let bar = output::progress_bar(0, "exporting");
        let mut progress = |records: u64, _| bar.set_position(records);
        let counts = store.export_jsonl(&mut w, Some(&mut progress))?;
        bar.finish_and_clear();
        out.record(&json!({"file": file, "records": counts}));
    }
    w.flush()
        .map_err(|e| Fail::Core(Error::Storage(Failure::caused_by(e.to_string(), e))))?;
    Ok(ExitCode::SUCCESS)
}

/// `backup`: a consistent copy of the open database to the new file `dest`.
pub fn backup(cli: &Cli, out: &Out, dest: &Path) -> Outcome {
    let store = open(cli, true)?;
    store.backup(dest)?;
    out.record(&json!({"backup": dest}));
    Ok(ExitCode::SUCCESS)
}

/// `compact`: rewrites the database without what was deleted (`Store::compact`).
pub fn compact(cli: &Cli, out: &Out) -> Outcome {
    let store = open(cli, true)?;
    store.compact()?;
    out.record(&json!({"compacted": cli.db}));
    Ok(ExitCode::SUCCESS)
}

/// `copy`: every record of `from` into `to`, which must hold none: an export of `from`,
/// streamed through a bounded channel (memory stays bounded whatever the size) into an
/// all-or-nothing import into `to`. The export is one snapshot of `from`, which stays usable
/// by others meanwhile. Exit 1 when the import refused lines (nothing is written then).
pub fn copy(cli: &Cli, out: &Out, from: &Path, to: &Path) -> Outcome {
    let source = common::open_at(cli, from, false, true)?;
    let dest = common::open_at(cli, to, false, false)?;
    if dest.stats()? != enrollkit::RecordCounts::default() {
        return Err(Fail::Usage(format!(
            "{} already holds records: copy fills an empty database",
            to.display()
        )));
    }
    let (sender, receiver) = std::sync::mpsc::sync_channel(8);
    let (exported, report) = std::thread::scope(|scope| {
        let exporter = scope.spawn(|| {
            let mut w = BufWriter::with_capacity(1 << 16, ChannelWriter(sender));
            let counts = source.export_jsonl(&mut w, None)?;
            let unwritable =
                |e: std::io::Error| Error::Storage(Failure::caused_by(e.to_string(), e));
            let ChannelWriter(sender) = w.into_inner().map_err(|e| unwritable(e.into_error()))?;
            // The end of the export; without it the reader fails the import.
            let _ = sender.send(Vec::new());
            Ok::<_, Error>(counts)
        });
        let reader = ChannelReader {
            receiver,
            chunk: Vec::new(),
            at: 0,
            ended: false,
        };
        let mut input = BufReader::with_capacity(1 << 16, reader);
        let report = dest.import_jsonl(&mut input, BatchMode::AllOrNothing, None);
        // An import that stopped early no longer reads: the exporter then fails to write and
        // ends.
        drop(input);
        let exported = exporter
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (exported, report)
    });
    let report = report?;
    if report.errors.is_empty() {
        exported?;
    }
    out.import(&report);
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The writing end of [`copy`]'s channel: each write is one chunk for the reader.
struct ChannelWriter(std::sync::mpsc::SyncSender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.0.send(buf.to_vec()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the import stopped reading")
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The reading end of [`copy`]'s channel: the chunks in order, then the end of input at the
/// empty chunk that ends a complete export. A writer gone without it (the export failed) is
/// a read error, so that the import rolls back instead of committing part of the records.
struct ChannelReader {
    receiver: std::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    /// Whether the end of the export was read.
    ended: bool,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            match self.receiver.recv() {
                Ok(chunk) if chunk.is_empty() => self.ended = true,
                Ok(chunk) => (self.chunk, self.at) = (chunk, 0),
                Err(_) => {
                    return Err(std::io::Error::other("the export ended before its end"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// `check`: the integrity check plus enrollkit's invariants. Exit 1 on any violation.
pub fn check(cli: &Cli, out: &Out) -> Outcome {
    let store = open(cli, true)?;
    let problems = store.check_invariants()?;
    out.check(&problems);
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
