//! What a store refuses or fails with, as outcome classes a caller acts on.

/// What a backend refuses, in CloudFront's terms, so the caller can tell the user what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{kind} {id:?} does not exist")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{kind} {id:?} is in use by {by}")]
    InUse {
        kind: &'static str,
        id: String,
        by: String,
    },
    #[error("{kind} {id:?} changed since it was read (ETag mismatch); read it again and retry")]
    PreconditionFailed { kind: &'static str, id: String },
    #[error("too many {kind}: the limit is {limit}")]
    LimitExceeded { kind: &'static str, limit: usize },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("{0}")]
    Busy(String),
    #[error("keystore {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A local keystore that should exist does not (a mistyped `--keystore` or `FLE_HOME`).
    #[error("keystore {path} does not exist; check --keystore / FLE_HOME, or create one with `fle keys generate`")]
    NoKeystore { path: String },
    #[error("keystore {path} is corrupt: {detail}")]
    Corrupt { path: String, detail: String },
    /// A refusal by the remote service, with its error code (e.g. `PublicKeyInUse`).
    #[error("{what}: refused by AWS ({code}): {message}")]
    Refused {
        what: String,
        code: String,
        message: String,
    },
    #[error("{0}")]
    Remote(String),
}

impl StoreError {
    /// The object does not exist (locally, or CloudFront / Secrets Manager said `NoSuch…`).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. } => true,
            Self::Refused { code, .. } => {
                code.starts_with("NoSuch") || code == "ResourceNotFoundException"
            }
            _ => false,
        }
    }

    /// Refusals are a clean "no" (exit 1); malformed input and I/O are exit 2.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. }
                | Self::AlreadyExists { .. }
                | Self::InUse { .. }
                | Self::PreconditionFailed { .. }
                | Self::LimitExceeded { .. }
                | Self::Busy(_)
                | Self::Refused { .. }
        )
    }
}

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;
