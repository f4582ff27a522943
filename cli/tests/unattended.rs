//! What a scheduled, unattended `fle` must get right (issue: ready for unattended operations):
//! no input panics, a mistyped keystore is an error, a dry run refuses where the real run would,
//! a broken key is named and the others keep working, a pending rotation is not silently
//! renamed, and a closed stdout ends the command quietly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write as _;
use std::process::Stdio;

use common::{encrypt_for, Store};

/// Exit code of a Rust panic: never acceptable from `fle`.
const PANIC: i32 = 101;

fn assert_refused_cleanly(s: &Store, args: &[&str]) -> String {
    let out = s.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(
        out.status.code(),
        Some(PANIC),
        "fle {args:?} panicked: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "fle {args:?}: {stderr}");
    assert_eq!(out.status.code(), Some(2), "fle {args:?}: {stderr}");
    stderr
}

#[test]
fn extreme_durations_and_times_are_refused_not_panicked_on() {
    let s = Store::with_profile();
    let before = s.files();
    let extremes = [
        "99999999999d",
        "18446744073709551615s",
        "584942417355y",
        "-1s",
        "1e9s",
        "",
    ];
    let flags: &[(&[&str], &str)] = &[
        (
            &["keys", "rotate", "--profile", "checkout", "--dry-run"],
            "--grace",
        ),
        (
            &["keys", "rotate", "--profile", "checkout", "--dry-run"],
            "--switch-delay",
        ),
        (&["keys", "list"], "--deploy-timeout"),
        (
            &["api-keys", "rotate", "--distribution", "E1", "--dry-run"],
            "--grace",
        ),
        (
            &["api-keys", "rotate", "--distribution", "E1", "--dry-run"],
            "--deploy-timeout",
        ),
    ];
    for (cmd, flag) in flags {
        for value in extremes {
            let arg = format!("{flag}={value}");
            let mut args = cmd.to_vec();
            args.push(&arg);
            let err = assert_refused_cleanly(&s, &args);
            assert!(err.contains(flag), "{args:?}: {err}");
        }
    }
    // Just inside the bounds works, and writes a valid retire-after (year 2036 and later).
    let plan = s.json(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--grace",
        "3650d",
        "--dry-run",
    ]);
    assert!(
        plan["retireAfter"].as_str().unwrap().ends_with('Z'),
        "{plan}"
    );
    assert_refused_cleanly(
        &s,
        &[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--grace",
            "3651d",
            "--dry-run",
        ],
    );
    // `edge sign --time`: before 1970, after 9999, garbage.
    let event = s.root.parent().unwrap().join("event.json");
    std::fs::write(&event, br#"{"Records":[{"cf":{"request":{"method":"GET","uri":"/","querystring":"","headers":{},"origin":{"custom":{"domainName":"api.example.com","customHeaders":{}}}}}}]}"#).unwrap();
    for time in [
        "1969-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z",
        "9999-99-99T99:99:99Z",
        "+275760-09-13T00:00:00Z",
        "now",
    ] {
        let args = [
            "edge",
            "sign",
            "--event",
            event.to_str().unwrap(),
            "--region",
            "eu-west-1",
            "--time",
            time,
        ];
        let out = s.run(&args);
        assert_ne!(out.status.code(), Some(PANIC), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}"
        );
    }
    assert_eq!(s.files(), before, "a refused command changed the keystore");
}

#[test]
fn readers_refuse_a_keystore_that_does_not_exist() {
    let s = Store::new();
    let typo = s.root.parent().unwrap().join("typo");
    let ks = typo.to_str().unwrap();
    for cmd in [
        &["keys", "list"][..],
        &["keys", "show", "k1"],
        &["keys", "retire"],
        &["keys", "retire", "--dry-run"],
        &["keys", "rotate", "--profile", "checkout"],
        &["keys", "export-public", "k1"],
        &["profiles", "list"],
        &[
            "profiles", "create", "--name", "p", "--key", "k1", "--field", "f",
        ],
        &["configs", "list"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--keystore", ks]);
        let err = assert_refused_cleanly(&s, &args);
        assert!(
            err.contains(&format!("keystore {ks} does not exist")),
            "{args:?}: {err}"
        );
        assert!(!typo.exists(), "{args:?} created the mistyped keystore");
    }
    // The same through FLE_HOME, the way a cron job usually points at it.
    let out = s
        .cmd(&["keys", "retire"])
        .env("FLE_HOME", &typo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("keystore {ks} does not exist")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!typo.exists());
    // Creating commands create it.
    s.ok(&[
        "keys",
        "generate",
        "--name",
        "k1",
        "--provider",
        "prov",
        "--keystore",
        ks,
    ]);
    assert!(typo.join("private").join("prov.json").exists());
}

#[test]
fn at_the_public_key_quota_nothing_is_stored_and_dry_runs_refuse() {
    let s = Store::with_profile();
    for i in 2..=10 {
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
    for args in [
        &["keys", "generate", "--name", "k11", "--provider", "prov"][..],
        &[
            "keys",
            "generate",
            "--name",
            "k11",
            "--provider",
            "prov",
            "--dry-run",
        ],
        &["keys", "rotate", "--profile", "checkout"],
        &["keys", "rotate", "--profile", "checkout", "--dry-run"],
    ] {
        let err = s.fails(args, 1);
        assert!(
            err.contains("too many public keys: the limit is 10"),
            "{args:?}: {err}"
        );
        assert!(err.contains("before step 1"), "{args:?}: {err}");
    }
    assert_eq!(s.files(), before, "a refused run stored something");
    assert!(!s.keyring_names("prov").contains(&"k11".to_owned()));
}

#[test]
fn a_broken_private_key_is_named_and_the_others_keep_working() {
    let s = Store::with_profile();
    s.ok(&["keys", "generate", "--name", "k2", "--provider", "prov"]);
    let message = encrypt_for(&s, "prov", "k1", b"4111111111111111");
    // Truncate k2's PEM in the keyring file, as a bad copy-paste would.
    let path = s.root.join("private").join("prov.json");
    let mut pem = String::new();
    s.edit_keyring("prov", |keys| {
        let k2 = keys.iter_mut().find(|k| k["keyName"] == "k2").unwrap();
        pem = k2["privateKeyPem"].as_str().unwrap().to_owned();
        let cut = format!("{}\n-----END PRIVATE KEY-----\n", &pem[..pem.len() / 2]);
        k2["privateKeyPem"] = serde_json::Value::String(cut);
    });

    let list = s.json(&["keys", "list"]);
    let keys = list["keys"].as_array().unwrap();
    let find = |n: &str| keys.iter().find(|k| k["name"] == n).unwrap();
    assert!(find("k2")["broken"].is_string(), "{list}");
    assert!(find("k1").get("broken").is_none(), "{list}");
    let text = s.ok(&["keys", "list"]);
    let line = text.lines().find(|l| l.starts_with("k2 ")).unwrap();
    assert!(line.contains("BROKEN"), "{text}");
    assert!(!text.contains(&pem[40..80]), "key material in the listing");

    // `fle decrypt --keyring` warns about k2 by name and decrypts k1's message.
    let msg = s.root.parent().unwrap().join("msg.b64");
    std::fs::write(&msg, &message).unwrap();
    let out = s.run(&[
        "decrypt",
        "--keyring",
        path.to_str().unwrap(),
        "--binary",
        msg.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(out.stdout, b"4111111111111111");
    assert!(stderr.contains("key \"k2\" cannot be used"), "{stderr}");
    assert!(!stderr.contains(&pem[40..80]), "key material in a warning");
}

#[test]
fn a_pending_rotation_is_not_silently_renamed() {
    let s = Store::with_profile();
    // Leave a rotation to `first` pending: stopped after step 2 (private key stored).
    s.rotate_stopped_after("checkout", "first", 2);
    let before = s.files();
    let err = s.fails(
        &[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--new-key-name",
            "second",
        ],
        1,
    );
    assert!(err.contains("\"first\" is pending"), "{err}");
    assert!(err.contains("\"second\""), "{err}");
    assert_eq!(s.files(), before);
    // Finishing it, with or without the pending name, works.
    let done = s.json(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "first",
    ]);
    assert_eq!(done["newKey"], "first", "{done}");
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let s = Store::with_profile();
    for i in 2..=8 {
        s.ok(&[
            "keys",
            "generate",
            "--name",
            &format!("key-{i}"),
            "--provider",
            "prov",
        ]);
    }
    for args in [
        &["keys", "list", "--output", "json"][..],
        &["keys", "list"],
        &["profiles", "list", "--output", "json"],
        &["demo"],
    ] {
        let mut child = s
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before fle writes (it reads the keystore first).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {} {stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    // And a write error that is not a closed pipe still fails: /dev/full.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = s.cmd(&["keys", "list"]).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let mut e = std::io::stderr();
        let _ = writeln!(e, "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn no_op_updates_stray_locks_and_rollbacks() {
    let s = Store::with_profile();
    // A rotation of a profile that does not exist leaves no lock file behind.
    s.fails(&["keys", "rotate", "--profile", "nope"], 1);
    assert!(!s.root.join("locks").join("rotate-nope.lock").exists());

    // An update that changes nothing writes nothing: the ETag stays.
    let etag = s.json(&["profiles", "show", "checkout"])["etag"].clone();
    let out = s.json(&[
        "profiles", "update", "checkout", "--field", "card", "--field", "cvv*",
    ]);
    assert_eq!(out["profile"]["etag"], etag, "{out}");
    assert_eq!(s.json(&["profiles", "show", "checkout"])["etag"], etag);
    assert!(s
        .ok(&["profiles", "update", "checkout", "--comment", ""])
        .starts_with("nothing to update: unchanged profile checkout in "));

    // Pointing the profile back at a key on its way out works, with a warning.
    s.ok(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
    ]);
    let out = s.run(&["profiles", "update", "checkout", "--key", "k1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: key \"k1\" is previous"),
        "{stderr}"
    );
}

/// Runs `fle` against `endpoint` with throw-away credentials and no AWS config files; fails the
/// test (instead of hanging it) if fle has not ended after `limit`.
fn run_against(endpoint: &str, args: &[&str], limit: std::time::Duration) -> (Option<i32>, String) {
    let s = Store::new();
    let home = s.root.parent().unwrap().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut child = s
        .cmd(args)
        .env("HOME", &home)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_MAX_ATTEMPTS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("fle {args:?} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn aws_calls_end_with_a_readable_error_instead_of_hanging() {
    use std::time::Duration;
    // An endpoint that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    for args in [
        &["keys", "list", "--backend", "aws", "--aws-timeout", "3s"][..],
        &[
            "api-keys",
            "rotate",
            "--distribution",
            "E1",
            "--rest-api",
            "R",
            "--usage-plan",
            "U",
            "--dry-run",
            "--aws-timeout",
            "3s",
        ],
    ] {
        let (code, stderr) = run_against(&silent_url, args, Duration::from_secs(30));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no answer in time"), "{args:?}: {stderr}");
        assert!(!stderr.contains("DispatchFailure"), "{args:?}: {stderr}");
    }

    // A port nobody listens on: the connection is refused, said in words.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let (code, stderr) = run_against(
        &refused_url,
        &["keys", "list", "--backend", "aws", "--aws-timeout", "5s"],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    assert!(!stderr.contains("DispatchFailure"), "{stderr}");
    assert!(!stderr.contains("ConnectorError"), "{stderr}");

    // An unknown --aws-profile is named as such, not as an IMDS failure.
    let (code, stderr) = run_against(
        &refused_url,
        &[
            "keys",
            "list",
            "--backend",
            "aws",
            "--aws-profile",
            "no-such-profile",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("AWS profile \"no-such-profile\" is not defined"),
        "{stderr}"
    );
    assert!(!stderr.contains("IMDS"), "{stderr}");
}

#[test]
fn a_key_is_retired_on_demand_unless_a_profile_uses_it() {
    let s = Store::with_profile();
    // A mistyped key: generated, never used.
    s.ok(&[
        "keys",
        "generate",
        "--name",
        "k1-typo",
        "--provider",
        "prov",
    ]);
    // Refused while a profile encrypts with it, and nothing changes.
    let before = s.files();
    for args in [
        &["keys", "delete", "k1"][..],
        &["keys", "retire", "--now", "k1"],
        &["keys", "retire", "--now", "k1", "--dry-run"],
    ] {
        let err = s.fails(args, 1);
        assert!(
            err.contains("in use by profile checkout"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(s.files(), before);
    // Unknown key: refused.
    assert!(s
        .fails(&["keys", "delete", "nope"], 1)
        .contains("does not exist"));
    // A dry run plans, then the real run removes both halves.
    let plan = s.json(&["keys", "delete", "k1-typo", "--dry-run"]);
    assert_eq!(plan["keys"][0]["outcome"], "planned", "{plan}");
    assert_eq!(s.files(), before);
    let done = s.json(&["keys", "delete", "k1-typo"]);
    assert_eq!(done["keys"][0]["outcome"], "retired", "{done}");
    let list = s.json(&["keys", "list"]);
    assert!(
        list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["name"] != "k1-typo"),
        "{list}"
    );
    // `retire --now` on a key that is `previous` but inside its grace (compromised).
    s.ok(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
        "--grace",
        "30d",
    ]);
    // A plain retire keeps it (in its grace) and says until when.
    let kept = s.json(&["keys", "retire"]);
    assert_eq!(kept["keys"][0]["keyName"], "k1", "{kept}");
    assert_eq!(kept["keys"][0]["outcome"], "kept", "{kept}");
    assert!(
        kept["keys"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("in its grace period until 20"),
        "{kept}"
    );
    let text = s.ok(&["keys", "retire"]);
    assert!(
        text.starts_with("retired 0 key(s), kept 1 in local keystore"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("k1 ")).unwrap();
    assert!(
        row.contains("kept") && row.contains("in its grace period until 20"),
        "{text}"
    );
    let now = s.json(&["keys", "retire", "--now", "k1"]);
    assert_eq!(now["keys"][0]["outcome"], "retired", "{now}");
    assert!(!s.keyring_names("prov").contains(&"k1".to_owned()));
}

#[test]
fn version_completions_and_man_page() {
    let s = Store::new();
    let version = s.ok(&["--version"]);
    assert!(version.starts_with("fle 0."), "{version}");
    // The git revision (or, outside a checkout, that it is unknown).
    assert!(
        version.contains(" (") && version.trim_end().ends_with(')'),
        "{version}"
    );
    for (shell, marker) in [
        ("bash", "_fle()"),
        ("zsh", "#compdef fle"),
        ("fish", "complete -c fle"),
    ] {
        let script = s.ok(&["completions", shell]);
        assert!(
            script.contains(marker),
            "{shell}: {}",
            &script[..200.min(script.len())]
        );
        assert!(
            script.contains("rotate") && script.contains("retire"),
            "{shell}"
        );
    }
    let man = s.ok(&["man"]);
    assert!(man.contains(".TH fle 1"), "{}", &man[..200.min(man.len())]);
    assert!(man.contains("keys"), "the man page lists the commands");
    s.fails(&["completions", "tcsh"], 2);
}

#[test]
fn global_options_before_or_after_the_command_and_from_the_environment() {
    let s = Store::with_profile();
    let ks = s.root.to_str().unwrap();
    let after = s.run(&["keys", "list", "--output", "json", "--keystore", ks]);
    let before = s.run(&["--output", "json", "--keystore", ks, "keys", "list"]);
    let mixed = s.run(&["--output=json", "keys", "list", "--keystore", ks]);
    assert!(after.status.success());
    assert_eq!(before.stdout, after.stdout);
    assert_eq!(mixed.stdout, after.stdout);
    // FLE_OUTPUT and FLE_BACKEND as defaults; a flag still wins.
    let env = s
        .cmd(&["keys", "list"])
        .env("FLE_OUTPUT", "json")
        .output()
        .unwrap();
    assert_eq!(env.stdout, after.stdout);
    let flag = s
        .cmd(&["keys", "list", "--output", "text"])
        .env("FLE_OUTPUT", "json")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&flag.stdout).starts_with("NAME"));
    let aws = s
        .cmd(&["keys", "list", "--aws-profile", "no-such-profile"])
        .env("FLE_BACKEND", "aws")
        .env("HOME", s.root.parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(aws.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&aws.stderr).contains("AWS profile"));
    // The same spelling before the command for the AWS profile.
    let before_aws = s
        .cmd(&[
            "--backend",
            "aws",
            "--aws-profile",
            "no-such-profile",
            "keys",
            "list",
        ])
        .env("HOME", s.root.parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(before_aws.stderr, aws.stderr);
}

#[test]
fn status_reports_what_needs_attention() {
    let s = Store::with_profile();
    let ok = s.json(&["status"]);
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(s
        .ok(&["status"])
        .starts_with("ok: nothing needs attention in local keystore"));

    // Retirement due: a rotation with no grace.
    s.ok(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
        "--grace",
        "0s",
    ]);
    // A rotation left pending (stopped after step 2).
    s.rotate_stopped_after("checkout", "k3", 2);
    // A key whose private half is broken, and one whose private half is gone.
    s.ok(&["keys", "generate", "--name", "spare", "--provider", "prov"]);
    s.ok(&["keys", "generate", "--name", "lost", "--provider", "prov"]);
    s.ok(&[
        "profiles", "create", "--name", "p-lost", "--key", "lost", "--field", "zip",
    ]);
    s.edit_keyring("prov", |keys| {
        keys.retain(|k| k["keyName"] != "lost");
        let spare = keys.iter_mut().find(|k| k["keyName"] == "spare").unwrap();
        spare["privateKeyPem"] = serde_json::Value::String(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
        );
    });
    // And a keystore directory others can write.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&s.root, std::fs::Permissions::from_mode(0o777)).unwrap();

    let out = s.run(&["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let codes: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["subject"].as_str().unwrap()))
        .collect();
    for want in [
        ("retirement-due", "k1"),
        ("rotation-pending", "k3"),
        ("private-key-broken", "spare"),
        ("profile-key-without-private-key", "p-lost"),
    ] {
        assert!(codes.contains(&want), "{want:?} not in {codes:?}");
    }
    assert!(
        codes.iter().any(|(c, _)| *c == "store-permissions"),
        "{codes:?}"
    );
    // Errors come first; nothing quotes key material.
    assert_eq!(v["findings"][0]["level"], "error", "{v}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("AAAA"));
    std::fs::set_permissions(&s.root, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn rerunning_a_create_does_not_duplicate() {
    let s = Store::with_profile();
    let first = s.json(&["configs", "create", "--profile", "checkout"]);
    let id = first["config"]["id"].as_str().unwrap().to_owned();
    assert!(first.get("existed").is_none(), "{first}");
    // The same command again (after a timeout, say): the same configuration, nothing new.
    let again = s.json(&["configs", "create", "--profile", "checkout"]);
    assert_eq!(again["existed"], true, "{again}");
    assert_eq!(again["config"]["id"], id.as_str());
    assert_eq!(
        s.json(&["configs", "list"])["configs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(s
        .ok(&["configs", "create", "--profile", "checkout"])
        .starts_with("already created (same caller reference and content; nothing changed)"));
    // Different content is a different configuration; an explicit reference makes a twin.
    let other = s.json(&[
        "configs",
        "create",
        "--profile",
        "checkout",
        "--forward-unknown-content-type",
        "true",
    ]);
    assert_ne!(other["config"]["id"], id.as_str());
    let twin = s.json(&[
        "configs",
        "create",
        "--profile",
        "checkout",
        "--caller-reference",
        "twin-1",
    ]);
    assert_ne!(twin["config"]["id"], id.as_str());
    assert_eq!(
        s.json(&["configs", "list"])["configs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Profiles: a rerun of the same create succeeds with the same profile; a different
    // profile under the same name is still refused.
    let p1 = s.json(&[
        "profiles", "create", "--name", "p2", "--key", "k1", "--field", "zip",
    ]);
    let p2 = s.json(&[
        "profiles", "create", "--name", "p2", "--key", "k1", "--field", "zip",
    ]);
    assert_eq!(p1["profile"]["id"], p2["profile"]["id"]);
    assert!(p1.get("existed").is_none(), "{p1}");
    assert_eq!(p2["existed"], true, "{p2}");
    let err = s.fails(
        &[
            "profiles", "create", "--name", "p2", "--key", "k1", "--field", "postcode",
        ],
        1,
    );
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn keys_of_an_unfinished_rotation_are_not_deleted_on_demand() {
    let s = Store::with_profile();
    // Stopped after step 4: the profile already encrypts with k9, k1 is still `current` (its
    // grace has not started) and no profile uses it, but edges may still encrypt with it.
    s.rotate_stopped_after("checkout", "k9", 4);
    let before = s.files();
    for name in ["k1", "k9"] {
        let err = s.fails(&["keys", "delete", name], 1);
        assert!(
            err.contains("unfinished rotation") || err.contains("in use by profile"),
            "{name}: {err}"
        );
    }
    let err = s.fails(&["keys", "delete", "k1"], 1);
    assert!(
        err.contains("finish it first with `fle keys rotate --profile checkout`"),
        "{err}"
    );
    assert_eq!(s.files(), before);
    // Finished, k1 is previous: now it can go at once (a compromised key).
    s.ok(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k9",
    ]);
    assert_eq!(
        s.json(&["keys", "delete", "k1"])["keys"][0]["outcome"],
        "retired"
    );
}

#[test]
fn objects_are_found_by_name_or_by_the_id_errors_print() {
    let s = Store::with_profile();
    let profile = s.json(&["profiles", "show", "checkout"]);
    let pid = profile["id"].as_str().unwrap().to_owned();
    let key = s.json(&["keys", "show", "k1"]);
    let kid = key["publicKeyId"].as_str().unwrap().to_owned();
    // What a stale-ETag error names is the id: show, update and the key commands take it.
    let err = s.fails(
        &[
            "profiles",
            "update",
            "checkout",
            "--comment",
            "x",
            "--if-match",
            "EAAAAAAAAAAAAA",
        ],
        1,
    );
    assert!(err.contains(&pid), "{err}");
    assert_eq!(s.json(&["profiles", "show", &pid])["name"], "checkout");
    assert_eq!(s.json(&["keys", "show", &kid])["name"], "k1");
    let pem = s.ok(&["keys", "export-public", &kid]);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    s.ok(&["profiles", "update", &pid, "--comment", "by id"]);
    assert_eq!(
        s.json(&["profiles", "show", "checkout"])["comment"],
        "by id"
    );
    // And a key goes by its id too.
    s.ok(&["keys", "generate", "--name", "spare", "--provider", "prov"]);
    let spare = s.json(&["keys", "show", "spare"])["publicKeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        s.json(&["keys", "delete", &spare])["keys"][0]["keyName"],
        "spare"
    );
}
