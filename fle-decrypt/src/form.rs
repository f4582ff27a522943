//! `application/x-www-form-urlencoded` bodies with CloudFront-encrypted fields.
//!
//! CloudFront encrypts the values of fields whose names match the profile's patterns (exact
//! names, or a prefix followed by `*`) and leaves every other field as it was. Here the same
//! patterns pick the fields to decrypt. A field that matches but does not hold an ESDK message
//! is an error ([`Error::NotEncrypted`]): a configuration that forwards plaintext must not pass
//! silently.

use crate::error::Error;
use crate::keyring::{Decrypted, Keyring};
use crate::secret::Secret;
use base64::Engine as _;
use zeroize::Zeroizing;

#[cfg(feature = "encrypt")]
pub(crate) use fle_fields::form::map_values;
pub use fle_fields::form::FieldPatterns;
pub(crate) use fle_fields::form::{form_encode, percent_decode, split_pairs, Pair};
/// The body size and the number of encrypted values a form may have (shared with the edge).
pub(crate) use fle_fields::{MAX_BODY_LEN, MAX_ENCRYPTED_VALUES as MAX_ENCRYPTED_FIELDS};

/// Reads a field value as base64, leniently: `%2B %2F %3D`, a raw `+`, a `+` that form
/// decoding turned into a space, and missing padding are all accepted.
fn decode_field_value(raw_value: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let mut text = Zeroizing::new(percent_decode(raw_value, false));
    for b in text.iter_mut() {
        if *b == b' ' {
            *b = b'+';
        }
    }
    let trimmed = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(&text);
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .ok()
        .map(Zeroizing::new)
}

/// Reads one base64 message as a person or a tool may have copied it: surrounding whitespace
/// and line breaks are ignored, and everything a form field tolerates is accepted (`%2B %2F
/// %3D`, a space for `+`, missing padding). `None` when it is not base64.
pub fn decode_base64_message(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let text = text.trim_ascii();
    let joined: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.iter()
            .copied()
            .filter(|b| !matches!(b, b'\r' | b'\n' | b'\t'))
            .collect(),
    );
    decode_field_value(&joined)
}

pub(crate) use fle_fields::looks_like_message;

/// A field that matched and was decrypted, and where its pair sits in the body.
struct Field<'a> {
    start: usize,
    end: usize,
    raw_name: &'a [u8],
    name: String,
    decrypted: Decrypted,
}

/// A form body whose matching fields have been decrypted.
///
/// The decrypted values are [`Secret`]s; [`DecryptedForm::to_body`] rebuilds the body with
/// them in place (also as a `Secret`). Fields that did not match are kept byte for byte: the
/// form borrows the body and owns only the decrypted fields, so its size does not grow with
/// the number of other fields.
pub struct DecryptedForm<'a> {
    body: &'a [u8],
    fields: Vec<Field<'a>>,
}

impl std::fmt::Debug for DecryptedForm<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptedForm")
            .field(
                "decrypted_fields",
                &self.decrypted().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<'a> DecryptedForm<'a> {
    /// The first decrypted field with this name.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.decrypted()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.plaintext())
    }

    /// Every decrypted field in body order, with the key that opened it.
    pub fn decrypted(&self) -> impl Iterator<Item = (&str, &Decrypted)> {
        self.fields.iter().map(|f| (f.name.as_str(), &f.decrypted))
    }

    /// The body with every decrypted field's plaintext form-encoded in place.
    pub fn to_body(&self) -> Secret {
        // Reserve the worst case (every plaintext byte as %XX) so the buffer never reallocates
        // and leaves unwiped copies of plaintext behind.
        let capacity = self.fields.iter().fold(self.body.len(), |acc, f| {
            acc.saturating_add(f.raw_name.len())
                .saturating_add(1)
                .saturating_add(f.decrypted.plaintext().len().saturating_mul(3))
        });
        let mut out = Zeroizing::new(Vec::with_capacity(capacity));
        let mut copied = 0;
        for f in &self.fields {
            out.extend_from_slice(self.body.get(copied..f.start).unwrap_or_default());
            out.extend_from_slice(f.raw_name);
            out.push(b'=');
            form_encode(f.decrypted.plaintext().expose(), &mut out);
            copied = f.end;
        }
        out.extend_from_slice(self.body.get(copied..).unwrap_or_default());
        Secret::new(out)
    }
}

/// Decrypts the fields of a form body whose names match `patterns`.
///
/// Memory stays within a small multiple of the body size whatever its shape: pairs that do
/// not match are never copied, and the matching ones are capped before any is decrypted.
/// Every matching value is parsed before any RSA work, and the form is refused when their
/// encrypted data keys could cost more RSA operations than
/// [`Limits::max_rsa_operations_per_form`](crate::Limits::max_rsa_operations_per_form).
///
/// # Errors
/// [`Error::LimitExceeded`] for an oversized body, too many fields, too many matching
/// fields or too many RSA operations; [`Error::NotEncrypted`] for a matching field that is not an ESDK message; otherwise
/// [`Error::Field`] naming the field, with the message's error as its source.
pub fn decrypt_form<'a>(
    keyring: &Keyring,
    body: &'a [u8],
    patterns: &FieldPatterns,
) -> Result<DecryptedForm<'a>, Error> {
    decrypt_form_with_threads(keyring, body, patterns, 1)
}

/// [`decrypt_form`] with the fields' messages decrypted on up to `threads` threads (scoped:
/// none outlives the call). Every matching field is checked to be an ESDK message, and the
/// form's RSA cost is checked, before any key is used; the error returned is that of the first
/// failing field in body order, so the outcome does not depend on `threads`. `threads` ≤ 1
/// decrypts on the calling thread.
///
/// # Errors
/// As [`decrypt_form`].
pub fn decrypt_form_with_threads<'a>(
    keyring: &Keyring,
    body: &'a [u8],
    patterns: &FieldPatterns,
    threads: usize,
) -> Result<DecryptedForm<'a>, Error> {
    let messages = matching_messages(body, patterns)?;
    // Refuse the form if the EDKs could cost more RSA operations than allowed, still before
    // any is done.
    let mut rsa_operations: usize = 0;
    for (_, name, message) in &messages {
        let cost = keyring
            .rsa_operations(message)
            .map_err(|e| field_error(name, e))?;
        rsa_operations = rsa_operations.saturating_add(cost);
    }
    if rsa_operations > usize::from(keyring.limits().max_rsa_operations_per_form()) {
        return Err(Error::LimitExceeded("number of RSA operations in a form"));
    }
    let decrypt = |(_, name, message): &Matching<'a>| {
        keyring.decrypt(message).map_err(|e| field_error(name, e))
    };
    let results: Vec<Result<Decrypted, Error>> = if threads <= 1 || messages.len() <= 1 {
        // Stop at the first failure: its error is the one returned anyway.
        let mut out = Vec::with_capacity(messages.len());
        for m in &messages {
            let result = decrypt(m);
            let failed = result.is_err();
            out.push(result);
            if failed {
                break;
            }
        }
        out
    } else {
        let per_thread = messages.len().div_ceil(threads.min(messages.len()));
        std::thread::scope(|scope| {
            let handles: Vec<_> = messages
                .chunks(per_thread)
                .map(|chunk| scope.spawn(move || chunk.iter().map(decrypt).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    // A panic in a worker is a bug; report it as a failed decryption, not a
                    // second panic.
                    h.join()
                        .unwrap_or_else(|_| vec![Err(Error::DecryptionFailed)])
                })
                .collect()
        })
    };
    let mut results = results.into_iter();
    let mut fields = Vec::with_capacity(messages.len());
    for (pair, name, _) in messages {
        let decrypted = results.next().unwrap_or(Err(Error::DecryptionFailed))?;
        fields.push(Field {
            start: pair.start,
            end: pair.end(),
            raw_name: pair.raw_name,
            name,
            decrypted,
        });
    }
    Ok(DecryptedForm { body, fields })
}

/// A matching pair, its decoded name and its decoded message.
type Matching<'a> = (Pair<'a>, String, Zeroizing<Vec<u8>>);

fn field_error(name: &str, e: Error) -> Error {
    Error::Field {
        field: name.to_owned(),
        source: Box::new(e),
    }
}

/// The pairs matching `patterns`, each value decoded and checked to be an ESDK message.
fn matching_messages<'a>(
    body: &'a [u8],
    patterns: &FieldPatterns,
) -> Result<Vec<Matching<'a>>, Error> {
    // Find (and count) the matching pairs before decoding any.
    let mut matching = Vec::new();
    for pair in split_pairs(body)? {
        let name = pair.name();
        if !patterns.matches(&name) {
            continue;
        }
        if matching.len() >= MAX_ENCRYPTED_FIELDS {
            return Err(Error::LimitExceeded("number of encrypted fields in a form"));
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        matching.push((pair, name));
    }
    let mut out = Vec::with_capacity(matching.len());
    for (pair, name) in matching {
        let message = decode_field_value(pair.raw_value)
            .filter(|m| looks_like_message(m))
            .ok_or_else(|| Error::NotEncrypted(name.clone()))?;
        out.push((pair, name, message));
    }
    Ok(out)
}

/// A field still encrypted: (decoded field name, raw ESDK message bytes).
pub type EncryptedField = (String, Zeroizing<Vec<u8>>);

/// The still-encrypted fields of a form body whose names match `patterns`, in body order:
/// (decoded field name, raw ESDK message bytes). Nothing is decrypted; use it to pass the
/// ciphertext on to whoever holds the key.
///
/// # Errors
/// As [`decrypt_form`] before any key is used: [`Error::LimitExceeded`], and
/// [`Error::NotEncrypted`] for a matching field that is not an ESDK message.
pub fn encrypted_fields(
    body: &[u8],
    patterns: &FieldPatterns,
) -> Result<Vec<EncryptedField>, Error> {
    Ok(matching_messages(body, patterns)?
        .into_iter()
        .map(|(_, name, message)| (name, message))
        .collect())
}

/// Decodes a body that may arrive base64-encoded (API Gateway, function URL and ALB events
/// set `isBase64Encoded`).
///
/// # Errors
/// [`Error::InvalidForm`] when `is_base64_encoded` is set and the body is not base64.
pub fn event_body(body: &str, is_base64_encoded: bool) -> Result<Vec<u8>, Error> {
    if body.len() > MAX_BODY_LEN.saturating_mul(2) {
        return Err(Error::LimitExceeded("form body size"));
    }
    if is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|_| Error::InvalidForm("body is not base64 although isBase64Encoded is set"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_are_read_leniently() {
        // base64 of [0xfb, 0xff, 0xbf] is "+/+/": every awkward character at once.
        let want = [0xfbu8, 0xff, 0xbf];
        for raw in [
            &b"+/+/"[..],
            b"%2B%2F%2B%2F",
            b"%2b%2f+/",
            b" / /",
            b"%20/%20/",
        ] {
            assert_eq!(
                decode_field_value(raw).as_deref().map(|v| &v[..]),
                Some(&want[..]),
                "{raw:?}"
            );
        }
        // Missing and percent-encoded padding.
        assert_eq!(
            decode_field_value(b"AQ").as_deref().map(|v| &v[..]),
            Some(&[1u8][..])
        );
        assert_eq!(
            decode_field_value(b"AQ%3D%3D").as_deref().map(|v| &v[..]),
            Some(&[1u8][..])
        );
        assert!(decode_field_value(b"not base64!").is_none());
        // Whole messages as copied into a file or a terminal.
        assert_eq!(
            decode_base64_message(b"  +/+/\r\n")
                .as_deref()
                .map(|v| &v[..]),
            Some(&want[..])
        );
        assert_eq!(
            decode_base64_message(b"AQ\nID\n")
                .as_deref()
                .map(|v| &v[..]),
            Some(&[1u8, 2, 3][..])
        );
        assert!(decode_base64_message(b"%%%").is_none());
    }

    #[test]
    fn plaintext_in_a_matching_field_is_refused() {
        let keyring = Keyring::new();
        let p = FieldPatterns::parse("card").unwrap();
        for body in [
            &b"card=4111111111111111"[..],
            b"card=",
            b"card",
            b"x=1&card=AQID",
        ] {
            let err = decrypt_form(&keyring, body, &p).unwrap_err();
            assert_eq!(err, Error::NotEncrypted("card".into()), "{body:?}");
            assert!(!err.to_string().contains("4111"));
        }
    }

    #[test]
    fn bodies_without_matches_pass_through_byte_for_byte() {
        let keyring = Keyring::new();
        let p = FieldPatterns::parse("card").unwrap();
        for body in [&b""[..], b"a=1&&b", b"x=%zz&y=+&=&z", b"cardx=1"] {
            let form = decrypt_form(&keyring, body, &p).unwrap();
            assert_eq!(form.to_body().expose(), body);
            assert_eq!(form.decrypted().count(), 0);
        }
    }

    #[test]
    fn the_number_of_pairs_is_capped() {
        let keyring = Keyring::new();
        let p = FieldPatterns::parse("card").unwrap();
        let at_cap = vec![b'&'; fle_fields::form::MAX_FORM_PAIRS - 1];
        let form = decrypt_form(&keyring, &at_cap, &p).unwrap();
        assert_eq!(form.to_body().expose(), &at_cap[..]);
        let over = vec![b'&'; fle_fields::form::MAX_FORM_PAIRS];
        assert_eq!(
            decrypt_form(&keyring, &over, &p).unwrap_err(),
            Error::LimitExceeded("number of form fields")
        );
    }

    #[test]
    fn base64_event_bodies() {
        assert_eq!(event_body("YT0x", true).unwrap(), b"a=1");
        assert_eq!(event_body("a=1", false).unwrap(), b"a=1");
        assert!(matches!(
            event_body("a=1", true),
            Err(Error::InvalidForm(_))
        ));
    }
}
