//! RSA key loading: PEM or DER, PKCS#8 or PKCS#1, on aws-lc-rs.
//!
//! Private-key work stays on aws-lc-rs on purpose: the RustCrypto `rsa` crate carries
//! RUSTSEC-2023-0071 (Marvin timing attack) and a backend decrypts attacker-chosen ciphertexts.
//!
//! PKCS #1 v1.5 unwrapping uses implicit rejection (as OpenSSL 3.2 does by default): a
//! ciphertext that is not validly padded, or does not hold a data key of the expected length,
//! yields a pseudo-random data key derived from the private key and the ciphertext instead of
//! an error, so what follows cannot tell the cases apart (Bleichenbacher).

use crate::error::Error;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::hmac;
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey,
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
};
use base64::Engine as _;
use std::fmt;
use zeroize::Zeroizing;

/// Domain separation for the implicit-rejection HMAC: its key is a hash of the private key,
/// which nothing else here may compute the same way.
const IMPLICIT_REJECTION_LABEL: &[u8] = b"fle-decrypt pkcs1 implicit rejection v1\0";

/// Upper bound on a PEM document we are willing to decode: an RSA-16384 private key in PEM is
/// about 12 KiB, so anything past 64 KiB is not a key.
const MAX_PEM_LEN: usize = 64 * 1024;

/// How the data key was wrapped with RSA. CloudFront uses [`Padding::OaepSha256`] (the
/// default): OAEP with SHA-256 and MGF1-SHA-256, empty label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Padding {
    /// OAEP, SHA-1, MGF1-SHA-1.
    OaepSha1,
    /// OAEP, SHA-256, MGF1-SHA-256 — CloudFront field-level encryption.
    #[default]
    OaepSha256,
    /// OAEP, SHA-384, MGF1-SHA-384.
    OaepSha384,
    /// OAEP, SHA-512, MGF1-SHA-512.
    OaepSha512,
    /// PKCS #1 v1.5 (legacy; accepted for ESDK interoperability only). Unwrapping rejects
    /// implicitly: a badly padded data key becomes a pseudo-random one, never an error.
    Pkcs1,
}

impl Padding {
    /// Every padding, for tools that list them.
    pub const ALL: [Padding; 5] = [
        Padding::OaepSha1,
        Padding::OaepSha256,
        Padding::OaepSha384,
        Padding::OaepSha512,
        Padding::Pkcs1,
    ];

    /// The command-line name: `oaep-sha1`, `oaep-sha256`, `oaep-sha384`, `oaep-sha512`, `pkcs1`.
    pub fn name(self) -> &'static str {
        match self {
            Padding::OaepSha1 => "oaep-sha1",
            Padding::OaepSha256 => "oaep-sha256",
            Padding::OaepSha384 => "oaep-sha384",
            Padding::OaepSha512 => "oaep-sha512",
            Padding::Pkcs1 => "pkcs1",
        }
    }

    /// The padding with this command-line name.
    pub fn from_name(name: &str) -> Option<Padding> {
        Padding::ALL.into_iter().find(|p| p.name() == name)
    }

    pub(crate) fn oaep(self) -> Option<&'static OaepAlgorithm> {
        match self {
            Padding::OaepSha1 => Some(&OAEP_SHA1_MGF1SHA1),
            Padding::OaepSha256 => Some(&OAEP_SHA256_MGF1SHA256),
            Padding::OaepSha384 => Some(&OAEP_SHA384_MGF1SHA384),
            Padding::OaepSha512 => Some(&OAEP_SHA512_MGF1SHA512),
            Padding::Pkcs1 => None,
        }
    }
}

/// An RSA private key (2048 bits or more), parsed and validated. Prints nothing of itself.
pub struct PrivateKey(PrivateDecryptingKey);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(RSA-{}, [redacted])", self.0.key_size_bits())
    }
}

impl PrivateKey {
    /// Parses a PEM private key: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when it is not such a document, not RSA, or under 2048 bits.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let (label, der) = pem_decode(pem)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
            _ => Err(Error::InvalidKey("PEM is not a private key")),
        }
    }

    /// Parses a DER private key, PKCS#8 or PKCS#1.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when it is neither, not RSA, or under 2048 bits.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        Self::from_pkcs8_der(der).or_else(|_| Self::from_pkcs1_der(der))
    }

    /// Parses PEM when the bytes look like PEM, DER otherwise.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pem`] and [`PrivateKey::from_der`].
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, Error> {
        if looks_like_pem(bytes) {
            Self::from_pem(bytes)
        } else {
            Self::from_der(bytes)
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let key = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| Error::InvalidKey("not an RSA private key of 2048 bits or more"))?;
        Ok(Self(key))
    }

    fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        // aws-lc-rs reads PKCS#8 only: wrap the RSAPrivateKey in a PrivateKeyInfo.
        let mut body = Zeroizing::new(Vec::with_capacity(der.len().saturating_add(32)));
        body.extend_from_slice(&[0x02, 0x01, 0x00]); // version 0
        body.extend_from_slice(RSA_ALGORITHM_ID);
        der_push(&mut body, 0x04, der)?;
        let mut pkcs8 = Zeroizing::new(Vec::with_capacity(body.len().saturating_add(4)));
        der_push(&mut pkcs8, 0x30, &body)?;
        Self::from_pkcs8_der(&pkcs8)
    }

    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.0.key_size_bits()
    }

    /// The matching public key, as SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// Only if aws-lc-rs fails to serialise the key.
    pub fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        use aws_lc_rs::encoding::AsDer;
        self.0
            .public_key()
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| Error::InvalidKey("cannot serialise the public key"))
    }

    pub(crate) fn into_unwrapper(self, padding: Padding) -> Result<Unwrapper, Error> {
        let bad = |_| Error::InvalidKey("key cannot be used for this padding");
        Ok(match padding.oaep() {
            Some(alg) => Unwrapper::Oaep(OaepPrivateDecryptingKey::new(self.0).map_err(bad)?, alg),
            None => {
                // HMAC hashes a key longer than its block: the HMAC key is SHA-256 of the
                // PKCS#8 encoding, a secret only the private key's holder can compute. The DER
                // buffer is wiped when dropped.
                let der: Pkcs8V1Der<'static> = self.0.as_der().map_err(bad)?;
                let rejection = Box::new(hmac::Key::new(hmac::HMAC_SHA256, der.as_ref()));
                Unwrapper::Pkcs1(
                    Pkcs1PrivateDecryptingKey::new(self.0).map_err(bad)?,
                    rejection,
                )
            }
        })
    }
}

/// A private key bound to its padding, ready to unwrap data keys.
pub(crate) enum Unwrapper {
    Oaep(OaepPrivateDecryptingKey, &'static OaepAlgorithm),
    /// The key, and the HMAC key that makes implicit-rejection data keys.
    Pkcs1(Pkcs1PrivateDecryptingKey, Box<hmac::Key>),
}

impl Unwrapper {
    /// Unwraps a data key of `key_len` bytes.
    ///
    /// OAEP: every failure is the same [`Error::DecryptionFailed`], and the key is returned at
    /// whatever length it has (the caller checks it). A mauled OAEP ciphertext is valid only
    /// with negligible probability, so skipping one that fails tells an attacker nothing.
    ///
    /// PKCS #1 v1.5: never fails for a `key_len` of at most 32 bytes; see
    /// [`Unwrapper::unwrap_pkcs1`].
    pub(crate) fn unwrap_key(
        &self,
        wrapped: &[u8],
        key_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        match self {
            Unwrapper::Oaep(key, alg) => {
                let mut out = Zeroizing::new(vec![0u8; key.key_size_bytes()]);
                let len = key
                    .decrypt(alg, wrapped, &mut out, None)
                    .map_err(|_| Error::DecryptionFailed)?
                    .len();
                out.truncate(len);
                Ok(out)
            }
            Unwrapper::Pkcs1(key, rejection) => unwrap_pkcs1(key, rejection, wrapped, key_len),
        }
    }
}

/// PKCS #1 v1.5 with implicit rejection: the real data key when the ciphertext is validly
/// padded and holds exactly `key_len` bytes, otherwise the first `key_len` bytes of
/// HMAC-SHA256(SHA-256(private key), label ‖ ciphertext) — deterministic, so a repeated probe
/// gets the same answer, and unpredictable without the private key. Either way the message's
/// header tag then fails or passes exactly as for any wrong or right key.
///
/// Constant time: the synthetic key is computed for every ciphertext, and the choice between
/// it and the decrypted bytes is a mask, not a branch, on the padding validity and the
/// length. Not constant time: aws-lc checks the padding in constant time but reports a bad
/// one by returning early with an error-queue entry, and aws-lc-rs turns that into a
/// `Result`; that path's timing is outside this crate (as with any PKCS #1 v1.5 decryptor
/// built on aws-lc or BoringSSL).
fn unwrap_pkcs1(
    key: &Pkcs1PrivateDecryptingKey,
    rejection: &hmac::Key,
    wrapped: &[u8],
    key_len: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut ctx = hmac::Context::with_key(rejection);
    ctx.update(IMPLICIT_REJECTION_LABEL);
    ctx.update(wrapped);
    let synthetic = ctx.sign();
    if key_len > synthetic.as_ref().len() {
        // No suite has a data key longer than 32 bytes; key_len is public.
        return Err(Error::DecryptionFailed);
    }
    let mut out = Zeroizing::new(vec![0u8; key.key_size_bytes()]);
    let (decrypted, len) = match key.decrypt(wrapped, &mut out) {
        Ok(plaintext) => (1u8, plaintext.len()),
        Err(_) => (0u8, 0),
    };
    let valid = decrypted & equal_mask_bit(len, key_len);
    // 0xff keeps the decrypted bytes, 0x00 the synthetic ones.
    let keep = std::hint::black_box(0u8.wrapping_sub(valid));
    let mut data_key = Zeroizing::new(vec![0u8; key_len]);
    for ((d, real), fake) in data_key.iter_mut().zip(out.iter()).zip(synthetic.as_ref()) {
        *d = (real & keep) | (fake & !keep);
    }
    Ok(data_key)
}

/// 1 when `a == b`, 0 otherwise, computed without a comparison the compiler could branch on.
fn equal_mask_bit(a: usize, b: usize) -> u8 {
    let x = u64::try_from(a ^ b).unwrap_or(u64::MAX);
    // The top bit of x | -x is set exactly when x is not zero.
    let nonzero = (x | x.wrapping_neg()) >> 63;
    u8::try_from(1 ^ nonzero).unwrap_or(0)
}

/// DER of AlgorithmIdentifier { rsaEncryption, NULL }.
pub(crate) const RSA_ALGORITHM_ID: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Appends one DER TLV (definite length, up to 2^24 bytes: far beyond any key).
pub(crate) fn der_push(out: &mut Vec<u8>, tag: u8, content: &[u8]) -> Result<(), Error> {
    let len = content.len();
    out.push(tag);
    let len_bytes = u32::try_from(len)
        .map_err(|_| Error::InvalidKey("key too large"))?
        .to_be_bytes();
    match len {
        0..=0x7f => out.extend_from_slice(len_bytes.get(3..).unwrap_or_default()),
        0x80..=0xff => {
            out.push(0x81);
            out.extend_from_slice(len_bytes.get(3..).unwrap_or_default());
        }
        0x100..=0xffff => {
            out.push(0x82);
            out.extend_from_slice(len_bytes.get(2..).unwrap_or_default());
        }
        0x1_0000..=0xff_ffff => {
            out.push(0x83);
            out.extend_from_slice(len_bytes.get(1..).unwrap_or_default());
        }
        _ => return Err(Error::InvalidKey("key too large")),
    }
    out.extend_from_slice(content);
    Ok(())
}

pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .and_then(|start| bytes.get(start..))
        .is_some_and(|rest| rest.starts_with(b"-----BEGIN "))
}

/// Decodes the first PEM block: its label and its (zeroizing) DER bytes.
pub(crate) fn pem_decode(pem: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), Error> {
    const BAD: Error = Error::InvalidKey("not a PEM document");
    if pem.len() > MAX_PEM_LEN {
        return Err(BAD);
    }
    let text = std::str::from_utf8(pem).map_err(|_| BAD)?;
    let start = text.find("-----BEGIN ").ok_or(BAD)?;
    let after_begin = text.get(start..).ok_or(BAD)?.get(11..).ok_or(BAD)?;
    let (label, rest) = after_begin.split_once("-----").ok_or(BAD)?;
    let end_marker = format!("-----END {label}-----");
    let (body, _) = rest.split_once(end_marker.as_str()).ok_or(BAD)?;
    let mut b64 = Zeroizing::new(String::with_capacity(body.len()));
    for line in body.lines() {
        let line = line.trim();
        if line.contains(':') {
            // RFC 1421 headers (Proc-Type, DEK-Info) mean an encrypted legacy key.
            return Err(Error::InvalidKey("encrypted PEM keys are not supported"));
        }
        b64.push_str(line);
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| BAD)?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_names_round_trip() {
        for p in Padding::ALL {
            assert_eq!(Padding::from_name(p.name()), Some(p));
        }
        assert_eq!(Padding::from_name("oaep"), None);
        assert_eq!(Padding::default(), Padding::OaepSha256);
    }

    #[test]
    fn der_lengths() {
        let mut v = Vec::new();
        der_push(&mut v, 4, &[7; 3]).unwrap();
        assert_eq!(v, [4, 3, 7, 7, 7]);
        let mut v = Vec::new();
        der_push(&mut v, 4, &[0; 200]).unwrap();
        assert_eq!(&v[..3], &[4, 0x81, 200]);
        let mut v = Vec::new();
        der_push(&mut v, 4, &[0; 300]).unwrap();
        assert_eq!(&v[..4], &[4, 0x82, 1, 44]);
    }

    #[test]
    fn equal_mask_bit_is_equality() {
        for (a, b) in [
            (0, 0),
            (31, 32),
            (32, 32),
            (usize::MAX, 0),
            (1 << 63, 0),
            (7, 7),
        ] {
            assert_eq!(equal_mask_bit(a, b), u8::from(a == b), "{a} {b}");
        }
    }

    #[test]
    fn pkcs1_unwrap_rejects_implicitly() {
        use aws_lc_rs::rsa::{KeySize, Pkcs1PublicEncryptingKey};
        let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let public = Pkcs1PublicEncryptingKey::new(private.public_key()).unwrap();
        let other = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
        let unwrapper = PrivateKey(private).into_unwrapper(Padding::Pkcs1).unwrap();
        let other = PrivateKey(other).into_unwrapper(Padding::Pkcs1).unwrap();
        let wrap = |key: &[u8]| {
            let mut out = vec![0u8; public.ciphertext_size()];
            public.encrypt(key, &mut out).unwrap().to_vec()
        };
        let data_key = [0x5a; 32];
        // A valid wrap of the expected length gives the real key.
        let good = wrap(&data_key);
        assert_eq!(&unwrapper.unwrap_key(&good, 32).unwrap()[..], &data_key);
        // Anything else gives a key of the expected length that is deterministic, depends on
        // the ciphertext and on the private key, and is not the wrapped value.
        let short = wrap(&data_key[..31]);
        let garbage = vec![0x01; 256];
        for (bad, len) in [(&good, 16), (&short, 32), (&garbage, 32), (&garbage, 24)] {
            let k = unwrapper.unwrap_key(bad, len).unwrap();
            assert_eq!(k.len(), len);
            assert_eq!(k, unwrapper.unwrap_key(bad, len).unwrap());
            assert_ne!(k, other.unwrap_key(bad, len).unwrap());
            assert_ne!(&k[..], &data_key[..len]);
        }
        assert_ne!(
            unwrapper.unwrap_key(&short, 32).unwrap(),
            unwrapper.unwrap_key(&garbage, 32).unwrap()
        );
        // No suite has a longer data key; the length is public.
        assert_eq!(
            unwrapper.unwrap_key(&good, 33).unwrap_err(),
            Error::DecryptionFailed
        );
    }

    #[test]
    fn garbage_is_refused_without_echoing_it() {
        for input in [
            &b""[..],
            b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
            &[0x30, 0x82, 0xff, 0xff],
        ] {
            let err = PrivateKey::from_pem_or_der(input).unwrap_err();
            assert!(matches!(err, Error::InvalidKey(_)), "{err:?}");
            assert!(!err.to_string().contains("AAAA"));
        }
    }
}
