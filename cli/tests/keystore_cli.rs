//! The keys/profiles/configs commands against the local keystore: CloudFront's rules, ETags,
//! dry runs, JSON output, file modes, and concurrent processes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use common::Store;

#[test]
fn generate_stores_private_0600_and_uploads_public() {
    let s = Store::new();
    let v = s.json(&["keys", "generate", "--name", "k1", "--provider", "prov:1"]);
    assert_eq!(v["name"], "k1");
    assert_eq!(v["provider"], "prov:1");
    assert!(v["publicKeyId"].as_str().unwrap().starts_with('K'));
    assert_eq!(v["steps"].as_array().unwrap().len(), 3);
    let path = s.root.join("private/prov:1.json");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&s.root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let ring = s.keyring("prov:1");
    assert_eq!(ring["keys"][0]["keyName"], "k1");
    assert_eq!(ring["keys"][0]["status"], "current");
    assert!(ring["keys"][0]["privateKeyPem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    // The exported public key is the public half of the stored private key.
    let exported = s.ok(&["keys", "export-public", "k1"]);
    assert_eq!(exported, s.public_pem("k1"));
    let json = s.json(&["keys", "export-public", "k1"]);
    assert_eq!(json["publicKeyPem"], s.public_pem("k1").as_str());
    assert_eq!(json["name"], "k1");
    // Never overwritten: a second generate of the same name is refused and changes nothing.
    let before = s.files();
    let err = s.fails(
        &["keys", "generate", "--name", "k1", "--provider", "prov:1"],
        1,
    );
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(before, s.files());
}

#[test]
fn no_command_prints_private_key_material() {
    let s = Store::with_profile();
    s.ok(&["keys", "rotate", "--profile", "checkout"]);
    let secret_bits: Vec<String> = s.keyring("prov")["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            k["privateKeyPem"]
                .as_str()
                .unwrap()
                .lines()
                .nth(3)
                .unwrap()
                .to_owned()
        })
        .collect();
    for args in [
        vec!["keys", "list"],
        vec!["keys", "list", "--output", "json"],
        vec!["keys", "show", "k1", "--output", "json"],
        vec!["keys", "show", "k1"],
        vec!["keys", "export-public", "k1"],
        vec!["profiles", "show", "checkout", "--output", "json"],
    ] {
        let out = s.run(&args);
        let all = [out.stdout, out.stderr].concat();
        let text = String::from_utf8_lossy(&all);
        assert!(!text.contains("PRIVATE KEY"), "{args:?}");
        for bit in &secret_bits {
            assert!(
                !text.contains(bit.as_str()),
                "{args:?} printed private key material"
            );
        }
    }
}

#[test]
fn export_public_never_overwrites_without_force() {
    let s = Store::with_profile();
    let file = s.root.parent().unwrap().join("k1.pem");
    std::fs::write(&file, "keep me").unwrap();
    let err = s.fails(
        &[
            "keys",
            "export-public",
            "k1",
            "--out",
            file.to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    s.ok(&[
        "keys",
        "export-public",
        "k1",
        "--out",
        file.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), s.public_pem("k1"));
}

#[test]
fn cloudfront_name_and_pattern_rules() {
    let s = Store::with_profile();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "keys",
                "generate",
                "--name",
                "bad name",
                "--provider",
                "prov",
            ],
            "key name \"bad name\" contains ' '",
        ),
        (
            &["keys", "generate", "--name", "k2", "--provider", "prov/x"],
            "provider id \"prov/x\" contains '/'",
        ),
        (
            &[
                "profiles", "create", "--name", "p2", "--key", "k1", "--field", "ca*rd",
            ],
            "field pattern \"ca*rd\" contains '*'",
        ),
        (
            &[
                "profiles",
                "create",
                "--name",
                "p2",
                "--key",
                "k1",
                "--field",
                "card*",
                "--field",
                "cardnumber",
            ],
            "overlap",
        ),
        (
            &[
                "profiles", "create", "--name", "p2", "--key", "k1", "--field", "a", "--field", "a",
            ],
            "overlap",
        ),
        (
            &[
                "profiles", "create", "--name", "p:2", "--key", "k1", "--field", "a",
            ],
            "profile name \"p:2\" contains ':'",
        ),
        (
            &[
                "profiles", "create", "--name", "p2", "--key", "k1", "--field", "*",
            ],
            "at least one character before '*'",
        ),
        (
            &[
                "profiles",
                "create",
                "--name",
                "p2",
                "--key",
                "k1",
                "--field",
                "a",
                "--provider",
                "other",
            ],
            "is in provider prov's keyring",
        ),
        (
            &[
                "configs",
                "create",
                "--query-arg",
                "a=checkout",
                "--query-arg",
                "a=checkout",
            ],
            "mapped twice",
        ),
        (
            &["configs", "create", "--content-type", "text/plain"],
            "is not CONTENT-TYPE=PROFILE",
        ),
        (
            &["configs", "create"],
            "needs a content-type or a query-argument mapping",
        ),
    ];
    let long = "x".repeat(129);
    let before = s.files();
    for (args, want) in cases {
        let err = s.fails(args, 2);
        assert!(err.contains(want), "fle {args:?}: {err}");
    }
    let err = s.fails(
        &["keys", "generate", "--name", &long, "--provider", "prov"],
        2,
    );
    assert!(err.contains("longer than 128"), "{err}");
    let fields: Vec<String> = (0..11).map(|i| format!("f{i}x")).collect();
    let mut args = vec!["profiles", "create", "--name", "p2", "--key", "k1"];
    for f in &fields {
        args.extend(["--field", f.as_str()]);
    }
    let err = s.fails(&args, 2);
    assert!(
        err.contains("11 field patterns; CloudFront allows at most 10"),
        "{err}"
    );
    let qa: Vec<String> = (0..6).map(|i| format!("q{i}=checkout")).collect();
    let mut args = vec!["configs", "create"];
    for q in &qa {
        args.extend(["--query-arg", q.as_str()]);
    }
    let err = s.fails(&args, 2);
    assert!(err.contains("at most 5"), "{err}");
    let err = s.fails(
        &[
            "profiles", "create", "--name", "checkout", "--key", "k1", "--field", "x",
        ],
        1,
    );
    assert!(err.contains("profile \"checkout\" already exists"), "{err}");
    let err = s.fails(
        &[
            "profiles", "create", "--name", "p3", "--key", "nope", "--field", "x",
        ],
        1,
    );
    assert!(err.contains("no public key named \"nope\""), "{err}");
    assert_eq!(before, s.files(), "a refused command changed the keystore");
}

#[test]
fn ten_keys_at_most() {
    let s = Store::new();
    for i in 0..10 {
        s.ok(&[
            "keys",
            "generate",
            "--name",
            &format!("k{i}"),
            "--provider",
            "prov",
        ]);
    }
    let before = s.files();
    let err = s.fails(
        &["keys", "generate", "--name", "k10", "--provider", "prov"],
        1,
    );
    assert!(
        err.contains("checks before step 1 failed: too many public keys: the limit is 10"),
        "{err}"
    );
    // Refused before anything is stored: no private key without a public key for backends to
    // load (cli/tests/unattended.rs covers dry runs and rotation at the quota).
    assert_eq!(s.files(), before);
    assert_eq!(
        s.json(&["keys", "list"])["keys"].as_array().unwrap().len(),
        10
    );
}

#[test]
fn in_use_rules_and_etags_through_the_cli() {
    let s = Store::with_profile();
    let c = s.json(&["configs", "create", "--profile", "checkout"]);
    let id = c["config"]["id"].as_str().unwrap().to_owned();
    let err = s.fails(&["profiles", "delete", "checkout"], 1);
    assert!(
        err.contains(&format!("is in use by configuration {id}")),
        "{err}"
    );
    s.ok(&["configs", "attach", &id, "--distribution", "E2DIST"]);
    // Both the real run and the dry run name the behavior (path pattern), not just the
    // distribution.
    for args in [
        &["configs", "delete", &id][..],
        &["configs", "delete", &id, "--dry-run"],
    ] {
        let err = s.fails(args, 1);
        assert!(
            err.contains("is in use by distribution E2DIST behavior *"),
            "{err}"
        );
    }
    let shown = s.json(&["configs", "show", &id]);
    assert_eq!(shown["attachedTo"][0]["distributionId"], "E2DIST");
    assert_eq!(shown["contentTypes"][0]["profileName"], "checkout");
    // A stale ETag is refused (exit 1) and changes nothing.
    let etag = s.json(&["profiles", "show", "checkout"])["etag"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok(&["profiles", "update", "checkout", "--comment", "one"]);
    let before = s.files();
    let err = s.fails(
        &[
            "profiles",
            "update",
            "checkout",
            "--comment",
            "two",
            "--if-match",
            &etag,
        ],
        1,
    );
    assert!(
        err.contains("changed since it was read (ETag mismatch)"),
        "{err}"
    );
    assert_eq!(before, s.files());
    s.ok(&["configs", "attach", "--detach", "--distribution", "E2DIST"]);
    s.ok(&["configs", "delete", &id]);
    s.ok(&["profiles", "delete", "checkout"]);
    assert_eq!(
        s.json(&["profiles", "list"])["profiles"],
        serde_json::json!([])
    );
}

#[test]
fn dry_run_changes_nothing() {
    let s = Store::with_profile();
    let c = s.json(&["configs", "create", "--profile", "checkout"]);
    let id = c["config"]["id"].as_str().unwrap().to_owned();
    let before = s.files();
    let runs: &[&[&str]] = &[
        &[
            "keys",
            "generate",
            "--name",
            "k2",
            "--provider",
            "prov",
            "--dry-run",
        ],
        &["keys", "rotate", "--profile", "checkout", "--dry-run"],
        &["keys", "retire", "--dry-run"],
        &[
            "profiles",
            "create",
            "--name",
            "p2",
            "--key",
            "k1",
            "--field",
            "zip",
            "--dry-run",
        ],
        &[
            "profiles",
            "update",
            "checkout",
            "--field",
            "ssn",
            "--dry-run",
        ],
        &[
            "configs",
            "create",
            "--query-arg",
            "x=checkout",
            "--dry-run",
        ],
        &[
            "configs",
            "update",
            &id,
            "--forward-unknown-content-type",
            "true",
            "--dry-run",
        ],
        &["configs", "delete", &id, "--dry-run"],
        &[
            "configs",
            "attach",
            &id,
            "--distribution",
            "E1",
            "--dry-run",
        ],
    ];
    for args in runs {
        let v = s.json(args);
        assert_eq!(v["dryRun"], true, "{args:?}: {v}");
        assert_eq!(before, s.files(), "{args:?} changed the keystore");
    }
    let plan = s.json(&["keys", "rotate", "--profile", "checkout", "--dry-run"]);
    let outcomes: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    // Step 5 (the edge deployment) is not needed: CloudFront encrypts this profile.
    assert_eq!(
        outcomes,
        [
            "planned",
            "planned",
            "planned",
            "planned",
            "not needed",
            "planned"
        ]
    );
    // A dry run that would be refused says so.
    let err = s.fails(
        &[
            "profiles",
            "delete",
            "checkout",
            "--dry-run",
            "--if-match",
            "EOLD",
        ],
        1,
    );
    assert!(err.contains("changed since you read it"), "{err}");
    assert_eq!(before, s.files());
}

#[test]
fn concurrent_processes_do_not_corrupt_the_keystore() {
    let s = Store::new();
    // Eight processes at once, each adding a key (private keyring + public key + state).
    let children: Vec<_> = (0..8)
        .map(|i| {
            s.cmd(&[
                "keys",
                "generate",
                "--name",
                &format!("k{i}"),
                "--provider",
                "prov",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let ring = s.keyring("prov");
    assert_eq!(ring["keys"].as_array().unwrap().len(), 8);
    let listed = s.json(&["keys", "list"]);
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 8);
    for k in keys {
        assert!(k["publicKeyId"].is_string(), "{k}");
        assert_eq!(k["status"], "current");
    }
    // Then profiles from many processes at once: no lost update.
    let children: Vec<_> = (0..8)
        .map(|i| {
            s.cmd(&[
                "profiles",
                "create",
                "--name",
                &format!("p{i}"),
                "--key",
                &format!("k{i}"),
                "--field",
                "card",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(
        s.json(&["profiles", "list"])["profiles"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    // No temp file is left behind.
    assert!(
        s.files().keys().all(|f| !f.contains(".tmp.")),
        "{:?}",
        s.files()
    );
}

#[test]
fn profile_update_switches_key_within_the_provider_only() {
    let s = Store::with_profile();
    s.ok(&["keys", "generate", "--name", "k2", "--provider", "prov"]);
    s.ok(&["keys", "generate", "--name", "other", "--provider", "prov2"]);
    let err = s.fails(&["profiles", "update", "checkout", "--key", "other"], 2);
    assert!(err.contains("prov2"), "{err}");
    let v = s.json(&["profiles", "update", "checkout", "--key", "k2"]);
    assert_eq!(v["profile"]["entities"][0]["keyName"], "k2");
}
