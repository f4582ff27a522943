//! Decrypt Amazon CloudFront field-level-encryption fields.
//!
//! CloudFront encrypts each configured form field with an RSA public key and writes it as a
//! base64 AWS Encryption SDK (ESDK) message. This crate parses such messages strictly (format
//! v1 and v2, all eleven algorithm suites, framed and single-block bodies), unwraps the data
//! key with RSA on aws-lc-rs, checks key commitment, header tag, frame tags and ECDSA footer
//! signature, and only then hands out the plaintext, as a [`Secret`] that never prints itself.
//!
//! No network, no async, no panics on any input.
//!
//! ```
//! use fle_decrypt::{form::FieldPatterns, Keyring, Padding, PrivateKey};
//! # fn handler(private_key_pem: &[u8], body: &[u8]) -> Result<(), fle_decrypt::Error> {
//! let mut keyring = Keyring::new();
//! keyring.add("checkout", "checkout-2026-11", PrivateKey::from_pem(private_key_pem)?, Padding::OaepSha256)?;
//! let patterns = FieldPatterns::parse("card_*,ssn")?;
//! let form = fle_decrypt::form::decrypt_form(&keyring, body, &patterns)?;
//! if let Some(card) = form.get("card_number") {
//!     charge(card.expose());
//! }
//! # Ok(()) }
//! # fn charge(_: &[u8]) {}
//! ```
//!
//! # Errors
//! Every failure is an [`Error`] whose variant is the class a caller acts on; all cryptographic
//! failures are the single [`Error::DecryptionFailed`].

#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
#[cfg(feature = "keyring-document")]
pub mod document;
#[cfg(feature = "encrypt")]
pub mod encrypt;
mod error;
pub mod form;
#[cfg(feature = "json")]
pub mod json;
mod keyring;
mod keys;
mod limits;
mod message;
mod secret;
mod suite;

pub use error::Error;
pub use keyring::{Decrypted, Keyring};
pub use keys::{Padding, PrivateKey};
pub use limits::Limits;
pub use secret::Secret;
pub use suite::Suite;

/// Entry points for fuzzers and property tests; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a message with default limits; true when its structure is valid.
    pub fn parse_message(data: &[u8]) -> bool {
        crate::message::parse(data, &crate::Limits::default()).is_ok()
    }

    /// Decrypts a form with an empty keyring, so every matching field is decoded and parsed
    /// as far as the key lookup. The input is `patterns\nbody`, or a body alone under the
    /// patterns `card_*,ssn`; an invalid pattern line is skipped. False only when the
    /// decryptor is wrong: with no key nothing decrypts, so an accepted body must come back
    /// byte for byte.
    pub fn decrypt_form(data: &[u8]) -> bool {
        use crate::form::FieldPatterns;
        let (patterns, body) = match data.iter().position(|b| *b == b'\n') {
            Some(i) => (
                data.get(..i).unwrap_or_default(),
                data.get(i.saturating_add(1)..).unwrap_or_default(),
            ),
            None => (&b"card_*,ssn"[..], data),
        };
        let Some(patterns) = std::str::from_utf8(patterns)
            .ok()
            .and_then(|p| FieldPatterns::parse(p).ok())
        else {
            return true;
        };
        match crate::form::decrypt_form(&crate::Keyring::new(), body, &patterns) {
            Ok(form) => form.decrypted().next().is_none() && form.to_body().expose() == body,
            Err(_) => true,
        }
    }

    /// Parses a keyring document; true when it is valid.
    #[cfg(feature = "keyring-document")]
    pub fn parse_keyring_document(data: &[u8]) -> bool {
        crate::document::KeyringDocument::parse(data).is_ok()
    }
}
