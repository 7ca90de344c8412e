//! `program add`, `program update`, `program show`, `program list`. `add` creates the
//! database when missing; the others need an existing one. Spec files and names are read
//! and checked before the database is opened, so a refused command leaves no file behind.

use std::path::Path;
use std::process::ExitCode;

use enrollkit::{Kind, ProgramState};

use super::common::{open, read_spec, Outcome};
use crate::args::Cli;
use crate::output::Out;

/// `program add`: creates the program (with its steps) from a JSON or YAML spec file.
pub fn add(cli: &Cli, out: &Out, file: &Path) -> Outcome {
    let spec = read_spec(file)?;
    let store = open(cli, false)?;
    out.record(&store.create_program(&spec)?);
    Ok(ExitCode::SUCCESS)
}

/// `program update`: replaces the program's settings from a JSON or YAML spec file.
pub fn update(cli: &Cli, out: &Out, file: &Path) -> Outcome {
    let spec = read_spec(file)?;
    let store = open(cli, true)?;
    out.record(&store.update_program(&spec)?);
    Ok(ExitCode::SUCCESS)
}

/// `program show`: the program with its steps.
pub fn show(cli: &Cli, out: &Out, id: &str) -> Outcome {
    let store = open(cli, true)?;
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
    let kind = kind.map(Kind::parse).transpose()?;
    let state = state.map(ProgramState::parse).transpose()?;
    let store = open(cli, true)?;
    out.programs(&store.list_programs(kind, state, after, limit)?);
    Ok(ExitCode::SUCCESS)
}
