//! The API Gateway stand-in: what a REST API with `AWS_IAM` authorization and a required API
//! key does before the backend runs, checked with code that is not ours.
//!
//! - **SigV4**, recomputed with the `aws-sigv4` crate (the AWS Rust SDK's own signer) from the
//!   request as received: the headers the `Authorization` header names, the path, the query,
//!   the body. The signature must match (constant-time compare), the signed-header list must be
//!   the one aws-sigv4 arrives at, the scope must be exactly `<date>/<this region>/execute-api/
//!   aws4_request` with the date of `x-amz-date`, the access key and session token must be the
//!   edge role's, the host this API's, and the time within 5 minutes. Stricter than API
//!   Gateway, as our signer promises more: `host`, `x-amz-date`, `x-amz-content-sha256` and
//!   `x-api-key` must be among the signed headers, and a signed header may appear only once.
//!   Else 403, as API Gateway answers.
//! - **API key**: `x-api-key` must be a key of the usage plan *now* (the set changes during an
//!   API-key rotation). Else 403 `Forbidden`.
//! - Then the request becomes a REST proxy event (`lambda_http` reads it as Lambda would hand it
//!   over) and the backend handler answers it in process.
//!
//! Every answer carries `x-demo-hop`: which party answered (`api-gateway` or `backend`).

use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::http::Message;

/// The most a request's signing time may differ from the gateway's clock.
const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Who answered: the header, and its values.
pub const HOP_HEADER: &str = "x-demo-hop";
pub const HOP_GATEWAY: &str = "api-gateway";
pub const HOP_BACKEND: &str = "backend";

/// Runs the backend for one REST proxy request.
pub type Invoke = dyn Fn(lambda_http::Request) -> (u16, Vec<u8>) + Send + Sync;

/// What the gateway saw of the last request it passed on (for the walkthrough's report).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub signed_headers: String,
    pub body: Vec<u8>,
}

pub struct Gateway {
    /// The API's host, as CloudFront sends it.
    pub host: String,
    pub region: String,
    pub stage: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    /// The usage plan's keys, now.
    plan: RwLock<Vec<String>>,
    invoke: Box<Invoke>,
    /// Keep what the last request looked like (the walkthrough's report); off under load.
    record: bool,
    seen: RwLock<Option<Seen>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("host", &self.host)
            .field(
                "keys_in_plan",
                &self.plan.read().map(|p| p.len()).unwrap_or(0),
            )
            .finish_non_exhaustive()
    }
}

/// Why the gateway refused (the message API Gateway would send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Signature(String),
    ApiKey,
}

impl Gateway {
    pub fn new(
        host: &str,
        region: &str,
        stage: &str,
        (access_key_id, secret_access_key, session_token): (&str, &str, &str),
        invoke: Box<Invoke>,
    ) -> Self {
        Self {
            host: host.to_owned(),
            region: region.to_owned(),
            stage: stage.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: session_token.to_owned(),
            plan: RwLock::new(Vec::new()),
            invoke,
            record: true,
            seen: RwLock::new(None),
        }
    }

    /// Whether to keep the last request for [`Gateway::last_seen`] (a copy of each body).
    pub fn recording(mut self, on: bool) -> Self {
        self.record = on;
        self
    }

    /// Adds a key to the usage plan.
    pub fn add_key(&self, value: &str) {
        if let Ok(mut plan) = self.plan.write() {
            if !plan.iter().any(|k| k == value) {
                plan.push(value.to_owned());
            }
        }
    }

    /// Removes a key from the usage plan (requests with it get 403 from now on).
    pub fn remove_key(&self, value: &str) {
        if let Ok(mut plan) = self.plan.write() {
            plan.retain(|k| k != value);
        }
    }

    pub fn keys_in_plan(&self) -> usize {
        self.plan.read().map(|p| p.len()).unwrap_or(0)
    }

    pub fn last_seen(&self) -> Option<Seen> {
        self.seen.read().ok().and_then(|s| s.clone())
    }

    /// Answers one request, as API Gateway and then the backend would.
    pub fn handle(&self, req: &Message) -> Message {
        if let Err(refusal) = self.authorize(req, SystemTime::now()) {
            let message = match refusal {
                Refusal::Signature(m) => m,
                Refusal::ApiKey => "Forbidden".to_owned(),
            };
            return Message::response(403, "Forbidden")
                .with_header(HOP_HEADER, HOP_GATEWAY)
                .with_header("content-type", "application/json")
                .with_body(json!({ "message": message }).to_string().into_bytes());
        }
        let event = match self.proxy_event(req) {
            Ok(e) => e,
            Err(e) => {
                return Message::response(400, "Bad Request")
                    .with_header(HOP_HEADER, HOP_GATEWAY)
                    .with_body(json!({ "message": e }).to_string().into_bytes())
            }
        };
        if let Some(mut seen) = self.record.then(|| self.seen.write().ok()).flatten() {
            *seen = Some(Seen {
                signed_headers: signed_headers_of(req).unwrap_or_default(),
                body: req.body.clone(),
            });
        }
        let (status, body) = (self.invoke)(event);
        Message::response(status, "Backend")
            .with_header(HOP_HEADER, HOP_BACKEND)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    /// IAM authorization (SigV4) and the API key, in API Gateway's order.
    pub fn authorize(&self, req: &Message, now: SystemTime) -> Result<(), Refusal> {
        self.verify_sigv4(req, now).map_err(Refusal::Signature)?;
        let key = req.header(edge_signer::API_KEY_HEADER).unwrap_or_default();
        let known = self
            .plan
            .read()
            .map(|plan| {
                plan.iter().any(|k| {
                    aws_lc_rs::constant_time::verify_slices_are_equal(k.as_bytes(), key.as_bytes())
                        .is_ok()
                })
            })
            .unwrap_or(false);
        if key.is_empty() || !known {
            return Err(Refusal::ApiKey);
        }
        Ok(())
    }

    fn verify_sigv4(&self, req: &Message, now: SystemTime) -> Result<(), String> {
        let missing = "Missing Authentication Token".to_owned();
        let auth = req.header("authorization").ok_or_else(|| missing.clone())?;
        let fields = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
            "Authorization header requires the AWS4-HMAC-SHA256 algorithm".to_owned()
        })?;
        let part = |name: &str| {
            fields
                .split(',')
                .map(str::trim)
                .find_map(|f| f.strip_prefix(name))
                .ok_or_else(|| {
                    format!(
                        "Authorization header requires '{}' parameter",
                        name.trim_end_matches('=')
                    )
                })
        };
        let credential = part("Credential=")?;
        let signed = part("SignedHeaders=")?;
        let signature = part("Signature=")?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [akid, date, region, service, terminator] = scope.as_slice() else {
            return Err(
                "Credential should be <access key>/<date>/<region>/<service>/aws4_request".into(),
            );
        };
        let invalid_token = "The security token included in the request is invalid".to_owned();
        if *akid != self.access_key_id
            || req.header("x-amz-security-token") != Some(self.session_token.as_str())
        {
            return Err(invalid_token);
        }
        if *region != self.region || *service != "execute-api" || *terminator != "aws4_request" {
            return Err(format!(
                "Credential should be scoped to a valid region and service: {region}/{service}"
            ));
        }
        let amz_date = req.header("x-amz-date").ok_or_else(|| missing.clone())?;
        let time = parse_amz_date(amz_date)
            .ok_or_else(|| "Date must be in ISO-8601 'basic format'".to_owned())?;
        if amz_date.get(..8) != Some(*date) {
            return Err("Credential date does not match X-Amz-Date".into());
        }
        if req.header("host") != Some(self.host.as_str()) {
            return Err("Host is not this API's".into());
        }
        let names: Vec<&str> = signed.split(';').collect();
        for required in [
            "host",
            "x-amz-date",
            "x-amz-content-sha256",
            edge_signer::API_KEY_HEADER,
        ] {
            if !names.contains(&required) {
                return Err(format!("Signed headers must include {required}"));
            }
        }
        for name in &names {
            if req.headers.iter().filter(|(n, _)| n == name).count() > 1 {
                return Err(format!("Signed header {name} appears more than once"));
            }
        }
        let skew = now
            .duration_since(time)
            .or_else(|e| Ok::<_, ()>(e.duration()))
            .unwrap_or(MAX_SKEW);
        if skew > MAX_SKEW {
            return Err("Signature expired".into());
        }
        let (method, target) = req.method_target().ok_or_else(|| missing.clone())?;
        // The headers the signature covers, as received; aws-sigv4 adds x-amz-date and the
        // session token itself, from the time and the identity.
        let mut headers = Vec::new();
        for name in signed.split(';') {
            if name == "x-amz-date" || name == "x-amz-security-token" {
                continue;
            }
            let value = req
                .header(name)
                .ok_or_else(|| format!("signed header {name} is missing"))?;
            headers.push((name, value));
        }
        let identity = aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            Some(self.session_token.clone()),
            None,
            "fle-demo",
        )
        .into();
        let mut settings = SigningSettings::default();
        // Sign exactly what the request says it signed.
        settings.excluded_headers = None;
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        let uri = format!("https://{}{target}", self.host);
        let signable = SignableRequest::new(
            method,
            uri,
            headers.into_iter(),
            SignableBody::Bytes(&req.body),
        )
        .map_err(|e| format!("the request cannot be signed: {e}"))?;
        let out =
            sign(signable, &params).map_err(|e| format!("the request cannot be signed: {e}"))?;
        let expected_signed = out
            .output()
            .headers()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.split("SignedHeaders=").nth(1))
            .and_then(|s| s.split(',').next())
            .unwrap_or_default()
            .to_owned();
        let same_signature = aws_lc_rs::constant_time::verify_slices_are_equal(
            out.signature().as_bytes(),
            signature.as_bytes(),
        )
        .is_ok();
        if !same_signature || expected_signed != signed {
            return Err("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.".into());
        }
        Ok(())
    }

    /// The REST API proxy-integration event API Gateway would hand the function.
    fn proxy_event(&self, req: &Message) -> Result<lambda_http::Request, String> {
        let (method, target) = req.method_target().ok_or("no request line")?;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let stage_prefix = format!("/{}", self.stage);
        let resource_path = path
            .strip_prefix(&stage_prefix)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| format!("no stage {} in {path}", self.stage))?;
        let mut headers = Map::new();
        let mut multi = Map::new();
        for (n, v) in &req.headers {
            // The first value, as the signature check read it; every value in the multi map.
            headers
                .entry(n.clone())
                .or_insert_with(|| Value::from(v.clone()));
            if let Some(Value::Array(all)) = multi.get_mut(n) {
                all.push(Value::from(v.clone()));
            } else {
                multi.insert(n.clone(), json!([v]));
            }
        }
        let (mut qs, mut mqs) = (Map::new(), Map::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            qs.insert(k.to_owned(), Value::from(v));
            mqs.insert(k.to_owned(), json!([v]));
        }
        let event = json!({
            "resource": "/{proxy+}",
            "path": resource_path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": multi,
            "queryStringParameters": if qs.is_empty() { Value::Null } else { Value::Object(qs) },
            "multiValueQueryStringParameters": if mqs.is_empty() { Value::Null } else { Value::Object(mqs) },
            "pathParameters": { "proxy": resource_path.trim_start_matches('/') },
            "stageVariables": Value::Null,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": self.host.split('.').next().unwrap_or_default(),
                "resourceId": "demo",
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": path,
                "stage": self.stage,
                "protocol": "HTTP/1.1",
                "requestId": format!("demo-{}", std::process::id()),
                "identity": {
                    "sourceIp": "127.0.0.1",
                    "accessKey": self.access_key_id,
                    "userArn": "arn:aws:sts::123456789012:assumed-role/fle-edge/us-east-1.fle-edge-signer",
                },
            },
            "body": base64::engine::general_purpose::STANDARD.encode(&req.body),
            "isBase64Encoded": true,
        });
        lambda_http::request::from_str(&event.to_string()).map_err(|e| format!("proxy event: {e}"))
    }
}

fn signed_headers_of(req: &Message) -> Option<String> {
    let auth = req.header("authorization")?;
    let s = auth.split("SignedHeaders=").nth(1)?;
    Some(s.split(',').next()?.to_owned())
}

/// `20261202T013000Z` → the time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        s.get(0..4)?,
        s.get(4..6)?,
        s.get(6..8)?,
        s.get(9..11)?,
        s.get(11..13)?,
        s.get(13..15)?
    );
    humantime::parse_rfc3339(&text).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::edge::{origin_request, OriginSpec};
    use super::*;
    use edge_signer::event::{Header, Headers};
    use edge_signer::{Credentials, SigningParams, SigningTime};

    const HOST: &str = "abc123defg.execute-api.eu-west-1.amazonaws.com";

    fn gateway() -> Gateway {
        let g = Gateway::new(
            HOST,
            "eu-west-1",
            "prod",
            ("AKIDEXAMPLE", "secret-of-the-edge-role", "token"),
            Box::new(|_| (200, Vec::new())),
        );
        g.add_key("key-1");
        g
    }

    /// A request signed by our edge signer at `at`, as it would reach the gateway.
    fn signed(secret: &str, at: SystemTime, body: &[u8]) -> Message {
        let mut headers = Headers::new();
        headers.insert(
            "content-type".into(),
            vec![Header::new(
                "Content-Type",
                "application/x-www-form-urlencoded",
            )],
        );
        let to = OriginSpec {
            host: HOST,
            path: "/prod",
            api_key: "key-1",
        };
        let request = origin_request(&to, "/checkout", "a=1&b=two%20words", headers, body);
        let creds = Credentials::new("AKIDEXAMPLE", secret, Some("token")).unwrap();
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        let params = SigningParams {
            credentials: Some(&creds),
            region: None,
            service: "execute-api",
            time: SigningTime::from_unix(i64::try_from(secs).unwrap()).unwrap(),
            payload_sha256: None,
        };
        let s = edge_signer::sign_request(&request, &params).unwrap();
        let mut m = Message::request("POST", &format!("/prod{}?{}", s.uri, s.querystring));
        for (name, entries) in &s.headers {
            for h in entries {
                m = m.with_header(name, &h.value);
            }
        }
        if m.header("x-api-key").is_none() {
            m = m.with_header("x-api-key", "key-1");
        }
        m.with_body(body.to_vec())
    }

    #[test]
    fn aws_sigv4_accepts_what_the_edge_signed() {
        let now = SystemTime::now();
        let g = gateway();
        assert_eq!(
            g.authorize(&signed("secret-of-the-edge-role", now, b"card=x"), now),
            Ok(())
        );
    }

    #[test]
    fn every_change_is_refused() {
        let now = SystemTime::now();
        let g = gateway();
        let good = signed("secret-of-the-edge-role", now, b"card=x");
        let sig = |r: Result<(), Refusal>| matches!(r, Err(Refusal::Signature(_)));
        // Another secret, another body, another query, another API key value, another host.
        assert!(sig(
            g.authorize(&signed("another-secret", now, b"card=x"), now)
        ));
        assert!(sig(
            g.authorize(&good.clone().with_body(b"card=y".to_vec()), now)
        ));
        let mut query = good.clone();
        query.first_line = query.first_line.replace("a=1", "a=2");
        assert!(sig(g.authorize(&query, now)));
        let mut key = good.clone();
        for (n, v) in &mut key.headers {
            if n == "x-api-key" {
                *v = "key-2".into();
            }
        }
        g.add_key("key-2");
        assert!(sig(g.authorize(&key, now)), "the API key is signed");
        let mut host = good.clone();
        for (n, v) in &mut host.headers {
            if n == "host" {
                *v = "other.execute-api.eu-west-1.amazonaws.com".into();
            }
        }
        assert!(sig(g.authorize(&host, now)));
        // Another session token; a signed header twice.
        let mut token = good.clone();
        for (n, v) in &mut token.headers {
            if n == "x-amz-security-token" {
                *v = "another-token".into();
            }
        }
        assert!(sig(g.authorize(&token, now)));
        let twice = good.clone().with_header("x-api-key", "key-1");
        assert!(sig(g.authorize(&twice, now)));
        // Signed 6 minutes ago, or 6 minutes ahead.
        let old = now - Duration::from_secs(360);
        assert!(sig(g.authorize(
            &signed("secret-of-the-edge-role", old, b"card=x"),
            now
        )));
        let ahead = now + Duration::from_secs(360);
        assert!(sig(g.authorize(
            &signed("secret-of-the-edge-role", ahead, b"card=x"),
            now
        )));
        // A valid signature with a key the plan no longer holds.
        g.remove_key("key-1");
        assert_eq!(g.authorize(&good, now), Err(Refusal::ApiKey));
    }
}
