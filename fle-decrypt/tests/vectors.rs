//! The AWS Encryption SDK raw-RSA decrypt vectors (../shared/vectors/esdk-raw-rsa), one named
//! test per manifest row, read from where they are shipped. Each positive case also checks that
//! the wrong key name, the wrong provider and the wrong padding are refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use fle_decrypt::{Error, Keyring, Padding, PrivateKey, Suite};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/esdk-raw-rsa")
}

fn file_url(dir: &Path, url: &str) -> Result<Vec<u8>, Failed> {
    let rel = url
        .strip_prefix("file://")
        .ok_or_else(|| format!("not a file URL: {url}"))?;
    std::fs::read(dir.join(rel)).map_err(|e| format!("{rel}: {e}").into())
}

fn padding(desc: &Value) -> Result<Padding, Failed> {
    let alg = desc["padding-algorithm"].as_str().unwrap_or_default();
    let hash = desc["padding-hash"].as_str().unwrap_or_default();
    Ok(match (alg, hash) {
        ("pkcs1", _) => Padding::Pkcs1,
        ("oaep-mgf1", "sha1") => Padding::OaepSha1,
        ("oaep-mgf1", "sha256") => Padding::OaepSha256,
        ("oaep-mgf1", "sha384") => Padding::OaepSha384,
        ("oaep-mgf1", "sha512") => Padding::OaepSha512,
        other => return Err(format!("unknown padding {other:?}").into()),
    })
}

fn run_case(dir: &Path, keys: &Value, scenario: &Value) -> Result<(), Failed> {
    let ciphertext = file_url(dir, scenario["ciphertext"].as_str().unwrap_or_default())?;
    let expected = file_url(dir, scenario["result"].as_str().unwrap_or_default())?;
    let desc = &scenario["decryptKeyDescription"];
    let key = &keys["keys"][desc["key"].as_str().unwrap_or_default()];
    let pem = key["material"].as_str().ok_or("key material missing")?;
    let key_name = key["key-id"].as_str().ok_or("key-id missing")?;
    let provider = desc["provider-id"].as_str().ok_or("provider-id missing")?;
    let padding = padding(desc)?;
    let suite_id = u16::from_str_radix(
        scenario["algorithmSuiteId"].as_str().unwrap_or_default(),
        16,
    )?;

    let keyring_with = |provider: &str, name: &str, padding: Padding| -> Result<Keyring, Failed> {
        let mut k = Keyring::new();
        k.add(
            provider,
            name,
            PrivateKey::from_pem(pem.as_bytes())?,
            padding,
        )?;
        Ok(k)
    };

    let out = keyring_with(provider, key_name, padding)?.decrypt(&ciphertext)?;
    if out.plaintext().expose() != expected.as_slice() {
        return Err("plaintext differs from the expected result".into());
    }
    if out.suite() != Suite::from_id(suite_id)? {
        return Err(format!("suite {:?} is not {suite_id:04x}", out.suite()).into());
    }
    let expect = |got: Result<fle_decrypt::Decrypted, Error>, want: Error, what: &str| match got {
        Err(e) if e == want => Ok(()),
        other => Err(Failed::from(format!(
            "{what}: expected {want:?}, got {other:?}"
        ))),
    };
    expect(
        keyring_with(provider, "other-key", padding)?.decrypt(&ciphertext),
        Error::NoMatchingKey,
        "wrong key name",
    )?;
    expect(
        keyring_with("other-provider", key_name, padding)?.decrypt(&ciphertext),
        Error::NoMatchingKey,
        "wrong provider",
    )?;
    let wrong = if padding == Padding::OaepSha256 {
        Padding::OaepSha512
    } else {
        Padding::OaepSha256
    };
    expect(
        keyring_with(provider, key_name, wrong)?.decrypt(&ciphertext),
        Error::DecryptionFailed,
        "wrong padding",
    )?;
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = vectors_dir();
    let load = |name: &str| -> Value {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (shared/ must sit beside the repository)",
                path.display()
            )
        });
        serde_json::from_str(&text).unwrap()
    };
    let manifest = load("decrypt-manifest.json");
    let keys = std::sync::Arc::new(load("keys.json"));
    let tests = manifest["tests"].as_object().expect("tests object");
    assert_eq!(tests.len(), 55, "the shipped manifest has 55 cases");
    let mut trials = Vec::new();
    for (id, case) in tests {
        let scenario = case["decryption-scenario"].clone();
        let desc = &scenario["decryptKeyDescription"];
        let name = format!(
            "esdk_raw_rsa::{}_{}_{}::{id}",
            scenario["algorithmSuiteId"].as_str().unwrap_or("?"),
            desc["padding-algorithm"].as_str().unwrap_or("?"),
            desc["padding-hash"].as_str().unwrap_or("?"),
        );
        assert_eq!(
            scenario["type"], "positive-esdk",
            "{id}: only positive cases are shipped"
        );
        let (dir, keys) = (dir.clone(), keys.clone());
        trials.push(Trial::test(name, move || run_case(&dir, &keys, &scenario)));
    }
    libtest_mimic::run(&args, trials).exit();
}
