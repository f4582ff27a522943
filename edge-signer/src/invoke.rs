//! The JSON contract shared by the wasm module and `fle edge sign`, so both return the same
//! object for the same input.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::event::{OriginRequestEvent, Request};
use crate::sign::{sign_owned, sign_request, Credentials, Refusal, SigningParams};
use crate::time::SigningTime;

/// The service signed for when none is configured.
pub const DEFAULT_SERVICE: &str = "execute-api";

/// Signs the one request of an origin-request event.
///
/// # Errors
/// [`Refusal::MalformedEvent`] unless the event has exactly one record; otherwise as
/// [`sign_request`].
pub fn sign_event(event: &OriginRequestEvent, params: &SigningParams<'_>) -> Result<Request, Refusal> {
    match event.records.as_slice() {
        [record] => sign_request(&record.cf.request, params),
        _ => Err(Refusal::MalformedEvent),
    }
}

/// [`sign_event`] on an event the caller gives away (no copy of the request).
fn sign_event_owned(event: OriginRequestEvent, params: &SigningParams<'_>) -> Result<Request, Refusal> {
    let mut records = event.records.into_iter();
    match (records.next(), records.next()) {
        (Some(record), None) => sign_owned(record.cf.request, params),
        _ => Err(Refusal::MalformedEvent),
    }
}

/// `{"signed": bool, "refusal": "…"?, "result": <request or response object>}`; `result` is
/// what the Lambda@Edge handler returns to CloudFront.
pub fn outcome_json(outcome: &Result<Request, Refusal>) -> Value {
    match outcome {
        Ok(request) => json!({ "signed": true, "result": request }),
        Err(refusal) => json!({
            "signed": false,
            "refusal": refusal.to_string(),
            "result": refusal.response(),
        }),
    }
}

#[derive(Deserialize)]
struct Invocation {
    event: OriginRequestEvent,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    service: Option<String>,
    /// Unix seconds.
    time: i64,
    #[serde(default)]
    credentials: Option<CredentialsJson>,
    #[serde(rename = "payloadSha256", default)]
    payload_sha256: Option<String>,
}

#[derive(Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
struct CredentialsJson {
    #[serde(rename = "accessKeyId", default)]
    access_key_id: String,
    #[serde(rename = "secretAccessKey", default)]
    secret_access_key: String,
    #[serde(rename = "sessionToken", default)]
    session_token: Option<String>,
}

/// Runs one invocation given as JSON:
/// `{"event", "time" (Unix seconds), "region"?, "service"?, "credentials"?: {"accessKeyId",
/// "secretAccessKey", "sessionToken"?}, "payloadSha256"?}`, and returns [`outcome_json`]
/// serialized. Never fails: unreadable input becomes a refusal.
pub fn invoke_json(input: &[u8]) -> Vec<u8> {
    let outcome = match serde_json::from_slice::<Invocation>(input) {
        Err(_) => Err(Refusal::MalformedEvent),
        Ok(inv) => match SigningTime::from_unix(inv.time) {
            Err(_) => Err(Refusal::BadConfig),
            Ok(time) => {
                let credentials = inv.credentials.as_ref().and_then(|c| {
                    Credentials::new(&c.access_key_id, &c.secret_access_key, c.session_token.as_deref())
                });
                let params = SigningParams {
                    credentials: credentials.as_ref(),
                    region: inv.region.as_deref().filter(|r| !r.is_empty()),
                    service: inv.service.as_deref().filter(|s| !s.is_empty()).unwrap_or(DEFAULT_SERVICE),
                    time,
                    payload_sha256: inv.payload_sha256.as_deref(),
                };
                sign_event_owned(inv.event, &params)
            }
        },
    };
    // Written directly (not through a Value): same object as `outcome_json`, half the work.
    let written = match &outcome {
        Ok(request) => serde_json::to_vec(&Outcome { signed: true, refusal: None, result: request }),
        Err(refusal) => serde_json::to_vec(&Outcome {
            signed: false,
            refusal: Some(refusal.to_string()),
            result: &refusal.response(),
        }),
    };
    // Serializing strings and maps cannot fail; an empty output reads as an error to the host.
    written.unwrap_or_default()
}

#[derive(serde::Serialize)]
struct Outcome<'a, T: serde::Serialize> {
    signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<String>,
    result: &'a T,
}
