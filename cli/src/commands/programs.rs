//! `program add`, `program update`, `program show`, `program list`. Each opens the database,
//! creating it when missing, before reading any spec file.

use std::path::Path;
use std::process::ExitCode;

use enrollkit::{Kind, ProgramState};

use super::common::{open, read_spec, Outcome};
use crate::args::Cli;
use crate::output::Out;

/// `program add`: creates the program (with its steps) from a JSON or YAML spec file.
pub fn add(cli: &Cli, out: &Out, file: &Path) -> Outcome {
    let store = open(cli, false)?;
    out.record(&store.create_program(&read_spec(file)?)?);
    Ok(ExitCode::SUCCESS)
}

/// `program update`: replaces the program's settings from a JSON or YAML spec file.
pub fn update(cli: &Cli, out: &Out, file: &Path) -> Outcome {
    let store = open(cli, false)?;
    out.record(&store.update_program(&read_spec(file)?)?);
    Ok(ExitCode::SUCCESS)
}

/// `program show`: the program with its steps.
pub fn show(cli: &Cli, out: &Out, id: &str) -> Outcome {
    let store = open(cli, false)?;
    out.record(&store.get_program(id)?);
    Ok(ExitCode::SUCCESS)
}

/// `program list`: programs after the id `after`, optionally of one kind and state; the kind
/// and state names are checked by the core.
pub fn list(
    cli: &Cli,
    out: &Out,
    kind: Option<&str>,
    state: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Outcome {
    let store = open(cli, false)?;
    let kind = kind.map(Kind::parse).transpose()?;
    let state = state.map(ProgramState::parse).transpose()?;
    out.programs(&store.list_programs(kind, state, after, limit)?);
    Ok(ExitCode::SUCCESS)
}
