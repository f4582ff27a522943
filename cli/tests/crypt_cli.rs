//! `fle encrypt` and `fle decrypt` as a user runs them: round trips, exit codes, empty stdout on
//! every failure, no plaintext in any message, and the help text (snapshots in
//! tests/snapshots/; regenerate with FLE_UPDATE_SNAPSHOTS=1).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FLE: &str = env!("CARGO_BIN_EXE_fle");
const SECRET: &[u8] = b"4111111111111111";

struct Keys {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    private: PathBuf,
    public: PathBuf,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        body.join("\n")
    )
}

fn keys() -> Keys {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    let key =
        aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let private = path.join("private.pem");
    let public = path.join("public.pem");
    std::fs::write(
        &private,
        pem(
            "PRIVATE KEY",
            AsDer::<Pkcs8V1Der>::as_der(&key).unwrap().as_ref(),
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        &public,
        pem(
            "PUBLIC KEY",
            AsDer::<PublicKeyX509Der>::as_der(&key.public_key())
                .unwrap()
                .as_ref(),
        ),
    )
    .unwrap();
    Keys {
        _dir: dir,
        dir: path,
        private,
        public,
    }
}

fn fle(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(FLE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn encrypt(k: &Keys, extra: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut args = vec![
        "encrypt",
        "--public-key",
        p(&k.public),
        "--provider",
        "shop",
        "--key-name",
        "shop-key-1",
    ];
    args.extend_from_slice(extra);
    let out = fle(&args, stdin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    out.stdout
}

fn decrypt(k: &Keys, extra: &[&str], stdin: &[u8]) -> Output {
    let mut args = vec![
        "decrypt",
        "--private-key",
        p(&k.private),
        "--provider",
        "shop",
        "--key-name",
        "shop-key-1",
    ];
    args.extend_from_slice(extra);
    fle(&args, stdin)
}

/// A failure: the exit code, nothing on stdout, one line on stderr without the secret.
fn assert_refused(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "stdout must stay empty on failure");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(err.starts_with("fle: "), "{err}");
    assert!(
        !err.contains("4111"),
        "the plaintext leaked into an error: {err}"
    );
    err
}

#[test]
fn value_round_trip_through_stdin_files_and_binary() {
    let k = keys();
    let b64 = encrypt(&k, &[], SECRET);
    assert!(b64.ends_with(b"\n"));
    let out = decrypt(&k, &[], &b64);
    assert!(out.status.success());
    assert_eq!(out.stdout, SECRET);
    // From a file, base64 wrapped over lines.
    let wrapped: Vec<u8> = b64
        .chunks(60)
        .flat_map(|c| c.iter().copied().chain([b'\n']))
        .collect();
    let file = k.dir.join("value.b64");
    std::fs::write(&file, wrapped).unwrap();
    let out = decrypt(&k, &[p(&file)], b"");
    assert_eq!(out.stdout, SECRET);
    // Raw bytes both ways, another suite, non-framed.
    let raw = encrypt(
        &k,
        &["--binary", "--suite", "0578", "--frame-length", "0"],
        SECRET,
    );
    assert_eq!(&raw[..3], &[0x02, 0x05, 0x78]);
    assert_eq!(decrypt(&k, &["--binary"], &raw).stdout, SECRET);
}

#[test]
fn form_round_trip_keeps_other_fields() {
    let k = keys();
    let body = b"name=Jane+Doe&card_number=4111111111111111&card_cvc=123&note=x%26y";
    let encrypted = encrypt(&k, &["--form", "--fields", "card_*"], body);
    let text = String::from_utf8(encrypted.clone()).unwrap();
    assert!(
        text.starts_with("name=Jane+Doe&card_number=AYAD") && text.ends_with("&note=x%26y"),
        "{text}"
    );
    assert!(!text.contains("4111"));
    let out = decrypt(&k, &["--form", "--fields", "card_*"], &encrypted);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, body);
    // API Gateway hands the body over base64-encoded.
    let event = base64::engine::general_purpose::STANDARD.encode(&encrypted);
    let out = decrypt(
        &k,
        &["--form", "--fields", "card_*", "--base64-body"],
        event.as_bytes(),
    );
    assert_eq!(out.stdout, body);
}

#[test]
fn json_round_trip_by_selectors() {
    let k = keys();
    let doc = serde_json::json!({
        "card": {"number": "4111111111111111", "cvc": 123},
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
        "name": "Jane Doe"
    });
    let body = serde_json::to_vec(&doc).unwrap();
    let fields = "/card/number,/card/cvc,/items/*/sku";
    let encrypted = encrypt(&k, &["--json", "--fields", fields], &body);
    let seen: serde_json::Value = serde_json::from_slice(&encrypted).unwrap();
    assert!(
        seen["card"]["number"].as_str().unwrap().starts_with("AYAD"),
        "{seen}"
    );
    assert_eq!(seen["name"], "Jane Doe");
    assert!(!String::from_utf8_lossy(&encrypted).contains("4111"));
    let out = decrypt(&k, &["--json", "--fields", fields], &encrypted);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back, doc);
    // Base64 as API Gateway hands it over.
    let event = base64::engine::general_purpose::STANDARD.encode(&encrypted);
    let out = decrypt(
        &k,
        &["--json", "--fields", fields, "--base64-body"],
        event.as_bytes(),
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        doc
    );
    // A picked value in clear is refused by its path (exit 1), never printed.
    let out = decrypt(&k, &["--json", "--fields", fields], &body);
    let err = assert_refused(&out, 1);
    assert!(
        err.contains("/card/number") && !err.contains("4111"),
        "{err}"
    );
    // Bad selectors and --fields alone are usage errors.
    assert_refused(&decrypt(&k, &["--json", "--fields", "card"], &encrypted), 2);
    assert_refused(&decrypt(&k, &["--fields", "/card"], &encrypted), 2);
}

#[test]
fn cannot_decrypt_is_exit_1() {
    let k = keys();
    let b64 = encrypt(&k, &[], SECRET);
    let args = [
        "decrypt",
        "--private-key",
        p(&k.private),
        "--provider",
        "shop",
        "--key-name",
        "other",
    ];
    assert!(assert_refused(&fle(&args, &b64), 1).contains("no encrypted data key matches"));
    let err = assert_refused(
        &fle(
            &[
                "decrypt",
                "--private-key",
                p(&k.private),
                "--provider",
                "x",
                "--key-name",
                "shop-key-1",
            ],
            &b64,
        ),
        1,
    );
    // The message names the key it asks for (plaintext in its header) and the keyring what it
    // holds: enough to see the wrong provider at a glance.
    assert!(
        err.starts_with("fle: decrypt: no encrypted data key matches a key in the keyring: the message asks for provider \"shop\" key \"shop-key-1\"; the keyring holds \"x\"/\"shop-key-1\""),
        "{err}"
    );
    // Tampered: one bit in the middle.
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim_ascii())
        .unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 4;
    assert_eq!(
        assert_refused(&decrypt(&k, &["--binary"], &raw), 1),
        "fle: decrypt: decryption failed\n"
    );
    // Truncated, trailing bytes, not base64 at all.
    assert!(
        assert_refused(&decrypt(&k, &["--binary"], &raw[..100]), 1).contains("malformed message")
    );
    // Plaintext given where a message is expected: said as such.
    let err = assert_refused(&decrypt(&k, &[], b"aGVsbG8gd29ybGQ="), 1);
    assert!(
        err.starts_with("fle: decrypt: the input is not an AWS Encryption SDK message"),
        "{err}"
    );
    assert!(assert_refused(&decrypt(&k, &[], b"%%% not base64"), 1).contains("not base64"));
    // Plaintext where CloudFront should have encrypted.
    let err = assert_refused(
        &decrypt(
            &k,
            &["--form", "--fields", "card"],
            b"card=4111111111111111",
        ),
        1,
    );
    assert_eq!(
        err,
        "fle: decrypt: field \"card\" is not an encrypted value\n"
    );
}

#[test]
fn usage_and_io_errors_are_exit_2() {
    let k = keys();
    let missing = k.dir.join("missing.pem");
    assert!(assert_refused(
        &fle(
            &[
                "decrypt",
                "--private-key",
                p(&missing),
                "--provider",
                "a",
                "--key-name",
                "b"
            ],
            b""
        ),
        2
    )
    .contains("reading key file"));
    // A public key where the private one belongs.
    let err = assert_refused(
        &fle(
            &[
                "decrypt",
                "--private-key",
                p(&k.public),
                "--provider",
                "a",
                "--key-name",
                "b",
            ],
            b"",
        ),
        2,
    );
    assert!(
        err.contains("loading private key") && err.contains("not a private key"),
        "{err}"
    );
    for args in [
        vec![
            "decrypt",
            "--private-key",
            p(&k.private),
            "--provider",
            "a",
            "--key-name",
            "b",
            "--padding",
            "oaep",
        ],
        vec![
            "decrypt",
            "--private-key",
            p(&k.private),
            "--provider",
            "a",
            "--key-name",
            "b",
            "--form",
        ],
        vec![
            "encrypt",
            "--public-key",
            p(&k.public),
            "--provider",
            "a",
            "--key-name",
            "b",
            "--suite",
            "0379",
        ],
        vec![
            "encrypt",
            "--public-key",
            p(&k.public),
            "--provider",
            "a",
            "--key-name",
            "b",
            "--form",
            "--fields",
            "a b",
        ],
        vec!["decrypt", "--provider", "a", "--key-name", "b"],
    ] {
        let out = fle(&args, b"");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_world_readable_private_key_is_warned_about() {
    let k = keys();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&k.private, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = decrypt(&k, &[], &encrypt(&k, &[], SECRET));
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("readable by other users"));
    }
}

#[test]
fn a_keyring_document_decrypts_with_every_key_it_holds() {
    let (old, new) = (keys(), keys());
    let old_msg = encrypt(&old, &[], b"old traffic");
    let new_msg = {
        let out = fle(
            &[
                "encrypt",
                "--public-key",
                p(&new.public),
                "--provider",
                "shop",
                "--key-name",
                "shop-key-2",
            ],
            b"new traffic",
        );
        out.stdout
    };
    let entry = |name: &str, status: &str, k: &Keys| {
        serde_json::json!({"keyName": name, "status": status, "created": "2026-11-22T00:00:00Z",
            "privateKeyPem": std::fs::read_to_string(&k.private).unwrap()})
    };
    let doc = serde_json::json!({"format": 1, "providerId": "shop",
        "keys": [entry("shop-key-1", "previous", &old), entry("shop-key-2", "current", &new)]});
    let path = old.dir.join("shop.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for (msg, want) in [
        (&old_msg, &b"old traffic"[..]),
        (&new_msg, &b"new traffic"[..]),
    ] {
        let out = fle(&["decrypt", "--keyring", p(&path)], msg);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, want);
    }
    // Another provider's messages do not match any key in the document.
    let other = fle(
        &[
            "encrypt",
            "--public-key",
            p(&new.public),
            "--provider",
            "other",
            "--key-name",
            "shop-key-2",
        ],
        b"x",
    );
    assert_refused(&fle(&["decrypt", "--keyring", p(&path)], &other.stdout), 1);
    // A document that is not a keyring: exit 2, and the error quotes nothing of the file.
    let bad = old.dir.join("bad.json");
    let pem = std::fs::read_to_string(&old.private).unwrap();
    std::fs::write(
        &bad,
        serde_json::json!({"format": 1, "providerId": "shop", "keys": pem}).to_string(),
    )
    .unwrap();
    let err = assert_refused(&fle(&["decrypt", "--keyring", p(&bad)], &new_msg), 2);
    assert!(
        err.contains("not a keyring document") && !err.contains("PRIVATE KEY"),
        "{err}"
    );
    // One key source, not both, not none.
    for args in [
        vec![
            "decrypt",
            "--keyring",
            p(&path),
            "--private-key",
            p(&old.private),
        ],
        vec!["decrypt", "--provider", "shop", "--key-name", "shop-key-1"],
    ] {
        assert_eq!(fle(&args, &new_msg).status.code(), Some(2), "{args:?}");
    }
}

fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("FLE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with FLE_UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "{name} changed; review and rerun with FLE_UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn help_texts() {
    for cmd in ["decrypt", "encrypt"] {
        let out = Command::new(FLE)
            .args([cmd, "--help"])
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(out.status.success());
        snapshot(
            &format!("{cmd}-help.txt"),
            &String::from_utf8(out.stdout).unwrap(),
        );
    }
}
