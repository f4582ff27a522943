//! `fle edge sign` on every fixture case of edge-signer/tests/fixtures/cases.json, checked by
//! the independent botocore verifier (tests/oracle/sigv4_verify.py), plus its exit codes.
//! Needs $FLE_TEST_PYTHON (scripts/test.sh exports it) and the `fle` binary built
//! (scripts/test.sh builds it before `cargo test`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fle_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FLE_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("fle");
    assert!(
        bin.exists(),
        "{} missing: build it first (`cargo build -p fle-cli`; scripts/test.sh does)",
        bin.display()
    );
    bin
}

fn python() -> PathBuf {
    std::env::var_os("FLE_TEST_PYTHON")
        .expect("FLE_TEST_PYTHON is not set: run scripts/test.sh, or point it at a python with tests/requirements.txt installed")
        .into()
}

#[test]
fn fle_edge_sign_output_verified_by_botocore() {
    let fixtures = root().join("edge-signer/tests/fixtures");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("cases.json")).unwrap())
            .unwrap();
    let creds = &manifest["credentials"];
    let mut items = Vec::new();
    for case in manifest["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let event_file = fixtures.join(case["event"].as_str().unwrap());
        let mut cmd = Command::new(fle_bin());
        cmd.args(["edge", "sign", "--event"])
            .arg(&event_file)
            .args(["--time", manifest["time"].as_str().unwrap()]);
        for key in ["region", "service"] {
            if let Some(v) = case.get(key).and_then(Value::as_str) {
                cmd.arg(format!("--{key}")).arg(v);
            }
        }
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            cmd.env_remove(var);
        }
        let mut used = json!(null);
        if case["credentials"] != json!(false) {
            cmd.env("AWS_ACCESS_KEY_ID", creds["accessKeyId"].as_str().unwrap());
            cmd.env(
                "AWS_SECRET_ACCESS_KEY",
                creds["secretAccessKey"].as_str().unwrap(),
            );
            used = json!({ "accessKeyId": creds["accessKeyId"], "secretAccessKey": creds["secretAccessKey"] });
            if case["session_token"] == json!(true) {
                cmd.env("AWS_SESSION_TOKEN", creds["sessionToken"].as_str().unwrap());
                used["sessionToken"] = creds["sessionToken"].clone();
            }
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let signed = case["expect"] == json!("signed");
        assert_eq!(
            out.status.code(),
            Some(if signed { 0 } else { 1 }),
            "{name}: exit code; stderr: {stderr}"
        );
        assert!(
            !stderr.contains(creds["secretAccessKey"].as_str().unwrap()),
            "{name}: secret on stderr"
        );
        assert!(
            !stderr.contains(creds["sessionToken"].as_str().unwrap()),
            "{name}: token on stderr"
        );
        let result: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout not JSON: {e}"));
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(&event_file).unwrap()).unwrap();
        items.push(json!({
            "name": name, "event": event, "result": result, "credentials": used,
            "time": manifest["time"], "region": case.get("region"),
            "service": case.get("service").cloned().unwrap_or(json!("execute-api")),
            "expect": case["expect"],
        }));
    }
    let report = verify(&items);
    println!("{report}");
    assert!(report.contains("ok   post-form-origin-path"), "{report}");
}

/// Runs the botocore verifier; panics with its report unless every item passes.
fn verify(items: &[Value]) -> String {
    let mut child = Command::new(python())
        .arg(root().join("tests/oracle/sigv4_verify.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(items).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "botocore verifier failed:\n{report}");
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok   ")).count(),
        items.len(),
        "{report}"
    );
    report
}

/// The verifier is not a rubber stamp: a tampered signature, query or body is caught.
#[test]
fn verifier_rejects_tampered_output() {
    let fixtures = root().join("edge-signer/tests/fixtures");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("cases.json")).unwrap())
            .unwrap();
    let event_file = fixtures.join("post-form-origin-path.json");
    let out = Command::new(fle_bin())
        .args(["edge", "sign", "--event"])
        .arg(&event_file)
        .args(["--time", manifest["time"].as_str().unwrap()])
        .env(
            "AWS_ACCESS_KEY_ID",
            manifest["credentials"]["accessKeyId"].as_str().unwrap(),
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            manifest["credentials"]["secretAccessKey"].as_str().unwrap(),
        )
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let good: Value = serde_json::from_slice(&out.stdout).unwrap();
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(&event_file).unwrap()).unwrap();
    let item = |result: Value| {
        json!({
            "name": "tampered", "event": event, "result": result,
            "credentials": { "accessKeyId": manifest["credentials"]["accessKeyId"], "secretAccessKey": manifest["credentials"]["secretAccessKey"] },
            "time": manifest["time"], "region": null, "service": "execute-api", "expect": "signed",
        })
    };
    let mut tampered = Vec::new();
    let mut t = good.clone();
    t["querystring"] = json!("a=1&b=3");
    tampered.push(t);
    let mut t = good.clone();
    let auth = t["headers"]["authorization"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if auth.ends_with('0') {
        format!("{}1", &auth[..auth.len() - 1])
    } else {
        format!("{}0", &auth[..auth.len() - 1])
    };
    t["headers"]["authorization"][0]["value"] = json!(flipped);
    tampered.push(t);
    let mut t = good.clone();
    t["headers"]["host"][0]["value"] = json!("d111111abcdef8.cloudfront.net");
    tampered.push(t);
    for t in tampered {
        let mut child = Command::new(python())
            .arg(root().join("tests/oracle/sigv4_verify.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&serde_json::to_vec(&[item(t)]).unwrap())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            !out.status.success(),
            "verifier accepted tampered output: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The untampered one passes, so the failures above are about the tampering.
    verify(&[item(good)]);
}
