//! `info`: a summary of the database through the public core API. (`report` prints
//! `Store::report` as it is.)

use std::path::Path;

use enrollkit::{Error, Store};
use serde_json::{json, Value};

/// `info`: schema version, record counts, file size.
pub fn info(store: &Store, path: &Path) -> Result<Value, Error> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let wal = std::fs::metadata(format!("{}-wal", path.display()))
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(json!({
        "db": path,
        "schema_version": store.schema_version()?,
        "records": store.stats()?,
        "file_bytes": size,
        "wal_bytes": wal,
    }))
}
