//! The three AWS key sources, through the official SDK clients: the standard credential chain
//! (the function's role), the region of the function, and `AWS_ENDPOINT_URL[_<SERVICE>]`
//! honoured (how the tests point them at moto).
//!
//! - Secrets Manager: `GetSecretValue` (`AWSCURRENT`) of each keyring secret `fle` writes.
//! - SSM Parameter Store: `GetParameter` with decryption of each keyring SecureString.
//! - KMS: `Decrypt` of one private key kept as KMS ciphertext in the function's configuration,
//!   with an optional encryption context (KMS refuses the call when it differs).
//!
//! Each source is a cargo feature (`secrets-manager`, `ssm`, `kms`; all on by default): a
//! function built for one links only that service's client. A configuration naming a source
//! the build lacks is refused at start-up ([`crate::config`]).
//!
//! Errors carry the operation and the AWS error code, never a response body.

#[cfg(feature = "kms")]
use std::collections::HashMap;

#[cfg(feature = "kms")]
use aws_sdk_kms::primitives::Blob;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fle_decrypt::document::KeyringDocument;
#[cfg(feature = "kms")]
use fle_decrypt::Secret;
use zeroize::Zeroizing;

use crate::source::{KeyMaterial, KeySource, SourceError};

/// Where a function's keys are, as configured (see [`crate::config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// Secrets Manager secrets (ids or ARNs), each holding one provider's keyring document.
    SecretsManager {
        /// Secret ids or ARNs.
        secret_ids: Vec<String>,
        /// When set, every document must be this provider's.
        provider_id: Option<String>,
    },
    /// SSM SecureString parameters, each holding one provider's keyring document.
    Ssm {
        /// Parameter names or ARNs.
        names: Vec<String>,
        /// When set, every document must be this provider's.
        provider_id: Option<String>,
    },
    /// One private key, encrypted with KMS.
    Kms {
        /// The KMS ciphertext blob (decoded from base64).
        ciphertext: Vec<u8>,
        /// The provider id the key decrypts for.
        provider_id: String,
        /// The CloudFront public key name.
        key_name: String,
        /// The encryption context the ciphertext was made with.
        context: Vec<(String, String)>,
    },
}

impl SourceSpec {
    /// The cargo feature this source needs, if this build lacks it.
    pub(crate) fn missing_feature(&self) -> Option<&'static str> {
        match self {
            Self::SecretsManager { .. } if !cfg!(feature = "secrets-manager") => {
                Some("secrets-manager")
            }
            Self::Ssm { .. } if !cfg!(feature = "ssm") => Some("ssm"),
            Self::Kms { .. } if !cfg!(feature = "kms") => Some("kms"),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum Client {
    #[cfg(feature = "secrets-manager")]
    SecretsManager(aws_sdk_secretsmanager::Client),
    #[cfg(feature = "ssm")]
    Ssm(aws_sdk_ssm::Client),
    #[cfg(feature = "kms")]
    Kms(aws_sdk_kms::Client),
    /// The build lacks the source's feature ([`crate::config`] refuses such a configuration
    /// first; this is what a hand-made spec gets: every fetch fails).
    Missing(&'static str),
}

/// A [`KeySource`] backed by Secrets Manager, SSM or KMS.
#[derive(Debug)]
pub struct AwsKeySource {
    spec: SourceSpec,
    client: Client,
}

impl AwsKeySource {
    /// A source over the client the spec needs, built from `sdk_config`.
    pub fn new(spec: SourceSpec, sdk_config: &aws_config::SdkConfig) -> Self {
        let client = match &spec {
            #[cfg(feature = "secrets-manager")]
            SourceSpec::SecretsManager { .. } => {
                Client::SecretsManager(aws_sdk_secretsmanager::Client::new(sdk_config))
            }
            #[cfg(feature = "ssm")]
            SourceSpec::Ssm { .. } => Client::Ssm(aws_sdk_ssm::Client::new(sdk_config)),
            #[cfg(feature = "kms")]
            SourceSpec::Kms { .. } => Client::Kms(aws_sdk_kms::Client::new(sdk_config)),
            #[allow(unreachable_patterns)]
            other => {
                let _ = sdk_config;
                Client::Missing(other.missing_feature().unwrap_or("?"))
            }
        };
        Self { spec, client }
    }

    /// What the source reads.
    pub fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    #[allow(dead_code)] // unused only in a build with no source feature
    fn unavailable<E: ProvideErrorMetadata, R>(
        &self,
        operation: &'static str,
        e: &SdkError<E, R>,
    ) -> SourceError {
        let reason = match e {
            SdkError::ServiceError(s) => s.err().code().unwrap_or("service error").to_owned(),
            SdkError::TimeoutError(_) => "timeout".to_owned(),
            SdkError::DispatchFailure(_) => "dispatch failure (endpoint unreachable)".to_owned(),
            SdkError::ResponseError(_) => "unreadable response".to_owned(),
            SdkError::ConstructionFailure(_) => "request construction failed".to_owned(),
            _ => "error".to_owned(),
        };
        SourceError::Unavailable {
            source_name: self.describe(),
            operation,
            reason,
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> SourceError {
        SourceError::Invalid {
            source_name: self.describe(),
            reason: reason.into(),
        }
    }

    #[allow(dead_code)]
    fn document(
        &self,
        id: &str,
        text: &Zeroizing<String>,
        provider_id: Option<&str>,
    ) -> Result<KeyringDocument, SourceError> {
        let parsed = match provider_id {
            Some(p) => KeyringDocument::parse_for(text.as_bytes(), p),
            None => KeyringDocument::parse(text.as_bytes()),
        };
        parsed.map_err(|e| self.invalid(format!("{id}: {e}")))
    }

    #[cfg(feature = "secrets-manager")]
    async fn secrets_manager(
        &self,
        client: &aws_sdk_secretsmanager::Client,
        ids: &[String],
        provider_id: Option<&str>,
    ) -> Result<KeyMaterial, SourceError> {
        let mut docs = Vec::with_capacity(ids.len());
        for id in ids {
            let out = client
                .get_secret_value()
                .secret_id(id)
                .version_stage("AWSCURRENT")
                .send()
                .await
                .map_err(|e| self.unavailable("GetSecretValue", &e))?;
            let Some(text) = out.secret_string.map(Zeroizing::new) else {
                return Err(self.invalid(format!("{id}: the secret has no SecretString")));
            };
            docs.push(self.document(id, &text, provider_id)?);
        }
        Ok(KeyMaterial::Documents(docs))
    }

    #[cfg(feature = "ssm")]
    async fn ssm(
        &self,
        client: &aws_sdk_ssm::Client,
        names: &[String],
        provider_id: Option<&str>,
    ) -> Result<KeyMaterial, SourceError> {
        let mut docs = Vec::with_capacity(names.len());
        for name in names {
            let out = client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| self.unavailable("GetParameter", &e))?;
            let Some(text) = out.parameter.and_then(|p| p.value).map(Zeroizing::new) else {
                return Err(self.invalid(format!("{name}: the parameter has no value")));
            };
            docs.push(self.document(name, &text, provider_id)?);
        }
        Ok(KeyMaterial::Documents(docs))
    }

    #[cfg(feature = "kms")]
    async fn kms(
        &self,
        client: &aws_sdk_kms::Client,
        ciphertext: &[u8],
        provider_id: &str,
        key_name: &str,
        context: &[(String, String)],
    ) -> Result<KeyMaterial, SourceError> {
        let mut call = client.decrypt().ciphertext_blob(Blob::new(ciphertext));
        if !context.is_empty() {
            let map: HashMap<String, String> = context.iter().cloned().collect();
            call = call.set_encryption_context(Some(map));
        }
        let out = call
            .send()
            .await
            .map_err(|e| self.unavailable("Decrypt", &e))?;
        let Some(mut plain) = out.plaintext.map(|b| Zeroizing::new(b.into_inner())) else {
            return Err(self.invalid("KMS returned no plaintext"));
        };
        Ok(KeyMaterial::Single {
            provider_id: provider_id.to_owned(),
            key_name: key_name.to_owned(),
            key: Secret::from_vec(std::mem::take(&mut *plain)),
        })
    }
}

impl KeySource for AwsKeySource {
    fn describe(&self) -> String {
        match &self.spec {
            SourceSpec::SecretsManager { secret_ids, .. } => {
                format!("secretsmanager:{}", secret_ids.join(","))
            }
            SourceSpec::Ssm { names, .. } => format!("ssm:{}", names.join(",")),
            SourceSpec::Kms {
                provider_id,
                key_name,
                ..
            } => format!("kms:{provider_id}/{key_name}"),
        }
    }

    async fn fetch(&self) -> Result<KeyMaterial, SourceError> {
        match (&self.spec, &self.client) {
            #[cfg(feature = "secrets-manager")]
            (
                SourceSpec::SecretsManager {
                    secret_ids,
                    provider_id,
                },
                Client::SecretsManager(c),
            ) => {
                self.secrets_manager(c, secret_ids, provider_id.as_deref())
                    .await
            }
            #[cfg(feature = "ssm")]
            (SourceSpec::Ssm { names, provider_id }, Client::Ssm(c)) => {
                self.ssm(c, names, provider_id.as_deref()).await
            }
            #[cfg(feature = "kms")]
            (
                SourceSpec::Kms {
                    ciphertext,
                    provider_id,
                    key_name,
                    context,
                },
                Client::Kms(c),
            ) => {
                self.kms(c, ciphertext, provider_id, key_name, context)
                    .await
            }
            (_, Client::Missing(feature)) => Err(self.invalid(format!(
                "this build has no {feature} source (cargo feature `{feature}` of fle-lambda)"
            ))),
            #[allow(unreachable_patterns)]
            _ => Err(self.invalid("client and source kind differ")),
        }
    }
}
