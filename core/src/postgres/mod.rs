//! The PostgreSQL backend: the only module that names `postgres`. [`Database`] holds a pool of
//! connections to one database, migrates it (the schema is `schema/*.sql`, one file per
//! version) and runs the storage boundary's transactions ([`tx`] implements `Read` and
//! `Write`). It stores what [`crate::domain`] decided and makes no decision of its own.
//!
//! Transactions: reads run `REPEATABLE READ, READ ONLY` (one snapshot); writes run `READ
//! COMMITTED` and lock what they change (`SELECT ... FOR UPDATE`, the unique indexes). A write
//! that fails with a serialization failure or a deadlock is run again, up to
//! [`MAX_ATTEMPTS`] times with a growing pause, and is `busy` beyond that.

mod tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::NoTls;

use crate::domain::model::Enrollment;
use crate::domain::time::Timestamp;
use crate::error::{Error, Failure, Result};
use crate::storage::{Backend, ChangeBody, OpenOptions, Read, Write, WriteMode};

/// The schema, one SQL file per version it brings the database to: `(version, SQL)`. A new
/// database runs them all in one transaction; an older one the ones above its version.
const MIGRATIONS: &[(i64, &str)] = &[
    (7, include_str!("schema/0007_initial.sql")),
    (8, include_str!("schema/0008_step_schedules.sql")),
    (9, include_str!("schema/0009_due_work_by_program.sql")),
    (10, include_str!("schema/0010_enrollment_policies.sql")),
];

/// Connections the pool keeps at most.
const MAX_CONNECTIONS: u32 = 16;

/// How many times a write is run when PostgreSQL reports a serialization failure or a
/// deadlock (the transaction was rolled back and can simply be run again).
pub(crate) const MAX_ATTEMPTS: u32 = 8;

/// Whether `location` names a PostgreSQL database rather than an SQLite file: a
/// `postgres://` or `postgresql://` URL, or libpq key=value settings that name a host or a
/// database.
pub(crate) fn is_location(location: &str) -> bool {
    let l = location.trim_start();
    l.starts_with("postgres://")
        || l.starts_with("postgresql://")
        || l.split_whitespace()
            .any(|kv| kv.starts_with("host=") || kv.starts_with("dbname="))
}

/// PostgreSQL's failures mapped once to public codes: a serialization failure, a deadlock or a
/// lock that could not be had is `busy`; anything else `storage`. The PostgreSQL error stays
/// the [`Failure`]'s source (`sql_state` reads it).
impl From<postgres::Error> for Error {
    fn from(err: postgres::Error) -> Self {
        let busy = matches!(
            err.code(),
            Some(
                &SqlState::T_R_SERIALIZATION_FAILURE
                    | &SqlState::T_R_DEADLOCK_DETECTED
                    | &SqlState::LOCK_NOT_AVAILABLE
                    | &SqlState::QUERY_CANCELED
            )
        );
        let failure = Failure::caused_by(describe(&err), err);
        if busy {
            Error::Busy(failure)
        } else {
            Error::Storage(failure)
        }
    }
}

/// `err` in words: the server's own message when the server refused something (the error's
/// `Display` says only "db error" then).
fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        None => {
            // The cause (a refused certificate, a refused connection) is in the source chain.
            let mut text = err.to_string();
            let mut cause = std::error::Error::source(err);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            text
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(err: r2d2::Error) -> Self {
        Error::Busy(Failure::caused_by(
            format!("no PostgreSQL connection: {err}"),
            err,
        ))
    }
}

/// The SQLSTATE of the PostgreSQL error behind `err`, if any.
pub(crate) fn sql_state(err: &Error) -> Option<&SqlState> {
    match err {
        Error::Busy(f) | Error::Storage(f) => f.cause::<postgres::Error>()?.code(),
        _ => None,
    }
}

/// Whether `err` says the connection is gone rather than that the server refused a
/// statement: a failure of the connection itself, or the server's last word on it (a `FATAL`
/// error such as `terminating connection due to administrator command`).
fn connection_lost(err: &postgres::Error) -> bool {
    use postgres::error::Severity;
    match err.as_db_error() {
        None => true,
        Some(db) => matches!(
            db.parsed_severity(),
            Some(Severity::Fatal | Severity::Panic)
        ),
    }
}

/// Whether a write that failed with `err` may simply be run again.
fn retryable(err: &Error) -> bool {
    matches!(
        sql_state(err),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE | &SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Statements a connection keeps prepared at most; it forgets them all when it has that many
/// (listings and updates build statements from their filters and changed columns).
const MAX_STATEMENTS: usize = 512;

/// A pooled connection and the statements prepared on it: a statement is prepared (one round
/// trip) the first time a connection runs it, then only executed. Prepared statements belong
/// to the session, not to a transaction, so they outlive rollbacks.
pub(crate) struct Connection {
    client: postgres::Client,
    statements: std::collections::HashMap<String, postgres::Statement>,
    /// Set when the connection was found dead: the pool then drops it.
    broken: bool,
}

/// Opens the pool's connections.
struct Manager {
    config: postgres::Config,
    /// TLS, when the location asks for it (`sslmode=require`).
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Manager {
    /// A new client, over TLS when the location asks for it.
    fn client(&self) -> std::result::Result<postgres::Client, postgres::Error> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
    }
}

/// `location` without its `sslrootcert` setting (which rust-postgres does not know), and that
/// setting's value: a URL's query parameter or a key=value pair.
fn take_root_certificate(location: &str) -> (String, Option<String>) {
    let location = location.trim();
    let mut root = None;
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        let Some((base, query)) = location.split_once('?') else {
            return (location.to_owned(), None);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|kv| match kv.strip_prefix("sslrootcert=") {
                Some(path) => {
                    root = Some(percent_decoded(path));
                    false
                }
                None => true,
            })
            .collect();
        let rest = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        return (rest, root);
    }
    let kept: Vec<&str> = location
        .split_whitespace()
        .filter(|kv| match kv.strip_prefix("sslrootcert=") {
            Some(path) => {
                root = Some(path.to_owned());
                false
            }
            None => true,
        })
        .collect();
    (kept.join(" "), root)
}

/// `text` with its `%XX` escapes decoded (a URL's query value).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The TLS connector for a location that asks for TLS (`sslmode=require`): the server's
/// certificate is verified against the system's roots and, when given, the `sslrootcert`
/// file or `PGSSLROOTCERT` (as libpq names it), host name included. Other modes connect
/// without TLS (`prefer`, rust-postgres's default, then never tries it).
fn tls_for(
    config: &postgres::Config,
    root: Option<String>,
) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>> {
    if config.get_ssl_mode() != postgres::config::SslMode::Require {
        return Ok(None);
    }
    let bad = |what: String| Error::validation("sslrootcert", what);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let root = root.or_else(|| std::env::var("PGSSLROOTCERT").ok());
    if let Some(path) = root {
        let pem = std::fs::read(&path).map_err(|e| bad(format!("cannot read {path}: {e}")))?;
        let mut reader = &pem[..];
        let certs: Vec<_> = rustls_pemfile_certs(&mut reader)
            .map_err(|e| bad(format!("{path} is not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(bad(format!("{path} holds no certificate")));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| bad(format!("{path} holds an unusable certificate: {e}")))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Storage(Failure::caused_by(format!("TLS setup: {e}"), e)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
}

/// The certificates of a PEM file.
fn rustls_pemfile_certs(
    reader: &mut &[u8],
) -> std::result::Result<
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::pem::Error,
> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(reader).collect()
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.client()?,
            statements: std::collections::HashMap::new(),
            broken: false,
        })
    }

    /// Not run on check-out (the pool is built with `test_on_check_out(false)`): a round trip
    /// per operation for nothing, since every operation begins with `BEGIN`, which finds a
    /// dead connection just as well ([`Database::transaction`]).
    fn is_valid(&self, conn: &mut Connection) -> std::result::Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// One PostgreSQL database, through a pool of connections. `Send + Sync`.
pub(crate) struct Database {
    pool: r2d2::Pool<Manager>,
    /// The location without its password, for messages.
    shown: String,
    options: OpenOptions,
    programs: crate::storage::ProgramCache,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("postgres::Database")
            .field("location", &self.shown)
            .finish()
    }
}

impl Database {
    /// Connects to the database `location` names (a URL or key=value settings, several hosts
    /// and `target_session_attrs` included) and creates or upgrades its schema, unless
    /// `options` say read-only (then it must be at [`crate::SCHEMA_VERSION`]).
    pub(crate) fn open(location: &str, options: OpenOptions) -> Result<Database> {
        let (location, root) = take_root_certificate(location);
        let config = postgres::Config::from_str(&location).map_err(|e| {
            Error::validation("location", format!("not a PostgreSQL location: {e}"))
        })?;
        let mut shown = config.clone();
        if config.get_password().is_some() {
            shown.password("***");
        }
        let shown = format!(
            "postgres (hosts {:?}, database {:?}, user {:?})",
            shown.get_hosts(),
            shown.get_dbname().unwrap_or(""),
            shown.get_user().unwrap_or("")
        );
        // One connection first: it says at once why a database cannot be reached (the pool
        // would retry until its timeout), and it migrates.
        let manager = Manager {
            tls: tls_for(&config, root)?,
            config,
        };
        let mut client = manager.client().map_err(|e| {
            Error::Storage(Failure::caused_by(
                format!("cannot connect to {shown}: {}", describe(&e)),
                e,
            ))
        })?;
        migrate(&mut client, &options, &shown)?;

        let pool = r2d2::Pool::builder()
            .max_size(MAX_CONNECTIONS)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(options.busy_timeout.max(Duration::from_millis(100)))
            .build(manager)
            .map_err(|e| {
                Error::Storage(Failure::caused_by(
                    format!("cannot connect to {shown}: {e}"),
                    e,
                ))
            })?;
        Ok(Database {
            pool,
            shown,
            options,
            programs: crate::storage::ProgramCache::default(),
        })
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>> {
        Ok(self.pool.get()?)
    }

    /// Runs `body` with a transaction begun on a pooled connection: a snapshot for reading
    /// when `read`, else a read-write one. The same round trip as `BEGIN` reads the program
    /// version (a program from the cache then costs none). A pooled connection may have died
    /// while it was idle (the server restarted, or failed over to a replica): its `BEGIN`
    /// fails before anything ran, so the connection is dropped and another one taken, as
    /// often as the pool holds connections.
    fn transaction<T>(&self, read: bool, body: impl FnOnce(tx::Tx<'_>) -> Result<T>) -> Result<T> {
        let begin = if read {
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT version FROM program_version"
        } else {
            "BEGIN; SELECT version FROM program_version"
        };
        let mut dead = 0;
        loop {
            let mut conn = self.connection()?;
            let Connection {
                client,
                statements,
                broken,
            } = &mut *conn;
            match client.simple_query(begin) {
                Ok(messages) => {
                    let version = messages.iter().find_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse::<i64>().ok(),
                        _ => None,
                    });
                    let Some(version) = version else {
                        let _ = client.batch_execute("ROLLBACK");
                        return Err(Error::Corrupt(
                            "the program_version table has no version".into(),
                        ));
                    };
                    let tx = tx::Tx::new(client, statements, &self.programs, version, self.now());
                    return body(tx);
                }
                Err(e) if connection_lost(&e) && dead < MAX_CONNECTIONS => {
                    *broken = true;
                    dead += 1;
                }
                Err(e) => {
                    *broken = connection_lost(&e);
                    if !*broken {
                        // BEGIN ran and the SELECT failed: end the transaction.
                        let _ = client.batch_execute("ROLLBACK");
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// Creates or upgrades the schema of the database `client` is connected to (`shown`) in one
/// transaction, under a transaction lock so that two processes opening a new database at once
/// do not both create it.
fn migrate(client: &mut postgres::Client, options: &OpenOptions, shown: &str) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let current = schema_version(&mut tx)?;
    let latest = crate::SCHEMA_VERSION;
    if current > latest {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: latest,
        });
    }
    if current == latest {
        return Ok(());
    }
    if options.read_only {
        return Err(Error::Storage(
            format!(
                "the database is at schema version {current} and needs an upgrade to \
                 {latest}: open it once without the read-only option"
            )
            .into(),
        ));
    }
    if current == 0 && !options.create {
        return Err(Error::Storage(
            format!("{shown} has no enrollkit schema").into(),
        ));
    }
    for (version, sql) in MIGRATIONS {
        if *version > current {
            tx.batch_execute(sql).map_err(|e| {
                Error::Storage(Failure::caused_by(
                    format!("migration to version {version}: {e}"),
                    e,
                ))
            })?;
        }
    }
    tx.execute("UPDATE enrollkit_schema SET version = $1", &[&latest])?;
    tx.commit()?;
    Ok(())
}

/// The transaction lock that migrations take.
const MIGRATION_LOCK: i64 = 0x656e_726f_6c6c_0001;

/// The schema version of the database `tx` reads: 0 when it has no enrollkit schema; a
/// database with other tables but none of enrollkit's is refused (`corrupt`).
fn schema_version(tx: &mut postgres::Transaction<'_>) -> Result<i64> {
    let has_schema: bool = tx
        .query_one("SELECT to_regclass('enrollkit_schema') IS NOT NULL", &[])?
        .get(0);
    if has_schema {
        return Ok(tx
            .query_one("SELECT version FROM enrollkit_schema", &[])?
            .get(0));
    }
    let foreign: bool = tx
        .query_one(
            "SELECT to_regclass('users') IS NOT NULL OR to_regclass('enrollments') IS NOT NULL",
            &[],
        )?
        .get(0);
    if foreign {
        return Err(Error::Corrupt(
            "the database has tables named like enrollkit's but no enrollkit schema".into(),
        ));
    }
    Ok(0)
}

impl Backend for Database {
    fn path(&self) -> Option<&Path> {
        None
    }

    fn compact(&self) -> Result<()> {
        // VACUUM runs outside a transaction.
        let mut conn = self.connection()?;
        conn.client.batch_execute(
            "VACUUM users, programs, program_steps, enrollments, step_progress, attempts, events",
        )?;
        Ok(())
    }

    fn now(&self) -> Timestamp {
        self.options.clock.now()
    }

    fn schema_version(&self) -> Result<i64> {
        let mut conn = self.connection()?;
        let mut tx = conn.client.transaction()?;
        schema_version(&mut tx)
    }

    fn read(&self, body: &mut dyn FnMut(&mut dyn Read) -> Result<()>) -> Result<()> {
        self.transaction(true, |mut tx| {
            body(&mut tx)?;
            tx.finish(true)
        })
    }

    fn write(
        &self,
        _mode: WriteMode,
        body: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        self.retrying(&mut |tx| body(tx))
    }

    fn change_enrollment(&self, id: &str, body: &mut ChangeBody<'_>) -> Result<Enrollment> {
        let mut written = None;
        self.retrying(&mut |tx| {
            let (_, e) = body(tx, None)?;
            written = Some(e);
            Ok(())
        })?;
        written.ok_or_else(|| {
            Error::Storage(format!("the change of enrollment {id} did not run").into())
        })
    }
}

impl Database {
    /// Runs `body` in a write transaction, again (up to [`MAX_ATTEMPTS`] times) while
    /// PostgreSQL rolls it back for a serialization failure or a deadlock.
    fn retrying(&self, body: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()> {
        if self.options.read_only {
            return Err(Error::Storage("the store was opened read-only".into()));
        }
        let mut attempt = 1;
        loop {
            let outcome = self.transaction(false, |mut tx| {
                body(&mut tx)?;
                let commit = !tx.discarded();
                tx.finish(commit)
            });
            match outcome {
                Err(e) if retryable(&e) && attempt < MAX_ATTEMPTS => {
                    std::thread::sleep(Duration::from_millis(1 << attempt.min(6)));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn locations_of_postgres_are_told_from_files() {
        for yes in [
            "postgres://u@h/db",
            "postgresql://h1,h2/db?target_session_attrs=read-write",
            "host=/tmp/x port=5432 dbname=e",
            "dbname=e",
        ] {
            assert!(super::is_location(yes), "{yes}");
        }
        for no in ["enroll.db", "/tmp/host=x/e.db", "", "postgres.db"] {
            assert!(!super::is_location(no), "{no}");
        }
    }

    #[test]
    fn the_root_certificate_setting_is_taken_out_of_both_forms() {
        let cases = [
            (
                "postgres://u@h/db?sslmode=require&sslrootcert=%2Fetc%2Fca.crt",
                "postgres://u@h/db?sslmode=require",
                Some("/etc/ca.crt"),
            ),
            (
                "postgresql://h/db?sslrootcert=ca.crt",
                "postgresql://h/db",
                Some("ca.crt"),
            ),
            ("postgres://h/db", "postgres://h/db", None),
            (
                "host=h sslrootcert=/x/ca.crt dbname=e",
                "host=h dbname=e",
                Some("/x/ca.crt"),
            ),
        ];
        for (location, rest, root) in cases {
            let (got, got_root) = super::take_root_certificate(location);
            assert_eq!(
                (got.as_str(), got_root.as_deref()),
                (rest, root),
                "{location}"
            );
        }
    }
}
