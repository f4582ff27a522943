//! SigV4-sign CloudFront origin requests for API Gateway (or Lambda function URLs), natively
//! and as a `wasm32-unknown-unknown` module run by a small Node.js Lambda@Edge handler.
//!
//! The core is pure: the caller passes credentials, region, service and time. What is signed
//! is what CloudFront sends: host = origin domain, path = origin path + uri, the query
//! rewritten to the canonical form that was signed, the decoded body bytes, and the origin's
//! `x-api-key` custom header. Headers CloudFront rewrites on the way (`x-forwarded-for`, `via`,
//! `x-amz-cf-*`, `user-agent`, …) are never signed.
//!
//! ```
//! use edge_signer::{event::OriginRequestEvent, Credentials, SigningParams, SigningTime};
//!
//! let event: OriginRequestEvent = serde_json::from_str(r#"{"Records":[{"cf":{"request":{
//!     "method":"GET","uri":"/pets","querystring":"b=2&a=1","headers":{},
//!     "origin":{"custom":{"domainName":"abc123.execute-api.eu-west-1.amazonaws.com",
//!       "path":"/prod","customHeaders":{}}}}}}]}"#).unwrap();
//! let credentials = Credentials::new("AKIDEXAMPLE", "secret", None);
//! let params = SigningParams {
//!     credentials: credentials.as_ref(),
//!     region: None, // derived from the execute-api domain
//!     service: "execute-api",
//!     time: SigningTime::from_unix(1_767_323_045).unwrap(), // 2026-01-02T03:04:05Z, passed in
//!     payload_sha256: None,
//! };
//! let signed = edge_signer::sign_event(&event, &params).unwrap();
//! assert_eq!(signed.querystring, "a=1&b=2");
//! assert!(signed.headers["authorization"][0].value.contains("/eu-west-1/execute-api/aws4_request"));
//! ```

pub mod event;
pub mod fle;
#[doc(hidden)]
pub mod fuzzing;
mod invoke;
mod sign;
pub mod sigv4;
pub mod time;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use invoke::{
    invoke_json, invoke_json_with, outcome_json, sign_event, sign_event_encrypted, DEFAULT_SERVICE,
};
pub use sign::API_KEY_HEADER;
pub use sign::{
    is_valid_scope_part, region_from_domain, sign_patch, sign_request, Credentials, Refusal,
    RequestPatch, SigningParams,
};
pub use time::{SigningTime, TimeError};
