//! Keys made by `fle keys generate|rotate` against an implementation nobody here wrote: the
//! Python AWS Encryption SDK (tests/oracle/esdk_oracle.py) encrypts with the exported public keys
//! as CloudFront would, and decrypts with the stored private keys. Needs FLE_TEST_PYTHON
//! (scripts/test.sh sets it); without it this test FAILS, it is never skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::{encrypt_for, Store};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn oracle(command: &str, request: &Value) -> Value {
    let python = std::env::var("FLE_TEST_PYTHON")
        .unwrap_or_else(|_| panic!("FLE_TEST_PYTHON is not set: run scripts/test.sh, which installs the Python ESDK oracle"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/oracle/esdk_oracle.py"
    );
    let mut child = Command::new(python)
        .args([script, command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "oracle {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn private_pem(s: &Store, provider: &str, key_name: &str) -> String {
    s.keyring(provider)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyName"] == key_name)
        .map(|k| k["privateKeyPem"].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn python_esdk_agrees_with_generated_and_rotated_keys() {
    let s = Store::with_profile();
    s.ok(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
    ]);
    let ring = s.decryptor("prov");
    for key in ["k1", "k2"] {
        // The ESDK encrypts with the exported public key, CloudFront's way (suite 0x0378, framed).
        let exported = s.ok(&["keys", "export-public", key]);
        let enc = oracle(
            "encrypt",
            &json!({"public_key": exported, "provider": "prov", "key_name": key,
                    "cases": [{"suite": 0x0378, "frame_length": 4096, "plaintext_b64": B64.encode(format!("card for {key}"))}]}),
        );
        let msg = B64
            .decode(enc["messages_b64"][0].as_str().unwrap())
            .unwrap();
        let d = ring.decrypt(&msg).unwrap();
        assert_eq!(d.plaintext().expose(), format!("card for {key}").as_bytes());
        assert_eq!(d.key_name(), key);

        // The ESDK decrypts, with the stored private key, what fle_decrypt::encrypt made.
        let ours = encrypt_for(&s, "prov", key, b"from fle");
        let dec = oracle(
            "decrypt",
            &json!({"private_key": private_pem(&s, "prov", key), "provider": "prov", "key_name": key,
                    "messages_b64": [B64.encode(&ours)]}),
        );
        assert_eq!(dec["results"][0]["ok"], true, "{dec}");
        assert_eq!(dec["results"][0]["plaintext_b64"], B64.encode(b"from fle"));
    }
    // And the other key's private half does not open it: the pairs are really distinct.
    let ours = encrypt_for(&s, "prov", "k2", b"x");
    let dec = oracle(
        "decrypt",
        &json!({"private_key": private_pem(&s, "prov", "k1"), "provider": "prov", "key_name": "k2", "messages_b64": [B64.encode(&ours)]}),
    );
    assert_eq!(dec["results"][0]["ok"], false, "{dec}");
}
