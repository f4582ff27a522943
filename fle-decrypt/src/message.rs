//! The AWS Encryption SDK message format: strict parsing, then verification, then decryption.
//!
//! Parsing checks all structure up front (cheap) before any RSA work (dear). Verification is a
//! type: body decryption is a method of [`Verified`], which only [`Message::verify`] makes, and
//! that checks the key commitment, the header tag and the footer signature first — so no
//! plaintext exists before everything but the frame tags has passed, and none leaves the crate
//! before those have passed too.

use crate::codec::Reader;
use crate::error::Error;
use crate::limits::Limits;
use crate::suite::{self, Suite, COMMITMENT_LEN, IV_LEN, TAG_LEN};
use aws_lc_rs::{aead, constant_time, signature};
use base64::Engine as _;
use zeroize::Zeroizing;

/// Encryption-context key under which signed suites carry the ECDSA verification key.
pub(crate) const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";
/// Provider IDs are short names (CloudFront allows 128 characters).
const MAX_PROVIDER_ID_LEN: usize = 1024;
/// Provider info is a key name for raw keyrings (CloudFront: 128 characters).
const MAX_PROVIDER_INFO_LEN: usize = 1024;
/// A wrapped data key is one RSA block: 2048 bytes covers RSA-16384.
const MAX_WRAPPED_KEY_LEN: usize = 2048;
/// The final-frame marker that replaces a sequence number.
const FINAL_FRAME_MARKER: u32 = 0xFFFF_FFFF;
/// The specification's ceiling on non-framed content: 2^36 - 32 bytes.
const MAX_SINGLE_BLOCK_LEN: u64 = (1 << 36) - 32;

const SINGLE_BLOCK_AAD: &[u8] = b"AWSKMSEncryptionClient Single Block";
const FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Frame";
const FINAL_FRAME_AAD: &[u8] = b"AWSKMSEncryptionClient Final Frame";

#[derive(Debug)]
pub(crate) struct Edk<'a> {
    pub(crate) provider_id: &'a [u8],
    pub(crate) provider_info: &'a [u8],
    pub(crate) wrapped_key: &'a [u8],
}

#[derive(Debug)]
pub(crate) struct Header<'a> {
    pub(crate) suite: Suite,
    pub(crate) message_id: &'a [u8],
    pub(crate) context: Vec<(&'a str, &'a str)>,
    pub(crate) edks: Vec<Edk<'a>>,
    /// `Some(frame length)` for framed content, `None` for a single block.
    frame_len: Option<u32>,
    commitment: Option<&'a [u8; COMMITMENT_LEN]>,
    /// The bytes the header tag authenticates, exactly as received.
    authenticated: &'a [u8],
    iv: [u8; IV_LEN],
    tag: &'a [u8; TAG_LEN],
}

#[derive(Debug)]
struct Frame<'a> {
    seq: u32,
    kind: &'static [u8],
    iv: &'a [u8; IV_LEN],
    ciphertext: &'a [u8],
    tag: &'a [u8; TAG_LEN],
}

/// A structurally valid message, nothing authenticated yet.
#[derive(Debug)]
pub(crate) struct Message<'a> {
    pub(crate) header: Header<'a>,
    frames: Vec<Frame<'a>>,
    plaintext_len: usize,
    /// Header and body as received: what the footer signature covers.
    signed: &'a [u8],
    signature: Option<&'a [u8]>,
}

/// Parses a whole message; trailing bytes are an error.
pub(crate) fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Message<'a>, Error> {
    let mut r = Reader::new(bytes);
    let header = parse_header(&mut r, limits)?;
    let (frames, plaintext_len) = parse_body(&mut r, &header, limits)?;
    let signed = r.consumed();
    let signature = if header.suite.is_signed() {
        Some(r.vec16(usize::from(u16::MAX), "footer signature")?)
    } else {
        None
    };
    r.finish("end of message (trailing bytes)")?;
    Ok(Message {
        header,
        frames,
        plaintext_len,
        signed,
        signature,
    })
}

fn parse_header<'a>(r: &mut Reader<'a>, limits: &Limits) -> Result<Header<'a>, Error> {
    let version = r.u8("version")?;
    if version != 1 && version != 2 {
        return Err(Error::Malformed("version"));
    }
    if version == 1 && r.u8("message type")? != 0x80 {
        return Err(Error::Malformed("message type"));
    }
    let suite = Suite::from_id(r.u16("algorithm suite")?)?;
    if suite.message_version() != version {
        return Err(Error::Malformed("algorithm suite (wrong message version)"));
    }
    let message_id = r.take(suite.message_id_len(), "message id")?;

    let context_len = usize::from(r.u16("encryption context length")?);
    if context_len > limits.max_encryption_context_len {
        return Err(Error::LimitExceeded("encryption context size"));
    }
    let context = parse_context(r.sub(context_len, "encryption context")?)?;

    let edk_count = r.u16("encrypted data key count")?;
    if edk_count == 0 {
        return Err(Error::Malformed("encrypted data key count"));
    }
    if edk_count > limits.max_encrypted_data_keys {
        return Err(Error::LimitExceeded("number of encrypted data keys"));
    }
    let mut edks = Vec::with_capacity(usize::from(edk_count));
    for _ in 0..edk_count {
        let provider_id = r.vec16(MAX_PROVIDER_ID_LEN, "key provider id")?;
        std::str::from_utf8(provider_id).map_err(|_| Error::Malformed("key provider id"))?;
        edks.push(Edk {
            provider_id,
            provider_info: r.vec16(MAX_PROVIDER_INFO_LEN, "key provider info")?,
            wrapped_key: r.vec16(MAX_WRAPPED_KEY_LEN, "encrypted data key")?,
        });
    }

    let framed = match r.u8("content type")? {
        0x01 => false,
        0x02 => true,
        _ => return Err(Error::Malformed("content type")),
    };
    if version == 1 {
        if r.take_array::<4>("reserved field")? != &[0; 4] {
            return Err(Error::Malformed("reserved field"));
        }
        if usize::from(r.u8("iv length")?) != IV_LEN {
            return Err(Error::Malformed("iv length"));
        }
    }
    let frame_len = r.u32("frame length")?;
    if framed == (frame_len == 0) {
        return Err(Error::Malformed("frame length"));
    }
    let commitment = if version == 2 {
        Some(r.take_array::<COMMITMENT_LEN>("commitment key")?)
    } else {
        None
    };
    let authenticated = r.consumed();
    let iv = if version == 1 {
        *r.take_array::<IV_LEN>("header iv")?
    } else {
        [0; IV_LEN]
    };
    let tag = r.take_array::<TAG_LEN>("header tag")?;

    Ok(Header {
        suite,
        message_id,
        context,
        edks,
        frame_len: framed.then_some(frame_len),
        commitment,
        authenticated,
        iv,
        tag,
    })
}

fn parse_context(mut r: Reader<'_>) -> Result<Vec<(&str, &str)>, Error> {
    if r.remaining() == 0 {
        return Ok(Vec::new());
    }
    let count = r.u16("encryption context count")?;
    if count == 0 {
        return Err(Error::Malformed("encryption context count"));
    }
    // The count is untrusted: a pair takes at least its two 2-byte lengths, so never reserve
    // more than the bytes left could hold.
    let mut pairs = Vec::with_capacity(usize::from(count).min(r.remaining() / 4));
    for _ in 0..count {
        let key = utf8(r.vec16(usize::from(u16::MAX), "encryption context key")?)?;
        let value = utf8(r.vec16(usize::from(u16::MAX), "encryption context value")?)?;
        pairs.push((key, value));
    }
    r.finish("encryption context (length mismatch)")?;
    let mut keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(Error::Malformed("encryption context (duplicate key)"));
    }
    Ok(pairs)
}

fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(bytes).map_err(|_| Error::Malformed("encryption context (not UTF-8)"))
}

fn parse_body<'a>(
    r: &mut Reader<'a>,
    header: &Header<'a>,
    limits: &Limits,
) -> Result<(Vec<Frame<'a>>, usize), Error> {
    let too_big = Error::LimitExceeded("plaintext size");
    let Some(frame_len) = header.frame_len else {
        let iv = r.take_array::<IV_LEN>("body iv")?;
        let len = r.u64("body length")?;
        if len > MAX_SINGLE_BLOCK_LEN {
            return Err(Error::Malformed("body length"));
        }
        let len = usize::try_from(len).map_err(|_| too_big.clone())?;
        if len > limits.max_plaintext_len {
            return Err(too_big);
        }
        let ciphertext = r.take(len, "body content")?;
        let tag = r.take_array::<TAG_LEN>("body tag")?;
        let frame = Frame {
            seq: 1,
            kind: SINGLE_BLOCK_AAD,
            iv,
            ciphertext,
            tag,
        };
        return Ok((vec![frame], len));
    };

    let frame_len = usize::try_from(frame_len).map_err(|_| Error::Malformed("frame length"))?;
    let mut frames = Vec::new();
    let mut total: usize = 0;
    let mut expected: u32 = 1;
    loop {
        let marker = r.u32("frame sequence number")?;
        let last = marker == FINAL_FRAME_MARKER;
        let seq = if last {
            r.u32("final frame sequence number")?
        } else {
            marker
        };
        if seq != expected {
            return Err(Error::Malformed("frame sequence number"));
        }
        let iv = r.take_array::<IV_LEN>("frame iv")?;
        let len = if last {
            let len = usize::try_from(r.u32("final frame length")?)
                .map_err(|_| Error::Malformed("final frame length"))?;
            if len > frame_len {
                return Err(Error::Malformed("final frame length"));
            }
            len
        } else {
            frame_len
        };
        total = total.checked_add(len).ok_or(too_big.clone())?;
        if total > limits.max_plaintext_len {
            return Err(too_big);
        }
        let ciphertext = r.take(len, "frame content")?;
        let tag = r.take_array::<TAG_LEN>("frame tag")?;
        frames.push(Frame {
            seq,
            kind: if last { FINAL_FRAME_AAD } else { FRAME_AAD },
            iv,
            ciphertext,
            tag,
        });
        if last {
            return Ok((frames, total));
        }
        // A regular frame may not carry the marker's value, so the last usable number is
        // u32::MAX - 1 and must belong to the final frame.
        expected = expected
            .checked_add(1)
            .filter(|n| *n != FINAL_FRAME_MARKER)
            .ok_or(Error::Malformed("frame sequence number"))?;
    }
}

/// Body AAD: message ID ‖ content string ‖ sequence number ‖ content length (ESDK spec,
/// message-body-aad.md).
pub(crate) fn body_aad(message_id: &[u8], kind: &[u8], seq: u32, len: usize) -> Vec<u8> {
    let mut aad = Vec::with_capacity(message_id.len() + kind.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(kind);
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.extend_from_slice(&u64::try_from(len).unwrap_or(u64::MAX).to_be_bytes());
    aad
}

#[cfg(feature = "encrypt")]
pub(crate) const fn kind_single_block() -> &'static [u8] {
    SINGLE_BLOCK_AAD
}
#[cfg(feature = "encrypt")]
pub(crate) const fn kind_frame(last: bool) -> &'static [u8] {
    if last {
        FINAL_FRAME_AAD
    } else {
        FRAME_AAD
    }
}

/// A message whose key commitment, header tag and signature have been checked.
pub(crate) struct Verified<'m, 'a> {
    message: &'m Message<'a>,
    key: suite::DerivedKey,
}

impl<'a> Message<'a> {
    /// Checks everything a data key lets us check before touching the body.
    pub(crate) fn verify(&self, data_key: &[u8]) -> Result<Verified<'_, 'a>, Error> {
        let h = &self.header;
        let key = suite::derive(h.suite, data_key, h.message_id)?;
        match (&key.commitment, h.commitment) {
            (Some(derived), Some(received)) => {
                constant_time::verify_slices_are_equal(&derived[..], received)
                    .map_err(|_| Error::DecryptionFailed)?;
            }
            (None, None) => {}
            _ => return Err(Error::DecryptionFailed),
        }
        // Header tag: GCM over nothing, AAD = the header as received. (v2 appends the
        // serialised "encryption context to only authenticate", which is empty for raw keyrings.)
        let mut tag = *h.tag;
        key.aead
            .open_in_place(
                aead::Nonce::assume_unique_for_key(h.iv),
                aead::Aad::from(h.authenticated),
                &mut tag,
            )
            .map_err(|_| Error::DecryptionFailed)?;

        match (h.suite.signing(), self.signature) {
            (Some(alg), Some(sig)) => {
                let public_key = self.verification_key()?;
                signature::UnparsedPublicKey::new(alg.verification(), &public_key[..])
                    .verify(self.signed, sig)
                    .map_err(|_| Error::DecryptionFailed)?;
            }
            (None, None) => {
                if h.context.iter().any(|(k, _)| *k == PUBLIC_KEY_CONTEXT_KEY) {
                    return Err(Error::Malformed(
                        "encryption context (unexpected public key)",
                    ));
                }
            }
            _ => return Err(Error::Malformed("footer")),
        }
        Ok(Verified { message: self, key })
    }

    fn verification_key(&self) -> Result<Vec<u8>, Error> {
        let (_, b64) = self
            .header
            .context
            .iter()
            .find(|(k, _)| *k == PUBLIC_KEY_CONTEXT_KEY)
            .ok_or(Error::Malformed("encryption context (no verification key)"))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| Error::Malformed("encryption context (verification key)"))
    }
}

impl Verified<'_, '_> {
    /// Decrypts every frame; any bad tag fails the whole message and wipes what was opened.
    pub(crate) fn decrypt_body(self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let m = self.message;
        // Reserve once so the buffer never reallocates and leaves unwiped copies behind.
        let mut out = Zeroizing::new(Vec::with_capacity(m.plaintext_len.saturating_add(TAG_LEN)));
        for f in &m.frames {
            let start = out.len();
            out.extend_from_slice(f.ciphertext);
            out.extend_from_slice(f.tag);
            let aad = body_aad(m.header.message_id, f.kind, f.seq, f.ciphertext.len());
            let region = out.get_mut(start..).ok_or(Error::DecryptionFailed)?;
            self.key
                .aead
                .open_in_place(
                    aead::Nonce::assume_unique_for_key(*f.iv),
                    aead::Aad::from(&aad),
                    region,
                )
                .map_err(|_| Error::DecryptionFailed)?;
            out.truncate(start.saturating_add(f.ciphertext.len()));
        }
        Ok(out)
    }
}
