//! Workload W on PostgreSQL: what the contenders share (a new database for each run, its size,
//! phase C's first pages from several client threads at once) and the `rust-pg` contender,
//! enrollkit's Rust API over a PostgreSQL location ([`run`]).
//!
//! The server is the one at the location given on the command line (`bench/run` starts a
//! throwaway one with `scripts/pg`); each run creates `bench_<contender>_<N>` on it, dropping
//! any database of that name first, and leaves it there. The bench's own connections (creating
//! the database, measuring its size, the floor) do not use TLS: give a unix socket or a
//! loopback location.

use std::sync::Barrier;
use std::time::Instant;

use serde_json::{json, Value};

use crate::{enrollkit_api, median_round, Figures, Workload};

/// An error of any of the contenders, as words.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// First pages each client thread runs before the timed ones (not timed): connections opened
/// and statements prepared, for enrollkit's pool as for the floor's own connections.
const WARM_UP: usize = 100;

/// `base` with its database replaced by `name`: key=value settings get `dbname=name` in place
/// of theirs, a URL the path `/name`.
pub(crate) fn with_database(base: &str, name: &str) -> String {
    let base = base.trim();
    if let Some(rest) = base
        .strip_prefix("postgres://")
        .or_else(|| base.strip_prefix("postgresql://"))
    {
        let scheme = &base[..base.len() - rest.len()];
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let authority = before_query.split('/').next().unwrap_or("");
        let mut out = format!("{scheme}{authority}/{name}");
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        return out;
    }
    let kept: Vec<&str> = base
        .split_whitespace()
        .filter(|kv| !kv.starts_with("dbname="))
        .collect();
    format!("{} dbname={name}", kept.join(" "))
}

/// A connection of the bench's own to `location` (no TLS).
pub(crate) fn connect(location: &str) -> Result<postgres::Client, Error> {
    Ok(postgres::Client::connect(location, postgres::NoTls)?)
}

/// Creates the database `name` on the server at `base` (dropping one of that name first,
/// connections and all) and returns its location.
pub(crate) fn fresh_database(base: &str, name: &str) -> Result<String, Error> {
    let mut client = connect(base)?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    client.batch_execute(&format!("CREATE DATABASE {name}"))?;
    Ok(with_database(base, name))
}

/// The database name of `contender`'s run at `n`.
pub(crate) fn database_name(contender: &str, n: usize) -> String {
    format!("bench_{}_{n}", contender.replace('-', "_"))
}

/// Bytes of every table of the `public` schema of the database at `location`, indexes and
/// TOAST included (`pg_total_relation_size`): the database's own catalog is left out.
pub(crate) fn database_bytes(location: &str) -> Result<u64, Error> {
    let mut client = connect(location)?;
    let bytes: i64 = client
        .query_one(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r'",
            &[],
        )?
        .get(0);
    Ok(bytes.max(0) as u64)
}

/// Phase C's first pages from [`Workload::threads`] client threads at once: each thread gets
/// its client from `connect` (its own connection, or a shared store), runs [`WARM_UP`] first
/// pages untimed, waits for the others, then runs [`Workload::queries`] first pages (query `q`
/// of thread `t` on program `(q * threads + t) % programs`) with `page`, which is given the
/// program's index. Returns the queries of all threads per second of the time from their
/// common start to the last one's end.
pub(crate) fn concurrent_first_pages<C>(
    w: &Workload,
    connect: impl Fn() -> Result<C, Error> + Sync,
    page: impl Fn(&mut C, usize) -> Result<(), Error> + Sync,
) -> Result<f64, Error> {
    let threads = w.threads;
    let program = |q: usize, t: usize| (q * threads + t) % w.programs;
    let start = Barrier::new(threads + 1);
    let client = |t: usize| -> Result<(), Error> {
        let warmed = (|| -> Result<C, Error> {
            let mut c = connect()?;
            for q in 0..WARM_UP.min(w.queries) {
                page(&mut c, program(q, t))?;
            }
            Ok(c)
        })();
        // Every thread waits here, failed or not, so that none waits for ever.
        start.wait();
        let mut c = warmed?;
        (0..w.queries).try_for_each(|q| page(&mut c, program(q, t)))
    };
    std::thread::scope(|s| {
        let client = &client;
        let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || client(t))).collect();
        start.wait();
        let began = Instant::now();
        for h in handles {
            h.join().map_err(|_| "a client thread panicked")??;
        }
        Ok((threads * w.queries) as f64 / began.elapsed().as_secs_f64())
    })
}

/// The JSON object a PostgreSQL contender prints.
pub(crate) fn figures(contender: &str, w: &Workload, f: &Figures) -> Value {
    json!({
        "contender": contender, "n": w.n,
        "users": f.users, "enroll": f.enroll, "single": f.single_normal,
        "first_page": f.first_page, "first_page_threads": f.first_page_threads,
        "threads": w.threads, "offset_deep": f.offset_deep, "keyset_deep": f.keyset_deep,
        "db_bytes": f.db_bytes,
    })
}

/// The `rust-pg` contender: phases A, B (one kind of round: the median of
/// [`Workload::rounds`]) and C through enrollkit's Rust API on a new database of the server at
/// `w.db`, then phase C's first pages from [`Workload::threads`] threads sharing the store
/// (`Store` is `Sync`; its pool holds up to 16 connections).
pub(crate) fn run(w: &Workload) -> Result<Figures, String> {
    let text = |e: Error| e.to_string();
    let base = w.db.to_str().ok_or("the location is not UTF-8")?;
    let location = fresh_database(base, &database_name("rust-pg", w.n)).map_err(text)?;
    let store = enrollkit::OpenOptions::new()
        .open(&location)
        .map_err(|e| e.to_string())?;
    let mut f = Figures::default();
    let targets = enrollkit_api::bulk(w, &store, &mut f, &enrollkit::Policy::default())
        .map_err(|e| e.to_string())?;
    f.db_bytes = database_bytes(&location).map_err(text)?;
    f.single_normal = median_round(w, &targets, |ids| enrollkit_api::single(&store, ids))
        .map_err(|e| e.to_string())?;
    enrollkit_api::queries(w, &store, &mut f).map_err(|e| e.to_string())?;
    f.first_page_threads = concurrent_first_pages(
        w,
        || Ok(&store),
        |store, j| match enrollkit_api::page(w, store, j, 1)?.len() {
            0 => Err(format!("program {j}: empty first page").into()),
            _ => Ok(()),
        },
    )
    .map_err(text)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_is_replaced_in_both_forms_of_location() {
        for (base, expected) in [
            (
                "host=/tmp/x port=5 user=u dbname=postgres",
                "host=/tmp/x port=5 user=u dbname=b",
            ),
            ("host=/tmp/x", "host=/tmp/x dbname=b"),
            ("postgres://u@h:5/postgres", "postgres://u@h:5/b"),
            (
                "postgresql://u@h/postgres?sslmode=disable",
                "postgresql://u@h/b?sslmode=disable",
            ),
            ("postgres://h", "postgres://h/b"),
            ("postgres://h?x=1", "postgres://h/b?x=1"),
        ] {
            assert_eq!(super::with_database(base, "b"), expected, "{base}");
        }
    }
}
