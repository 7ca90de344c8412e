//! Directory syncs: `upsert_users` writes long lists several users at a time, and must behave
//! exactly as writing them one by one would.

use enrollkit::{ManualClock, OpenOptions, Store, Timestamp, User, UserRef};
use std::sync::Arc;

fn store() -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_000)));
    let store = OpenOptions::new()
        .clock(clock.clone())
        .open_in_memory()
        .unwrap();
    (store, clock)
}

fn user(i: usize) -> User {
    User {
        id: format!("u{i:03}"),
        email: Some(format!("u{i}@example.com")),
        external_id: (i % 3 == 0).then(|| format!("x{i}")),
        department: Some("eng".into()),
        groups: vec![format!("g{}", i % 4)],
        ..User::default()
    }
}

#[test]
fn a_long_sync_creates_then_replaces_every_user_and_keeps_its_creation_time() {
    let (store, clock) = store();
    let users: Vec<User> = (0..100).map(user).collect();
    assert_eq!(store.upsert_users(&users).unwrap(), 100);
    for u in &users {
        assert_eq!(&store.get_user(&u.id).unwrap(), u);
    }
    clock.advance_millis(60_000);
    // Every field changes, one user appears twice (the later one wins, as one by one).
    let mut changed: Vec<User> = users
        .iter()
        .map(|u| User {
            email: Some(format!("new-{}", u.email.as_deref().unwrap())),
            external_id: None,
            department: None,
            groups: vec![],
            timezone: Some("Europe/Berlin".into()),
            ..u.clone()
        })
        .collect();
    changed[40] = User {
        display_name: Some("twice".into()),
        ..changed[3].clone()
    };
    assert_eq!(store.upsert_users(&changed).unwrap(), 100);
    for (i, u) in changed.iter().enumerate() {
        let expected = if i == 3 { &changed[40] } else { u };
        assert_eq!(&store.get_user(&u.id).unwrap(), expected, "{i}");
    }
    let export = {
        let mut out = Vec::new();
        store.export_jsonl(&mut out, None).unwrap();
        String::from_utf8(out).unwrap()
    };
    let first = export.lines().find(|l| l.contains("\"u000\"")).unwrap();
    assert!(
        first.contains("\"created_at\":\"1970-01-01T00:00:01"),
        "{first}"
    );
    assert!(
        first.contains("\"updated_at\":\"1970-01-01T00:01:01"),
        "{first}"
    );
}

#[test]
fn a_taken_email_in_a_long_sync_names_its_row_and_writes_nothing() {
    let (store, _) = store();
    store.upsert_user(&user(999)).unwrap();
    for (row, clash) in [(17, "stored"), (35, "earlier row")] {
        let mut users: Vec<User> = (0..64).map(user).collect();
        users[row].email = match clash {
            "stored" => user(999).email,
            _ => users[20].email.clone(),
        };
        let err = store.upsert_users(&users).unwrap_err();
        assert_eq!(err.code(), "conflict", "{err}");
        assert!(err.to_string().contains(&format!("row {row}:")), "{err}");
        assert!(err.to_string().contains("email"), "{err}");
        // All or nothing.
        assert_eq!(store.list_users(None, 1000).unwrap().len(), 1, "{clash}");
        let owner = store.find_user(&UserRef::Email(users[row].email.clone().unwrap()));
        match clash {
            "stored" => assert_eq!(owner.unwrap().id, "u999"),
            _ => assert_eq!(owner.unwrap_err().code(), "not_found"),
        }
    }
}
