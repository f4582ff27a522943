//! The README's CLI block, run as written: every line in order, in a scratch directory, with
//! this build's `fle` first on PATH. A README example that stops working fails the suite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The commands of the first ```sh block after "## The CLI", continuation lines joined and
/// trailing comments dropped.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = &readme[readme.find("## The CLI").expect("README has a CLI section")..];
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = line.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        // Drop a trailing comment: the examples quote no '#'.
        let code = full
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !code.is_empty() && !code.starts_with('#') {
            commands.push(code);
        }
    }
    commands
}

#[test]
fn the_readme_cli_block_runs_as_written() {
    let commands = readme_commands();
    assert!(commands.len() >= 15, "{commands:?}");
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    // The event file the README names, at the same relative path.
    std::fs::create_dir_all(dir.join("examples")).unwrap();
    std::fs::copy(
        repo().join("examples/origin-request.json"),
        dir.join("examples/origin-request.json"),
    )
    .unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_fle"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut outputs = Vec::new();
    for command in &commands {
        let line = command.clone();
        let out = Command::new("bash")
            .args(["-c", &line])
            .current_dir(dir)
            .env("PATH", &path)
            .env_remove("FLE_HOME")
            .env_remove("FLE_BACKEND")
            .env_remove("FLE_OUTPUT")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            )
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README line failed: {line}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((
            command.clone(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
    }
    // What the lines claim: the value and the form come back, zip was never encrypted, the old
    // key still decrypts after the rotation, the zip exists.
    let decrypted: Vec<&str> = outputs
        .iter()
        .filter(|(c, _)| c.starts_with("fle decrypt") && c.ends_with("card.b64"))
        .map(|(_, o)| o.as_str())
        .collect();
    assert_eq!(decrypted, ["4111111111111111", "4111111111111111"]);
    let form = std::fs::read_to_string(dir.join("form.enc")).unwrap();
    assert!(
        form.contains("&zip=94103") && !form.contains("4111111111111111"),
        "{form}"
    );
    let (_, plain_form) = outputs
        .iter()
        .find(|(c, _)| c.starts_with("fle decrypt") && c.ends_with("form.enc"))
        .unwrap();
    assert_eq!(
        plain_form,
        "card_number=4111111111111111&ssn=078-05-1120&zip=94103"
    );
    assert!(dir.join("edge-signer.zip").exists());
}
