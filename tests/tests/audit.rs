//! `fle audit` against moto and the CloudFront double: the deployment of deploy/template.yaml,
//! built by tests/deploy/audit_fixture.py compliant and then with each control broken in turn.
//! Every broken control must be reported by name, and nothing else may fail with it but two
//! documented pairs: an AWS managed key has no customer policy to check either, and a behavior
//! without an FLE configuration has no profile whose keys could be checked.
//!
//! Needs `FLE_TEST_MOTO_URL` and `FLE_TEST_PYTHON` (scripts/test.sh sets both): without them
//! these tests FAIL, never skip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use fle_tests::{fle_bin, moto_url, python, repo_root};
use serde_json::Value;

/// The CloudFront (and CloudWatch Logs) double in front of moto, stopped on drop.
struct Double {
    child: Child,
    url: String,
}

impl Drop for Double {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn double() -> Double {
    let script = repo_root().join("tests/cloudfront_double/cloudfront_fle_double.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(["--upstream", &moto_url(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the CloudFront double");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("double said {line:?}"))
        .to_owned();
    Double {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

fn unique() -> String {
    let mut b = [0u8; 5];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Builds the deployment (optionally with `broken` broken), audits it, and returns
/// (exit code, report, stderr).
fn audit(broken: Option<&str>) -> (i32, Value, String) {
    let d = double();
    let mut fixture = Command::new(python());
    fixture
        .arg(repo_root().join("tests/deploy/audit_fixture.py"))
        .args([
            "--moto",
            &moto_url(),
            "--double",
            &d.url,
            "--suffix",
            &unique(),
        ]);
    if let Some(b) = broken {
        fixture.args(["--break", b]);
    }
    let out = fixture.output().unwrap();
    assert!(
        out.status.success(),
        "fixture: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let world: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = Command::new(fle_bin())
        .args(["audit", "--distribution"])
        .arg(world["distribution"].as_str().unwrap())
        .arg("--custodian")
        .arg(world["custodian"].as_str().unwrap())
        .args(["--output", "json"])
        .env("AWS_ENDPOINT_URL", moto_url())
        .env("AWS_ENDPOINT_URL_CLOUDFRONT", &d.url)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", &d.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {stderr}"));
    (out.status.code().unwrap(), report, stderr)
}

fn failed(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["passed"] == false)
        .map(|f| f["control"].as_str().unwrap().to_owned())
        .collect()
}

const CONTROLS: [&str; 9] = [
    "post-behaviors-encrypt-fields",
    "post-behaviors-signed-with-body",
    "api-requires-iam-and-api-key",
    "edge-role-invokes-only-this-api",
    "profile-keys-in-keyring",
    "no-key-past-retirement",
    "keyring-secret-customer-managed-key",
    "kms-only-expected-decryptors",
    "backend-logs-masked",
];

#[test]
fn a_compliant_deployment_passes_every_control_with_evidence() {
    let (code, report, stderr) = audit(None);
    assert_eq!(
        failed(&report),
        Vec::<String>::new(),
        "{report:#}\n{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["passed"], true);
    let names: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["control"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let mut want = CONTROLS.to_vec();
    want.sort_unstable();
    assert_eq!(sorted, want, "every control is reported once");
    for f in report["findings"].as_array().unwrap() {
        assert!(
            !f["evidence"].as_array().unwrap().is_empty(),
            "{} passed without evidence",
            f["control"]
        );
    }
    // The evidence names keys, never key material.
    assert!(!report.to_string().contains("PRIVATE KEY"), "{report:#}");
}

fn broken(control: &str, also: &[&str]) {
    let (code, report, stderr) = audit(Some(control));
    let mut want: Vec<String> = std::iter::once(control)
        .chain(also.iter().copied())
        .map(str::to_owned)
        .collect();
    want.sort_unstable();
    let mut got = failed(&report);
    got.sort_unstable();
    assert_eq!(got, want, "{report:#}");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(control),
        "the failure names the control: {stderr}"
    );
    assert!(!report.to_string().contains("PRIVATE KEY"), "{report:#}");
}

#[test]
fn post_behavior_without_fle_is_reported() {
    // With no FLE configuration there is no profile whose keys could be in the keyring.
    broken(
        "post-behaviors-encrypt-fields",
        &["profile-keys-in-keyring"],
    );
}

#[test]
fn signer_without_body_is_reported() {
    broken("post-behaviors-signed-with-body", &[]);
}

#[test]
fn api_method_without_iam_is_reported() {
    broken("api-requires-iam-and-api-key", &[]);
}

#[test]
fn edge_role_invoking_every_api_is_reported() {
    broken("edge-role-invokes-only-this-api", &[]);
}

#[test]
fn profile_key_missing_from_the_keyring_is_reported() {
    broken("profile-keys-in-keyring", &[]);
}

#[test]
fn key_past_retire_after_is_reported() {
    broken("no-key-past-retirement", &[]);
}

#[test]
fn secret_under_the_aws_managed_key_is_reported() {
    broken(
        "keyring-secret-customer-managed-key",
        &["kms-only-expected-decryptors"],
    );
}

#[test]
fn key_policy_letting_the_admin_decrypt_is_reported() {
    broken("kms-only-expected-decryptors", &[]);
}

#[test]
fn log_group_without_masking_is_reported() {
    broken("backend-logs-masked", &[]);
}
