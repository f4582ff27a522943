//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use fle_decrypt::encrypt::{Encryptor, PublicKey};
use fle_decrypt::{Keyring, Padding, PrivateKey};
use std::sync::OnceLock;

pub const PROVIDER: &str = "checkout-provider";
pub const KEY_NAME: &str = "checkout-key-1";

/// (PKCS#8 DER private key, SPKI DER public key) of a fresh RSA key.
pub fn generate(size: KeySize) -> (Vec<u8>, Vec<u8>) {
    let key = PrivateDecryptingKey::generate(size).unwrap();
    let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key)
        .unwrap()
        .as_ref()
        .to_vec();
    let public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&key.public_key())
        .unwrap()
        .as_ref()
        .to_vec();
    (private, public)
}

/// One RSA-2048 key pair per test binary (generation is slow in debug builds).
pub fn key_pair() -> &'static (Vec<u8>, Vec<u8>) {
    static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAIR.get_or_init(|| generate(KeySize::Rsa2048))
}

/// A second, unrelated key pair.
pub fn other_key_pair() -> &'static (Vec<u8>, Vec<u8>) {
    static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAIR.get_or_init(|| generate(KeySize::Rsa2048))
}

pub fn keyring() -> Keyring {
    let mut k = Keyring::new();
    k.add(
        PROVIDER,
        KEY_NAME,
        PrivateKey::from_der(&key_pair().0).unwrap(),
        Padding::OaepSha256,
    )
    .unwrap();
    k
}

pub fn encryptor() -> Encryptor {
    Encryptor::new(
        PublicKey::from_der(&key_pair().1).unwrap(),
        PROVIDER,
        KEY_NAME,
    )
    .unwrap()
}

pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
