//! The committed `include/enrollkit.h` must be exactly what cbindgen generates from this crate.
//! Regenerate it with `ENROLLKIT_UPDATE_HEADER=1 cargo test -p enrollkit-ffi --test header`.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = crate_dir.join("../include/enrollkit.h");
    if std::env::var_os("ENROLLKIT_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/enrollkit.h is stale: run ENROLLKIT_UPDATE_HEADER=1 cargo test -p enrollkit-ffi --test header"
    );
}

#[test]
fn header_version_macros_match_cargo() {
    let header = include_str!("../../include/enrollkit.h");
    let version = env!("CARGO_PKG_VERSION");
    assert!(header.contains(&format!("#define ENROLLKIT_VERSION \"{version}\"")));
    let parts: Vec<&str> = version.split('.').collect();
    for (name, value) in ["MAJOR", "MINOR", "PATCH"].iter().zip(parts) {
        assert!(
            header.contains(&format!("#define ENROLLKIT_VERSION_{name} {value}\n")),
            "ENROLLKIT_VERSION_{name} should be {value}"
        );
    }
}
