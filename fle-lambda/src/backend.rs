//! [`Backend`]: the keys of the function and the calls a handler makes.

use std::sync::Arc;
use std::time::Duration;

use fle_decrypt::form::{decrypt_form_with_threads, DecryptedForm, FieldPatterns};
use fle_decrypt::json::{decrypt_json, DecryptedJson, JsonSelectors};
use fle_decrypt::Decrypted;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::aws::AwsKeySource;
use crate::cache::{KeyCache, RefreshPolicy};
use crate::ciphertext::Ciphertext;
use crate::config::{Config, ConfigError};
use crate::entropy;
use crate::error::BackendError;
use crate::source::{KeySource, LoadedKeys};
use crate::threads;

/// The only content type CloudFront field-level encryption applies to.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// The content type of JSON bodies whose values an edge encrypted (`fle_decrypt::json`).
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// How long one call to a key source may take in all (retries included), and one attempt:
/// past that the request gets a 503 rather than waiting for the function's timeout.
const SOURCE_OPERATION_TIMEOUT: Duration = Duration::from_secs(6);
const SOURCE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// A function's keys and field patterns, built once per execution environment (outside the
/// handler) and shared by every request.
#[derive(Debug)]
pub struct Backend<S = AwsKeySource> {
    cache: KeyCache<S>,
    fields: Option<FieldPatterns>,
    threads: usize,
}

impl Backend<AwsKeySource> {
    /// Reads the configuration from the environment (see [`crate::config`]), builds the SDK
    /// client from the standard chain, and loads the keys while warming the random generator
    /// (see [`crate::entropy`]). A failed load is logged and retried on the first request
    /// (which gets a 503 while the source stays unavailable): it does not stop the function.
    ///
    /// # Errors
    /// A [`ConfigError`] when the environment is incomplete or wrong.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(SOURCE_OPERATION_TIMEOUT)
            .operation_attempt_timeout(SOURCE_ATTEMPT_TIMEOUT)
            .build();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        let source = AwsKeySource::new(config.source.clone(), &sdk);
        let backend = Self::new(source, config.fields, config.refresh, config.threads);
        backend.start().await;
        Ok(backend)
    }
}

impl<S: KeySource> Backend<S> {
    /// A backend over any key source; nothing is fetched yet (see [`Backend::start`]).
    /// `threads`: decryption threads per form, `None` to decide from the environment
    /// ([`threads::from_environment`]).
    pub fn new(
        source: S,
        fields: Option<FieldPatterns>,
        refresh: RefreshPolicy,
        threads: Option<usize>,
    ) -> Self {
        Self {
            cache: KeyCache::new(source, refresh),
            fields,
            threads: threads.unwrap_or_else(threads::from_environment).max(1),
        }
    }

    /// The start-up work: loads the keys while a second thread warms the random generator, so
    /// the first request pays neither. A failed load is logged (the next request retries).
    pub async fn start(&self) {
        let warm = std::thread::Builder::new()
            .name("fle-entropy".into())
            .spawn(entropy::warm);
        let _ = self.cache.load().await;
        match warm {
            Ok(handle) => {
                if let Ok(took) = handle.join() {
                    entropy::log_ready(took);
                }
            }
            // No thread: warm here instead.
            Err(_) => entropy::log_ready(entropy::warm()),
        }
    }

    /// The key cache.
    pub fn cache(&self) -> &KeyCache<S> {
        &self.cache
    }

    /// Decryption threads per form.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The configured field patterns (`FLE_FIELDS`).
    pub fn fields(&self) -> Option<&FieldPatterns> {
        self.fields.as_ref()
    }

    /// Decrypts the configured fields of an API Gateway (REST or HTTP API), function URL or
    /// ALB request's form body (lambda_http has already undone `isBase64Encoded`).
    ///
    /// # Errors
    /// A [`BackendError`] to answer with ([`BackendError::into_response`]).
    pub async fn decrypt_request<'r>(
        &self,
        request: &'r Request,
    ) -> Result<DecryptedForm<'r>, BackendError> {
        require_form(request)?;
        self.decrypt_body(request.body().as_ref()).await
    }

    /// Decrypts the configured fields of a form body.
    ///
    /// # Errors
    /// As [`Backend::decrypt_request`].
    pub async fn decrypt_body<'b>(
        &self,
        body: &'b [u8],
    ) -> Result<DecryptedForm<'b>, BackendError> {
        let patterns = self
            .fields
            .as_ref()
            .ok_or(BackendError::NotConfigured("FLE_FIELDS"))?;
        self.decrypt_body_with(body, patterns).await
    }

    /// Decrypts the fields matching `patterns` of a form body. A message for a key not held
    /// triggers one (rate-limited) refresh of the keys and one more try.
    ///
    /// # Errors
    /// As [`Backend::decrypt_request`].
    pub async fn decrypt_body_with<'b>(
        &self,
        body: &'b [u8],
        patterns: &FieldPatterns,
    ) -> Result<DecryptedForm<'b>, BackendError> {
        self.with_refresh(|keys| {
            decrypt_form_with_threads(keys.keyring(), body, patterns, self.threads)
        })
        .await
    }

    /// Decrypts the values `selectors` pick in a JSON request body (`application/json`; an
    /// edge that encrypts JSON writes them as `fle_decrypt::json` reads them). A message for a
    /// key not held triggers one refresh, as for forms.
    ///
    /// # Errors
    /// [`BackendError::UnsupportedContentType`] for another content type; as
    /// [`Backend::decrypt_request`] otherwise, naming the value's JSON path.
    pub async fn decrypt_json_request(
        &self,
        request: &Request,
        selectors: &JsonSelectors,
    ) -> Result<DecryptedJson, BackendError> {
        require_content_type(request, JSON_CONTENT_TYPE)?;
        self.decrypt_json_body(request.body().as_ref(), selectors)
            .await
    }

    /// Decrypts the values `selectors` pick in a JSON body.
    ///
    /// # Errors
    /// As [`Backend::decrypt_json_request`].
    pub async fn decrypt_json_body(
        &self,
        body: &[u8],
        selectors: &JsonSelectors,
    ) -> Result<DecryptedJson, BackendError> {
        self.with_refresh(|keys| decrypt_json(keys.keyring(), body, selectors))
            .await
    }

    /// The configured fields of a request, still encrypted: to pass downstream.
    ///
    /// # Errors
    /// [`BackendError::UnsupportedContentType`], [`BackendError::NotEncrypted`] for a
    /// plaintext value, [`BackendError::Malformed`].
    pub fn encrypted_fields(
        &self,
        request: &Request,
    ) -> Result<Vec<(String, Ciphertext)>, BackendError> {
        require_form(request)?;
        let patterns = self
            .fields
            .as_ref()
            .ok_or(BackendError::NotConfigured("FLE_FIELDS"))?;
        fle_decrypt::form::encrypted_fields(request.body().as_ref(), patterns)?
            .into_iter()
            .map(
                |(name, message)| match Ciphertext::from_message(message.to_vec()) {
                    Ok(c) => Ok((name, c)),
                    Err(_) => Err(BackendError::Malformed {
                        field: Some(name),
                        cause: fle_decrypt::Error::LimitExceeded("ciphertext size"),
                    }),
                },
            )
            .collect()
    }

    /// Decrypts a ciphertext passed downstream, refreshing the keys once for an unknown key.
    ///
    /// # Errors
    /// As [`Backend::decrypt_request`].
    pub async fn decrypt_ciphertext(&self, c: &Ciphertext) -> Result<Decrypted, BackendError> {
        self.with_refresh(|keys| c.decrypt(keys.keyring())).await
    }

    async fn with_refresh<T>(
        &self,
        attempt: impl Fn(&LoadedKeys) -> Result<T, fle_decrypt::Error>,
    ) -> Result<T, BackendError> {
        let keys = self.cache.keys().await?;
        match attempt(&keys) {
            Err(e) if *e.root() == fle_decrypt::Error::NoMatchingKey => {
                match self.cache.refresh_for_unknown_key(&keys).await {
                    Some(fresh) => attempt(&fresh).map_err(BackendError::from),
                    None => Err(e.into()),
                }
            }
            other => other.map_err(BackendError::from),
        }
    }

    /// The keys now held, if any (for diagnostics: names only).
    pub fn loaded(&self) -> Option<Arc<LoadedKeys>> {
        self.cache.current()
    }
}

/// Refuses a request that is not a form: CloudFront encrypts only form bodies, so anything else
/// reaching a handler that expects encrypted fields did not go through it as configured.
fn require_form(request: &Request) -> Result<(), BackendError> {
    require_content_type(request, FORM_CONTENT_TYPE)
}

fn require_content_type(request: &Request, wanted: &str) -> Result<(), BackendError> {
    let ok = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(wanted));
    if ok {
        Ok(())
    } else {
        Err(BackendError::UnsupportedContentType)
    }
}

/// A JSON response with this status.
pub fn json_response<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::source::{KeyMaterial, SourceError};
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};

    /// One key, handed over as a PEM.
    struct OneKey(Vec<u8>);

    impl KeySource for OneKey {
        fn describe(&self) -> String {
            "one key".into()
        }
        async fn fetch(&self) -> Result<KeyMaterial, SourceError> {
            Ok(KeyMaterial::Single {
                provider_id: "spa".into(),
                key_name: "spa-key".into(),
                key: fle_decrypt::Secret::from_vec(self.0.clone()),
            })
        }
    }

    fn request(content_type: &str, body: &[u8]) -> Request {
        use base64::Engine as _;
        let event = serde_json::json!({
            "resource": "/{proxy+}", "path": "/pay", "httpMethod": "POST",
            "headers": {"content-type": content_type},
            "multiValueHeaders": {"content-type": [content_type]},
            "requestContext": {"accountId": "1", "stage": "prod", "httpMethod": "POST",
                "resourcePath": "/{proxy+}", "path": "/prod/pay", "requestId": "r", "identity": {}},
            "body": base64::engine::general_purpose::STANDARD.encode(body),
            "isBase64Encoded": true
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[tokio::test]
    async fn json_requests_decrypt_by_selector_and_refuse_by_path() {
        let key = aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .unwrap();
        let der = AsDer::<Pkcs8V1Der>::as_der(&key).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(&key.public_key()).unwrap();
        let enc = fle_decrypt::encrypt::Encryptor::new(
            fle_decrypt::encrypt::PublicKey::from_der(spki.as_ref()).unwrap(),
            "spa",
            "spa-key",
        )
        .unwrap();
        let backend = Backend::new(
            OneKey(der.as_ref().to_vec()),
            None,
            RefreshPolicy::default(),
            Some(1),
        );
        let selectors = JsonSelectors::parse("/card/number,/items/*/sku").unwrap();
        let plain = br#"{"card":{"number":"4111111111111111"},"items":[{"sku":"A"},{"sku":"B"}],"total":3}"#;
        let body = fle_decrypt::json::encrypt_json(&enc, plain, &selectors).unwrap();

        let doc = backend
            .decrypt_json_request(
                &request("application/json; charset=utf-8", &body),
                &selectors,
            )
            .await
            .unwrap();
        assert_eq!(
            doc.get("/card/number").unwrap().expose(),
            b"\"4111111111111111\""
        );
        assert_eq!(doc.get("/items/1/sku").unwrap().expose(), b"\"B\"");
        let back: serde_json::Value = serde_json::from_slice(doc.to_body().expose()).unwrap();
        assert_eq!(
            back,
            serde_json::from_slice::<serde_json::Value>(plain).unwrap()
        );

        let e = backend
            .decrypt_json_request(&request(FORM_CONTENT_TYPE, &body), &selectors)
            .await
            .unwrap_err();
        assert_eq!(e.class(), "UnsupportedContentType");
        let e = backend
            .decrypt_json_request(&request(JSON_CONTENT_TYPE, plain), &selectors)
            .await
            .unwrap_err();
        assert_eq!(e.class(), "NotEncrypted");
        // The answer names the class only; the error (for the log) names the path, never a value.
        assert_eq!(e.body(), r#"{"error":"NotEncrypted"}"#);
        let text = e.to_string();
        assert!(
            text.contains("/card/number") && !text.contains("4111"),
            "{text}"
        );
    }
}
