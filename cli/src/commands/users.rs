//! `user add`, `user show`, `user list`, `user erase`. `add` creates the database when
//! missing; the others read an existing one. Arguments are checked before the database is
//! opened, so a usage error leaves no file behind.

use std::process::ExitCode;

use enrollkit::{Actor, User, UserRef};

use super::common::{open, Fail, Outcome};
use crate::args::{Cli, UserArgs};
use crate::output::Out;

/// `user add`: creates or replaces the user and prints it as stored.
pub fn add(cli: &Cli, out: &Out, a: &UserArgs) -> Outcome {
    let store = open(cli, false)?;
    let user = User {
        id: a.id.clone(),
        email: a.email.clone(),
        display_name: a.name.clone(),
        external_id: a.external_id.clone(),
        department: a.department.clone(),
        location: a.location.clone(),
        manager_id: a.manager.clone(),
        groups: a.groups.clone(),
        timezone: a.timezone.clone(),
        partnerships: a.partnerships.clone(),
        hire_date: a.hire_date.clone(),
    };
    out.record(&store.upsert_user(&user)?);
    Ok(ExitCode::SUCCESS)
}

/// `user show`: the user named by exactly one of id, email, external id; any other
/// combination is a usage error.
pub fn show(
    cli: &Cli,
    out: &Out,
    id: Option<&str>,
    email: Option<&str>,
    external_id: Option<&str>,
) -> Outcome {
    let by = match (id, email, external_id) {
        (Some(v), None, None) => UserRef::Id(v.to_owned()),
        (None, Some(v), None) => UserRef::Email(v.to_owned()),
        (None, None, Some(v)) => UserRef::ExternalId(v.to_owned()),
        _ => {
            return Err(Fail::Usage(
                "give exactly one of ID, --email, --external-id".into(),
            ))
        }
    };
    let store = open(cli, true)?;
    out.record(&store.find_user(&by)?);
    Ok(ExitCode::SUCCESS)
}

/// `user list`: up to `limit` users by id, after the id `after`.
pub fn list(cli: &Cli, out: &Out, after: Option<&str>, limit: u32) -> Outcome {
    let store = open(cli, true)?;
    out.users(&store.list_users(after, limit)?);
    Ok(ExitCode::SUCCESS)
}

/// `user erase`: erases the person (`Store::erase_user`) and prints what was done: the
/// tombstone that stands for them in the history, enrollments deleted, events scrubbed.
pub fn erase(cli: &Cli, out: &Out, actor: &Actor, id: &str) -> Outcome {
    let store = open(cli, true)?;
    let erased = store.erase_user(actor, id)?;
    out.record(&erased);
    Ok(ExitCode::SUCCESS)
}
