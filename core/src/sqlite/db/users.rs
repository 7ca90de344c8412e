//! Users: rows, upserts (one and many), look-ups by id, email or external id.

use super::*;

user_fields!(stored_record);

/// The columns of a [`User`], in the order [`user_from_row`] reads them (the table's, which a
/// test checks), as a macro so that statements can be `concat!`ed at compile time instead of
/// formatted on every call.
macro_rules! user_columns {
    () => {
        user_fields!(column_list)
    };
}

/// `SELECT <user columns> FROM users WHERE `.
macro_rules! select_user {
    () => {
        concat!("SELECT ", user_columns!(), " FROM users WHERE ")
    };
}

/// Reads a row selected with [`user_columns`].
pub(super) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    User::read(r, 0)
}

/// The column list of a user row (the user's columns, then its times), shared by the user
/// INSERTs.
macro_rules! user_into {
    () => {
        concat!(
            "INSERT INTO users (",
            user_columns!(),
            ", created_at, updated_at) VALUES "
        )
    };
}

/// [`user_into`] one user, bound with [`user_values`].
macro_rules! insert_user {
    () => {
        concat!(user_into!(), "(", user_fields!(column_params), ", ?, ?)")
    };
}

/// The values of a new user row in [`user_into`]'s order: the user's ([`StoredRecord`]), then
/// its times.
pub(super) fn user_values(
    u: &User,
    times: UserTimes,
) -> rusqlite::Result<impl Iterator<Item = ToSqlOutput<'_>>> {
    let times = [times.created_at, times.updated_at]
        .map(|t| ToSqlOutput::Borrowed(ValueRef::Integer(t.millis())));
    Ok(u.values()?.into_iter().chain(times))
}

/// `ON CONFLICT` clause that replaces every column of an existing user but the key (`id`, the
/// first of `user_fields!`) and `created_at`.
macro_rules! replace_user {
    () => {
        concat!(
            " ON CONFLICT (id) DO UPDATE SET ",
            user_fields!(set_excluded_after_key),
            "updated_at = excluded.updated_at"
        )
    };
}

/// Refuses `user` (`conflict`) when its email or external id belongs to another user.
fn check_unique_values(held: &mut Held<'_>, user: &User) -> Result<()> {
    let mut clash = |field: &str, sql: &'static str, value: &Option<String>| -> Result<()> {
        let Some(v) = value else { return Ok(()) };
        let other: Option<String> = held
            .stmt(sql)?
            .query_row(params![v, user.id], |r| r.get(0))
            .optional()?;
        match other {
            Some(other) => Err(Error::Conflict(format!(
                "{field} {v:?} already belongs to user {other}"
            ))),
            None => Ok(()),
        }
    };
    clash(
        "email",
        "SELECT id FROM users WHERE email COLLATE NOCASE = ?1 AND id <> ?2",
        &user.email,
    )?;
    clash(
        "external_id",
        "SELECT id FROM users WHERE external_id = ?1 AND id <> ?2",
        &user.external_id,
    )
}

/// Creates or (with `replace`) replaces a user. Without `replace`, an existing id is a
/// conflict. An email or external id that belongs to another user is a conflict.
pub(crate) fn upsert_user(
    held: &mut Held<'_>,
    user: &User,
    times: UserTimes,
    replace: bool,
) -> Result<()> {
    check_unique_values(held, user)?;
    let sql = if replace {
        concat!(insert_user!(), replace_user!())
    } else {
        concat!(insert_user!(), " ON CONFLICT (id) DO NOTHING")
    };
    let stmt = held.stmt(sql)?;
    run_cleared(stmt, |stmt| {
        bind_outputs(stmt, 0, user_values(user, times)?)
    })?;
    if held.conn().changes() == 0 {
        return Err(Error::Conflict(format!("user {} already exists", user.id)));
    }
    Ok(())
}

/// [`upsert_user`]'s replace for [`ROWS_PER_INSERT`] users, `OR FAIL` (see
/// [`INSERT_FRESH_ROWS`]): a statement per user costs more than its row, and a directory sync
/// replaces thousands.
static REPLACE_USER_ROWS: LazyLock<String> = LazyLock::new(|| {
    let insert = values_insert(user_into!(), USER_PARAMS, ROWS_PER_INSERT);
    format!(
        "{}{}",
        insert.replacen("INSERT", "INSERT OR FAIL", 1),
        replace_user!()
    )
});

/// Creates or replaces [`ROWS_PER_INSERT`] users with one statement, after checking that no
/// email or external id of theirs belongs to another stored user. Returns `false` when that
/// check or the statement refused one of them (two of them with one email, say): some of them
/// may be written then, and [`upsert_user`] for each one completes the batch and names the
/// refused one.
pub(crate) fn replace_users(
    held: &mut Held<'_>,
    users: &[&User],
    times: UserTimes,
) -> Result<bool> {
    debug_assert_eq!(users.len(), ROWS_PER_INSERT);
    for user in users {
        match check_unique_values(held, user) {
            Ok(()) => {}
            Err(Error::Conflict(_)) => return Ok(false),
            Err(other) => return Err(other),
        }
    }
    let stmt = held.stmt(REPLACE_USER_ROWS.as_str())?;
    let written = run_cleared(stmt, |stmt| {
        for (row, u) in users.iter().enumerate() {
            bind_outputs(stmt, row * USER_PARAMS, user_values(u, times)?)?;
        }
        Ok(())
    });
    match written {
        Ok(()) => Ok(true),
        Err(e) if crate::sqlite::is_constraint_failure(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// How many values [`user_values`] gives a user: its columns and its two times.
pub(super) const USER_PARAMS: usize = User::COLUMNS.len() + 2;

/// [`user_into`] for [`ROWS_PER_INSERT`] users, a plain `INSERT` as [`EVENT_RAW_ROWS`].
pub(super) static INSERT_USER_ROWS: LazyLock<String> =
    LazyLock::new(|| values_insert(user_into!(), USER_PARAMS, ROWS_PER_INSERT));

/// Inserts [`ROWS_PER_INSERT`] new users (imports) with one statement: all of them, or (an
/// error: an id, email or external id taken, also by another of them) none. The caller then
/// writes them one by one with [`upsert_user`], which names the conflict.
pub(crate) fn insert_users(held: &mut Held<'_>, users: &[(&User, UserTimes)]) -> Result<()> {
    debug_assert_eq!(users.len(), ROWS_PER_INSERT);
    let stmt = held.stmt(INSERT_USER_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, (u, times)) in users.iter().enumerate() {
            bind_outputs(stmt, row * USER_PARAMS, user_values(u, *times)?)?;
        }
        Ok(())
    })
}

/// `(SQL, value, entity)` that find the user `$by` (a [`UserRef`]) with `$select`, a SELECT
/// ending in `WHERE `.
macro_rules! user_lookup {
    ($select:expr, $by:expr) => {
        match $by {
            UserRef::Id(v) => (concat!($select, "id = ?1"), v, "user"),
            UserRef::Email(v) => (
                concat!($select, "email COLLATE NOCASE = ?1"),
                v,
                "user with email",
            ),
            UserRef::ExternalId(v) => (
                concat!($select, "external_id = ?1"),
                v,
                "user with external id",
            ),
        }
    };
}

/// Runs a [`user_lookup!`]: the row as `row` reads it, or `not_found`.
pub(super) fn find_user_by<T>(
    held: &mut Held<'_>,
    (sql, value, entity): (&'static str, &String, &'static str),
    row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<T> {
    held.stmt(sql)?
        .query_row([value], row)
        .optional()?
        .ok_or_else(|| Error::not_found(entity, value.clone()))
}

pub(crate) fn find_user_held(held: &mut Held<'_>, by: &UserRef) -> Result<User> {
    find_user_by(held, user_lookup!(select_user!(), by), user_from_row)
}

/// The user `by` refers to, with only the fields an enrollment takes from its user (`id` and
/// `timezone`, as read by [`crate::lifecycle::enroll`]); the others are left empty. Bulk
/// enrolls look up one user per row, and the full row would parse its groups from JSON for
/// nothing.
pub(crate) fn find_enrolling_user(held: &mut Held<'_>, by: &UserRef) -> Result<User> {
    let lookup = user_lookup!(
        "SELECT id, timezone, partnerships_json FROM users WHERE ",
        by
    );
    find_user_by(held, lookup, |r| {
        let partnerships: String = r.get(2)?;
        // Most users have none: `[]` needs no parsing.
        let partnerships = match partnerships.as_str() {
            "[]" => Vec::new(),
            json => serde_json::from_str(json).map_err(|_| bad_row("partnerships", json))?,
        };
        Ok(User {
            id: r.get(0)?,
            timezone: r.get(1)?,
            partnerships,
            ..User::default()
        })
    })
}

/// [`list_users`] with each user's times (exports).
pub(crate) fn list_users_with_times(
    conn: &Connection,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<(User, UserTimes)>> {
    let sql = concat!(
        "SELECT ",
        user_columns!(),
        ", created_at, updated_at FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], |r| {
        // After the user's columns.
        let times = UserTimes {
            created_at: Timestamp::from_millis(r.get(User::COLUMNS.len())?),
            updated_at: Timestamp::from_millis(r.get(User::COLUMNS.len() + 1)?),
        };
        Ok((user_from_row(r)?, times))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`crate::storage::Read::users_hired_on`] for up to two month-days (a scan of the users:
/// anniversaries run once a day).
pub(crate) fn users_hired_on(conn: &Connection, month_days: &[&str]) -> Result<Vec<User>> {
    let sql = concat!(
        select_user!(),
        "substr(hire_date, 6) IN (?1, ?2) ORDER BY id"
    );
    let (first, second) = match month_days {
        [] => return Ok(Vec::new()),
        [one] => (*one, *one),
        [one, two] => (*one, *two),
        _ => return Err(Error::Storage("more than two month-days".into())),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![first, second], user_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_users(conn: &Connection, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
    let sql = concat!(select_user!(), "id > ?1 ORDER BY id LIMIT ?2");
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], user_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// [`crate::storage::Write::delete_user_with_enrollments`] (SQLite's one writer: nothing can
/// enroll the user meanwhile). Step progress and attempts go with their enrollments (foreign
/// keys, `ON DELETE CASCADE`).
pub(crate) fn delete_user_with_enrollments(
    conn: &Connection,
    user_id: &str,
) -> Result<Vec<Enrollment>> {
    let found: i64 = conn
        .prepare_cached("SELECT count(*) FROM users WHERE id = ?1")?
        .query_row([user_id], |r| r.get(0))?;
    if found == 0 {
        return Err(Error::not_found("user", user_id));
    }
    let sql = format!(
        "SELECT {} FROM enrollments e WHERE user_id = ?1 ORDER BY rid",
        super::ENROLLMENT_STORED_COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], super::stored_enrollment_from_row)?;
    let enrollments: Vec<Enrollment> = rows
        .map(|r| r.map(|(_, e)| e))
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("DELETE FROM enrollments WHERE user_id = ?1")?
        .execute([user_id])?;
    conn.prepare_cached("DELETE FROM users WHERE id = ?1")?
        .execute([user_id])?;
    Ok(enrollments)
}

/// [`crate::storage::Write::scrub_events`].
pub(crate) fn scrub_events(conn: &Connection, user_id: &str, tombstone: &str) -> Result<u64> {
    let mut changed = conn
        .prepare_cached(
            "UPDATE events SET user_id = ?2, reason = NULL,
                 actor = CASE WHEN actor = 'learner:' || ?1 THEN 'learner:' || ?2 ELSE actor END
             WHERE user_id = ?1",
        )?
        .execute([user_id, tombstone])? as u64;
    changed += conn
        .prepare_cached(
            "UPDATE events SET actor = 'learner:' || ?2 WHERE actor = 'learner:' || ?1",
        )?
        .execute([user_id, tombstone])? as u64;
    Ok(changed)
}

/// [`crate::storage::Write::clear_user_references`].
pub(crate) fn clear_user_references(
    conn: &Connection,
    user_id: &str,
    tombstone: &str,
    needles: &[&str],
) -> Result<()> {
    for sql in [
        "UPDATE users SET manager_id = NULL WHERE manager_id = ?1",
        "UPDATE enrollments SET mentor_id = NULL, mentor_assigned_at = NULL WHERE mentor_id = ?1",
        "UPDATE enrollments SET added_by_user_id = NULL WHERE added_by_user_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([user_id])?;
    }
    for needle in needles.iter().filter(|n| !n.is_empty()) {
        for (table, column) in crate::storage::FREE_TEXT {
            let sql = format!(
                "UPDATE {table} SET {column} = replace({column}, ?1, ?2) \
                 WHERE instr({column}, ?1) > 0"
            );
            conn.prepare_cached(&sql)?.execute([needle, tombstone])?;
        }
    }
    Ok(())
}
