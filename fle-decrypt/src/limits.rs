//! Caps on what one message may make the decryptor do.

/// Limits applied while parsing a message. The defaults suit CloudFront field-level encryption;
/// raise them only for other producers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CloudFront writes exactly one encrypted data key; each matching one may cost an RSA
    /// operation, so a message with many is a denial-of-service lever. Default 5.
    pub(crate) max_encrypted_data_keys: u16,
    /// CloudFront's context holds one ECDSA public key (under 100 bytes). Default 8 KiB.
    pub(crate) max_encryption_context_len: usize,
    /// CloudFront encrypts fields of at most 16 KB inside bodies of at most 1 MB. Default 1 MiB.
    pub(crate) max_plaintext_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_encrypted_data_keys: 5,
            max_encryption_context_len: 8 * 1024,
            max_plaintext_len: 1024 * 1024,
        }
    }
}

impl Limits {
    /// Most encrypted data keys a message may carry.
    #[must_use]
    pub fn with_max_encrypted_data_keys(mut self, n: u16) -> Self {
        self.max_encrypted_data_keys = n;
        self
    }

    /// Largest serialised encryption context, in bytes.
    #[must_use]
    pub fn with_max_encryption_context_len(mut self, n: usize) -> Self {
        self.max_encryption_context_len = n;
        self
    }

    /// Largest plaintext a message may decrypt to, in bytes.
    #[must_use]
    pub fn with_max_plaintext_len(mut self, n: usize) -> Self {
        self.max_plaintext_len = n;
        self
    }

    /// See [`Limits::with_max_encrypted_data_keys`].
    pub fn max_encrypted_data_keys(&self) -> u16 {
        self.max_encrypted_data_keys
    }

    /// See [`Limits::with_max_plaintext_len`].
    pub fn max_plaintext_len(&self) -> usize {
        self.max_plaintext_len
    }
}
