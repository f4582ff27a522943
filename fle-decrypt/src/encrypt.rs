//! Make messages exactly as CloudFront field-level encryption does (feature `encrypt`).
//!
//! For the CLI's `fle encrypt`, for local emulation of CloudFront and for tests. A backend
//! only decrypts and does not need this module.

use crate::error::Error;
use crate::form::{self, FieldPatterns};
use crate::keys::{self, Padding};
use crate::message::{body_aad, kind_frame, kind_single_block, PUBLIC_KEY_CONTEXT_KEY};
use crate::suite::{self, Suite, IV_LEN};
use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyCompressedBin};
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::rsa::{OaepPublicEncryptingKey, Pkcs1PublicEncryptingKey, PublicEncryptingKey};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::{aead, signature};
use base64::Engine as _;
use zeroize::Zeroizing;

/// CloudFront's frame length (the ESDK default).
pub const DEFAULT_FRAME_LENGTH: u32 = 4096;

/// An RSA public key (SubjectPublicKeyInfo), as CloudFront stores it.
pub struct PublicKey(PublicEncryptingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(RSA-{})", self.0.key_size_bits())
    }
}

impl PublicKey {
    /// Parses a PEM public key: `PUBLIC KEY` (SPKI, what CloudFront takes) or `RSA PUBLIC KEY`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when it is not an RSA public key of 2048 bits or more.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let (label, der) = keys::pem_decode(pem)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_der(&der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
            _ => Err(Error::InvalidKey("PEM is not a public key")),
        }
    }

    /// Parses SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] when it is not an RSA public key of 2048 bits or more.
    pub fn from_der(spki: &[u8]) -> Result<Self, Error> {
        PublicEncryptingKey::from_der(spki)
            .map(Self)
            .map_err(|_| Error::InvalidKey("not an RSA public key of 2048 bits or more"))
    }

    fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        let mut bits = vec![0u8];
        bits.extend_from_slice(der);
        let mut body = keys::RSA_ALGORITHM_ID.to_vec();
        keys::der_push(&mut body, 0x03, &bits)?;
        let mut spki = Vec::new();
        keys::der_push(&mut spki, 0x30, &body)?;
        Self::from_der(&spki)
    }

    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.0.key_size_bits()
    }
}

enum Wrapper {
    Oaep(OaepPublicEncryptingKey, Padding),
    Pkcs1(Pkcs1PublicEncryptingKey),
}

/// Encrypts values into ESDK messages for one (provider ID, key name), as CloudFront does.
///
/// Defaults are CloudFront's: suite `0x0378`, framed with 4096-byte frames, RSA-OAEP-SHA256,
/// an encryption context holding only the signature verification key.
pub struct Encryptor {
    wrapper: Wrapper,
    provider_id: String,
    key_name: String,
    suite: Suite,
    frame_length: u32,
    context: Vec<(String, String)>,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor")
            .field("provider_id", &self.provider_id)
            .field("key_name", &self.key_name)
            .field("suite", &self.suite)
            .field("frame_length", &self.frame_length)
            .finish_non_exhaustive()
    }
}

impl Encryptor {
    /// An encryptor with CloudFront's defaults.
    ///
    /// # Errors
    /// Only if aws-lc-rs refuses the key for OAEP.
    pub fn new(key: PublicKey, provider_id: &str, key_name: &str) -> Result<Self, Error> {
        Self::with_padding(key, provider_id, key_name, Padding::OaepSha256)
    }

    /// An encryptor wrapping data keys with another padding (for interoperability tests).
    ///
    /// # Errors
    /// Only if aws-lc-rs refuses the key for that padding.
    pub fn with_padding(
        key: PublicKey,
        provider_id: &str,
        key_name: &str,
        padding: Padding,
    ) -> Result<Self, Error> {
        let bad = |_| Error::InvalidKey("key cannot be used for this padding");
        let wrapper = match padding.oaep() {
            Some(_) => Wrapper::Oaep(OaepPublicEncryptingKey::new(key.0).map_err(bad)?, padding),
            None => Wrapper::Pkcs1(Pkcs1PublicEncryptingKey::new(key.0).map_err(bad)?),
        };
        Ok(Self {
            wrapper,
            provider_id: provider_id.to_owned(),
            key_name: key_name.to_owned(),
            suite: Suite::default(),
            frame_length: DEFAULT_FRAME_LENGTH,
            context: Vec::new(),
        })
    }

    /// Chooses the algorithm suite.
    #[must_use]
    pub fn suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self
    }

    /// Chooses the frame length; 0 makes a single-block (non-framed) body.
    #[must_use]
    pub fn frame_length(mut self, frame_length: u32) -> Self {
        self.frame_length = frame_length;
        self
    }

    /// Adds encryption-context pairs (CloudFront adds none; tests use this).
    #[must_use]
    pub fn encryption_context(mut self, pairs: &[(&str, &str)]) -> Self {
        self.context.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self
    }

    /// Encrypts one value into a raw ESDK message.
    ///
    /// # Errors
    /// [`Error::InvalidForm`] for an encryption context with a reserved or duplicate key or
    /// one too large to serialise; [`Error::InvalidKey`] if RSA refuses the data key.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let suite = self.suite;
        let rng = SystemRandom::new();
        let fail = |_| Error::InvalidKey("cryptographic operation failed");

        let mut message_id = vec![0u8; suite.message_id_len()];
        rand::fill(&mut message_id).map_err(fail)?;
        let mut data_key = Zeroizing::new(vec![0u8; suite.key_len()]);
        rand::fill(&mut data_key).map_err(fail)?;

        let signer = match suite.signing() {
            Some(alg) => Some(signature::EcdsaKeyPair::generate(alg.signing()).map_err(fail)?),
            None => None,
        };
        let mut context = self.context.clone();
        if context.iter().any(|(k, _)| k.starts_with("aws-crypto-")) {
            return Err(Error::InvalidForm(
                "encryption context keys starting aws-crypto- are reserved",
            ));
        }
        if let Some(signer) = &signer {
            let point: EcPublicKeyCompressedBin<'_> =
                signer.public_key().as_be_bytes().map_err(fail)?;
            context.push((
                PUBLIC_KEY_CONTEXT_KEY.to_owned(),
                base64::engine::general_purpose::STANDARD.encode(point.as_ref()),
            ));
        }
        context.sort();
        if context
            .windows(2)
            .any(|w| w.first().map(|p| &p.0) == w.get(1).map(|p| &p.0))
        {
            return Err(Error::InvalidForm("duplicate encryption context key"));
        }

        let wrapped = self.wrap(&data_key)?;
        let key = suite::derive(suite, &data_key, &message_id)?;

        let mut out = Vec::with_capacity(plaintext.len().saturating_add(1024));
        out.push(suite.message_version());
        if suite.message_version() == 1 {
            out.push(0x80);
        }
        out.extend_from_slice(&suite.id().to_be_bytes());
        out.extend_from_slice(&message_id);
        let mut ec = Vec::new();
        if !context.is_empty() {
            ec.extend_from_slice(&len16(context.len())?);
            for (k, v) in &context {
                push16(&mut ec, k.as_bytes())?;
                push16(&mut ec, v.as_bytes())?;
            }
        }
        push16(&mut out, &ec)?;
        out.extend_from_slice(&1u16.to_be_bytes());
        push16(&mut out, self.provider_id.as_bytes())?;
        push16(&mut out, self.key_name.as_bytes())?;
        push16(&mut out, &wrapped)?;
        out.push(if self.frame_length == 0 { 0x01 } else { 0x02 });
        if suite.message_version() == 1 {
            out.extend_from_slice(&[0; 4]);
            out.push(12); // IV length
        }
        out.extend_from_slice(&self.frame_length.to_be_bytes());
        if let Some(commitment) = &key.commitment {
            out.extend_from_slice(&commitment[..]);
        }
        let iv = [0u8; IV_LEN];
        let tag = key
            .aead
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(iv),
                aead::Aad::from(&out),
                &mut [],
            )
            .map_err(fail)?;
        if suite.message_version() == 1 {
            out.extend_from_slice(&iv);
        }
        out.extend_from_slice(tag.as_ref());

        let seal = |out: &mut Vec<u8>, seq: u32, kind: &[u8], chunk: &[u8]| -> Result<(), Error> {
            let aad = body_aad(&message_id, kind, seq, chunk.len());
            let start = out.len();
            out.extend_from_slice(chunk);
            let region = out.get_mut(start..).ok_or(Error::InvalidKey("buffer"))?;
            let tag = key
                .aead
                .seal_in_place_separate_tag(
                    aead::Nonce::assume_unique_for_key(frame_iv(seq)),
                    aead::Aad::from(&aad),
                    region,
                )
                .map_err(fail)?;
            out.extend_from_slice(tag.as_ref());
            Ok(())
        };
        if self.frame_length == 0 {
            out.extend_from_slice(&frame_iv(1));
            out.extend_from_slice(
                &u64::try_from(plaintext.len())
                    .unwrap_or(u64::MAX)
                    .to_be_bytes(),
            );
            seal(&mut out, 1, kind_single_block(), plaintext)?;
        } else {
            let frame_len = usize::try_from(self.frame_length)
                .map_err(|_| Error::InvalidForm("frame length"))?;
            let mut chunks = plaintext.chunks(frame_len).peekable();
            let mut seq: u32 = 1;
            loop {
                let chunk = chunks.next().unwrap_or_default();
                // The final frame is the one after the last full frame: a plaintext that is a
                // whole number of frames ends with an empty final frame, as the ESDK does.
                let last = chunk.len() < frame_len || (chunks.peek().is_none() && chunk.is_empty());
                if last {
                    out.extend_from_slice(&u32::MAX.to_be_bytes());
                    out.extend_from_slice(&seq.to_be_bytes());
                    out.extend_from_slice(&frame_iv(seq));
                    out.extend_from_slice(
                        &u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_be_bytes(),
                    );
                    seal(&mut out, seq, kind_frame(true), chunk)?;
                    break;
                }
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(&frame_iv(seq));
                seal(&mut out, seq, kind_frame(false), chunk)?;
                seq = seq
                    .checked_add(1)
                    .ok_or(Error::LimitExceeded("number of frames"))?;
            }
        }
        if let Some(signer) = &signer {
            let sig = signer.sign(&rng, &out).map_err(fail)?;
            push16(&mut out, sig.as_ref())?;
        }
        Ok(out)
    }

    /// Encrypts one value and returns the message in base64, as it travels in a form field.
    ///
    /// # Errors
    /// As [`Encryptor::encrypt`].
    pub fn encrypt_base64(&self, plaintext: &[u8]) -> Result<String, Error> {
        Ok(base64::engine::general_purpose::STANDARD.encode(self.encrypt(plaintext)?))
    }

    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>, Error> {
        let fail = |_| Error::InvalidKey("RSA encryption of the data key failed");
        match &self.wrapper {
            Wrapper::Oaep(key, padding) => {
                let alg = padding.oaep().ok_or(Error::InvalidKey("padding"))?;
                let mut out = vec![0u8; key.ciphertext_size()];
                let n = key
                    .encrypt(alg, data_key, &mut out, None)
                    .map_err(fail)?
                    .len();
                out.truncate(n);
                Ok(out)
            }
            Wrapper::Pkcs1(key) => {
                let mut out = vec![0u8; key.ciphertext_size()];
                let n = key.encrypt(data_key, &mut out).map_err(fail)?.len();
                out.truncate(n);
                Ok(out)
            }
        }
    }
}

/// The ESDK's per-frame IV: the sequence number, big-endian, in the last four bytes.
fn frame_iv(seq: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    for (dst, src) in iv.iter_mut().skip(IV_LEN - 4).zip(seq.to_be_bytes()) {
        *dst = src;
    }
    iv
}

fn len16(n: usize) -> Result<[u8; 2], Error> {
    u16::try_from(n)
        .map(u16::to_be_bytes)
        .map_err(|_| Error::InvalidForm("a header field is longer than 65535 bytes"))
}

fn push16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Error> {
    out.extend_from_slice(&len16(bytes.len())?);
    out.extend_from_slice(bytes);
    Ok(())
}

/// Emulates CloudFront on a form body: the value of every field matching `patterns` is
/// form-decoded, encrypted, base64-encoded and written back with `+ / =` percent-encoded;
/// every other byte of the body is kept.
///
/// # Errors
/// [`Error::LimitExceeded`] for an oversized body, else as [`Encryptor::encrypt`].
pub fn encrypt_form(
    encryptor: &Encryptor,
    body: &[u8],
    patterns: &FieldPatterns,
) -> Result<Vec<u8>, Error> {
    form::map_values(body, patterns, |_, value| {
        Ok(encryptor.encrypt_base64(value)?.into_bytes())
    })
}
