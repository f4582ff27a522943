//! `Debug` of every public type that can hold a credential or request data shows none of it:
//! secret key, session token, API key, viewer credentials, body, signature, canonical text.
//! Checked in both `{:?}` and `{:#?}` on an event, the signed request, its patch and the
//! SigV4 stages, with a value of each kind planted where it would travel.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use base64::Engine as _;
use common::rfc3339;
use edge_signer::event::OriginRequestEvent;
use edge_signer::sigv4::{self, CanonicalInput};
use edge_signer::{sign_event, sign_patch, Credentials, SigningParams, SigningTime};

const SECRET: &str = "SECRETwJalrXUtnFEMIK7MDENGbPxRfiCY";
const TOKEN: &str = "TOKENIQoJb3JpZ2luX2VjEXAMPLE";
const API_KEY: &str = "APIKEYk3Y0123456789abcdefghij";
const VIEWER_AUTH: &str = "Bearer VIEWERCREDENTIAL";
const COOKIE: &str = "session=VIEWERCOOKIE";
const PLAINTEXT: &[u8] = b"card=4111111111111111&PLAINTEXTFIELD";

fn event() -> OriginRequestEvent {
    let body = base64::engine::general_purpose::STANDARD.encode(PLAINTEXT);
    serde_json::from_str(&format!(
        r#"{{"Records":[{{"cf":{{"config":{{"requestId":"r1"}},"request":{{
          "method":"POST","uri":"/orders","querystring":"a=1","clientIp":"203.0.113.7",
          "headers":{{"authorization":[{{"key":"Authorization","value":"{VIEWER_AUTH}"}}],
                      "cookie":[{{"key":"Cookie","value":"{COOKIE}"}}]}},
          "body":{{"inputTruncated":false,"encoding":"base64","data":"{body}",
                   "hidden":"{API_KEY}"}},
          "origin":{{"custom":{{"domainName":"a1.execute-api.eu-west-1.amazonaws.com",
            "path":"/prod","customHeaders":{{"x-api-key":[{{"key":"x-api-key","value":"{API_KEY}"}}]}},
            "note":"{TOKEN}"}}}}}}}}}}]}}"#
    ))
    .unwrap()
}

fn assert_redacted(what: &str, shown: &str, signature: &str) {
    let body = base64::engine::general_purpose::STANDARD.encode(PLAINTEXT);
    for (name, needle) in [
        ("secret key", SECRET),
        ("session token", TOKEN),
        ("api key", API_KEY),
        ("viewer authorization", "VIEWERCREDENTIAL"),
        ("viewer cookie", "VIEWERCOOKIE"),
        ("body", body.as_str()),
        ("signature", signature),
        ("client ip", "203.0.113.7"),
    ] {
        assert!(!shown.contains(needle), "{what}: {name} in Debug:\n{shown}");
    }
}

#[test]
fn debug_output_holds_no_credential_or_request_data() {
    let credentials = Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN));
    let params = SigningParams {
        credentials: credentials.as_ref(),
        region: None,
        service: "execute-api",
        time: SigningTime::from_unix(1_767_323_045).unwrap(),
        payload_sha256: None,
    };
    let event = event();
    let signed = sign_event(&event, &params).unwrap();
    let patch = sign_patch(&event.records[0].cf.request, &params).unwrap();
    let auth = &patch.set_headers["authorization"][0].value;
    let signature = auth.rsplit("Signature=").next().unwrap().to_string();
    assert_eq!(signature.len(), 64);
    // The values really are in there, so a redaction that printed them would be caught.
    assert_eq!(patch.set_headers["x-amz-security-token"][0].value, TOKEN);
    assert!(serde_json::to_string(&signed).unwrap().contains(API_KEY));

    let headers = vec![
        ("host".to_string(), "a1.example".to_string()),
        ("x-amz-security-token".to_string(), TOKEN.to_string()),
        ("x-api-key".to_string(), API_KEY.to_string()),
    ];
    let input = CanonicalInput {
        method: "POST",
        path: "/prod/orders",
        query: "a=1",
        headers: &headers,
        payload_sha256: sigv4::EMPTY_PAYLOAD_SHA256,
        normalize_path: true,
    };
    let canonical = sigv4::canonical_request(&input);
    assert!(canonical.text.contains(TOKEN) && canonical.text.contains(API_KEY));

    let shown: Vec<(&str, String, String)> = vec![
        ("event", format!("{event:?}"), format!("{event:#?}")),
        (
            "signed request",
            format!("{signed:?}"),
            format!("{signed:#?}"),
        ),
        ("patch", format!("{patch:?}"), format!("{patch:#?}")),
        ("params", format!("{params:?}"), format!("{params:#?}")),
        (
            "credentials",
            format!("{credentials:?}"),
            format!("{credentials:#?}"),
        ),
        (
            "canonical input",
            format!("{input:?}"),
            format!("{input:#?}"),
        ),
        (
            "canonical request",
            format!("{canonical:?}"),
            format!("{canonical:#?}"),
        ),
    ];
    for (what, flat, pretty) in &shown {
        assert_redacted(what, flat, &signature);
        assert_redacted(what, pretty, &signature);
    }
    // Still useful: names, lengths and what steers signing are shown.
    let (_, request, _) = &shown[1];
    for visible in [
        "POST",
        "/orders",
        "x-amz-security-token",
        "Authorization",
        "a1.execute-api.eu-west-1.amazonaws.com",
        "clientIp",
        &format!(
            "{} bytes",
            base64::engine::general_purpose::STANDARD
                .encode(PLAINTEXT)
                .len()
        ),
    ] {
        assert!(request.contains(visible), "{visible} missing:\n{request}");
    }
}

#[test]
fn signing_key_comes_wrapped_and_unchanged() {
    // The derived key comes back in a wiping wrapper, so no caller can keep a plain copy by
    // accident; wrapping every stage changed no value (AWS's documented example key).
    let key: zeroize::Zeroizing<[u8; 32]> = sigv4::signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        rfc3339("2015-08-30T12:36:00Z").unwrap(),
        "us-east-1",
        "iam",
    );
    assert_eq!(
        sigv4::hex(&*key),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
}
