//! `fle api-keys rotate` against moto ($FLE_TEST_MOTO_URL): a full rotation, a dry run, an
//! interruption after each step followed by a rerun, and a second rotation. After every
//! stop the key CloudFront sends must be an enabled key of the usage plan (no gap), and every
//! rerun must converge to: one key in the plan, the one at CloudFront, the old key deleted,
//! no extra keys created. Setup and inspection use boto3 ($FLE_TEST_PYTHON).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const PY_COMMON: &str = r#"
import boto3, json, sys, uuid
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
ag = boto3.client("apigateway", **kw); cf = boto3.client("cloudfront", **kw)
"#;

/// A REST API with a stage, a usage plan, one manual key in it, and a distribution whose
/// `api` origin sends that key (plus an unrelated header that must survive) next to an S3 origin.
const PY_SETUP: &str = r#"
api = ag.create_rest_api(name="fle-test-" + uuid.uuid4().hex[:8])["id"]
root = ag.get_resources(restApiId=api)["items"][0]["id"]
ag.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM", apiKeyRequired=True)
ag.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
ag.create_deployment(restApiId=api, stageName="prod")
plan = ag.create_usage_plan(name="plan-" + api, apiStages=[{"apiId": api, "stage": "prod"}])["id"]
other_api = ag.create_rest_api(name="other-" + api)["id"]
initial = "initialKey" + uuid.uuid4().hex
old = ag.create_api_key(name="manual-" + api, enabled=True, value=initial)["id"]
ag.create_usage_plan_key(usagePlanId=plan, keyId=old, keyType="API_KEY")
dist = cf.create_distribution(DistributionConfig={
  "CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": True,
  "Origins": {"Quantity": 2, "Items": [
     {"Id": "api", "DomainName": f"{api}.execute-api.us-east-1.amazonaws.com", "OriginPath": "/prod",
      "CustomHeaders": {"Quantity": 2, "Items": [{"HeaderName": "x-api-key", "HeaderValue": initial},
                                                  {"HeaderName": "x-other", "HeaderValue": "keep"}]},
      "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}},
     {"Id": "static", "DomainName": "bucket.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
  "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "https-only", "MinTTL": 0,
     "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}},
     "TrustedSigners": {"Enabled": False, "Quantity": 0}}})["Distribution"]["Id"]
print(json.dumps({"rest_api": api, "other_api": other_api, "plan": plan, "dist": dist, "old": old, "initial": initial}))
"#;

/// Everything the assertions need: plan keys, the keys of this setup (other tests share the
/// moto server), the origin headers.
const PY_INSPECT: &str = r#"
plan, dist, old = sys.argv[2], sys.argv[3], sys.argv[4]
in_plan = sorted(k["id"] for k in ag.get_usage_plan_keys(usagePlanId=plan, limit=500).get("items", []))
keys = {k["id"]: {"name": k.get("name"), "value": k.get("value"), "enabled": k.get("enabled"), "description": k.get("description")}
        for k in ag.get_api_keys(includeValues=True, limit=500).get("items", [])
        if k["id"] == old or k["id"] in in_plan or k.get("name", "").startswith(f"fle/{dist}/")}
cfg = cf.get_distribution_config(Id=dist)["DistributionConfig"]
origin = [o for o in cfg["Origins"]["Items"] if o["Id"] == "api"][0]
headers = {h["HeaderName"]: h["HeaderValue"] for h in origin.get("CustomHeaders", {}).get("Items", [])}
print(json.dumps({"in_plan": in_plan, "keys": keys, "headers": headers}))
"#;

fn env_var(name: &str, hint: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: {hint}"))
}

fn moto() -> String {
    env_var(
        "FLE_TEST_MOTO_URL",
        "run scripts/test.sh (it starts moto_server and exports it)",
    )
}

fn python(script: &str, args: &[&str]) -> Value {
    let py = env_var(
        "FLE_TEST_PYTHON",
        "run scripts/test.sh, or point it at a python with tests/requirements.txt",
    );
    let out = Command::new(py)
        .args(["-c", &format!("{PY_COMMON}{script}"), &moto()])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fle_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("fle");
    assert!(
        bin.exists(),
        "{} missing: `cargo build -p fle-cli` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

struct Setup {
    rest_api: String,
    other_api: String,
    plan: String,
    dist: String,
    old: String,
    initial_value: String,
}

fn setup() -> Setup {
    let v = python(PY_SETUP, &[]);
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    Setup {
        rest_api: s("rest_api"),
        other_api: s("other_api"),
        plan: s("plan"),
        dist: s("dist"),
        old: s("old"),
        initial_value: s("initial"),
    }
}

/// Runs `fle api-keys rotate` on moto with static test credentials and no retries.
fn rotate(s: &Setup, extra: &[&str]) -> (i32, Value, String) {
    rotate_env(s, extra, &[])
}

fn rotate_env(s: &Setup, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let out = Command::new(fle_bin())
        .args([
            "api-keys",
            "rotate",
            "--rest-api",
            &s.rest_api,
            "--usage-plan",
            &s.plan,
            "--distribution",
            &s.dist,
        ])
        .args([
            "--grace",
            "0s",
            "--poll-interval",
            "20ms",
            "--deploy-timeout",
            "20s",
            "--output",
            "json",
        ])
        .args(extra)
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn inspect(s: &Setup) -> Value {
    python(PY_INSPECT, &[&s.plan, &s.dist, &s.old])
}

/// The key CloudFront sends is an enabled key of the usage plan.
fn assert_cloudfront_key_valid(s: &Setup, state: &Value, when: &str) {
    let at_cf = state["headers"]["x-api-key"]
        .as_str()
        .unwrap_or_else(|| panic!("{when}: no x-api-key header"));
    let key = state["keys"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, k)| k["value"] == at_cf)
        .unwrap_or_else(|| panic!("{when}: the key at CloudFront is no API key"));
    assert!(
        state["in_plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == key.0),
        "{when}: key at CloudFront not in plan"
    );
    assert_eq!(
        key.1["enabled"],
        Value::Bool(true),
        "{when}: key at CloudFront disabled"
    );
    assert_eq!(
        state["headers"]["x-other"], "keep",
        "{when}: unrelated header lost ({})",
        s.dist
    );
}

/// Converged: exactly one fle key for this distribution, in the plan alone, at CloudFront,
/// 40 alphanumerics; the initial key deleted.
fn assert_converged(s: &Setup, state: &Value, when: &str) -> String {
    assert_cloudfront_key_valid(s, state, when);
    let prefix = format!("fle/{}/api/", s.dist);
    let ours: Vec<(&String, &Value)> = state["keys"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, k)| k["name"].as_str().unwrap_or("").starts_with(&prefix))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "{when}: expected exactly one fle key, got {ours:?}"
    );
    let (id, key) = ours[0];
    let value = key["value"].as_str().unwrap();
    assert!(
        value.len() == 40 && value.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{when}: key shape"
    );
    assert_eq!(
        state["headers"]["x-api-key"], key["value"],
        "{when}: CloudFront does not send the new key"
    );
    assert_eq!(
        state["in_plan"],
        serde_json::json!([id]),
        "{when}: plan should hold only the new key"
    );
    assert!(
        state["keys"].get(&s.old).is_none(),
        "{when}: old key not deleted"
    );
    id.clone()
}

#[test]
fn full_rotation_replaces_the_key_without_a_gap() {
    let s = setup();
    let (code, report, stderr) = rotate(&s, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["oldKeyId"], s.old.as_str());
    assert!(
        !stderr.contains(&s.initial_value) && !report.to_string().contains(&s.initial_value),
        "key value printed"
    );
    let id = assert_converged(&s, &inspect(&s), "after a full rotation");
    assert_eq!(report["newKeyId"], id.as_str());
    let new_value = inspect(&s)["keys"][&id]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !report.to_string().contains(&new_value) && !stderr.contains(&new_value),
        "new key value printed"
    );
}

#[test]
fn dry_run_changes_nothing() {
    let s = setup();
    let before = inspect(&s);
    let (code, report, stderr) = rotate(&s, &["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["dryRun"], true);
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            // record-value: no --value-secret, nothing to record.
            .all(|st| st["status"] == "pending"
                || (st["step"] == "record-value" && st["status"] == "not-needed")),
        "{report}"
    );
    assert_eq!(inspect(&s), before);
}

#[test]
fn interruption_after_each_step_then_rerun_converges() {
    for step in [
        "create",
        "add-to-plan",
        "record-value",
        "update-distribution",
        "wait-deployed",
        "grace",
        "remove-from-plan",
    ] {
        let s = setup();
        let (code, report, stderr) = rotate(&s, &["--danger-stop-after", step]);
        assert_eq!(code, 0, "{step}: {stderr}");
        assert_eq!(report["stoppedAfter"], step, "{step}: {report}");
        let mid = inspect(&s);
        assert_cloudfront_key_valid(&s, &mid, &format!("stopped after {step}"));

        // A dry run in the middle shows the remaining steps and changes nothing.
        let (code, plan, _) = rotate(&s, &["--dry-run"]);
        assert_eq!(code, 0);
        assert_eq!(
            plan["resumed"], true,
            "{step}: dry run should see the rotation in progress: {plan}"
        );
        assert_eq!(inspect(&s), mid, "{step}: dry run changed something");

        let (code, report, stderr) = rotate(&s, &[]);
        assert_eq!(code, 0, "{step}: rerun: {stderr}");
        assert_eq!(report["resumed"], true, "{step}: {report}");
        assert_eq!(report["complete"], true, "{step}: {report}");
        assert_eq!(
            report["oldKeyId"],
            s.old.as_str(),
            "{step}: rerun lost track of the old key"
        );
        assert_converged(&s, &inspect(&s), &format!("rerun after {step}"));
    }
}

/// From the second rotation on, the key being replaced is one of fle's own too: a stop after
/// the header switch must still resume by retiring it, never by switching CloudFront back.
#[test]
fn an_interrupted_second_rotation_retires_the_first_key() {
    for step in [
        "update-distribution",
        "wait-deployed",
        "grace",
        "remove-from-plan",
    ] {
        let s = setup();
        assert_eq!(rotate(&s, &[]).0, 0);
        let first = assert_converged(&s, &inspect(&s), "first rotation");
        let (code, report, stderr) = rotate(&s, &["--danger-stop-after", step]);
        assert_eq!(code, 0, "{step}: {stderr}");
        let second = report["newKeyId"].as_str().unwrap().to_owned();
        assert_ne!(second, first);
        let (code, report, stderr) = rotate(&s, &[]);
        assert_eq!(code, 0, "{step}: rerun: {stderr}");
        assert_eq!(report["resumed"], true, "{step}: {report}");
        assert_eq!(
            report["newKeyId"],
            second.as_str(),
            "{step}: resumed the wrong key: {report}"
        );
        assert_eq!(report["oldKeyId"], first.as_str(), "{step}: {report}");
        let state = inspect(&s);
        assert_cloudfront_key_valid(&s, &state, step);
        let at_cf = state["headers"]["x-api-key"].clone();
        assert_eq!(
            state["keys"][&second]["value"], at_cf,
            "{step}: CloudFront went back"
        );
        assert!(
            state["keys"].get(&first).is_none(),
            "{step}: first key not retired"
        );
        assert_eq!(state["in_plan"], serde_json::json!([second]), "{step}");
    }
}

#[test]
fn second_rotation_retires_the_first_new_key() {
    let s = setup();
    assert_eq!(rotate(&s, &[]).0, 0);
    let first = assert_converged(&s, &inspect(&s), "first rotation");
    let (code, report, stderr) = rotate(&s, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["resumed"], false, "{report}");
    assert_eq!(report["oldKeyId"], first.as_str());
    let state = inspect(&s);
    assert_cloudfront_key_valid(&s, &state, "second rotation");
    assert!(
        state["keys"].get(&first).is_none(),
        "first new key not retired"
    );
    assert_eq!(state["in_plan"].as_array().unwrap().len(), 1);
}

#[test]
fn usage_plan_of_another_api_is_a_usage_error() {
    let s = setup();
    let wrong = Setup {
        rest_api: s.other_api.clone(),
        ..setup()
    };
    let before = inspect(&wrong);
    let (code, _, stderr) = rotate(&wrong, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("has no stage of REST API"), "{stderr}");
    assert_eq!(inspect(&wrong), before);
}

/// The stack's copy of the key (`--value-secret`, deploy/template.yaml's ApiKeyValue): a
/// secret holding the header's value, which is no API key yet, as after the stack's second
/// pass. Creates it and returns its name.
fn value_secret(s: &Setup) -> String {
    let name = format!("fle-test-api-key-{}", s.dist);
    python(
        "sm = boto3.client('secretsmanager', **kw)\n\
         sm.create_secret(Name=sys.argv[2], SecretString=sys.argv[3])\n\
         print(json.dumps(None))",
        &[&name, &s.initial_value],
    );
    name
}

fn secret_value(name: &str) -> Value {
    python(
        "sm = boto3.client('secretsmanager', **kw)\n\
         print(json.dumps(sm.get_secret_value(SecretId=sys.argv[2])['SecretString']))",
        &[name],
    )
}

/// The template's first key: the header holds a generated value that is no API key, the plan
/// is empty. The first rotation makes the key, records it in the secret before CloudFront
/// sends it, and deletes nothing; a stop after `record-value` leaves the secret on a key the
/// plan already accepts, and the rerun converges with the secret equal to the header.
#[test]
fn value_secret_follows_the_key_from_the_first_one_on() {
    let s = setup();
    // No key in the plan: the header's value opens nothing, as after the stack's second pass.
    python(
        "ag.delete_usage_plan_key(usagePlanId=sys.argv[2], keyId=sys.argv[3])\n\
         ag.delete_api_key(apiKey=sys.argv[3])\nprint(json.dumps(None))",
        &[&s.plan, &s.old],
    );
    let secret = value_secret(&s);

    let (code, report, stderr) = rotate(
        &s,
        &[
            "--value-secret",
            &secret,
            "--danger-stop-after",
            "record-value",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["stoppedAfter"], "record-value", "{report}");
    let mid = inspect(&s);
    let recorded = secret_value(&secret);
    assert_ne!(
        recorded,
        s.initial_value.as_str(),
        "secret not written before the switch"
    );
    let new_id = report["newKeyId"].as_str().unwrap();
    assert_eq!(
        mid["keys"][new_id]["value"], recorded,
        "secret is not the new key"
    );
    assert!(
        mid["in_plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == new_id),
        "the recorded key is not in the plan yet"
    );
    assert_eq!(mid["headers"]["x-api-key"], s.initial_value.as_str());

    let (code, report, stderr) = rotate(&s, &["--value-secret", &secret]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["oldKeyId"], Value::Null, "{report}");
    let status = |step: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["step"] == step)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("record-value"), "already-done", "{report}");
    assert_eq!(status("delete-old"), "not-needed", "{report}");
    let end = inspect(&s);
    assert_cloudfront_key_valid(&s, &end, "after the first rotation");
    assert_eq!(end["headers"]["x-api-key"], secret_value(&secret));

    // A second rotation moves the secret along with the header.
    let (code, _, stderr) = rotate(&s, &["--value-secret", &secret]);
    assert_eq!(code, 0, "{stderr}");
    let end = inspect(&s);
    assert_cloudfront_key_valid(&s, &end, "after the second rotation");
    assert_eq!(end["headers"]["x-api-key"], secret_value(&secret));
    assert_eq!(end["in_plan"].as_array().unwrap().len(), 1);
}

/// The most diagnostics anyone can ask for (`-vv`, `RUST_LOG=trace`) show the API calls but
/// no key value: at `trace` the SDK prints response bodies, and API Gateway's CreateApiKey and
/// GetApiKeys(includeValues) answers carry the keys, so fle holds other crates at `debug`.
#[test]
fn diagnostics_never_show_a_key_value() {
    let s = setup();
    let (code, report, stderr) = rotate_env(&s, &["-vv"], &[("RUST_LOG", "trace")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("rpc.method=\"CreateApiKey\""),
        "no SDK calls in -vv"
    );
    assert!(
        stderr.contains("fle_ops::aws::sdk: AWS configuration"),
        "no fle events in -vv"
    );
    let id = report["newKeyId"].as_str().unwrap();
    let new_value = inspect(&s)["keys"][id]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !stderr.contains(&new_value),
        "the new key's value was logged"
    );
    assert!(
        !stderr.contains(&s.initial_value),
        "the old key's value was logged"
    );
}
