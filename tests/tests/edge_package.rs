//! `fle edge package`: the zip holds index.mjs, the wasm module (custom sections stripped)
//! and config.json, stays within 250 KB, and the extracted handler signs exactly as
//! `fle edge sign` does. With `--encrypt PROFILE`, config.json carries the profile's public
//! key, provider and key name from the keystore, and the extracted handler forwards a JSON body
//! whose selected fields `fle decrypt` opens with the profile's keyring. Needs the release wasm and `fle` (scripts/test.sh builds both),
//! $FLE_TEST_PYTHON (to unzip with an implementation we did not write) and node.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fle_bin() -> PathBuf {
    let bin = target_dir().join("debug/fle");
    assert!(
        bin.exists(),
        "{} missing: `cargo build -p fle-cli` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

fn wasm() -> PathBuf {
    let p = target_dir().join("wasm32-unknown-unknown/release/edge_signer.wasm");
    assert!(p.exists(), "{} missing: `cargo build -p edge-signer --target wasm32-unknown-unknown --release` (scripts/test.sh does)", p.display());
    p
}

fn python() -> PathBuf {
    std::env::var_os("FLE_TEST_PYTHON")
        .expect("FLE_TEST_PYTHON is not set: run scripts/test.sh")
        .into()
}

#[test]
fn package_unzips_runs_and_matches_native() {
    let dir = std::env::temp_dir().join(format!("fle-edge-package-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let zip = dir.join("edge.zip");
    let out = Command::new(fle_bin())
        .args(["edge", "package", "--region", "eu-west-1", "--out"])
        .arg(&zip)
        .arg("--wasm")
        .arg(wasm())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&zip).unwrap().len();
    assert!(size <= 250 * 1024, "zip is {size} bytes, over 250 KB");

    // Unzip with Python's zipfile (checks CRCs) and list the entries.
    let extract = dir.join("x");
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nz.extractall(sys.argv[2])\nprint(' '.join(sorted(z.namelist())))";
    let out = Command::new(python())
        .args(["-c", script])
        .arg(&zip)
        .arg(&extract)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "config.json edge_signer.wasm index.mjs"
    );
    assert_eq!(
        std::fs::read(extract.join("index.mjs")).unwrap(),
        std::fs::read(root().join("edge-signer/handler/index.mjs")).unwrap()
    );
    let config: Value =
        serde_json::from_slice(&std::fs::read(extract.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config,
        serde_json::json!({ "region": "eu-west-1", "service": "execute-api" })
    );
    let packed = std::fs::read(extract.join("edge_signer.wasm")).unwrap();
    assert!(
        packed.len() < std::fs::read(wasm()).unwrap().len(),
        "custom sections not stripped"
    );

    // Run the extracted handler (as Lambda would import it) on a fixture event.
    let fixtures = root().join("edge-signer/tests/fixtures");
    let event = fixtures.join("post-form-origin-path.json");
    let js = format!(
        "const {{ handler }} = await import({:?}); const fs = await import('node:fs');\n\
         Date.now = () => Date.parse('2026-01-02T03:04:05Z');\n\
         console.log(JSON.stringify(await handler(JSON.parse(fs.readFileSync({:?}, 'utf8')))));",
        format!("file://{}", extract.join("index.mjs").display()),
        event.display().to_string()
    );
    let creds = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
    ];
    let node = Command::new("node")
        .args(["--input-type=module", "-e", &js])
        .envs(creds)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("node not found: the edge tests need Node.js 20");
    assert!(
        node.status.success(),
        "{}",
        String::from_utf8_lossy(&node.stderr)
    );
    let from_zip: Value = serde_json::from_slice(&node.stdout).unwrap();
    let native = Command::new(fle_bin())
        .args([
            "edge",
            "sign",
            "--region",
            "eu-west-1",
            "--time",
            "2026-01-02T03:04:05Z",
            "--event",
        ])
        .arg(&event)
        .envs(creds)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    assert!(
        native.status.success(),
        "{}",
        String::from_utf8_lossy(&native.stderr)
    );
    let native: Value = serde_json::from_slice(&native.stdout).unwrap();
    let auth = from_zip["headers"]["authorization"][0]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(
        auth.contains("Signature="),
        "the packaged handler did not sign: {from_zip}"
    );
    assert_eq!(from_zip, native);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn package_rejects_a_file_that_is_not_wasm() {
    let dir = std::env::temp_dir().join(format!("fle-edge-package-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bogus = dir.join("bogus.wasm");
    std::fs::write(&bogus, b"not a module").unwrap();
    let out = Command::new(fle_bin())
        .args(["edge", "package", "--out"])
        .arg(dir.join("o.zip"))
        .arg("--wasm")
        .arg(&bogus)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("o.zip").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn package_rejects_a_module_without_the_handler_exports_and_keeps_an_existing_zip() {
    let dir = std::env::temp_dir().join(format!("fle-edge-package-exp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A valid module exporting only `memory` (memory section + export section).
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    module.extend_from_slice(&[5, 3, 1, 0, 1]);
    let exports = [&[1_u8, 6][..], b"memory", &[2, 0]].concat();
    module.push(7);
    module.push(u8::try_from(exports.len()).unwrap());
    module.extend_from_slice(&exports);
    let bare = dir.join("bare.wasm");
    std::fs::write(&bare, &module).unwrap();
    let zip = dir.join("o.zip");
    let package = |wasm: &Path, force: bool| {
        let mut c = Command::new(fle_bin());
        c.args(["edge", "package", "--out"])
            .arg(&zip)
            .arg("--wasm")
            .arg(wasm);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let out = package(&bare, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("does not export alloc, dealloc, sign"),
        "{stderr}"
    );
    assert!(!zip.exists());

    // An existing zip is not overwritten without --force.
    assert!(package(&wasm(), false).status.success());
    let first = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, b"keep me").unwrap();
    let out = package(&wasm(), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --force"));
    assert_eq!(std::fs::read(&zip).unwrap(), b"keep me");
    assert!(package(&wasm(), true).status.success());
    assert_eq!(std::fs::read(&zip).unwrap(), first);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn package_without_wasm_uses_the_module_built_into_fle_anywhere() {
    // From a directory outside the workspace, with no cargo on PATH: an installed fle.
    let dir = std::env::temp_dir().join(format!("fle-edge-package-emb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(fle_bin())
            .args(args)
            .current_dir(&dir)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap()
    };
    let embedded = run(&[
        "edge".as_ref(),
        "package".as_ref(),
        "--out".as_ref(),
        "a.zip".as_ref(),
    ]);
    assert!(
        embedded.status.success(),
        "{}",
        String::from_utf8_lossy(&embedded.stderr)
    );
    let explicit = run(&[
        "edge".as_ref(),
        "package".as_ref(),
        "--out".as_ref(),
        "b.zip".as_ref(),
        "--wasm".as_ref(),
        wasm().as_os_str(),
    ]);
    assert!(explicit.status.success());
    // The same module as scripts/test.sh's release build, so the same (reproducible) zip.
    assert_eq!(
        std::fs::read(dir.join("a.zip")).unwrap(),
        std::fs::read(dir.join("b.zip")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `out`, which must have succeeded (else its stderr is the failure).
fn ok(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `fle` with a keystore.
fn fle(home: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(fle_bin())
        .args(args)
        .env("FLE_HOME", home)
        .env_remove("FLE_BACKEND")
        .output()
        .unwrap();
    out
}

#[test]
fn encrypt_package_carries_the_profile_and_its_handler_encrypts_what_the_keyring_opens() {
    let dir = std::env::temp_dir().join(format!("fle-edge-package-enc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let home = dir.join("keystore");
    ok(fle(
        &home,
        &[
            "keys",
            "generate",
            "--name",
            "spa-2026-12",
            "--provider",
            "spa",
        ],
    ));
    ok(fle(
        &home,
        &[
            "profiles",
            "create",
            "--name",
            "spa",
            "--key",
            "spa-2026-12",
            "--field",
            "card_*",
        ],
    ));
    let zip = dir.join("edge.zip");
    let zip_arg = zip.to_str().unwrap();
    let wasm_path = wasm();
    let wasm_arg = wasm_path.to_str().unwrap();
    let package = |extra: &[&str]| {
        let mut args = vec![
            "edge",
            "package",
            "--force",
            "--out",
            zip_arg,
            "--wasm",
            wasm_arg,
            "--encrypt",
            "spa",
        ];
        args.extend_from_slice(extra);
        fle(&home, &args)
    };
    // Selectors are checked as the module checks them: an overlap is refused, nothing written.
    let refused = package(&["--json-fields", "/card,/card/number"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("overlap"));
    assert!(!zip.exists());
    ok(package(&[
        "--json-fields",
        "/card/number,/payments/*/iban",
        "--required",
        "/card/number",
    ]));

    let extract = dir.join("x");
    let script = "import sys, zipfile\nzipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])";
    ok(Command::new(python())
        .args(["-c", script])
        .arg(&zip)
        .arg(&extract)
        .output()
        .unwrap());
    let config: Value =
        serde_json::from_slice(&std::fs::read(extract.join("config.json")).unwrap()).unwrap();
    let encrypt = &config["encrypt"];
    assert_eq!(encrypt["profile"], "spa");
    assert_eq!(encrypt["providerId"], "spa");
    assert_eq!(encrypt["keyName"], "spa-2026-12");
    assert!(encrypt["publicKey"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(
        encrypt["json"]["fields"],
        serde_json::json!(["/card/number", "/payments/*/iban"])
    );
    assert_eq!(
        encrypt["json"]["required"],
        serde_json::json!(["/card/number"])
    );
    assert_eq!(encrypt["form"]["fields"], serde_json::json!(["card_*"]));
    let text = serde_json::to_string(&config).unwrap();
    assert!(!text.contains("PRIVATE"), "a private key in the package");

    // The extracted handler, as Lambda imports it, on a JSON checkout.
    let body = r#"{"card": {"number": "4111 1111 1111 1111"}, "payments": [{"iban": "DE89370400440532013000"}], "total": 12.50}"#;
    let mut event: Value = serde_json::from_slice(
        &std::fs::read(root().join("edge-signer/tests/fixtures/post-form-origin-path.json"))
            .unwrap(),
    )
    .unwrap();
    let request = &mut event["Records"][0]["cf"]["request"];
    request["headers"]["content-type"] =
        serde_json::json!([{"key": "Content-Type", "value": "application/json"}]);
    use base64::Engine as _;
    request["body"]["data"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    let event_file = dir.join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let js = format!(
        "const {{ handler }} = await import({:?}); const fs = await import('node:fs');\n\
         console.log(JSON.stringify(await handler(JSON.parse(fs.readFileSync({:?}, 'utf8')))));",
        format!("file://{}", extract.join("index.mjs").display()),
        event_file.display().to_string()
    );
    let node = ok(Command::new("node")
        .args(["--input-type=module", "-e", &js])
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("node not found: the edge tests need Node.js 20"));
    let forwarded: Value = serde_json::from_slice(&node.stdout).unwrap();
    assert_eq!(forwarded["body"]["action"], "replace", "{forwarded}");
    let data = forwarded["body"]["data"].as_str().unwrap();
    assert!(!data.contains("4111") && !data.contains("DE89"), "{data}");
    assert!(
        data.contains(r#""total": 12.50}"#),
        "the rest is forwarded as sent: {data}"
    );
    let sent = dir.join("forwarded.json");
    std::fs::write(&sent, data).unwrap();

    // A profile CloudFront encrypts with (in a field-level encryption configuration) is not
    // also encrypted at the edge: the fields would be encrypted twice.
    ok(fle(&home, &["configs", "create", "--profile", "spa"]));
    let twice = package(&["--json-fields", "/card/number"]);
    assert_eq!(
        twice.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    assert!(String::from_utf8_lossy(&twice.stderr).contains("CloudFront encrypts it"));

    let keyring = home.join("private/spa.json");
    let opened = ok(fle(
        &home,
        &[
            "decrypt",
            "--keyring",
            keyring.to_str().unwrap(),
            "--json",
            "--fields",
            "/card/number,/payments/*/iban",
            sent.to_str().unwrap(),
        ],
    ));
    let opened: Value = serde_json::from_slice(&opened.stdout).unwrap();
    assert_eq!(opened, serde_json::from_str::<Value>(body).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rotating_an_edge_encrypted_profile_publishes_a_package_with_the_new_key() {
    let dir = std::env::temp_dir().join(format!("fle-edge-rotate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let home = dir.join("keystore");
    ok(fle(
        &home,
        &["keys", "generate", "--name", "k1", "--provider", "spa"],
    ));
    ok(fle(
        &home,
        &[
            "profiles", "create", "--name", "spa", "--key", "k1", "--field", "card_*",
        ],
    ));
    let zip = dir.join("edge.zip");
    ok(fle(
        &home,
        &[
            "edge",
            "package",
            "--out",
            zip.to_str().unwrap(),
            "--encrypt",
            "spa",
            "--json-fields",
            "/card/number",
            "--region",
            "eu-west-3",
        ],
    ));
    let config = dir.join("config.json");
    let script = "import sys, zipfile\nopen(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('config.json'))";
    ok(Command::new(python())
        .args(["-c", script])
        .arg(&zip)
        .arg(&config)
        .output()
        .unwrap());
    let edge = |key: &str| {
        fle(
            &home,
            &[
                "keys",
                "rotate",
                "--profile",
                "spa",
                "--new-key-name",
                key,
                "--grace",
                "1h",
                "--edge-function",
                "fle-edge",
                "--edge-distribution",
                "E1EXAMPLE",
                "--edge-config",
                config.to_str().unwrap(),
            ],
        )
    };
    // A package config for another profile is refused before any step.
    let other = dir.join("other.json");
    let mut text: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    text["encrypt"]["profile"] = "someone-else".into();
    std::fs::write(&other, text.to_string()).unwrap();
    let refused = fle(
        &home,
        &[
            "keys",
            "rotate",
            "--profile",
            "spa",
            "--edge-function",
            "f",
            "--edge-distribution",
            "E1",
            "--edge-config",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    for (n, key) in [(1, "k2"), (2, "k3")] {
        ok(edge(key));
        let published = home.join(format!("edge/fle-edge-{n}.zip"));
        let out = dir.join(format!("published-{n}.json"));
        ok(Command::new(python())
            .args(["-c", script])
            .arg(&published)
            .arg(&out)
            .output()
            .unwrap());
        let inside: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(inside["encrypt"]["keyName"], key);
        assert_eq!(
            inside["encrypt"]["json"]["fields"],
            serde_json::json!(["/card/number"])
        );
        assert_eq!(inside["region"], "eu-west-3");
        assert_eq!(inside["region"], config_value(&config, "region"));
        let exported = ok(fle(&home, &["keys", "export-public", key])).stdout;
        assert_eq!(
            inside["encrypt"]["publicKey"].as_str().unwrap().trim(),
            String::from_utf8(exported).unwrap().trim()
        );
        let state: Value =
            serde_json::from_slice(&std::fs::read(home.join("state.json")).unwrap()).unwrap();
        assert_eq!(
            state["edgeAssociations"],
            serde_json::json!([{"distributionId": "E1EXAMPLE", "pathPattern": "*",
                                "versionArn": format!("local:function:fle-edge:{n}")}])
        );
    }
    assert!(
        !home.join("edge/fle-edge-3.zip").exists(),
        "a rerun published twice"
    );

    // A rerun with another package (a selector added) publishes it: a version is reused only
    // when its code is the same.
    let out = fle(
        &home,
        &[
            "keys",
            "rotate",
            "--profile",
            "spa",
            "--new-key-name",
            "k4",
            "--grace",
            "1h",
            "--edge-function",
            "fle-edge",
            "--edge-distribution",
            "E1EXAMPLE",
            "--edge-config",
            config.to_str().unwrap(),
            "--danger-stop-after",
            "5",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(86),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut wider: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    wider["encrypt"]["json"]["fields"] = serde_json::json!(["/card/number", "/card/cvc"]);
    std::fs::write(&config, wider.to_string()).unwrap();
    ok(edge("k4"));
    let state: Value =
        serde_json::from_slice(&std::fs::read(home.join("state.json")).unwrap()).unwrap();
    assert_eq!(
        state["edgeAssociations"][0]["versionArn"],
        "local:function:fle-edge:4"
    );
    let out = dir.join("published-4.json");
    ok(Command::new(python())
        .args(["-c", script])
        .arg(home.join("edge/fle-edge-4.zip"))
        .arg(&out)
        .output()
        .unwrap());
    let inside: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        inside["encrypt"]["json"]["fields"],
        serde_json::json!(["/card/number", "/card/cvc"])
    );
    assert_eq!(inside["encrypt"]["keyName"], "k4");
    // The marker survives a new comment, so the next rotation still needs the edge flags.
    ok(fle(
        &home,
        &["profiles", "update", "spa", "--comment", "checkout SPA"],
    ));
    let plain = fle(
        &home,
        &["keys", "rotate", "--profile", "spa", "--new-key-name", "k5"],
    );
    assert_eq!(
        plain.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    assert!(String::from_utf8_lossy(&plain.stderr).contains("encrypted at the edge"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn config_value(path: &Path, name: &str) -> Value {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v[name].clone()
}
