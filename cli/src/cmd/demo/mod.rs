//! `fle demo`: the architecture end to end on one machine, over loopback HTTP, with no AWS
//! account.
//!
//! browser → CloudFront (FLE with the keystore's profile, emulated: [`edge`]) → the
//! origin-request signer (the wasm module under Node, or native) → API Gateway (a stand-in
//! that checks SigV4 with the `aws-sigv4` crate and the API key against its usage plan:
//! [`gateway`]) → the backend handler (`fle_lambda::checkout`, in process, keys read from the
//! keystore through `fle_lambda`'s key cache).
//!
//! Without `--rotate`: one form through every hop, then three requests each refused at its hop.
//! With `--rotate`: traffic from several clients while keys and API keys rotate ([`load`]).

// The reports are serde_json values read by key: `value["key"]` is `Null` when absent and never
// panics. Nothing in the demo indexes a slice.
#![allow(clippy::indexing_slicing)]

mod edge;
mod gateway;
mod http;
mod load;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, Context as _};
use fle_decrypt::form::FieldPatterns;
use fle_lambda::{Backend, KeyMaterial, KeySource, RefreshPolicy, SourceError};
use fle_ops::local::LocalStore;
use fle_ops::model::{EncryptionEntity, ProfileConfig};
use fle_ops::Backend as _;
use serde_json::{json, Value};

use crate::exit::{CmdResult, Failure};
use crate::input;
use edge::{Edge, EdgeConfig, Signer, SignerChoice};
use gateway::Gateway;
use http::{Message, Server};

pub(crate) use crate::cmd::edge::{EMBEDDED_WASM, HANDLER_JS};

/// Walk a checkout form through CloudFront FLE, the edge signer, an API Gateway stand-in and the
/// backend over loopback HTTP, with an independent SigV4 check; `--rotate` keeps traffic going
/// while keys and API keys rotate.
///
/// Plaintext is compared, never printed; every hop is checked and the exit code says whether
/// all held (0), or which did not (1).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keystore to use: its profile (`--profile`) as it is, or, when it has none, a new key and
    /// profile made in it [default: a temporary keystore, removed at the end]. Not with
    /// --rotate, which rotates and retires keys: that always runs on a temporary keystore.
    #[arg(long, value_name = "DIR", conflicts_with = "rotate")]
    keystore: Option<PathBuf>,
    /// The FLE profile CloudFront encrypts with (made with fields card_*, ssn when missing).
    #[arg(long, default_value = "demo-checkout", value_name = "NAME")]
    profile: String,
    /// The origin-request signer: the wasm module in node, the native build, or wasm when node
    /// 18+ is on PATH.
    #[arg(long, value_enum, default_value = "auto")]
    signer: SignerChoice,
    /// A JSON report on stdout instead of text (for CI).
    #[arg(long)]
    json: bool,
    /// Rotation under load: clients send forms while keys (`keys rotate` + `keys retire`) and
    /// API keys rotate; every request must succeed.
    #[arg(long)]
    rotate: bool,
    /// With --rotate: at least this many requests.
    #[arg(long, default_value_t = 1000, requires = "rotate", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    requests: u64,
    /// With --rotate: concurrent clients.
    #[arg(long, default_value_t = 4, requires = "rotate", value_parser = clap::value_parser!(u64).range(1..=64))]
    clients: u64,
    /// With --rotate: key rotations (each followed by `keys retire`).
    #[arg(long, default_value_t = 5, requires = "rotate", value_parser = clap::value_parser!(u32).range(0..=100))]
    key_rotations: u32,
    /// With --rotate: API-key rotations.
    #[arg(long, default_value_t = 5, requires = "rotate", value_parser = clap::value_parser!(u32).range(0..=100))]
    api_key_rotations: u32,
    /// With --rotate: CloudFront's emulated deployment time: after a change the edge keeps the
    /// old public key and the old API key this long.
    #[arg(long, default_value = "300ms", requires = "rotate", value_parser = input::duration::<60>)]
    propagation: Duration,
    /// With --rotate: remove the safety (no --switch-delay, no backend keyring refresh, the old
    /// API key deleted at once) to show that the run then fails.
    #[arg(long, requires = "rotate")]
    no_safety: bool,
}

const PROVIDER: &str = "fle-demo";
const FIELDS: [&str; 2] = ["card_*", "ssn"];
const REGION: &str = "eu-west-1";
const API_HOST: &str = "abc123defg.execute-api.eu-west-1.amazonaws.com";
const STAGE: &str = "prod";
const VIEWER_HOST: &str = "shop.example.com";
const FORM: &[u8] =
    b"name=Jane+Doe&card_number=4111111111111111&card_cvc=123&ssn=078-05-1120&amount=42.00";
/// What must never appear after the edge, nor in anything fle prints.
const PLAINTEXTS: [&str; 3] = ["4111111111111111", "078-05-1120", "card_cvc=123"];

/// The backend's keys: the keystore's keyring of the profile's provider, read as a Lambda reads
/// its secret (through `fle_lambda`'s cache: once, then periodically and on an unknown key).
#[derive(Debug)]
struct KeystoreSource {
    store: LocalStore,
    provider: String,
}

impl KeySource for KeystoreSource {
    fn describe(&self) -> String {
        format!("local keystore keyring {}", self.provider)
    }

    fn fetch(&self) -> impl std::future::Future<Output = Result<KeyMaterial, SourceError>> + Send {
        let got = self
            .store
            .load_keyring(&self.provider)
            .map(|doc| KeyMaterial::Documents(vec![doc]))
            .map_err(|e| SourceError::Unavailable {
                source_name: self.describe(),
                operation: "read",
                reason: e.to_string(),
            });
        std::future::ready(got)
    }
}

/// Everything running: keystore, backend, gateway, edge, their servers.
struct Pipeline {
    keystore: PathBuf,
    _temp: Option<tempfile::TempDir>,
    made: Option<String>,
    profile: String,
    gateway: Arc<Gateway>,
    edge: Arc<Edge>,
    backend: Arc<Backend<KeystoreSource>>,
    edge_addr: SocketAddr,
    watching: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
    _servers: [Server; 2],
}

impl Drop for Pipeline {
    /// Stops the deployment watcher and node, so that the temporary keystore and node's files
    /// are removed with the pipeline (the servers stop accepting when dropped).
    fn drop(&mut self) {
        self.watching.store(false, Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        self.edge.signer.shutdown();
    }
}

/// A fresh API key value, made as `fle api-keys rotate` makes them.
fn api_key_value() -> anyhow::Result<String> {
    Ok(fle_ops::aws::api_keys::new_api_key_value()?.to_string())
}

/// The keystore's profile, made (key + profile) when it is missing. Returns the profile's
/// provider and field patterns, and the name of the key made, if any.
fn prepare_keystore(
    store: &LocalStore,
    profile: &str,
) -> anyhow::Result<(String, Vec<String>, Option<String>)> {
    // Made only where the profile does not exist: any other error (a keystore that cannot be
    // read) is reported, not papered over with a new key.
    let found = match fle_ops::backend::profile_by_name(store, profile) {
        Ok(p) => Some(p),
        Err(fle_ops::StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(p) = found {
        let e = p
            .config
            .encryption_entities
            .first()
            .ok_or_else(|| anyhow!("profile {profile} has no encryption entity"))?;
        return Ok((e.provider_id.clone(), e.field_patterns.clone(), None));
    }
    let now = SystemTime::now();
    let key = fle_ops::rotation::default_key_name(profile, now);
    let req = fle_ops::rotation::GenerateRequest {
        name: &key,
        provider: PROVIDER,
        comment: "fle demo",
        now,
        dry_run: false,
    };
    fle_ops::rotation::generate(store, &req, &mut fle_ops::rotation::run_to_end)
        .map_err(|e| anyhow!("making the demo key: {e}"))?;
    let pk = fle_ops::backend::public_key_by_name(store, &key)?
        .ok_or_else(|| anyhow!("the demo key {key} has no public key"))?;
    let fields: Vec<String> = FIELDS.iter().map(|f| (*f).to_owned()).collect();
    let mut cfg = ProfileConfig {
        name: profile.to_owned(),
        caller_reference: String::new(),
        comment: "fle demo".to_owned(),
        encryption_entities: vec![EncryptionEntity {
            public_key_id: pk.id,
            provider_id: PROVIDER.to_owned(),
            field_patterns: fields.clone(),
        }],
    };
    cfg.caller_reference = fle_ops::create::profile_reference(&cfg);
    fle_ops::create::create_profile(store, &cfg)?;
    Ok((PROVIDER.to_owned(), fields, Some(key)))
}

fn refresh_policy(safe: bool) -> RefreshPolicy {
    if safe {
        RefreshPolicy {
            min_interval: Duration::from_millis(50),
            periodic: Some(Duration::from_secs(1)),
            jitter: 0.2,
        }
    } else {
        // Loaded at start, never again within a run.
        RefreshPolicy {
            min_interval: Duration::from_secs(86_400),
            periodic: None,
            jitter: 0.0,
        }
    }
}

/// A current-thread runtime per call: each server thread runs the async handler to its end.
fn block_on<F: std::future::Future>(f: F) -> Option<F::Output> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .ok()
        .map(|rt| rt.block_on(f))
}

impl Pipeline {
    fn start(args: &Args, safe: bool) -> anyhow::Result<Self> {
        let (keystore, temp) = match &args.keystore {
            Some(dir) => (dir.clone(), None),
            None => {
                let t = tempfile::Builder::new().prefix("fle-demo-").tempdir()?;
                (t.path().join("keystore"), Some(t))
            }
        };
        let store = LocalStore::new(&keystore);
        let (provider, fields, made) = prepare_keystore(&store, &args.profile)
            .with_context(|| format!("keystore {}", keystore.display()))?;
        let patterns = FieldPatterns::parse(&fields.join(","))
            .map_err(|e| anyhow!("profile {}'s field patterns: {e}", args.profile))?;

        let source = KeystoreSource {
            store: LocalStore::new(&keystore),
            provider,
        };
        let backend = Arc::new(Backend::new(
            source,
            Some(patterns.clone()),
            refresh_policy(safe),
            Some(1),
        ));
        block_on(backend.start()).ok_or_else(|| anyhow!("no async runtime"))?;

        let for_gateway = Arc::clone(&backend);
        let invoke = Box::new(move |request: lambda_http::Request| {
            let response = block_on(fle_lambda::checkout::handle(&for_gateway, &request));
            match response {
                Some(r) => (r.status().as_u16(), r.body().to_vec()),
                None => (500, b"{\"error\":\"runtime\"}".to_vec()),
            }
        });
        let gateway = Arc::new(
            Gateway::new(
                API_HOST,
                REGION,
                STAGE,
                (edge::ACCESS_KEY, edge::SECRET_KEY, edge::SESSION_TOKEN),
                invoke,
            )
            .recording(!args.rotate),
        );
        let api_key = api_key_value()?;
        gateway.add_key(&api_key);
        let g = Arc::clone(&gateway);
        let gateway_server = Server::start("gateway", move |req: Message| g.handle(&req))?;

        let signer = Signer::start(
            args.signer,
            REGION,
            &edge::probe_request(API_HOST, &format!("/{STAGE}")),
        )?;
        let edge = Arc::new(Edge::new(EdgeConfig {
            store: LocalStore::new(&keystore),
            profile: args.profile.clone(),
            patterns,
            propagation: args.propagation,
            signer,
            gateway: gateway_server.addr,
            origin_host: API_HOST.to_owned(),
            origin_path: format!("/{STAGE}"),
            api_key,
            record: !args.rotate,
        })?);
        let e = Arc::clone(&edge);
        let edge_server = Server::start("edge", move |req: Message| e.handle(&req))?;

        // CloudFront's control plane: the profile as the keystore has it now, deployed later.
        let watching = Arc::new(AtomicBool::new(true));
        let (w, e) = (Arc::clone(&watching), Arc::clone(&edge));
        let watcher = std::thread::Builder::new()
            .name("demo-deploy".into())
            .spawn(move || {
                while w.load(Ordering::Relaxed) {
                    let _ = e.watch_profile();
                    std::thread::sleep(Duration::from_millis(20));
                }
            })?;
        Ok(Self {
            keystore,
            _temp: temp,
            made,
            profile: args.profile.clone(),
            gateway,
            edge,
            backend,
            edge_addr: edge_server.addr,
            watching,
            watcher: Some(watcher),
            _servers: [gateway_server, edge_server],
        })
    }

    /// The browser's POST, with an optional fault for the edge to inject.
    fn post(&self, form: &[u8], fault: Option<&str>) -> std::io::Result<Message> {
        let mut req = Message::request("POST", "/checkout")
            .with_header("Host", VIEWER_HOST)
            .with_header("Content-Type", fle_lambda::FORM_CONTENT_TYPE)
            .with_header("User-Agent", "fle-demo-browser");
        if let Some(f) = fault {
            req = req.with_header(edge::FAULT_HEADER, f);
        }
        http::send(self.edge_addr, &req.with_body(form.to_vec()))
    }
}

pub fn run(args: Args) -> CmdResult {
    // The backend's own log lines (its CloudWatch Logs: key loads, refusals by class, never a
    // value) are shown with -v; without it the demo's output is the report alone.
    fle_lambda::set_log_lines(tracing::enabled!(target: "fle::demo", tracing::Level::DEBUG));
    if args.rotate {
        return load::run(&args);
    }
    let p = Pipeline::start(&args, true).map_err(Failure::usage)?;
    let report = walkthrough(&p).map_err(Failure::usage)?;
    let ok = report["ok"].as_bool().unwrap_or(false);
    let mut out = std::io::stdout().lock();
    if args.json {
        std::io::Write::write_all(&mut out, format!("{report:#}\n").as_bytes())?;
    } else {
        print_walkthrough(&mut out, &report)?;
    }
    if ok {
        Ok(())
    } else {
        Err(Failure::no(anyhow!("demo: a hop did not hold (see above)")))
    }
}

fn body_json(m: &Message) -> Value {
    serde_json::from_slice(&m.body).unwrap_or(Value::Null)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One form through every hop, then the three refusals. Returns the report (JSON), `ok` false
/// when any check failed.
fn walkthrough(p: &Pipeline) -> anyhow::Result<Value> {
    let mut hops = Vec::new();
    let mut all_ok = true;
    let mut hop = |hop: &str, party: &str, reads: &str, ok: bool, detail: String| {
        all_ok &= ok;
        hops.push(json!({"hop": hop, "party": party, "reads": reads, "ok": ok, "detail": detail}));
    };
    let names: Vec<String> = FORM
        .split(|b| *b == b'&')
        .filter_map(|p| p.split(|b| *b == b'=').next())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    hop(
        "browser",
        "the customer's browser",
        "plaintext (its own form)",
        true,
        format!(
            "POST https://{VIEWER_HOST}/checkout, {} bytes: {}",
            FORM.len(),
            names.join(", ")
        ),
    );

    let answer = p.post(FORM, None).context("the browser's request")?;
    let edge = p.edge.last_seen().unwrap_or_default();
    let clear_after_edge = PLAINTEXTS
        .iter()
        .any(|s| contains(&edge.body_to_origin, s.as_bytes()));
    let encrypted: Vec<String> = edge
        .encrypted
        .iter()
        .map(|(n, len)| format!("{n} ({len} chars)"))
        .collect();
    hop(
        "cloudfront",
        "CloudFront field-level encryption",
        "plaintext in, ciphertext out (public key only)",
        !edge.encrypted.is_empty() && edge.messages_ok && !clear_after_edge,
        format!(
            "profile {} with key {}: {} encrypted as AWS Encryption SDK messages; {} passed as is",
            p.profile,
            edge.key_name,
            encrypted.join(", "),
            edge.passed.join(", ")
        ),
    );
    let seen = p.gateway.last_seen().unwrap_or_default();
    let api_key_signed = seen
        .signed_headers
        .split(';')
        .any(|h| h == edge_signer::API_KEY_HEADER);
    hop(
        "lambda-edge",
        "Lambda@Edge origin-request signer",
        "ciphertext only",
        api_key_signed && seen.signed_headers.split(';').any(|h| h == "host"),
        format!(
            "{}; SigV4 for execute-api in {REGION}, signed headers {}",
            p.edge.signer.description, seen.signed_headers
        ),
    );
    let ciphertext_only = !PLAINTEXTS
        .iter()
        .any(|s| contains(&seen.body, s.as_bytes()));
    hop("api-gateway", "API Gateway (stand-in)", "ciphertext only",
        answer.header(gateway::HOP_HEADER) == Some(gateway::HOP_BACKEND) && ciphertext_only,
        format!("signature verified with the aws-sigv4 crate; x-api-key is one of the usage plan's {} key(s); REST proxy event to the backend",
            p.gateway.keys_in_plan()));
    let summary = body_json(&answer);
    let mut decrypted: Vec<&str> = summary["decrypted"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    decrypted.sort_unstable();
    let held = p
        .backend
        .loaded()
        .map(|k| {
            k.keys()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    hop("backend", "backend Lambda (fle_lambda::checkout)", "plaintext (values not shown)",
        answer.status() == 200 && decrypted == ["card_cvc", "card_number", "ssn"] && summary["cardLast4"] == "1111",
        format!("{} {}: decrypted {} with keys held [{held}]; answered only field names and the card's last 4 digits",
            answer.status(), summary, decrypted.join(", ")));

    let mut refusals = Vec::new();
    for (case, fault, want_status, want_hop, what) in [
        (
            "tampered-signature",
            "signature",
            403,
            gateway::HOP_GATEWAY,
            "one hex digit of the SigV4 signature changed on the way",
        ),
        (
            "wrong-api-key",
            "api-key",
            403,
            gateway::HOP_GATEWAY,
            "the origin header carries a key that is not in the usage plan",
        ),
        (
            "plaintext-field",
            "plaintext",
            400,
            gateway::HOP_BACKEND,
            "a behavior without FLE forwards card_number in clear",
        ),
    ] {
        let got = p.post(FORM, Some(fault)).context("a refused request")?;
        let at = got.header(gateway::HOP_HEADER).unwrap_or("?").to_owned();
        let body = body_json(&got);
        let why = body["message"]
            .as_str()
            .or(body["error"].as_str())
            .unwrap_or("")
            .to_owned();
        let ok = got.status() == want_status
            && at == want_hop
            && !PLAINTEXTS.iter().any(|s| contains(&got.body, s.as_bytes()));
        all_ok &= ok;
        refusals.push(
            json!({"case": case, "what": what, "expectedAt": want_hop, "refusedAt": at,
            "status": got.status(), "reason": why, "ok": ok}),
        );
    }
    Ok(json!({
        "ok": all_ok,
        "keystore": p.keystore.display().to_string(),
        "temporaryKeystore": p._temp.is_some(),
        "madeKey": p.made,
        "profile": p.profile,
        "signer": p.edge.signer.description,
        "hops": hops,
        "refusals": refusals,
    }))
}

fn print_walkthrough(out: &mut impl std::io::Write, r: &Value) -> std::io::Result<()> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    writeln!(out, "fle demo: one checkout form through CloudFront FLE, Lambda@Edge, API Gateway and the backend,")?;
    writeln!(out, "over loopback HTTP, with no AWS account\n")?;
    let temp = if r["temporaryKeystore"] == true {
        " (temporary)"
    } else {
        ""
    };
    writeln!(out, "keystore  {}{temp}", s(&r["keystore"]))?;
    if let Some(k) = r["madeKey"].as_str() {
        writeln!(
            out,
            "          made key {k} and profile {} (fields {})",
            s(&r["profile"]),
            FIELDS.join(", ")
        )?;
    }
    writeln!(out, "signer    {}\n", s(&r["signer"]))?;
    for (i, h) in r["hops"].as_array().into_iter().flatten().enumerate() {
        let mark = if h["ok"] == true { "ok  " } else { "FAIL" };
        writeln!(
            out,
            "{}. {mark} {:<38} reads: {}",
            i.saturating_add(1),
            s(&h["party"]),
            s(&h["reads"])
        )?;
        writeln!(out, "           {}", s(&h["detail"]))?;
    }
    writeln!(out, "\nRefused at the right hop:")?;
    for f in r["refusals"].as_array().into_iter().flatten() {
        let mark = if f["ok"] == true { "ok  " } else { "FAIL" };
        writeln!(
            out,
            "   {mark} {:<19} {} at {} ({}): {}",
            s(&f["case"]),
            f["status"],
            s(&f["refusedAt"]),
            s(&f["what"]),
            s(&f["reason"])
        )?;
    }
    if r["ok"] == true {
        writeln!(out, "\nAll checks passed. `fle demo --rotate` keeps this running while keys and API keys rotate.")?;
    } else {
        writeln!(out, "\nA check failed (FAIL above).")?;
    }
    Ok(())
}
