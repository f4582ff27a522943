//! CloudFront, emulated: the distribution's POST behavior with the keystore's FLE profile
//! attached, the `x-api-key` origin custom header, and the origin-request signer — the real
//! wasm module under Node when `node` is on PATH, else the same Rust code built natively.
//!
//! Changes reach the edge as CloudFront deploys them: a new public key in the profile or a new
//! API key in the origin header is used only `propagation` after it was made (the emulated
//! deployment), and until then the edge keeps encrypting with the old key and sending the old
//! API key, as edge locations do.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Context as _};
use base64::Engine as _;
use edge_signer::event::{
    Body, CfRecord, CustomOrigin, Header, Headers, Origin, OriginRequestEvent, Record, Request,
};
use edge_signer::{Credentials, SigningParams, SigningTime};
use fle_decrypt::encrypt::{encrypt_form, Encryptor, PublicKey};
use fle_decrypt::form::FieldPatterns;
use fle_ops::Backend as _;

use super::gateway::HOP_HEADER;
use super::http::{self, Message};

pub const HOP_CLOUDFRONT: &str = "cloudfront";
/// The demo's browser asks for a fault with this header; the edge strips it.
pub const FAULT_HEADER: &str = "x-demo-fault";

/// The example credentials of the AWS documentation: they sign, and open nothing real.
pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const SESSION_TOKEN: &str = "fle-demo-session-token";

/// Which signer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignerChoice {
    /// The wasm module under Node when `node` (18 or later) is on PATH, else native.
    Auto,
    /// The wasm module under Node (fails without Node).
    Wasm,
    /// The same Rust signer, built into fle.
    Native,
}

/// The origin-request signer.
pub struct Signer {
    pub description: String,
    /// The node process; `None` for the native signer, and once node has been stopped.
    node: Mutex<Option<NodeSigner>>,
    uses_node: bool,
    credentials: Credentials,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

struct NodeSigner {
    child: Child,
    stdin: ChildStdin,
    /// Lines node writes, read by a thread of their own so that a wait can time out.
    answers: Receiver<String>,
    dir: tempfile::TempDir,
}

impl NodeSigner {
    /// What node wrote on stderr (the handler logs refusal classes only), for an error.
    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("node.stderr")).unwrap_or_default();
        let tail: String = text
            .chars()
            .rev()
            .take(300)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        tail.trim().to_owned()
    }
}

impl Drop for NodeSigner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads events (one JSON line each) and answers with what the packaged handler returns.
const NODE_DRIVER: &str = r#"import { handler } from './index.mjs';
import { createInterface } from 'node:readline';
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  let out;
  try { out = await handler(JSON.parse(line)); } catch (e) { out = { status: '500', body: 'driver: ' + (e?.message ?? e) }; }
  process.stdout.write(JSON.stringify(out) + '\n');
}
"#;

fn node_version() -> Option<(u32, String)> {
    let out = Command::new("node").arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    let major = text.strip_prefix('v')?.split('.').next()?.parse().ok()?;
    out.status.success().then_some((major, text))
}

impl Signer {
    /// The signer `choice` asks for. Under `auto` a node that is missing, too old or fails a
    /// first signing gives way to the native signer (the description says why).
    pub fn start(choice: SignerChoice, region: &str, probe: &Request) -> anyhow::Result<Self> {
        let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, Some(SESSION_TOKEN))
            .ok_or_else(|| anyhow!("demo credentials"))?;
        let native = |why: &str| Self {
            description: format!("native build of the edge signer ({why})"),
            node: Mutex::new(None),
            uses_node: false,
            credentials: credentials.clone(),
        };
        if choice == SignerChoice::Native {
            return Ok(native("--signer native"));
        }
        let why_not = if super::EMBEDDED_WASM.is_empty() {
            Some("fle was built without the wasm module".to_owned())
        } else {
            match node_version() {
                Some((major, _)) if major >= 18 => None,
                Some((_, v)) => Some(format!("node {v} is older than 18")),
                None => Some("no node on PATH".to_owned()),
            }
        };
        let started = match why_not {
            Some(why) => Err(anyhow!(why)),
            None => Self::start_node(region, credentials.clone()).and_then(|signer| {
                // One signing before any traffic: a node that cannot run the handler is found
                // here, not as a 502 on every request.
                match signer.sign(probe) {
                    Ok(_) => Ok(signer),
                    Err((status, why)) => {
                        Err(anyhow!("node's first signing failed ({status}: {why})"))
                    }
                }
            }),
        };
        match (started, choice) {
            (Ok(signer), _) => Ok(signer),
            (Err(e), SignerChoice::Wasm) => Err(e.context("--signer wasm")),
            (Err(e), _) => Ok(native(&e.to_string())),
        }
    }

    fn start_node(region: &str, credentials: Credentials) -> anyhow::Result<Self> {
        let version = node_version().map(|(_, v)| v).unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix("fle-demo-edge-")
            .tempdir()?;
        let config =
            serde_json::json!({ "region": region, "service": edge_signer::DEFAULT_SERVICE });
        for (name, bytes) in [
            ("index.mjs", super::HANDLER_JS.as_bytes()),
            ("edge_signer.wasm", super::EMBEDDED_WASM),
            ("config.json", config.to_string().as_bytes()),
            ("driver.mjs", NODE_DRIVER.as_bytes()),
        ] {
            std::fs::write(dir.path().join(name), bytes)
                .with_context(|| format!("writing {name} for node"))?;
        }
        let stderr = std::fs::File::create(dir.path().join("node.stderr"))?;
        let mut child = Command::new("node")
            .arg(dir.path().join("driver.mjs"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .context("starting node")?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(anyhow!("node's pipes"));
        };
        let (tx, answers) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("demo-node-stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            description: format!(
                "the packaged wasm module (index.mjs + edge_signer.wasm) in node {version}"
            ),
            node: Mutex::new(Some(NodeSigner {
                child,
                stdin,
                answers,
                dir,
            })),
            uses_node: true,
            credentials,
        })
    }

    /// Stops node and removes its files (also done on drop).
    pub fn shutdown(&self) {
        if let Ok(mut node) = self.node.lock() {
            drop(node.take());
        }
    }

    /// The signed request, or the response the signer answers instead (status, body).
    pub fn sign(&self, request: &Request) -> Result<Request, (u16, String)> {
        if !self.uses_node {
            return self.sign_native(request);
        }
        let event = OriginRequestEvent {
            records: vec![Record {
                cf: CfRecord {
                    config: serde_json::json!({"distributionId": "EDEMO", "eventType": "origin-request"})
                        .as_object()
                        .cloned(),
                    request: request.clone(),
                },
            }],
        };
        let line = serde_json::to_string(&event).map_err(|e| (500, format!("event: {e}")))?;
        let mut guard = self
            .node
            .lock()
            .map_err(|_| (500, "signer lock".to_owned()))?;
        let Some(node) = guard.as_mut() else {
            return Err((502, "the node signer was stopped".to_owned()));
        };
        let sent = writeln!(node.stdin, "{line}").and_then(|()| node.stdin.flush());
        let answer = match sent.map(|()| node.answers.recv_timeout(http::IO_TIMEOUT)) {
            Ok(Ok(a)) => a,
            failed => {
                // No answer in time, or node is gone: stop it for good (a late answer would be
                // taken for the next request's).
                let why = match failed {
                    Ok(Err(RecvTimeoutError::Timeout)) => "did not answer in time",
                    _ => "stopped",
                };
                let tail = node.stderr_tail();
                drop(guard.take());
                return Err((502, format!("the node signer {why}; stderr: {tail}")));
            }
        };
        drop(guard);
        let value: serde_json::Value =
            serde_json::from_str(&answer).map_err(|e| (502, format!("node answered: {e}")))?;
        if let Some(status) = value.get("status") {
            let status = status.as_str().and_then(|s| s.parse().ok()).unwrap_or(500);
            let body = value
                .get("body")
                .and_then(|b| b.as_str())
                .unwrap_or_default();
            return Err((status, body.to_owned()));
        }
        serde_json::from_value(value).map_err(|e| (502, format!("node answered: {e}")))
    }

    fn sign_native(&self, request: &Request) -> Result<Request, (u16, String)> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| (500, "clock before 1970".to_owned()))?;
        let time = SigningTime::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
            .map_err(|_| (500, "clock out of range".to_owned()))?;
        let params = SigningParams {
            credentials: Some(&self.credentials),
            region: None,
            service: edge_signer::DEFAULT_SERVICE,
            time,
            payload_sha256: None,
        };
        edge_signer::sign_request(request, &params).map_err(|r| {
            let resp = r.response();
            (resp.status.parse().unwrap_or(500), resp.body)
        })
    }
}

/// What the edge holds now.
#[derive(Clone)]
struct Deployed {
    key_name: String,
    encryptor: Arc<Encryptor>,
    api_key: String,
}

enum Change {
    Key {
        name: String,
        encryptor: Arc<Encryptor>,
    },
    ApiKey(String),
}

/// What the edge did with the last request (for the walkthrough's report).
#[derive(Debug, Clone, Default)]
pub struct EdgeSeen {
    pub key_name: String,
    /// (field, base64 length) of each field encrypted.
    pub encrypted: Vec<(String, usize)>,
    pub passed: Vec<String>,
    pub body_to_origin: Vec<u8>,
    /// Every encrypted field's value parses as an AWS Encryption SDK message asking for the
    /// deployed key (its header read by fle-decrypt).
    pub messages_ok: bool,
}

pub struct Edge {
    store: fle_ops::local::LocalStore,
    profile: String,
    patterns: FieldPatterns,
    propagation: Duration,
    deployed: RwLock<Deployed>,
    desired_key_id: Mutex<String>,
    pending: Mutex<Vec<(Instant, Change)>>,
    pub signer: Signer,
    gateway: SocketAddr,
    origin_host: String,
    origin_path: String,
    record: bool,
    seen: RwLock<Option<EdgeSeen>>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("profile", &self.profile)
            .field("origin_host", &self.origin_host)
            .finish_non_exhaustive()
    }
}

pub struct EdgeConfig {
    pub store: fle_ops::local::LocalStore,
    pub profile: String,
    pub patterns: FieldPatterns,
    pub propagation: Duration,
    pub signer: Signer,
    pub gateway: SocketAddr,
    pub origin_host: String,
    pub origin_path: String,
    pub api_key: String,
    /// Keep what the last request looked like (the walkthrough's report): a copy of the body
    /// and a parse of every message header per request, so off under load.
    pub record: bool,
}

impl Edge {
    /// The edge with the profile's current key deployed.
    pub fn new(c: EdgeConfig) -> anyhow::Result<Self> {
        let (id, name, encryptor) = profile_key(&c.store, &c.profile)?;
        Ok(Self {
            store: c.store,
            profile: c.profile,
            patterns: c.patterns,
            propagation: c.propagation,
            deployed: RwLock::new(Deployed {
                key_name: name,
                encryptor,
                api_key: c.api_key,
            }),
            desired_key_id: Mutex::new(id),
            pending: Mutex::new(Vec::new()),
            signer: c.signer,
            gateway: c.gateway,
            origin_host: c.origin_host,
            origin_path: c.origin_path,
            record: c.record,
            seen: RwLock::new(None),
        })
    }

    /// Reads the profile from the keystore (CloudFront's configuration); a new key is deployed
    /// `propagation` later.
    pub fn watch_profile(&self) -> anyhow::Result<()> {
        let (id, name, encryptor) = profile_key(&self.store, &self.profile)?;
        let mut desired = self
            .desired_key_id
            .lock()
            .map_err(|_| anyhow!("edge lock"))?;
        if *desired != id {
            *desired = id;
            self.schedule(Change::Key { name, encryptor });
        }
        drop(desired);
        self.apply_due();
        Ok(())
    }

    /// The origin's custom header changes (UpdateDistribution); deployed `propagation` later.
    pub fn set_api_key(&self, value: &str) {
        self.schedule(Change::ApiKey(value.to_owned()));
    }

    /// Whether every change made so far is deployed.
    pub fn deployed(&self) -> bool {
        self.apply_due();
        self.pending.lock().map(|p| p.is_empty()).unwrap_or(false)
    }

    /// The API key the edge sends now.
    pub fn api_key(&self) -> String {
        self.apply_due();
        self.deployed
            .read()
            .map(|d| d.api_key.clone())
            .unwrap_or_default()
    }

    pub fn last_seen(&self) -> Option<EdgeSeen> {
        self.seen.read().ok().and_then(|s| s.clone())
    }

    fn schedule(&self, change: Change) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push((Instant::now() + self.propagation, change));
        }
    }

    fn apply_due(&self) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        let now = Instant::now();
        let due: Vec<Change> = {
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *pending)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            *pending = later;
            due.into_iter().map(|(_, c)| c).collect()
        };
        if due.is_empty() {
            return;
        }
        if let Ok(mut d) = self.deployed.write() {
            for change in due {
                match change {
                    Change::Key { name, encryptor } => {
                        d.key_name = name;
                        d.encryptor = encryptor;
                    }
                    Change::ApiKey(v) => d.api_key = v,
                }
            }
        }
    }

    /// One viewer request through the behavior: FLE, the signer, the origin.
    pub fn handle(&self, req: &Message) -> Message {
        self.apply_due();
        let refuse = |status: u16, hop: &str, why: &str| {
            Message::response(status, "Refused")
                .with_header(HOP_HEADER, hop)
                .with_body(
                    serde_json::json!({ "message": why })
                        .to_string()
                        .into_bytes(),
                )
        };
        let Some((method, target)) = req.method_target() else {
            return refuse(400, HOP_CLOUDFRONT, "no request line");
        };
        let is_form = req
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(fle_lambda::FORM_CONTENT_TYPE));
        if method != "POST" || !is_form {
            return refuse(
                405,
                HOP_CLOUDFRONT,
                "the demo's behavior takes form POSTs only",
            );
        }
        let fault = req.header(FAULT_HEADER).unwrap_or_default();
        let Ok(deployed) = self.deployed.read().map(|d| d.clone()) else {
            return refuse(500, HOP_CLOUDFRONT, "edge state");
        };
        // Field-level encryption, unless the fault is a behavior without it.
        let body = if fault == "plaintext" {
            req.body.clone()
        } else {
            match encrypt_form(&deployed.encryptor, &req.body, &self.patterns) {
                Ok(b) => b,
                Err(e) => {
                    return refuse(400, HOP_CLOUDFRONT, &format!("field-level encryption: {e}"))
                }
            }
        };
        let api_key = if fault == "api-key" {
            "fle-demo-wrong-api-key-000000000000000000".to_owned()
        } else {
            deployed.api_key.clone()
        };
        let (uri, querystring) = target.split_once('?').unwrap_or((target, ""));
        let request = self.origin_request(uri, querystring, req, &body, &api_key);
        let signed = match self.signer.sign(&request) {
            Ok(s) => s,
            Err((status, why)) => return refuse(status, "edge-signer", &why),
        };
        let mut out = Message::request(
            "POST",
            &format!(
                "{}{}{}{}",
                self.origin_path,
                signed.uri,
                if signed.querystring.is_empty() {
                    ""
                } else {
                    "?"
                },
                signed.querystring
            ),
        );
        for (name, entries) in &signed.headers {
            for h in entries {
                let mut value = h.value.clone();
                if fault == "signature" && name == "authorization" {
                    value = tamper_signature(&value);
                }
                out = out.with_header(name, &value);
            }
        }
        // CloudFront adds the origin's custom headers to what it sends.
        if out.header(edge_signer::API_KEY_HEADER).is_none() {
            out = out.with_header(edge_signer::API_KEY_HEADER, &api_key);
        }
        out = out.with_body(body.clone());
        if self.record {
            if let Ok(mut seen) = self.seen.write() {
                *seen = Some(self.observe(&deployed.key_name, &body));
            }
        }
        match http::send(self.gateway, &out) {
            Ok(answer) => answer,
            Err(e) => refuse(502, HOP_CLOUDFRONT, &format!("origin unreachable: {e}")),
        }
    }

    fn origin_request(
        &self,
        uri: &str,
        querystring: &str,
        viewer: &Message,
        body: &[u8],
        api_key: &str,
    ) -> Request {
        let mut headers = Headers::new();
        // The origin request policy forwards the viewer's headers but Host: CloudFront sends
        // the origin's domain.
        for (name, value) in &viewer.headers {
            if matches!(name.as_str(), "host" | "content-length" | "connection")
                || name == FAULT_HEADER
            {
                continue;
            }
            headers
                .entry(name.clone())
                .or_default()
                .push(Header::new(name, value.clone()));
        }
        let to = OriginSpec {
            host: &self.origin_host,
            path: &self.origin_path,
            api_key,
        };
        origin_request(&to, uri, querystring, headers, body)
    }

    fn observe(&self, key_name: &str, body: &[u8]) -> EdgeSeen {
        let mut seen = EdgeSeen {
            key_name: key_name.to_owned(),
            body_to_origin: body.to_vec(),
            ..EdgeSeen::default()
        };
        for pair in body.split(|b| *b == b'&') {
            let mut it = pair.splitn(2, |b| *b == b'=');
            let name = String::from_utf8_lossy(it.next().unwrap_or_default()).into_owned();
            let value_len = it.next().map_or(0, <[u8]>::len);
            if self.patterns.matches(name.as_bytes()) {
                seen.encrypted.push((name, value_len));
            } else {
                seen.passed.push(name);
            }
        }
        let reader = fle_decrypt::Keyring::new();
        seen.messages_ok =
            fle_decrypt::form::encrypted_fields(body, &self.patterns).is_ok_and(|fields| {
                fields.len() == seen.encrypted.len()
                    && fields.iter().all(|(_, message)| {
                        reader
                            .requested_keys(message)
                            .is_ok_and(|keys| keys.iter().any(|(_, name)| name == key_name))
                    })
            });
        seen
    }
}

/// Where CloudFront sends a request: the origin's domain and path, and its `x-api-key`
/// custom header.
pub struct OriginSpec<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub api_key: &'a str,
}

/// The origin-request event's request as CloudFront hands it to the function: POST `uri` with
/// `headers` (its Host set to the origin's), the body in base64, the origin and its custom
/// header.
pub fn origin_request(
    to: &OriginSpec<'_>,
    uri: &str,
    querystring: &str,
    mut headers: Headers,
    body: &[u8],
) -> Request {
    let mut custom_headers = Headers::new();
    custom_headers.insert(
        edge_signer::API_KEY_HEADER.to_owned(),
        vec![Header::new(edge_signer::API_KEY_HEADER, to.api_key)],
    );
    headers.insert("host".into(), vec![Header::new("Host", to.host)]);
    Request {
        method: "POST".into(),
        uri: uri.to_owned(),
        querystring: querystring.to_owned(),
        headers,
        body: Some(Body {
            input_truncated: false,
            action: Some("read-only".into()),
            encoding: Some("base64".into()),
            data: base64::engine::general_purpose::STANDARD.encode(body),
            extra: Default::default(),
        }),
        origin: Some(Origin {
            custom: Some(CustomOrigin {
                domain_name: to.host.to_owned(),
                path: to.path.to_owned(),
                custom_headers,
                extra: Default::default(),
            }),
            extra: Default::default(),
        }),
        extra: Default::default(),
    }
}

/// A small origin request for the signer's first signing.
pub fn probe_request(origin_host: &str, origin_path: &str) -> Request {
    let to = OriginSpec {
        host: origin_host,
        path: origin_path,
        api_key: "probe",
    };
    origin_request(&to, "/probe", "", Headers::new(), b"probe=1")
}

/// The profile's public key: (id, name, encryptor).
fn profile_key(
    store: &fle_ops::local::LocalStore,
    profile: &str,
) -> anyhow::Result<(String, String, Arc<Encryptor>)> {
    let p = fle_ops::backend::profile_by_name(store, profile)?;
    let entity = p
        .config
        .encryption_entities
        .first()
        .ok_or_else(|| anyhow!("profile {profile} has no encryption entity"))?;
    let pk = store.get_public_key(&entity.public_key_id)?;
    let public = PublicKey::from_pem(pk.config.encoded_key.as_bytes())?;
    let encryptor = Encryptor::new(public, &entity.provider_id, &pk.config.name)?;
    Ok((pk.id, pk.config.name, Arc::new(encryptor)))
}

/// The same header with one hex digit of the signature changed.
fn tamper_signature(auth: &str) -> String {
    let Some(at) = auth.rfind("Signature=") else {
        return format!("{auth}0");
    };
    let mut s = auth.to_owned();
    if s.len() <= at {
        return s;
    }
    let flipped = match s.pop() {
        Some('0') => '1',
        _ => '0',
    };
    s.push(flipped);
    s
}
