//! JSON field-level encryption (fle_decrypt::json) against the AWS Encryption SDK for Python:
//! every value a selector picks, of every JSON type and through every selector shape, becomes
//! a message the Python ESDK decrypts to that value's serialized form; and fle-decrypt puts the
//! document back as it was. Refusals name the concrete path.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use fle_decrypt::encrypt::{Encryptor, PublicKey};
use fle_decrypt::json::{decrypt_json, encrypt_json, JsonSelectors};
use fle_decrypt::{Error, Keyring, Padding, PrivateKey};
use fle_tests::*;
use serde_json::{json, Value};

const PROVIDER: &str = "spa-provider";
const KEY_NAME: &str = "spa-key-2026-12";

fn document() -> Value {
    json!({
        "card": {"number": "4111111111111111", "cvc": 123, "expiry": {"month": 12, "year": 2030}},
        "payments": [
            {"iban": "DE89370400440532013000", "amount": 10.5},
            {"iban": null, "amount": 0},
            {"amount": 3}
        ],
        "flags": {"vip": true, "newsletter": false},
        "notes": ["first", "second", "third"],
        // A planted lookalike of the placeholder that stands for the first plaintext, placed
        // before it in the serialized document: with a guessable tag the card number would
        // land here.
        "aaa": "\u{1}fle:planted:0\u{1}",
        "a/b": {"~c": "escaped name"},
        "name": "Ada",
        "unicode": "Grüße 🌍"
    })
}

/// Selector shapes: nested name, a member that is an object, wildcard over an array of
/// objects (a null, and an element without the member), wildcard over object members, an
/// array index, escaped names, top-level string.
const SELECTORS: &str =
    "/card/number,/card/cvc,/card/expiry,/payments/*/iban,/flags/*,/notes/0,/a~1b/~0c,/unicode";

fn keys() -> (Keyring, Encryptor, String) {
    let (private, public) = rsa_pem_pair();
    let mut ring = Keyring::new();
    ring.add(
        PROVIDER,
        KEY_NAME,
        PrivateKey::from_pem(private.as_bytes()).unwrap(),
        Padding::OaepSha256,
    )
    .unwrap();
    let enc = Encryptor::new(
        PublicKey::from_pem(public.as_bytes()).unwrap(),
        PROVIDER,
        KEY_NAME,
    )
    .unwrap();
    (ring, enc, private)
}

/// The concrete paths the selectors pick in `document()`.
const PICKED: [&str; 10] = [
    "/card/number",
    "/card/cvc",
    "/card/expiry",
    "/payments/0/iban",
    "/payments/1/iban",
    "/flags/newsletter",
    "/flags/vip",
    "/notes/0",
    "/a~1b/~0c",
    "/unicode",
];

#[test]
fn every_picked_value_decrypts_in_the_python_esdk_and_the_document_comes_back() {
    let (ring, enc, private) = keys();
    let original = document();
    let selectors = JsonSelectors::parse(SELECTORS).unwrap();
    let encrypted =
        encrypt_json(&enc, &serde_json::to_vec(&original).unwrap(), &selectors).unwrap();
    let encrypted: Value = serde_json::from_slice(&encrypted).unwrap();

    let mut messages = Vec::new();
    let mut expected = Vec::new();
    for path in PICKED {
        let message = encrypted
            .pointer(path)
            .unwrap_or_else(|| panic!("{path} gone"));
        messages.push(
            message
                .as_str()
                .unwrap_or_else(|| panic!("{path} not a string"))
                .to_owned(),
        );
        expected.push(serde_json::to_vec(original.pointer(path).unwrap()).unwrap());
    }
    // Nothing else changed, and no picked plaintext is left.
    for path in [
        "/name",
        "/payments/0/amount",
        "/payments/2",
        "/notes/1",
        "/notes/2",
        "/aaa",
    ] {
        assert_eq!(encrypted.pointer(path), original.pointer(path), "{path}");
    }
    let text = encrypted.to_string();
    for secret in ["4111111111111111", "DE89370400440532013000", "Grüße"] {
        assert!(!text.contains(secret), "{secret} left in clear");
    }

    let answer = esdk_oracle(
        "decrypt",
        &json!({"private_key": private, "provider": PROVIDER, "key_name": KEY_NAME, "messages_b64": messages}),
    );
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), PICKED.len());
    for ((r, want), path) in results.iter().zip(&expected).zip(PICKED) {
        assert_eq!(r["ok"], true, "{path}: {r}");
        let got = base64::engine::general_purpose::STANDARD
            .decode(r["plaintext_b64"].as_str().unwrap())
            .unwrap();
        assert_eq!(&got, want, "{path}");
    }

    let back = decrypt_json(&ring, &serde_json::to_vec(&encrypted).unwrap(), &selectors).unwrap();
    let paths: Vec<&str> = back.decrypted().map(|(p, _)| p).collect();
    assert_eq!(paths, PICKED);
    assert_eq!(back.get("/card/cvc").unwrap().expose(), b"123");
    let doc: Value = serde_json::from_slice(back.to_body().expose()).unwrap();
    assert_eq!(
        doc, original,
        "the planted placeholder-lookalike must not move a plaintext"
    );
}

#[test]
fn refusals_name_the_path_and_never_the_value() {
    let (ring, enc, _) = keys();
    let selectors = JsonSelectors::parse("/card/number,/payments/*/iban").unwrap();
    let body = serde_json::to_vec(&document()).unwrap();
    let encrypted = encrypt_json(&enc, &body, &selectors).unwrap();

    // A picked value that is plaintext (the edge did not encrypt): refused by path.
    let e = decrypt_json(&ring, &body, &selectors).unwrap_err();
    assert_eq!(e, Error::NotEncrypted("/card/number".into()));
    assert!(!e.to_string().contains("4111"), "{e}");

    // A tampered message: refused at its path, as a decryption failure.
    let mut doc: Value = serde_json::from_slice(&encrypted).unwrap();
    let msg = doc
        .pointer("/payments/0/iban")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(&msg)
        .unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    *doc.pointer_mut("/payments/0/iban").unwrap() =
        Value::String(base64::engine::general_purpose::STANDARD.encode(raw));
    let e = decrypt_json(&ring, &serde_json::to_vec(&doc).unwrap(), &selectors).unwrap_err();
    match e {
        Error::Field { field, source } => {
            assert_eq!(field, "/payments/0/iban");
            assert_eq!(*source, Error::DecryptionFailed);
        }
        other => panic!("{other:?}"),
    }

    // A keyring without the key: no matching key; the same name with another key: failure.
    let (private, _) = rsa_pem_pair();
    let mut other = Keyring::new();
    other
        .add(
            PROVIDER,
            "another-key",
            PrivateKey::from_pem(private.as_bytes()).unwrap(),
            Padding::OaepSha256,
        )
        .unwrap();
    let e = decrypt_json(&other, &encrypted, &selectors).unwrap_err();
    assert_eq!(*e.root(), Error::NoMatchingKey);
    let (same_name, _, _) = keys();
    let e = decrypt_json(&same_name, &encrypted, &selectors).unwrap_err();
    assert_eq!(*e.root(), Error::DecryptionFailed);

    // Not JSON at all.
    assert!(matches!(
        decrypt_json(&ring, b"card=4111", &selectors),
        Err(Error::InvalidJson(_))
    ));
    assert!(matches!(
        encrypt_json(&enc, b"{\"card\":", &selectors),
        Err(Error::InvalidJson(_))
    ));
}

/// A body that picks more values than a form may hold is refused before any RSA work, as a
/// form with too many encrypted fields is.
#[test]
fn too_many_picked_values_are_refused_before_any_decryption() {
    let (ring, enc, _) = keys();
    let selectors = JsonSelectors::parse("/items/*").unwrap();
    let items: Vec<Value> = (0..33).map(|i| json!(i)).collect();
    let body = serde_json::to_vec(&json!({ "items": items })).unwrap();
    let encrypted = encrypt_json(&enc, &body, &selectors).unwrap();
    assert_eq!(
        decrypt_json(&ring, &encrypted, &selectors).unwrap_err(),
        Error::LimitExceeded("number of encrypted values in a JSON body")
    );
    let few = serde_json::to_vec(&json!({ "items": [1, 2, 3] })).unwrap();
    let encrypted = encrypt_json(&enc, &few, &selectors).unwrap();
    assert!(decrypt_json(&ring, &encrypted, &selectors).is_ok());
}
