//! docs/cli.md, docs/edge-signer.md and docs/demo.md against the binary: every `--flag` the docs name exists
//! in the help of some `fle` command, and every command the binary has appears in the docs, so
//! the reference cannot drift from the code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;

fn help(path: &[&str]) -> String {
    let out = Command::new(common::FLE)
        .args(path)
        .arg("--help")
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    assert!(out.status.success(), "fle {path:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand names listed under "Commands:" in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // a name at two spaces; wrapped descriptions are indented further
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path of the binary with its help text.
fn all_helps() -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            queue.push(p);
        }
        out.push((path, text));
    }
    out
}

fn flags(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("--") {
        let start = i + pos;
        let mut end = start + 2;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'-')
        {
            end += 1;
        }
        let before_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        if end > start + 2 && before_ok && bytes[start + 2].is_ascii_lowercase() {
            found.insert(text[start..end].trim_end_matches('-').to_owned());
        }
        i = end.max(start + 2);
    }
    found
}

#[test]
fn every_documented_flag_exists_and_every_command_is_documented() {
    let helps = all_helps();
    let mut known: BTreeSet<String> = BTreeSet::new();
    for (_, text) in &helps {
        known.extend(flags(text));
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/");
    let cli_md = std::fs::read_to_string(format!("{root}cli.md")).unwrap();
    let edge_md = std::fs::read_to_string(format!("{root}edge-signer.md")).unwrap();
    let demo_md = std::fs::read_to_string(format!("{root}demo.md")).unwrap();
    // Only the lines that show an `fle` command: the docs also quote cargo's and node's flags.
    let documented: BTreeSet<String> = cli_md
        .lines()
        .chain(edge_md.lines().filter(|l| l.contains("fle ")))
        .chain(demo_md.lines())
        .flat_map(flags)
        .filter(|f| !["--target", "--release", "--test"].contains(&f.as_str()))
        .collect();
    let missing: Vec<&String> = documented.difference(&known).collect();
    assert!(
        missing.is_empty(),
        "documented but not in any `fle ... --help`: {missing:?}"
    );
    // Every leaf command is named in docs/cli.md or docs/edge-signer.md (or the README for demo).
    let readme = std::fs::read_to_string(format!("{root}../README.md")).unwrap();
    let docs = format!("{cli_md}\n{edge_md}\n{demo_md}\n{readme}");
    for (path, text) in &helps {
        if path.is_empty() || !subcommands(text).is_empty() {
            continue;
        }
        // Named as a command: in backticks (`keys list`, `fle status`) or at the start of an
        // example line (fle encrypt ...), not merely as a word in prose.
        let shown = path.join(" ");
        let named = [
            format!("`{shown} "),
            format!("`{shown}`"),
            format!("`fle {shown} "),
            format!("`fle {shown}`"),
            format!("\nfle {shown} "),
        ]
        .iter()
        .any(|form| docs.contains(form.as_str()));
        assert!(named, "`fle {shown}` is in the binary but in no doc");
    }
}
