//! The fuzz target's corpus stays meaningful: the hand-made seeds (`*.bin`) are structurally
//! valid messages, so the fuzzer starts from deep inside the parser, and none of their prefixes
//! parse. Whatever else a fuzzing run added must at least not panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

#[test]
fn seed_corpus_parses_and_its_prefixes_do_not() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/parse_message");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if path.extension().is_none_or(|e| e != "bin") {
            let _ = fle_decrypt::fuzzing::parse_message(&data);
            continue;
        }
        assert!(
            fle_decrypt::fuzzing::parse_message(&data),
            "{} does not parse",
            path.display()
        );
        for len in 0..data.len() {
            assert!(
                !fle_decrypt::fuzzing::parse_message(&data[..len]),
                "{} prefix {len}",
                path.display()
            );
        }
        seeds += 1;
    }
    assert!(seeds >= 20, "only {seeds} seeds in {}", dir.display());
}
