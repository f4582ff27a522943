//! Every way a message can be wrong, each mapped to its error class. No `Ok` may come out of
//! any of them: an `Err` is the only way a caller is told "no plaintext".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use fle_decrypt::{Error, Keyring, Limits, Padding, PrivateKey, Suite};
use std::collections::BTreeMap;

fn class(e: &Error) -> &'static str {
    match e {
        Error::Malformed(_) => "malformed",
        Error::UnsupportedSuite(_) => "unsupported suite",
        Error::NoMatchingKey => "no matching key",
        Error::DecryptionFailed => "decryption failed",
        Error::LimitExceeded(_) => "limit exceeded",
        _ => "other",
    }
}

/// Byte ranges of a v1 message with one EDK and a 103-byte signature, as (name, start, end).
fn layout(msg: &[u8]) -> Vec<(&'static str, usize, usize)> {
    let be16 = |i: usize| usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
    let mut regions = vec![("version+type+suite", 0, 4), ("message id", 4, 20)];
    let ec_len = be16(20);
    regions.push(("encryption context", 20, 22 + ec_len));
    let mut i = 22 + ec_len + 2;
    let pid = be16(i);
    let pinfo = be16(i + 2 + pid);
    let edk_start = i + 2 + pid + 2 + pinfo;
    let wrapped = be16(edk_start);
    regions.push(("edk names", 22 + ec_len, edk_start + 2));
    regions.push(("wrapped data key", edk_start + 2, edk_start + 2 + wrapped));
    i = edk_start + 2 + wrapped;
    regions.push(("content type..frame length", i, i + 10));
    regions.push(("header iv+tag", i + 10, i + 38));
    let body_start = i + 38;
    // The caller fixed the footer at 2 + 103 bytes.
    let footer_start = msg.len() - 105;
    regions.push(("body", body_start, footer_start));
    regions.push(("footer", footer_start, msg.len()));
    regions
}

#[test]
fn every_single_bit_flip_of_a_0378_message_is_rejected() {
    let keyring = keyring();
    // A 16-byte value, as a card number field.
    let msg = loop {
        // The ESDK footer signature of P-384 is 102 or 103 bytes of DER; fix it at 103 so the
        // layout below is known.
        let m = encryptor().encrypt(b"4111111111111111").unwrap();
        let n = m.len();
        if u16::from_be_bytes([m[n - 105], m[n - 104]]) == 103 {
            break m;
        }
    };
    assert_eq!(
        keyring.decrypt(&msg).unwrap().plaintext().expose(),
        b"4111111111111111"
    );
    let regions = layout(&msg);
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut flipped = msg.clone();
    for bit in 0..msg.len() * 8 {
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        flipped[byte] ^= mask;
        let result = keyring.decrypt(&flipped);
        flipped[byte] ^= mask;
        let err = match result {
            Ok(_) => panic!("bit {bit} (byte {byte}) flipped and the message still decrypted"),
            Err(e) => e,
        };
        let region = regions
            .iter()
            .find(|(_, s, e)| (*s..*e).contains(&byte))
            .unwrap()
            .0;
        *seen.entry((region, class(&err))).or_default() += 1;
        // Flips in bytes that only cryptography guards must fail as cryptography, and nothing
        // else: anything more specific would be an oracle.
        if matches!(region, "wrapped data key" | "header iv+tag" | "message id") {
            assert_eq!(err, Error::DecryptionFailed, "bit {bit} in {region}");
        }
    }
    let total: usize = seen.values().sum();
    assert_eq!(total, msg.len() * 8);
    // Each stage rejected something: the map shows which check caught what.
    for stage in [
        "malformed",
        "unsupported suite",
        "no matching key",
        "decryption failed",
    ] {
        assert!(
            seen.keys().any(|(_, c)| *c == stage),
            "no flip was caught as {stage}: {seen:?}"
        );
    }
}

#[test]
fn truncation_at_every_length_is_malformed() {
    let keyring = keyring();
    for suite in [
        Suite::Aes256HkdfSha384EcdsaP384,
        Suite::Aes256HkdfSha512Commit,
    ] {
        for frame_length in [0, 8] {
            let msg = encryptor()
                .suite(suite)
                .frame_length(frame_length)
                .encrypt(b"0123456789abcdefXYZ")
                .unwrap();
            for len in 0..msg.len() {
                match keyring.decrypt(&msg[..len]) {
                    Err(Error::Malformed(_)) => {}
                    other => panic!("{suite:?}/{frame_length}: truncated to {len}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn trailing_bytes_after_the_footer_are_malformed() {
    let keyring = keyring();
    for suite in Suite::ALL {
        let mut msg = encryptor().suite(suite).encrypt(b"v").unwrap();
        msg.push(0);
        assert_eq!(
            keyring.decrypt(&msg).unwrap_err(),
            Error::Malformed("end of message (trailing bytes)"),
            "{suite:?}"
        );
    }
}

#[test]
fn unknown_and_mismatched_suites() {
    let keyring = keyring();
    let mut msg = encryptor().encrypt(b"v").unwrap();
    msg[2..4].copy_from_slice(&0x0379u16.to_be_bytes());
    assert_eq!(
        keyring.decrypt(&msg).unwrap_err(),
        Error::UnsupportedSuite(0x0379)
    );
    // A v2 suite in a v1 header.
    msg[2..4].copy_from_slice(&0x0478u16.to_be_bytes());
    assert!(matches!(
        keyring.decrypt(&msg).unwrap_err(),
        Error::Malformed(_)
    ));
    assert_eq!(
        Error::UnsupportedSuite(0x0379).to_string(),
        "unsupported algorithm suite 0x0379"
    );
}

#[test]
fn wrong_key_name_provider_or_key() {
    let msg = encryptor().encrypt(b"v").unwrap();
    let pk = || PrivateKey::from_der(&key_pair().0).unwrap();
    let mut k = Keyring::new();
    k.add(PROVIDER, "another-name", pk(), Padding::OaepSha256)
        .unwrap();
    assert_eq!(k.decrypt(&msg).unwrap_err(), Error::NoMatchingKey);
    let mut k = Keyring::new();
    k.add("another-provider", KEY_NAME, pk(), Padding::OaepSha256)
        .unwrap();
    assert_eq!(k.decrypt(&msg).unwrap_err(), Error::NoMatchingKey);
    assert_eq!(
        Keyring::new().decrypt(&msg).unwrap_err(),
        Error::NoMatchingKey
    );
    // Right name, wrong private key: the unwrap fails, which is cryptography.
    let mut k = Keyring::new();
    k.add(
        PROVIDER,
        KEY_NAME,
        PrivateKey::from_der(&other_key_pair().0).unwrap(),
        Padding::OaepSha256,
    )
    .unwrap();
    assert_eq!(k.decrypt(&msg).unwrap_err(), Error::DecryptionFailed);
}

/// Rewrites the single EDK of a v1 message into `n` copies (the header tag no longer matches,
/// but limits are checked while parsing, before any key is used).
fn with_edk_copies(msg: &[u8], n: u16) -> Vec<u8> {
    let be16 = |i: usize| usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
    let count_at = 22 + be16(20);
    let start = count_at + 2;
    let mut end = start;
    for _ in 0..3 {
        end += 2 + be16(end);
    }
    let mut out = msg[..count_at].to_vec();
    out.extend_from_slice(&n.to_be_bytes());
    for _ in 0..n {
        out.extend_from_slice(&msg[start..end]);
    }
    out.extend_from_slice(&msg[end..]);
    out
}

#[test]
fn edk_count_over_the_cap_is_a_limit() {
    let keyring = keyring();
    let msg = encryptor().encrypt(b"v").unwrap();
    assert_eq!(with_edk_copies(&msg, 1), msg);
    let default_cap = Limits::default().max_encrypted_data_keys();
    // CloudFront writes one EDK; a producer wrapping for the old and the new key during a
    // rotation writes two. Anything more only multiplies RSA work.
    assert_eq!(default_cap, 2);
    assert_eq!(
        keyring.decrypt(&with_edk_copies(&msg, 3)).unwrap_err(),
        Error::LimitExceeded("number of encrypted data keys")
    );
    assert_eq!(
        keyring
            .decrypt(&with_edk_copies(&msg, default_cap + 1))
            .unwrap_err(),
        Error::LimitExceeded("number of encrypted data keys")
    );
    // At the cap the message parses, and the altered header fails authentication.
    assert_eq!(
        keyring
            .decrypt(&with_edk_copies(&msg, default_cap))
            .unwrap_err(),
        Error::DecryptionFailed
    );
    let strict = self::keyring().with_limits(Limits::default().with_max_encrypted_data_keys(1));
    assert_eq!(
        strict.decrypt(&with_edk_copies(&msg, 2)).unwrap_err(),
        Error::LimitExceeded("number of encrypted data keys")
    );
    assert!(matches!(
        keyring.decrypt(&with_edk_copies(&msg, 0)).unwrap_err(),
        Error::Malformed(_)
    ));
}

#[test]
fn plaintext_and_context_caps() {
    let small = keyring().with_limits(Limits::default().with_max_plaintext_len(10));
    for frame_length in [0, 4, 4096] {
        let msg = encryptor()
            .frame_length(frame_length)
            .encrypt(&[7; 11])
            .unwrap();
        assert_eq!(
            small.decrypt(&msg).unwrap_err(),
            Error::LimitExceeded("plaintext size")
        );
        let msg = encryptor()
            .frame_length(frame_length)
            .encrypt(&[7; 10])
            .unwrap();
        assert_eq!(small.decrypt(&msg).unwrap().plaintext().len(), 10);
    }
    let big_value = "x".repeat(9000);
    let msg = encryptor()
        .encryption_context(&[("k", &big_value)])
        .encrypt(b"v")
        .unwrap();
    assert_eq!(
        keyring().decrypt(&msg).unwrap_err(),
        Error::LimitExceeded("encryption context size")
    );
    let roomy = keyring().with_limits(Limits::default().with_max_encryption_context_len(10_000));
    assert_eq!(roomy.decrypt(&msg).unwrap().plaintext().expose(), b"v");
}

#[test]
fn frames_out_of_order_are_malformed() {
    let keyring = keyring();
    // Unsigned suite, 4-byte frames: frame = seq(4) iv(12) content(4) tag(16) = 36 bytes.
    let msg = encryptor()
        .suite(Suite::Aes256HkdfSha256)
        .frame_length(4)
        .encrypt(b"aaaabbbbcc")
        .unwrap();
    let final_len = 4 + 4 + 12 + 4 + 2 + 16;
    let body_start = msg.len() - final_len - 2 * 36;
    let mut swapped = msg[..body_start].to_vec();
    swapped.extend_from_slice(&msg[body_start + 36..body_start + 72]);
    swapped.extend_from_slice(&msg[body_start..body_start + 36]);
    swapped.extend_from_slice(&msg[body_start + 72..]);
    assert_eq!(
        keyring.decrypt(&swapped).unwrap_err(),
        Error::Malformed("frame sequence number")
    );
    // Dropping a middle frame is caught the same way.
    let mut dropped = msg[..body_start].to_vec();
    dropped.extend_from_slice(&msg[body_start + 36..]);
    assert_eq!(
        keyring.decrypt(&dropped).unwrap_err(),
        Error::Malformed("frame sequence number")
    );
    // And dropping the final frame leaves a message with no end.
    assert!(matches!(
        keyring.decrypt(&msg[..msg.len() - final_len]).unwrap_err(),
        Error::Malformed(_)
    ));
}

#[test]
fn v2_commitment_mismatch_is_cryptographic() {
    let keyring = keyring();
    for suite in [
        Suite::Aes256HkdfSha512Commit,
        Suite::Aes256HkdfSha512CommitEcdsaP384,
    ] {
        let msg = encryptor().suite(suite).encrypt(b"v").unwrap();
        // v2 header ends: content type(1) frame length(4) commitment(32) tag(16).
        let be16 = |i: usize| usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
        let mut i = 35 + 2 + be16(35) + 2;
        for _ in 0..3 {
            i += 2 + be16(i);
        }
        let commitment = i + 5;
        for byte in commitment..commitment + 32 {
            let mut bad = msg.clone();
            bad[byte] ^= 0x80;
            assert_eq!(
                keyring.decrypt(&bad).unwrap_err(),
                Error::DecryptionFailed,
                "{suite:?} byte {byte}"
            );
        }
    }
}

#[test]
fn crypto_errors_say_nothing_more() {
    assert_eq!(Error::DecryptionFailed.to_string(), "decryption failed");
    assert_eq!(
        Error::NoMatchingKey.to_string(),
        "no encrypted data key matches a key in the keyring"
    );
}

/// A form of `fields` encrypted fields `card_0..`, each a message with `edks` copies of its EDK.
fn form_of(fields: usize, edks: u16) -> Vec<u8> {
    use base64::Engine as _;
    let mut body = Vec::new();
    for i in 0..fields {
        let msg = with_edk_copies(&encryptor().encrypt(b"4111").unwrap(), edks);
        let b64 = base64::engine::general_purpose::STANDARD.encode(msg);
        if i > 0 {
            body.push(b'&');
        }
        body.extend_from_slice(format!("card_{i}=").as_bytes());
        body.extend_from_slice(b64.replace('+', "%2B").replace('/', "%2F").as_bytes());
    }
    body
}

#[test]
fn rsa_operations_per_form_are_capped_before_any_is_done() {
    use fle_decrypt::form::{decrypt_form, FieldPatterns};
    let patterns = FieldPatterns::parse("card_*").unwrap();
    let strict = || keyring().with_limits(Limits::default().with_max_rsa_operations_per_form(2));
    assert_eq!(Limits::default().max_rsa_operations_per_form(), 32);
    let rsa_cap = Error::LimitExceeded("number of RSA operations in a form");

    // Within the cap every field decrypts.
    let body = form_of(2, 1);
    let form = decrypt_form(&strict(), &body, &patterns).unwrap();
    assert_eq!(form.decrypted().count(), 2);
    // One field too many.
    assert_eq!(
        decrypt_form(&strict(), &form_of(3, 1), &patterns).unwrap_err(),
        rsa_cap
    );
    // One field whose message carries two EDKs for the key counts twice. It would fail its
    // header tag (the copies were added after encryption), but the cap refuses it first.
    assert_eq!(
        decrypt_form(&strict(), &form_of(2, 2), &patterns).unwrap_err(),
        rsa_cap
    );
    assert_eq!(
        decrypt_form(&strict(), &form_of(1, 2), &patterns)
            .unwrap_err()
            .root(),
        &Error::DecryptionFailed
    );
    // An EDK for another key costs nothing: it is never unwrapped.
    let other = {
        let mut k =
            Keyring::new().with_limits(Limits::default().with_max_rsa_operations_per_form(0));
        k.add(
            PROVIDER,
            "another-name",
            PrivateKey::from_der(&key_pair().0).unwrap(),
            Padding::OaepSha256,
        )
        .unwrap();
        k
    };
    assert_eq!(
        decrypt_form(&other, &form_of(3, 1), &patterns)
            .unwrap_err()
            .root(),
        &Error::NoMatchingKey
    );
    // With the defaults, 17 fields of two EDKs each (34 RSA operations) are refused although
    // the 32-field cap would let 17 fields through.
    assert_eq!(
        decrypt_form(&keyring(), &form_of(17, 2), &patterns).unwrap_err(),
        rsa_cap
    );
}
