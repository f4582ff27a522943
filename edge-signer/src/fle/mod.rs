//! Field-level encryption at the edge: the origin-request function encrypts the configured
//! fields of the body, then signs exactly the bytes it forwards.
//!
//! CloudFront's own field-level encryption takes only form bodies (at most 10 fields of 16 KB);
//! here JSON bodies are encrypted by selector (`/card/number`, `/payments/*/iban`: JSON
//! Pointers with `*`, from `fle-fields`, which the backend's `fle-decrypt` reads the same way)
//! and form bodies by CloudFront's own pattern rules. Each selected value becomes the base64
//! string of an AWS Encryption SDK message for the profile's RSA public key, provider ID and
//! key name: what CloudFront writes and `fle-decrypt` reads.
//!
//! JSON is rewritten in place: only the selected values' bytes change (each is encrypted as
//! the JSON text it was sent as, whatever its type), so numbers, member order and spacing
//! elsewhere reach the origin as the viewer sent them.
//!
//! Nothing is ever forwarded in plaintext. Refused with a response object instead:
//! - a JSON body that is not UTF-8 JSON, or has an object with a repeated member name;
//! - a body whose content type the configuration does not encrypt, or that is ambiguous (no
//!   `content-type`, several, a list), a `content-encoding` other than `identity` (a gzipped
//!   form would pass the pattern matching unread), a form in a charset other than UTF-8;
//! - a required field that is missing (per format: JSON requirements bind JSON bodies);
//! - more than 32 values, or an encrypted body over what Lambda@Edge may return.
//!
//! An empty body has nothing to protect and is forwarded as it is. Field names match exactly,
//! as CloudFront's patterns do: an origin framework that binds names case-insensitively (or
//! rewrites `card.number` to `card_number`) must be configured to match, or it may read a field
//! the edge did not encrypt (docs/edge-signer.md).

pub mod message;

use std::collections::BTreeSet;

use chacha20::ChaCha20Rng;
use fle_fields::form::FieldPatterns;
use fle_fields::json::{array_index, JsonSelectors, Segment};
use rand_core::SeedableRng as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::sign::Refusal;
pub use message::{Materials, MessageError, MessageWriter, Suite};

/// What the function may return to CloudFront: Lambda@Edge caps the generated request at
/// 1 MB; headers and the event's JSON need some of it. Counted as the body travels in the
/// function's JSON answer (escaped text, or base64).
pub const MAX_FORWARDED_BODY: usize = 1_000_000;

/// The request headers edge encryption reads: every `content-type` and `content-encoding`
/// value (header names compared ignoring case).
#[derive(Debug, Default, Clone)]
pub struct BodyHeaders<'a> {
    pub content_type: Vec<&'a str>,
    pub content_encoding: Vec<&'a str>,
}

impl<'a> BodyHeaders<'a> {
    /// Collects them from (name, values) pairs.
    pub fn collect<V: AsRef<str> + 'a>(
        headers: impl IntoIterator<Item = (&'a str, impl IntoIterator<Item = &'a V>)>,
    ) -> Self {
        let mut out = Self::default();
        for (name, values) in headers {
            let slot = if name.eq_ignore_ascii_case("content-type") {
                &mut out.content_type
            } else if name.eq_ignore_ascii_case("content-encoding") {
                &mut out.content_encoding
            } else {
                continue;
            };
            slot.extend(values.into_iter().map(AsRef::as_ref));
        }
        out
    }
}

/// The body format a request declares, if it is one the edge reads unambiguously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Form,
}

fn format_of(headers: &BodyHeaders<'_>) -> Result<Format, Refusal> {
    let encoded = headers
        .content_encoding
        .iter()
        .any(|e| !e.trim().eq_ignore_ascii_case("identity"));
    let [content_type] = headers.content_type.as_slice() else {
        return Err(Refusal::UnsupportedMediaType);
    };
    if encoded || content_type.contains(',') {
        return Err(Refusal::UnsupportedMediaType);
    }
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let charset = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
    let utf8 = charset
        .as_deref()
        .is_none_or(|c| matches!(c, "utf-8" | "utf8" | "us-ascii"));
    if !utf8 {
        return Err(Refusal::UnsupportedMediaType);
    }
    if media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"))
    {
        Ok(Format::Json)
    } else if media == "application/x-www-form-urlencoded" {
        Ok(Format::Form)
    } else {
        Err(Refusal::UnsupportedMediaType)
    }
}

/// The size of `body` in the function's JSON answer: escaped text when it is UTF-8, else
/// base64 ([`crate::event::Body::replacement`]).
fn answer_size(body: &[u8]) -> usize {
    if std::str::from_utf8(body).is_ok() {
        body.iter().fold(0usize, |n, b| {
            n.saturating_add(match b {
                b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
                0..=0x1f => 6,
                _ => 1,
            })
        })
    } else {
        body.len().div_ceil(3).saturating_mul(4)
    }
}

/// The `encrypt` section of the edge package's `config.json` (written by
/// `fle edge package --encrypt PROFILE`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptConfig {
    /// The keystore profile it came from (for messages and `fle edge package`'s report).
    #[serde(default)]
    pub profile: String,
    /// The EDK provider ID (the profile's `ProviderId`).
    pub provider_id: String,
    /// The EDK provider info: the public key's name, as CloudFront writes it.
    pub key_name: String,
    /// `PUBLIC KEY` PEM (SubjectPublicKeyInfo), RSA-2048 or larger.
    pub public_key: String,
    /// `0x0478` (default) or `0x0378`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<FieldRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FieldRules>,
}

/// The fields of one body format: JSON selectors, or form-field patterns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldRules {
    pub fields: Vec<String>,
    /// Entries of `fields` a body of this format must have (a request without one is refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
}

/// Why an encryption configuration was refused. Names the problem, never key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid edge encryption configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A checked configuration, ready to encrypt bodies.
#[derive(Debug)]
pub struct EdgeEncryption {
    writer: MessageWriter,
    json: Option<(JsonSelectors, Vec<bool>)>,
    form: Option<(FieldPatterns, Vec<FieldPatterns>)>,
}

impl EdgeEncryption {
    /// Parses and checks the `encrypt` section given as JSON.
    ///
    /// # Errors
    /// [`ConfigError`] for unreadable JSON, a bad key, suite, selector or pattern, a required
    /// entry that is not one of the fields, or no fields at all.
    pub fn from_json(config: &[u8]) -> Result<Self, ConfigError> {
        let config: EncryptConfig = serde_json::from_slice(config)
            .map_err(|e| ConfigError(format!("not an encrypt section ({e})")))?;
        Self::new(&config)
    }

    /// Checks a configuration.
    ///
    /// # Errors
    /// As [`EdgeEncryption::from_json`].
    pub fn new(config: &EncryptConfig) -> Result<Self, ConfigError> {
        let bad = |what: &str, e: &dyn std::fmt::Display| ConfigError(format!("{what}: {e}"));
        let suite = match config.suite.as_deref() {
            None => Suite::default(),
            Some(name) => Suite::from_name(name)
                .ok_or_else(|| ConfigError(format!("suite {name:?}: expected 0x0478 or 0x0378")))?,
        };
        let writer = MessageWriter::new(
            &config.public_key,
            &config.provider_id,
            &config.key_name,
            suite,
        )
        .map_err(|e| bad("publicKey", &e))?;
        let required_subset = |rules: &FieldRules| -> Result<(), ConfigError> {
            match rules.required.iter().find(|r| !rules.fields.contains(r)) {
                Some(r) => Err(ConfigError(format!(
                    "required {r:?} is not one of the fields"
                ))),
                None => Ok(()),
            }
        };
        let json = match &config.json {
            None => None,
            Some(rules) => {
                required_subset(rules)?;
                let selectors = JsonSelectors::new(rules.fields.iter().map(String::as_str))
                    .map_err(|e| bad("json.fields", &e))?;
                let required = rules
                    .fields
                    .iter()
                    .map(|f| rules.required.contains(f))
                    .collect();
                Some((selectors, required))
            }
        };
        let form = match &config.form {
            None => None,
            Some(rules) => {
                required_subset(rules)?;
                let patterns = FieldPatterns::new(rules.fields.iter().map(String::as_str))
                    .map_err(|e| bad("form.fields", &e))?;
                let required = rules
                    .required
                    .iter()
                    .map(|r| FieldPatterns::new([r.as_str()]))
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad("form.required", &e))?;
                Some((patterns, required))
            }
        };
        if json.is_none() && form.is_none() {
            return Err(ConfigError("neither json nor form fields".into()));
        }
        Ok(Self { writer, json, form })
    }

    /// The suite messages are written with.
    pub fn suite(&self) -> Suite {
        self.writer.suite()
    }

    /// Encrypts the configured fields of a body with randomness from `seed` (32 bytes from the
    /// host's CSPRNG: wasm has none; never use one twice). `Ok(None)` when the body is empty:
    /// nothing to protect, nothing to change.
    ///
    /// # Errors
    /// The [`Refusal`] whose response CloudFront returns instead of forwarding anything.
    pub fn protect(
        &self,
        headers: &BodyHeaders<'_>,
        body: &[u8],
        seed: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, Refusal> {
        if body.is_empty() {
            return Ok(None);
        }
        let mut rng = ChaCha20Rng::from_seed(*seed);
        let out = match (format_of(headers)?, &self.json, &self.form) {
            (Format::Json, Some((selectors, required)), _) => {
                self.protect_json(selectors, required, body, &mut rng)?
            }
            (Format::Form, _, Some((patterns, required))) => {
                self.protect_form(patterns, required, body, &mut rng)?
            }
            _ => return Err(Refusal::UnsupportedMediaType),
        };
        if answer_size(&out) > MAX_FORWARDED_BODY {
            return Err(Refusal::EncryptedBodyTooLarge);
        }
        Ok(Some(out))
    }

    /// One value's message, in base64. The request's materials are made on its first value.
    fn encrypt_b64(
        &self,
        materials: &mut Option<Materials>,
        rng: &mut ChaCha20Rng,
        plaintext: &[u8],
    ) -> Result<String, Refusal> {
        use base64::Engine as _;
        let failed = |_| Refusal::EncryptionFailed;
        let materials = match materials {
            Some(m) => m,
            None => materials.insert(self.writer.materials(rng).map_err(failed)?),
        };
        let message = self
            .writer
            .encrypt(materials, rng, plaintext)
            .map_err(failed)?;
        Ok(base64::engine::general_purpose::STANDARD.encode(message))
    }

    fn protect_json(
        &self,
        selectors: &JsonSelectors,
        required: &[bool],
        body: &[u8],
        rng: &mut ChaCha20Rng,
    ) -> Result<Vec<u8>, Refusal> {
        if body.len() > fle_fields::MAX_BODY_LEN {
            return Err(Refusal::EncryptedBodyTooLarge);
        }
        let text = std::str::from_utf8(body).map_err(|_| Refusal::UnreadableBody)?;
        let root: &RawValue = serde_json::from_str(text).map_err(|_| Refusal::UnreadableBody)?;
        let mut picks: Vec<&RawValue> = Vec::new();
        for (selector, required) in selectors.segments().zip(required) {
            let before = picks.len();
            walk(root, selector, &mut picks)?;
            if *required && picks.len() == before {
                return Err(Refusal::MissingField);
            }
        }
        // Each pick as a span of the body (they never overlap: selectors may not).
        let base = text.as_ptr().addr();
        let mut spans = picks
            .iter()
            .map(|raw| {
                let start = raw.get().as_ptr().addr().checked_sub(base)?;
                let end = start.checked_add(raw.get().len())?;
                (text.get(start..end) == Some(raw.get())).then_some((start, end))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(Refusal::UnreadableBody)?;
        spans.sort_unstable();
        let mut out = Vec::with_capacity(body.len().saturating_mul(2).saturating_add(1024));
        let mut materials = None;
        let mut done = 0;
        for (start, end) in spans {
            out.extend_from_slice(body.get(done..start).ok_or(Refusal::UnreadableBody)?);
            let plaintext = body.get(start..end).ok_or(Refusal::UnreadableBody)?;
            out.push(b'"');
            out.extend_from_slice(self.encrypt_b64(&mut materials, rng, plaintext)?.as_bytes());
            out.push(b'"');
            done = end;
        }
        out.extend_from_slice(body.get(done..).unwrap_or_default());
        Ok(out)
    }

    fn protect_form(
        &self,
        patterns: &FieldPatterns,
        required: &[FieldPatterns],
        body: &[u8],
        rng: &mut ChaCha20Rng,
    ) -> Result<Vec<u8>, Refusal> {
        let mut seen = vec![false; required.len()];
        let mut count: usize = 0;
        let mut materials = None;
        let out = fle_fields::form::map_values(body, patterns, |name, value| {
            count = count.saturating_add(1);
            if count > fle_fields::MAX_ENCRYPTED_VALUES {
                return Err(Refusal::TooManyFields);
            }
            for (seen, pattern) in seen.iter_mut().zip(required) {
                *seen |= pattern.matches(name);
            }
            Ok(self.encrypt_b64(&mut materials, rng, value)?.into_bytes())
        })?;
        if seen.contains(&false) {
            return Err(Refusal::MissingField);
        }
        Ok(out)
    }
}

impl From<fle_fields::Error> for Refusal {
    fn from(e: fle_fields::Error) -> Self {
        match e {
            fle_fields::Error::LimitExceeded(_) => Refusal::EncryptedBodyTooLarge,
            fle_fields::Error::InvalidForm(_) | fle_fields::Error::InvalidJson(_) => {
                Refusal::UnreadableBody
            }
        }
    }
}

/// Collects the values one selector picks, in document order, from the raw JSON text. An
/// object with a repeated member name is refused: the origin's parser would read one copy,
/// and the other could travel in plaintext.
fn walk<'a>(
    raw: &'a RawValue,
    selector: &[Segment],
    out: &mut Vec<&'a RawValue>,
) -> Result<(), Refusal> {
    let Some((first, rest)) = selector.split_first() else {
        if out.len() >= fle_fields::MAX_ENCRYPTED_VALUES {
            return Err(Refusal::TooManyFields);
        }
        out.push(raw);
        return Ok(());
    };
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            let members: Members<'a> =
                serde_json::from_str(text).map_err(|_| Refusal::UnreadableBody)?;
            let mut names = BTreeSet::new();
            if !members
                .0
                .iter()
                .all(|(name, _)| names.insert(name.as_str()))
            {
                return Err(Refusal::UnreadableBody);
            }
            for (name, child) in &members.0 {
                if matches!(first, Segment::Any) || matches!(first, Segment::Name(n) if n == name) {
                    walk(child, rest, out)?;
                }
            }
        }
        Some(b'[') => {
            let items: Vec<&'a RawValue> =
                serde_json::from_str(text).map_err(|_| Refusal::UnreadableBody)?;
            match first {
                Segment::Any => {
                    for child in items {
                        walk(child, rest, out)?;
                    }
                }
                Segment::Name(name) => {
                    if let Some(child) = array_index(name).and_then(|i| items.get(i)) {
                        walk(child, rest, out)?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// An object's members in order, each value left as raw text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members<'a>, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'a RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// The 32-byte seed of one request, given as 64 hex digits.
pub fn parse_seed(hex: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (dst, pair) in seed.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |b: u8| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        let (hi, lo) = match pair {
            [h, l] => (digit(*h)?, digit(*l)?),
            _ => return None,
        };
        *dst = hi << 4 | lo;
    }
    Some(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_2048: &str = include_str!("../../tests/fixtures/keys/rsa-2048-public.pem");
    const KEY_2040: &str = include_str!("../../tests/fixtures/keys/rsa-2040-public.pem");

    fn encryption(json: &[&str], form: &[&str]) -> EdgeEncryption {
        let rules = |f: &[&str]| {
            (!f.is_empty()).then(|| FieldRules {
                fields: f.iter().map(|s| (*s).to_owned()).collect(),
                required: Vec::new(),
            })
        };
        EdgeEncryption::new(&EncryptConfig {
            profile: "p".into(),
            provider_id: "prov".into(),
            key_name: "key".into(),
            public_key: KEY_2048.into(),
            suite: None,
            json: rules(json),
            form: rules(form),
        })
        .unwrap()
    }

    fn headers<'a>(ct: &[&'a str], ce: &[&'a str]) -> BodyHeaders<'a> {
        BodyHeaders {
            content_type: ct.to_vec(),
            content_encoding: ce.to_vec(),
        }
    }

    #[test]
    fn seeds_are_exactly_64_hex_digits() {
        let seed = parse_seed(&"0a".repeat(32)).unwrap();
        assert_eq!(*seed, [0x0a; 32]);
        assert_eq!(parse_seed(&"AB".repeat(32)).map(|s| s[0]), Some(0xab));
        for bad in [
            "",
            "0a",
            &"0a".repeat(33),
            &"zz".repeat(32),
            &"+1".repeat(32),
        ] {
            assert!(parse_seed(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn suites_by_name() {
        assert_eq!(Suite::from_name("0x0478"), Some(Suite::Committing));
        assert_eq!(Suite::from_name("0378"), Some(Suite::CloudFront));
        assert_eq!(Suite::from_name("0x0578"), None);
        assert_eq!(Suite::default().id(), 0x0478);
    }

    #[test]
    fn keys_are_measured_by_their_modulus() {
        let writer = |pem: &str| MessageWriter::new(pem, "p", "k", Suite::default());
        assert!(writer(KEY_2048).is_ok());
        // 2040 bits fill 256 bytes like 2048 do: the integer's width would let it through.
        assert_eq!(writer(KEY_2040).unwrap_err(), MessageError::InvalidKey);
    }

    #[test]
    fn content_types_are_read_strictly() {
        let json = Ok(Format::Json);
        let form = Ok(Format::Form);
        let refused = Err(Refusal::UnsupportedMediaType);
        for (ct, ce, want) in [
            (&["application/json"][..], &[][..], json),
            (&["Application/JSON; charset=UTF-8"], &[], json),
            (&["application/problem+json"], &["identity"], json),
            (
                &["application/x-www-form-urlencoded; charset=\"utf-8\""],
                &[],
                form,
            ),
            (
                &["application/x-www-form-urlencoded; charset=utf-16"],
                &[],
                refused,
            ),
            (&["application/json"], &["gzip"], refused),
            (&["application/json", "application/json"], &[], refused),
            (
                &["application/x-www-form-urlencoded, application/json"],
                &[],
                refused,
            ),
            (&[], &[], refused),
            (&["text/json"], &[], refused),
            (&["multipart/form-data; boundary=x"], &[], refused),
        ] {
            assert_eq!(format_of(&headers(ct, ce)), want, "{ct:?} {ce:?}");
        }
    }

    #[test]
    fn headers_are_collected_ignoring_case() {
        let h: Vec<(&str, Vec<String>)> = vec![
            ("content-type", vec!["application/json".into()]),
            ("Content-Type", vec!["text/plain".into()]),
            ("content-encoding", vec!["br".into()]),
            ("x-other", vec!["y".into()]),
        ];
        let got = BodyHeaders::collect(h.iter().map(|(n, v)| (*n, v.iter())));
        assert_eq!(got.content_type, ["application/json", "text/plain"]);
        assert_eq!(got.content_encoding, ["br"]);
    }

    #[test]
    fn the_answer_size_counts_escapes() {
        assert_eq!(answer_size(b"ab"), 2);
        assert_eq!(answer_size(b"\"\\\n"), 6);
        assert_eq!(answer_size(b"\x01"), 6);
        assert_eq!(answer_size(&[0xff, 0xfe, 0xfd]), 4);
    }

    #[test]
    fn repeated_members_are_refused_also_when_escaped() {
        let e = encryption(&["/card/number"], &[]);
        let h = headers(&["application/json"], &[]);
        for body in [
            r#"{"card": {"number": "4111", "number": "x"}}"#,
            r#"{"card": {"number": "4111", "\u006eumber": "x"}}"#,
            r#"{"card": {"number": "x"}, "card": {"number": "4111"}}"#,
            "\u{feff}{\"card\": {\"number\": \"4111\"}}",
        ] {
            assert_eq!(
                e.protect(&h, body.as_bytes(), &[1; 32]),
                Err(Refusal::UnreadableBody),
                "{body}"
            );
        }
        // A repeat in an object no selector walks is the origin's business, not a leak.
        let ok = e.protect(
            &h,
            br#"{"meta": {"x": 1, "x": 2}, "card": {"number": "4111"}}"#,
            &[1; 32],
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn an_empty_body_is_forwarded_and_a_format_without_fields_is_refused() {
        let e = encryption(&["/card/number"], &[]);
        let h = headers(&["application/json"], &[]);
        assert_eq!(e.protect(&h, b"", &[1; 32]), Ok(None));
        let form = headers(&["application/x-www-form-urlencoded"], &[]);
        assert_eq!(
            e.protect(&form, b"card=4111", &[1; 32]),
            Err(Refusal::UnsupportedMediaType)
        );
    }
}
