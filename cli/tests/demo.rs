//! `fle demo` is the README's first command: it must run with nothing set up and hold every check.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[test]
fn demo_runs_end_to_end_and_shows_no_plaintext() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fle"))
        .arg("demo")
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "1. keys",
        "4. CloudFront",
        "5. Lambda@Edge",
        "6. backend",
        "7. rotation",
        "8. retire",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert!(stdout.contains("signed headers: ") && stdout.contains("x-api-key"));
    assert!(stdout.ends_with("(see README).\n"));
    for secret in ["4111111111111111", "078-05-1120", "card_cvc=123"] {
        assert!(!stdout.contains(secret), "the demo printed {secret}");
    }
}
