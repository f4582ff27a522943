//! CloudFront field-level encryption in the backend Lambda: the keys are loaded inside the
//! function (Secrets Manager, SSM Parameter Store, or a KMS-encrypted variable), cached and
//! refreshed on rotation, and a handler gets the decrypted form of an API Gateway, function
//! URL or ALB request in one call, or an error it can return as is.
//!
//! ```no_run
//! use fle_lambda::{Backend, BackendError};
//! use lambda_http::{service_fn, Body, Error, Request, Response};
//!
//! async fn handler(backend: &Backend, request: Request) -> Result<Response<Body>, Error> {
//!     let form = match backend.decrypt_request(&request).await {
//!         Ok(form) => form,
//!         Err(e) => return Ok(e.into_response()), // 400 / 415 / 503, body {"error": class}
//!     };
//!     let Some(card) = form.get("card_number") else {
//!         return Ok(BackendError::MissingField("card_number".into()).into_response());
//!     };
//!     charge(card.expose()); // a Secret: never printed, wiped on drop
//!     Ok(fle_lambda::json_response(200, &serde_json::json!({"ok": true})))
//! }
//! # fn charge(_: &[u8]) {}
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     // FLE_KEYRING_SECRET=fle/keyring/checkout FLE_FIELDS=card_*,ssn
//!     let backend = Backend::from_env().await?; // keys loaded once per execution environment
//!     let backend = &backend;
//!     lambda_http::run(service_fn(move |request| handler(backend, request))).await
//! }
//! ```
//!
//! - [`config`]: the environment variables.
//! - [`cache`]: load once, refresh on an unknown key (rate-limited), periodic refresh with
//!   jitter, keep the old keys when the source fails.
//! - [`error`]: the error classes and their responses.
//! - [`ciphertext`]: pass a field downstream still encrypted.
//! - [`threads`]: parallel field decryption when the function has more than one vCPU.
//! - [`entropy`]: the random generator's costly first draw happens during start-up.
//!
//! Logging: one JSON line per event on stderr, never a value, a key or a response body from a
//! key source (the policy is in the `log` module and `docs/backend.md`).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod aws;
mod backend;
pub mod cache;
pub mod checkout;
pub mod ciphertext;
pub mod config;
pub mod entropy;
pub mod error;
mod log;
pub use log::set_enabled as set_log_lines;
pub mod source;
pub mod threads;

pub use aws::{AwsKeySource, SourceSpec};
pub use backend::{json_response, Backend, FORM_CONTENT_TYPE, JSON_CONTENT_TYPE};
pub use cache::{KeyCache, RefreshPolicy};
pub use ciphertext::Ciphertext;
pub use config::{Config, ConfigError};
pub use error::BackendError;
pub use source::{KeyMaterial, KeySource, LoadedKeys, SourceError};

pub use fle_decrypt;
pub use lambda_http;
