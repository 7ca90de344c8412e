//! Failover: a PostgreSQL primary and a synchronous streaming replica on loopback, writers
//! under load through one store whose location names both hosts
//! (`target_session_attrs=read-write`), the primary killed with SIGKILL mid-load and the
//! replica promoted. The store must reconnect to the new primary by itself, and every
//! operation it acknowledged must be there afterwards.
//!
//! Needs the PostgreSQL server programs (`ENROLLKIT_PG_BIN`, which `scripts/pg run` sets);
//! skipped, saying so, with `ENROLLKIT_SKIP_POSTGRES=1`. `ENROLLKIT_FAILOVER_SECONDS` sets how
//! long the writers run before and after the kill (default 3 each; the long run uses more).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use enrollkit::*;

mod support;

/// Runs a PostgreSQL program from `bin` (as `nobody` when this runs as root: the server
/// refuses root), failing the test when it fails.
fn pg(bin: &Path, program: &str, args: &[&str]) {
    let exe = bin.join(program);
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "nobody", "--"])
            .arg(&exe)
            .args(args)
            .stdout(Stdio::null())
            .status()
    } else {
        Command::new(&exe).args(args).stdout(Stdio::null()).status()
    }
    .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The two servers; stopped (immediately) and removed when dropped.
struct Pair {
    bin: PathBuf,
    dir: PathBuf,
    ports: [u16; 2],
}

impl Pair {
    fn data(&self, i: usize) -> String {
        self.dir
            .join(["primary", "replica"][i])
            .to_string_lossy()
            .into_owned()
    }

    fn start(bin: &Path) -> Pair {
        let dir = std::env::temp_dir().join(format!("enrollkit-failover.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            Command::new("chown")
                .args(["nobody"])
                .arg(&dir)
                .status()
                .unwrap();
        }
        let pair = Pair {
            bin: bin.to_owned(),
            dir,
            ports: [free_port(), free_port()],
        };
        let (primary, replica) = (pair.data(0), pair.data(1));
        pg(
            bin,
            "initdb",
            &[
                "-D",
                &primary,
                "-U",
                "enrollkit",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
        );
        // The primary acknowledges a commit once the replica has it (synchronous
        // replication); the replica, once promoted, has no standby to wait for.
        let opts = |port: u16, dir: &Path, standby: &str| {
            format!(
                "-k {} -c listen_addresses=127.0.0.1 -p {port} -c wal_level=replica \
                 -c max_wal_senders=4 -c synchronous_standby_names={standby} \
                 -c max_connections=100",
                dir.display()
            )
        };
        let log = |name: &str| pair.dir.join(name).to_string_lossy().into_owned();
        pg(
            bin,
            "pg_ctl",
            &[
                "-D",
                &primary,
                "-l",
                &log("primary.log"),
                "-w",
                "-o",
                &opts(pair.ports[0], &pair.dir, "replica"),
                "start",
            ],
        );
        let source = format!(
            "host=127.0.0.1 port={} user=enrollkit application_name=replica",
            pair.ports[0]
        );
        pg(
            bin,
            "pg_basebackup",
            &["-D", &replica, "-d", &source, "-R", "-X", "stream"],
        );
        pg(
            bin,
            "pg_ctl",
            &[
                "-D",
                &replica,
                "-l",
                &log("replica.log"),
                "-w",
                "-o",
                &opts(pair.ports[1], &pair.dir, "''"),
                "start",
            ],
        );
        pair
    }

    /// Kills the primary's postmaster with SIGKILL (its children follow it down).
    fn kill_primary(&self) {
        let pid = std::fs::read_to_string(Path::new(&self.data(0)).join("postmaster.pid"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert!(Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success());
    }

    fn promote_replica(&self) {
        pg(&self.bin, "pg_ctl", &["-D", &self.data(1), "-w", "promote"]);
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for i in 0..2 {
            let _ = Command::new(if is_root() { "runuser" } else { "true" })
                .args(if is_root() {
                    vec!["-u", "nobody", "--"]
                } else {
                    vec![]
                })
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &self.data(i), "-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn seconds() -> u64 {
    std::env::var("ENROLLKIT_FAILOVER_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[test]
fn a_store_naming_both_hosts_survives_a_killed_primary_and_loses_nothing_acknowledged() {
    if support::postgres().is_none() {
        return;
    }
    let bin =
        PathBuf::from(std::env::var("ENROLLKIT_PG_BIN").expect("scripts/pg sets ENROLLKIT_PG_BIN"));
    let pair = Pair::start(&bin);
    let location = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=enrollkit dbname=postgres \
         target_session_attrs=read-write connect_timeout=2",
        pair.ports[0], pair.ports[1]
    );
    let store = Arc::new(
        OpenOptions::new()
            .busy_timeout(Duration::from_secs(2))
            .open(&location)
            .unwrap(),
    );
    const WRITERS: usize = 4;
    const USERS: usize = 200;
    let users: Vec<User> = (0..WRITERS * USERS)
        .map(|i| User {
            id: format!("u{i}"),
            ..User::default()
        })
        .collect();
    store.upsert_users(&users).unwrap();
    store
        .create_program(&ProgramSpec::course("c1", "C"))
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                // Acknowledged: enrollments created, and additions per enrollment; tried: the
                // additions that failed, which may or may not have committed.
                let mut created: Vec<String> = Vec::new();
                let mut added: HashMap<String, (u32, u32)> = HashMap::new();
                let mut failures = 0u32;
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let user = format!("u{}", w * USERS + i % USERS);
                    i += 1;
                    if created.len() < USERS && i <= USERS {
                        match store.enroll(&Actor::Admin, &EnrollRequest::new(&user, "c1")) {
                            Ok(e) => created.push(e.id),
                            Err(Error::AlreadyEnrolled { existing_id, .. }) => {
                                // Created by an attempt whose answer was lost in the failover.
                                created.push(existing_id);
                            }
                            Err(_) => {
                                failures += 1;
                                i -= 1;
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                        continue;
                    }
                    let id = created[i % created.len()].clone();
                    let entry = added.entry(id.clone()).or_default();
                    if entry.0 + entry.1 >= 99 {
                        continue;
                    }
                    match store.add_progress(&Actor::Admin, &id, 1.0) {
                        Ok(_) => entry.0 += 1,
                        Err(_) => {
                            entry.1 += 1;
                            failures += 1;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                (created, added, failures)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds()));
    let killed = Instant::now();
    pair.kill_primary();
    pair.promote_replica();
    // The store finds the new primary by itself: the first write that succeeds after the kill.
    let reconnected = loop {
        match store.upsert_user(&User {
            id: "probe".into(),
            ..User::default()
        }) {
            Ok(_) => break killed.elapsed(),
            Err(e) => {
                assert!(
                    killed.elapsed() < Duration::from_secs(60),
                    "no new primary: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    std::thread::sleep(Duration::from_secs(seconds()));
    stop.store(true, Ordering::SeqCst);

    let mut acknowledged = 0;
    let mut failures = 0;
    let mut checked = Vec::new();
    for w in writers {
        let (created, added, failed) = w.join().unwrap();
        failures += failed;
        for id in &created {
            let e = store.get_enrollment(&Actor::Admin, id).unwrap();
            let (ok, tried) = added.get(id).copied().unwrap_or_default();
            let progress = e.progress_percent as u32;
            assert!(
                (ok..=ok + tried).contains(&progress),
                "{id}: {ok} additions acknowledged, {tried} failed, progress {progress}"
            );
            acknowledged += 1 + ok;
        }
        checked.extend(created);
    }
    assert_eq!(checked.len(), WRITERS * USERS, "every user enrolled");
    assert!(store.check_invariants().unwrap().is_empty());
    // Writes after the failover went to the promoted replica.
    let after = store
        .enroll(&Actor::Admin, &EnrollRequest::new("u0", "c1"))
        .unwrap_err();
    assert_eq!(after.code(), ErrorCode::AlreadyEnrolled);
    eprintln!(
        "failover: {acknowledged} acknowledged operations all present after the primary was \
         killed and the replica promoted; {failures} calls failed during the switch; the store \
         wrote again {:.1} s after the kill",
        reconnected.as_secs_f64()
    );
}
