//! Snapshots of help, results and error messages (tests/snapshots/*.txt).
//!
//! Ids, ETags, times and the keystore path are redacted (common::redact) so the files are stable.
//! After an intended change: `SNAPSHOTS=overwrite cargo test -p fle-cli --test cli_snapshots`,
//! then review the diff.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

mod common;

use common::{redact, Store};
use snapbox::{assert_data_eq, file};

/// Runs `fle` and renders exit code, stdout and stderr as one text.
fn transcript(s: &Store, args: &[&str]) -> String {
    let out = s.run(args);
    format!(
        "$ fle {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        redact(&String::from_utf8_lossy(&out.stdout), s),
        redact(&String::from_utf8_lossy(&out.stderr), s),
    )
}

fn session(s: &Store, runs: &[&[&str]]) -> String {
    runs.iter()
        .map(|a| transcript(s, a))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn help() {
    let s = Store::new();
    let text = session(
        &s,
        &[
            &["keys", "--help"],
            &["keys", "rotate", "--help"],
            &["keys", "generate", "--help"],
            &["profiles", "--help"],
            &["profiles", "create", "--help"],
            &["configs", "--help"],
            &["configs", "create", "--help"],
            &["configs", "attach", "--help"],
        ],
    );
    assert_data_eq!(text, file!["snapshots/help.txt"]);
}

#[test]
fn text_outputs() {
    let s = Store::new();
    let text = session(
        &s,
        &[
            &["keys", "list"],
            &["keys", "generate", "--name", "k1", "--provider", "prov"],
            &[
                "keys",
                "generate",
                "--name",
                "k2",
                "--provider",
                "prov",
                "--dry-run",
            ],
            &[
                "profiles", "create", "--name", "checkout", "--key", "k1", "--field", "card",
                "--field", "cvv*",
            ],
            &["profiles", "list"],
            &[
                "configs",
                "create",
                "--profile",
                "checkout",
                "--query-arg",
                "alt=checkout",
            ],
            &["keys", "list"],
            &[
                "keys",
                "rotate",
                "--profile",
                "checkout",
                "--new-key-name",
                "k2",
                "--dry-run",
            ],
            &[
                "keys",
                "rotate",
                "--profile",
                "checkout",
                "--new-key-name",
                "k2",
                "--grace",
                "0s",
            ],
            &["keys", "show", "k1"],
            &["keys", "retire", "--dry-run"],
            &["keys", "retire"],
            &["keys", "list"],
        ],
    );
    assert_data_eq!(text, file!["snapshots/text_outputs.txt"]);
}

#[test]
fn json_outputs() {
    let s = Store::new();
    let text = session(
        &s,
        &[
            &[
                "keys",
                "generate",
                "--name",
                "k1",
                "--provider",
                "prov",
                "--output",
                "json",
            ],
            &[
                "profiles", "create", "--name", "checkout", "--key", "k1", "--field", "card",
                "--output", "json",
            ],
            &[
                "configs",
                "create",
                "--profile",
                "checkout",
                "--output",
                "json",
            ],
            &[
                "keys",
                "rotate",
                "--profile",
                "checkout",
                "--new-key-name",
                "k2",
                "--output",
                "json",
            ],
            &["keys", "list", "--output", "json"],
            &["profiles", "list", "--output", "json"],
            &["keys", "retire", "--output", "json"],
        ],
    );
    assert_data_eq!(text, file!["snapshots/json_outputs.txt"]);
}

#[test]
fn error_messages() {
    let s = Store::with_profile();
    let text = session(
        &s,
        &[
            &["keys", "show", "nope"],
            &["keys", "generate", "--name", "k1", "--provider", "prov"],
            &[
                "keys",
                "generate",
                "--name",
                "bad name",
                "--provider",
                "prov",
            ],
            &["keys", "rotate", "--profile", "nope"],
            &["keys", "rotate", "--profile", "checkout", "--grace", "soon"],
            &[
                "profiles",
                "create",
                "--name",
                "p2",
                "--key",
                "k1",
                "--field",
                "card*",
                "--field",
                "cardholder",
            ],
            &[
                "profiles", "create", "--name", "p2", "--key", "missing", "--field", "zip",
            ],
            &[
                "profiles",
                "create",
                "--name",
                "p2",
                "--key",
                "k1",
                "--provider",
                "other",
                "--field",
                "zip",
            ],
            &[
                "profiles",
                "update",
                "checkout",
                "--comment",
                "x",
                "--if-match",
                "EAAAAAAAAAAAAA",
            ],
            &["configs", "create", "--content-type", "application/json"],
            &["configs", "show", "CNOPE"],
            &["configs", "attach", "--distribution", "E1", "--detach"],
        ],
    );
    assert_data_eq!(text, file!["snapshots/error_messages.txt"]);
}
