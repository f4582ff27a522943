//! The fuzz targets' seed corpora stay meaningful, so the fuzzer starts from deep inside each
//! parser:
//! - `parse_message/*.bin` are structurally valid messages, and none of their prefixes parse;
//! - `decrypt_form/*.form` (`patterns\nbody`) are CloudFront-encrypted forms whose every
//!   matching field parses as far as the key lookup, or plain forms that pass through or are
//!   refused as not encrypted;
//! - `parse_keyring_document/*.json` are valid keyring documents (with fake PEMs).
//!
//! Whatever else a fuzzing run added must at least not panic. The `.form` and `.json` seeds are
//! written by `write_seed_corpora` (ignored; run it with `--ignored` to regenerate them).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use fle_decrypt::document::{
    Claim, KeyEntry, KeyStatus, KeyringDocument, PrivateKeyPem, RotationNote,
};
use fle_decrypt::encrypt::encrypt_form;
use fle_decrypt::form::{decrypt_form, FieldPatterns};
use fle_decrypt::{Error, Keyring, Suite};
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// (path, bytes) of every file in a corpus, seeds (with `ext`) first flagged true.
fn files(target: &str, ext: &str) -> Vec<(PathBuf, Vec<u8>, bool)> {
    let mut out: Vec<_> = std::fs::read_dir(corpus(target))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let seed = path.extension().is_some_and(|e| e == ext);
            (path, data, seed)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn seed_corpus_parses_and_its_prefixes_do_not() {
    let mut seeds = 0;
    for (path, data, seed) in files("parse_message", "bin") {
        if !seed {
            let _ = fle_decrypt::fuzzing::parse_message(&data);
            continue;
        }
        assert!(
            fle_decrypt::fuzzing::parse_message(&data),
            "{} does not parse",
            path.display()
        );
        for len in 0..data.len() {
            assert!(
                !fle_decrypt::fuzzing::parse_message(&data[..len]),
                "{} prefix {len}",
                path.display()
            );
        }
        seeds += 1;
    }
    assert!(seeds >= 20, "only {seeds} parse_message seeds");
}

#[test]
fn form_seeds_reach_the_key_lookup_or_pass_through() {
    let (mut encrypted, mut plain) = (0, 0);
    for (path, data, seed) in files("decrypt_form", "form") {
        assert!(
            fle_decrypt::fuzzing::decrypt_form(&data),
            "{}",
            path.display()
        );
        if !seed {
            continue;
        }
        let newline = data.iter().position(|b| *b == b'\n').unwrap();
        let patterns =
            FieldPatterns::parse(std::str::from_utf8(&data[..newline]).unwrap()).unwrap();
        let body = &data[newline + 1..];
        let outcome = decrypt_form(&Keyring::new(), body, &patterns).map(|f| f.to_body());
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.starts_with("encrypted-") {
            // Every matching field decoded and parsed; only the key was missing.
            assert_eq!(outcome.unwrap_err().root(), &Error::NoMatchingKey, "{name}");
            encrypted += 1;
        } else {
            match outcome {
                Ok(rebuilt) => assert_eq!(rebuilt.expose(), body, "{name}"),
                Err(e) => assert!(matches!(e, Error::NotEncrypted(_)), "{name}: {e:?}"),
            }
            plain += 1;
        }
    }
    assert!(
        encrypted >= 6 && plain >= 2,
        "{encrypted} encrypted, {plain} plain form seeds"
    );
}

#[test]
fn keyring_document_seeds_parse() {
    let mut seeds = 0;
    for (path, data, seed) in files("parse_keyring_document", "json") {
        let parsed = fle_decrypt::fuzzing::parse_keyring_document(&data);
        if seed {
            assert!(parsed, "{} does not parse", path.display());
            seeds += 1;
        }
    }
    assert!(seeds >= 4, "only {seeds} keyring document seeds");
}

/// A PEM-shaped value that holds no key: seeds must not carry key material.
fn fake_pem(n: u8) -> PrivateKeyPem {
    let body = format!("{}", char::from(b'A' + n)).repeat(64);
    PrivateKeyPem::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{body}\n{body}\n-----END PRIVATE KEY-----\n"
    ))
}

fn entry(name: &str, status: KeyStatus, n: u8) -> KeyEntry {
    KeyEntry {
        key_name: name.to_owned(),
        status,
        retire_after: (status == KeyStatus::Previous).then(|| "2026-12-01T10:00:00Z".to_owned()),
        created: "2026-11-01T10:00:00Z".to_owned(),
        rotation: (status == KeyStatus::Pending).then(|| RotationNote {
            profile: "checkout-profile".to_owned(),
            replaces: "checkout-key-1".to_owned(),
        }),
        private_key_pem: fake_pem(n),
    }
}

#[test]
#[ignore = "writes the seed corpora; run with --ignored to regenerate them"]
fn write_seed_corpora() {
    // Forms: CloudFront-encrypted with a throwaway key (only its public half matters here).
    let dir = corpus("decrypt_form");
    std::fs::create_dir_all(&dir).unwrap();
    let patterns = "card_*,ssn";
    let p = FieldPatterns::parse(patterns).unwrap();
    let plain_forms: [(&str, &[u8]); 5] = [
        (
            "cloudfront",
            b"card_number=4111111111111111&name=Jane+Doe&ssn=123-45-6789",
        ),
        ("repeated", b"card_a=1&card_a=2&x=%41%2B&&ssn="),
        ("escaped-name", b"card%5Fnumber=4111&card+x=1&=&ssn"),
        ("passthrough", b"name=Jane+Doe&city=K%C3%B8benhavn&&flag"),
        ("empty", b""),
    ];
    for (name, body) in plain_forms {
        std::fs::write(
            dir.join(format!("plain-{name}.form")),
            [patterns.as_bytes(), b"\n", body].concat(),
        )
        .unwrap();
    }
    for (name, suite, frame_length, body) in [
        (
            "0378",
            Suite::Aes256HkdfSha384EcdsaP384,
            4096,
            &b"card_number=4111111111111111&name=Jane+Doe&ssn=123-45-6789"[..],
        ),
        (
            "0378-repeated",
            Suite::Aes256HkdfSha384EcdsaP384,
            4096,
            b"card_a=1&card_a=2&x=%41%2B&&ssn=",
        ),
        (
            "0578",
            Suite::Aes256HkdfSha512CommitEcdsaP384,
            4096,
            b"ssn=123-45-6789",
        ),
        (
            "0478-framed-4",
            Suite::Aes256HkdfSha512Commit,
            4,
            b"card_cvv=123&card_number=4111111111111111",
        ),
        (
            "0014-single-block",
            Suite::Aes128Gcm,
            0,
            b"name=x&card_number=4111111111111111",
        ),
        ("0178-empty-value", Suite::Aes256HkdfSha256, 4096, b"ssn="),
    ] {
        let encrypted = encrypt_form(
            &common::encryptor().suite(suite).frame_length(frame_length),
            body,
            &p,
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("encrypted-{name}.form")),
            [patterns.as_bytes(), b"\n", &encrypted].concat(),
        )
        .unwrap();
    }

    // Keyring documents, with PEM-shaped values that hold no key.
    let dir = corpus("parse_keyring_document");
    std::fs::create_dir_all(&dir).unwrap();
    let mut docs = vec![("empty", KeyringDocument::empty("checkout-provider"))];
    let mut one = KeyringDocument::empty("checkout-provider");
    one.keys
        .push(entry("checkout-key-1", KeyStatus::Current, 0));
    docs.push(("one-key", one.clone()));
    let mut rotating = one.clone();
    rotating
        .keys
        .push(entry("checkout-key-2", KeyStatus::Pending, 1));
    rotating.claims.push(Claim {
        profile: "checkout-profile".to_owned(),
        owner: "ci@example".to_owned(),
        expires: "2026-11-01T10:15:00Z".to_owned(),
    });
    docs.push(("rotating", rotating));
    let mut every = KeyringDocument::empty("acme:checkout_1");
    for (i, status) in KeyStatus::ALL.into_iter().enumerate() {
        every.keys.push(entry(
            &format!("key-{status}"),
            status,
            u8::try_from(i).unwrap(),
        ));
    }
    docs.push(("every-status", every));
    for (name, doc) in docs {
        std::fs::write(dir.join(format!("{name}.json")), &*doc.to_json_pretty()).unwrap();
    }
}
