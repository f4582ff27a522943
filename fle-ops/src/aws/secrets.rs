//! Keyrings in AWS Secrets Manager: one secret per provider, named `<prefix><provider>` (':' in
//! a provider id becomes '.', which provider ids cannot contain), holding the keyring JSON of
//! docs/keystore.md, encrypted with the KMS key given by `--kms-key`.
//!
//! Writes are compare-and-swap: a new version's `ClientRequestToken` is derived from the version
//! it was computed from. Secrets Manager accepts one version per token, so of two writers that
//! read the same version only the first succeeds; the other gets `ResourceExistsException`,
//! reads again and re-applies its change (or, for a rotation claim, finds the claim and stops).

use aws_sdk_secretsmanager::Client;
use zeroize::Zeroizing;

use super::sdk_err;
use crate::error::{StoreError, StoreResult};
use crate::model::KeyringDocument;

/// Attempts of one read-modify-write before giving up on a busy secret.
const CAS_ATTEMPTS: usize = 8;

#[derive(Debug, Clone)]
pub struct SecretKeyrings {
    sm: Client,
    prefix: String,
    kms_key: Option<String>,
}

enum Write {
    Done,
    Conflict,
}

fn token_after(seed: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("fle-keyring-cas:{seed}").as_bytes(),
    );
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl SecretKeyrings {
    pub fn new(sm: Client, prefix: String, kms_key: Option<String>) -> Self {
        Self {
            sm,
            prefix,
            kms_key,
        }
    }

    fn name(&self, provider: &str) -> String {
        format!("{}{}", self.prefix, provider.replace(':', "."))
    }

    /// The keyring and the version it was read from (`None`: no secret yet).
    pub async fn load(&self, provider: &str) -> StoreResult<(KeyringDocument, Option<String>)> {
        let got = self
            .sm
            .get_secret_value()
            .secret_id(self.name(provider))
            .version_stage("AWSCURRENT")
            .send()
            .await;
        let out = match got {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok((KeyringDocument::empty(provider), None));
            }
            Err(e) => return Err(sdk_err("read keyring secret", &e)),
        };
        let text = Zeroizing::new(out.secret_string().unwrap_or_default().to_owned());
        let ring = super::keyrings::parse_keyring(
            &text,
            provider,
            &format!("secret {}", self.name(provider)),
        )?;
        tracing::debug!(
            secret = %self.name(provider),
            version = out.version_id().unwrap_or_default(),
            keys = ring.keys.len(),
            "read keyring"
        );
        Ok((ring, out.version_id().map(str::to_owned)))
    }

    async fn write(
        &self,
        provider: &str,
        ring: &KeyringDocument,
        read_from: Option<&str>,
    ) -> StoreResult<Write> {
        let name = self.name(provider);
        let body = ring.to_json();
        let body = std::str::from_utf8(&body).map_err(|_| StoreError::Corrupt {
            path: name.clone(),
            detail: "the keyring did not serialize as UTF-8".into(),
        })?;
        let result = match read_from {
            Some(version) => self
                .sm
                .put_secret_value()
                .secret_id(&name)
                .secret_string(body)
                .client_request_token(token_after(version))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    (
                        e.as_service_error()
                            .is_some_and(|s| s.is_resource_exists_exception()),
                        sdk_err("write keyring secret", &e),
                    )
                }),
            None => {
                let kms = self.kms_key.as_deref().ok_or_else(|| {
                    StoreError::Invalid(format!("provider {provider:?} has no keyring secret yet; pass --kms-key to create {name} encrypted with it"))
                })?;
                self.sm
                    .create_secret()
                    .name(&name)
                    .description(format!(
                        "fle keyring of provider {provider} (format: fle docs/keystore.md)"
                    ))
                    .kms_key_id(kms)
                    .secret_string(body)
                    .client_request_token(token_after(&format!("new:{name}")))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            e.as_service_error()
                                .is_some_and(|s| s.is_resource_exists_exception()),
                            sdk_err("create keyring secret", &e),
                        )
                    })
            }
        };
        match result {
            Ok(()) => Ok(Write::Done),
            Err((true, _)) => Ok(Write::Conflict),
            Err((false, e)) => Err(e),
        }
    }

    /// Read, apply `f`, write back; on a concurrent write, read again and re-apply.
    pub async fn change(
        &self,
        provider: &str,
        mut f: impl FnMut(&mut KeyringDocument) -> StoreResult<()>,
    ) -> StoreResult<()> {
        for _ in 0..CAS_ATTEMPTS {
            let (mut ring, version) = self.load(provider).await?;
            f(&mut ring)?;
            if let Write::Done = self.write(provider, &ring, version.as_deref()).await? {
                tracing::debug!(secret = %self.name(provider), keys = ring.keys.len(), "wrote keyring");
                return Ok(());
            }
            tracing::debug!(secret = %self.name(provider), "keyring changed under us; reading again");
        }
        Err(StoreError::Busy(format!(
            "keyring secret {} kept changing under us; retry",
            self.name(provider)
        )))
    }

    /// Providers with a keyring secret under the prefix.
    pub async fn providers(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let by_prefix = aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                .values(&self.prefix)
                .build();
            let page = self
                .sm
                .list_secrets()
                .filters(by_prefix)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| sdk_err("list secrets", &e))?;
            for s in page.secret_list() {
                if let Some(p) = s.name().and_then(|n| n.strip_prefix(&self.prefix)) {
                    out.push(p.replace('.', ":"));
                }
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        out.sort();
        Ok(out)
    }
}
