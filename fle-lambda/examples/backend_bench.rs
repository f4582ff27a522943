//! Benchmarks of a backend Lambda's hot and cold paths, recorded in docs/PERFORMANCE.md (not
//! tests: numbers depend on the machine).
//!
//! Run: cargo run --release -p fle-lambda --example backend_bench
//!
//! 1. Process start → first decrypted field, the key source answering locally (a keyring file),
//!    with the random generator warmed during init (`Backend::start`) and without.
//! 2. A 10-field form decrypted on 1 and on 2 threads, rounds interleaved in the same run.
//! 3. Per request, everything but the cryptography: `Backend::decrypt_request` on an API
//!    Gateway request against the bare `Keyring::decrypt` of the same messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use base64::Engine as _;
use fle_decrypt::document::{KeyEntry, KeyStatus, KeyringDocument, PrivateKeyPem};
use fle_decrypt::encrypt::{encrypt_form, Encryptor, PublicKey};
use fle_decrypt::form::FieldPatterns;
use fle_lambda::{Backend, KeyMaterial, KeySource, RefreshPolicy, SourceError};

const PROVIDER: &str = "bench";
const KEY: &str = "bench-key";

/// A key source answering locally: the keyring document in a file.
struct FileSource(PathBuf);

impl KeySource for FileSource {
    fn describe(&self) -> String {
        format!("file:{}", self.0.display())
    }
    async fn fetch(&self) -> Result<KeyMaterial, SourceError> {
        let bytes = std::fs::read(&self.0).unwrap();
        Ok(KeyMaterial::Documents(vec![
            KeyringDocument::parse(&bytes).unwrap()
        ]))
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn backend(dir: &Path, threads: usize) -> Backend<FileSource> {
    Backend::new(
        FileSource(dir.join("keyring.json")),
        Some(FieldPatterns::parse("f*").unwrap()),
        RefreshPolicy::default(),
        Some(threads),
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Child process: init as a function does, decrypt one form, print when done.
fn cold(dir: &Path, warm: bool) {
    let started = Instant::now();
    let rt = rt();
    let b = backend(dir, 1);
    rt.block_on(async {
        if warm {
            b.start().await;
        } else {
            b.cache().load().await.unwrap();
        }
    });
    let init = started.elapsed();
    let body = std::fs::read(dir.join("form1.txt")).unwrap();
    let t = Instant::now();
    let form = rt.block_on(b.decrypt_body(&body)).unwrap();
    let first = t.elapsed();
    assert_eq!(form.decrypted().count(), 1);
    println!(
        "decrypted init_us={:.0} first_request_us={:.0}",
        us(init),
        us(first)
    );
    std::io::stdout().flush().unwrap();
}

fn setup(dir: &Path) -> (Encryptor, Vec<u8>) {
    let k = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let der = AsDer::<Pkcs8V1Der>::as_der(&k).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut doc = KeyringDocument::empty(PROVIDER);
    doc.keys.push(KeyEntry {
        key_name: KEY.into(),
        status: KeyStatus::Current,
        retire_after: None,
        created: "2026-12-01T00:00:00Z".into(),
        rotation: None,
        private_key_pem: PrivateKeyPem::new(format!(
            "-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"
        )),
    });
    std::fs::write(dir.join("keyring.json"), &*doc.to_json_pretty()).unwrap();
    let spki = AsDer::<PublicKeyX509Der>::as_der(&k.public_key()).unwrap();
    let enc = Encryptor::new(PublicKey::from_der(spki.as_ref()).unwrap(), PROVIDER, KEY).unwrap();
    let patterns = FieldPatterns::parse("f*").unwrap();
    let form1 = encrypt_form(&enc, b"f0=4111111111111111&name=x", &patterns).unwrap();
    std::fs::write(dir.join("form1.txt"), &form1).unwrap();
    let plain10: Vec<String> = (0..10)
        .map(|i| format!("f{i}=value-{i}-4111111111111111"))
        .collect();
    let form10 = encrypt_form(&enc, plain10.join("&").as_bytes(), &patterns).unwrap();
    (enc, form10)
}

fn cold_starts(dir: &Path, runs: usize) {
    let exe = std::env::current_exe().unwrap();
    for warm in [true, false] {
        let (mut total, mut first, mut init) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let mut child = Command::new(&exe)
                .args([
                    "cold",
                    dir.to_str().unwrap(),
                    if warm { "warm" } else { "cold" },
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            total.push(t.elapsed());
            child.wait().unwrap();
            let field = |name: &str| -> Duration {
                let v = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .unwrap();
                Duration::from_secs_f64(v.parse::<f64>().unwrap() / 1e6)
            };
            init.push(field("init_us="));
            first.push(field("first_request_us="));
        }
        println!(
            "cold start, {} ({runs} runs, median): process start -> first decrypted field {:.1} ms; init {:.1} ms; first request {:.2} ms",
            if warm { "RNG warmed during init" } else { "no warm-up" },
            us(median(total)) / 1e3,
            us(median(init)) / 1e3,
            us(median(first)) / 1e3,
        );
    }
}

fn parallel(dir: &Path, form10: &[u8], rounds: usize) {
    let rt = rt();
    let one = backend(dir, 1);
    let two = backend(dir, 2);
    rt.block_on(one.start());
    rt.block_on(two.start());
    let (mut t1, mut t2) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (b, out) in [(&one, &mut t1), (&two, &mut t2)] {
            let t = Instant::now();
            let f = rt.block_on(b.decrypt_body(form10)).unwrap();
            out.push(t.elapsed());
            assert_eq!(f.decrypted().count(), 10);
        }
    }
    let (m1, m2) = (median(t1), median(t2));
    println!(
        "10-field form ({rounds} interleaved rounds, median): 1 thread {:.2} ms, 2 threads {:.2} ms, ratio {:.2}",
        us(m1) / 1e3,
        us(m2) / 1e3,
        m2.as_secs_f64() / m1.as_secs_f64()
    );
}

fn overhead(dir: &Path, form: &[u8], fields: usize, rounds: usize) {
    let rt = rt();
    let b = backend(dir, 1);
    rt.block_on(b.start());
    let keys = b.loaded().unwrap();
    let patterns = FieldPatterns::parse("f*").unwrap();
    let messages: Vec<Vec<u8>> = fle_decrypt::form::encrypted_fields(form, &patterns)
        .unwrap()
        .into_iter()
        .map(|(_, m)| m.to_vec())
        .collect();
    assert_eq!(messages.len(), fields);
    let request = || {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://api.example.com/checkout")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(lambda_http::Body::Text(
                String::from_utf8(form.to_vec()).unwrap(),
            ))
            .unwrap()
    };
    let (mut whole, mut crypto) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let req = request();
        let t = Instant::now();
        let f = rt.block_on(b.decrypt_request(&req)).unwrap();
        let names: Vec<&str> = f.decrypted().map(|(n, _)| n).collect();
        let resp = fle_lambda::json_response(200, &serde_json::json!({ "decrypted": names }));
        whole.push(t.elapsed());
        assert_eq!(resp.status(), 200);
        let t = Instant::now();
        for m in &messages {
            keys.keyring().decrypt(m).unwrap();
        }
        crypto.push(t.elapsed());
    }
    let (w, c) = (median(whole), median(crypto));
    println!(
        "per request, {fields}-field form ({rounds} interleaved rounds, median): whole {:.1} us, cryptography alone {:.1} us, everything else {:.1} us = {:.1} %",
        us(w),
        us(c),
        us(w) - us(c),
        100.0 * (us(w) - us(c)) / us(w)
    );
}

fn entropy_threads() {
    let t = Instant::now();
    fle_lambda::entropy::warm();
    let first = t.elapsed();
    let t = Instant::now();
    fle_lambda::entropy::warm();
    let second = t.elapsed();
    let other = std::thread::spawn(fle_lambda::entropy::warm)
        .join()
        .unwrap();
    println!(
        "aws-lc random draws: first in the process {:.2} ms, second {:.3} ms, first on another thread {:.3} ms",
        us(first) / 1e3,
        us(second) / 1e3,
        us(other) / 1e3
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("cold") {
        return cold(Path::new(&args[2]), args[3] == "warm");
    }
    if args.get(1).map(String::as_str) == Some("entropy") {
        return entropy_threads();
    }
    let dir = std::env::temp_dir().join(format!("fle-backend-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_enc, form10) = setup(&dir);
    let status = Command::new(std::env::current_exe().unwrap())
        .arg("entropy")
        .status()
        .unwrap();
    assert!(status.success());
    cold_starts(&dir, 21);
    parallel(&dir, &form10, 200);
    let form1 = std::fs::read(dir.join("form1.txt")).unwrap();
    overhead(&dir, &form1, 1, 500);
    overhead(&dir, &form10, 10, 200);
    std::fs::remove_dir_all(&dir).unwrap();
}
