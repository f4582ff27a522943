//! AWS Encryption SDK messages made in pure Rust (RustCrypto), for the wasm module: the same
//! format CloudFront writes and `fle-decrypt` reads, with one raw-RSA encrypted data key.
//!
//! Every random byte comes from the caller's generator, in a fixed order (per request: the data
//! key, the OAEP seed, for a signed suite the ECDSA key; then per message its ID), so the same
//! seed gives the same messages natively and in wasm. The ECDSA signature itself is
//! deterministic (RFC 6979).

use aes_gcm::aead::AeadInOut as _;
use aes_gcm::{Aes256Gcm, KeyInit as _};
use base64::Engine as _;
use chacha20::ChaCha20Rng;
use p384::ecdsa::signature::Signer as _;
use rand_core::Rng as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use rsa::Generate as _;
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

/// CloudFront's frame length, the ESDK default.
const FRAME_LENGTH: u32 = 4096;
const IV_LEN: usize = 12;
const FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Frame";
const FINAL_FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Final Frame";
/// The encryption-context key of a signed suite's verification key.
const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";

/// The algorithm suites the edge can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suite {
    /// `0x0478`: AES-256-GCM, HKDF-SHA512, key commitment, unsigned (message format v2). The
    /// default: with raw RSA keys the ECDSA signature of a signed suite is made with a key
    /// generated on the spot (here, once per request), so it authenticates nobody; what
    /// authenticates the edge is the SigV4 signature and the API key. Commitment stops a
    /// message from decrypting to two plaintexts. It is also 18 times cheaper in wasm.
    #[default]
    Committing,
    /// `0x0378`: AES-256-GCM, HKDF-SHA384, ECDSA P-384 (format v1), what CloudFront writes.
    CloudFront,
}

impl Suite {
    /// The suite's ID on the wire.
    pub fn id(self) -> u16 {
        match self {
            Suite::Committing => 0x0478,
            Suite::CloudFront => 0x0378,
        }
    }

    /// Reads `0x0478` / `0478` or `0x0378` / `0378`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim_start_matches("0x") {
            "0478" => Some(Suite::Committing),
            "0378" => Some(Suite::CloudFront),
            _ => None,
        }
    }

    fn message_id_len(self) -> usize {
        match self {
            Suite::Committing => 32,
            Suite::CloudFront => 16,
        }
    }
}

/// Why a key or a message was refused. Never carries plaintext or key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// The public key is not an RSA key of 2048 bits or more in PEM or DER.
    InvalidKey,
    /// A provider ID or key name longer than a header field can hold.
    FieldTooLong,
    /// RSA, AES-GCM or HKDF refused its input (only for absurd sizes).
    CryptoFailed,
}

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InvalidKey => "not an RSA public key of 2048 bits or more",
            Self::FieldTooLong => "a provider ID or key name is longer than 65535 bytes",
            Self::CryptoFailed => "encryption failed",
        })
    }
}

impl std::error::Error for MessageError {}

/// One request's data key, wrapped, and its signing key for a signed suite. Never printed.
pub struct Materials {
    data_key: Zeroizing<[u8; 32]>,
    wrapped: Vec<u8>,
    signer: Option<p384::ecdsa::SigningKey>,
    context: Vec<u8>,
}

impl std::fmt::Debug for Materials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Materials(..)")
    }
}

/// Makes messages for one RSA public key, provider ID and key name.
pub struct MessageWriter {
    key: rsa::PublicKey,
    provider_id: String,
    key_name: String,
    suite: Suite,
}

impl std::fmt::Debug for MessageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageWriter")
            .field("provider_id", &self.provider_id)
            .field("key_name", &self.key_name)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl MessageWriter {
    /// A writer for a `PUBLIC KEY` PEM (SubjectPublicKeyInfo, as CloudFront stores it).
    ///
    /// # Errors
    /// [`MessageError::InvalidKey`] unless it is an RSA key of 2048 bits or more;
    /// [`MessageError::FieldTooLong`] for a provider ID or key name over 65535 bytes.
    pub fn new(
        public_key_pem: &str,
        provider_id: &str,
        key_name: &str,
        suite: Suite,
    ) -> Result<Self, MessageError> {
        let der = pem_body(public_key_pem).ok_or(MessageError::InvalidKey)?;
        let key =
            rsa::PublicKey::from_public_key_der(&der).map_err(|_| MessageError::InvalidKey)?;
        // The modulus's own length (not the width of the integer that holds it, which is
        // rounded up to whole limbs and differs between native and wasm builds).
        if key.n().as_ref().bit_width_vartime() < 2048 {
            return Err(MessageError::InvalidKey);
        }
        if provider_id.len() > usize::from(u16::MAX) || key_name.len() > usize::from(u16::MAX) {
            return Err(MessageError::FieldTooLong);
        }
        Ok(Self {
            key,
            provider_id: provider_id.to_owned(),
            key_name: key_name.to_owned(),
            suite,
        })
    }

    /// The suite this writer uses.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The materials of one request's messages: a data key wrapped once with RSA-OAEP-SHA256
    /// and, for a signed suite, an ECDSA P-384 key and the encryption context carrying its
    /// public half. Each message still gets its own message ID, from which its own content
    /// key (and commitment key) is derived, as the ESDK's data-key caching does: the RSA
    /// operation, most of the edge's work, is paid once per request instead of once per field.
    ///
    /// # Errors
    /// [`MessageError::CryptoFailed`] only when a primitive refuses its input.
    pub fn materials(&self, rng: &mut ChaCha20Rng) -> Result<Materials, MessageError> {
        let mut data_key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut data_key[..]);
        let wrapped = self
            .key
            .encrypt(rng, rsa::Oaep::<Sha256>::new(), &data_key[..])
            .map_err(failed)?;
        let (signer, context) = match self.suite {
            Suite::CloudFront => {
                let signer = p384::ecdsa::SigningKey::generate_from_rng(rng);
                let point = signer.verifying_key().to_sec1_point(true);
                let value = base64::engine::general_purpose::STANDARD.encode(point.as_bytes());
                let mut context = Vec::new();
                context.extend_from_slice(&1u16.to_be_bytes());
                push16(&mut context, PUBLIC_KEY_CONTEXT_KEY.as_bytes())?;
                push16(&mut context, value.as_bytes())?;
                (Some(signer), context)
            }
            Suite::Committing => (None, Vec::new()),
        };
        Ok(Materials {
            data_key,
            wrapped,
            signer,
            context,
        })
    }

    /// Encrypts one value into a message with `materials` from [`MessageWriter::materials`]
    /// of this writer, framed in 4096-byte frames. The message ID comes from `rng`.
    ///
    /// # Errors
    /// [`MessageError::CryptoFailed`] only when a primitive refuses its input.
    pub fn encrypt(
        &self,
        materials: &Materials,
        rng: &mut ChaCha20Rng,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, MessageError> {
        let suite = self.suite;
        let mut message_id = vec![0u8; suite.message_id_len()];
        rng.fill_bytes(&mut message_id);
        let data_key = &materials.data_key;
        let signer = materials.signer.as_ref();

        // Content key (and commitment key).
        let mut key = Zeroizing::new([0u8; 32]);
        let mut commitment = [0u8; 32];
        let id = suite.id().to_be_bytes();
        match suite {
            Suite::Committing => {
                let hk = hkdf::Hkdf::<Sha512>::new(Some(&message_id), &data_key[..]);
                hk.expand_multi_info(&[&id, b"DERIVEKEY"], &mut key[..])
                    .map_err(failed)?;
                hk.expand(b"COMMITKEY", &mut commitment).map_err(failed)?;
            }
            Suite::CloudFront => {
                hkdf::Hkdf::<Sha384>::new(None, &data_key[..])
                    .expand_multi_info(&[&id, &message_id], &mut key[..])
                    .map_err(failed)?;
            }
        }
        let aead = Aes256Gcm::new_from_slice(&key[..]).map_err(failed)?;

        let mut out = Vec::with_capacity(plaintext.len().saturating_add(600));
        match suite {
            Suite::Committing => out.push(0x02),
            Suite::CloudFront => out.extend_from_slice(&[0x01, 0x80]),
        }
        out.extend_from_slice(&id);
        out.extend_from_slice(&message_id);
        // Encryption context: empty, or the one pair of a signed suite.
        push16(&mut out, &materials.context)?;
        out.extend_from_slice(&1u16.to_be_bytes());
        push16(&mut out, self.provider_id.as_bytes())?;
        push16(&mut out, self.key_name.as_bytes())?;
        push16(&mut out, &materials.wrapped)?;
        out.push(0x02); // framed
        if suite == Suite::CloudFront {
            out.extend_from_slice(&[0, 0, 0, 0]); // reserved
            out.push(12); // IV length
        }
        out.extend_from_slice(&FRAME_LENGTH.to_be_bytes());
        if suite == Suite::Committing {
            out.extend_from_slice(&commitment);
        }
        // Header authentication: an empty plaintext under a zero IV, the header as AAD.
        let iv = [0u8; IV_LEN];
        let tag = aead
            .encrypt_inout_detached(&iv.into(), &out, (&mut [][..]).into())
            .map_err(failed)?;
        if suite == Suite::CloudFront {
            out.extend_from_slice(&iv);
        }
        out.extend_from_slice(&tag);

        // Frames: full frames, then a final frame (empty when the plaintext fills them).
        let frame_len = usize::try_from(FRAME_LENGTH).map_err(failed)?;
        let mut chunks = plaintext.chunks_exact(frame_len);
        let mut seq: u32 = 1;
        for chunk in chunks.by_ref() {
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&frame_iv(seq));
            seal(&aead, &mut out, &message_id, seq, FRAME_AAD, chunk)?;
            seq = seq.checked_add(1).ok_or(MessageError::CryptoFailed)?;
        }
        let last = chunks.remainder();
        out.extend_from_slice(&u32::MAX.to_be_bytes());
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&frame_iv(seq));
        out.extend_from_slice(&u32::try_from(last.len()).map_err(failed)?.to_be_bytes());
        seal(&aead, &mut out, &message_id, seq, FINAL_FRAME_AAD, last)?;

        if let Some(signer) = signer {
            let signature: p384::ecdsa::DerSignature = signer.sign(&out);
            push16(&mut out, signature.as_bytes())?;
        }
        Ok(out)
    }
}

fn failed<E>(_: E) -> MessageError {
    MessageError::CryptoFailed
}

/// Appends `chunk` encrypted under the frame's IV and body AAD, then its tag.
fn seal(
    aead: &Aes256Gcm,
    out: &mut Vec<u8>,
    message_id: &[u8],
    seq: u32,
    kind: &[u8],
    chunk: &[u8],
) -> Result<(), MessageError> {
    let mut aad = Vec::with_capacity(message_id.len() + kind.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(kind);
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.extend_from_slice(
        &u64::try_from(chunk.len())
            .map_err(|_| MessageError::CryptoFailed)?
            .to_be_bytes(),
    );
    let start = out.len();
    out.extend_from_slice(chunk);
    let region = out.get_mut(start..).ok_or(MessageError::CryptoFailed)?;
    let tag = aead
        .encrypt_inout_detached(&frame_iv(seq).into(), &aad, region.into())
        .map_err(|_| MessageError::CryptoFailed)?;
    out.extend_from_slice(&tag);
    Ok(())
}

/// The ESDK's per-frame IV: the sequence number, big-endian, in the last four bytes.
fn frame_iv(seq: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    for (dst, src) in iv.iter_mut().skip(IV_LEN - 4).zip(seq.to_be_bytes()) {
        *dst = src;
    }
    iv
}

fn push16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), MessageError> {
    let len = u16::try_from(bytes.len()).map_err(|_| MessageError::FieldTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// The DER inside a `PUBLIC KEY` PEM (whitespace and line breaks ignored).
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let begin = "-----BEGIN PUBLIC KEY-----";
    let end = "-----END PUBLIC KEY-----";
    let start = pem.find(begin)?.checked_add(begin.len())?;
    let stop = pem.get(start..)?.find(end)?.checked_add(start)?;
    let b64: String = pem
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}
