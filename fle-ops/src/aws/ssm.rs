//! Keyrings in SSM Parameter Store: one SecureString parameter per provider, named
//! `/<prefix><provider>` (':' written as '.'), Advanced tier (a keyring of three RSA-2048 keys
//! exceeds the 4 KB Standard limit; Advanced allows 8 KB), encrypted with `--kms-key`.
//!
//! SSM has no conditional write, so a read-modify-write holds a lock: the parameter
//! `/<prefix><provider>/lock`, created with `Overwrite=false` (creation is atomic: a second
//! creator gets `ParameterAlreadyExists`) and deleted afterwards. A lock whose lease has passed,
//! or whose owner process on this host is certainly gone (`crate::lease`), is broken.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use aws_sdk_ssm::Client;
use zeroize::Zeroizing;

use super::keyrings::parse_keyring;
use super::sdk_err;
use crate::error::{StoreError, StoreResult};
use crate::lease::{self, SystemLiveness};
use crate::model::KeyringDocument;

/// A lock is held for one read and one write: a minute is plenty.
const LOCK_LEASE: Duration = Duration::from_secs(60);
/// How long to wait for another writer's lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct SsmKeyrings {
    ssm: Client,
    prefix: String,
    kms_key: Option<String>,
    progress: super::Progress,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LockValue {
    owner: String,
    expires: String,
}

impl SsmKeyrings {
    pub fn new(
        ssm: Client,
        prefix: &str,
        kms_key: Option<String>,
        progress: super::Progress,
    ) -> Self {
        Self {
            ssm,
            prefix: format!("/{}", prefix.trim_start_matches('/')),
            kms_key,
            progress,
        }
    }

    fn name(&self, provider: &str) -> String {
        format!("{}{}", self.prefix, provider.replace(':', "."))
    }

    pub async fn load(&self, provider: &str) -> StoreResult<KeyringDocument> {
        let name = self.name(provider);
        let got = self
            .ssm
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await;
        let out = match got {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                return Ok(KeyringDocument::empty(provider))
            }
            Err(e) => return Err(sdk_err("read keyring parameter", &e)),
        };
        let text = Zeroizing::new(
            out.parameter()
                .and_then(|p| p.value())
                .unwrap_or_default()
                .to_owned(),
        );
        let ring = parse_keyring(&text, provider, &format!("parameter {name}"))?;
        tracing::debug!(
            parameter = %name,
            version = out.parameter().map_or(0, |p| p.version()),
            keys = ring.keys.len(),
            "read keyring"
        );
        Ok(ring)
    }

    async fn lock(&self, provider: &str) -> StoreResult<String> {
        let lock = format!("{}/lock", self.name(provider));
        let start = Instant::now();
        loop {
            let at = SystemTime::now();
            let value = serde_json::to_string(&LockValue {
                owner: lease::owner(&SystemLiveness)?,
                expires: lease::expiry(at, LOCK_LEASE),
            })
            .map_err(|e| StoreError::Remote(e.to_string()))?;
            let put = self
                .ssm
                .put_parameter()
                .name(&lock)
                .value(&value)
                .r#type(ParameterType::String)
                .overwrite(false)
                .send()
                .await;
            match put {
                Ok(_) => return Ok(lock),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_already_exists()) => {}
                Err(e) => return Err(sdk_err("take keyring lock", &e)),
            }
            // Held: break it if stale, else wait.
            let held = self.ssm.get_parameter().name(&lock).send().await.ok();
            let held: Option<LockValue> = held.and_then(|o| {
                o.parameter()
                    .and_then(|p| p.value())
                    .and_then(|v| serde_json::from_str(v).ok())
            });
            if held.is_some_and(|h| lease::is_stale(&h.owner, &h.expires, at, &SystemLiveness)) {
                let _ = self.ssm.delete_parameter().name(&lock).send().await;
                continue;
            }
            if start.elapsed() > LOCK_WAIT {
                return Err(StoreError::Busy(format!(
                    "keyring parameter lock {lock} is held by another fle; retry"
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Read, apply `f`, write back, under the provider's lock.
    pub async fn change(
        &self,
        provider: &str,
        mut f: impl FnMut(&mut KeyringDocument) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let kms = self.kms_key.clone().ok_or_else(|| {
            // Overwriting a SecureString without a key id would silently re-encrypt it with aws/ssm.
            StoreError::Invalid(format!(
                "writing provider {provider:?}'s keyring parameter needs --kms-key"
            ))
        })?;
        let lock = self.lock(provider).await?;
        let result = async {
            let mut ring = self.load(provider).await?;
            f(&mut ring)?;
            let name = self.name(provider);
            let body = ring.to_json();
            let body = std::str::from_utf8(&body).map_err(|_| StoreError::Corrupt {
                path: name.clone(),
                detail: "the keyring did not serialize as UTF-8".into(),
            })?;
            self.ssm
                .put_parameter()
                .name(&name)
                .description(format!(
                    "fle keyring of provider {provider} (format: fle docs/keystore.md)"
                ))
                .value(body)
                .r#type(ParameterType::SecureString)
                .key_id(kms)
                .tier(ParameterTier::Advanced)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| sdk_err("write keyring parameter", &e))?;
            Ok(())
        }
        .await;
        if let Err(e) = self.ssm.delete_parameter().name(&lock).send().await {
            self.progress.note(&format!(
                "warning: could not release lock {lock} ({}); it expires by itself",
                sdk_err("delete lock", &e)
            ));
        }
        result
    }

    /// Providers with a keyring parameter under the prefix.
    pub async fn providers(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        let path = self.prefix.trim_end_matches('/').to_owned();
        loop {
            let page = self
                .ssm
                .get_parameters_by_path()
                .path(&path)
                .recursive(false)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| sdk_err("list keyring parameters", &e))?;
            for p in page.parameters() {
                if let Some(rest) = p.name().and_then(|n| n.strip_prefix(&self.prefix)) {
                    if !rest.contains('/') {
                        out.push(rest.replace('.', ":"));
                    }
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
