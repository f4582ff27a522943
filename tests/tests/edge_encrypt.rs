//! Field-level encryption at the edge (edge_signer::fle), checked by independent parts:
//! - every value the edge encrypts, of every JSON type and through every selector shape, and
//!   every form field CloudFront's patterns pick, decrypts in the AWS Encryption SDK for
//!   Python to exactly the text the viewer sent, for both suites;
//! - fle-decrypt puts the document back as it was, and the bytes the edge did not encrypt
//!   reach the origin unchanged;
//! - botocore verifies the SigV4 signature over the encrypted body the edge forwards;
//! - every refusal is a response object that carries no plaintext.
//!
//! Needs $FLE_TEST_PYTHON (scripts/test.sh exports it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use edge_signer::event::OriginRequestEvent;
use edge_signer::fle::{EdgeEncryption, EncryptConfig, FieldRules};
use edge_signer::{Credentials, Refusal, SigningParams, SigningTime};
use fle_decrypt::form::{decrypt_form, FieldPatterns};
use fle_decrypt::json::{decrypt_json, JsonSelectors};
use fle_decrypt::{Keyring, Padding, PrivateKey};
use fle_tests::*;
use serde_json::{json, Value};

const PROVIDER: &str = "spa-provider";
const KEY_NAME: &str = "spa-key-2026-12";
const TIME: &str = "2026-12-02T03:04:05Z";
const TIME_UNIX: i64 = 1_796_180_645;

/// The body as a viewer sends it: spacing, member order and number spellings of its own
/// (`12.50`, an integer past 64 bits), which serde_json would not reproduce.
const BODY: &str = r#"{ "card": {"number": "4111 1111 1111 1111", "cvc": 123, "expiry": {"month": 12, "year": 2030}},
  "payments": [ {"iban": "DE89370400440532013000", "amount": 12.50}, {"iban": null, "amount": 0}, {"amount": 3} ],
  "flags": {"vip": true, "newsletter": false},
  "notes": ["first", "second", "third"],
  "a/b": {"~c": "escaped name"},
  "big": 123456789012345678901234567890,
  "unicode": "Gr\u00fc\u00dfe 🌍" }"#;

/// Nested name, an object, wildcard over array elements (a null, an element without the
/// member), wildcard over object members, an array index, escaped names, a string with
/// escapes.
const SELECTORS: [&str; 8] = [
    "/card/number",
    "/card/cvc",
    "/card/expiry",
    "/payments/*/iban",
    "/flags/*",
    "/notes/0",
    "/a~1b/~0c",
    "/unicode",
];

/// What the selectors pick in BODY, in document order, as the raw text the viewer sent.
const PICKED: [(&str, &str); 10] = [
    ("/card/number", r#""4111 1111 1111 1111""#),
    ("/card/cvc", "123"),
    ("/card/expiry", r#"{"month": 12, "year": 2030}"#),
    ("/payments/0/iban", r#""DE89370400440532013000""#),
    ("/payments/1/iban", "null"),
    ("/flags/vip", "true"),
    ("/flags/newsletter", "false"),
    ("/notes/0", r#""first""#),
    ("/a~1b/~0c", r#""escaped name""#),
    ("/unicode", r#""Gr\u00fc\u00dfe 🌍""#),
];

struct Keys {
    private: String,
    public: String,
    ring: Keyring,
}

fn keys() -> Keys {
    let (private, public) = rsa_pem_pair();
    let mut ring = Keyring::new();
    ring.add(
        PROVIDER,
        KEY_NAME,
        PrivateKey::from_pem(private.as_bytes()).unwrap(),
        Padding::OaepSha256,
    )
    .unwrap();
    Keys {
        private,
        public,
        ring,
    }
}

fn config(public: &str, suite: &str, required: &[&str]) -> EncryptConfig {
    EncryptConfig {
        profile: "spa".into(),
        provider_id: PROVIDER.into(),
        key_name: KEY_NAME.into(),
        public_key: public.into(),
        suite: Some(suite.into()),
        json: Some(FieldRules {
            fields: SELECTORS.iter().map(|s| (*s).to_owned()).collect(),
            required: required.iter().map(|s| (*s).to_owned()).collect(),
        }),
        form: Some(FieldRules {
            fields: vec!["card_*".into(), "ssn".into()],
            required: vec![],
        }),
    }
}

fn event(content_type: &str, body: &[u8]) -> OriginRequestEvent {
    serde_json::from_value(json!({"Records": [{"cf": {"request": {
        "method": "POST", "uri": "/checkout", "querystring": "b=2&a=1",
        "headers": {"content-type": [{"key": "Content-Type", "value": content_type}]},
        "body": {"inputTruncated": false, "action": "read-only", "encoding": "base64",
                 "data": base64::engine::general_purpose::STANDARD.encode(body)},
        "origin": {"custom": {"domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "path": "/prod",
            "customHeaders": {"x-api-key": [{"key": "x-api-key", "value": "k".repeat(40)}]}}}
    }}}]}))
    .unwrap()
}

fn credentials() -> Credentials {
    Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", Some("SESSIONTOKEN")).unwrap()
}

/// The request the edge forwards (or the refusal), with a fixed seed.
fn run(
    encryption: &EdgeEncryption,
    ev: &OriginRequestEvent,
    seed: u8,
) -> Result<edge_signer::event::Request, Refusal> {
    let credentials = credentials();
    let params = SigningParams {
        credentials: Some(&credentials),
        region: None,
        service: "execute-api",
        time: SigningTime::from_unix(TIME_UNIX).unwrap(),
        payload_sha256: None,
    };
    edge_signer::sign_event_encrypted(ev, &params, encryption, &[seed; 32])
}

fn forwarded_body(request: &edge_signer::event::Request) -> Vec<u8> {
    let body = request.body.as_ref().unwrap();
    assert_eq!(body.action.as_deref(), Some("replace"));
    match body.encoding.as_deref() {
        Some("text") => body.data.as_bytes().to_vec(),
        _ => base64::engine::general_purpose::STANDARD
            .decode(&body.data)
            .unwrap(),
    }
}

#[test]
fn every_value_the_edge_encrypts_decrypts_in_the_python_esdk_for_both_suites() {
    let k = keys();
    for (suite, version) in [("0x0478", 2u8), ("0x0378", 1)] {
        let encryption = EdgeEncryption::new(&config(&k.public, suite, &[])).unwrap();
        let signed = run(&encryption, &event("application/json", BODY.as_bytes()), 7).unwrap();
        let forwarded = forwarded_body(&signed);
        let doc: Value = serde_json::from_slice(&forwarded).unwrap();

        // Each picked value is now a message of the suite; the oracle decrypts it to the text
        // the viewer sent.
        let mut messages = Vec::new();
        for (path, _) in PICKED {
            let b64 = doc.pointer(path).unwrap().as_str().unwrap();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            assert_eq!(raw[0], version, "{suite} {path}: message format");
            messages.push(b64.to_owned());
        }
        let answer = esdk_oracle(
            "decrypt",
            &json!({"private_key": k.private, "provider": PROVIDER, "key_name": KEY_NAME,
                    "messages_b64": messages}),
        );
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), PICKED.len());
        for (r, (path, want)) in results.iter().zip(PICKED) {
            assert_eq!(r["ok"], true, "{suite} {path}: {r}");
            let got = base64::engine::general_purpose::STANDARD
                .decode(r["plaintext_b64"].as_str().unwrap())
                .unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want, "{suite} {path}");
        }

        // No plaintext left; every byte the edge did not encrypt is the viewer's.
        let text = String::from_utf8(forwarded.clone()).unwrap();
        for secret in [
            "4111",
            "DE89370400440532013000",
            "Gr\\u00fc",
            "escaped name",
        ] {
            assert!(!text.contains(secret), "{suite}: {secret} left in clear");
        }
        let mut rest = text.as_str();
        for piece in BODY_WITHOUT_PICKS {
            let at = rest
                .find(piece)
                .unwrap_or_else(|| panic!("{suite}: {piece:?} not forwarded as sent"));
            rest = &rest[at + piece.len()..];
        }

        // The backend's decryptor gives the viewer's document back.
        let selectors = JsonSelectors::new(SELECTORS).unwrap();
        let back = decrypt_json(&k.ring, &forwarded, &selectors).unwrap();
        let paths: Vec<&str> = back.decrypted().map(|(p, _)| p).collect();
        assert_eq!(paths.len(), PICKED.len());
        let back: Value = serde_json::from_slice(back.to_body().expose()).unwrap();
        let original: Value = serde_json::from_str(BODY).unwrap();
        assert_eq!(back, original, "{suite}");
    }
}

/// BODY between the picked values, in order: what must reach the origin byte for byte.
const BODY_WITHOUT_PICKS: [&str; 12] = [
    r#"{ "card": {"number": "#,
    r#", "cvc": "#,
    r#", "expiry": "#,
    "},\n  \"payments\": [ {\"iban\": ",
    r#", "amount": 12.50}, {"iban": "#,
    ", \"amount\": 0}, {\"amount\": 3} ],\n  \"flags\": {\"vip\": ",
    r#", "newsletter": "#,
    "},\n  \"notes\": [",
    r#", "second", "third"],"#,
    "\n  \"a/b\": {\"~c\": ",
    "},\n  \"big\": 123456789012345678901234567890,\n  \"unicode\": ",
    " }",
];

#[test]
fn form_fields_follow_cloudfronts_patterns_and_decrypt_in_the_python_esdk() {
    let k = keys();
    let encryption = EdgeEncryption::new(&config(&k.public, "0x0478", &[])).unwrap();
    let body = b"card_number=4111+1111+1111+1111&card_cvc=123&name=Ada+L%C3%B6velace&ssn=078-05-1120&cardx=kept";
    let signed = run(
        &encryption,
        &event("application/x-www-form-urlencoded; charset=UTF-8", body),
        9,
    )
    .unwrap();
    let forwarded = forwarded_body(&signed);
    let text = String::from_utf8(forwarded.clone()).unwrap();
    assert!(text.contains("&name=Ada+L%C3%B6velace&"), "{text}");
    assert!(text.ends_with("&cardx=kept"), "{text}");
    assert!(!text.contains("4111") && !text.contains("078-05"), "{text}");

    let patterns = FieldPatterns::parse("card_*,ssn").unwrap();
    let form = decrypt_form(&k.ring, &forwarded, &patterns).unwrap();
    assert_eq!(
        form.get("card_number").unwrap().expose(),
        b"4111 1111 1111 1111"
    );
    assert_eq!(form.get("ssn").unwrap().expose(), b"078-05-1120");
    assert_eq!(form.to_body().expose(), &body[..]);

    let messages: Vec<String> = fle_decrypt::form::encrypted_fields(&forwarded, &patterns)
        .unwrap()
        .into_iter()
        .map(|(_, m)| base64::engine::general_purpose::STANDARD.encode(&*m))
        .collect();
    assert_eq!(messages.len(), 3);
    let answer = esdk_oracle(
        "decrypt",
        &json!({"private_key": k.private, "provider": PROVIDER, "key_name": KEY_NAME,
                "messages_b64": messages}),
    );
    let got: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["ok"], true, "{r}");
            let b = base64::engine::general_purpose::STANDARD
                .decode(r["plaintext_b64"].as_str().unwrap())
                .unwrap();
            String::from_utf8(b).unwrap()
        })
        .collect();
    assert_eq!(got, ["4111 1111 1111 1111", "123", "078-05-1120"]);
}

#[test]
fn botocore_verifies_the_signature_over_the_encrypted_body() {
    let k = keys();
    let encryption = EdgeEncryption::new(&config(&k.public, "0x0478", &[])).unwrap();
    let mut items = Vec::new();
    for (name, ct, body) in [
        ("json", "application/json", BODY.as_bytes()),
        (
            "form",
            "application/x-www-form-urlencoded",
            &b"card_number=4111111111111111&x=1"[..],
        ),
    ] {
        let ev = event(ct, body);
        let signed = run(&encryption, &ev, 3).unwrap();
        assert_ne!(forwarded_body(&signed), body, "{name}: body not encrypted");
        let c = credentials();
        items.push(json!({
            "name": name, "event": ev, "result": signed, "time": TIME,
            "credentials": {"accessKeyId": c.access_key_id(), "secretAccessKey": "wJalrXUtnFEMI/K7MDENG",
                            "sessionToken": "SESSIONTOKEN"},
            "region": null, "service": "execute-api", "expect": "signed", "encrypted": true,
        }));
    }
    let out = run_with_stdin(
        std::process::Command::new(python()).arg(repo_root().join("tests/oracle/sigv4_verify.py")),
        serde_json::to_vec(&items).unwrap().as_slice(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 2);

    // The verifier is not fooled: the same result with the viewer's body fails.
    let mut forged = items[0].clone();
    forged["result"]["body"] =
        json!({"inputTruncated": false, "action": "replace", "encoding": "text", "data": BODY});
    let out = run_with_stdin(
        std::process::Command::new(python()).arg(repo_root().join("tests/oracle/sigv4_verify.py")),
        serde_json::to_vec(&[forged]).unwrap().as_slice(),
    );
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn refusals_forward_nothing() {
    let k = keys();
    let encryption = EdgeEncryption::new(&config(&k.public, "0x0478", &["/card/number"])).unwrap();
    let many = format!(
        r#"{{"card": {{"number": "4111"}}, "items": [{}]}}"#,
        vec![r#""4111""#; 40].join(",")
    );
    let cases: Vec<(&str, &str, Vec<u8>, Refusal, &str)> = vec![
        (
            "not JSON",
            "application/json",
            b"{\"card\": 4111".to_vec(),
            Refusal::UnreadableBody,
            "400",
        ),
        (
            "not UTF-8",
            "application/json",
            b"{\"card\": \"\xff4111\"}".to_vec(),
            Refusal::UnreadableBody,
            "400",
        ),
        (
            "byte order mark",
            "application/json",
            "\u{feff}{\"card\": {\"number\": \"4111\"}}"
                .as_bytes()
                .to_vec(),
            Refusal::UnreadableBody,
            "400",
        ),
        (
            "duplicate member",
            "application/json",
            br#"{"card": {"number": "4111"}, "card": {"number": "x"}}"#.to_vec(),
            Refusal::UnreadableBody,
            "400",
        ),
        (
            "required missing",
            "application/json",
            br#"{"card": {"cvc": 4111}}"#.to_vec(),
            Refusal::MissingField,
            "400",
        ),
        (
            "other content type",
            "text/plain",
            b"card_number=4111".to_vec(),
            Refusal::UnsupportedMediaType,
            "415",
        ),
        (
            "no content type",
            "",
            b"card_number=4111".to_vec(),
            Refusal::UnsupportedMediaType,
            "415",
        ),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            b"--x\r\n4111".to_vec(),
            Refusal::UnsupportedMediaType,
            "415",
        ),
        (
            "form in UTF-16",
            "application/x-www-form-urlencoded; charset=utf-16",
            b"card_number=4111".to_vec(),
            Refusal::UnsupportedMediaType,
            "415",
        ),
        (
            "too many values",
            "application/json",
            many.into_bytes(),
            Refusal::TooManyFields,
            "400",
        ),
    ];
    let selectors_with_items = {
        let mut c = config(&k.public, "0x0478", &["/card/number"]);
        c.json.as_mut().unwrap().fields.push("/items/*".into());
        EdgeEncryption::new(&c).unwrap()
    };
    for (name, ct, body, want, status) in cases {
        let enc = if name == "too many values" {
            &selectors_with_items
        } else {
            &encryption
        };
        let refusal = run(enc, &event(ct, &body), 1).unwrap_err();
        assert_eq!(refusal, want, "{name}");
        assert_eq!(refusal.response().status, status, "{name}");
    }
    // Headers that would let a body through unread: two content types (the origin may read
    // the other one), a compressed body.
    let mut two_types = event("application/x-www-form-urlencoded", BODY.as_bytes());
    two_types.records[0].cf.request.headers.insert(
        "content-type".into(),
        vec![
            edge_signer::event::Header::new("Content-Type", "application/x-www-form-urlencoded"),
            edge_signer::event::Header::new("Content-Type", "application/json"),
        ],
    );
    assert_eq!(
        run(&encryption, &two_types, 1).unwrap_err(),
        Refusal::UnsupportedMediaType
    );
    let mut gzipped = event(
        "application/x-www-form-urlencoded",
        b"\x1f\x8b card_number=4111",
    );
    gzipped.records[0].cf.request.headers.insert(
        "content-encoding".into(),
        vec![edge_signer::event::Header::new("Content-Encoding", "gzip")],
    );
    assert_eq!(
        run(&encryption, &gzipped, 1).unwrap_err(),
        Refusal::UnsupportedMediaType
    );
    // No body object ("include body" off): a DELETE could carry one the edge never saw.
    let mut delete = event("application/json", BODY.as_bytes());
    delete.records[0].cf.request.method = "DELETE".into();
    delete.records[0].cf.request.body = None;
    assert_eq!(
        run(&encryption, &delete, 1).unwrap_err(),
        Refusal::BodyNotIncluded
    );
    let mut get = delete.clone();
    get.records[0].cf.request.method = "GET".into();
    let signed = run(&encryption, &get, 1).unwrap();
    assert!(signed.body.is_none() && signed.headers.contains_key("authorization"));
    // Upper-case and +json media types are JSON.
    for ct in [
        "Application/JSON",
        "application/vnd.api+json; charset=utf-8",
    ] {
        let signed = run(&encryption, &event(ct, BODY.as_bytes()), 1).unwrap();
        assert!(
            !forwarded_body(&signed).windows(4).any(|w| w == b"4111"),
            "{ct}"
        );
    }

    // A truncated body is refused before anything is read.
    let mut ev = event("application/json", BODY.as_bytes());
    ev.records[0]
        .cf
        .request
        .body
        .as_mut()
        .unwrap()
        .input_truncated = true;
    assert_eq!(
        run(&encryption, &ev, 1).unwrap_err(),
        Refusal::BodyTruncated
    );
    // So is a body whose encrypted form is over what the edge may forward.
    let big = format!(r#"{{"card": {{"number": "{}"}}}}"#, "4".repeat(800_000));
    assert_eq!(
        run(&encryption, &event("application/json", big.as_bytes()), 1).unwrap_err(),
        Refusal::EncryptedBodyTooLarge
    );
    // Without the host's randomness nothing is encrypted: the wasm entry refuses.
    let invocation = json!({"event": event("application/json", BODY.as_bytes()), "time": TIME_UNIX,
        "credentials": {"accessKeyId": "AKID", "secretAccessKey": "s"}});
    let out: Value = serde_json::from_slice(&edge_signer::invoke_json_with(
        invocation.to_string().as_bytes(),
        Some(&encryption),
    ))
    .unwrap();
    assert_eq!(out["signed"], false);
    assert_eq!(out["result"]["status"], "500");
    // An empty body (even where a field is required) has nothing to protect: signed unchanged.
    let signed = run(&encryption, &event("application/json", b""), 1).unwrap();
    assert_eq!(signed.body.unwrap().action.as_deref(), Some("read-only"));
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
    let k = keys();
    for suite in ["0x0478", "0x0378"] {
        let encryption = EdgeEncryption::new(&config(&k.public, suite, &[])).unwrap();
        let ev = event("application/json", BODY.as_bytes());
        let a = forwarded_body(&run(&encryption, &ev, 5).unwrap());
        let b = forwarded_body(&run(&encryption, &ev, 5).unwrap());
        let c = forwarded_body(&run(&encryption, &ev, 6).unwrap());
        assert_eq!(a, b, "{suite}");
        assert_ne!(a, c, "{suite}");
        // Within one request every message has its own ID.
        let doc: Value = serde_json::from_slice(&a).unwrap();
        let ids: std::collections::BTreeSet<Vec<u8>> = PICKED
            .iter()
            .map(|(p, _)| {
                let m = base64::engine::general_purpose::STANDARD
                    .decode(doc.pointer(p).unwrap().as_str().unwrap())
                    .unwrap();
                let (start, len) = if m[0] == 2 { (3, 32) } else { (4, 16) };
                m[start..start + len].to_vec()
            })
            .collect();
        assert_eq!(ids.len(), PICKED.len(), "{suite}: message IDs repeat");
    }
}

#[test]
fn configurations_are_checked_before_any_request() {
    let k = keys();
    let bad = |mutate: &dyn Fn(&mut EncryptConfig)| {
        let mut c = config(&k.public, "0x0478", &[]);
        mutate(&mut c);
        EdgeEncryption::new(&c).unwrap_err().to_string()
    };
    assert!(bad(
        &|c| c.public_key = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into()
    )
    .contains("publicKey"));
    assert!(bad(&|c| c.suite = Some("0x0578".into())).contains("suite"));
    assert!(bad(&|c| c.json.as_mut().unwrap().fields.push("/card".into())).contains("overlap"));
    assert!(bad(&|c| c.json.as_mut().unwrap().required = vec!["/x".into()]).contains("required"));
    assert!(bad(&|c| c.form.as_mut().unwrap().fields = vec!["a b".into()]).contains("form.fields"));
    assert!(bad(&|c| {
        c.json = None;
        c.form = None;
    })
    .contains("neither"));
    // A private key in the public-key slot is refused, and not echoed.
    let e = bad(&|c| c.public_key = k.private.clone());
    assert!(
        !e.contains("PRIVATE") && !e.contains(&k.private[40..80]),
        "{e}"
    );
}
