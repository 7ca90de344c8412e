//! History events, and the multi-row INSERTs of bulk enrollment and imports. An event's
//! columns, values and row reader are generated from `event_fields!`.

use super::*;

event_fields!(stored_record);

/// The columns of `events`, in the order [`Event`] reads them (the table's, which a test
/// checks).
macro_rules! event_columns {
    () => {
        event_fields!(column_list)
    };
}

/// The columns [`insert_event`] binds, in its order: an event's, but `seq` (the first of
/// `event_fields!`), which SQLite assigns.
pub(super) const EVENT_INTO: &str = concat!(
    "INSERT INTO events (",
    event_fields!(column_list_after_key),
    ") VALUES "
);

/// [`EVENT_INTO`] for [`ROWS_PER_INSERT`] events, `OR FAIL` as [`INSERT_FRESH_ROWS`].
pub(super) static EVENT_ROWS: LazyLock<String> = LazyLock::new(|| {
    values_insert(
        &EVENT_INTO.replacen("INSERT", "INSERT OR FAIL", 1),
        EVENT_PARAMS,
        ROWS_PER_INSERT,
    )
});

/// How many values an event binds: one per column but `seq`.
pub(super) const EVENT_PARAMS: usize = Event::COLUMNS.len() - 1;

pub(crate) fn insert_event(held: &mut Held<'_>, e: &Enrollment, ev: NewEvent<'_>) -> Result<()> {
    let stmt = held.stmt(EVENT.as_str())?;
    run_cleared(stmt, |stmt| bind_event(stmt, 0, e, &ev))
}

/// [`insert_event`] for a transaction that writes few events: straight from the statement
/// cache, which hands the statement out and takes it back with every parameter NULL (so
/// [`bind_values`] may skip NULLs, and [`run_cleared`] is not needed).
pub(crate) fn insert_one_event(conn: &Connection, e: &Enrollment, ev: NewEvent<'_>) -> Result<()> {
    let mut stmt = conn.prepare_cached(EVENT.as_str())?;
    bind_event(&mut stmt, 0, e, &ev)?;
    stmt.raw_execute()?;
    Ok(())
}

/// `INSERT INTO` [`EVENT_INTO`] one event.
pub(super) static EVENT: LazyLock<String> =
    LazyLock::new(|| values_insert(EVENT_INTO, EVENT_PARAMS, 1));

/// Binds `ev`, an event of `e`, to parameters `offset + 1` to `offset + EVENT_PARAMS`. The
/// values are made from `e` and `ev` rather than from an [`Event`] (which would copy the ids
/// for every event written), in [`EVENT_INTO`]'s order: a field added to `event_fields!`
/// makes them one short, which the array's type refuses.
pub(super) fn bind_event(
    stmt: &mut CachedStatement<'_>,
    offset: usize,
    e: &Enrollment,
    ev: &NewEvent<'_>,
) -> rusqlite::Result<()> {
    let status = |s: Option<Status>| s.map_or(ValueRef::Null, |s| str_value(s.label(e.kind)));
    let actor = ev.actor.label_text();
    let values: [ValueRef<'_>; EVENT_PARAMS] = [
        str_value(&e.id),
        str_value(&e.user_id),
        str_value(&e.program_id),
        str_value(ev.action),
        status(ev.from),
        status(ev.to),
        str_value(&actor),
        opt_str_value(&ev.reason),
        ValueRef::Integer(ev.at.millis()),
    ];
    bind_values(stmt, offset, values)
}

/// Inserts an event with its own sequence number (imports).
pub(crate) fn insert_event_raw(held: &mut Held<'_>, ev: &Event) -> Result<()> {
    let stmt = held.stmt(EVENT_RAW.as_str())?;
    run_cleared(stmt, |stmt| bind_event_raw(stmt, 0, ev))
}

/// The columns [`insert_event_raw`] binds, in its order: an event's own, `seq` included.
pub(super) const EVENT_RAW_INTO: &str =
    concat!("INSERT INTO events (", event_columns!(), ") VALUES ");

/// How many values [`insert_event_raw`] binds.
pub(super) const EVENT_RAW_PARAMS: usize = Event::COLUMNS.len();

/// `INSERT INTO` [`EVENT_RAW_INTO`] one event.
pub(super) static EVENT_RAW: LazyLock<String> =
    LazyLock::new(|| values_insert(EVENT_RAW_INTO, EVENT_RAW_PARAMS, 1));

/// [`EVENT_RAW_INTO`] for [`ROWS_PER_INSERT`] events. A plain `INSERT`: a refused row rolls
/// the whole statement back (SQLite keeps a statement journal: the rows of an import go to the
/// ends of the table and its unique index, so a statement journals a few pages. During
/// imports temporary data is in files, so those journals are files too once past SQLite's
/// 64 KiB; that measured no slower than keeping them in memory).
pub(super) static EVENT_RAW_ROWS: LazyLock<String> =
    LazyLock::new(|| values_insert(EVENT_RAW_INTO, EVENT_RAW_PARAMS, ROWS_PER_INSERT));

/// Binds `ev` to parameters `offset + 1` to `offset + EVENT_RAW_PARAMS`.
pub(super) fn bind_event_raw(
    stmt: &mut CachedStatement<'_>,
    offset: usize,
    ev: &Event,
) -> rusqlite::Result<()> {
    bind_outputs(stmt, offset, ev.values()?)
}

/// Inserts [`ROWS_PER_INSERT`] events with their own sequence numbers (imports) with one
/// statement: all of them, or (an error) none.
pub(crate) fn insert_events_raw(held: &mut Held<'_>, events: &[&Event]) -> Result<()> {
    debug_assert_eq!(events.len(), ROWS_PER_INSERT);
    let stmt = held.stmt(EVENT_RAW_ROWS.as_str())?;
    run_cleared(stmt, |stmt| {
        for (row, ev) in events.iter().enumerate() {
            bind_event_raw(stmt, row * EVENT_RAW_PARAMS, ev)?;
        }
        Ok(())
    })
}

pub(crate) fn history(conn: &Connection, enrollment_id: &str) -> Result<Vec<Event>> {
    let sql = concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE enrollment_id = ?1 ORDER BY seq"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([enrollment_id], |r| Event::read(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn events_after(
    conn: &Connection,
    after: i64,
    user: Option<&str>,
    limit: u32,
) -> Result<Vec<Event>> {
    let sql = concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE seq > ?1 AND (?2 IS NULL OR user_id = ?2) ORDER BY seq LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![after, user, limit], |r| Event::read(r, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
