//! Signing a CloudFront origin request for API Gateway (or a Lambda function URL).

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::event::{Header, Headers, Request, Response};
use crate::sigv4::{self, CanonicalInput};
use crate::time::SigningTime;

/// Headers the signer sets itself; a viewer's copy is dropped so it cannot ride along.
const SIGNER_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
];

/// The origin custom header carrying the API Gateway API key: signed when present. A viewer's
/// copy is always dropped: the key is the distribution's to send, never the viewer's, also
/// when the origin sets none (an API with optional keys would otherwise meter the viewer's).
pub const API_KEY_HEADER: &str = "x-api-key";

/// True for a viewer header the forwarded request must not carry: the signer's own headers
/// and the API key. Compared ignoring case, so an event with a non-lowercase key cannot keep
/// a copy beside the one the signer sets.
fn is_reserved_header(name: &str) -> bool {
    SIGNER_HEADERS
        .iter()
        .chain(std::iter::once(&API_KEY_HEADER))
        .any(|reserved| name.eq_ignore_ascii_case(reserved))
}

/// Methods whose requests carry a body. CloudFront passes the body to the function only when
/// the association has "include body"; without it a POST would be signed as empty while
/// CloudFront forwards the real body, and API Gateway answers every such request 403.
const BODY_METHODS: [&str; 3] = ["POST", "PUT", "PATCH"];

/// Region and service names go into the credential scope: keep them to what AWS uses.
const MAX_SCOPE_PART: usize = 64;

/// AWS credentials. `Debug` never shows the secret key or the session token.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// Credentials from their parts; empty strings count as absent (`None`).
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
    ) -> Option<Self> {
        if access_key_id.is_empty() || secret_access_key.is_empty() {
            return None;
        }
        Some(Self {
            access_key_id: access_key_id.to_string(),
            secret_access_key: Zeroizing::new(secret_access_key.to_string()),
            session_token: session_token
                .filter(|t| !t.is_empty())
                .map(|t| Zeroizing::new(t.to_string())),
        })
    }

    /// The access key id (not secret; it appears in the `Authorization` header).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Everything one signing needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// `None` when the runtime had no credentials: the request is refused with a 5xx.
    pub credentials: Option<&'a Credentials>,
    /// The API's region; `None` derives it from an `execute-api` or `lambda-url` origin domain.
    pub region: Option<&'a str>,
    /// `execute-api` for API Gateway, `lambda` for function URLs.
    pub service: &'a str,
    pub time: SigningTime,
    /// Lowercase hex SHA-256 of the decoded body, when the caller hashed it (faster natively
    /// in Node than in wasm); `None` makes the signer decode and hash `body.data` itself.
    pub payload_sha256: Option<&'a str>,
}

/// Why a request was not signed. Each maps to the response object CloudFront returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// CloudFront cut the body at 1 MB: a truncated body must not reach the origin (413).
    BodyTruncated,
    /// The path has a `.` or `..` segment (also percent-encoded), which could step out of
    /// the origin path (400).
    DotSegment,
    /// No AWS credentials in the runtime (500).
    MissingCredentials,
    /// The event is not an origin request with a custom origin, or its body cannot be read (500).
    MalformedEvent,
    /// No usable region, service or time: not configured and not derivable from the origin (500).
    BadConfig,
    /// A POST, PUT or PATCH without the event's `body` object: the Lambda@Edge association
    /// lacks "include body", so the body cannot be hashed (500, a deployment fault).
    BodyNotIncluded,
    /// Edge encryption: the body does not parse as its content type (400).
    UnreadableBody,
    /// Edge encryption: a body whose content type the configuration does not encrypt (415):
    /// it could carry the fields in plaintext.
    UnsupportedMediaType,
    /// Edge encryption: a field the configuration requires is missing (400).
    MissingField,
    /// Edge encryption: more than 32 values to encrypt, each an RSA operation (400).
    TooManyFields,
    /// Edge encryption: the encrypted body is over what Lambda@Edge may forward (413).
    EncryptedBodyTooLarge,
    /// Edge encryption failed, or was configured without the host's randomness (500).
    EncryptionFailed,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BodyTruncated => "request body truncated by cloudfront, cannot be signed",
            Self::DotSegment => "dot segment in request path",
            Self::MissingCredentials => "no aws credentials available",
            Self::MalformedEvent => "not a readable cloudfront origin-request event",
            Self::BadConfig => "invalid signer configuration (region, service or time)",
            Self::BodyNotIncluded => {
                "request body not passed to the function: enable \"include body\" on the \
                 lambda@edge origin-request association"
            }
            Self::UnreadableBody => "request body does not parse as its content type",
            Self::UnsupportedMediaType => {
                "request body is of a content type the edge does not encrypt"
            }
            Self::MissingField => "a required field is missing",
            Self::TooManyFields => "more than 32 values to encrypt",
            Self::EncryptedBodyTooLarge => "encrypted request body is over the edge's limit",
            Self::EncryptionFailed => "field encryption failed",
        })
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The response object returned to CloudFront instead of the request. It carries the
    /// refusal class only, never credentials or request data.
    pub fn response(self) -> Response {
        let (status, description) = match self {
            Self::BodyTruncated => ("413", "Payload Too Large"),
            Self::EncryptedBodyTooLarge => ("413", "Payload Too Large"),
            Self::DotSegment | Self::UnreadableBody | Self::MissingField | Self::TooManyFields => {
                ("400", "Bad Request")
            }
            Self::UnsupportedMediaType => ("415", "Unsupported Media Type"),
            Self::MissingCredentials
            | Self::MalformedEvent
            | Self::BadConfig
            | Self::BodyNotIncluded
            | Self::EncryptionFailed => ("500", "Internal Server Error"),
        };
        let mut headers = Headers::new();
        headers.insert(
            "content-type".into(),
            vec![Header::new("Content-Type", "text/plain; charset=utf-8")],
        );
        headers.insert(
            "cache-control".into(),
            vec![Header::new("Cache-Control", "no-store")],
        );
        Response {
            status: status.into(),
            status_description: description.into(),
            headers,
            body: format!("edge signer refused the request: {self}\n"),
        }
    }
}

/// What signing changes in a request: drop `remove_headers`, set `set_headers` (replacing
/// entries of the same name), replace `querystring`. Everything else stays as CloudFront sent
/// it. The wasm module returns this instead of the whole request, and the Node handler
/// applies it exactly as [`RequestPatch::apply`] does. `Debug` shows header names only (the
/// values hold the session token and the signature).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestPatch {
    pub querystring: String,
    /// Viewer copies of the signing headers and of `x-api-key`, and headers that repeat an
    /// origin custom header.
    #[serde(rename = "removeHeaders")]
    pub remove_headers: Vec<String>,
    /// `host`, `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`, `authorization`.
    #[serde(rename = "setHeaders")]
    pub set_headers: Headers,
    /// The new body when the edge encrypted fields: CloudFront forwards it instead of the
    /// viewer's (`action: "replace"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<crate::event::Body>,
}

impl RequestPatch {
    /// Applies the patch to the request it was computed for.
    pub fn apply(self, request: &mut Request) {
        request.querystring = self.querystring;
        request
            .headers
            .retain(|name, _| !self.remove_headers.contains(name));
        request.headers.extend(self.set_headers);
        if let Some(body) = self.body {
            request.body = Some(body);
        }
    }
}

/// Signs `request` for its origin. Returns the request to forward: `host` set to the origin
/// domain, `querystring` rewritten to the canonical query that was signed, viewer copies of
/// the signing headers dropped, and `x-amz-date`, `x-amz-content-sha256`,
/// `x-amz-security-token` (with a session token) and `authorization` added.
///
/// # Errors
/// A [`Refusal`] when the request must not be forwarded signed; turn it into the response
/// object with [`Refusal::response`].
pub fn sign_request(request: &Request, params: &SigningParams<'_>) -> Result<Request, Refusal> {
    let patch = sign_patch(request, params)?;
    let mut signed = request.clone();
    patch.apply(&mut signed);
    Ok(signed)
}

/// Signs `request` and returns only what changes (see [`sign_request`]).
///
/// # Errors
/// As [`sign_request`].
pub fn sign_patch(request: &Request, params: &SigningParams<'_>) -> Result<RequestPatch, Refusal> {
    sign_input(&SignInput::from_request(request), params)
}

/// The parts of a request that signing reads, borrowed: from a [`Request`], or from the wasm
/// entry's lighter parse that skips what signing does not need. No `Debug`: it borrows the
/// body and the API key.
pub(crate) struct SignInput<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub querystring: &'a str,
    pub header_names: Vec<&'a str>,
    pub body: Option<BodyInput<'a>>,
    pub origin: Option<OriginInput<'a>>,
}

pub(crate) struct BodyInput<'a> {
    pub input_truncated: bool,
    pub encoding: Option<&'a str>,
    pub data: &'a str,
}

pub(crate) struct OriginInput<'a> {
    pub domain_name: &'a str,
    pub path: &'a str,
    pub custom_header_names: Vec<&'a str>,
    /// Values of the `x-api-key` origin custom header, in order.
    pub api_keys: Vec<&'a str>,
}

impl<'a> SignInput<'a> {
    pub(crate) fn from_request(request: &'a Request) -> Self {
        Self {
            method: &request.method,
            uri: &request.uri,
            querystring: &request.querystring,
            header_names: request.headers.keys().map(String::as_str).collect(),
            body: request.body.as_ref().map(|b| BodyInput {
                input_truncated: b.input_truncated,
                encoding: b.encoding.as_deref(),
                data: &b.data,
            }),
            origin: request
                .origin
                .as_ref()
                .and_then(|o| o.custom.as_ref())
                .map(|c| OriginInput {
                    domain_name: &c.domain_name,
                    path: &c.path,
                    custom_header_names: c.custom_headers.keys().map(String::as_str).collect(),
                    api_keys: c
                        .custom_headers
                        .get(API_KEY_HEADER)
                        .into_iter()
                        .flatten()
                        .map(|h| h.value.as_str())
                        .collect(),
                }),
        }
    }
}

pub(crate) fn sign_input(
    request: &SignInput<'_>,
    params: &SigningParams<'_>,
) -> Result<RequestPatch, Refusal> {
    let origin = request.origin.as_ref().ok_or(Refusal::MalformedEvent)?;
    let domain = origin.domain_name.to_ascii_lowercase();
    if domain.is_empty()
        || !domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(Refusal::MalformedEvent);
    }
    let region = match params.region {
        Some(r) => r.to_string(),
        None => region_from_domain(&domain).ok_or(Refusal::BadConfig)?,
    };
    if !is_valid_scope_part(&region) || !is_valid_scope_part(params.service) {
        return Err(Refusal::BadConfig);
    }

    let path = format!("{}{}", origin.path, request.uri);
    if !path.starts_with('/') || has_dot_segment(&path) {
        return Err(if path.starts_with('/') {
            Refusal::DotSegment
        } else {
            Refusal::MalformedEvent
        });
    }

    let payload_sha256 =
        payload_sha256(request.method, request.body.as_ref(), params.payload_sha256)?;
    let credentials = params.credentials.ok_or(Refusal::MissingCredentials)?;

    let amz_date = params.time.amz_date();
    let mut to_sign: Vec<(String, String)> = vec![
        ("host".into(), domain.clone()),
        ("x-amz-content-sha256".into(), payload_sha256.clone()),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    if let Some(token) = &credentials.session_token {
        to_sign.push(("x-amz-security-token".into(), token.to_string()));
    }
    for value in &origin.api_keys {
        to_sign.push((API_KEY_HEADER.into(), (*value).to_string()));
    }

    let query = sigv4::canonical_query(request.querystring);
    let canonical = sigv4::canonical_request(&CanonicalInput {
        method: request.method,
        path: &path,
        query: &query,
        headers: &to_sign,
        payload_sha256: &payload_sha256,
        normalize_path: true,
    });
    let scope = sigv4::credential_scope(params.time, &region, params.service);
    let string_to_sign = sigv4::string_to_sign(params.time, &scope, &canonical.text);
    let key = cached_signing_key(
        &credentials.secret_access_key,
        params.time,
        &region,
        params.service,
    );
    let signature = sigv4::signature(&key, &string_to_sign);

    let remove_headers = request
        .header_names
        .iter()
        .filter(|name| is_reserved_header(name) || origin.custom_header_names.contains(name))
        .map(|name| (*name).to_string())
        .collect();
    let mut set = Headers::new();
    set.insert("host".into(), vec![Header::new("Host", domain)]);
    set.insert(
        "x-amz-date".into(),
        vec![Header::new("X-Amz-Date", amz_date)],
    );
    set.insert(
        "x-amz-content-sha256".into(),
        vec![Header::new("X-Amz-Content-Sha256", payload_sha256)],
    );
    if let Some(token) = &credentials.session_token {
        set.insert(
            "x-amz-security-token".into(),
            vec![Header::new("X-Amz-Security-Token", token.to_string())],
        );
    }
    set.insert(
        "authorization".into(),
        vec![Header::new(
            "Authorization",
            format!(
                "{} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
                sigv4::ALGORITHM,
                credentials.access_key_id,
                canonical.signed_headers
            ),
        )],
    );
    Ok(RequestPatch {
        querystring: query,
        remove_headers,
        set_headers: set,
        body: None,
    })
}

/// The last derived signing key. It changes once a day (or when the credentials rotate), and
/// deriving it is four HMACs: most of the SHA-256 work of a small request in wasm, where the
/// module instance lives for the whole container.
struct CachedKey {
    secret: Zeroizing<String>,
    date: String,
    region: String,
    service: String,
    key: Zeroizing<[u8; 32]>,
}

thread_local! {
    static KEY_CACHE: std::cell::RefCell<Option<CachedKey>> = const { std::cell::RefCell::new(None) };
}

fn cached_signing_key(
    secret: &str,
    time: SigningTime,
    region: &str,
    service: &str,
) -> Zeroizing<[u8; 32]> {
    let date = time.date();
    KEY_CACHE.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return sigv4::signing_key(secret, time, region, service);
        };
        if let Some(hit) = slot.as_ref().filter(|c| {
            c.date == date
                && c.region == region
                && c.service == service
                && c.secret.as_str() == secret
        }) {
            return hit.key.clone();
        }
        let key = sigv4::signing_key(secret, time, region, service);
        // Replacing the entry drops the old one, whose secret copy and key wipe themselves.
        *slot = Some(CachedKey {
            secret: Zeroizing::new(secret.to_string()),
            date,
            region: region.to_string(),
            service: service.to_string(),
            key: key.clone(),
        });
        key
    })
}

/// The payload hash: the caller's, or SHA-256 of the decoded `body.data`. No body object is
/// an empty body, except for a method that carries one (see [`BODY_METHODS`]).
fn payload_sha256(
    method: &str,
    body: Option<&BodyInput<'_>>,
    given: Option<&str>,
) -> Result<String, Refusal> {
    let Some(body) = body else {
        return if BODY_METHODS.iter().any(|m| method.eq_ignore_ascii_case(m)) {
            Err(Refusal::BodyNotIncluded)
        } else {
            Ok(sigv4::EMPTY_PAYLOAD_SHA256.to_string())
        };
    };
    if body.input_truncated {
        return Err(Refusal::BodyTruncated);
    }
    if let Some(hash) = given {
        return if sigv4::is_sha256_hex(hash) {
            Ok(hash.to_string())
        } else {
            Err(Refusal::MalformedEvent)
        };
    }
    // Hash the decoded bytes themselves: a detour through a UTF-8 string would change them.
    decode_body(body).map(|bytes| sigv4::sha256_hex(&bytes))
}

/// The body's bytes: `base64` (what CloudFront sends) or `text`.
pub(crate) fn decode_body<'a>(body: &BodyInput<'a>) -> Result<Cow<'a, [u8]>, Refusal> {
    match body.encoding {
        Some("base64") | None => base64::engine::general_purpose::STANDARD
            .decode(body.data.as_bytes())
            .map(Cow::Owned)
            .map_err(|_| Refusal::MalformedEvent),
        Some("text") => Ok(Cow::Borrowed(body.data.as_bytes())),
        Some(_) => Err(Refusal::MalformedEvent),
    }
}

/// `abc.execute-api.eu-west-1.amazonaws.com` or `abc.lambda-url.eu-west-1.on.aws` → the region.
pub fn region_from_domain(domain: &str) -> Option<String> {
    let labels: Vec<&str> = domain.split('.').collect();
    match labels.as_slice() {
        [_, "execute-api", region, "amazonaws", "com"]
        | [_, "execute-api", region, "amazonaws", "com", "cn"]
        | [_, "lambda-url", region, "on", "aws"] => Some((*region).to_string()),
        _ => None,
    }
}

/// True for a plausible region or service name: lowercase letters, digits and `-`, at most
/// 64 characters (they go into the credential scope).
pub fn is_valid_scope_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SCOPE_PART
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// True when a segment is `.` or `..`, also written with `%2E`/`%2e`.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.replace("%2E", ".").replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_from_domains() {
        assert_eq!(
            region_from_domain("a1.execute-api.eu-west-3.amazonaws.com").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            region_from_domain("x.lambda-url.us-east-2.on.aws").as_deref(),
            Some("us-east-2")
        );
        assert_eq!(region_from_domain("example.com"), None);
        assert_eq!(region_from_domain("a.execute-api.evil.example.com"), None);
    }

    #[test]
    fn dot_segments() {
        assert!(has_dot_segment("/prod/../admin"));
        assert!(has_dot_segment("/prod/%2e%2E/admin"));
        assert!(has_dot_segment("/prod/./x"));
        assert!(!has_dot_segment("/prod/..x/.y/a.b"));
    }

    fn request(method: &str, headers: &str, custom_headers: &str, body: Option<&str>) -> Request {
        let body = body.map_or(String::new(), |b| format!(r#","body":{b}"#));
        serde_json::from_str(&format!(
            r#"{{"method":"{method}","uri":"/pets","querystring":"","headers":{headers}{body},
              "origin":{{"custom":{{"domainName":"a1.execute-api.eu-west-1.amazonaws.com",
                "path":"/prod","customHeaders":{custom_headers}}}}}}}"#
        ))
        .unwrap()
    }

    fn sign_with_token(request: &Request) -> Result<RequestPatch, Refusal> {
        let credentials = Credentials::new("AKIDEXAMPLE", "SECRETKEY", Some("SESSIONTOKEN"));
        sign_patch(
            request,
            &SigningParams {
                credentials: credentials.as_ref(),
                region: None,
                service: "execute-api",
                time: SigningTime::from_unix(1_767_323_045).unwrap(),
                payload_sha256: None,
            },
        )
    }

    #[test]
    fn viewer_api_key_is_dropped_with_or_without_an_origin_key() {
        let viewer = r#"{"x-api-key":[{"key":"X-Api-Key","value":"viewer-key"}],
                         "accept":[{"value":"*/*"}]}"#;
        let origin = r#"{"x-api-key":[{"key":"x-api-key","value":"origin-key"}]}"#;
        for (custom_headers, signs_key) in [("{}", false), (origin, true)] {
            let req = request("GET", viewer, custom_headers, None);
            let patch = sign_with_token(&req).unwrap();
            assert_eq!(patch.remove_headers, ["x-api-key"], "{custom_headers}");
            let auth = &patch.set_headers["authorization"][0].value;
            assert_eq!(auth.contains(";x-api-key,"), signs_key, "{auth}");
            let mut forwarded = req.clone();
            patch.apply(&mut forwarded);
            assert!(!forwarded.headers.contains_key("x-api-key"));
            assert!(forwarded.headers.contains_key("accept"));
        }
    }

    #[test]
    fn methods_with_a_body_need_the_body_object() {
        let empty = r#"{"inputTruncated":false,"encoding":"base64","data":""}"#;
        for method in ["POST", "PUT", "PATCH", "post"] {
            let without = request(method, "{}", "{}", None);
            assert_eq!(
                sign_with_token(&without),
                Err(Refusal::BodyNotIncluded),
                "{method}"
            );
            let with = request(method, "{}", "{}", Some(empty));
            assert!(sign_with_token(&with).is_ok(), "{method}");
        }
        for method in ["GET", "HEAD", "OPTIONS", "DELETE"] {
            let patch = sign_with_token(&request(method, "{}", "{}", None)).unwrap();
            assert_eq!(
                patch.set_headers["x-amz-content-sha256"][0].value,
                sigv4::EMPTY_PAYLOAD_SHA256,
                "{method}"
            );
        }
        let response = Refusal::BodyNotIncluded.response();
        assert_eq!(response.status, "500");
        assert!(
            response.body.contains("\"include body\""),
            "{}",
            response.body
        );
    }

    #[test]
    fn debug_redacts() {
        let c = Credentials::new("AKID", "SECRETKEY", Some("TOKEN")).unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID") && !shown.contains("SECRETKEY") && !shown.contains("TOKEN"));
        assert!(Credentials::new("AKID", "", None).is_none());
    }
}
