//! `fle profiles`: CloudFront field-level-encryption profiles (which fields, which key, which provider).

use anyhow::anyhow;
use clap::{Args as ClapArgs, Subcommand};
use serde::Serialize;

use super::store::{stale, store_failure, Common};
use crate::exit::{CmdResult, Failure};
use crate::output::{change_line, emit, table, OutputArgs};
use fle_ops::backend::profile_by_name;
use fle_ops::inventory::{self, BindingError};
use fle_ops::model::{EncryptionEntity, KeyStatus, Profile, ProfileConfig};
use fle_ops::{create, rules, Backend};

/// Manage FLE profiles: the fields CloudFront encrypts, with which public key, for which provider.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a profile that encrypts the given fields with a key.
    Create(CreateArgs),
    /// List profiles.
    List(Common),
    /// Show one profile.
    Show(NameArgs),
    /// Change a profile's key, fields or comment (IfMatch on its ETag).
    Update(UpdateArgs),
    /// Delete a profile no configuration uses.
    Delete(DeleteArgs),
}

#[derive(Debug, ClapArgs)]
struct CreateArgs {
    /// Profile name (letters, digits, '-', '_'; at most 128).
    #[arg(long)]
    name: String,
    /// Name of the key whose public key CloudFront encrypts with.
    #[arg(long)]
    key: String,
    /// A field to encrypt: a full name, or a prefix ending in '*'. Repeat for more (at most 10).
    #[arg(long = "field", value_name = "PATTERN", required = true)]
    fields: Vec<String>,
    /// Provider id [default: the provider whose keyring holds the key's private key].
    #[arg(long)]
    provider: Option<String>,
    #[arg(long, default_value = "")]
    comment: String,
    /// CloudFront caller reference [default: derived from the content, so a rerun after a
    /// timeout finds the profile it made instead of failing].
    #[arg(long, value_name = "REF")]
    caller_reference: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct NameArgs {
    /// Profile name.
    name: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct UpdateArgs {
    /// Profile name.
    name: String,
    /// Switch to this key (its provider must be the profile's). Prefer `fle keys rotate`.
    #[arg(long)]
    key: Option<String>,
    /// Replace the field patterns with these (repeat the flag).
    #[arg(long = "field", value_name = "PATTERN")]
    fields: Vec<String>,
    #[arg(long)]
    comment: Option<String>,
    /// Only update if the profile's ETag is still this [default: the ETag just read].
    #[arg(long)]
    if_match: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct DeleteArgs {
    /// Profile name.
    name: String,
    /// Only delete if the profile's ETag is still this [default: the ETag just read].
    #[arg(long)]
    if_match: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Command::Create(a) => create(a),
        Command::List(a) => list(&a),
        Command::Show(a) => show(a),
        Command::Update(a) => update(a),
        Command::Delete(a) => delete(a),
    }
}

/// A profile with its key names resolved (for people and scripts).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub id: String,
    pub name: String,
    pub etag: String,
    pub last_modified_time: String,
    pub comment: String,
    pub entities: Vec<EntityView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityView {
    pub provider_id: String,
    pub public_key_id: String,
    /// Null when no public key has that id.
    pub key_name: Option<String>,
    pub field_patterns: Vec<String>,
}

fn view(b: &dyn Backend, p: &Profile) -> Result<ProfileView, Failure> {
    let keys = b
        .list_public_keys()
        .map_err(|e| store_failure("read public keys", e, ""))?;
    Ok(ProfileView {
        id: p.id.clone(),
        name: p.config.name.clone(),
        etag: p.etag.clone(),
        last_modified_time: p.last_modified_time.clone(),
        comment: p.config.comment.clone(),
        entities: p
            .config
            .encryption_entities
            .iter()
            .map(|e| EntityView {
                provider_id: e.provider_id.clone(),
                public_key_id: e.public_key_id.clone(),
                key_name: keys
                    .iter()
                    .find(|k| k.id == e.public_key_id)
                    .map(|k| k.config.name.clone()),
                field_patterns: e.field_patterns.clone(),
            })
            .collect(),
    })
}

fn view_text(v: &ProfileView) -> String {
    let mut s = format!(
        "name: {}\nid: {}\netag: {}\nlast modified: {}\n",
        v.name, v.id, v.etag, v.last_modified_time
    );
    if !v.comment.is_empty() {
        s.push_str(&format!("comment: {}\n", v.comment));
    }
    for e in &v.entities {
        s.push_str(&format!(
            "provider {}: key {} ({}), fields {}\n",
            e.provider_id,
            e.key_name.as_deref().unwrap_or("?"),
            e.public_key_id,
            e.field_patterns.join(" ")
        ));
    }
    s
}

/// The result of a mutating command: what was (or, with `--dry-run`, would be) done.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Change<T: Serialize> {
    dry_run: bool,
    action: &'static str,
    /// True when a create found the profile a previous run made (same caller reference and
    /// content) and changed nothing; absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    existed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<T>,
}

/// Prints a create or update: the plan with `--dry-run`, else what was `done`.
#[allow(clippy::too_many_arguments)]
fn emit_change(
    out: &OutputArgs,
    dry_run: bool,
    action: &'static str,
    done: &str,
    store: &str,
    profile: ProfileView,
    existed: bool,
) -> CmdResult {
    emit(
        out.output,
        &Change {
            dry_run,
            action,
            existed,
            profile: Some(profile),
        },
        |c| match &c.profile {
            Some(v) => {
                let what = format!("{action} {}", v.name);
                let done = format!("{done} {}", v.name);
                change_line(c.dry_run, &what, &done, store) + &view_text(v)
            }
            None => String::new(),
        },
    )?;
    Ok(())
}

/// Resolves a key name to its public key id and the provider whose keyring holds its private key.
fn resolve_key(
    b: &dyn Backend,
    key: &str,
    provider: Option<&str>,
    ctx: &str,
) -> Result<(String, String), Failure> {
    match inventory::bind_key(b, key, provider) {
        Ok(k) => Ok((k.public_key_id, k.provider_id)),
        Err(BindingError::Store(e)) => Err(store_failure(ctx, e, "")),
        Err(BindingError::NoPublicKey { .. }) => Err(Failure::no(anyhow!(
            "{ctx}: no public key named {key:?}; create it with `fle keys generate`"
        ))),
        Err(e @ BindingError::WrongProvider { .. }) => {
            let p = provider.unwrap_or_default();
            Err(Failure::usage(anyhow!(
                "{ctx}: {e}; a backend loading provider {p:?} could not decrypt"
            )))
        }
        Err(BindingError::NoPrivateKey { .. }) => Err(Failure::usage(anyhow!(
            "{ctx}: key {key:?} has no private key in {}; pass --provider",
            b.describe()
        ))),
        Err(e) => Err(Failure::usage(anyhow!("{ctx}: {e}; pass --provider"))),
    }
}

fn check(ctx: &str, r: Result<(), fle_ops::StoreError>) -> Result<(), Failure> {
    r.map_err(|e| store_failure(ctx, e, "see `fle profiles create --help`"))
}

fn create(a: CreateArgs) -> CmdResult {
    let ctx = "profiles create";
    let b = a.common.open()?;
    let (public_key_id, provider_id) = resolve_key(b.as_ref(), &a.key, a.provider.as_deref(), ctx)?;
    let mut cfg = ProfileConfig {
        name: a.name.clone(),
        caller_reference: String::new(),
        comment: a.comment.clone(),
        encryption_entities: vec![EncryptionEntity {
            public_key_id,
            provider_id,
            field_patterns: a.fields.clone(),
        }],
    };
    cfg.caller_reference = a
        .caller_reference
        .clone()
        .unwrap_or_else(|| create::profile_reference(&cfg));
    check(ctx, rules::profile_config(&cfg))?;
    let (p, created) = if a.dry_run {
        let p = Profile {
            id: String::new(),
            last_modified_time: String::new(),
            etag: String::new(),
            config: cfg,
        };
        (p, true)
    } else {
        create::create_profile(b.as_ref(), &cfg)
            .map_err(|e| store_failure(ctx, e, "nothing was created"))?
    };
    emit_change(
        &a.common.out,
        a.dry_run,
        "create profile",
        if created {
            "created profile"
        } else {
            "already created (same caller reference and content; nothing changed): profile"
        },
        &b.describe(),
        view(b.as_ref(), &p)?,
        !created,
    )
}

#[derive(Debug, Serialize)]
struct ProfileList {
    profiles: Vec<ProfileView>,
}

fn list(a: &Common) -> CmdResult {
    let b = a.open()?;
    let profiles = b
        .list_profiles()
        .map_err(|e| store_failure("profiles list", e, ""))?;
    let mut views = profiles
        .iter()
        .map(|p| view(b.as_ref(), p))
        .collect::<Result<Vec<_>, _>>()?;
    views.sort_by(|x, y| x.name.cmp(&y.name));
    emit(a.out.output, &ProfileList { profiles: views }, |l| {
        if l.profiles.is_empty() {
            return format!("no profiles in {}\n", b.describe());
        }
        let rows: Vec<Vec<String>> = l
            .profiles
            .iter()
            .flat_map(|v| {
                v.entities.iter().map(|e| {
                    vec![
                        v.name.clone(),
                        v.id.clone(),
                        e.provider_id.clone(),
                        e.key_name.clone().unwrap_or_else(|| "?".to_owned()),
                        e.field_patterns.join(","),
                    ]
                })
            })
            .collect();
        table(&["NAME", "ID", "PROVIDER", "KEY", "FIELDS"], &rows)
    })?;
    Ok(())
}

fn get(b: &dyn Backend, name: &str, ctx: &str) -> Result<Profile, Failure> {
    profile_by_name(b, name)
        .map_err(|e| store_failure(ctx, e, "`fle profiles list` shows the profiles"))
}

fn show(a: NameArgs) -> CmdResult {
    let b = a.common.open()?;
    let p = get(b.as_ref(), &a.name, "profiles show")?;
    emit(a.common.out.output, &view(b.as_ref(), &p)?, view_text)?;
    Ok(())
}

fn update(a: UpdateArgs) -> CmdResult {
    let ctx = "profiles update";
    let b = a.common.open()?;
    let p = get(b.as_ref(), &a.name, ctx)?;
    let mut cfg = p.config.clone();
    if let Some(key) = &a.key {
        let [entity] = cfg.encryption_entities.as_mut_slice() else {
            return Err(Failure::usage(anyhow!(
                "{ctx}: --key needs a profile with exactly one encryption entity"
            )));
        };
        let (id, provider) = resolve_key(b.as_ref(), key, Some(&entity.provider_id), ctx)?;
        // Pointing a profile back at a key on its way out is allowed (a rollback), but said.
        if let Ok(ring) = b.load_keyring(&provider) {
            if let Some(k) = ring
                .get(key)
                .filter(|k| matches!(k.status, KeyStatus::Previous | KeyStatus::Retiring))
            {
                eprintln!(
                    "fle: {ctx}: warning: key {key:?} is {}{}; `fle keys retire` will not remove it while the profile uses it, but prefer `fle keys rotate` to move to a new key",
                    k.status.as_str(),
                    k.retire_after
                        .as_deref()
                        .map(|t| format!(" (retire after {t})"))
                        .unwrap_or_default()
                );
            }
        }
        if provider != entity.provider_id {
            return Err(Failure::usage(anyhow!(
                "{ctx}: key {key:?} belongs to provider {provider:?}, the profile to {:?}",
                entity.provider_id
            )));
        }
        entity.public_key_id = id;
    }
    if !a.fields.is_empty() {
        let [entity] = cfg.encryption_entities.as_mut_slice() else {
            return Err(Failure::usage(anyhow!(
                "{ctx}: --field needs a profile with exactly one encryption entity"
            )));
        };
        entity.field_patterns.clone_from(&a.fields);
    }
    if let Some(c) = &a.comment {
        cfg.comment.clone_from(c);
        // The edge marker is not the user's to lose with a new comment: without it a rotation
        // would leave the edge encrypting with a key `keys retire` then deletes.
        if p.config.edge_encrypted() {
            cfg.mark_edge_encrypted();
        }
    }
    check(ctx, rules::profile_config(&cfg))?;
    let if_match = a.if_match.clone().unwrap_or_else(|| p.etag.clone());
    if cfg == p.config {
        // Nothing to change: no write, so no new ETag for others' IfMatch to trip over.
        if if_match != p.etag {
            return Err(stale(
                ctx,
                &format!("profile {:?}", a.name),
                &p.etag,
                &if_match,
            ));
        }
        return emit_change(
            &a.common.out,
            a.dry_run,
            "update profile",
            "nothing to update: unchanged profile",
            &b.describe(),
            view(b.as_ref(), &p)?,
            false,
        );
    }
    let result = if a.dry_run {
        if if_match != p.etag {
            return Err(stale(
                ctx,
                &format!("profile {:?}", a.name),
                &p.etag,
                &if_match,
            ));
        }
        Profile { config: cfg, ..p }
    } else {
        b.update_profile(&p.id, &cfg, &if_match)
            .map_err(|e| store_failure(ctx, e, "nothing was changed"))?
    };
    emit_change(
        &a.common.out,
        a.dry_run,
        "update profile",
        "updated profile",
        &b.describe(),
        view(b.as_ref(), &result)?,
        false,
    )
}

fn delete(a: DeleteArgs) -> CmdResult {
    let ctx = "profiles delete";
    let b = a.common.open()?;
    let p = get(b.as_ref(), &a.name, ctx)?;
    let if_match = a.if_match.clone().unwrap_or_else(|| p.etag.clone());
    if !a.dry_run {
        b.delete_profile(&p.id, &if_match)
            .map_err(|e| store_failure(ctx, e, "nothing was deleted"))?;
    } else if if_match != p.etag {
        return Err(stale(
            ctx,
            &format!("profile {:?}", a.name),
            &p.etag,
            &if_match,
        ));
    }
    let out = Change {
        dry_run: a.dry_run,
        action: "delete profile",
        existed: false,
        profile: Some(view(b.as_ref(), &p)?),
    };
    let store = b.describe();
    emit(a.common.out.output, &out, |c| {
        change_line(
            c.dry_run,
            &format!("delete profile {} ({})", a.name, p.id),
            &format!("deleted profile {} ({})", a.name, p.id),
            &store,
        )
    })?;
    Ok(())
}
