//! Decrypts one CloudFront-like field N times: a harness for instruction counts, which stay
//! stable on a busy machine where wall-clock benchmarks do not.
//!
//! cargo build --release -p fle-decrypt --features encrypt --example decrypt_loop
//! valgrind --tool=callgrind target/release/examples/decrypt_loop 20
//! callgrind_annotate --inclusive=yes callgrind.out.* | grep -E 'Keyring::decrypt|EVP_PKEY_decrypt|ECDSA_do_verify'

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use fle_decrypt::encrypt::{Encryptor, PublicKey};
use fle_decrypt::{Keyring, Padding, PrivateKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "20".into())
        .parse()?;
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)?;
    let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&key)?;
    let spki = AsDer::<PublicKeyX509Der>::as_der(&key.public_key())?;
    let mut keyring = Keyring::new();
    keyring.add(
        "p",
        "k",
        PrivateKey::from_der(pkcs8.as_ref())?,
        Padding::OaepSha256,
    )?;
    let message = Encryptor::new(PublicKey::from_der(spki.as_ref())?, "p", "k")?
        .encrypt(b"4111111111111111")?;
    for _ in 0..n {
        std::hint::black_box(keyring.decrypt(std::hint::black_box(&message))?);
    }
    Ok(())
}
