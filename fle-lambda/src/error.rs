//! What a handler answers when a request cannot be decrypted.
//!
//! | class | status | when |
//! | --- | --- | --- |
//! | `NotEncrypted` | 400 | a field the profile encrypts arrived as plaintext (CloudFront forwarded it unencrypted: a misconfiguration or a request that bypassed it) |
//! | `Malformed` | 400 | not a well-formed message, an unsupported suite, a limit exceeded, an unusable form body |
//! | `NoMatchingKey` | 400 | no key held for the message, even after a refresh (a retired key, or another account's) |
//! | `DecryptionFailed` | 400 | a key matched but the message did not authenticate |
//! | `MissingField` | 400 | a field the handler requires is absent |
//! | `UnsupportedContentType` | 415 | not `application/x-www-form-urlencoded` |
//! | `KeySourceUnavailable` | 503 | no keys could be loaded (the source is unreachable or refuses); `Retry-After` is set |
//! | `NotConfigured` | 500 | the function's configuration lacks what the call needs |
//!
//! The response body is `{"error":"<class>"}` and nothing else: the class tells a client what
//! to do, the details (which field, which source, which AWS error code) go to the log line
//! written by [`BackendError::into_response`], and no value ever goes anywhere.

use lambda_http::http::header::{CONTENT_TYPE, RETRY_AFTER};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::Value;

use crate::log::{self, event, Level};
use crate::source::SourceError;

/// A refused request: an outcome class with a status code.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// A field that should be encrypted is not an ESDK message.
    #[error("field {field:?} is not encrypted")]
    NotEncrypted {
        /// The field's name.
        field: String,
    },
    /// The body or a field's message cannot be read.
    #[error("malformed request{}: {cause}", field_suffix(.field))]
    Malformed {
        /// The field, when one is to blame.
        field: Option<String>,
        /// The decryptor's error (a class and a place, never content).
        cause: fle_decrypt::Error,
    },
    /// No key held matches the message, after a refresh.
    #[error("no key matches the message{}", field_suffix(.field))]
    NoMatchingKey {
        /// The field, when one is to blame.
        field: Option<String>,
    },
    /// A key matched but the message did not authenticate.
    #[error("decryption failed{}", field_suffix(.field))]
    DecryptionFailed {
        /// The field, when one is to blame.
        field: Option<String>,
    },
    /// A field the handler requires is absent.
    #[error("required field {0:?} is missing")]
    MissingField(String),
    /// The request is not a form.
    #[error("content type is not application/x-www-form-urlencoded")]
    UnsupportedContentType,
    /// No keys could be loaded.
    #[error("key source unavailable: {0}")]
    KeySourceUnavailable(SourceError),
    /// The configuration lacks what this call needs (e.g. `FLE_FIELDS`).
    #[error("not configured: {0}")]
    NotConfigured(&'static str),
}

fn field_suffix(field: &Option<String>) -> String {
    field
        .as_deref()
        .map(|f| format!(" in field {f:?}"))
        .unwrap_or_default()
}

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: &str = "5";

impl BackendError {
    /// The class name the response body carries.
    pub fn class(&self) -> &'static str {
        match self {
            Self::NotEncrypted { .. } => "NotEncrypted",
            Self::Malformed { .. } => "Malformed",
            Self::NoMatchingKey { .. } => "NoMatchingKey",
            Self::DecryptionFailed { .. } => "DecryptionFailed",
            Self::MissingField(_) => "MissingField",
            Self::UnsupportedContentType => "UnsupportedContentType",
            Self::KeySourceUnavailable(_) => "KeySourceUnavailable",
            Self::NotConfigured(_) => "NotConfigured",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotEncrypted { .. }
            | Self::Malformed { .. }
            | Self::NoMatchingKey { .. }
            | Self::DecryptionFailed { .. }
            | Self::MissingField(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::KeySourceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response body: `{"error":"<class>"}`.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self.class() }).to_string()
    }

    /// Logs the refusal (class and details, no values) and builds the response.
    pub fn into_response(self) -> Response<Body> {
        let level = if self.status().is_server_error() {
            Level::Error
        } else {
            Level::Warn
        };
        log::emit(
            level,
            event::REQUEST_REFUSED,
            vec![
                ("class", Value::from(self.class())),
                ("status", Value::from(self.status().as_u16())),
                ("detail", Value::from(self.to_string())),
            ],
        );
        self.response()
    }

    /// The response, without logging.
    pub fn response(&self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status())
            .header(CONTENT_TYPE, "application/json");
        if matches!(self, Self::KeySourceUnavailable(_)) {
            builder = builder.header(RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        builder
            .body(Body::Text(self.body()))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

impl From<fle_decrypt::Error> for BackendError {
    fn from(e: fle_decrypt::Error) -> Self {
        use fle_decrypt::Error as E;
        let (field, root) = match &e {
            E::Field { field, source } => (Some(field.clone()), source.root().clone()),
            other => (None, other.clone()),
        };
        match root {
            E::NotEncrypted(field) => Self::NotEncrypted { field },
            E::NoMatchingKey => Self::NoMatchingKey { field },
            E::DecryptionFailed => Self::DecryptionFailed { field },
            cause => Self::Malformed { field, cause },
        }
    }
}

impl From<SourceError> for BackendError {
    fn from(e: SourceError) -> Self {
        Self::KeySourceUnavailable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fle_decrypt::Error as E;

    fn field(e: E) -> E {
        E::Field {
            field: "card_number".into(),
            source: Box::new(e),
        }
    }

    #[test]
    fn classes_and_statuses() {
        let cases: Vec<(BackendError, &str, u16)> = vec![
            (E::NotEncrypted("ssn".into()).into(), "NotEncrypted", 400),
            (field(E::Malformed("header")).into(), "Malformed", 400),
            (field(E::UnsupportedSuite(0x0999)).into(), "Malformed", 400),
            (E::LimitExceeded("form body size").into(), "Malformed", 400),
            (E::InvalidForm("x").into(), "Malformed", 400),
            (field(E::NoMatchingKey).into(), "NoMatchingKey", 400),
            (field(E::DecryptionFailed).into(), "DecryptionFailed", 400),
            (
                BackendError::MissingField("card_number".into()),
                "MissingField",
                400,
            ),
            (
                BackendError::UnsupportedContentType,
                "UnsupportedContentType",
                415,
            ),
            (
                SourceError::Unavailable {
                    source_name: "secretsmanager:fle/keyring/p".into(),
                    operation: "GetSecretValue",
                    reason: "AccessDeniedException".into(),
                }
                .into(),
                "KeySourceUnavailable",
                503,
            ),
            (
                BackendError::NotConfigured("FLE_FIELDS"),
                "NotConfigured",
                500,
            ),
        ];
        for (e, class, status) in cases {
            assert_eq!(e.class(), class, "{e}");
            let r = e.response();
            assert_eq!(r.status().as_u16(), status, "{e}");
            let Body::Text(body) = r.body() else { panic!() };
            assert_eq!(body, &format!("{{\"error\":\"{class}\"}}"));
            assert_eq!(r.headers().get(RETRY_AFTER).is_some(), status == 503, "{e}");
        }
        assert_eq!(
            BackendError::from(field(E::NoMatchingKey)),
            BackendError::NoMatchingKey {
                field: Some("card_number".into())
            }
        );
    }
}
