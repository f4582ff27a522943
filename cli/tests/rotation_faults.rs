//! Rotation and retirement under interruption and concurrency, against the local keystore.
//!
//! Each test interrupts `fle keys rotate` after one step (the hidden `--danger-stop-after`
//! exits the process without unwinding, as a kill would), reruns it, and checks the end state:
//! every key accounted for, the profile on the new key, and messages encrypted with the old and
//! the new public key (CloudFront's way, via fle_decrypt::encrypt) still decrypting with the
//! keyring file until the old key is retired.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests: a panic is a failure

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{encrypt_for, Store};

const KILLED: i32 = 86;

fn key_names(s: &Store, provider: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = s.keyring(provider)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["keyName"].as_str().unwrap().to_owned(),
                k["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn public_names(s: &Store) -> Vec<String> {
    let mut v: Vec<String> = s.state()["publicKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["config"]["name"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn decrypts(s: &Store, message: &[u8], want: &[u8]) -> bool {
    match s.decryptor("prov").decrypt(message) {
        Ok(d) => {
            assert_eq!(d.plaintext().expose(), want);
            true
        }
        Err(_) => false,
    }
}

/// Interrupt after `step`, rerun, check the converged end state, then retire.
fn interrupted_rotation_converges(step: usize) {
    let s = Store::with_profile();
    let old_msg = encrypt_for(&s, "prov", "k1", b"4111 1111 1111 1111");
    let out = s.run(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
        "--grace",
        "1h",
        "--danger-stop-after",
        &step.to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(KILLED),
        "step {step}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Interrupted: the old key still decrypts, whatever step we stopped at.
    assert!(
        decrypts(&s, &old_msg, b"4111 1111 1111 1111"),
        "step {step}: old message lost"
    );
    // From step 2 on, the new private key is stored before anything can encrypt with it.
    let names: Vec<String> = key_names(&s, "prov").into_iter().map(|(n, _)| n).collect();
    if step >= 2 {
        assert_eq!(names, ["k1", "k2"], "step {step}");
    } else {
        assert_eq!(names, ["k1"], "step {step}");
    }
    if step >= 3 {
        // A public key never exists without its private key in the keyring.
        assert_eq!(public_names(&s), ["k1", "k2"]);
    }
    let expected_profile_key = if step >= 4 { "k2" } else { "k1" };
    assert_eq!(
        s.profile_key_name("checkout"),
        expected_profile_key,
        "step {step}"
    );

    // Rerun: continues (or, after step 1, starts over) and converges.
    let v = s.json(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
        "--grace",
        "1h",
    ]);
    assert_eq!(v["resumed"], step >= 2, "step {step}: {v}");
    assert_eq!(v["oldKey"], "k1");
    assert_eq!(v["newKey"], "k2");
    assert_eq!(
        key_names(&s, "prov"),
        [
            ("k1".into(), "previous".into()),
            ("k2".into(), "current".into())
        ]
    );
    assert_eq!(public_names(&s), ["k1", "k2"]);
    assert_eq!(s.profile_key_name("checkout"), "k2");

    // Both generations of messages decrypt during the grace period.
    let new_msg = encrypt_for(&s, "prov", "k2", b"new card");
    assert!(decrypts(&s, &old_msg, b"4111 1111 1111 1111"));
    assert!(decrypts(&s, &new_msg, b"new card"));

    // Within grace, retire keeps everything (and says what it keeps).
    let r = s.json(&["keys", "retire"]);
    let kept = r["keys"].as_array().unwrap();
    assert!(kept.iter().all(|k| k["outcome"] == "kept"), "{r}");
    assert_eq!(kept.len(), 1, "{r}");
    assert!(decrypts(&s, &old_msg, b"4111 1111 1111 1111"));
}

#[test]
fn interrupted_after_step_1_converges() {
    interrupted_rotation_converges(1);
}
#[test]
fn interrupted_after_step_2_converges() {
    interrupted_rotation_converges(2);
}
#[test]
fn interrupted_after_step_3_converges() {
    interrupted_rotation_converges(3);
}
#[test]
fn interrupted_after_step_4_converges() {
    interrupted_rotation_converges(4);
}

#[test]
fn interrupted_after_step_6_is_complete() {
    let s = Store::with_profile();
    let out = s.run(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
        "--danger-stop-after",
        "6",
    ]);
    assert_eq!(out.status.code(), Some(KILLED));
    assert_eq!(
        key_names(&s, "prov"),
        [
            ("k1".into(), "previous".into()),
            ("k2".into(), "current".into())
        ]
    );
    assert_eq!(s.profile_key_name("checkout"), "k2");
    // The same command again is a no-op that reports the finished rotation.
    let again = s.json(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--new-key-name",
        "k2",
    ]);
    assert_eq!(again["resumed"], true);
    assert_eq!(again["oldKey"], "k1");
    // Every step found done, but step 5: CloudFront encrypts this profile, no edge to deploy.
    assert!(
        again["steps"].as_array().unwrap().iter().all(|x| {
            let want = if x["step"] == 5 {
                "not needed"
            } else {
                "already done"
            };
            x["outcome"] == want
        }),
        "{again}"
    );
    assert_eq!(
        key_names(&s, "prov"),
        [
            ("k1".into(), "previous".into()),
            ("k2".into(), "current".into())
        ]
    );
    // Nothing pending: a dry run with another name plans a fresh rotation from k2.
    let plan = s.json(&[
        "keys",
        "rotate",
        "--profile",
        "checkout",
        "--dry-run",
        "--new-key-name",
        "k3",
    ]);
    assert_eq!(plan["oldKey"], "k2");
    assert_eq!(plan["resumed"], false);
}

#[test]
fn retire_after_grace_removes_old_key_and_old_messages_stop_decrypting() {
    let s = Store::with_profile();
    let old_msg = encrypt_for(&s, "prov", "k1", b"old");
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
    let new_msg = encrypt_for(&s, "prov", "k2", b"new");
    let plan = s.json(&["keys", "retire", "--dry-run"]);
    assert_eq!(plan["keys"][0]["outcome"], "planned");
    assert!(decrypts(&s, &old_msg, b"old"), "a dry run retired a key");
    let r = s.json(&["keys", "retire"]);
    assert_eq!(r["keys"][0]["keyName"], "k1");
    assert_eq!(r["keys"][0]["outcome"], "retired");
    assert_eq!(key_names(&s, "prov"), [("k2".into(), "current".into())]);
    assert_eq!(public_names(&s), ["k2"]);
    assert!(!decrypts(&s, &old_msg, b"old"));
    assert!(decrypts(&s, &new_msg, b"new"));
}

#[test]
fn retire_never_removes_a_key_still_referenced() {
    let s = Store::with_profile();
    s.ok(&[
        "profiles", "create", "--name", "second", "--key", "k1", "--field", "zip",
    ]);
    let old_msg = encrypt_for(&s, "prov", "k1", b"old");
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
    // k1 is past its grace but profile "second" still encrypts with it.
    let r = s.json(&["keys", "retire"]);
    assert_eq!(r["keys"][0]["outcome"], "kept");
    assert!(r["keys"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("still used by profile second"));
    assert!(decrypts(&s, &old_msg, b"old"));
    assert_eq!(public_names(&s), ["k1", "k2"]);
}

#[test]
fn interrupted_retire_converges() {
    for step in 1..=2 {
        let s = Store::with_profile();
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
        let out = s.run(&["keys", "retire", "--danger-stop-after", &step.to_string()]);
        assert_eq!(out.status.code(), Some(KILLED));
        let names = key_names(&s, "prov");
        assert_eq!(names[0], ("k1".into(), "retiring".into()), "step {step}");
        if step == 2 {
            // The public key is gone, the private key still there: the safe order.
            assert_eq!(public_names(&s), ["k2"]);
        }
        let r = s.json(&["keys", "retire"]);
        assert_eq!(r["keys"][0]["outcome"], "retired", "step {step}");
        assert_eq!(key_names(&s, "prov"), [("k2".into(), "current".into())]);
        assert_eq!(public_names(&s), ["k2"]);
    }
}

#[test]
fn concurrent_rotations_one_wins_the_other_changes_nothing() {
    let s = Store::with_profile();
    let old_msg = encrypt_for(&s, "prov", "k1", b"old");
    let gate = s.root.parent().unwrap().join("go");
    let mut reached = gate.clone().into_os_string();
    reached.push(".reached");
    // A pauses after step 2, holding its claim on the profile.
    let a = s
        .cmd(&[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--new-key-name",
            "ka",
            "--output",
            "json",
            "--danger-pause-after",
            "2",
            "--danger-resume-file",
            gate.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !std::path::Path::new(&reached).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "rotation A never reached step 2"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = s.files();
    let err = s.fails(
        &[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--new-key-name",
            "kb",
        ],
        1,
    );
    assert!(
        err.contains("another `fle keys rotate` of profile \"checkout\" is running"),
        "{err}"
    );
    assert_eq!(
        before,
        s.files(),
        "the losing rotation changed the keystore"
    );
    std::fs::write(&gate, b"").unwrap();
    let out = a.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["newKey"], "ka");
    assert_eq!(
        key_names(&s, "prov"),
        [
            ("k1".into(), "previous".into()),
            ("ka".into(), "current".into())
        ]
    );
    assert_eq!(s.profile_key_name("checkout"), "ka");
    assert!(decrypts(&s, &old_msg, b"old"));
}

#[test]
fn rotation_errors_name_the_step_and_what_to_do() {
    let s = Store::with_profile();
    let err = s.fails(&["keys", "rotate", "--profile", "nope"], 1);
    assert!(
        err.contains("keys rotate: checks before step 1 failed: profile \"nope\" does not exist"),
        "{err}"
    );
    // The new key name is taken by a public key: refused before anything is generated.
    s.ok(&["keys", "generate", "--name", "k2", "--provider", "prov"]);
    let before = s.files();
    let err = s.fails(
        &[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--new-key-name",
            "k2",
        ],
        1,
    );
    assert!(
        err.contains("key \"k2\" already exists") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(before, s.files());
}

#[test]
fn concurrent_retires_converge() {
    let s = Store::with_profile();
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
    let children: Vec<_> = (0..4)
        .map(|_| {
            s.cmd(&["keys", "retire"])
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(key_names(&s, "prov"), [("k2".into(), "current".into())]);
    assert_eq!(public_names(&s), ["k2"]);
}

/// SIGKILL at arbitrary moments (not only between steps): after each kill the keystore must
/// hold a private key for every public key and for the profile's key, the last message must
/// still decrypt, and a rerun must finish the rotation.
#[test]
fn sigkill_at_any_moment_then_rerun_converges() {
    let s = Store::with_profile();
    let mut current = "k1".to_owned();
    for round in 0..12u64 {
        let msg = encrypt_for(&s, "prov", &current, b"card");
        let next = format!("r{round}");
        let mut child = s
            .cmd(&[
                "keys",
                "rotate",
                "--profile",
                "checkout",
                "--new-key-name",
                &next,
                "--grace",
                "0s",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 25));
        let _ = child.kill();
        let _ = child.wait();

        // Invariants right after the kill.
        let privates: Vec<String> = key_names(&s, "prov").into_iter().map(|(n, _)| n).collect();
        for public in public_names(&s) {
            assert!(
                privates.contains(&public),
                "round {round}: public key {public} without its private key"
            );
        }
        let on = s.profile_key_name("checkout");
        assert!(
            privates.contains(&on),
            "round {round}: profile on {on} without its private key"
        );
        assert!(
            decrypts(&s, &msg, b"card"),
            "round {round}: a message under {current} no longer decrypts"
        );

        // Rerun converges: the profile ends on `next`, and the old key is previous.
        s.ok(&[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--new-key-name",
            &next,
            "--grace",
            "0s",
        ]);
        assert_eq!(s.profile_key_name("checkout"), next, "round {round}");
        let statuses = key_names(&s, "prov");
        assert!(
            statuses.contains(&(next.clone(), "current".to_owned())),
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.contains(&(current.clone(), "previous".to_owned())),
            "round {round}: {statuses:?}"
        );
        assert!(decrypts(&s, &msg, b"card"), "round {round}");
        // Keep under the 10-key quota.
        s.ok(&["keys", "retire"]);
        current = next;
    }
}

#[test]
fn switch_delay_keeps_the_profile_on_the_old_key_until_it_passes() {
    let s = Store::with_profile();
    let start = Instant::now();
    let child = s
        .cmd(&[
            "keys",
            "rotate",
            "--profile",
            "checkout",
            "--new-key-name",
            "k2",
            "--switch-delay",
            "3s",
            "--grace",
            "10s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it waits: the new private key and public key exist, the profile is still on k1.
    while public_names(&s).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "step 3 never happened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(s.profile_key_name("checkout"), "k1");
    assert_eq!(
        key_names(&s, "prov"),
        [
            ("k1".into(), "current".into()),
            ("k2".into(), "pending".into())
        ]
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(start.elapsed() >= Duration::from_secs(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("before switching the profile"));
    assert_eq!(s.profile_key_name("checkout"), "k2");
    // The grace counts from the switch, not from the start: k1 keeps its full 10 s after the
    // profile left it (to the second the keyring records), not 10 s less the 3 s delay.
    let switched = std::time::SystemTime::now();
    let ring = s.keyring("prov");
    let k1 = ring["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["keyName"] == "k1")
        .unwrap();
    let retire_after = humantime::parse_rfc3339(k1["retireAfter"].as_str().unwrap()).unwrap();
    let left = retire_after.duration_since(switched).unwrap_or_default();
    assert!(
        left >= Duration::from_secs(9),
        "k1 keeps only {left:?} of its grace"
    );
}
