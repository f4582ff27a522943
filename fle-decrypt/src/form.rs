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
use std::borrow::Cow;
use zeroize::Zeroizing;

/// CloudFront limits a pattern to 128 characters.
const MAX_PATTERN_LEN: usize = 128;
/// CloudFront accepts viewer bodies up to 1 MB; encryption grows each of at most 10 fields of
/// 16 KB by about a third plus ~1 KB, so 2 MiB is comfortably above anything it forwards.
pub(crate) const MAX_BODY_LEN: usize = 2 * 1024 * 1024;
/// A profile encrypts at most 10 field patterns, but a body may repeat a name; each matching
/// value costs an RSA operation, so cap them.
pub(crate) const MAX_ENCRYPTED_FIELDS: usize = 32;
/// Real forms have tens of fields (PHP refuses more than 1000 by default); a 1 MB body of `&`
/// has a million empty ones, each costing a scan and a name decoding, so refuse such bodies.
const MAX_FORM_PAIRS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn matches(&self, name: &[u8]) -> bool {
        match self {
            Pattern::Exact(e) => e.as_bytes() == name,
            Pattern::Prefix(p) => name.starts_with(p.as_bytes()),
        }
    }

    fn overlaps(&self, other: &Pattern) -> bool {
        match (self, other) {
            (Pattern::Exact(a), Pattern::Exact(b)) => a == b,
            (Pattern::Prefix(p), Pattern::Exact(e)) | (Pattern::Exact(e), Pattern::Prefix(p)) => {
                e.starts_with(p.as_str())
            }
            (Pattern::Prefix(a), Pattern::Prefix(b)) => {
                a.starts_with(b.as_str()) || b.starts_with(a.as_str())
            }
        }
    }
}

/// Field-name patterns with CloudFront's rules: case-sensitive, at most 128 characters of
/// `A-Z a-z 0-9 . _ - [ ]`, optionally ending in `*` (prefix match), none overlapping another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPatterns(Vec<Pattern>);

impl FieldPatterns {
    /// Parses a comma-separated list such as `card_*,ssn`.
    ///
    /// # Errors
    /// [`Error::InvalidForm`] for an empty list, a pattern CloudFront would refuse, or two
    /// patterns that overlap.
    pub fn parse(list: &str) -> Result<Self, Error> {
        Self::new(list.split(',').map(str::trim))
    }

    /// Builds patterns from separate strings.
    ///
    /// # Errors
    /// As [`FieldPatterns::parse`].
    pub fn new<'s>(patterns: impl IntoIterator<Item = &'s str>) -> Result<Self, Error> {
        let mut out: Vec<Pattern> = Vec::new();
        for p in patterns {
            let pattern = parse_pattern(p)?;
            if out.iter().any(|q| q.overlaps(&pattern)) {
                return Err(Error::InvalidForm("field patterns overlap"));
            }
            out.push(pattern);
        }
        if out.is_empty() {
            return Err(Error::InvalidForm("no field pattern given"));
        }
        Ok(Self(out))
    }

    /// Whether a (decoded) field name matches one of the patterns.
    pub fn matches(&self, name: &[u8]) -> bool {
        self.0.iter().any(|p| p.matches(name))
    }

    /// The patterns as written (`name` or `prefix*`).
    pub fn to_strings(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|p| match p {
                Pattern::Exact(e) => e.clone(),
                Pattern::Prefix(p) => format!("{p}*"),
            })
            .collect()
    }
}

fn parse_pattern(p: &str) -> Result<Pattern, Error> {
    let (stem, prefix) = match p.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (p, false),
    };
    if p.is_empty() || p.len() > MAX_PATTERN_LEN {
        return Err(Error::InvalidForm(
            "a field pattern must be 1 to 128 characters",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']');
    if !stem.chars().all(allowed) {
        return Err(Error::InvalidForm(
            "a field pattern may use only A-Z a-z 0-9 . _ - [ ] and one trailing *",
        ));
    }
    Ok(if prefix {
        Pattern::Prefix(stem.to_owned())
    } else {
        Pattern::Exact(stem.to_owned())
    })
}

/// One `name=value` pair of a body, as received: slices of the body, nothing owned.
pub(crate) struct Pair<'a> {
    /// Where `raw` starts in the body.
    pub(crate) start: usize,
    pub(crate) raw: &'a [u8],
    pub(crate) raw_name: &'a [u8],
    pub(crate) raw_value: &'a [u8],
}

impl Pair<'_> {
    /// The name after form decoding (`+` is a space, `%XX` a byte); borrowed when there is
    /// nothing to decode, so a pair that does not match costs no allocation.
    pub(crate) fn name(&self) -> Cow<'_, [u8]> {
        if self.raw_name.iter().any(|b| matches!(b, b'%' | b'+')) {
            Cow::Owned(percent_decode(self.raw_name, true))
        } else {
            Cow::Borrowed(self.raw_name)
        }
    }

    /// Where `raw` ends in the body.
    fn end(&self) -> usize {
        self.start.saturating_add(self.raw.len())
    }
}

/// Splits a body into pairs without changing a byte of any of them. The pairs are produced
/// one at a time: memory does not grow with their number.
pub(crate) fn split_pairs(body: &[u8]) -> Result<impl Iterator<Item = Pair<'_>>, Error> {
    if body.len() > MAX_BODY_LEN {
        return Err(Error::LimitExceeded("form body size"));
    }
    let separators = body.iter().filter(|b| **b == b'&').count();
    if separators >= MAX_FORM_PAIRS {
        return Err(Error::LimitExceeded("number of form fields"));
    }
    // An empty body has no pair at all (not one empty pair).
    let pairs = (!body.is_empty())
        .then(|| body.split(|b| *b == b'&'))
        .into_iter()
        .flatten();
    Ok(pairs.scan(0usize, |next_start, raw| {
        let start = *next_start;
        *next_start = start.saturating_add(raw.len()).saturating_add(1);
        let (raw_name, raw_value) = match raw.iter().position(|b| *b == b'=') {
            Some(i) => (
                raw.get(..i).unwrap_or_default(),
                raw.get(i.saturating_add(1)..).unwrap_or_default(),
            ),
            None => (raw, &b""[..]),
        };
        Some(Pair {
            start,
            raw,
            raw_name,
            raw_value,
        })
    }))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (a malformed escape stays as written); with `plus_is_space`, `+`
/// becomes a space as form decoding requires.
pub(crate) fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'%' => {
                let decoded = match rest {
                    [h, l, ..] => hex(*h).zip(hex(*l)).map(|(h, l)| h << 4 | l),
                    _ => None,
                };
                match decoded {
                    Some(byte) => {
                        out.push(byte);
                        rest = rest.get(2..).unwrap_or_default();
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    out
}

/// Form-encodes bytes: unreserved characters stay, space becomes `+`, the rest `%XX`.
pub(crate) fn form_encode(input: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in input {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b),
            b' ' => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.extend(HEX.get(usize::from(b >> 4)));
                out.extend(HEX.get(usize::from(b & 0x0f)));
            }
        }
    }
}

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

/// Whether the bytes could be the start of an ESDK message (v1 `01 80` or v2 `02`).
pub(crate) fn looks_like_message(bytes: &[u8]) -> bool {
    matches!(bytes, [0x01, 0x80, ..] | [0x02, ..])
}

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
    fn patterns_follow_cloudfront_rules() {
        let p = FieldPatterns::parse("card_*, ssn ,a[0]").unwrap();
        assert!(p.matches(b"card_number"));
        assert!(p.matches(b"card_"));
        assert!(p.matches(b"ssn"));
        assert!(p.matches(b"a[0]"));
        assert!(!p.matches(b"ssn2"));
        assert!(!p.matches(b"Card_number"), "case-sensitive");
        assert_eq!(p.to_strings(), ["card_*", "ssn", "a[0]"]);
        for bad in ["", "a b", "a*b", "*x", "ünïcode", "a,,b", &"x".repeat(129)] {
            assert!(FieldPatterns::parse(bad).is_err(), "{bad:?}");
        }
        for overlapping in ["a,a", "card_*,card_no", "card*,card_*", "x,x*"] {
            assert_eq!(
                FieldPatterns::parse(overlapping),
                Err(Error::InvalidForm("field patterns overlap")),
                "{overlapping}"
            );
        }
        // A bare `*` matches every field: CloudFront allows a prefix of length zero.
        assert!(FieldPatterns::parse("*").unwrap().matches(b"anything"));
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode(b"a%2Bb+c%2", true), b"a+b c%2");
        assert_eq!(percent_decode(b"a%2bb+c%zz%", false), b"a+b+c%zz%");
    }

    #[test]
    fn form_encoding_round_trips() {
        let input: Vec<u8> = (0..=255).collect();
        let mut enc = Vec::new();
        form_encode(&input, &mut enc);
        assert!(enc.iter().all(|b| b.is_ascii_graphic()));
        assert_eq!(percent_decode(&enc, true), input);
    }

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
        let at_cap = vec![b'&'; MAX_FORM_PAIRS - 1];
        let form = decrypt_form(&keyring, &at_cap, &p).unwrap();
        assert_eq!(form.to_body().expose(), &at_cap[..]);
        let over = vec![b'&'; MAX_FORM_PAIRS];
        assert_eq!(
            decrypt_form(&keyring, &over, &p).unwrap_err(),
            Error::LimitExceeded("number of form fields")
        );
    }

    #[test]
    fn pairs_borrow_the_body_and_know_where_they_are() {
        let pairs: Vec<_> = split_pairs(b"a=1&&b%5B%5D=x+y&c")
            .unwrap()
            .map(|p| (p.start, p.raw, p.raw_value, p.name().into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                (0, &b"a=1"[..], &b"1"[..], b"a".to_vec()),
                (4, b"", b"", b"".to_vec()),
                (5, b"b%5B%5D=x+y", b"x+y", b"b[]".to_vec()),
                (17, b"c", b"", b"c".to_vec()),
            ]
        );
        assert_eq!(split_pairs(b"").unwrap().count(), 0);
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
