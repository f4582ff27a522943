//! The JSON contract shared by the wasm module and `fle edge sign`, so both return the same
//! object for the same input.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::event::{OriginRequestEvent, Request};
use crate::sign::RequestPatch;
use crate::sign::{sign_patch, sign_request, Credentials, Refusal, SigningParams};
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

/// [`sign_event`], returning only what changes in the request.
fn sign_event_patch(event: &OriginRequestEvent, params: &SigningParams<'_>) -> Result<RequestPatch, Refusal> {
    match event.records.as_slice() {
        [record] => sign_patch(&record.cf.request, params),
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
/// "secretAccessKey", "sessionToken"?}, "payloadSha256"?}` and returns, serialized,
/// `{"signed": true, "patch": <RequestPatch>}` or `{"signed": false, "refusal", "result":
/// <response object>}`. The patch, applied to the event's request, gives the `result` of
/// [`outcome_json`]: the caller already holds the request, so it is not sent back. Never
/// fails: unreadable input becomes a refusal.
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
                sign_event_patch(&inv.event, &params)
            }
        },
    };
    let written = match &outcome {
        Ok(patch) => serde_json::to_vec(&serde_json::json!({ "signed": true, "patch": patch })),
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
