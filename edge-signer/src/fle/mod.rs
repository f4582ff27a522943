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
//! Nothing is ever forwarded in plaintext: a body that does not parse as its content type, a
//! content type the configuration does not encrypt, a required field that is missing, too many
//! values, or an encrypted body over the edge's limit is refused with a response object.

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
/// 1 MB; headers and the event's JSON need some of it.
pub const MAX_FORWARDED_BODY: usize = 1_000_000;

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
    /// host's CSPRNG: wasm has none). `Ok(None)` when the body is empty and nothing is
    /// required: nothing to change.
    ///
    /// # Errors
    /// The [`Refusal`] whose response CloudFront returns instead of forwarding anything.
    pub fn protect(
        &self,
        content_type: Option<&str>,
        body: &[u8],
        seed: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, Refusal> {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        let is_json = media
            .as_deref()
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        let is_form = media.as_deref() == Some("application/x-www-form-urlencoded");
        if body.is_empty() {
            let required = self.json.iter().any(|(_, r)| r.contains(&true))
                || self.form.iter().any(|(_, r)| !r.is_empty());
            return if required {
                Err(Refusal::MissingField)
            } else {
                Ok(None)
            };
        }
        let mut rng = ChaCha20Rng::from_seed(*seed);
        let out = match (&self.json, &self.form) {
            (Some((selectors, required)), _) if is_json => {
                self.protect_json(selectors, required, body, &mut rng)?
            }
            (_, Some((patterns, required))) if is_form => {
                self.protect_form(patterns, required, body, &mut rng)?
            }
            _ => return Err(Refusal::UnsupportedMediaType),
        };
        if out.len() > MAX_FORWARDED_BODY {
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
