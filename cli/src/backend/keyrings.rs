//! Where the AWS backend keeps the providers' keyrings: Secrets Manager (default) or SSM
//! Parameter Store SecureString. Both store the keyring JSON of docs/keystore.md; rotation claims
//! are built on each store's safe read-modify-write.

use std::time::{Duration, SystemTime};

use super::{secrets::SecretKeyrings, ssm::SsmKeyrings};
use crate::keystore::model::{Claim, Keyring, KEYRING_FORMAT};
use crate::keystore::{StoreError, StoreResult};

/// How long a rotation claim stays valid without its owner.
const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone)]
pub enum KeyringStore {
    SecretsManager(SecretKeyrings),
    Ssm(SsmKeyrings),
}

/// Parses and checks a stored keyring document.
pub fn parse_keyring(text: &str, provider: &str, location: &str) -> StoreResult<Keyring> {
    let ring: Keyring = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        path: location.to_owned(),
        detail: e.to_string(),
    })?;
    if ring.format != KEYRING_FORMAT || ring.provider_id != provider {
        return Err(StoreError::Corrupt {
            path: location.to_owned(),
            detail: "unknown format or provider id does not match".into(),
        });
    }
    Ok(ring)
}

pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// A random hex nonce for lock and claim owners.
pub fn nonce() -> StoreResult<String> {
    let mut b = [0u8; 6];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| StoreError::Remote("random number generator failed".into()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Whether a claim or lock can be ignored: expired, or taken on this host by a process that is gone.
pub fn stale(owner: &str, expires: &str, at: SystemTime) -> bool {
    let expired = humantime::parse_rfc3339(expires)
        .map(|t| t <= at)
        .unwrap_or(true);
    let mut parts = owner.splitn(3, ':');
    let (h, pid) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let dead_here =
        h == host() && !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists();
    expired || dead_here
}

impl KeyringStore {
    pub async fn load(&self, provider: &str) -> StoreResult<Keyring> {
        match self {
            Self::SecretsManager(s) => Ok(s.load(provider).await?.0),
            Self::Ssm(s) => s.load(provider).await,
        }
    }

    /// Read, apply `f`, write back, safely against concurrent writers.
    pub async fn change(
        &self,
        provider: &str,
        f: impl FnMut(&mut Keyring) -> StoreResult<()>,
    ) -> StoreResult<()> {
        match self {
            Self::SecretsManager(s) => s.change(provider, f).await,
            Self::Ssm(s) => s.change(provider, f).await,
        }
    }

    pub async fn providers(&self) -> StoreResult<Vec<String>> {
        match self {
            Self::SecretsManager(s) => s.providers().await,
            Self::Ssm(s) => s.providers().await,
        }
    }

    /// Records a claim on rotating `profile`, or fails with Busy if a live claim exists.
    pub async fn claim(&self, provider: &str, profile: &str) -> StoreResult<Claim> {
        let at = SystemTime::now();
        let claim = Claim {
            profile: profile.to_owned(),
            owner: format!("{}:{}:{}", host(), std::process::id(), nonce()?),
            expires: humantime::format_rfc3339_seconds(at.checked_add(CLAIM_LEASE).unwrap_or(at))
                .to_string(),
        };
        self.change(provider, |ring| {
            if let Some(other) = ring.claims.iter().find(|c| c.profile == profile && !stale(&c.owner, &c.expires, at)) {
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
}
