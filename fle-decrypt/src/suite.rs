//! The AWS Encryption SDK algorithm suites and the key derivation each one uses.

use crate::error::Error;
use aws_lc_rs::{aead, hkdf, signature};
use zeroize::Zeroizing;

/// An algorithm suite, by its two-byte ID.
///
/// CloudFront's choice is undocumented; launch-era ESDK defaults were
/// [`Suite::Aes256HkdfSha384EcdsaP384`] (`0x0378`), which is what [`Suite::default`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Suite {
    /// 0x0014: AES-128-GCM, data key used directly.
    Aes128Gcm,
    /// 0x0046: AES-192-GCM, data key used directly.
    Aes192Gcm,
    /// 0x0078: AES-256-GCM, data key used directly.
    Aes256Gcm,
    /// 0x0114: AES-128-GCM, HKDF-SHA256.
    Aes128HkdfSha256,
    /// 0x0146: AES-192-GCM, HKDF-SHA256.
    Aes192HkdfSha256,
    /// 0x0178: AES-256-GCM, HKDF-SHA256.
    Aes256HkdfSha256,
    /// 0x0214: AES-128-GCM, HKDF-SHA256, ECDSA P-256.
    Aes128HkdfSha256EcdsaP256,
    /// 0x0346: AES-192-GCM, HKDF-SHA384, ECDSA P-384.
    Aes192HkdfSha384EcdsaP384,
    /// 0x0378: AES-256-GCM, HKDF-SHA384, ECDSA P-384 (message format v1).
    #[default]
    Aes256HkdfSha384EcdsaP384,
    /// 0x0478: AES-256-GCM, HKDF-SHA512 with key commitment (message format v2).
    Aes256HkdfSha512Commit,
    /// 0x0578: AES-256-GCM, HKDF-SHA512 with key commitment, ECDSA P-384 (message format v2).
    Aes256HkdfSha512CommitEcdsaP384,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kdf {
    Identity,
    HkdfSha256,
    HkdfSha384,
    /// v2: HKDF-SHA512, salt = message ID, separate commitment key.
    HkdfSha512Commit,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Signing {
    P256,
    P384,
}

impl Signing {
    pub(crate) fn verification(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            Signing::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Signing::P384 => &signature::ECDSA_P384_SHA384_ASN1,
        }
    }

    #[cfg(feature = "encrypt")]
    pub(crate) fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Signing::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Signing::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }
}

/// Length of the AES-GCM IV every suite uses.
pub(crate) const IV_LEN: usize = 12;
/// Length of the AES-GCM tag every suite uses.
pub(crate) const TAG_LEN: usize = 16;
/// Length of the v2 commitment key carried in the header.
pub(crate) const COMMITMENT_LEN: usize = 32;

impl Suite {
    /// Every suite, in ID order.
    pub const ALL: [Suite; 11] = [
        Suite::Aes128Gcm,
        Suite::Aes192Gcm,
        Suite::Aes256Gcm,
        Suite::Aes128HkdfSha256,
        Suite::Aes192HkdfSha256,
        Suite::Aes256HkdfSha256,
        Suite::Aes128HkdfSha256EcdsaP256,
        Suite::Aes192HkdfSha384EcdsaP384,
        Suite::Aes256HkdfSha384EcdsaP384,
        Suite::Aes256HkdfSha512Commit,
        Suite::Aes256HkdfSha512CommitEcdsaP384,
    ];

    /// The suite's two-byte ID as it appears in the message header.
    pub fn id(self) -> u16 {
        match self {
            Suite::Aes128Gcm => 0x0014,
            Suite::Aes192Gcm => 0x0046,
            Suite::Aes256Gcm => 0x0078,
            Suite::Aes128HkdfSha256 => 0x0114,
            Suite::Aes192HkdfSha256 => 0x0146,
            Suite::Aes256HkdfSha256 => 0x0178,
            Suite::Aes128HkdfSha256EcdsaP256 => 0x0214,
            Suite::Aes192HkdfSha384EcdsaP384 => 0x0346,
            Suite::Aes256HkdfSha384EcdsaP384 => 0x0378,
            Suite::Aes256HkdfSha512Commit => 0x0478,
            Suite::Aes256HkdfSha512CommitEcdsaP384 => 0x0578,
        }
    }

    /// The suite with this ID.
    ///
    /// # Errors
    /// [`Error::UnsupportedSuite`] for any other ID.
    pub fn from_id(id: u16) -> Result<Suite, Error> {
        Suite::ALL
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or(Error::UnsupportedSuite(id))
    }

    /// The message format version the suite belongs to (1 or 2).
    pub fn message_version(self) -> u8 {
        match self.kdf() {
            Kdf::HkdfSha512Commit => 2,
            _ => 1,
        }
    }

    /// Whether messages of this suite end with an ECDSA signature.
    pub fn is_signed(self) -> bool {
        self.signing().is_some()
    }

    pub(crate) fn aead(self) -> &'static aead::Algorithm {
        match self.key_len() {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            _ => &aead::AES_256_GCM,
        }
    }

    /// Data key length in bytes (= AES key length).
    pub(crate) fn key_len(self) -> usize {
        match self {
            Suite::Aes128Gcm | Suite::Aes128HkdfSha256 | Suite::Aes128HkdfSha256EcdsaP256 => 16,
            Suite::Aes192Gcm | Suite::Aes192HkdfSha256 | Suite::Aes192HkdfSha384EcdsaP384 => 24,
            _ => 32,
        }
    }

    pub(crate) fn kdf(self) -> Kdf {
        match self {
            Suite::Aes128Gcm | Suite::Aes192Gcm | Suite::Aes256Gcm => Kdf::Identity,
            Suite::Aes128HkdfSha256
            | Suite::Aes192HkdfSha256
            | Suite::Aes256HkdfSha256
            | Suite::Aes128HkdfSha256EcdsaP256 => Kdf::HkdfSha256,
            Suite::Aes192HkdfSha384EcdsaP384 | Suite::Aes256HkdfSha384EcdsaP384 => Kdf::HkdfSha384,
            Suite::Aes256HkdfSha512Commit | Suite::Aes256HkdfSha512CommitEcdsaP384 => {
                Kdf::HkdfSha512Commit
            }
        }
    }

    pub(crate) fn signing(self) -> Option<Signing> {
        match self {
            Suite::Aes128HkdfSha256EcdsaP256 => Some(Signing::P256),
            Suite::Aes192HkdfSha384EcdsaP384
            | Suite::Aes256HkdfSha384EcdsaP384
            | Suite::Aes256HkdfSha512CommitEcdsaP384 => Some(Signing::P384),
            _ => None,
        }
    }

    /// Message ID length: 16 bytes in format v1, 32 in v2.
    pub(crate) fn message_id_len(self) -> usize {
        if self.message_version() == 2 {
            32
        } else {
            16
        }
    }
}

/// Keys derived from a data key for one message.
pub(crate) struct DerivedKey {
    pub(crate) aead: aead::LessSafeKey,
    /// v2 only: the commitment key the header must carry.
    pub(crate) commitment: Option<Zeroizing<[u8; COMMITMENT_LEN]>>,
}

struct OkmLen(usize);
impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf(
    alg: hkdf::Algorithm,
    salt: &[u8],
    ikm: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), Error> {
    hkdf::Salt::new(alg, salt)
        .extract(ikm)
        .expand(info, OkmLen(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| Error::DecryptionFailed)
}

/// Derives the content key (and, in v2, the commitment key) as the ESDK specification's
/// "transitive requirements" define: HKDF info = suite ID ‖ message ID in v1; in v2, salt =
/// message ID, info = suite ID ‖ "DERIVEKEY" and "COMMITKEY".
pub(crate) fn derive(
    suite: Suite,
    data_key: &[u8],
    message_id: &[u8],
) -> Result<DerivedKey, Error> {
    if data_key.len() != suite.key_len() {
        return Err(Error::DecryptionFailed);
    }
    let id = suite.id().to_be_bytes();
    let mut key = Zeroizing::new([0u8; 32]);
    let key = key
        .get_mut(..suite.key_len())
        .ok_or(Error::DecryptionFailed)?;
    let mut commitment = None;
    match suite.kdf() {
        Kdf::Identity => key.copy_from_slice(data_key),
        Kdf::HkdfSha256 => hkdf(hkdf::HKDF_SHA256, &[], data_key, &[&id, message_id], key)?,
        Kdf::HkdfSha384 => hkdf(hkdf::HKDF_SHA384, &[], data_key, &[&id, message_id], key)?,
        Kdf::HkdfSha512Commit => {
            hkdf(
                hkdf::HKDF_SHA512,
                message_id,
                data_key,
                &[&id, b"DERIVEKEY"],
                key,
            )?;
            let mut ck = Zeroizing::new([0u8; COMMITMENT_LEN]);
            hkdf(
                hkdf::HKDF_SHA512,
                message_id,
                data_key,
                &[b"COMMITKEY"],
                &mut ck[..],
            )?;
            commitment = Some(ck);
        }
    }
    let unbound = aead::UnboundKey::new(suite.aead(), key).map_err(|_| Error::DecryptionFailed)?;
    Ok(DerivedKey {
        aead: aead::LessSafeKey::new(unbound),
        commitment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ids_are_refused() {
        for s in Suite::ALL {
            assert_eq!(Suite::from_id(s.id()), Ok(s));
        }
        assert_eq!(Suite::from_id(0x0379), Err(Error::UnsupportedSuite(0x0379)));
        assert_eq!(Suite::default().id(), 0x0378);
    }

    #[test]
    fn format_versions_and_signing() {
        let v2: Vec<u16> = Suite::ALL
            .iter()
            .filter(|s| s.message_version() == 2)
            .map(|s| s.id())
            .collect();
        assert_eq!(v2, [0x0478, 0x0578]);
        let signed: Vec<u16> = Suite::ALL
            .iter()
            .filter(|s| s.is_signed())
            .map(|s| s.id())
            .collect();
        assert_eq!(signed, [0x0214, 0x0346, 0x0378, 0x0578]);
    }

    #[test]
    fn wrong_data_key_length_is_a_crypto_failure() {
        assert!(matches!(
            derive(Suite::Aes256Gcm, &[0; 16], &[0; 16]),
            Err(Error::DecryptionFailed)
        ));
    }
}
