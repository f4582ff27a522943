//! Interoperability both ways with the AWS Encryption SDK for Python (pinned in
//! tests/requirements.txt): what it encrypts decrypts here, what `fle encrypt` makes decrypts
//! there. The oracle runs in the venv scripts/test.sh creates; without it these tests fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use fle_decrypt::{Error, Keyring, Limits, Padding, PrivateKey, Suite};
use fle_tests::*;
use serde_json::{json, Value};
use std::process::Command;

const PROVIDER: &str = "checkout-provider";
const KEY_NAME: &str = "checkout-key-2026-11";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

fn keyring(private_pem: &str) -> Keyring {
    let mut k = Keyring::new();
    k.add(
        PROVIDER,
        KEY_NAME,
        PrivateKey::from_pem(private_pem.as_bytes()).unwrap(),
        Padding::OaepSha256,
    )
    .unwrap();
    k
}

#[test]
fn python_esdk_offers_every_suite_we_implement() {
    let answer = esdk_oracle("suites", &json!({}));
    let theirs: Vec<u64> = answer["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for suite in Suite::ALL {
        assert!(
            theirs.contains(&u64::from(suite.id())),
            "{suite:?} missing from the Python ESDK"
        );
    }
}

#[test]
fn what_the_python_esdk_encrypts_decrypts_here() {
    let (private, public) = rsa_pem_pair();
    let plaintexts: [Vec<u8>; 3] = [
        Vec::new(),
        b"4111111111111111".to_vec(),
        (0..16 * 1024)
            .map(|i: u32| u8::try_from(i * 7 % 256).unwrap())
            .collect(),
    ];
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for suite in Suite::ALL {
        for frame_length in [0u32, 4096, 512] {
            for p in &plaintexts {
                cases.push(json!({"suite": suite.id(), "frame_length": frame_length, "plaintext_b64": b64(p)}));
                expected.push((suite, frame_length, p.clone()));
            }
        }
    }
    let answer = esdk_oracle(
        "encrypt",
        &json!({"public_key": public, "provider": PROVIDER, "key_name": KEY_NAME, "cases": cases}),
    );
    let messages = answer["messages_b64"].as_array().unwrap();
    assert_eq!(messages.len(), expected.len());
    let keyring = keyring(&private);
    for (msg, (suite, frame_length, plaintext)) in messages.iter().zip(&expected) {
        let out = keyring
            .decrypt(&unb64(msg.as_str().unwrap()))
            .unwrap_or_else(|e| {
                panic!(
                    "{suite:?} frame {frame_length} len {}: {e}",
                    plaintext.len()
                )
            });
        assert_eq!(out.plaintext().expose(), &plaintext[..]);
        assert_eq!(out.suite(), *suite);
    }
}

#[test]
fn several_edks_with_ours_last_and_extra_context() {
    let (private, public) = rsa_pem_pair();
    let (_, other_public) = rsa_pem_pair();
    let others = json!([
        {"public_key": other_public, "provider": "someone-else", "key_name": "their-key"},
        {"public_key": other_public, "provider": PROVIDER, "key_name": "an-older-key"},
    ]);
    let cases: Vec<Value> = Suite::ALL
        .iter()
        .map(|s| {
            json!({"suite": s.id(), "frame_length": 4096, "plaintext_b64": b64(b"secret"),
                        "context": {"purpose": "interop", "tenant": "ünïcode"}})
        })
        .collect();
    let answer = esdk_oracle(
        "encrypt",
        &json!({"public_key": public, "provider": PROVIDER, "key_name": KEY_NAME, "others": others, "cases": cases}),
    );
    for names in answer["edk_key_names"].as_array().unwrap() {
        assert_eq!(names.as_array().unwrap().len(), 3);
        assert_ne!(names[0], KEY_NAME, "our EDK must not be the first one");
    }
    // Three EDKs is more than CloudFront (one) and a rotation (two) need: the default limit
    // refuses such a message, a keyring configured for this producer reads it.
    let keyring = keyring(&private).with_limits(Limits::default().with_max_encrypted_data_keys(3));
    for msg in answer["messages_b64"].as_array().unwrap() {
        let msg = unb64(msg.as_str().unwrap());
        assert_eq!(
            self::keyring(&private).decrypt(&msg).unwrap_err(),
            Error::LimitExceeded("number of encrypted data keys")
        );
        let out = keyring.decrypt(&msg).unwrap();
        assert_eq!(out.plaintext().expose(), b"secret");
        assert_eq!(out.key_name(), KEY_NAME);
        let ctx = out.encryption_context();
        assert!(
            ctx.contains(&("tenant".to_owned(), "ünïcode".to_owned())),
            "{ctx:?}"
        );
        assert!(ctx.contains(&("purpose".to_owned(), "interop".to_owned())));
    }
}

#[test]
fn what_fle_encrypt_makes_decrypts_in_the_python_esdk() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (private, public) = rsa_pem_pair();
    let public_path = write_file(dir, "pub.pem", public.as_bytes());
    let plaintexts: [&[u8]; 3] = [b"", b"4111111111111111", &[0xa5; 10_000]];
    let mut messages = Vec::new();
    let mut expected = Vec::new();
    for suite in Suite::ALL {
        for frame_length in ["0", "4096", "100"] {
            for p in plaintexts {
                let out = run_with_stdin(
                    Command::new(fle_bin())
                        .args(["encrypt", "--provider", PROVIDER, "--key-name", KEY_NAME])
                        .args([
                            "--suite",
                            &format!("{:04x}", suite.id()),
                            "--frame-length",
                            frame_length,
                        ])
                        .arg("--public-key")
                        .arg(&public_path),
                    p,
                );
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                messages.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
                expected.push(p.to_vec());
            }
        }
    }
    let answer = esdk_oracle(
        "decrypt",
        &json!({"private_key": private, "provider": PROVIDER, "key_name": KEY_NAME, "messages_b64": messages}),
    );
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (i, (r, p)) in results.iter().zip(&expected).enumerate() {
        assert_eq!(r["ok"], true, "message {i}: {r}");
        assert_eq!(
            unb64(r["plaintext_b64"].as_str().unwrap()),
            *p,
            "message {i}"
        );
    }
}

#[test]
fn cloudfront_form_emulation_decrypts_in_the_python_esdk_and_tampering_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (private, public) = rsa_pem_pair();
    let public_path = write_file(dir, "pub.pem", public.as_bytes());
    let out = run_with_stdin(
        Command::new(fle_bin())
            .args([
                "encrypt",
                "--provider",
                PROVIDER,
                "--key-name",
                KEY_NAME,
                "--form",
                "--fields",
                "card_*,ssn",
            ])
            .arg("--public-key")
            .arg(&public_path),
        b"name=J+Doe&card_number=4111+1111&card_cvc=123&ssn=078-05-1120",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = String::from_utf8(out.stdout).unwrap();
    let mut messages = Vec::new();
    for pair in body.split('&') {
        let (name, value) = pair.split_once('=').unwrap();
        if name == "name" {
            assert_eq!(value, "J+Doe");
            continue;
        }
        // CloudFront's values are base64 with + / = percent-encoded.
        let decoded = value
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        messages.push(decoded);
    }
    assert_eq!(messages.len(), 3);
    // The oracle must also refuse a tampered message, or agreeing with it proves nothing.
    let mut tampered = unb64(&messages[0]);
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    messages.push(b64(&tampered));
    let answer = esdk_oracle(
        "decrypt",
        &json!({"private_key": private, "provider": PROVIDER, "key_name": KEY_NAME, "messages_b64": messages}),
    );
    let results = answer["results"].as_array().unwrap();
    let plain: Vec<Vec<u8>> = results[..3]
        .iter()
        .map(|r| unb64(r["plaintext_b64"].as_str().unwrap()))
        .collect();
    assert_eq!(
        plain,
        [
            b"4111 1111".to_vec(),
            b"123".to_vec(),
            b"078-05-1120".to_vec()
        ]
    );
    assert_eq!(
        results[3]["ok"], false,
        "the Python ESDK accepted a tampered message"
    );
}
