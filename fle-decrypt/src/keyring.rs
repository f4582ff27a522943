//! A raw-RSA keyring holding every key a backend may need during a rotation.

use crate::error::Error;
use crate::keys::{Padding, PrivateKey, Unwrapper};
use crate::limits::Limits;
use crate::message;
use crate::secret::Secret;
use crate::suite::Suite;
use std::fmt;

struct Entry {
    provider_id: String,
    key_name: String,
    unwrapper: Unwrapper,
}

/// (provider ID, key name) → private key entries. During a rotation it holds the current and
/// the previous key, and every encrypted data key matching any entry is tried — except after a
/// PKCS #1 v1.5 one, which never fails to unwrap (implicit rejection) and so is final.
///
/// ```
/// # fn demo(pem: &[u8], message: &[u8]) -> Result<(), fle_decrypt::Error> {
/// use fle_decrypt::{Keyring, Padding, PrivateKey};
/// let mut keyring = Keyring::new();
/// keyring.add("checkout", "checkout-key-2026-11", PrivateKey::from_pem(pem)?, Padding::OaepSha256)?;
/// let decrypted = keyring.decrypt(message)?;
/// println!("decrypted with {}", decrypted.key_name()); // never print the plaintext
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Keyring {
    entries: Vec<Entry>,
    limits: Limits,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "keys",
                &self
                    .entries
                    .iter()
                    .map(|e| (e.provider_id.as_str(), e.key_name.as_str()))
                    .collect::<Vec<_>>(),
            )
            .field("limits", &self.limits)
            .finish()
    }
}

/// A decrypted message: the plaintext (a [`Secret`]) and which key opened it.
#[derive(Debug)]
pub struct Decrypted {
    plaintext: Secret,
    provider_id: String,
    key_name: String,
    suite: Suite,
    encryption_context: Vec<(String, String)>,
}

impl Decrypted {
    /// The plaintext.
    pub fn plaintext(&self) -> &Secret {
        &self.plaintext
    }
    /// Takes the plaintext out.
    pub fn into_plaintext(self) -> Secret {
        self.plaintext
    }
    /// Provider ID of the key that unwrapped the data key.
    pub fn provider_id(&self) -> &str {
        &self.provider_id
    }
    /// Name of the key that unwrapped the data key (tells whether traffic still uses an old key).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }
    /// The message's algorithm suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }
    /// The message's encryption context (authenticated), as (key, value) pairs.
    pub fn encryption_context(&self) -> &[(String, String)] {
        &self.encryption_context
    }
}

impl Keyring {
    /// An empty keyring with default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the parsing limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The parsing limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Adds a key for messages whose encrypted data key names this provider ID and key name.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when the same (provider ID, key name) is already present: two
    /// keys under one name would make the outcome depend on insertion order.
    pub fn add(
        &mut self,
        provider_id: &str,
        key_name: &str,
        key: PrivateKey,
        padding: Padding,
    ) -> Result<(), Error> {
        if self
            .entries
            .iter()
            .any(|e| e.provider_id == provider_id && e.key_name == key_name)
        {
            return Err(Error::InvalidKey(
                "duplicate (provider id, key name) in keyring",
            ));
        }
        self.entries.push(Entry {
            provider_id: provider_id.to_owned(),
            key_name: key_name.to_owned(),
            unwrapper: key.into_unwrapper(padding)?,
        });
        Ok(())
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the keyring holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys held, as (provider id, key name) pairs: names only, for messages like "the
    /// keyring holds …".
    pub fn key_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (e.provider_id.as_str(), e.key_name.as_str()))
    }

    /// The keys a message asks for: the (provider id, key name) of each of its encrypted data
    /// keys, read from the header (plaintext by design: CloudFront writes its provider id and
    /// public key name there). For saying which key a [`Error::NoMatchingKey`] message needs.
    ///
    /// # Errors
    /// The header does not parse ([`Error::Malformed`] and friends).
    pub fn requested_keys(&self, message: &[u8]) -> Result<Vec<(String, String)>, Error> {
        let parsed = message::parse(message, &self.limits)?;
        Ok(parsed
            .header
            .edks
            .iter()
            .map(|edk| {
                (
                    String::from_utf8_lossy(edk.provider_id).into_owned(),
                    String::from_utf8_lossy(edk.provider_info).into_owned(),
                )
            })
            .collect())
    }

    /// The most RSA operations decrypting this message may cost: its encrypted data keys that
    /// name a key held here. Parses the message (cheap), does no RSA work.
    pub(crate) fn rsa_operations(&self, message: &[u8]) -> Result<usize, Error> {
        let parsed = message::parse(message, &self.limits)?;
        Ok(parsed
            .header
            .edks
            .iter()
            .filter(|edk| self.entry_for(edk).is_some())
            .count())
    }

    fn entry_for(&self, edk: &message::Edk<'_>) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.provider_id.as_bytes() == edk.provider_id
                && e.key_name.as_bytes() == edk.provider_info
        })
    }

    /// Decrypts one AWS Encryption SDK message (raw bytes, not base64).
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::UnsupportedSuite`] or [`Error::LimitExceeded`] before any
    /// key is used; [`Error::NoMatchingKey`] when no encrypted data key names a key held here;
    /// [`Error::DecryptionFailed`] for every cryptographic failure.
    pub fn decrypt(&self, message: &[u8]) -> Result<Decrypted, Error> {
        let parsed = message::parse(message, &self.limits)?;
        let mut matched = false;
        for edk in &parsed.header.edks {
            // (provider ID, key name) is unique in a keyring: at most one entry per EDK.
            if let Some(entry) = self.entry_for(edk) {
                matched = true;
                let key_len = parsed.header.suite.key_len();
                // An OAEP failure goes on to the next EDK; PKCS #1 v1.5 never fails here
                // (implicit rejection, `keys.rs`), so its first matching EDK is final.
                let Ok(data_key) = entry.unwrapper.unwrap_key(edk.wrapped_key, key_len) else {
                    continue;
                };
                if data_key.len() != key_len {
                    continue;
                }
                // The first data key obtained is the message's data key: a failure from here
                // on is final, as the ESDK specification requires.
                let plaintext = parsed.verify(&data_key)?.decrypt_body()?;
                return Ok(Decrypted {
                    plaintext: Secret::new(plaintext),
                    provider_id: entry.provider_id.clone(),
                    key_name: entry.key_name.clone(),
                    suite: parsed.header.suite,
                    encryption_context: parsed
                        .header
                        .context
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                });
            }
        }
        Err(if matched {
            Error::DecryptionFailed
        } else {
            Error::NoMatchingKey
        })
    }
}
