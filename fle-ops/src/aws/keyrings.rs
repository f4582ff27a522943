//! Where the AWS backend keeps the providers' keyrings: Secrets Manager (default) or SSM
//! Parameter Store SecureString. Both store the keyring JSON of docs/keystore.md; rotation claims
//! are built on each store's safe read-modify-write.

use std::time::SystemTime;

use super::{secrets::SecretKeyrings, ssm::SsmKeyrings};
use crate::error::{StoreError, StoreResult};
use crate::lease::{self, SystemLiveness, CLAIM_LEASE};
use crate::model::{Claim, KeyringDocument};

#[derive(Debug, Clone)]
pub enum KeyringStore {
    SecretsManager(SecretKeyrings),
    Ssm(SsmKeyrings),
}

/// Parses and checks a stored keyring document (the one parser, `fle_decrypt::document`).
pub fn parse_keyring(text: &str, provider: &str, location: &str) -> StoreResult<KeyringDocument> {
    KeyringDocument::parse_for(text.as_bytes(), provider).map_err(|e| StoreError::Corrupt {
        path: location.to_owned(),
        detail: e.to_string(),
    })
}

impl KeyringStore {
    pub async fn load(&self, provider: &str) -> StoreResult<KeyringDocument> {
        match self {
            Self::SecretsManager(s) => Ok(s.load(provider).await?.0),
            Self::Ssm(s) => s.load(provider).await,
        }
    }

    /// Read, apply `f`, write back, safely against concurrent writers.
    pub async fn change(
        &self,
        provider: &str,
        f: impl FnMut(&mut KeyringDocument) -> StoreResult<()>,
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
            owner: lease::owner(&SystemLiveness)?,
            expires: lease::expiry(at, CLAIM_LEASE),
        };
        self.change(provider, |ring| {
            if let Some(other) = ring.claims.iter().find(|c| c.profile == profile && !lease::is_stale(&c.owner, &c.expires, at, &SystemLiveness)) {
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
