//! What one CloudFront field costs to decrypt, next to the floor: the two public-key operations
//! no implementation can skip (RSA-OAEP-2048 unwrap + ECDSA P-384 verify), measured in the same
//! run. Also writes the messages to target/bench-fixtures/ so that
//! `benches/python_esdk.py` times the Python ESDK on exactly the same bytes.
//!
//! Run: cargo bench -p fle-decrypt --features encrypt --bench decrypt

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::encoding::{
    AsBigEndian, AsDer, EcPublicKeyCompressedBin, Pkcs8V1Der, PublicKeyX509Der,
};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fle_decrypt::encrypt::{encrypt_form, Encryptor, PublicKey};
use fle_decrypt::form::{decrypt_form, FieldPatterns};
use fle_decrypt::{Keyring, Padding, PrivateKey};
use std::hint::black_box;

const PROVIDER: &str = "bench-provider";
const KEY_NAME: &str = "bench-key";

fn bench(c: &mut Criterion) {
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&key).unwrap().as_ref().to_vec();
    let spki = AsDer::<PublicKeyX509Der>::as_der(&key.public_key())
        .unwrap()
        .as_ref()
        .to_vec();

    let mut keyring = Keyring::new();
    keyring
        .add(
            PROVIDER,
            KEY_NAME,
            PrivateKey::from_der(&pkcs8).unwrap(),
            Padding::OaepSha256,
        )
        .unwrap();
    let encryptor =
        Encryptor::new(PublicKey::from_der(&spki).unwrap(), PROVIDER, KEY_NAME).unwrap();
    let message = encryptor.encrypt(b"4111111111111111").unwrap();
    assert_eq!(
        keyring.decrypt(&message).unwrap().plaintext().expose(),
        b"4111111111111111"
    );

    let names: Vec<String> = (0..10).map(|i| format!("field{i}")).collect();
    let body: String = names
        .iter()
        .map(|n| format!("{n}=4111111111111111"))
        .collect::<Vec<_>>()
        .join("&");
    let patterns = FieldPatterns::parse("field*").unwrap();
    let form = encrypt_form(&encryptor, body.as_bytes(), &patterns).unwrap();
    write_fixtures(&pkcs8, &message, &form);

    // The floor, part 1: one RSA-OAEP-2048 unwrap of a 32-byte data key.
    let oaep =
        OaepPrivateDecryptingKey::new(PrivateDecryptingKey::from_pkcs8(&pkcs8).unwrap()).unwrap();
    let public = OaepPublicEncryptingKey::new(key.public_key()).unwrap();
    let mut wrapped = vec![0u8; public.ciphertext_size()];
    public
        .encrypt(&OAEP_SHA256_MGF1SHA256, &[7; 32], &mut wrapped, None)
        .unwrap();
    // Part 2: one ECDSA P-384 verification from a compressed point, over as many bytes as the
    // message signs.
    let signer =
        signature::EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
    let point: EcPublicKeyCompressedBin = signer.public_key().as_be_bytes().unwrap();
    let point = point.as_ref().to_vec();
    let signed = &message[..message.len() - 105];
    let sig = signer.sign(&SystemRandom::new(), signed).unwrap();

    let mut g = c.benchmark_group("fle");
    g.bench_function("floor: rsa-oaep-2048 unwrap", |b| {
        let mut out = [0u8; 256];
        b.iter(|| {
            let n = oaep
                .decrypt(&OAEP_SHA256_MGF1SHA256, black_box(&wrapped), &mut out, None)
                .unwrap()
                .len();
            black_box(n)
        })
    });
    g.bench_function("floor: ecdsa-p384 verify", |b| {
        b.iter(|| {
            signature::UnparsedPublicKey::new(
                &signature::ECDSA_P384_SHA384_ASN1,
                black_box(&point[..]),
            )
            .verify(black_box(signed), sig.as_ref())
            .unwrap()
        })
    });
    g.bench_function("floor: unwrap + verify", |b| {
        let mut out = [0u8; 256];
        b.iter(|| {
            oaep.decrypt(&OAEP_SHA256_MGF1SHA256, black_box(&wrapped), &mut out, None)
                .unwrap();
            signature::UnparsedPublicKey::new(
                &signature::ECDSA_P384_SHA384_ASN1,
                black_box(&point[..]),
            )
            .verify(black_box(signed), sig.as_ref())
            .unwrap()
        })
    });
    g.bench_function("one field (0378, 16-byte value)", |b| {
        b.iter(|| black_box(keyring.decrypt(black_box(&message)).unwrap()))
    });
    g.bench_function("form with 10 fields", |b| {
        b.iter_batched(
            || (),
            |()| {
                black_box(
                    decrypt_form(&keyring, black_box(&form), &patterns)
                        .unwrap()
                        .to_body(),
                )
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn write_fixtures(pkcs8: &[u8], message: &[u8], form: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64.encode(pkcs8)
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    std::fs::write(dir.join("private.pem"), pem).unwrap();
    std::fs::write(dir.join("message.b64"), b64.encode(message)).unwrap();
    std::fs::write(dir.join("form.txt"), form).unwrap();
    std::fs::write(dir.join("names.txt"), format!("{PROVIDER}\n{KEY_NAME}\n")).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
