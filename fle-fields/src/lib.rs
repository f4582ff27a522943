//! Which values of a request body are field-level encrypted, with no cryptography, so that
//! the edge that encrypts (the wasm module in `edge-signer`) and the backend that decrypts
//! (`fle-decrypt`) read one configuration the same way:
//!
//! - [`form`]: `application/x-www-form-urlencoded` bodies and CloudFront's field-name
//!   patterns (an exact name, or a prefix followed by `*`);
//! - [`json`] (feature `json`): JSON Pointer selectors whose segments may be `*`.
//!
//! No panics on any input; every size that costs work is capped.

pub mod form;
#[cfg(feature = "json")]
pub mod json;

/// Why a pattern, selector or body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A form body or field pattern is not usable.
    #[error("invalid form: {0}")]
    InvalidForm(&'static str),
    /// A JSON body or selector is not usable.
    #[error("invalid JSON: {0}")]
    InvalidJson(&'static str),
    /// A size limit was exceeded (the limit is named, never the content).
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
}

/// The most a body may be, form or JSON. CloudFront accepts viewer bodies up to 1 MB;
/// encryption grows each of at most 10 fields of 16 KB by about a third plus ~1 KB, so 2 MiB
/// is comfortably above anything it forwards.
pub const MAX_BODY_LEN: usize = 2 * 1024 * 1024;

/// The most values one body may have encrypted: each costs an RSA operation, at the edge and
/// at the backend. A CloudFront profile has at most 10 patterns, but a body may repeat a name.
pub const MAX_ENCRYPTED_VALUES: usize = 32;

/// Whether the bytes could be the start of an AWS Encryption SDK message (v1 `01 80` or v2
/// `02`).
pub fn looks_like_message(bytes: &[u8]) -> bool {
    matches!(bytes, [0x01, 0x80, ..] | [0x02, ..])
}
