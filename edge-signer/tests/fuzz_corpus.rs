//! The `sign_event` fuzz target's seed corpus stays meaningful: every committed seed
//! (`*.json`, the fixture events) is an event both entries read and answer alike, and most of
//! them sign, so the fuzzer starts deep inside the signer rather than at JSON syntax errors.
//! Whatever else a fuzzing run left there must at least not make the entries disagree.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use edge_signer::event::OriginRequestEvent;
use edge_signer::fuzzing::sign_event;

#[test]
fn seed_corpus_reads_and_both_entries_agree() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sign_event");
    let (mut seeds, mut signed) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = sign_event(&data);
        assert!(outcome.is_ok(), "{}: entries disagree", path.display());
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        serde_json::from_slice::<OriginRequestEvent>(&data)
            .unwrap_or_else(|e| panic!("{} is not an event: {e}", path.display()));
        seeds += 1;
        signed += usize::from(outcome.unwrap());
    }
    assert!(seeds >= 15, "only {seeds} seeds in {}", dir.display());
    assert!(signed >= 10, "only {signed} of {seeds} seeds sign");
}

/// The helper's outcomes: a fixture signs; an event whose header entry has a `key` of the
/// wrong type is read by the lighter parse only, which is not a disagreement (documented in
/// docs/edge-signer.md); garbage is refused by both.
#[test]
fn helper_outcomes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let event = std::fs::read_to_string(dir.join("no-origin-path.json")).unwrap();
    assert_eq!(sign_event(event.as_bytes()), Ok(true));
    let odd = event.replacen(r#""key": "Accept""#, r#""key": 7"#, 1);
    assert_ne!(odd, event);
    assert!(serde_json::from_str::<OriginRequestEvent>(&odd).is_err());
    assert_eq!(sign_event(odd.as_bytes()), Ok(true));
    assert_eq!(sign_event(b"{\"Records\":[]}"), Ok(false));
    assert_eq!(sign_event(b"\xff"), Ok(false));
}

/// The `edge_encrypt` target's seeds reach the encryption (all but the repeated member, which
/// is refused), and the helper catches what it guards: a JSON body that is not JSON is never
/// accepted.
#[test]
fn edge_encrypt_seeds_encrypt_and_the_helper_holds() {
    use edge_signer::fuzzing::protect_body;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/edge_encrypt");
    let mut encrypted = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let outcome = protect_body(&std::fs::read(&path).unwrap());
        assert!(outcome.is_ok(), "{}", path.display());
        encrypted += usize::from(outcome.unwrap());
    }
    assert!(encrypted >= 3, "only {encrypted} seeds encrypt");
    assert_eq!(protect_body(b"\0{\"card\": 1"), Ok(false));
    assert_eq!(protect_body(b"\0"), Ok(false));
    assert_eq!(protect_body(b""), Ok(false));
}
