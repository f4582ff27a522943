//! Keyrings in AWS Secrets Manager: one secret per provider, named `<prefix><provider>` (':' in
//! a provider id becomes '.', which provider ids cannot contain), holding the keyring JSON of
//! docs/keystore.md, encrypted with the KMS key given by `--kms-key`.
//!
//! Writes are compare-and-swap: a new version's `ClientRequestToken` is derived from the version
//! it was computed from. Secrets Manager accepts one version per token, so of two writers that
//! read the same version only the first succeeds; the other gets `ResourceExistsException`,
//! reads again and re-applies its change (or, for a rotation claim, finds the claim and stops).

use std::time::{Duration, SystemTime};

use aws_sdk_secretsmanager::Client;
use zeroize::Zeroizing;

use super::sdk_err;
use crate::keystore::model::{Claim, Keyring, KEYRING_FORMAT};
use crate::keystore::{StoreError, StoreResult};

/// Attempts of one read-modify-write before giving up on a busy secret.
const CAS_ATTEMPTS: usize = 8;
/// How long a rotation claim stays valid without its owner.
const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

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
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("fle-keyring-cas:{seed}").as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_default()
}

/// Whether a claim can be ignored: expired, or made on this host by a process that is gone.
fn stale(c: &Claim, at: SystemTime) -> bool {
    let expired = humantime::parse_rfc3339(&c.expires).map(|t| t <= at).unwrap_or(true);
    let mut parts = c.owner.splitn(3, ':');
    let (h, pid) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let dead_here = h == host() && !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists();
    expired || dead_here
}

impl SecretKeyrings {
    pub fn new(sm: Client, prefix: String, kms_key: Option<String>) -> Self {
        Self { sm, prefix, kms_key }
    }

    fn name(&self, provider: &str) -> String {
        format!("{}{}", self.prefix, provider.replace(':', "."))
    }

    /// The keyring and the version it was read from (`None`: no secret yet).
    pub async fn load(&self, provider: &str) -> StoreResult<(Keyring, Option<String>)> {
        let got = self.sm.get_secret_value().secret_id(self.name(provider)).version_stage("AWSCURRENT").send().await;
        let out = match got {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                return Ok((Keyring::empty(provider), None));
            }
            Err(e) => return Err(sdk_err("read keyring secret", &e)),
        };
        let text = Zeroizing::new(out.secret_string().unwrap_or_default().to_owned());
        let ring: Keyring = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: format!("secret {}", self.name(provider)),
            detail: e.to_string(),
        })?;
        if ring.format != KEYRING_FORMAT || ring.provider_id != provider {
            return Err(StoreError::Corrupt {
                path: format!("secret {}", self.name(provider)),
                detail: "unknown format or provider id does not match".into(),
            });
        }
        Ok((ring, out.version_id().map(str::to_owned)))
    }

    async fn write(&self, provider: &str, ring: &Keyring, read_from: Option<&str>) -> StoreResult<Write> {
        let name = self.name(provider);
        let body = Zeroizing::new(
            serde_json::to_string(ring).map_err(|e| StoreError::Corrupt { path: name.clone(), detail: e.to_string() })?,
        );
        let result = match read_from {
            Some(version) => self
                .sm
                .put_secret_value()
                .secret_id(&name)
                .secret_string(body.as_str())
                .client_request_token(token_after(version))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()), sdk_err("write keyring secret", &e))),
            None => {
                let kms = self.kms_key.as_deref().ok_or_else(|| {
                    StoreError::Invalid(format!("provider {provider:?} has no keyring secret yet; pass --kms-key to create {name} encrypted with it"))
                })?;
                self.sm
                    .create_secret()
                    .name(&name)
                    .description(format!("fle keyring of provider {provider} (format: fle docs/keystore.md)"))
                    .kms_key_id(kms)
                    .secret_string(body.as_str())
                    .client_request_token(token_after(&format!("new:{name}")))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()), sdk_err("create keyring secret", &e)))
            }
        };
        match result {
            Ok(()) => Ok(Write::Done),
            Err((true, _)) => Ok(Write::Conflict),
            Err((false, e)) => Err(e),
        }
    }

    /// Read, apply `f`, write back; on a concurrent write, read again and re-apply.
    pub async fn change(&self, provider: &str, mut f: impl FnMut(&mut Keyring) -> StoreResult<()>) -> StoreResult<()> {
        for _ in 0..CAS_ATTEMPTS {
            let (mut ring, version) = self.load(provider).await?;
            f(&mut ring)?;
            if let Write::Done = self.write(provider, &ring, version.as_deref()).await? {
                return Ok(());
            }
        }
        Err(StoreError::Busy(format!("keyring secret {} kept changing under us; retry", self.name(provider))))
    }

    /// Records a claim on rotating `profile`, or fails with Busy if a live claim exists.
    pub async fn claim(&self, provider: &str, profile: &str) -> StoreResult<Claim> {
        let mut nonce = [0u8; 6];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| StoreError::Remote("random number generator failed".into()))?;
        let at = now();
        let claim = Claim {
            profile: profile.to_owned(),
            owner: format!("{}:{}:{}", host(), std::process::id(), nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            expires: humantime::format_rfc3339_seconds(at.checked_add(CLAIM_LEASE).unwrap_or(at)).to_string(),
        };
        self.change(provider, |ring| {
            if let Some(other) = ring.claims.iter().find(|c| c.profile == profile && !stale(c, at)) {
                return Err(StoreError::Busy(format!(
                    "another `fle keys rotate` of profile {profile:?} is running ({}; claim valid until {}); wait for it and rerun",
                    other.owner, other.expires
                )));
            }
            ring.claims.retain(|c| c.profile != profile);
            ring.claims.push(claim.clone());
            Ok(())
        })
        .await?;
        Ok(claim)
    }

    pub async fn release(&self, provider: &str, claim: &Claim) -> StoreResult<()> {
        self.change(provider, |ring| {
            ring.claims.retain(|c| c != claim);
            Ok(())
        })
        .await
    }

    /// Providers with a keyring secret under the prefix.
    pub async fn providers(&self) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self.sm.list_secrets().set_next_token(next.clone()).send().await.map_err(|e| sdk_err("list secrets", &e))?;
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
