//! `fle keys`: RSA-2048 key pairs, their CloudFront public keys, rotation and retirement.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context as _};
use clap::{Args as ClapArgs, Subcommand};
use serde::Serialize;

use super::store::{self, store_failure, Common};
use crate::exit::{CmdResult, Failure};
use crate::input;
use fle_ops::inventory;
use fle_ops::model::KeyStatus;
use fle_ops::rotation::{self, Outcome, RetireOutcome, Step, StepError, StepRecord};
use fle_ops::{Backend, StoreError};

use super::store::StoreArgs;
use crate::output::{change_line, emit, table, OutputArgs};

/// Manage key pairs: generate, inspect, rotate with a grace period, retire.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate an RSA-2048 pair: store the private key, upload the public key.
    Generate(GenerateArgs),
    /// List keys: public keys and the private keys behind them.
    List(Common),
    /// Show one key (never its private part).
    Show(NameArgs),
    /// Write a key's public PEM to stdout or a file.
    ExportPublic(ExportArgs),
    /// Move a profile onto a new key without breaking traffic (resumes an interrupted run).
    #[command(long_about = ROTATE_ABOUT)]
    Rotate(RotateArgs),
    /// Remove keys whose grace period has passed (public key first, then the private key).
    Retire(RetireArgs),
    /// Delete one key no profile uses, public and private part (`keys retire --now NAME`).
    Delete(DeleteArgs),
}

#[derive(Debug, ClapArgs)]
struct DeleteArgs {
    /// The key's name.
    name: String,
    /// Print what would be removed and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
}

const ROTATE_ABOUT: &str = "Move a profile onto a new key without breaking traffic.

Steps: 1 generate the new pair; 2 store the new private key (as `pending`) where backends load
it; 3 upload the new public key; 4 point the profile at it (IfMatch on its ETag; after
--switch-delay since step 2, if given); 5 mark the old
key `previous` with retire-after = start + switch delay + grace. If a run is interrupted, run the same command
again: it finds the pending key and continues (with the same --new-key-name, a rerun after the
end is a no-op). Two rotations of one profile never run at once:
the second fails and changes nothing. `fle keys retire` removes the old key after the grace.";

#[derive(Debug, ClapArgs)]
struct GenerateArgs {
    /// Key name (CloudFront public key name; letters, digits, '-', '_'; at most 128).
    #[arg(long)]
    name: String,
    /// Provider id the key belongs to (the FLE profile's provider; letters, digits, ':', '-', '_').
    #[arg(long)]
    provider: String,
    /// Comment stored with the public key.
    #[arg(long, default_value = "")]
    comment: String,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
    #[cfg(debug_assertions)]
    #[command(flatten)]
    danger: super::danger::StopArgs,
}

#[derive(Debug, ClapArgs)]
struct NameArgs {
    /// Key name.
    name: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct ExportArgs {
    /// Key name.
    name: String,
    /// Write here instead of stdout ('-' = stdout). An existing file is kept unless --force.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArgs,
    /// `json` prints {name, publicKeyPem} on stdout instead of the bare PEM.
    #[command(flatten)]
    out_format: OutputArgs,
}

#[derive(Debug, ClapArgs)]
struct RotateArgs {
    /// The FLE profile to move onto a new key.
    #[arg(long)]
    profile: String,
    /// How long the old key keeps decrypting after the switch (e.g. 24h, 90m, 7d).
    #[arg(long, default_value = "24h", value_parser = input::duration::<{ input::limit::GRACE_SECS }>)]
    grace: Duration,
    /// Name of the new key [default: <profile>-<UTC time>]. With a fixed name, rerunning a
    /// finished rotation is a no-op.
    #[arg(long)]
    new_key_name: Option<String>,
    /// Wait at least this long between storing the new private key (step 2) and switching the
    /// profile (step 4): set it to your backends' keyring reload interval (e.g. 5m).
    #[arg(long, default_value = "0s", value_parser = input::duration::<{ input::limit::WAIT_SECS }>)]
    switch_delay: Duration,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    edge: EdgeArgs,
    #[command(flatten)]
    common: Common,
    #[cfg(debug_assertions)]
    #[command(flatten)]
    danger: super::danger::PauseArgs,
}

/// A profile the edge encrypts (`fle edge package --encrypt`): step 5 deploys its function.
#[derive(Debug, ClapArgs)]
struct EdgeArgs {
    /// The Lambda@Edge function that encrypts this profile (name or unqualified ARN, in
    /// us-east-1): step 5 publishes its new version, with the new key.
    #[arg(long, value_name = "FUNCTION", requires_all = ["edge_distribution", "edge_config"], help_heading = "Edge-encrypted profiles")]
    edge_function: Option<String>,
    /// The distribution whose cache behavior runs the function on origin requests; step 5
    /// points it at the new version (IfMatch) and waits until it is deployed.
    #[arg(
        long,
        value_name = "ID",
        requires = "edge_function",
        help_heading = "Edge-encrypted profiles"
    )]
    edge_distribution: Option<String>,
    /// That cache behavior's path pattern (`*`: the default behavior).
    #[arg(
        long,
        value_name = "PATTERN",
        default_value = "*",
        requires = "edge_function",
        help_heading = "Edge-encrypted profiles"
    )]
    edge_path_pattern: String,
    /// The package's config.json (`fle edge package --encrypt` writes it): the new package
    /// keeps its region, service, suite and fields, with the new key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "edge_function",
        help_heading = "Edge-encrypted profiles"
    )]
    edge_config: Option<std::path::PathBuf>,
    /// Package this wasm module instead of the one built into fle.
    #[arg(
        long,
        value_name = "FILE",
        requires = "edge_function",
        help_heading = "Edge-encrypted profiles"
    )]
    edge_wasm: Option<std::path::PathBuf>,
}

#[derive(Debug, ClapArgs)]
struct RetireArgs {
    /// Retire this key at once, whatever its status and grace (a compromised or mistyped key);
    /// refused while a profile uses it. Same as `fle keys delete NAME`.
    #[arg(long, value_name = "NAME")]
    now: Option<String>,
    /// Print what would be removed and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
    #[cfg(debug_assertions)]
    #[command(flatten)]
    danger: super::danger::StopArgs,
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Command::Generate(a) => generate(a),
        Command::List(a) => list(&a),
        Command::Show(a) => show(a),
        Command::ExportPublic(a) => export_public(a),
        Command::Rotate(a) => rotate(a),
        Command::Retire(a) => retire(a),
        Command::Delete(a) => delete(a),
    }
}

fn step_failure(context: &str, e: StepError, hint: &str) -> Failure {
    let refusal = e.source.is_refusal();
    let err = anyhow!("{context}: {e}; {hint}");
    if refusal {
        Failure::no(err)
    } else {
        Failure::usage(err)
    }
}

/// One step as `--output json` prints it: `{"step": 1, "name": "...", "outcome": "done"}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StepView {
    step: usize,
    name: &'static str,
    /// `done`, `already done` (a rerun found it done), or `planned` (dry run).
    outcome: &'static str,
}

fn step_views<S: Step>(records: &[StepRecord<S>]) -> Vec<StepView> {
    records
        .iter()
        .map(|r| StepView {
            step: r.step.number(),
            name: r.step.name(),
            outcome: match r.outcome {
                Outcome::Done => "done",
                Outcome::AlreadyDone => "already done",
                Outcome::Planned => "planned",
                _ => "not needed",
            },
        })
        .collect()
}

fn steps_text(steps: &[StepView]) -> String {
    steps
        .iter()
        .map(|s| format!("  step {} {}: {}\n", s.step, s.name, s.outcome))
        .collect()
}

/// Reports each step on stderr as it completes (progress, not the result), then asks `inner`
/// (the debug build's test hooks, or nothing) whether to go on.
fn with_progress<S: Step>(
    command: &'static str,
    mut inner: impl FnMut(S, &Outcome) -> ControlFlow<()>,
) -> impl FnMut(S, &Outcome) -> ControlFlow<()> {
    move |step, outcome| {
        let word = match outcome {
            Outcome::Done => "done",
            Outcome::AlreadyDone => "already done",
            Outcome::Planned => "planned",
            _ => "not needed",
        };
        let _ = writeln!(
            std::io::stderr(),
            "fle: {command}: step {}/{} {}: {word}",
            step.number(),
            S::ALL.len(),
            step.name()
        );
        inner(step, outcome)
    }
}

/// `keys generate --output json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateView {
    name: String,
    provider: String,
    public_key_id: Option<String>,
    dry_run: bool,
    steps: Vec<StepView>,
}

/// `keys rotate --output json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RotateView {
    profile: String,
    provider: String,
    old_key: String,
    new_key: String,
    public_key_id: Option<String>,
    retire_after: String,
    /// True when this run continued an interrupted rotation.
    resumed: bool,
    dry_run: bool,
    /// The edge function version the distribution runs now (edge-encrypted profiles).
    #[serde(skip_serializing_if = "Option::is_none")]
    edge_version: Option<String>,
    steps: Vec<StepView>,
}

/// `keys retire --output json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RetireView {
    dry_run: bool,
    keys: Vec<RetireItemView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RetireItemView {
    key_name: String,
    provider: String,
    /// `retired`, `planned` (dry run) or `kept`.
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn generate(a: GenerateArgs) -> CmdResult {
    let b = a.common.open_or_create()?;
    #[cfg(debug_assertions)]
    let mut on_step = with_progress("keys generate", a.danger.hook());
    #[cfg(not(debug_assertions))]
    let mut on_step = with_progress("keys generate", rotation::run_to_end);
    let req = rotation::GenerateRequest {
        name: &a.name,
        provider: &a.provider,
        comment: &a.comment,
        now: SystemTime::now(),
        dry_run: a.dry_run,
    };
    let report = rotation::generate(b.as_ref(), &req, &mut on_step)
        .map_err(|e| {
            let hint = if e.number >= 3 {
                "the private key is stored; fix the cause and rerun the same command to upload its public key"
            } else {
                "nothing was changed"
            };
        step_failure("keys generate", e, hint)
    })?;
    let view = GenerateView {
        name: report.name,
        provider: report.provider,
        public_key_id: report.public_key_id,
        dry_run: report.dry_run,
        steps: step_views(&report.steps),
    };
    let store = b.describe();
    emit(a.common.out.output, &view, |r| {
        let head = change_line(
            r.dry_run,
            &format!("generate key {} for provider {}", r.name, r.provider),
            &format!(
                "generated key {} for provider {} (public key {})",
                r.name,
                r.provider,
                r.public_key_id.as_deref().unwrap_or("-")
            ),
            &store,
        );
        // A dry run's result is its plan; a real run reported its steps on stderr as they ran.
        if r.dry_run {
            head + &steps_text(&r.steps)
        } else {
            head
        }
    })?;
    Ok(())
}

/// One key as `keys list` / `keys show` print it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyView {
    name: String,
    /// Provider whose keyring holds the private key; null if this keystore has no private key.
    provider: Option<String>,
    /// CloudFront public key id; null if not uploaded (yet, or any more).
    public_key_id: Option<String>,
    status: Option<KeyStatus>,
    retire_after: Option<String>,
    created: Option<String>,
    /// Names of the profiles that encrypt with this key.
    used_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key_pem: Option<String>,
    /// Why the private key cannot be used (absent when it can).
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<String>,
}

#[derive(Debug, Serialize)]
struct KeyList {
    keys: Vec<KeyView>,
}

fn collect_keys(b: &dyn Backend) -> Result<Vec<KeyView>, StoreError> {
    Ok(inventory::keys(b)?
        .into_iter()
        .map(|k| KeyView {
            name: k.name,
            provider: k.provider,
            public_key_id: k.public_key_id,
            status: k.status,
            retire_after: k.retire_after,
            created: k.created,
            used_by: k.used_by,
            public_key_pem: None,
            broken: k.broken,
        })
        .collect())
}

fn key_row(v: &KeyView) -> Vec<String> {
    let status = v.status.map(KeyStatus::as_str).unwrap_or("no private key");
    let status = match &v.broken {
        Some(why) => format!("{status}, BROKEN: {why}"),
        None => status.to_owned(),
    };
    let dash = |o: Option<&str>| o.unwrap_or("-").to_owned();
    vec![
        v.name.clone(),
        dash(v.provider.as_deref()),
        dash(v.public_key_id.as_deref()),
        status,
        dash(v.retire_after.as_deref()),
        if v.used_by.is_empty() {
            "-".to_owned()
        } else {
            v.used_by.join(",")
        },
    ]
}

fn list(a: &Common) -> CmdResult {
    let b = a.open()?;
    let keys = collect_keys(b.as_ref()).map_err(|e| store_failure("keys list", e, ""))?;
    emit(a.out.output, &KeyList { keys }, |l| {
        if l.keys.is_empty() {
            return format!("no keys in {}\n", b.describe());
        }
        let rows: Vec<Vec<String>> = l.keys.iter().map(key_row).collect();
        table(
            &[
                "NAME",
                "PROVIDER",
                "PUBLIC KEY ID",
                "STATUS",
                "RETIRE AFTER",
                "USED BY",
            ],
            &rows,
        )
    })?;
    Ok(())
}

/// A key named by its name or by its CloudFront public key id (what errors and the console
/// show); the name as given when neither matches, for the caller's own not-found error.
fn key_name(b: &dyn Backend, name_or_id: &str, ctx: &str) -> Result<String, Failure> {
    let keys = collect_keys(b).map_err(|e| store_failure(ctx, e, ""))?;
    let by_id = || {
        keys.iter()
            .find(|k| k.public_key_id.as_deref() == Some(name_or_id))
    };
    Ok(
        match keys.iter().find(|k| k.name == name_or_id).or_else(by_id) {
            Some(k) => k.name.clone(),
            None => name_or_id.to_owned(),
        },
    )
}

fn find_key(b: &dyn Backend, name_or_id: &str, ctx: &str) -> Result<KeyView, Failure> {
    // One listing (on AWS a page walk of every object): by name first, then by public key id.
    let keys = collect_keys(b).map_err(|e| store_failure(ctx, e, ""))?;
    let at = keys.iter().position(|k| k.name == name_or_id).or_else(|| {
        keys.iter()
            .position(|k| k.public_key_id.as_deref() == Some(name_or_id))
    });
    let mut view = at.and_then(|i| keys.into_iter().nth(i)).ok_or_else(|| {
        Failure::no(anyhow!(
            "{ctx}: no key named {name_or_id:?} in {}; `fle keys list` shows the keys",
            b.describe()
        ))
    })?;
    if let Some(id) = view.public_key_id.clone() {
        view.public_key_pem = Some(
            b.get_public_key(&id)
                .map_err(|e| store_failure(ctx, e, ""))?
                .config
                .encoded_key,
        );
    }
    Ok(view)
}

fn show(a: NameArgs) -> CmdResult {
    let b = a.common.open()?;
    let view = find_key(b.as_ref(), &a.name, "keys show")?;
    emit(a.common.out.output, &view, |v| {
        let mut s = format!("name: {}\n", v.name);
        s.push_str(&format!(
            "provider: {}\n",
            v.provider.as_deref().unwrap_or("-")
        ));
        s.push_str(&format!(
            "public key id: {}\n",
            v.public_key_id.as_deref().unwrap_or("-")
        ));
        s.push_str(&format!(
            "status: {}\n",
            v.status.map(KeyStatus::as_str).unwrap_or("no private key")
        ));
        s.push_str(&format!(
            "retire after: {}\n",
            v.retire_after.as_deref().unwrap_or("-")
        ));
        s.push_str(&format!(
            "created: {}\n",
            v.created.as_deref().unwrap_or("-")
        ));
        s.push_str(&format!(
            "used by: {}\n",
            if v.used_by.is_empty() {
                "-".to_owned()
            } else {
                v.used_by.join(", ")
            }
        ));
        if let Some(why) = &v.broken {
            s.push_str(&format!("BROKEN: {why}\n"));
        }
        s
    })?;
    Ok(())
}

fn export_public(a: ExportArgs) -> CmdResult {
    let b = store::open(&a.store)?;
    let view = find_key(b.as_ref(), &a.name, "keys export-public")?;
    let key = view.name.clone();
    let pem = match view.public_key_pem {
        Some(p) => p,
        None => {
            // Not uploaded (an interrupted generate): derive it from the stored private key.
            let provider = view.provider.unwrap_or_default();
            let ring = b
                .load_keyring(&provider)
                .map_err(|e| store_failure("keys export-public", e, ""))?;
            let entry = ring.get(&key).ok_or_else(|| {
                Failure::no(anyhow!(
                    "keys export-public: key {:?} has no public key",
                    key
                ))
            })?;
            fle_ops::keygen::public_pem_from_private(&entry.private_key_pem).map_err(|e| {
                Failure::usage(anyhow!(
                    "keys export-public: stored private key {:?}: {e}",
                    key
                ))
            })?
        }
    };
    match a.out {
        Some(path) if path.as_os_str() != "-" => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true);
            if a.force {
                opts.create(true).truncate(true);
            } else {
                opts.create_new(true);
            }
            let mut f = opts.open(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Failure::usage(anyhow!(
                        "keys export-public: {} exists; pass --force to overwrite it",
                        path.display()
                    ))
                } else {
                    Failure::usage(anyhow!(
                        "keys export-public: cannot write {}: {e}",
                        path.display()
                    ))
                }
            })?;
            f.write_all(pem.as_bytes())?;
        }
        _ if a.out_format.output == crate::output::Format::Json => {
            let v = ExportedKey {
                name: key.clone(),
                public_key_pem: pem,
            };
            emit(a.out_format.output, &v, |v| v.public_key_pem.clone())?;
        }
        _ => std::io::stdout().lock().write_all(pem.as_bytes())?,
    }
    Ok(())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedKey {
    name: String,
    public_key_pem: String,
}

fn rotate(a: RotateArgs) -> CmdResult {
    let b = a.common.open()?;
    #[cfg(debug_assertions)]
    let mut on_step = with_progress("keys rotate", a.danger.hook());
    #[cfg(not(debug_assertions))]
    let mut on_step = with_progress("keys rotate", rotation::run_to_end);
    let edge_template = match &a.edge.edge_config {
        None => None,
        Some(path) => {
            let text =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let template: serde_json::Value = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            Some(template)
        }
    };
    let module = match &a.edge.edge_function {
        // No cargo build inside a rotation: the module built into fle, or --edge-wasm.
        Some(_) => Some(super::edge::Module::load(
            a.edge.edge_wasm.as_deref(),
            true,
            false,
        )?),
        None => None,
    };
    let build = |key: &rotation::EdgeKey<'_>| -> Result<Vec<u8>, String> {
        let template = edge_template.as_ref().ok_or("no --edge-config")?;
        let module = module.as_ref().ok_or("no module")?;
        let config = super::edge::config_for_key(template, key)?;
        module.package(&config).map_err(|e| format!("{e:#}"))
    };
    // Refused before any step: a config for another profile, or one the module would refuse.
    if let Some(template) = &edge_template {
        let probe = rotation::EdgeKey {
            profile: &a.profile,
            provider_id: "probe",
            key_name: "probe",
            public_key_pem: template
                .pointer("/encrypt/publicKey")
                .and_then(|v| v.as_str())
                .unwrap_or_default(),
            field_patterns: &[],
        };
        super::edge::config_for_key(template, &probe)
            .map_err(|e| Failure::usage(anyhow!("keys rotate: --edge-config: {e}")))?;
    }
    let edge = match (&a.edge.edge_function, &a.edge.edge_distribution) {
        (Some(function), Some(distribution)) => Some(rotation::EdgeRotation {
            function,
            distribution_id: distribution,
            path_pattern: &a.edge.edge_path_pattern,
            package: &build,
        }),
        _ => None,
    };
    let req = rotation::RotateRequest {
        profile: &a.profile,
        grace: a.grace,
        now: SystemTime::now(),
        new_key_name: a.new_key_name.clone(),
        switch_delay: a.switch_delay,
        dry_run: a.dry_run,
        edge,
    };
    let mut wait_until = |at: SystemTime| {
        let mut last_report: Option<SystemTime> = None;
        while let Ok(left) = at.duration_since(SystemTime::now()) {
            let due =
                last_report.is_none_or(|t| t.elapsed().is_ok_and(|e| e >= Duration::from_secs(10)));
            if due {
                eprintln!(
                    "fle: new private key stored; waiting {}s before switching the profile (--switch-delay)",
                    left.as_secs().max(1)
                );
                last_report = Some(SystemTime::now());
            }
            std::thread::sleep(left.min(Duration::from_millis(500)));
        }
    };
    let report = rotation::rotate(b.as_ref(), &req, &mut on_step, &mut wait_until).map_err(|e| {
        let hint = if e.number >= 2 {
            format!("the new private key is stored; fix the cause and rerun `fle keys rotate --profile {}` to continue", a.profile)
        } else {
            "nothing was changed; fix the cause and rerun".to_owned()
        };
        step_failure("keys rotate", e, &hint)
    })?;
    let view = RotateView {
        profile: report.profile,
        provider: report.provider,
        old_key: report.old_key,
        new_key: report.new_key,
        public_key_id: report.public_key_id,
        retire_after: report.retire_after,
        resumed: report.resumed,
        dry_run: report.dry_run,
        edge_version: report.edge_version,
        steps: step_views(&report.steps),
    };
    let store = b.describe();
    emit(a.common.out.output, &view, |r| {
        if r.dry_run {
            let head = change_line(
                true,
                &format!(
                    "rotate profile {} from key {} to {}",
                    r.profile, r.old_key, r.new_key
                ),
                "",
                &store,
            );
            return head + &steps_text(&r.steps);
        }
        let edge = r
            .edge_version
            .as_ref()
            .map(|v| format!("; the distribution runs edge function version {v}"))
            .unwrap_or_default();
        format!(
            "rotated profile {} from key {} to {}{} in {store}{edge}; {} retires after {}\n",
            r.profile,
            r.old_key,
            r.new_key,
            if r.resumed { " (resumed)" } else { "" },
            r.old_key,
            r.retire_after
        )
    })?;
    Ok(())
}

fn delete(a: DeleteArgs) -> CmdResult {
    let b = a.common.open()?;
    let mut on_step = with_progress("keys delete", rotation::run_to_end);
    let name = key_name(b.as_ref(), &a.name, "keys delete")?;
    let report = rotation::retire_now(b.as_ref(), &name, a.dry_run, &mut on_step).map_err(|e| {
        step_failure(
            "keys delete",
            e,
            "fix the cause and rerun `fle keys delete`: it continues where it stopped",
        )
    })?;
    print_retire(&a.common.out, &b.describe(), report)
}

fn retire(a: RetireArgs) -> CmdResult {
    let b = a.common.open()?;
    #[cfg(debug_assertions)]
    let mut on_step = with_progress("keys retire", a.danger.hook());
    #[cfg(not(debug_assertions))]
    let mut on_step = with_progress("keys retire", rotation::run_to_end);
    let report = match &a.now {
        Some(name) => {
            let name = key_name(b.as_ref(), name, "keys retire")?;
            rotation::retire_now(b.as_ref(), &name, a.dry_run, &mut on_step)
        }
        None => rotation::retire(b.as_ref(), SystemTime::now(), a.dry_run, &mut on_step),
    }
    .map_err(|e| {
        step_failure(
            "keys retire",
            e,
            "fix the cause and rerun `fle keys retire`: it continues where it stopped",
        )
    })?;
    print_retire(&a.common.out, &b.describe(), report)
}

fn print_retire(out: &OutputArgs, store: &str, report: rotation::RetireReport) -> CmdResult {
    let view = RetireView {
        dry_run: report.dry_run,
        keys: report
            .keys
            .into_iter()
            .map(|k| {
                let (outcome, reason) = match k.outcome {
                    RetireOutcome::Retired => ("retired", None),
                    RetireOutcome::Planned => ("planned", None),
                    RetireOutcome::Kept(why) => ("kept", Some(why.to_string())),
                };
                RetireItemView {
                    key_name: k.key_name,
                    provider: k.provider,
                    outcome,
                    reason,
                }
            })
            .collect(),
    };
    emit(out.output, &view, |r| {
        let count = |o: &str| r.keys.iter().filter(|k| k.outcome == o).count();
        let kept = count("kept");
        let head = change_line(
            r.dry_run,
            &format!("retire {} key(s), keep {kept}", count("planned")),
            &format!("retired {} key(s), kept {kept}", count("retired")),
            store,
        );
        if r.keys.is_empty() {
            return head + "no key is due for retirement\n";
        }
        let rows: Vec<Vec<String>> = r
            .keys
            .iter()
            .map(|k| {
                vec![
                    k.key_name.clone(),
                    if k.provider.is_empty() {
                        "-".to_owned()
                    } else {
                        k.provider.clone()
                    },
                    k.outcome.to_owned(),
                    k.reason.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        head + &table(&["KEY", "PROVIDER", "OUTCOME", "WHY"], &rows)
    })?;
    Ok(())
}
