//! The one error type of the crate.
//!
//! Variants are outcome classes a caller acts on. Every cryptographic failure — RSA unwrap,
//! header tag, key commitment, frame tag, signature — is the single [`Error::DecryptionFailed`]
//! with no detail: telling them apart would hand an attacker an oracle.

/// Why a message, key or form body was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a well-formed message (the field named is where parsing stopped).
    #[error("malformed message: bad or truncated {0}")]
    Malformed(&'static str),
    /// The message names an algorithm suite this crate does not implement.
    #[error("unsupported algorithm suite {0:#06x}")]
    UnsupportedSuite(u16),
    /// No encrypted data key in the message was made for a key in the keyring.
    #[error("no encrypted data key matches a key in the keyring")]
    NoMatchingKey,
    /// Authentication failed somewhere. Deliberately without detail.
    #[error("decryption failed")]
    DecryptionFailed,
    /// A configured limit was exceeded (the limit is named, never the content).
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
    /// Key material was refused (not RSA, too small, unreadable PEM/DER, duplicate entry).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A form field that should be encrypted is not an AWS Encryption SDK message.
    ///
    /// CloudFront forwards plaintext when a configuration allows it: that must not pass
    /// silently.
    #[error("field {0:?} is not an encrypted value")]
    NotEncrypted(String),
    /// A form body or field pattern is not usable.
    #[error("invalid form: {0}")]
    InvalidForm(&'static str),
    /// A JSON body, selector, or decrypted JSON value is not usable.
    #[error("invalid JSON: {0}")]
    InvalidJson(&'static str),
    /// A form field failed to decrypt; the cause is the error of the message.
    #[error("field {field:?}")]
    Field {
        /// The field's (decoded) name.
        field: String,
        /// Why its value was refused.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The class of the error, looking through [`Error::Field`].
    pub fn root(&self) -> &Error {
        match self {
            Error::Field { source, .. } => source.root(),
            other => other,
        }
    }
}

/// Pattern, selector and body-shape refusals of `fle-fields`, as the same classes here.
impl From<fle_fields::Error> for Error {
    fn from(e: fle_fields::Error) -> Self {
        match e {
            fle_fields::Error::InvalidForm(m) => Error::InvalidForm(m),
            fle_fields::Error::InvalidJson(m) => Error::InvalidJson(m),
            fle_fields::Error::LimitExceeded(m) => Error::LimitExceeded(m),
        }
    }
}
