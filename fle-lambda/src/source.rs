//! Where the private keys come from: a [`KeySource`] fetches [`KeyMaterial`], which becomes a
//! [`LoadedKeys`] (a ready [`Keyring`] plus the names of what it holds, for logs).
//!
//! The trait is the seam between the cache's logic (refresh, rate limit, jitter; tested without
//! AWS) and the network ([`crate::aws::AwsKeySource`], tested against moto).

use std::fmt;
use std::future::Future;
use std::time::Instant;

use fle_decrypt::document::{BrokenKey, KeyringDocument};
use fle_decrypt::{Keyring, Padding, PrivateKey, Secret};

/// Fetches the current private keys. Called once at start, then by the cache on a refresh.
pub trait KeySource: Send + Sync {
    /// What to call this source in logs and errors (a kind and an id, never key material).
    fn describe(&self) -> String;

    /// Fetches the keys as they are now.
    ///
    /// # Errors
    /// A [`SourceError`]: the source cannot be reached or refused the call, or what it holds is
    /// not a usable keyring.
    fn fetch(&self) -> impl Future<Output = Result<KeyMaterial, SourceError>> + Send;
}

/// What a source returned, before the keys are parsed.
#[derive(Debug)]
pub enum KeyMaterial {
    /// Keyring documents (one per provider), as `fle` writes them.
    Documents(Vec<KeyringDocument>),
    /// One private key (PEM or DER) with the provider id and key name it decrypts for.
    Single {
        /// The FLE profile's provider id.
        provider_id: String,
        /// The CloudFront public key name.
        key_name: String,
        /// The private key, PEM or DER (zeroized on drop, redacted in `Debug`).
        key: Secret,
    },
}

/// Why a source gave no keys. Messages name the source and the class of failure (an AWS error
/// code, a document path), never a value read from it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The source could not be reached, timed out, or refused the call (access denied, not
    /// found, throttled): the function cannot decrypt until it can.
    #[error("{source_name}: {operation} failed: {reason}")]
    Unavailable {
        /// The source, as [`KeySource::describe`] says.
        source_name: String,
        /// The API operation, e.g. `GetSecretValue`.
        operation: &'static str,
        /// An AWS error code or a transport class (`timeout`, `dispatch failure`).
        reason: String,
    },
    /// The source answered, but not with a usable keyring.
    #[error("{source_name}: {reason}")]
    Invalid {
        /// The source, as [`KeySource::describe`] says.
        source_name: String,
        /// What is wrong, without quoting the content.
        reason: String,
    },
}

/// Provider id and key name of a loaded key: what logs may say about keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId {
    /// The provider id.
    pub provider_id: String,
    /// The key name.
    pub key_name: String,
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider_id, self.key_name)
    }
}

/// A keyring ready to decrypt, with what it holds and when it was fetched.
///
/// Dropping it drops the keyring's private keys: aws-lc frees them with `OPENSSL_free`, which
/// clears the memory first, so a replaced key does not linger.
#[derive(Debug)]
pub struct LoadedKeys {
    keyring: Keyring,
    keys: Vec<KeyId>,
    broken: Vec<BrokenKey>,
    fetched_at: Instant,
}

impl LoadedKeys {
    /// Parses the material's keys into a keyring. A document key that does not parse is left
    /// out and reported in [`LoadedKeys::broken`]; the others load.
    ///
    /// # Errors
    /// [`SourceError::Invalid`] when no key at all could be loaded.
    pub fn from_material(
        material: KeyMaterial,
        source_name: &str,
        fetched_at: Instant,
    ) -> Result<Self, SourceError> {
        let invalid = |reason: String| SourceError::Invalid {
            source_name: source_name.to_owned(),
            reason,
        };
        let mut keyring = Keyring::new();
        let mut keys = Vec::new();
        let mut broken = Vec::new();
        match material {
            KeyMaterial::Documents(docs) => {
                for doc in &docs {
                    let bad = keyring.add_document(doc);
                    keys.extend(
                        doc.keys
                            .iter()
                            .filter(|k| !bad.iter().any(|b| b.key_name == k.key_name))
                            .map(|k| KeyId {
                                provider_id: doc.provider_id.clone(),
                                key_name: k.key_name.clone(),
                            }),
                    );
                    broken.extend(bad);
                }
            }
            KeyMaterial::Single {
                provider_id,
                key_name,
                key,
            } => {
                let key = PrivateKey::from_pem_or_der(key.expose())
                    .map_err(|e| invalid(format!("key {key_name:?}: {e}")))?;
                keyring
                    .add(&provider_id, &key_name, key, Padding::OaepSha256)
                    .map_err(|e| invalid(format!("key {key_name:?}: {e}")))?;
                keys.push(KeyId {
                    provider_id,
                    key_name,
                });
            }
        }
        if keyring.is_empty() {
            return Err(invalid(match broken.first() {
                Some(b) => format!("no usable key ({b})"),
                None => "the keyring holds no key".to_owned(),
            }));
        }
        Ok(Self {
            keyring,
            keys,
            broken,
            fetched_at,
        })
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keys loaded, in document order.
    pub fn keys(&self) -> &[KeyId] {
        &self.keys
    }

    /// Keys of the documents that could not be loaded (by name and class).
    pub fn broken(&self) -> &[BrokenKey] {
        &self.broken
    }

    /// When the source was read.
    pub fn fetched_at(&self) -> Instant {
        self.fetched_at
    }

    /// Whether a key of this provider id and name is held.
    pub fn contains(&self, provider_id: &str, key_name: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.provider_id == provider_id && k.key_name == key_name)
    }
}
