//! Two things `fle` carries from its build:
//! - the git revision in `fle --version` (`0.1.0 (abc1234)`), or "unknown revision" outside a
//!   git checkout;
//! - the edge signer's release wasm module, so `fle edge package` works from an installed binary
//!   without a workspace or cargo. It is built here with a nested cargo in a target directory of
//!   its own (under OUT_DIR: no lock shared with the outer build). Without the
//!   wasm32-unknown-unknown target the module is left out with a warning, and `fle edge package`
//!   then asks for `--wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn embed_wasm() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let embedded = out_dir.join("edge_signer.wasm");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest_dir.parent().unwrap_or(Path::new(".")).to_owned();
    let signer = workspace.join("edge-signer");
    println!("cargo:rerun-if-changed={}", signer.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        signer.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    let target_dir = out_dir.join("wasm-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--locked", "-p", "edge-signer"])
        .args(["--target", "wasm32-unknown-unknown"])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's settings are for the host crate it is building, not for this module.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_TARGET_") && name.ends_with("_RUSTFLAGS") {
            cmd.env_remove(name.as_ref());
        }
    }
    // Its stdout would be read as this script's instructions to cargo.
    cmd.stdout(std::process::Stdio::null());
    let built = target_dir.join("wasm32-unknown-unknown/release/edge_signer.wasm");
    let ok = cmd.status().is_ok_and(|s| s.success()) && built.exists();
    // Written only when the bytes differ: a new timestamp would relink fle for nothing.
    let copied = ok
        && match (std::fs::read(&built), std::fs::read(&embedded)) {
            (Ok(new), Ok(old)) if new == old => true,
            (Ok(new), _) => std::fs::write(&embedded, new).is_ok(),
            _ => false,
        };
    if !copied {
        println!(
            "cargo:warning=the edge signer's wasm module is not embedded (rustup target add wasm32-unknown-unknown, then rebuild); `fle edge package` will need --wasm"
        );
        let _ = std::fs::write(&embedded, b"");
    }
}

fn main() {
    embed_wasm();
    let version = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(r) => format!("{} ({r})", env!("CARGO_PKG_VERSION")),
        None => format!("{} (unknown revision)", env!("CARGO_PKG_VERSION")),
    };
    println!("cargo:rustc-env=FLE_VERSION={version}");
    // A new commit moves HEAD or the branch it points at. Only files that exist are watched:
    // cargo takes a missing one as changed and would rerun this script on every build.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        let mut watch = vec![dir.join("HEAD"), dir.join("packed-refs")];
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch.push(dir.join(head));
        }
        for path in watch.into_iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
