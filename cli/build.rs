//! Puts the git revision into `fle --version` (`0.1.0 (abc1234)`), or "unknown revision" when
//! the source is not a git checkout (a crates.io or tarball build).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    let rev = git(&["rev-parse", "--short=12", "HEAD"]);
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
    let version = match rev {
        Some(r) if dirty => format!("{} ({r}, modified)", env!("CARGO_PKG_VERSION")),
        Some(r) => format!("{} ({r})", env!("CARGO_PKG_VERSION")),
        None => format!("{} (unknown revision)", env!("CARGO_PKG_VERSION")),
    };
    println!("cargo:rustc-env=FLE_VERSION={version}");
    // A new commit moves HEAD or the branch it points at.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
