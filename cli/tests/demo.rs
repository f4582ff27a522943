//! `fle demo` is the README's first command: it must run with nothing set up and hold every
//! check, over real loopback HTTP, with the API Gateway stand-in checking SigV4 with the
//! aws-sigv4 crate. `fle demo --rotate` must lose no request while keys and API keys rotate,
//! and must lose requests when the safety is removed (so the run can catch what it guards).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::{Command, Output};

use serde_json::Value;

const FLE: &str = env!("CARGO_BIN_EXE_fle");
const PLAINTEXTS: [&str; 3] = ["4111111111111111", "078-05-1120", "card_cvc=123"];

fn demo(args: &[&str]) -> Output {
    Command::new(FLE)
        .arg("demo")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

fn no_plaintext(out: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in PLAINTEXTS {
        assert!(!all.contains(secret), "the demo printed {secret}");
    }
}

#[test]
fn demo_runs_end_to_end_and_shows_no_plaintext() {
    let out = demo(&[]);
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for hop in [
        "CloudFront field-level encryption",
        "Lambda@Edge origin-request signer",
        "API Gateway (stand-in)",
        "backend Lambda",
        "tampered-signature",
        "wrong-api-key",
        "plaintext-field",
        "All checks passed.",
    ] {
        assert!(stdout.contains(hop), "missing {hop:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
    no_plaintext(&out);
}

/// Every hop, every refusal, both signers: the JSON report for CI.
#[test]
fn json_report_names_each_hop_and_where_each_fault_was_refused() {
    for signer in ["native", "auto"] {
        let out = demo(&["--json", "--signer", signer]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        no_plaintext(&out);
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["ok"], true, "{r:#}");
        let hops: Vec<&str> = r["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["hop"].as_str().unwrap())
            .collect();
        assert_eq!(
            hops,
            [
                "browser",
                "cloudfront",
                "lambda-edge",
                "api-gateway",
                "backend"
            ]
        );
        let refused: Vec<(&str, &str, u64)> = r["refusals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["case"].as_str().unwrap(),
                    f["refusedAt"].as_str().unwrap(),
                    f["status"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            refused,
            [
                ("tampered-signature", "api-gateway", 403),
                ("wrong-api-key", "api-gateway", 403),
                ("plaintext-field", "backend", 400),
            ]
        );
        let signer_text = r["signer"].as_str().unwrap();
        if signer == "native" {
            assert!(signer_text.starts_with("native"), "{signer_text}");
        } else if Command::new("node").arg("--version").output().is_ok() {
            // scripts/test.sh requires node 20: auto must pick the wasm module.
            assert!(signer_text.contains("wasm module"), "{signer_text}");
        }
    }
}

/// A given keystore is used as it is: a second run finds the profile the first one made.
#[test]
fn a_given_keystore_is_made_once_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let ks = dir.path().join("ks");
    let ks = ks.to_str().unwrap();
    let first: Value = serde_json::from_slice(&demo(&["--json", "--keystore", ks]).stdout).unwrap();
    assert_eq!(first["ok"], true, "{first:#}");
    assert!(first["madeKey"].is_string());
    let second: Value =
        serde_json::from_slice(&demo(&["--json", "--keystore", ks]).stdout).unwrap();
    assert_eq!(second["ok"], true, "{second:#}");
    assert_eq!(second["madeKey"], Value::Null);
}

#[test]
fn rotation_under_load_loses_no_request() {
    let out = demo(&["--rotate", "--json"]);
    no_plaintext(&out);
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{r:#}");
    assert_eq!(r["failed"], 0, "{r:#}");
    assert!(r["requests"].as_u64().unwrap() >= 1000, "{r:#}");
    assert_eq!(r["keyRotations"], 5, "{r:#}");
    assert_eq!(r["apiKeyRotations"], 5, "{r:#}");
    // Every old key was retired once its grace had passed (the first key and four of the
    // five new ones; the last is the profile's).
    assert_eq!(r["retired"].as_array().unwrap().len(), 5, "{r:#}");
}

/// The same run without the safety must fail: proof that the run catches what it guards.
#[test]
fn rotation_without_the_safety_loses_requests() {
    let out = demo(&[
        "--rotate",
        "--json",
        "--no-safety",
        "--requests",
        "300",
        "--key-rotations",
        "2",
        "--api-key-rotations",
        "2",
    ]);
    no_plaintext(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["failed"].as_u64().unwrap() > 0, "{r:#}");
    let failures = r["failures"].as_object().unwrap();
    assert!(
        failures.keys().any(|k| k.contains("NoMatchingKey")),
        "the backend should miss the new key: {failures:?}"
    );
    assert!(
        failures.keys().any(|k| k.starts_with("403 at api-gateway")),
        "the deleted API key should be refused: {failures:?}"
    );
}
