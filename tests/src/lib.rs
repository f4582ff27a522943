//! Shared helpers for the cross-crate tests: where the oracles, the `fle` binary and the shared
//! vectors are, and throwaway keys.
//!
//! Tests that need an oracle or emulator FAIL with a message when it is missing: a missing
//! oracle is never reported as a pass. `scripts/test.sh` provides them all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared` beside the repository (CI puts it there).
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// The Python of the pinned test venv (`$FLE_TEST_PYTHON`, set by scripts/test.sh).
pub fn python() -> PathBuf {
    match std::env::var_os("FLE_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "FLE_TEST_PYTHON is not set: this test needs the pinned Python oracles. \
             Run scripts/test.sh, which creates the venv and sets it."
        ),
    }
}

/// The moto server of this test run (`$FLE_TEST_MOTO_URL`, set by scripts/test.sh).
pub fn moto_url() -> String {
    std::env::var("FLE_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!("FLE_TEST_MOTO_URL is not set: this test needs moto. Run scripts/test.sh, which starts it.")
    })
}

/// The `fle` binary of this build, built on demand when a lone `cargo test -p fle-tests`
/// has not built it yet.
pub fn fle_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test-binary>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir.join(format!("fle{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "fle-cli", "--bin", "fle"])
            .current_dir(repo_root())
            .status()
            .unwrap();
        assert!(status.success(), "building fle failed");
    }
    bin
}

/// Runs a program with `stdin` fed in full, and returns its output.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// Runs the Python ESDK oracle with a JSON request and returns its JSON answer.
pub fn esdk_oracle(command: &str, request: &serde_json::Value) -> serde_json::Value {
    let script = repo_root().join("tests/oracle/esdk_oracle.py");
    let out = run_with_stdin(
        Command::new(python()).arg(script).arg(command),
        request.to_string().as_bytes(),
    );
    assert!(
        out.status.success(),
        "ESDK oracle {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A fresh RSA-2048 key pair as (PKCS#8 PEM, SPKI PEM).
pub fn rsa_pem_pair() -> (String, String) {
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    let key =
        aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let private = AsDer::<Pkcs8V1Der>::as_der(&key).unwrap();
    let public = AsDer::<PublicKeyX509Der>::as_der(&key.public_key()).unwrap();
    (
        pem("PRIVATE KEY", private.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    )
}

/// PEM-armours DER bytes.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes `contents` to `dir/name` (mode 0600) and returns the path.
pub fn write_file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}
