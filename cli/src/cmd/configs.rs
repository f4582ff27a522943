//! `fle configs`: CloudFront field-level-encryption configurations (content type / query
//! argument → profile) and their attachment to a distribution's cache behavior.

use anyhow::anyhow;
use clap::{Args as ClapArgs, Subcommand};
use serde::Serialize;

use super::store::{stale, store_failure, Common};
use crate::exit::{CmdResult, Failure};
use crate::output::{change_line, emit, table, OutputArgs};
use fle_ops::backend::{config_by_id, profile_by_name};
use fle_ops::model::{
    Attachment, Config, ConfigBody, ContentTypeProfile, ContentTypeProfileConfig, QueryArgProfile,
    QueryArgProfileConfig, FORMAT_URLENCODED,
};
use fle_ops::{create, rules, Backend};

/// The content type CloudFront FLE encrypts.
const FORM: &str = "application/x-www-form-urlencoded";

/// Manage FLE configurations: which profile CloudFront applies to which request.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a configuration (CloudFront gives it an id; configurations have no name).
    Create(CreateArgs),
    /// List configurations.
    List(Common),
    /// Show one configuration.
    Show(IdArgs),
    /// Change a configuration's mappings or flags (IfMatch on its ETag).
    Update(UpdateArgs),
    /// Delete a configuration no distribution uses.
    Delete(DeleteArgs),
    /// Attach a configuration to a distribution's cache behavior (or detach with --detach).
    Attach(AttachArgs),
}

#[derive(Debug, Clone, ClapArgs)]
struct Mappings {
    /// Encrypt application/x-www-form-urlencoded requests with this profile (short for
    /// --content-type application/x-www-form-urlencoded=PROFILE).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
    /// CONTENT-TYPE=PROFILE: requests of this content type use this profile. Repeatable.
    #[arg(long = "content-type", value_name = "TYPE=PROFILE")]
    content_types: Vec<String>,
    /// ARG=PROFILE: `?fle-profile=ARG` selects this profile. Repeatable, at most 5.
    #[arg(long = "query-arg", value_name = "ARG=PROFILE")]
    query_args: Vec<String>,
    /// Forward a request whose content type is not mapped (unencrypted) instead of refusing it.
    #[arg(long, value_name = "BOOL")]
    forward_unknown_content_type: Option<bool>,
    /// Forward a request whose fle-profile argument is unknown instead of refusing it.
    #[arg(long, value_name = "BOOL")]
    forward_unknown_query_arg: Option<bool>,
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Debug, ClapArgs)]
struct CreateArgs {
    #[command(flatten)]
    map: Mappings,
    /// CloudFront caller reference [default: derived from the content, so a rerun after a
    /// timeout finds the configuration it made instead of making a second one].
    #[arg(long, value_name = "REF")]
    caller_reference: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct IdArgs {
    /// Configuration id.
    id: String,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct UpdateArgs {
    /// Configuration id.
    id: String,
    /// Mappings given replace the existing mappings of that kind; flags given replace theirs.
    #[command(flatten)]
    map: Mappings,
    /// Only update if the ETag is still this [default: the ETag just read].
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
    /// Configuration id.
    id: String,
    /// Only delete if the ETag is still this [default: the ETag just read].
    #[arg(long)]
    if_match: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, ClapArgs)]
struct AttachArgs {
    /// Configuration id (omit with --detach).
    #[arg(required_unless_present = "detach")]
    id: Option<String>,
    /// Distribution id.
    #[arg(long)]
    distribution: String,
    /// Cache behavior path pattern; '*' is the default cache behavior.
    #[arg(long, default_value = "*")]
    path_pattern: String,
    /// Remove the configuration from the cache behavior instead.
    #[arg(long, conflicts_with = "id")]
    detach: bool,
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
        Command::Attach(a) => attach(a),
    }
}

/// A configuration with profile names resolved and its attachments.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView {
    id: String,
    etag: String,
    last_modified_time: String,
    comment: String,
    forward_when_content_type_is_unknown: bool,
    forward_when_query_arg_profile_is_unknown: bool,
    content_types: Vec<MappingView>,
    query_args: Vec<MappingView>,
    attached_to: Vec<Attachment>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MappingView {
    /// The content type or the query-argument value.
    key: String,
    profile_id: Option<String>,
    profile_name: Option<String>,
}

fn view(b: &dyn Backend, c: &Config, ctx: &str) -> Result<ConfigView, Failure> {
    let profiles = b.list_profiles().map_err(|e| store_failure(ctx, e, ""))?;
    let attachments = b
        .list_attachments()
        .map_err(|e| store_failure(ctx, e, ""))?;
    let name = |id: Option<&str>| {
        id.and_then(|id| profiles.iter().find(|p| p.id == id))
            .map(|p| p.config.name.clone())
    };
    Ok(ConfigView {
        id: c.id.clone(),
        etag: c.etag.clone(),
        last_modified_time: c.last_modified_time.clone(),
        comment: c.config.comment.clone(),
        forward_when_content_type_is_unknown: c
            .config
            .content_type_profile_config
            .forward_when_content_type_is_unknown,
        forward_when_query_arg_profile_is_unknown: c
            .config
            .query_arg_profile_config
            .forward_when_query_arg_profile_is_unknown,
        content_types: c
            .config
            .content_type_profile_config
            .content_type_profiles
            .iter()
            .map(|m| MappingView {
                key: m.content_type.clone(),
                profile_id: m.profile_id.clone(),
                profile_name: name(m.profile_id.as_deref()),
            })
            .collect(),
        query_args: c
            .config
            .query_arg_profile_config
            .query_arg_profiles
            .iter()
            .map(|m| MappingView {
                key: m.query_arg.clone(),
                profile_id: Some(m.profile_id.clone()),
                profile_name: name(Some(&m.profile_id)),
            })
            .collect(),
        attached_to: attachments
            .into_iter()
            .filter(|a| a.config_id == c.id)
            .collect(),
    })
}

fn view_text(v: &ConfigView) -> String {
    let mut s = format!(
        "id: {}\netag: {}\nlast modified: {}\n",
        v.id, v.etag, v.last_modified_time
    );
    if !v.comment.is_empty() {
        s.push_str(&format!("comment: {}\n", v.comment));
    }
    for m in &v.content_types {
        s.push_str(&format!(
            "content type {} -> profile {}\n",
            m.key,
            m.profile_name
                .as_deref()
                .or(m.profile_id.as_deref())
                .unwrap_or("-")
        ));
    }
    for m in &v.query_args {
        s.push_str(&format!(
            "fle-profile={} -> profile {}\n",
            m.key,
            m.profile_name
                .as_deref()
                .or(m.profile_id.as_deref())
                .unwrap_or("-")
        ));
    }
    s.push_str(&format!(
        "forward unknown content type: {}\nforward unknown fle-profile: {}\n",
        v.forward_when_content_type_is_unknown, v.forward_when_query_arg_profile_is_unknown
    ));
    for a in &v.attached_to {
        s.push_str(&format!(
            "attached to distribution {} behavior {}\n",
            a.distribution_id, a.path_pattern
        ));
    }
    s
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Change {
    dry_run: bool,
    action: &'static str,
    /// True when a create found the configuration a previous run made (same caller reference
    /// and content) and changed nothing; absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    existed: bool,
    config: ConfigView,
}

fn emit_change(out: &OutputArgs, c: &Change, store: &str) -> CmdResult {
    emit(out.output, c, |c| {
        // "create configuration" -> "created configuration C…" (a dry-run create has no id yet)
        let (verb, object) = c.action.split_once(' ').unwrap_or((c.action, ""));
        let done = if c.existed {
            format!(
                "already created (same caller reference and content; nothing changed): {object} {}",
                c.config.id
            )
        } else {
            format!("{verb}d {object} {}", c.config.id)
        };
        let what = if c.config.id.is_empty() {
            c.action.to_owned()
        } else {
            format!("{} {}", c.action, c.config.id)
        };
        change_line(c.dry_run, &what, done.trim_end(), store) + &view_text(&c.config)
    })?;
    Ok(())
}

fn split_mapping<'a>(s: &'a str, what: &str, ctx: &str) -> Result<(&'a str, &'a str), Failure> {
    s.rsplit_once('=')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| Failure::usage(anyhow!("{ctx}: {s:?} is not {what}=PROFILE")))
}

fn profile_id(b: &dyn Backend, name: &str, ctx: &str) -> Result<String, Failure> {
    profile_by_name(b, name)
        .map(|p| p.id)
        .map_err(|e| store_failure(ctx, e, "create it with `fle profiles create` first"))
}

/// Applies the mapping options to `body` (replacing each kind that is given).
fn apply(b: &dyn Backend, m: &Mappings, body: &mut ConfigBody, ctx: &str) -> Result<(), Failure> {
    let mut cts: Vec<(String, String)> = Vec::new();
    if let Some(p) = &m.profile {
        cts.push((FORM.to_owned(), p.clone()));
    }
    for s in &m.content_types {
        let (k, v) = split_mapping(s, "CONTENT-TYPE", ctx)?;
        cts.push((k.to_owned(), v.to_owned()));
    }
    if !cts.is_empty() {
        body.content_type_profile_config.content_type_profiles = cts
            .into_iter()
            .map(|(ct, p)| {
                Ok(ContentTypeProfile {
                    format: FORMAT_URLENCODED.to_owned(),
                    profile_id: Some(profile_id(b, &p, ctx)?),
                    content_type: ct,
                })
            })
            .collect::<Result<_, Failure>>()?;
    }
    if !m.query_args.is_empty() {
        body.query_arg_profile_config.query_arg_profiles = m
            .query_args
            .iter()
            .map(|s| {
                let (k, v) = split_mapping(s, "ARG", ctx)?;
                Ok(QueryArgProfile {
                    query_arg: k.to_owned(),
                    profile_id: profile_id(b, v, ctx)?,
                })
            })
            .collect::<Result<_, Failure>>()?;
    }
    if let Some(f) = m.forward_unknown_content_type {
        body.content_type_profile_config
            .forward_when_content_type_is_unknown = f;
    }
    if let Some(f) = m.forward_unknown_query_arg {
        body.query_arg_profile_config
            .forward_when_query_arg_profile_is_unknown = f;
    }
    if let Some(c) = &m.comment {
        body.comment.clone_from(c);
    }
    rules::config_body(body).map_err(|e| store_failure(ctx, e, "see `fle configs create --help`"))
}

fn create(a: CreateArgs) -> CmdResult {
    let ctx = "configs create";
    let b = a.common.open()?;
    let mut body = ConfigBody {
        caller_reference: String::new(),
        comment: String::new(),
        query_arg_profile_config: QueryArgProfileConfig::default(),
        content_type_profile_config: ContentTypeProfileConfig::default(),
    };
    apply(b.as_ref(), &a.map, &mut body, ctx)?;
    body.caller_reference = a
        .caller_reference
        .clone()
        .unwrap_or_else(|| create::config_reference(&body));
    let (c, created) = if a.dry_run {
        let c = Config {
            id: String::new(),
            last_modified_time: String::new(),
            etag: String::new(),
            config: body,
        };
        (c, true)
    } else {
        create::create_config(b.as_ref(), &body)
            .map_err(|e| store_failure(ctx, e, "nothing was created"))?
    };
    emit_change(
        &a.common.out,
        &Change {
            dry_run: a.dry_run,
            action: "create configuration",
            existed: !created,
            config: view(b.as_ref(), &c, ctx)?,
        },
        &b.describe(),
    )
}

#[derive(Debug, Serialize)]
struct ConfigList {
    configs: Vec<ConfigView>,
}

fn list(a: &Common) -> CmdResult {
    let ctx = "configs list";
    let b = a.open()?;
    let configs = b.list_configs().map_err(|e| store_failure(ctx, e, ""))?;
    let views = configs
        .iter()
        .map(|c| view(b.as_ref(), c, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    emit(a.out.output, &ConfigList { configs: views }, |l| {
        if l.configs.is_empty() {
            return format!("no configurations in {}\n", b.describe());
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        for v in &l.configs {
            let maps: Vec<String> = v
                .content_types
                .iter()
                .chain(&v.query_args)
                .map(|m| format!("{}={}", m.key, m.profile_name.as_deref().unwrap_or("?")))
                .collect();
            let att: Vec<String> = v
                .attached_to
                .iter()
                .map(|a| format!("{}:{}", a.distribution_id, a.path_pattern))
                .collect();
            rows.push(vec![
                v.id.clone(),
                maps.join(","),
                if att.is_empty() {
                    "-".to_owned()
                } else {
                    att.join(",")
                },
            ]);
        }
        table(&["ID", "MAPPINGS", "ATTACHED TO"], &rows)
    })?;
    Ok(())
}

fn get(b: &dyn Backend, id: &str, ctx: &str) -> Result<Config, Failure> {
    config_by_id(b, id)
        .map_err(|e| store_failure(ctx, e, "`fle configs list` shows the configurations"))
}

fn show(a: IdArgs) -> CmdResult {
    let b = a.common.open()?;
    let c = get(b.as_ref(), &a.id, "configs show")?;
    emit(
        a.common.out.output,
        &view(b.as_ref(), &c, "configs show")?,
        view_text,
    )?;
    Ok(())
}

fn update(a: UpdateArgs) -> CmdResult {
    let ctx = "configs update";
    let b = a.common.open()?;
    let c = get(b.as_ref(), &a.id, ctx)?;
    let mut body = c.config.clone();
    apply(b.as_ref(), &a.map, &mut body, ctx)?;
    let if_match = a.if_match.clone().unwrap_or_else(|| c.etag.clone());
    let result = if a.dry_run {
        if if_match != c.etag {
            return Err(stale(
                ctx,
                &format!("configuration {}", c.id),
                &c.etag,
                &if_match,
            ));
        }
        Config { config: body, ..c }
    } else {
        b.update_config(&c.id, &body, &if_match)
            .map_err(|e| store_failure(ctx, e, "nothing was changed"))?
    };
    emit_change(
        &a.common.out,
        &Change {
            dry_run: a.dry_run,
            action: "update configuration",
            existed: false,
            config: view(b.as_ref(), &result, ctx)?,
        },
        &b.describe(),
    )
}

fn delete(a: DeleteArgs) -> CmdResult {
    let ctx = "configs delete";
    let b = a.common.open()?;
    let c = get(b.as_ref(), &a.id, ctx)?;
    let before = view(b.as_ref(), &c, ctx)?;
    let if_match = a.if_match.clone().unwrap_or_else(|| c.etag.clone());
    if a.dry_run {
        if if_match != c.etag {
            return Err(stale(
                ctx,
                &format!("configuration {}", c.id),
                &c.etag,
                &if_match,
            ));
        }
        if let Some(at) = before.attached_to.first() {
            return Err(Failure::no(anyhow!(
                "{ctx}: configuration {} is in use by distribution {} behavior {}; detach it first (`fle configs attach --detach`)",
                c.id,
                at.distribution_id,
                at.path_pattern
            )));
        }
    } else {
        b.delete_config(&c.id, &if_match).map_err(|e| {
            store_failure(
                ctx,
                e,
                "nothing was deleted; detach it first with `fle configs attach --detach`",
            )
        })?;
    }
    emit_change(
        &a.common.out,
        &Change {
            dry_run: a.dry_run,
            action: "delete configuration",
            existed: false,
            config: before,
        },
        &b.describe(),
    )
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachResult {
    dry_run: bool,
    action: &'static str,
    distribution_id: String,
    path_pattern: String,
    config_id: Option<String>,
}

fn attach(a: AttachArgs) -> CmdResult {
    let ctx = "configs attach";
    let b = a.common.open()?;
    let config_id = if a.detach { None } else { a.id.clone() };
    if let Some(id) = &config_id {
        get(b.as_ref(), id, ctx)?;
    }
    if a.dry_run {
        if a.detach {
            let atts = b
                .list_attachments()
                .map_err(|e| store_failure(ctx, e, ""))?;
            if !atts
                .iter()
                .any(|x| x.distribution_id == a.distribution && x.path_pattern == a.path_pattern)
            {
                return Err(Failure::no(anyhow!(
                    "{ctx}: no configuration is attached to distribution {} behavior {}",
                    a.distribution,
                    a.path_pattern
                )));
            }
        }
    } else {
        b.attach_config(&a.distribution, &a.path_pattern, config_id.as_deref())
            .map_err(|e| store_failure(ctx, e, "nothing was changed"))?;
    }
    let r = AttachResult {
        dry_run: a.dry_run,
        action: if a.detach {
            "detach configuration"
        } else {
            "attach configuration"
        },
        distribution_id: a.distribution.clone(),
        path_pattern: a.path_pattern.clone(),
        config_id,
    };
    let store = b.describe();
    emit(a.common.out.output, &r, |r| {
        let target = format!(
            "distribution {} behavior {}",
            r.distribution_id, r.path_pattern
        );
        match &r.config_id {
            Some(id) => change_line(
                r.dry_run,
                &format!("attach configuration {id} to {target}"),
                &format!("attached configuration {id} to {target}"),
                &store,
            ),
            None => change_line(
                r.dry_run,
                &format!("detach the configuration of {target}"),
                &format!("detached the configuration of {target}"),
                &store,
            ),
        }
    })?;
    Ok(())
}
