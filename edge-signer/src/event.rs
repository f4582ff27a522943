//! Serde types for the CloudFront (Lambda@Edge) origin-request event and the objects a
//! function returns. Fields CloudFront always sends are plain (a missing `inputTruncated`,
//! `data`, origin `path` or `customHeaders` reads as false/empty and is written back so). In
//! the request, fields this crate does not read are kept in `extra` so
//! it goes back to CloudFront with everything it came with. The wrappers around it
//! (`Records`, `cf`) are only read, never returned, so they keep no extras: `flatten` makes
//! serde buffer the whole subtree once more per level, a cost paid on every request.
//!
//! `Debug` never shows a header value (viewer `authorization` and cookies, the session token
//! and signature the signer adds, the origin's API key), the body data or the `extra` values:
//! only names, lengths and the fields that steer signing.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Headers as CloudFront writes them: lowercase name → entries in received order.
pub type Headers = BTreeMap<String, Vec<Header>>;

/// One header entry. CloudFront may omit `key` (the original-case name). `Debug` shows the
/// name only: the value may be a credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub value: String,
}

impl Header {
    /// An entry with its display-case name.
    pub fn new(key: &str, value: impl Into<String>) -> Self {
        Self {
            key: Some(key.to_string()),
            value: value.into(),
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("key", &self.key)
            .field("value", &format_args!("<redacted>"))
            .finish()
    }
}

/// The keys of an `extra` map, for `Debug`: their values are whatever CloudFront sent.
struct ExtraKeys<'a>(&'a Map<String, Value>);

impl fmt::Debug for ExtraKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// `{"Records": [{"cf": {"config": ..., "request": ...}}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginRequestEvent {
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
}

/// One record; CloudFront sends exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub cf: CfRecord,
}

/// The `cf` object: distribution config and the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    pub request: Request,
}

/// The request CloudFront is about to send to the origin.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    /// Path relative to the origin path, as CloudFront will send it (percent-encoded).
    pub uri: String,
    /// The query without `?`, as CloudFront will send it.
    pub querystring: String,
    pub headers: Headers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("querystring", &self.querystring)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("origin", &self.origin)
            .field("extra", &ExtraKeys(&self.extra))
            .finish()
    }
}

/// The body, present when the behaviour's association has "include body".
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// True when CloudFront cut the body (over 1 MB): it cannot be signed.
    #[serde(rename = "inputTruncated", default)]
    pub input_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `base64` (what CloudFront sends) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default)]
    pub data: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Body {
    /// A body that replaces the viewer's (`action: "replace"`): as text when it is UTF-8
    /// (JSON bodies are; a form body may not be), else base64.
    pub fn replacement(bytes: Vec<u8>) -> Self {
        let (encoding, data) = match String::from_utf8(bytes) {
            Ok(text) => ("text", text),
            Err(e) => {
                use base64::Engine as _;
                let data = base64::engine::general_purpose::STANDARD.encode(e.as_bytes());
                ("base64", data)
            }
        };
        Self {
            input_truncated: false,
            action: Some("replace".into()),
            encoding: Some(encoding.into()),
            data,
            extra: Map::new(),
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("input_truncated", &self.input_truncated)
            .field("action", &self.action)
            .field("encoding", &self.encoding)
            .field(
                "data",
                &format_args!("<redacted, {} bytes>", self.data.len()),
            )
            .field("extra", &ExtraKeys(&self.extra))
            .finish()
    }
}

/// The origin of the request: only a custom origin can be signed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomOrigin>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Origin")
            .field("custom", &self.custom)
            .field("extra", &ExtraKeys(&self.extra))
            .finish()
    }
}

/// A custom origin (API Gateway, a function URL).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomOrigin {
    #[serde(rename = "domainName")]
    pub domain_name: String,
    /// The origin path (`/prod`), prefixed to `uri` by CloudFront; may be empty.
    #[serde(default)]
    pub path: String,
    /// Headers CloudFront adds itself (e.g. `x-api-key`); they must not be repeated in `headers`.
    #[serde(rename = "customHeaders", default)]
    pub custom_headers: Headers,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for CustomOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomOrigin")
            .field("domain_name", &self.domain_name)
            .field("path", &self.path)
            .field("custom_headers", &self.custom_headers)
            .field("extra", &ExtraKeys(&self.extra))
            .finish()
    }
}

/// A response object: returned instead of the request, CloudFront answers the viewer with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: String,
    #[serde(rename = "statusDescription")]
    pub status_description: String,
    pub headers: Headers,
    pub body: String,
}
