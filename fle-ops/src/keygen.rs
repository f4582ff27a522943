//! RSA-2048 key pairs for CloudFront FLE, and the PEM framing CloudFront and the keystore use.
//!
//! The private key only ever exists as PKCS#8 in zeroizing buffers (aws-lc-rs zeroizes its DER
//! buffer; the PEM text is a [`PrivateKeyPem`]).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey, PublicEncryptingKey};
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::model::PrivateKeyPem;

const PRIVATE_LABEL: &str = "PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";

/// Why a key could not be made or read. Never carries key bytes.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("not a PEM block labelled {0:?}")]
    Pem(&'static str),
    #[error("not a valid RSA key")]
    Rejected,
}

/// A freshly generated pair: the PKCS#8 PEM (secret). The public half is derived from it
/// ([`public_pem_from_private`]) so a resumed run uploads exactly what a fresh one would.
#[derive(Debug)]
pub struct Generated {
    pub private_pem: PrivateKeyPem,
}

/// Generates an RSA-2048 pair.
///
/// # Errors
/// [`KeyError::Generate`] if aws-lc-rs fails.
pub fn generate() -> Result<Generated, KeyError> {
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let pkcs8 = key.as_der().map_err(|_| KeyError::Generate)?;
    Ok(Generated {
        private_pem: PrivateKeyPem::new(pem_encode(PRIVATE_LABEL, pkcs8.as_ref())),
    })
}

/// The SPKI PEM of the public half of a stored private key (to resume an interrupted upload).
///
/// # Errors
/// [`KeyError`] when the PEM is not a PKCS#8 RSA private key.
pub fn public_pem_from_private(private_pem: &PrivateKeyPem) -> Result<String, KeyError> {
    let der = pem_decode(PRIVATE_LABEL, private_pem.expose())?;
    let key = PrivateDecryptingKey::from_pkcs8(&der).map_err(|_| KeyError::Rejected)?;
    public_pem_of(&key)
}

/// The public key to upload for a stored private key, after checking that an existing upload
/// of that name (`existing`) really is its public half: otherwise a profile would encrypt to a
/// key nobody holds.
///
/// # Errors
/// [`StoreError::Invalid`] when the private key is unusable or `existing` is another key.
pub fn public_pem_matching(
    private_pem: &PrivateKeyPem,
    existing: Option<&str>,
    name: &str,
) -> Result<String, StoreError> {
    let pem =
        public_pem_from_private(private_pem).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if let Some(existing) = existing {
        if without_whitespace(existing) != without_whitespace(&pem) {
            return Err(StoreError::Invalid(format!(
                "public key {name:?} exists but is not the public half of the stored private key {name:?}; choose another key name"
            )));
        }
    }
    Ok(pem)
}

fn without_whitespace(pem: &str) -> String {
    pem.chars().filter(|c| !c.is_whitespace()).collect()
}

fn public_pem_of(key: &PrivateDecryptingKey) -> Result<String, KeyError> {
    let spki = key.public_key().as_der().map_err(|_| KeyError::Generate)?;
    Ok(pem_encode(PUBLIC_LABEL, spki.as_ref()))
}

/// The modulus size of an SPKI PEM public key.
///
/// # Errors
/// [`KeyError`] when the text is not an RSA SPKI PEM.
pub fn public_key_bits(public_pem: &str) -> Result<usize, KeyError> {
    let der = pem_decode(PUBLIC_LABEL, public_pem)?;
    let key = PublicEncryptingKey::from_der(&der).map_err(|_| KeyError::Rejected)?;
    Ok(key.key_size_bits())
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest: &str = &b64;
    while !rest.is_empty() {
        let cut = rest.len().min(64);
        let (line, tail) = rest.split_at(cut);
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes the first PEM block with `label`; the result is zeroized on drop.
fn pem_decode(label: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(KeyError::Pem(label))?;
    let after = text
        .get(start + begin.len()..)
        .ok_or(KeyError::Pem(label))?;
    let stop = after.find(&end).ok_or(KeyError::Pem(label))?;
    let body = after.get(..stop).ok_or(KeyError::Pem(label))?;
    let compact: Zeroizing<String> =
        Zeroizing::new(body.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Pem(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_round_trips_and_is_2048() {
        let g = generate().unwrap();
        assert!(g
            .private_pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let public = public_pem_from_private(&g.private_pem).unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(public_key_bits(&public).unwrap(), 2048);
        assert!(!format!("{g:?}").contains("BEGIN PRIVATE"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(public_key_bits("nope").is_err());
        assert!(
            public_key_bits("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n").is_err()
        );
        assert!(
            public_key_bits("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
    }
}
