//! Users: rows, upserts (one and many), look-ups by id, email or external id.

use super::*;

/// The user columns `user_from_row` reads, as a macro so that statements can be `concat!`ed
/// at compile time instead of formatted on every call.
macro_rules! user_columns {
    () => {
        "id, email, display_name, external_id, department, location, manager_id, groups_json, \
         timezone"
    };
}

/// `SELECT <user columns> FROM users WHERE `.
macro_rules! select_user {
    () => {
        concat!("SELECT ", user_columns!(), " FROM users WHERE ")
    };
}

pub(super) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let groups: String = r.get(7)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        external_id: r.get(3)?,
        department: r.get(4)?,
        location: r.get(5)?,
        manager_id: r.get(6)?,
        groups: serde_json::from_str(&groups).map_err(|_| bad_row("groups", &groups))?,
        timezone: r.get(8)?,
    })
}

/// The column list of a user row, shared by the user INSERTs.
macro_rules! user_into {
    () => {
        "INSERT INTO users (id, email, display_name, external_id, department, location, \
         manager_id, groups_json, timezone, created_at, updated_at) VALUES "
    };
}

/// [`user_into`] one user, bound with [`user_values`].
macro_rules! insert_user {
    () => {
        concat!(
            user_into!(),
            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        )
    };
}

/// The values of a new user row in [`user_into`]'s order: `groups` is `u.groups` as JSON.
pub(super) fn user_values<'a>(
    u: &'a User,
    groups: &'a str,
    times: UserTimes,
) -> [ValueRef<'a>; USER_PARAMS] {
    [
        str_value(&u.id),
        opt_str_value(&u.email),
        opt_str_value(&u.display_name),
        opt_str_value(&u.external_id),
        opt_str_value(&u.department),
        opt_str_value(&u.location),
        opt_str_value(&u.manager_id),
        str_value(groups),
        opt_str_value(&u.timezone),
        ValueRef::Integer(times.created_at.millis()),
        ValueRef::Integer(times.updated_at.millis()),
    ]
}

/// Creates or (with `replace`) replaces a user. Without `replace`, an existing id is a
/// conflict. An email or external id that belongs to another user is a conflict.
pub(crate) fn upsert_user(
    held: &mut Held<'_>,
    user: &User,
    times: UserTimes,
    replace: bool,
) -> Result<()> {
    let groups = serde_json::to_string(&user.groups)?;
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
    )?;
    let sql = if replace {
        concat!(
            insert_user!(),
            " ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
             display_name = excluded.display_name, external_id = excluded.external_id, \
             department = excluded.department, location = excluded.location, \
             manager_id = excluded.manager_id, groups_json = excluded.groups_json, \
             timezone = excluded.timezone, updated_at = excluded.updated_at"
        )
    } else {
        concat!(insert_user!(), " ON CONFLICT (id) DO NOTHING")
    };
    let changed = held.stmt(sql)?.execute(rusqlite::params_from_iter(
        user_values(user, &groups, times).map(ToSqlOutput::Borrowed),
    ))?;
    if changed == 0 {
        return Err(Error::Conflict(format!("user {} already exists", user.id)));
    }
    Ok(())
}

/// How many values [`user_values`] gives a user.
pub(super) const USER_PARAMS: usize = 11;

/// [`user_into`] for [`ROWS_PER_INSERT`] users, a plain `INSERT` as [`EVENT_RAW_ROWS`].
pub(super) static INSERT_USER_ROWS: LazyLock<String> =
    LazyLock::new(|| values_insert(user_into!(), USER_PARAMS, ROWS_PER_INSERT));

/// Inserts [`ROWS_PER_INSERT`] new users (imports) with one statement: all of them, or (an
/// error: an id, email or external id taken, also by another of them) none. The caller then
/// writes them one by one with [`upsert_user`], which names the conflict.
pub(crate) fn insert_users(held: &mut Held<'_>, users: &[(&User, UserTimes)]) -> Result<()> {
    debug_assert_eq!(users.len(), ROWS_PER_INSERT);
    let groups = users
        .iter()
        .map(|(u, _)| serde_json::to_string(&u.groups))
        .collect::<serde_json::Result<Vec<_>>>()?;
    let stmt = held.stmt(INSERT_USER_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, ((u, times), groups)) in users.iter().zip(&groups).enumerate() {
            bind_values(stmt, row * USER_PARAMS, user_values(u, groups, *times))?;
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
    let lookup = user_lookup!("SELECT id, timezone FROM users WHERE ", by);
    find_user_by(held, lookup, |r| {
        Ok(User {
            id: r.get(0)?,
            timezone: r.get(1)?,
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
        let times = UserTimes {
            created_at: Timestamp::from_millis(r.get(9)?),
            updated_at: Timestamp::from_millis(r.get(10)?),
        };
        Ok((user_from_row(r)?, times))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list_users(conn: &Connection, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
    let sql = concat!(select_user!(), "id > ?1 ORDER BY id LIMIT ?2");
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after.unwrap_or(""), limit], user_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
