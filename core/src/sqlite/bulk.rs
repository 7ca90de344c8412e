//! SQLite-specific work of whole-database operations: index deferral for imports into empty
//! tables, and online backups.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Failure, Result};

/// Whether `table` has no rows.
pub(crate) fn is_empty(conn: &Connection, table: &str) -> Result<bool> {
    let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {table})");
    Ok(conn.query_row(&sql, [], |r| r.get(0))?)
}

/// Into an empty enrollments or events table, an import drops the secondary indexes that check
/// nothing (the unique ones stay, so every line is still checked) and rebuilds them once (those
/// of enrollments at the first event line, the others at the end), which is much cheaper than
/// updating them row by row. Partial indexes stay too: they hold the rows in some statuses
/// only (`enrollments_scheduled`: scheduled enrollments not started yet; `enrollments_due`:
/// running ones with a next step time, and `enrollments_due_program`; `enrollments_deadline`:
/// open ones with a deadline), so keeping them costs a condition per row and an
/// entry for the few that match, while each rebuild reads the whole table again. Returns `(table, statement)`
/// for each, to rebuild them; a rollback restores them anyway.
pub(crate) fn defer_indexes(conn: &Connection) -> Result<Vec<(&'static str, String)>> {
    let mut rebuild = Vec::new();
    for table in ["enrollments", "events"] {
        if !is_empty(conn, table)? {
            continue;
        }
        let mut stmt = conn.prepare(
            "SELECT m.name, m.sql FROM pragma_index_list(?1) l
             JOIN sqlite_master m ON m.type = 'index' AND m.name = l.name
             WHERE l.origin = 'c' AND NOT l.\"unique\" AND NOT l.partial",
        )?;
        let indexes: Vec<(String, String)> = stmt
            .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, sql) in indexes {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
            rebuild.push((table, sql));
        }
    }
    Ok(rebuild)
}

/// Runs the `CREATE INDEX` statements that [`defer_indexes`] returned.
pub(crate) fn rebuild_indexes<'a>(
    conn: &Connection,
    statements: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    for sql in statements {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Copies the database `conn` reads to a new file `dest` with SQLite's backup API, from the one
/// snapshot `conn`'s transaction sees; with `owner_only`, `dest` is created with mode 0600.
pub(crate) fn backup_to(conn: &Connection, dest: &Path, owner_only: bool) -> Result<()> {
    if owner_only {
        crate::sqlite::create_owner_only(dest)?;
    }
    let mut target = Connection::open(dest).map_err(|e| {
        Error::Storage(Failure::caused_by(
            format!("cannot create {}: {e}", dest.display()),
            e,
        ))
    })?;
    let backup = rusqlite::backup::Backup::new(conn, &mut target)?;
    match backup.step(-1)? {
        rusqlite::backup::StepResult::Done => Ok(()),
        other => Err(Error::Busy(format!("backup stopped: {other:?}").into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_defer_the_full_secondary_indexes_only() {
        let conn = Connection::open_in_memory().unwrap();
        crate::sqlite::migrate(&conn, crate::sqlite::MIGRATIONS).unwrap();
        let mut deferred: Vec<String> = defer_indexes(&conn)
            .unwrap()
            .into_iter()
            .map(|(table, sql)| format!("{table}: {}", sql.split(" ON ").next().unwrap()))
            .collect();
        deferred.sort();
        assert_eq!(
            deferred,
            [
                "enrollments: CREATE INDEX enrollments_program_status",
                "enrollments: CREATE INDEX enrollments_user",
                "events: CREATE INDEX events_enrollment",
            ]
        );
        let kept: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            kept,
            [
                "enrollments_deadline",
                "enrollments_due",
                "enrollments_due_program",
                "enrollments_one_open",
                "enrollments_scheduled",
                "users_email",
                "users_external_id"
            ]
        );
    }
}
