//! Helpers for the CLI integration tests: a throw-away keystore and the real `fle` binary.
// Test helpers may panic: a panic here is a failing test (as clippy.toml allows in tests).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const FLE: &str = env!("CARGO_BIN_EXE_fle");

/// A keystore in a temporary directory.
pub struct Store {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Store {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ks");
        Self { _dir: dir, root }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(FLE);
        // Help wraps to the terminal width: no terminal and a fixed width keep snapshots stable.
        c.args(args)
            .env("FLE_HOME", &self.root)
            .env_remove("RUST_BACKTRACE")
            .env("COLUMNS", "100")
            .stdin(std::process::Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and requires exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "fle {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--output json`, requires exit 0, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Runs and requires exit `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "fle {args:?}: stderr {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "a failing command printed a result: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// Every data file of the keystore and a digest of its bytes (to prove a command changed
    /// nothing). Lock files hold no data and are left out.
    pub fn files(&self) -> Files {
        let mut out = BTreeMap::new();
        collect(&self.root, &self.root, &mut out);
        out.retain(|name, _| name != "lock" && !name.starts_with("locks/"));
        Files(out.into_iter().map(|(k, v)| (k, digest(&v))).collect())
    }

    pub fn keyring(&self, provider: &str) -> Value {
        let bytes =
            std::fs::read(self.root.join("private").join(format!("{provider}.json"))).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The key names in `provider`'s keyring file.
    pub fn keyring_names(&self, provider: &str) -> Vec<String> {
        self.keyring(provider)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["keyName"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Edits the entries of `provider`'s keyring file behind fle's back (a bad copy-paste, a
    /// lost key), as the tests of damaged keystores need.
    pub fn edit_keyring(&self, provider: &str, edit: impl FnOnce(&mut Vec<Value>)) {
        let mut doc = self.keyring(provider);
        edit(doc["keys"].as_array_mut().unwrap());
        let path = self.root.join("private").join(format!("{provider}.json"));
        std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }

    /// `fle keys rotate` of `profile` to `new_key`, interrupted by the test hook right after
    /// `step` (exit 86).
    pub fn rotate_stopped_after(&self, profile: &str, new_key: &str, step: usize) {
        let step = step.to_string();
        let out = self.run(&[
            "keys",
            "rotate",
            "--profile",
            profile,
            "--new-key-name",
            new_key,
            "--danger-stop-after",
            &step,
        ]);
        assert_eq!(
            out.status.code(),
            Some(86),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.root.join("state.json")).unwrap()).unwrap()
    }

    /// A standard setup: key `k1` of provider `prov`, profile `checkout` on it.
    pub fn with_profile() -> Self {
        let s = Self::new();
        s.ok(&["keys", "generate", "--name", "k1", "--provider", "prov"]);
        s.ok(&[
            "profiles", "create", "--name", "checkout", "--key", "k1", "--field", "card",
            "--field", "cvv*",
        ]);
        s
    }

    /// The public key PEM uploaded under `name`.
    pub fn public_pem(&self, name: &str) -> String {
        let state = self.state();
        state["publicKeys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["config"]["name"] == name)
            .map(|k| k["config"]["encodedKey"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no public key {name}"))
    }

    pub fn profile_key_name(&self, profile: &str) -> String {
        let v = self.json(&["profiles", "show", profile]);
        v["entities"][0]["keyName"].as_str().unwrap().to_owned()
    }

    /// A decrypting keyring built the way a backend would: every key of the provider's file,
    /// through the one loader (`KeyringDocument` + `Keyring::from_document`).
    pub fn decryptor(&self, provider: &str) -> fle_decrypt::Keyring {
        let bytes =
            std::fs::read(self.root.join("private").join(format!("{provider}.json"))).unwrap();
        let doc = fle_decrypt::document::KeyringDocument::parse_for(&bytes, provider).unwrap();
        let (ring, broken) = fle_decrypt::Keyring::from_document(&doc);
        assert!(broken.is_empty(), "{broken:?}");
        ring
    }
}

/// Encrypts as CloudFront would with the public key uploaded under `key_name`.
pub fn encrypt_for(store: &Store, provider: &str, key_name: &str, plaintext: &[u8]) -> Vec<u8> {
    let pk =
        fle_decrypt::encrypt::PublicKey::from_pem(store.public_pem(key_name).as_bytes()).unwrap();
    fle_decrypt::encrypt::Encryptor::new(pk, provider, key_name)
        .unwrap()
        .encrypt(plaintext)
        .unwrap()
}

/// File name → SHA-256 (hex) of the content; `Debug` prints only names and digests.
#[derive(PartialEq, Eq, Debug)]
pub struct Files(pub BTreeMap<String, String>);

impl Files {
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }
}

fn digest(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.insert(
                p.strip_prefix(root).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
}

/// Replaces what changes from run to run with placeholders: CloudFront-style ids and ETags
/// (`K…`, `P…`, `C…`, `E…` + 13 of [A-Z0-9]) become `[ID]`, RFC 3339 times `[TIME]`, the
/// keystore path `[KEYSTORE]`.
pub fn redact(text: &str, store: &Store) -> String {
    let text = text.replace(&store.root.display().to_string(), "[KEYSTORE]");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let boundary = |c: Option<&char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
    while i < chars.len() {
        let prev_ok = i == 0 || boundary(chars.get(i - 1));
        let id_like = prev_ok
            && "KPCE".contains(chars[i])
            && chars.len() >= i + 14
            && chars[i + 1..i + 14]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && boundary(chars.get(i + 14));
        if id_like {
            out.push_str("[ID]");
            i += 14;
            continue;
        }
        // 2026-11-22T22:03:20Z
        let time_like = prev_ok && chars.len() >= i + 20 && {
            let t: String = chars[i..i + 20].iter().collect();
            t.char_indices().all(|(j, c)| match j {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                19 => c == 'Z',
                _ => c.is_ascii_digit(),
            })
        };
        if time_like {
            out.push_str("[TIME]");
            i += 20;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}
