//! No Bleichenbacher oracle through the keyring: with PKCS #1 v1.5, a message carrying
//! [probe EDK, valid EDK] for the same key must fail the same way whatever the probe is.
//! Before implicit rejection, a probe that failed to unwrap (random bytes) or unwrapped to the
//! wrong length (a conformant wrap of 31 bytes) was skipped and the valid EDK decrypted the
//! message, while a conformant wrap of 32 bytes was used and failed: the outcome told whether
//! the probe was validly padded with a key-sized payload.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::rand;
use aws_lc_rs::rsa::{
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use common::*;
use fle_decrypt::encrypt::{Encryptor, PublicKey};
use fle_decrypt::{Error, Keyring, Padding, PrivateKey, Suite};

const PLAINTEXT: &[u8] = b"4111111111111111";

fn keyring(padding: Padding) -> Keyring {
    let mut k = Keyring::new();
    k.add(
        PROVIDER,
        KEY_NAME,
        PrivateKey::from_der(&key_pair().0).unwrap(),
        padding,
    )
    .unwrap();
    k
}

/// A one-EDK message of suite 0x0078 (AES-256-GCM, the data key used directly, unsigned) and
/// its data key, recovered with the private key.
fn message(padding: Padding) -> (Vec<u8>, Vec<u8>) {
    let encryptor = Encryptor::with_padding(
        PublicKey::from_der(&key_pair().1).unwrap(),
        PROVIDER,
        KEY_NAME,
        padding,
    )
    .unwrap()
    .suite(Suite::Aes256Gcm);
    let msg = encryptor.encrypt(PLAINTEXT).unwrap();
    let wrapped = edk_region(&msg).2;
    let private = PrivateDecryptingKey::from_pkcs8(&key_pair().0).unwrap();
    let mut out = vec![0u8; 512];
    let data_key = match padding {
        Padding::Pkcs1 => Pkcs1PrivateDecryptingKey::new(private)
            .unwrap()
            .decrypt(wrapped, &mut out)
            .unwrap()
            .to_vec(),
        _ => OaepPrivateDecryptingKey::new(private)
            .unwrap()
            .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, None)
            .unwrap()
            .to_vec(),
    };
    assert_eq!(data_key.len(), 32);
    (msg, data_key)
}

/// (offset of the EDK count, end of the EDK list, the wrapped key) of a v1 one-EDK message.
fn edk_region(msg: &[u8]) -> (usize, usize, &[u8]) {
    let be16 = |i: usize| usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
    let count_at = 22 + be16(20);
    assert_eq!(be16(count_at), 1);
    let mut i = count_at + 2;
    i += 2 + be16(i); // provider id
    i += 2 + be16(i); // provider info
    let wrapped = &msg[i + 2..i + 2 + be16(i)];
    (count_at, i + 2 + be16(i), wrapped)
}

fn push16(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The message with an EDK (`key_name`, `probe`) inserted before its own, and the header tag
/// recomputed with the data key, so the header authenticates: only the EDKs decide the outcome.
fn with_probe_first(msg: &[u8], data_key: &[u8], key_name: &str, probe: &[u8]) -> Vec<u8> {
    let (count_at, edks_end, _) = edk_region(msg);
    let mut out = msg[..count_at].to_vec();
    out.extend_from_slice(&2u16.to_be_bytes());
    push16(&mut out, PROVIDER.as_bytes());
    push16(&mut out, key_name.as_bytes());
    push16(&mut out, probe);
    out.extend_from_slice(&msg[count_at + 2..edks_end]);
    // content type(1) reserved(4) iv length(1) frame length(4), then header iv(12) tag(16).
    out.extend_from_slice(&msg[edks_end..edks_end + 10]);
    let iv: [u8; 12] = msg[edks_end + 10..edks_end + 22].try_into().unwrap();
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, data_key).unwrap());
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&out), &mut [])
        .unwrap();
    out.extend_from_slice(&iv);
    out.extend_from_slice(tag.as_ref());
    out.extend_from_slice(&msg[edks_end + 38..]);
    out
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::fill(&mut v).unwrap();
    v
}

/// A PKCS #1 v1.5 type-2 ciphertext of `len` random bytes under the keyring's public key.
fn pkcs1_wrap(len: usize) -> Vec<u8> {
    let key = Pkcs1PublicEncryptingKey::new(PublicEncryptingKey::from_der(&key_pair().1).unwrap())
        .unwrap();
    let mut out = vec![0u8; key.ciphertext_size()];
    key.encrypt(&random(len), &mut out).unwrap().to_vec()
}

fn oaep_wrap(len: usize) -> Vec<u8> {
    let key = OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&key_pair().1).unwrap())
        .unwrap();
    let mut out = vec![0u8; key.ciphertext_size()];
    key.encrypt(&OAEP_SHA256_MGF1SHA256, &random(len), &mut out, None)
        .unwrap()
        .to_vec()
}

/// Random bytes below the modulus (top byte zero), as a probe that is almost never padded.
fn random_block() -> Vec<u8> {
    let mut v = random(256);
    v[0] = 0;
    v
}

#[test]
fn pkcs1_probes_all_fail_alike() {
    let keyring = keyring(Padding::Pkcs1);
    let (msg, data_key) = message(Padding::Pkcs1);
    assert_eq!(
        keyring.decrypt(&msg).unwrap().plaintext().expose(),
        PLAINTEXT
    );
    // The rebuilt header is sound: a probe under another key name is not even tried.
    let control = with_probe_first(&msg, &data_key, "another-key", &random_block());
    assert_eq!(
        keyring.decrypt(&control).unwrap().plaintext().expose(),
        PLAINTEXT
    );

    let outcomes: Vec<(&str, Result<Vec<u8>, Error>)> = [
        ("random bytes", random_block()),
        ("conformant wrap of 31 bytes", pkcs1_wrap(31)),
        ("conformant wrap of 32 bytes", pkcs1_wrap(32)),
        ("conformant wrap of 0 bytes", pkcs1_wrap(0)),
        ("short ciphertext", random(255)),
    ]
    .into_iter()
    .map(|(name, probe)| {
        let m = with_probe_first(&msg, &data_key, KEY_NAME, &probe);
        let got = keyring.decrypt(&m).map(|d| d.plaintext().expose().to_vec());
        (name, got)
    })
    .collect();
    for (name, got) in &outcomes {
        assert_eq!(*got, Err(Error::DecryptionFailed), "{name}: {outcomes:?}");
    }
}

#[test]
fn a_pkcs1_probe_gets_the_same_answer_every_time() {
    // Implicit rejection is deterministic: repeating a probe reveals nothing new, and a
    // message whose only EDK is garbage fails like one wrapped for another key.
    let keyring = keyring(Padding::Pkcs1);
    let (msg, data_key) = message(Padding::Pkcs1);
    let probe = random_block();
    let m = with_probe_first(&msg, &data_key, KEY_NAME, &probe);
    for _ in 0..3 {
        assert_eq!(keyring.decrypt(&m).unwrap_err(), Error::DecryptionFailed);
    }
}

#[test]
fn oaep_still_skips_an_edk_that_does_not_unwrap() {
    // OAEP is unchanged: a mauled OAEP ciphertext is valid only with negligible probability,
    // so skipping it is no oracle, and a rotation-era message with a stale EDK still opens.
    let keyring = keyring(Padding::OaepSha256);
    let (msg, data_key) = message(Padding::OaepSha256);
    for probe in [random_block(), oaep_wrap(31), pkcs1_wrap(32)] {
        let m = with_probe_first(&msg, &data_key, KEY_NAME, &probe);
        assert_eq!(keyring.decrypt(&m).unwrap().plaintext().expose(), PLAINTEXT);
    }
    // A valid OAEP wrap of a 32-byte key is used, and is final.
    let m = with_probe_first(&msg, &data_key, KEY_NAME, &oaep_wrap(32));
    assert_eq!(keyring.decrypt(&m).unwrap_err(), Error::DecryptionFailed);
}
