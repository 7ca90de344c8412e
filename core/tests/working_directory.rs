//! A store opened with a relative path keeps using the file that path named at open, after the
//! process changed its working directory: its checkpoint thread (and its pooled readers) open
//! the file as SQLite resolved it then. A test binary of its own: the working directory is the
//! whole process's.

use std::path::Path;
use std::time::{Duration, Instant};

use enrollkit::{Store, User};

/// A user with a 100-character display name: 40,000 of them take about 1,600 WAL pages.
fn user(id: String) -> User {
    User {
        email: Some(format!("{id}@example.com")),
        display_name: Some(format!("{id:x<100}")),
        id,
        ..User::default()
    }
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn a_relative_path_keeps_naming_the_file_it_named_at_open() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    std::env::set_current_dir(first.path()).unwrap();
    let store = Store::open("same.db").unwrap();
    assert_eq!(store.path(), Some(Path::new("same.db")), "as given");
    std::env::set_current_dir(second.path()).unwrap();
    // Another database under the same relative name in the new working directory.
    let other = Store::open("same.db").unwrap();
    other.upsert_user(&user("elsewhere".into())).unwrap();
    drop(other);

    // Past 1,000 WAL pages: the store's thread checkpoints its own file, which grows.
    let file = first.path().join("same.db");
    let before = len(&file);
    let users: Vec<User> = (0..40_000).map(|i| user(format!("u{i}"))).collect();
    assert_eq!(store.upsert_users(&users).unwrap(), 40_000);
    let waited = Instant::now();
    while len(&file) < before + 2_000_000 && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(len(&file) >= before + 2_000_000, "{} bytes", len(&file));
    assert!(store.get_user("u39999").is_ok());
    assert!(store.get_user("elsewhere").is_err());
}
