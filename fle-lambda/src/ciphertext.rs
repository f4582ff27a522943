//! A field still encrypted by CloudFront, to hand downstream instead of the plaintext.
//!
//! A checkout handler rarely needs the card number itself: the step that charges the card does.
//! [`Ciphertext`] serializes (serde) as the CloudFront ciphertext itself, standard base64 of the
//! AWS Encryption SDK message, so a queue message, a Step Functions input or a database row
//! can carry it, and only the step holding the key ([`crate::Backend::decrypt_ciphertext`], or
//! [`Ciphertext::decrypt`] with any keyring) turns it back into plaintext. Execution history,
//! logs, dead-letter queues and the operators who read them see only ciphertext.
//!
//! What it does not do: hide the value's length (ESDK messages grow with the plaintext), stop
//! a replay of the ciphertext to a step that decrypts it, or protect anything once a step has
//! decrypted it. See `docs/backend.md`.

use std::fmt;

use base64::Engine as _;
use fle_decrypt::{Decrypted, Keyring};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest message accepted (a CloudFront field is at most 16 KB of plaintext; its message
/// with a signed suite is a little over that).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// A CloudFront-encrypted value (an ESDK message), kept encrypted. Serializes as standard
/// base64; `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext {
    message: Vec<u8>,
}

/// Why bytes or text are not a ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CiphertextError {
    /// Not base64.
    #[error("not base64")]
    NotBase64,
    /// Not an AWS Encryption SDK message (wrong version byte).
    #[error("not an AWS Encryption SDK message")]
    NotAMessage,
    /// Larger than [`MAX_MESSAGE_LEN`].
    #[error("ciphertext too large")]
    TooLarge,
}

impl Ciphertext {
    /// Wraps raw message bytes (as [`fle_decrypt::form::encrypted_fields`] returns them).
    ///
    /// # Errors
    /// [`CiphertextError::NotAMessage`] or [`CiphertextError::TooLarge`].
    pub fn from_message(message: Vec<u8>) -> Result<Self, CiphertextError> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(CiphertextError::TooLarge);
        }
        // ESDK format v1 starts 01 80 (version, type), v2 starts 02.
        if !matches!(message.as_slice(), [0x01, 0x80, ..] | [0x02, ..]) {
            return Err(CiphertextError::NotAMessage);
        }
        Ok(Self { message })
    }

    /// Reads base64 leniently, as a form field may carry it (`%2B`, a space for `+`, missing
    /// padding, line breaks).
    ///
    /// # Errors
    /// As [`Ciphertext::from_message`], and [`CiphertextError::NotBase64`].
    pub fn from_base64(text: &str) -> Result<Self, CiphertextError> {
        if text.len() > MAX_MESSAGE_LEN.saturating_mul(2) {
            return Err(CiphertextError::TooLarge);
        }
        let bytes = fle_decrypt::form::decode_base64_message(text.as_bytes())
            .ok_or(CiphertextError::NotBase64)?;
        Self::from_message(bytes.to_vec())
    }

    /// Standard, padded base64 of the message: what serde writes.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.message)
    }

    /// The raw message bytes.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// Decrypts with `keyring` (no refresh: see [`crate::Backend::decrypt_ciphertext`]).
    ///
    /// # Errors
    /// The decryptor's error class.
    pub fn decrypt(&self, keyring: &Keyring) -> Result<Decrypted, fle_decrypt::Error> {
        keyring.decrypt(&self.message)
    }
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ciphertext({} bytes)", self.message.len())
    }
}

impl Serialize for Ciphertext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Ciphertext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        // The error names the class only: a plaintext put where a ciphertext belongs must not
        // reach a log through a deserialization error.
        Self::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_base64_message() {
        // Bytes whose base64 has a `+`: "Av+/".
        let c = Ciphertext::from_message(vec![0x02, 0xff, 0xbf]).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"Av+/\"");
        assert_eq!(format!("{c:?}"), "Ciphertext(3 bytes)");
        // As a form may have carried it: percent-encoded, `+` read as a space, line break.
        for text in ["\"Av+/\"", "\"Av%2B/\"", "\"Av /\"", "\"Av+/\\n\""] {
            let back: Ciphertext = serde_json::from_str(text).unwrap();
            assert_eq!(back, c, "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_message_without_quoting_it() {
        for text in [
            "\"4111111111111111\"",
            "\"not base64 at all!\"",
            "12",
            "\"\"",
        ] {
            let e = serde_json::from_str::<Ciphertext>(text)
                .unwrap_err()
                .to_string();
            assert!(!e.contains("4111"), "{e}");
            assert!(!e.contains("base64 at all"), "{e}");
        }
        assert_eq!(
            Ciphertext::from_message(vec![0; MAX_MESSAGE_LEN + 1]),
            Err(CiphertextError::TooLarge)
        );
    }
}
