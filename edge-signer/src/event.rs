//! Serde types for the CloudFront (Lambda@Edge) origin-request event and the objects a
//! function returns. Fields CloudFront always sends are plain (a missing `inputTruncated`,
//! `data`, origin `path` or `customHeaders` reads as false/empty and is written back so). In
//! the request, fields this crate does not read are kept in `extra` so
//! it goes back to CloudFront with everything it came with. The wrappers around it
//! (`Records`, `cf`) are only read, never returned, so they keep no extras: `flatten` makes
//! serde buffer the whole subtree once more per level, a cost paid on every request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Headers as CloudFront writes them: lowercase name → entries in received order.
pub type Headers = BTreeMap<String, Vec<Header>>;

/// One header entry. CloudFront may omit `key` (the original-case name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// The body, present when the behaviour's association has "include body".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// The origin of the request: only a custom origin can be signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomOrigin>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A custom origin (API Gateway, a function URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// A response object: returned instead of the request, CloudFront answers the viewer with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub status: String,
    #[serde(rename = "statusDescription")]
    pub status_description: String,
    pub headers: Headers,
    pub body: String,
}
