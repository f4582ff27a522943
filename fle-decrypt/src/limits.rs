//! Caps on what one message may make the decryptor do.

/// Limits applied while parsing a message. The defaults suit CloudFront field-level encryption;
/// raise them only for other producers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CloudFront writes exactly one encrypted data key; a producer that wraps for the old and
    /// the new key during a rotation writes two. Each matching one may cost an RSA operation,
    /// so a message with more is a denial-of-service lever. Default 2.
    pub(crate) max_encrypted_data_keys: u16,
    /// A form has at most 32 encrypted fields and CloudFront's messages need one RSA operation
    /// each; more EDKs per field must not multiply that. Default 32.
    pub(crate) max_rsa_operations_per_form: u16,
    /// CloudFront's context holds one ECDSA public key (under 100 bytes). Default 8 KiB.
    pub(crate) max_encryption_context_len: usize,
    /// CloudFront encrypts fields of at most 16 KB inside bodies of at most 1 MB. Default 1 MiB.
    pub(crate) max_plaintext_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_encrypted_data_keys: 2,
            max_rsa_operations_per_form: 32,
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

    /// Most RSA operations (data-key unwraps) one form may cost, counted over the encrypted
    /// data keys of its matching fields that name a key in the keyring, before any is done.
    #[must_use]
    pub fn with_max_rsa_operations_per_form(mut self, n: u16) -> Self {
        self.max_rsa_operations_per_form = n;
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

    /// See [`Limits::with_max_rsa_operations_per_form`].
    pub fn max_rsa_operations_per_form(&self) -> u16 {
        self.max_rsa_operations_per_form
    }

    /// See [`Limits::with_max_plaintext_len`].
    pub fn max_plaintext_len(&self) -> usize {
        self.max_plaintext_len
    }
}
