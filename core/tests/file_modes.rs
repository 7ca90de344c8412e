//! New database files are their owner's only (issue #25, point 7): the database file, its WAL
//! and shared-memory files, and backups are created with mode 0600 whatever the umask, unless
//! `OpenOptions::owner_only(false)` keeps the umask's mode. The umask is set by a shell that
//! runs this test binary again as a child (`child_reports_modes`).

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use enrollkit::{OpenOptions, Store, User};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn with_suffix(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The child's part: opens a new file at `$ENROLLKIT_MODES_DB` (owner only unless
/// `$ENROLLKIT_MODES_SHARED` is set), writes a user and prints the modes of the database, WAL
/// and shared-memory files while the store is open, and of a backup. Does nothing when run
/// by itself.
#[test]
fn child_reports_modes() {
    let Ok(db) = std::env::var("ENROLLKIT_MODES_DB") else {
        return;
    };
    let db = Path::new(&db);
    let shared = std::env::var_os("ENROLLKIT_MODES_SHARED").is_some();
    let store = OpenOptions::new().owner_only(!shared).open(db).unwrap();
    store
        .upsert_user(&User {
            id: "u1".into(),
            ..User::default()
        })
        .unwrap();
    let copy = with_suffix(db, ".backup");
    store.backup(&copy).unwrap();
    let found = [
        mode(db),
        mode(&with_suffix(db, "-wal")),
        mode(&with_suffix(db, "-shm")),
        mode(&copy),
    ];
    println!("MODES {found:?}");
}

/// Runs [`child_reports_modes`] under `umask mask` on a new file `db`.
fn modes(db: &Path, mask: u32, shared: bool) -> String {
    let mut child = Command::new("sh");
    child
        .arg("-c")
        .arg(format!(
            "umask {mask:03o} && exec \"$0\" --exact child_reports_modes --nocapture --test-threads 1"
        ))
        .arg(std::env::current_exe().unwrap())
        .env("ENROLLKIT_MODES_DB", db);
    if shared {
        child.env("ENROLLKIT_MODES_SHARED", "1");
    }
    let out = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.split_once("MODES ").map(|(_, modes)| modes))
        .unwrap_or_else(|| panic!("no modes in {stdout}"))
        .to_owned()
}

#[test]
fn new_database_files_are_the_owners_only_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    for (i, mask) in [0o000, 0o022, 0o077].into_iter().enumerate() {
        let db = dir.path().join(format!("private-{i}.db"));
        assert_eq!(
            modes(&db, mask, false),
            format!("{:?}", [0o600; 4]),
            "umask {mask:03o}"
        );
        let shared = dir.path().join(format!("shared-{i}.db"));
        assert_eq!(
            modes(&shared, mask, true),
            format!("{:?}", [0o644 & !mask; 4]),
            "umask {mask:03o}"
        );
    }
    // A file that exists keeps its mode; reopening changes nothing.
    let db = dir.path().join("private-0.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    drop(Store::open(&db).unwrap());
    assert_eq!(mode(&db), 0o640);
    // A file in a directory that does not exist is a storage error.
    let missing = dir.path().join("no/such/dir.db");
    let err = Store::open(&missing).unwrap_err();
    assert_eq!(err.code(), enrollkit::ErrorCode::Storage, "{err}");
}
