//! `fle edge`: sign a CloudFront origin-request event natively (exactly what the Lambda@Edge
//! handler returns) and package the deployable zip (handler + wasm signer + config).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context as _};
use edge_signer::event::OriginRequestEvent;
use edge_signer::fle::{EdgeEncryption, EncryptConfig, FieldRules};
use edge_signer::{Credentials, SigningParams, SigningTime};

use crate::exit::{CmdResult, Failure};

/// The handler source, embedded so the zip always carries the handler this binary was built with.
pub(crate) const HANDLER_JS: &str = include_str!("../../../edge-signer/handler/index.mjs");

/// The Lambda@Edge zip target (edge encryption included): well under the 1 MB viewer-event
/// limit, fast cold starts.
const ZIP_BUDGET_BYTES: u64 = 250 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Sign an origin-request event as the Lambda@Edge handler would, with credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Prints the object the
    /// handler returns: the signed request (exit 0) or the response object it refuses with
    /// (exit 1).
    Sign(SignArgs),
    /// Build the deployable Lambda@Edge zip: index.mjs, edge_signer.wasm and config.json.
    Package(PackageArgs),
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The event JSON file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    event: PathBuf,
    /// The API's region [default: the region in an execute-api or lambda-url origin domain].
    #[arg(long)]
    region: Option<String>,
    /// The service to sign for: execute-api (API Gateway) or lambda (function URLs)
    /// [default: --config's, else execute-api].
    #[arg(long)]
    service: Option<String>,
    /// The signing time, RFC 3339 (e.g. 2026-01-02T03:04:05Z) [default: now].
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    /// A package's config.json (`fle edge package` writes it): its region and service (unless
    /// given here) and, with an `encrypt` section, the configured fields of the body are
    /// encrypted first, as the packaged handler does.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Tests only: the 32 random bytes of the encryption as 64 hex digits, to compare with the
    /// handler given the same. A seed used twice reuses AES-GCM keys and IVs: never in use.
    #[arg(long, value_name = "HEX", requires = "config", hide = true)]
    seed: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PackageArgs {
    /// Where to write the zip.
    #[arg(long, value_name = "FILE", default_value = "edge-signer.zip")]
    out: PathBuf,
    /// The API's region, baked into config.json [default: from each request's origin domain].
    #[arg(long)]
    region: Option<String>,
    /// The service to sign for, baked into config.json.
    #[arg(long, default_value = edge_signer::DEFAULT_SERVICE)]
    service: String,
    /// Use this wasm module (a custom build) instead of the release module built into fle.
    #[arg(long, value_name = "FILE")]
    wasm: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    encrypt: EncryptArgs,
}

/// Edge encryption: what `--encrypt PROFILE` writes into config.json.
#[derive(Debug, clap::Args)]
struct EncryptArgs {
    /// Encrypt fields at the edge with this profile's public key, provider ID and key name
    /// (read from the keystore, or CloudFront with --backend aws). Form bodies: the profile's
    /// field patterns. The profile must not be in a field-level encryption configuration:
    /// CloudFront would encrypt the same fields again.
    #[arg(long, value_name = "PROFILE", help_heading = "Edge encryption")]
    encrypt: Option<String>,
    /// JSON bodies: comma-separated selectors (JSON Pointers, `*` for any member or element),
    /// e.g. /card/number,/payments/*/iban.
    #[arg(
        long,
        value_name = "LIST",
        requires = "encrypt",
        help_heading = "Edge encryption"
    )]
    json_fields: Option<String>,
    /// Comma-separated selectors or form-field patterns a body must carry (else 400).
    #[arg(
        long,
        value_name = "LIST",
        requires = "encrypt",
        help_heading = "Edge encryption"
    )]
    required: Option<String>,
    /// Algorithm suite: 0x0478 (committing, unsigned: the default) or 0x0378 (CloudFront's).
    #[arg(long, value_name = "ID", requires = "encrypt", value_parser = ["0x0478", "0x0378"], help_heading = "Edge encryption")]
    suite: Option<String>,
    /// Local keystore directory [default: $FLE_HOME, else ./.fle]
    #[arg(
        long,
        value_name = "DIR",
        requires = "encrypt",
        help_heading = "Edge encryption"
    )]
    keystore: Option<PathBuf>,
    /// Where the profile lives.
    #[arg(
        long,
        value_enum,
        requires = "encrypt",
        help_heading = "Edge encryption"
    )]
    backend: Option<crate::cmd::store::BackendKind>,
    /// AWS named profile, with --backend aws.
    #[arg(
        long,
        value_name = "NAME",
        requires = "encrypt",
        help_heading = "Edge encryption"
    )]
    aws_profile: Option<String>,
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Sub::Sign(a) => sign(a),
        Sub::Package(a) => package(a),
    }
}

fn check_scope_part(what: &str, value: &str) -> CmdResult {
    if edge_signer::is_valid_scope_part(value) {
        Ok(())
    } else {
        Err(Failure::usage(anyhow!(
            "--{what} {value:?}: expected lowercase letters, digits and '-'"
        )))
    }
}

fn sign(mut args: SignArgs) -> CmdResult {
    let (package_config, encryption) = match &args.config {
        None => (None, None),
        Some(path) => read_package_config(path)?,
    };
    if let Some(config) = &package_config {
        let text = |name: &str| config.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        if args.region.is_none() {
            args.region = text("region");
        }
        if args.service.is_none() {
            args.service = text("service");
        }
    }
    let service = args
        .service
        .clone()
        .unwrap_or_else(|| edge_signer::DEFAULT_SERVICE.to_owned());
    if let Some(region) = &args.region {
        check_scope_part("region", region)?;
    }
    check_scope_part("service", &service)?;
    let time = match &args.time {
        Some(text) => parse_time(text)?,
        None => now()?,
    };
    let text = if args.event.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the event from stdin")?;
        s
    } else {
        std::fs::read_to_string(&args.event)
            .with_context(|| format!("reading {}", args.event.display()))?
    };
    let event: OriginRequestEvent = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a CloudFront origin-request event",
            args.event.display()
        )
    })?;

    let env = |name: &str| std::env::var(name).ok();
    let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            Credentials::new(&id, &secret, env("AWS_SESSION_TOKEN").as_deref())
        }
        _ => None,
    };
    let params = SigningParams {
        credentials: credentials.as_ref(),
        region: args.region.as_deref(),
        service: &service,
        time,
        payload_sha256: None,
    };
    let outcome = match &encryption {
        None => edge_signer::sign_event(&event, &params),
        Some(encryption) => {
            let seed = match &args.seed {
                Some(hex) => edge_signer::fle::parse_seed(hex)
                    .ok_or_else(|| Failure::usage(anyhow!("--seed: expected 64 hex digits")))?,
                None => os_seed()?,
            };
            edge_signer::sign_event_encrypted(&event, &params, encryption, &seed)
        }
    };
    let json = edge_signer::outcome_json(&outcome);
    let result = json
        .get("result")
        .ok_or_else(|| anyhow!("signer returned no result"))?;
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, result).context("writing the result")?;
    writeln!(stdout).context("writing the result")?;
    match outcome {
        Ok(_) => Ok(()),
        Err(edge_signer::Refusal::BadConfig) if args.region.is_none() => Err(Failure::no(anyhow!(
            "refused: {} (the origin domain names no region: pass --region)",
            edge_signer::Refusal::BadConfig
        ))),
        Err(refusal) => Err(Failure::no(anyhow!("refused: {refusal}"))),
    }
}

/// A package's config.json, and its edge encryption if it has an `encrypt` section (as the
/// handler reads it: absent or null is off).
fn read_package_config(
    path: &Path,
) -> Result<(Option<serde_json::Value>, Option<EdgeEncryption>), Failure> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let config: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let encryption = match config.get("encrypt").filter(|s| !s.is_null()) {
        None => None,
        Some(section) => {
            let section = serde_json::to_vec(section).context("reading the encrypt section")?;
            Some(
                EdgeEncryption::from_json(&section)
                    .map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())))?,
            )
        }
    };
    Ok((Some(config), encryption))
}

/// 32 bytes from the operating system's CSPRNG (what node:crypto gives the handler).
fn os_seed() -> Result<zeroize::Zeroizing<[u8; 32]>, Failure> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(&mut seed[..]).map_err(|_| anyhow!("no randomness from the OS"))?;
    Ok(seed)
}

fn now() -> Result<SigningTime, Failure> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Failure::usage(anyhow!("system clock is before 1970")))?
        .as_secs();
    let secs =
        i64::try_from(secs).map_err(|_| Failure::usage(anyhow!("system clock out of range")))?;
    SigningTime::from_unix(secs).map_err(|e| Failure::usage(anyhow!("system clock: {e}")))
}

fn package(args: PackageArgs) -> CmdResult {
    if let Some(region) = &args.region {
        check_scope_part("region", region)?;
    }
    check_scope_part("service", &args.service)?;
    if !args.force && args.out.as_os_str() != "-" && args.out.exists() {
        return Err(Failure::usage(anyhow!(
            "edge package: {} exists; pass --force to overwrite it",
            args.out.display()
        )));
    }
    let (encrypt, marker) = match &args.encrypt.encrypt {
        None => (None, None),
        Some(profile) => {
            let (config, marker) = encrypt_config(profile, &args.encrypt)?;
            (Some(config), Some(marker))
        }
    };
    let module = Module::load(args.wasm.as_deref(), encrypt.is_some(), true)?;
    let mut config = serde_json::Map::new();
    if let Some(region) = &args.region {
        config.insert("region".into(), region.clone().into());
    }
    config.insert("service".into(), args.service.clone().into());
    if let Some(encrypt) = &encrypt {
        let section = serde_json::to_value(encrypt).context("writing config.json")?;
        config.insert("encrypt".into(), section);
    }
    let zip = module.package(&serde_json::Value::Object(config))?;
    write_file(&args.out, &zip)?;
    if let Some(marker) = marker {
        marker.mark()?;
    }
    let size = u64::try_from(zip.len()).unwrap_or(u64::MAX);
    eprintln!(
        "fle: wrote {} ({} bytes; wasm {} bytes; handler index.mjs, export `handler`; region {}, service {})",
        args.out.display(),
        size,
        module.wasm.len(),
        args.region.as_deref().unwrap_or("from the origin domain"),
        args.service
    );
    if let Some(e) = &encrypt {
        let json = e.json.as_ref().map_or(0, |j| j.fields.len());
        let form = e.form.as_ref().map_or(0, |f| f.fields.len());
        eprintln!(
            "fle: the edge encrypts for profile {} (provider {}, key {}, suite {}): {json} JSON selector(s), {form} form pattern(s)",
            e.profile,
            e.provider_id,
            e.key_name,
            e.suite.as_deref().unwrap_or("0x0478"),
        );
    }
    if size > ZIP_BUDGET_BYTES {
        eprintln!("fle: warning: zip is over the {ZIP_BUDGET_BYTES}-byte budget");
    }
    Ok(())
}

/// The signer module a package carries: custom sections stripped, exports checked.
pub(crate) struct Module {
    wasm: Vec<u8>,
}

impl Module {
    /// `path`, else the module built into fle, else (with `may_build`) a cargo build in the
    /// workspace. With `encrypting`, it must export `configure`.
    pub(crate) fn load(
        path: Option<&Path>,
        encrypting: bool,
        may_build: bool,
    ) -> Result<Self, Failure> {
        let (wasm, wasm_path) = match path {
            Some(p) => (
                std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
                p.to_owned(),
            ),
            None if !EMBEDDED_WASM.is_empty() => (
                EMBEDDED_WASM.to_vec(),
                PathBuf::from("(the module built into fle)"),
            ),
            None if !may_build => {
                return Err(Failure::usage(anyhow!(
                    "this fle has no edge module built in (compiled without the wasm32 target): pass --edge-wasm"
                )))
            }
            None => {
                let p = build_wasm()?;
                (
                    std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
                    p,
                )
            }
        };
        let (wasm, exports) = strip_custom_sections(&wasm)
            .with_context(|| format!("{} is not a wasm module", wasm_path.display()))?;
        let needed = HANDLER_IMPORTS
            .iter()
            .chain(encrypting.then_some(&"configure"));
        let missing: Vec<&str> = needed
            .copied()
            .filter(|name| !exports.iter().any(|e| e == name))
            .collect();
        if !missing.is_empty() {
            return Err(Failure::usage(anyhow!(
                "edge package: {} does not export {} (the handler calls {}); build it from the edge-signer crate",
                wasm_path.display(),
                missing.join(", "),
                HANDLER_IMPORTS.join(", ")
            )));
        }
        Ok(Self { wasm })
    }

    /// The deployable zip: index.mjs, the module and `config` as config.json.
    pub(crate) fn package(&self, config: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
        let config = serde_json::to_vec_pretty(config).context("writing config.json")?;
        zip::write(&[
            ("index.mjs", HANDLER_JS.as_bytes()),
            ("edge_signer.wasm", &self.wasm),
            ("config.json", &config),
        ])
    }
}

/// A package's config.json with its `encrypt` section moved onto another key (a rotation),
/// checked by the parser the module runs.
///
/// # Errors
/// The config has no `encrypt` section for `key.profile`, or the result does not check.
pub(crate) fn config_for_key(
    template: &serde_json::Value,
    key: &fle_ops::rotation::EdgeKey<'_>,
) -> Result<serde_json::Value, String> {
    let mut config = template.clone();
    let section = config
        .get_mut("encrypt")
        .filter(|s| s.is_object())
        .ok_or("the edge config has no encrypt section")?;
    if section.get("profile").and_then(|p| p.as_str()) != Some(key.profile) {
        return Err(format!(
            "the edge config encrypts for profile {}, not {}",
            section.get("profile").unwrap_or(&serde_json::Value::Null),
            key.profile
        ));
    }
    let obj = section
        .as_object_mut()
        .ok_or("the encrypt section is not an object")?;
    for (name, value) in [
        ("providerId", key.provider_id),
        ("keyName", key.key_name),
        ("publicKey", key.public_key_pem),
    ] {
        obj.insert(name.into(), value.into());
    }
    // Form fields are the profile's patterns as they are now, as `--encrypt` takes them.
    if key.field_patterns.is_empty() {
        obj.remove("form");
    } else {
        let required = obj
            .get("form")
            .and_then(|f| f.get("required"))
            .cloned()
            .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
        obj.insert(
            "form".into(),
            serde_json::json!({ "fields": key.field_patterns, "required": required }),
        );
    }
    let bytes = serde_json::to_vec(section).map_err(|e| e.to_string())?;
    EdgeEncryption::from_json(&bytes).map_err(|e| e.to_string())?;
    Ok(config)
}

/// The `encrypt` section for a profile: its public key (PEM), provider ID and key name from the
/// store, its field patterns for forms, `--json-fields` for JSON. Checked by the same parser
/// the wasm module runs, so a package never carries a configuration its module refuses.
/// Marks the profile as encrypted at the edge once the package is written.
struct Marker {
    backend: Box<dyn fle_ops::Backend>,
    profile: fle_ops::model::Profile,
}

impl Marker {
    /// The profile now says the edge encrypts it: `fle keys rotate` then refuses to run without
    /// deploying the function, and never retires a key an edge may still encrypt with.
    fn mark(self) -> CmdResult {
        let p = self.profile;
        if p.config.edge_encrypted() {
            return Ok(());
        }
        let mut cfg = p.config.clone();
        cfg.mark_edge_encrypted();
        if cfg.comment.len() > fle_ops::rules::MAX_COMMENT_LEN {
            return Err(Failure::usage(anyhow!(
                "edge package --encrypt: profile {}'s comment leaves no room for {} (128 characters at most): shorten it with `fle profiles update --comment`",
                p.config.name,
                fle_ops::model::EDGE_MARK
            )));
        }
        self.backend
            .update_profile(&p.id, &cfg, &p.etag)
            .map_err(|e| crate::cmd::store::store_failure("edge package --encrypt", e, ""))?;
        eprintln!(
            "fle: marked profile {} as encrypted at the edge ({} in its comment): rotate it with `fle keys rotate --edge-function ... --edge-distribution ... --edge-config config.json`",
            p.config.name,
            fle_ops::model::EDGE_MARK
        );
        Ok(())
    }
}

fn encrypt_config(profile: &str, args: &EncryptArgs) -> Result<(EncryptConfig, Marker), Failure> {
    let ctx = "edge package --encrypt";
    let mut store = crate::cmd::store::StoreArgs::defaults()?;
    if let Some(dir) = &args.keystore {
        store.keystore = Some(dir.clone());
    }
    if let Some(backend) = args.backend {
        store.backend = backend;
    }
    if args.aws_profile.is_some() {
        store.aws_profile.clone_from(&args.aws_profile);
    }
    let b = crate::cmd::store::open(&store)?;
    let fail = |e| crate::cmd::store::store_failure(ctx, e, "");
    let p = fle_ops::backend::profile_by_name(b.as_ref(), profile).map_err(fail)?;
    let [entity] = p.config.encryption_entities.as_slice() else {
        return Err(Failure::no(anyhow!(
            "{ctx}: profile {profile:?} has {} encryption entities; the edge encrypts for one",
            p.config.encryption_entities.len()
        )));
    };
    let in_config = b.list_configs().map_err(fail)?.into_iter().find(|c| {
        let ct = &c.config.content_type_profile_config.content_type_profiles;
        let qa = &c.config.query_arg_profile_config.query_arg_profiles;
        ct.iter()
            .any(|t| t.profile_id.as_deref() == Some(p.id.as_str()))
            || qa.iter().any(|q| q.profile_id == p.id)
    });
    if let Some(c) = in_config {
        return Err(Failure::no(anyhow!(
            "{ctx}: profile {profile:?} is in field-level encryption configuration {}: CloudFront encrypts it; \
             an edge-encrypted profile must be in no configuration",
            c.id
        )));
    }
    let key = b.get_public_key(&entity.public_key_id).map_err(fail)?;
    let list = |s: &Option<String>| -> Vec<String> {
        s.iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let required = list(&args.required);
    let json_fields = list(&args.json_fields);
    let (json_required, form_required): (Vec<String>, Vec<String>) =
        required.into_iter().partition(|r| r.starts_with('/'));
    // A requirement with no fields of its format to bind would be dropped: refused instead.
    let unbound = if json_fields.is_empty() {
        json_required.first()
    } else {
        None
    }
    .or(if entity.field_patterns.is_empty() {
        form_required.first()
    } else {
        None
    });
    if let Some(r) = unbound {
        return Err(Failure::usage(anyhow!(
            "{ctx}: --required {r}: no {} fields to require it among",
            if r.starts_with('/') {
                "--json-fields"
            } else {
                "form (profile)"
            }
        )));
    }
    let config = EncryptConfig {
        profile: p.config.name.clone(),
        provider_id: entity.provider_id.clone(),
        key_name: key.config.name.clone(),
        public_key: key.config.encoded_key.clone(),
        suite: args.suite.clone(),
        json: (!json_fields.is_empty()).then_some(FieldRules {
            fields: json_fields,
            required: json_required,
        }),
        form: (!entity.field_patterns.is_empty()).then(|| FieldRules {
            fields: entity.field_patterns.clone(),
            required: form_required,
        }),
    };
    EdgeEncryption::new(&config).map_err(|e| Failure::usage(anyhow!("{ctx}: {e}")))?;
    Ok((
        config,
        Marker {
            backend: b,
            profile: p,
        },
    ))
}

fn write_file(path: &Path, bytes: &[u8]) -> CmdResult {
    if path.as_os_str() == "-" {
        std::io::stdout()
            .lock()
            .write_all(bytes)
            .context("writing the zip to stdout")?;
    } else {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Builds the wasm module with cargo and returns its path (from cargo's artifact messages, so
/// `CARGO_TARGET_DIR` and friends are honoured).
fn build_wasm() -> Result<PathBuf, Failure> {
    eprintln!("fle: building the signer: cargo build -p edge-signer --target wasm32-unknown-unknown --release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "-p", "edge-signer", "--target", "wasm32-unknown-unknown", "--release"])
        .args(["--message-format", "json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo (needs the fle workspace and the wasm32-unknown-unknown target; or pass --wasm FILE)")?;
    if !output.status.success() {
        return Err(Failure::usage(anyhow!(
            "cargo build of the wasm signer failed (rustup target add wasm32-unknown-unknown?; or pass --wasm FILE)"
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg.get("reason").and_then(|r| r.as_str()) != Some("compiler-artifact") {
            continue;
        }
        let files = msg
            .get("filenames")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten();
        for file in files.filter_map(|f| f.as_str()) {
            if file.ends_with("/edge_signer.wasm") {
                return Ok(PathBuf::from(file));
            }
        }
    }
    Err(Failure::usage(anyhow!("cargo built no edge_signer.wasm")))
}

/// The edge signer's release module, built into fle by cli/build.rs (empty when the build had
/// no wasm32 target: then `--wasm`, or a cargo build inside the workspace).
pub(crate) const EMBEDDED_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/edge_signer.wasm"));

/// What index.mjs takes from the module's exports.
const HANDLER_IMPORTS: [&str; 4] = ["memory", "alloc", "dealloc", "sign"];

/// The module without its custom sections (names, producers, target features: about a tenth
/// of it, not needed to run it), and the names it exports.
fn strip_custom_sections(module: &[u8]) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
    const HEADER: &[u8; 8] = b"\0asm\x01\0\0\0";
    let mut rest = module
        .strip_prefix(HEADER.as_slice())
        .ok_or_else(|| anyhow!("bad wasm header"))?;
    let mut out = HEADER.to_vec();
    let mut exports = Vec::new();
    while let Some((&id, after_id)) = rest.split_first() {
        let (len, after_len) = leb128_u32(after_id)?;
        let next = after_len
            .get(usize::try_from(len)?..)
            .ok_or_else(|| anyhow!("section runs past the end"))?;
        // `next` is a suffix of `rest`: the section is what lies before it.
        let section_len = rest
            .len()
            .checked_sub(next.len())
            .ok_or_else(|| anyhow!("bad section"))?;
        if id != 0 {
            out.extend_from_slice(
                rest.get(..section_len)
                    .ok_or_else(|| anyhow!("bad section"))?,
            );
        }
        if id == 7 {
            let body = after_len
                .get(..usize::try_from(len)?)
                .ok_or_else(|| anyhow!("bad export section"))?;
            exports = export_names(body)?;
        }
        rest = next;
    }
    Ok((out, exports))
}

/// The names of an export section's entries (name, kind byte, index).
fn export_names(mut body: &[u8]) -> anyhow::Result<Vec<String>> {
    let (count, after) = leb128_u32(body)?;
    body = after;
    let mut names = Vec::new();
    for _ in 0..count {
        let (len, after) = leb128_u32(body)?;
        let len = usize::try_from(len)?;
        let name = after.get(..len).ok_or_else(|| anyhow!("bad export name"))?;
        names.push(String::from_utf8_lossy(name).into_owned());
        let after_name = after.get(len..).unwrap_or_default();
        // kind (1 byte), then the index (LEB128)
        let (_, after_index) = leb128_u32(after_name.get(1..).unwrap_or_default())?;
        body = after_index;
    }
    Ok(names)
}

fn leb128_u32(bytes: &[u8]) -> anyhow::Result<(u32, &[u8])> {
    let mut value: u32 = 0;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        let shift = u32::try_from(i)? * 7;
        value |= u32::from(b & 0x7f)
            .checked_shl(shift)
            .ok_or_else(|| anyhow!("bad LEB128"))?;
        if b & 0x80 == 0 {
            return Ok((value, bytes.get(i + 1..).unwrap_or_default()));
        }
    }
    bail!("bad LEB128")
}

/// A minimal ZIP writer (deflate, fixed timestamps so the same inputs give the same zip).
mod zip {
    use anyhow::{anyhow, Context as _};

    /// 1980-01-01 00:00, the earliest DOS date: reproducible archives.
    const DOS_DATE: u16 = (1 << 5) | 1;
    const DOS_TIME: u16 = 0;
    /// Regular file, rw-r--r--, in the Unix external attributes.
    const UNIX_MODE: u32 = 0o100_644 << 16;

    pub fn write(files: &[(&str, &[u8])]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in files {
            let offset = u32::try_from(out.len()).context("zip over 4 GiB")?;
            let packed = miniz_oxide::deflate::compress_to_vec(data, 10);
            let crc = crc32fast::hash(data);
            let size = u32::try_from(data.len()).context("file over 4 GiB")?;
            let csize = u32::try_from(packed.len()).context("file over 4 GiB")?;
            let name_len = u16::try_from(name.len()).map_err(|_| anyhow!("file name too long"))?;
            out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
            for v in [20_u16, 0, 8, DOS_TIME, DOS_DATE] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc, csize, size] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(&0_u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&packed);

            central.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
            // Made by Unix (3), spec 2.0; needs 2.0; no flags; deflate.
            for v in [(3_u16 << 8) | 20, 20, 0, 8, DOS_TIME, DOS_DATE] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc, csize, size] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            // Name length, extra, comment, disk, internal attributes.
            for v in [name_len, 0, 0, 0, 0] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            central.extend_from_slice(&UNIX_MODE.to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = u32::try_from(out.len()).context("zip over 4 GiB")?;
        let cd_size = u32::try_from(central.len()).context("zip over 4 GiB")?;
        let count = u16::try_from(files.len()).context("too many files")?;
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
        for v in [0_u16, 0, count, count] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0_u16.to_le_bytes());
        Ok(out)
    }
}

/// `--time`: RFC 3339 in UTC (`2026-01-02T03:04:05Z`), parsed by humantime as every other time
/// the CLI reads; the signer itself only formats times.
fn parse_time(text: &str) -> Result<SigningTime, Failure> {
    let bad = |e: String| Failure::usage(anyhow!("--time {text:?}: {e}"));
    let t = humantime::parse_rfc3339(text).map_err(|e| bad(e.to_string()))?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| bad("before 1970".into()))?
        .as_secs();
    SigningTime::from_unix(i64::try_from(secs).unwrap_or(i64::MAX)).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_custom_sections() {
        // header, type section (id 1, 1 byte), custom "n" (id 0), memory section (id 5).
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[1, 1, 0]);
        m.extend_from_slice(&[0, 3, 1, b'n', 7]);
        m.extend_from_slice(&[5, 2, 0, 1]);
        let (s, exports) = strip_custom_sections(&m).unwrap();
        assert_eq!(
            s,
            [b"\0asm\x01\0\0\0".as_slice(), &[1, 1, 0, 5, 2, 0, 1]].concat()
        );
        assert!(exports.is_empty());
        assert!(strip_custom_sections(b"\0asm\x01\0\0\0\x01\x05\0").is_err());
        assert!(strip_custom_sections(b"junk").is_err());
    }

    #[test]
    fn reads_export_names() {
        // export section (id 7): 2 entries, "sign" func 3, "memory" memory 0.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        let body = [&[2_u8, 4][..], b"sign", &[0, 3, 6], b"memory", &[2, 0]].concat();
        m.push(7);
        m.push(u8::try_from(body.len()).unwrap());
        m.extend_from_slice(&body);
        let (_, exports) = strip_custom_sections(&m).unwrap();
        assert_eq!(exports, ["sign", "memory"]);
        // a truncated entry is an error, not a panic
        let mut cut = b"\0asm\x01\0\0\0".to_vec();
        cut.extend_from_slice(&[7, 3, 1, 9, b's']);
        assert!(strip_custom_sections(&cut).is_err());
    }
}
