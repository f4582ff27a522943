//! The crate map of docs/architecture.md, enforced: which workspace crate may depend on which.

use std::collections::{BTreeMap, BTreeSet};

/// Allowed workspace dependencies (normal and build; dev-dependencies are free).
const ALLOWED: &[(&str, &[&str])] = &[
    ("fle-fields", &[]),
    ("fle-decrypt", &["fle-fields"]),
    ("edge-signer", &["fle-fields"]),
    ("fle-ops", &["fle-decrypt", "edge-signer"]),
    ("fle-lambda", &["fle-decrypt"]),
    ("checkout-backend", &["fle-lambda", "fle-decrypt"]),
    ("fle-audit", &["fle-decrypt", "edge-signer"]),
    (
        "fle-cli",
        &[
            "fle-ops",
            "fle-audit",
            "fle-lambda",
            "fle-decrypt",
            "edge-signer",
        ],
    ),
    ("fle-tests", &["fle-ops", "fle-decrypt", "edge-signer"]),
];

#[test]
fn workspace_crates_depend_only_as_documented() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let Some(ok) = allowed.get(name) else {
            panic!("workspace crate {name} is not in docs/architecture.md's map");
        };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            let dev = d["kind"].as_str() == Some("dev");
            if members.contains(dep) && !dev {
                assert!(ok.contains(&dep), "{name} must not depend on {dep}");
            }
        }
    }
    assert!(members.contains("fle-ops") && members.contains("fle-cli"));
}
