//! Replays the saved fuzz corpus (`fuzz/corpus/<target>/`) through the fuzz targets'
//! bodies on stable: no input may panic or leave a database that fails enrollkit's checks.
//! The long run (`scripts/long-run`) grows the corpus with cargo-fuzz on nightly.

#[path = "../../fuzz/src/lib.rs"]
mod targets;

#[test]
fn the_saved_fuzz_corpus_replays_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in targets::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {name}");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", file.display());
            replayed += 1;
        }
    }
    eprintln!("fuzz corpus: {replayed} inputs replayed");
}
