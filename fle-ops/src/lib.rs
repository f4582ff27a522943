//! CloudFront field-level-encryption operations: everything `fle` does except parsing arguments
//! and printing.
//!
//! - [`model`]: CloudFront's FLE objects field for field, and the keyring document (re-exported
//!   from [`fle_decrypt::document`], its one home);
//! - [`rules`]: CloudFront's limits and syntax rules, checked before anything is stored or sent;
//! - [`keygen`]: RSA-2048 pairs and their PEM framing;
//! - [`backend`]: the [`Backend`] trait every store implements, with typed [`StoreError`]s;
//! - [`inventory`]: each key joined across keyrings, public keys and profiles, and a key name
//!   resolved to what a profile needs;
//! - [`create`]: creates a rerun does not duplicate (caller references from content);
//! - [`ledger`]: the three edits a store makes to a keyring (add, change status, remove);
//! - [`lease`]: rotation claims and store locks that expire on their own;
//! - [`local`]: the local keystore directory;
//! - [`aws`] (feature `aws`): CloudFront + Secrets Manager / SSM, and API-key rotation;
//! - [`status`]: what needs attention in a store (`fle status`);
//! - [`time`]: RFC 3339 formatting that never panics;
//! - [`rotation`]: key generation, rotation and retirement as typed step engines.
//!
//! No argument parsing and no printing: a caller drives a rotation step by step through a
//! callback and decides what to show.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use std::time::{Duration, SystemTime};
//! use fle_ops::local::LocalStore;
//! use fle_ops::rotation::{self, RotateRequest};
//!
//! let store = LocalStore::new(".fle");
//! let req = RotateRequest {
//!     profile: "checkout",
//!     grace: Duration::from_secs(24 * 3600),
//!     now: SystemTime::now(),
//!     new_key_name: None,
//!     switch_delay: Duration::ZERO,
//!     dry_run: false,
//!     edge: None,
//! };
//! let report = rotation::rotate(&store, &req, &mut |_step, _outcome| ControlFlow::Continue(()), &mut |_| {})?;
//! println!("now encrypting with {}", report.new_key);
//! # Ok::<(), fle_ops::rotation::StepError>(())
//! ```

pub mod backend;
pub mod create;
pub mod error;
pub mod inventory;
pub mod keygen;
pub mod lease;
pub mod ledger;
pub mod local;
pub mod model;
pub mod rotation;
pub mod rules;
pub mod status;
pub mod time;

#[cfg(feature = "aws")]
pub mod aws;

pub use backend::{Backend, RotationGuard, StatusChange};
pub use error::{StoreError, StoreResult};
