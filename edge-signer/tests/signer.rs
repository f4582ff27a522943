//! The origin-request signer on the fixture events of tests/fixtures/cases.json: event types
//! round-trip, each case signs or refuses as expected, and no input makes it panic.
//! (The signatures themselves are checked against botocore in tests/tests/edge_oracle.rs.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::rfc3339;
use std::path::PathBuf;

use edge_signer::event::OriginRequestEvent;
use edge_signer::{invoke_json, outcome_json, sign_event, Credentials, SigningParams, SigningTime};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap()).unwrap()
}

fn event_value(case: &Value) -> Value {
    let file = fixtures().join(case["event"].as_str().unwrap());
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn cases() -> Vec<Value> {
    manifest()["cases"].as_array().unwrap().clone()
}

/// What the handler passes to the wasm module for a case (same shape `fle edge sign` builds).
fn invocation(m: &Value, case: &Value) -> Value {
    let time = rfc3339(m["time"].as_str().unwrap()).unwrap();
    let mut creds = m["credentials"].clone();
    if case["session_token"] != json!(true) {
        creds.as_object_mut().unwrap().remove("sessionToken");
    }
    let mut inv = json!({ "event": event_value(case), "time": time.unix() });
    if case["credentials"] != json!(false) {
        inv["credentials"] = creds;
    }
    for key in ["region", "service"] {
        if let Some(v) = case.get(key) {
            inv[key] = v.clone();
        }
    }
    inv
}

/// The wasm entry's answer for a case, with its patch applied to the event's request the way
/// the Node handler applies it, so it reads as the handler's `{signed, refusal?, result}`.
fn run(case: &Value) -> Value {
    let m = manifest();
    let inv = invocation(&m, case);
    let out: Value =
        serde_json::from_slice(&invoke_json(&serde_json::to_vec(&inv).unwrap())).unwrap();
    with_patch_applied(&inv["event"], out)
}

fn with_patch_applied(event: &Value, out: Value) -> Value {
    if out["signed"] != json!(true) {
        assert!(out.get("patch").is_none());
        return out;
    }
    let mut request = event["Records"][0]["cf"]["request"].clone();
    let patch = &out["patch"];
    request["querystring"] = patch["querystring"].clone();
    let headers = request["headers"].as_object_mut().unwrap();
    for name in patch["removeHeaders"].as_array().unwrap() {
        headers.remove(name.as_str().unwrap());
    }
    for (name, value) in patch["setHeaders"].as_object().unwrap() {
        headers.insert(name.clone(), value.clone());
    }
    json!({ "signed": true, "result": request })
}

#[test]
fn fixture_events_round_trip() {
    for case in cases() {
        let original = event_value(&case);
        let parsed: OriginRequestEvent = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            original,
            "{}",
            case["name"]
        );
    }
}

#[test]
fn every_case_signs_or_refuses_as_expected() {
    let m = manifest();
    let secret = m["credentials"]["secretAccessKey"].as_str().unwrap();
    let token = m["credentials"]["sessionToken"].as_str().unwrap();
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        let out = run(&case);
        let text = out.to_string();
        assert!(!text.contains(secret), "{name}: secret key in output");
        let expect = case["expect"].as_str().unwrap();
        if expect == "signed" {
            assert_eq!(out["signed"], json!(true), "{name}: {out}");
            let req = &out["result"];
            let original = event_value(&case)["Records"][0]["cf"]["request"].clone();
            let domain = original["origin"]["custom"]["domainName"].as_str().unwrap();
            assert_eq!(req["querystring"], case["query"], "{name}: forwarded query");
            assert_eq!(
                req["headers"]["host"],
                json!([{ "key": "Host", "value": domain }]),
                "{name}"
            );
            assert_eq!(req["uri"], original["uri"], "{name}: uri unchanged");
            assert_eq!(req["body"], original["body"], "{name}: body unchanged");
            assert_eq!(
                req["origin"], original["origin"],
                "{name}: origin unchanged"
            );
            let auth = req["headers"]["authorization"][0]["value"]
                .as_str()
                .unwrap();
            let signed_headers = auth
                .split("SignedHeaders=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            let mut want = vec!["host", "x-amz-content-sha256", "x-amz-date"];
            if case["session_token"] == json!(true) {
                want.push("x-amz-security-token");
                assert_eq!(
                    req["headers"]["x-amz-security-token"][0]["value"],
                    json!(token),
                    "{name}"
                );
            } else {
                assert!(
                    req["headers"].get("x-amz-security-token").is_none(),
                    "{name}: viewer token kept"
                );
            }
            if original["origin"]["custom"]["customHeaders"]
                .get("x-api-key")
                .is_some()
            {
                want.push("x-api-key");
            }
            // The API key is the distribution's (CloudFront adds the origin custom header
            // after the function), never the viewer's, with or without one configured.
            assert!(
                req["headers"].get("x-api-key").is_none(),
                "{name}: a viewer's x-api-key is forwarded"
            );
            assert_eq!(signed_headers, want.join(";"), "{name}");
            assert_eq!(
                req["headers"]["x-amz-date"][0]["value"],
                json!("20260102T030405Z"),
                "{name}"
            );
            for kept in ["user-agent", "x-forwarded-for", "via", "accept"] {
                assert_eq!(
                    req["headers"][kept], original["headers"][kept],
                    "{name}: {kept} changed"
                );
            }
        } else {
            assert_eq!(out["signed"], json!(false), "{name}: {out}");
            assert_eq!(out["result"]["status"], json!(expect), "{name}: {out}");
            if let Some(class) = case.get("refusal").and_then(Value::as_str) {
                let refusal = out["refusal"].as_str().unwrap();
                assert!(refusal.contains(class), "{name}: refusal {refusal:?}");
                let body = out["result"]["body"].as_str().unwrap();
                assert!(body.contains(class), "{name}: response body {body:?}");
            }
            assert!(!text.contains(token), "{name}: session token in refusal");
            assert!(!text.contains("AKIDEXAMPLE"), "{name}: key id in refusal");
        }
    }
}

#[test]
fn viewer_signing_headers_are_replaced() {
    let case = cases()
        .into_iter()
        .find(|c| c["name"] == "no-origin-path")
        .unwrap();
    let out = run(&case);
    let h = &out["result"]["headers"];
    assert!(h["authorization"][0]["value"]
        .as_str()
        .unwrap()
        .starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/execute-api/aws4_request"
        ));
    assert_eq!(h["authorization"].as_array().unwrap().len(), 1);
    assert_eq!(h["x-amz-date"].as_array().unwrap().len(), 1);
}

#[test]
fn caller_hash_is_used_and_checked() {
    let m = manifest();
    let case = cases()
        .into_iter()
        .find(|c| c["name"] == "post-form-origin-path")
        .unwrap();
    let mut inv = invocation(&m, &case);
    let hash =
        edge_signer::sigv4::sha256_hex(b"name=Ann+Lee&card=AYADeJ%2Bk0Q%3D%3D&note=caf%C3%A9");
    let full: Value =
        serde_json::from_slice(&invoke_json(&serde_json::to_vec(&inv).unwrap())).unwrap();
    // The handler hashes natively and sends the body without its data: same signature.
    inv["payloadSha256"] = json!(hash);
    inv["event"]["Records"][0]["cf"]["request"]["body"]["data"] = json!("");
    let fast: Value =
        serde_json::from_slice(&invoke_json(&serde_json::to_vec(&inv).unwrap())).unwrap();
    assert_eq!(full["signed"], json!(true));
    assert_eq!(fast["patch"], full["patch"]);
    inv["payloadSha256"] = json!("ABC");
    let bad: Value =
        serde_json::from_slice(&invoke_json(&serde_json::to_vec(&inv).unwrap())).unwrap();
    assert_eq!(bad["result"]["status"], json!("500"));
}

/// What `fle edge sign` computes for an invocation: the typed event, the typed signer.
fn typed(inv: &Value) -> Value {
    let event: OriginRequestEvent = serde_json::from_value(inv["event"].clone()).unwrap();
    let c = &inv["credentials"];
    let creds = c.as_object().and_then(|_| {
        Credentials::new(
            c["accessKeyId"].as_str().unwrap(),
            c["secretAccessKey"].as_str().unwrap(),
            c.get("sessionToken").and_then(Value::as_str),
        )
    });
    let params = SigningParams {
        credentials: creds.as_ref(),
        region: inv.get("region").and_then(Value::as_str),
        service: inv
            .get("service")
            .and_then(Value::as_str)
            .unwrap_or("execute-api"),
        time: SigningTime::from_unix(inv["time"].as_i64().unwrap()).unwrap(),
        payload_sha256: None,
    };
    outcome_json(&sign_event(&event, &params))
}

#[test]
fn typed_and_json_entries_agree() {
    let m = manifest();
    for case in cases() {
        assert_eq!(
            typed(&invocation(&m, &case)),
            run(&case),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn unreadable_invocations_are_refused_not_panicked() {
    for input in [
        &b""[..],
        b"{}",
        b"null",
        b"{\"event\":{\"Records\":[]},\"time\":0}",
        b"\xff\xfe",
    ] {
        let out: Value = serde_json::from_slice(&invoke_json(input)).unwrap();
        assert_eq!(out["signed"], json!(false));
        assert_eq!(out["result"]["status"], json!("500"));
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let out: Value = serde_json::from_slice(&invoke_json(&bytes)).unwrap();
        proptest::prop_assert_eq!(&out["signed"], &json!(false));
    }

    #[test]
    fn arbitrary_request_fields_never_panic(
        uri in "\\PC{0,40}", query in "\\PC{0,60}", data in "\\PC{0,40}", path in "\\PC{0,10}",
        domain in "[a-z0-9.-]{0,20}", time in -1_000_i64..260_000_000_000,
    ) {
        let mut inv = invocation(&manifest(), &cases()[0]);
        let req = &mut inv["event"]["Records"][0]["cf"]["request"];
        req["uri"] = json!(uri);
        req["querystring"] = json!(query);
        req["body"]["data"] = json!(data);
        req["origin"]["custom"]["path"] = json!(path);
        req["origin"]["custom"]["domainName"] = json!(domain);
        inv["time"] = json!(time);
        let raw: Value = serde_json::from_slice(&invoke_json(&serde_json::to_vec(&inv).unwrap())).unwrap();
        let out = with_patch_applied(&inv["event"], raw);
        if SigningTime::from_unix(time).is_ok() {
            proptest::prop_assert_eq!(&typed(&inv), &out);
        }
        if out["signed"] == json!(true) {
            // Whatever was forwarded is in canonical form: signing it again changes nothing.
            let q = out["result"]["querystring"].as_str().unwrap();
            proptest::prop_assert_eq!(edge_signer::sigv4::canonical_query(q), q);
        }
    }

    /// The wasm entry (lite parse, patch) and the native path (typed parse, whole request)
    /// sign requests the same way: random paths, queries, bodies, headers and API keys that
    /// are all signable, with or without the body object (refused alike for a method that
    /// carries a body).
    #[test]
    fn wasm_entry_and_native_path_agree(
        method in proptest::sample::select(&["GET", "HEAD", "OPTIONS", "DELETE", "POST", "PUT", "PATCH"][..]),
        with_body in proptest::bool::ANY,
        uri in "/[a-zA-Z0-9%/_~.+-]{0,30}", query in "[a-zA-Z0-9%=&+,;*\\[\\]~ -]{0,40}",
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        header in "[a-z-]{1,12}", value in "\\PC{0,20}", api_key in "[A-Za-z0-9]{20,40}",
        token in proptest::option::of("[A-Za-z0-9/+=]{10,40}"),
    ) {
        use base64::Engine as _;
        let mut inv = invocation(&manifest(), &cases()[0]);
        let req = &mut inv["event"]["Records"][0]["cf"]["request"];
        req["uri"] = json!(uri);
        req["querystring"] = json!(query);
        req["body"]["data"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
        req["headers"][&header] = json!([{ "key": header, "value": value }]);
        req["method"] = json!(method);
        if !with_body {
            req.as_object_mut().unwrap().remove("body");
        }
        req["origin"]["custom"]["customHeaders"]["x-api-key"][0]["value"] = json!(api_key);
        if let Some(t) = token {
            inv["credentials"]["sessionToken"] = json!(t);
        }
        let raw: Value = serde_json::from_slice(&invoke_json(&serde_json::to_vec(&inv).unwrap())).unwrap();
        let out = with_patch_applied(&inv["event"], raw);
        let dots = uri.split('/').any(|s| s == "." || s == ".." || s.eq_ignore_ascii_case("%2e") || s.eq_ignore_ascii_case("%2e%2e") || s.eq_ignore_ascii_case(".%2e") || s.eq_ignore_ascii_case("%2e."));
        let needs_body = ["POST", "PUT", "PATCH"].contains(&method);
        proptest::prop_assert_eq!(out["signed"] == json!(true), !dots && (with_body || !needs_body), "{}", out);
        if !dots && !with_body && needs_body {
            proptest::prop_assert!(out["refusal"].as_str().unwrap().contains("include body"));
        }
        proptest::prop_assert_eq!(&typed(&inv), &out);
    }
}
