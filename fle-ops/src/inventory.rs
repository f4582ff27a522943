//! What a store holds, joined across its parts: each key with its private half (which keyring),
//! its public half (which CloudFront public key) and the profiles that encrypt with it; and the
//! resolution of a key name to what a profile entity needs (public key id and provider).

use crate::backend::{public_key_by_name, Backend};
use crate::error::StoreError;
use crate::model::{KeyStatus, KeyringDocument, Profile, PublicKey};

/// One key as the store knows it: the private half, the public half, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's name (the public key's name in CloudFront, the key name in the keyring).
    pub name: String,
    /// The provider whose keyring holds the private key; `None` if no keyring has it.
    pub provider: Option<String>,
    /// The CloudFront public key id; `None` if not uploaded (yet, or any more).
    pub public_key_id: Option<String>,
    /// The private key's status; `None` without a private key.
    pub status: Option<KeyStatus>,
    /// When the private key may be removed (RFC 3339), if retirement is scheduled.
    pub retire_after: Option<String>,
    /// The private key's creation time, else the public key's.
    pub created: Option<String>,
    /// Names of the profiles that encrypt with this key's public key.
    pub used_by: Vec<String>,
    /// Why the private key cannot be used (e.g. a truncated PEM), as a class: never key
    /// material. Backends skip such a key and load the others.
    pub broken: Option<String>,
    /// For a `pending` key: the profile whose interrupted rotation stored it.
    pub rotating_profile: Option<String>,
}

/// Every key of the store, sorted by name: those with a private key (one entry per keyring
/// holding it), then public keys whose private key no keyring holds.
///
/// # Errors
/// The first [`StoreError`] of the listings.
pub fn keys(b: &dyn Backend) -> Result<Vec<KeyInfo>, StoreError> {
    let publics = b.list_public_keys()?;
    let profiles = b.list_profiles()?;
    Ok(join(&publics, &profiles, &keyrings(b)?))
}

/// Every provider's keyring.
///
/// # Errors
/// The first [`StoreError`] of the reads.
pub fn keyrings(b: &dyn Backend) -> Result<Vec<KeyringDocument>, StoreError> {
    b.list_providers()?
        .iter()
        .map(|p| b.load_keyring(p))
        .collect()
}

/// [`keys`] over listings the caller already holds (so a caller that needs them too, such as
/// `fle status`, reads the store once).
pub fn join(
    publics: &[PublicKey],
    profiles: &[Profile],
    rings: &[KeyringDocument],
) -> Vec<KeyInfo> {
    let used_by = |id: &str| -> Vec<String> {
        profiles
            .iter()
            .filter(|p| {
                p.config
                    .encryption_entities
                    .iter()
                    .any(|e| e.public_key_id == id)
            })
            .map(|p| p.config.name.clone())
            .collect()
    };
    let mut keys: Vec<KeyInfo> = Vec::new();
    for ring in rings {
        let provider = &ring.provider_id;
        let broken = ring.broken_keys();
        for k in &ring.keys {
            let pk = publics.iter().find(|p| p.config.name == k.key_name);
            keys.push(KeyInfo {
                name: k.key_name.clone(),
                provider: Some(provider.clone()),
                public_key_id: pk.map(|p| p.id.clone()),
                status: Some(k.status),
                retire_after: k.retire_after.clone(),
                created: Some(k.created.clone()),
                used_by: pk.map(|p| used_by(&p.id)).unwrap_or_default(),
                broken: broken
                    .iter()
                    .find(|x| x.key_name == k.key_name)
                    .map(|x| x.error.to_string()),
                rotating_profile: k
                    .rotation
                    .as_ref()
                    .filter(|_| k.status == KeyStatus::Pending)
                    .map(|r| r.profile.clone()),
            });
        }
    }
    for pk in publics {
        if !keys.iter().any(|k| k.name == pk.config.name) {
            keys.push(KeyInfo {
                name: pk.config.name.clone(),
                provider: None,
                public_key_id: Some(pk.id.clone()),
                status: None,
                retire_after: None,
                created: Some(pk.created_time.clone()),
                used_by: used_by(&pk.id),
                broken: None,
                rotating_profile: None,
            });
        }
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    keys
}

/// What a profile's encryption entity needs to encrypt with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBinding {
    /// The CloudFront public key id.
    pub public_key_id: String,
    /// The provider whose keyring holds (or, with no keyring holding it, is said to hold) the
    /// private key.
    pub provider_id: String,
}

/// Why a key cannot be bound to a profile entity.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No CloudFront public key has this name.
    #[error("no public key named {key:?}")]
    NoPublicKey { key: String },
    /// The caller named a provider, but the private key is in other providers' keyrings: a
    /// backend loading the named provider could not decrypt.
    #[error("the private key {key:?} is in provider {}'s keyring, not {asked:?}", holders.join(", "))]
    WrongProvider {
        key: String,
        asked: String,
        holders: Vec<String>,
    },
    /// No keyring holds the private key and no provider was named.
    #[error("key {key:?} has no private key in the store")]
    NoPrivateKey { key: String },
    /// Several keyrings hold the private key and no provider was named.
    #[error("key {key:?} is in several keyrings ({})", holders.join(", "))]
    SeveralProviders { key: String, holders: Vec<String> },
}

/// Resolves a key name to its public key id and the provider whose keyring holds its private
/// key. `provider`, when given, must be one of the keyrings holding the key (or any provider
/// when no keyring of this store holds it: the private key may live elsewhere).
///
/// # Errors
/// A [`BindingError`] naming the key and the keyrings involved.
pub fn bind_key(
    b: &dyn Backend,
    key: &str,
    provider: Option<&str>,
) -> Result<KeyBinding, BindingError> {
    let pk = public_key_by_name(b, key)?.ok_or_else(|| BindingError::NoPublicKey {
        key: key.to_owned(),
    })?;
    let mut holders = Vec::new();
    for p in b.list_providers()? {
        if b.load_keyring(&p)?.get(key).is_some() {
            holders.push(p);
        }
    }
    let provider_id = match (provider, holders.as_slice()) {
        (Some(p), hs) if hs.is_empty() || hs.iter().any(|h| h == p) => p.to_owned(),
        (Some(p), _) => {
            return Err(BindingError::WrongProvider {
                key: key.to_owned(),
                asked: p.to_owned(),
                holders,
            })
        }
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(BindingError::NoPrivateKey {
                key: key.to_owned(),
            })
        }
        (None, _) => {
            return Err(BindingError::SeveralProviders {
                key: key.to_owned(),
                holders,
            })
        }
    };
    Ok(KeyBinding {
        public_key_id: pk.id,
        provider_id,
    })
}
