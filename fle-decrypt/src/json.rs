//! Field-level encryption of JSON bodies: the values a selector picks are AWS Encryption SDK
//! messages (base64 strings), as CloudFront writes form fields.
//!
//! Selectors ([`JsonSelectors`], from `fle-fields`, shared with the edge that encrypts): a
//! selector is a JSON Pointer (RFC 6901: `/card/number`, `~1` for `/`, `~0` for `~`) whose
//! segments may also be `*`: any member of an object, any element of an array
//! (`/payments/*/iban`). A numeric segment names an array element or an object member of that
//! name. The value a selector picks may be of any JSON type: it is encrypted from its
//! serialized form (`serde_json`'s compact form) and replaced by the message's base64 string;
//! decryption parses the plaintext back and puts the value where it was.
//!
//! Selectors may not overlap (one picking a value inside another's): the inner one could not
//! be told apart from a value that was never encrypted. A selected value that is absent is
//! left alone (encrypted fields are optional); a selected value that is present but not an
//! encrypted string is refused as [`Error::NotEncrypted`], as for forms: a client or a
//! misconfigured edge that forwards plaintext must not pass silently.
//!
//! The decrypted document is built in a zeroized buffer: the plaintext values are spliced into
//! the serialized document at placeholders with a random tag, never held in a `serde_json`
//! value. The rest of the document is re-serialized by `serde_json` (object members in sorted
//! order; numbers as `serde_json` reads them, so integers past 64 bits become floats).

use base64::Engine as _;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::{Decrypted, Error, Keyring, Secret};

pub use fle_fields::json::JsonSelectors;

fn parse_body(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|_| Error::InvalidJson("the body is not a JSON document"))
}

/// Encrypts the values `selectors` pick, as an edge function would: each becomes the base64
/// string of a message from `encryptor`. Returns the new body.
///
/// # Errors
/// [`Error::InvalidJson`] when the body is not JSON; the encryptor's errors.
#[cfg(feature = "encrypt")]
pub fn encrypt_json(
    encryptor: &crate::encrypt::Encryptor,
    body: &[u8],
    selectors: &JsonSelectors,
) -> Result<Vec<u8>, Error> {
    let mut doc = parse_body(body)?;
    selectors.for_each_pick(&mut doc, |_, value| {
        let plaintext = Zeroizing::new(
            serde_json::to_vec(value)
                .map_err(|_| Error::InvalidJson("a selected value does not serialize"))?,
        );
        let message = encryptor.encrypt(&plaintext)?;
        *value = Value::String(base64::engine::general_purpose::STANDARD.encode(message));
        Ok::<_, Error>(())
    })?;
    serde_json::to_vec(&doc).map_err(|_| Error::InvalidJson("the document does not serialize"))
}

/// A JSON body with its selected values decrypted.
pub struct DecryptedJson {
    fields: Vec<(String, Decrypted)>,
    body: Secret,
}

impl std::fmt::Debug for DecryptedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptedJson")
            .field(
                "fields",
                &self.fields.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl DecryptedJson {
    /// The decrypted value at a concrete path (`/payments/0/iban`), as JSON text.
    pub fn get(&self, path: &str) -> Option<&Secret> {
        self.fields
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, d)| d.plaintext())
    }

    /// Every decrypted value: (concrete path, the message's details and plaintext).
    pub fn decrypted(&self) -> impl Iterator<Item = (&str, &Decrypted)> {
        self.fields.iter().map(|(p, d)| (p.as_str(), d))
    }

    /// The whole document with the values in place of their messages.
    pub fn to_body(&self) -> &Secret {
        &self.body
    }
}

/// Decrypts the values `selectors` pick in a JSON body.
///
/// # Errors
/// [`Error::InvalidJson`] when the body is not JSON; [`Error::Field`] naming the concrete path
/// of a value that is not an encrypted string ([`Error::NotEncrypted`]), does not decrypt, or
/// whose plaintext is not a JSON value.
pub fn decrypt_json(
    keyring: &Keyring,
    body: &[u8],
    selectors: &JsonSelectors,
) -> Result<DecryptedJson, Error> {
    // The caps of forms, for the same reasons: checked before any RSA work.
    if body.len() > crate::form::MAX_BODY_LEN {
        return Err(Error::LimitExceeded("JSON body size"));
    }
    let mut doc = parse_body(body)?;
    let mut tag = [0u8; 16];
    aws_lc_rs::rand::fill(&mut tag).map_err(|_| Error::InvalidKey("no randomness"))?;
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    // Pass 1: every picked value must be a message; each is set aside and its place marked.
    let mut messages: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
    selectors.for_each_pick(&mut doc, |path, value| {
        // Base64 that decodes to something without an ESDK version byte is plaintext too
        // (a card number is valid base64).
        let message = match value {
            Value::String(s) => crate::form::decode_base64_message(s.as_bytes()),
            _ => None,
        }
        .filter(|m| fle_fields::looks_like_message(m))
        .ok_or_else(|| Error::NotEncrypted(path.to_owned()))?;
        if messages.len() >= crate::form::MAX_ENCRYPTED_FIELDS {
            return Err(Error::LimitExceeded(
                "number of encrypted values in a JSON body",
            ));
        }
        *value = Value::String(placeholder(&tag, messages.len()));
        messages.push((path.to_owned(), message));
        Ok::<_, Error>(())
    })?;
    let field = |path: &str, source: Error| Error::Field {
        field: path.to_owned(),
        source: Box::new(source),
    };
    let mut rsa_operations: usize = 0;
    for (path, message) in &messages {
        let cost = keyring
            .rsa_operations(message)
            .map_err(|e| field(path, e))?;
        rsa_operations = rsa_operations.saturating_add(cost);
    }
    if rsa_operations > usize::from(keyring.limits().max_rsa_operations_per_form()) {
        return Err(Error::LimitExceeded(
            "number of RSA operations in a JSON body",
        ));
    }
    // Pass 2: decrypt; each plaintext must be a JSON value.
    let mut fields: Vec<(String, Decrypted)> = Vec::with_capacity(messages.len());
    for (path, message) in messages {
        let decrypted = keyring.decrypt(&message).map_err(|e| field(&path, e))?;
        serde_json::from_slice::<serde::de::IgnoredAny>(decrypted.plaintext().expose())
            .map_err(|_| field(&path, Error::InvalidJson("the decrypted value is not JSON")))?;
        fields.push((path, decrypted));
    }
    let skeleton = Zeroizing::new(
        serde_json::to_vec(&doc)
            .map_err(|_| Error::InvalidJson("the document does not serialize"))?,
    );
    // Where each placeholder landed (the serializer orders members its own way), then the
    // plaintexts spliced in at those places, front to back.
    let mut places = Vec::with_capacity(fields.len());
    for (i, (_, decrypted)) in fields.iter().enumerate() {
        let mark = serde_json::to_vec(&placeholder(&tag, i))
            .map_err(|_| Error::InvalidJson("the document does not serialize"))?;
        let at =
            find(&skeleton, &mark).ok_or(Error::InvalidJson("a decrypted value lost its place"))?;
        places.push((at, mark.len(), decrypted.plaintext().expose()));
    }
    places.sort_by_key(|(at, _, _)| *at);
    let mut body = Zeroizing::new(Vec::with_capacity(skeleton.len()));
    let mut done = 0;
    for (at, len, plaintext) in places {
        body.extend_from_slice(skeleton.get(done..at).unwrap_or_default());
        body.extend_from_slice(plaintext);
        done = at.saturating_add(len);
    }
    body.extend_from_slice(skeleton.get(done..).unwrap_or_default());
    Ok(DecryptedJson {
        fields,
        body: Secret::from_vec(std::mem::take(&mut *body)),
    })
}

/// The string a decrypted value holds until it is spliced in: the random tag keeps a body from
/// planting one (it could otherwise move a plaintext into a field of its choosing).
fn placeholder(tag: &str, i: usize) -> String {
    format!("\u{1}fle:{tag}:{i}\u{1}")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
