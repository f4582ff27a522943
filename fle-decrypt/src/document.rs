//! The keyring document (format 1): every private key of one provider, as the CLI writes it and
//! every backend reads it (`private/<provider>.json` locally, one Secrets Manager secret or SSM
//! SecureString per provider on AWS). `docs/keystore.md` describes the format.
//!
//! This module is the one parser and the one writer of that document. It validates the format
//! version, the provider id, every key name (valid and unique), every status, and the shape of
//! every private key; [`Keyring::from_document`] then parses the keys and reports a broken one by
//! name while the others keep working.
//!
//! Errors say where the document is wrong and what shape was expected, never what was there: a
//! misplaced PEM must not reach a log through an error message.
//!
//! ```
//! use fle_decrypt::document::KeyringDocument;
//! use fle_decrypt::Keyring;
//! # fn load(secret_string: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! let doc = KeyringDocument::parse_for(secret_string, "checkout")?;
//! let (keyring, broken) = Keyring::from_document(&doc);
//! for b in &broken {
//!     eprintln!("skipping {b}"); // names the key and the class, never the key
//! }
//! # let _ = keyring; Ok(()) }
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::keyring::Keyring;
use crate::keys::{Padding, PrivateKey};

/// The document format this crate reads and writes.
pub const FORMAT: u32 = 1;

/// Largest document accepted: Secrets Manager holds at most 64 KiB, an SSM Advanced parameter
/// 8 KiB; a local file 4× the larger of the two is already absurd.
pub const MAX_DOCUMENT_LEN: usize = 256 * 1024;

/// Most keys in one keyring: CloudFront allows 10 public keys per account, and a keyring holds at
/// most those plus keys being retired.
pub const MAX_KEYS: usize = 32;

/// Longest provider id or key name CloudFront accepts.
pub const MAX_NAME_LEN: usize = 128;

/// Longest PEM accepted for one key (an RSA-4096 PKCS#8 PEM is about 3.3 KB).
const MAX_PEM_LEN: usize = 16 * 1024;

/// Longest free-text value (times, claim owners, profile names in notes).
const MAX_TEXT_LEN: usize = 256;

/// Whether `id` is a valid CloudFront FLE provider id: letters, digits, `:`, `-`, `_`, 1–128.
pub fn is_valid_provider_id(id: &str) -> bool {
    valid_name(id, &[':', '-', '_'])
}

/// Whether `name` is a valid CloudFront public key name: letters, digits, `-`, `_`, 1–128.
pub fn is_valid_key_name(name: &str) -> bool {
    valid_name(name, &['-', '_'])
}

fn valid_name(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// Where a private key stands in its life. Backends that decrypt load every status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Stored by a rotation before any profile points at its public key.
    Pending,
    /// The key the profile encrypts with.
    Current,
    /// Replaced by a rotation; still decrypts until `retire_after`.
    Previous,
    /// `fle keys retire` has started removing it (public key first, then the private key).
    Retiring,
}

impl KeyStatus {
    /// Every status, in life order.
    pub const ALL: [KeyStatus; 4] = [
        KeyStatus::Pending,
        KeyStatus::Current,
        KeyStatus::Previous,
        KeyStatus::Retiring,
    ];

    /// The status as written in the document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Retiring => "retiring",
        }
    }

    /// Parses a status as written in the document.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PEM private key as text: zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PrivateKeyPem(Zeroizing<String>);

impl PrivateKeyPem {
    /// Wraps a PEM the caller holds.
    pub fn new(pem: String) -> Self {
        Self(Zeroizing::new(pem))
    }

    /// The PEM text. Keep it out of logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Parses the key (RSA, at least 2048 bits).
    ///
    /// # Errors
    /// [`crate::Error::InvalidKey`] when the PEM does not hold a usable RSA private key.
    pub fn parse(&self) -> Result<PrivateKey, crate::Error> {
        PrivateKey::from_pem(self.0.as_bytes())
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem([redacted])")
    }
}

/// Which profile a pending key is for and which key it replaces, so a rerun can resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationNote {
    /// The profile the rotation moves onto this key.
    pub profile: String,
    /// The key it replaces.
    pub replaces: String,
}

/// One private key of the keyring.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    /// The CloudFront public key name = the ESDK key-provider info.
    pub key_name: String,
    /// Where the key stands in its life.
    pub status: KeyStatus,
    /// RFC 3339 UTC; set when the key becomes `previous`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<String>,
    /// RFC 3339 UTC.
    pub created: String,
    /// Set while `pending`: the rotation that stored the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationNote>,
    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
    pub private_key_pem: PrivateKeyPem,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("key_name", &self.key_name)
            .field("status", &self.status)
            .field("retire_after", &self.retire_after)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

/// "Profile `profile` is being rotated by `owner` until `expires`" (RFC 3339 UTC): the AWS
/// backend's rotation lease, kept in the keyring so it is written with the same compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The profile being rotated.
    pub profile: String,
    /// Who holds the claim.
    pub owner: String,
    /// When the claim lapses without its owner.
    pub expires: String,
}

/// A provider's keyring document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyringDocument {
    /// Always [`FORMAT`] once parsed.
    pub format: u32,
    /// The FLE profile's provider id = the ESDK key-provider id.
    pub provider_id: String,
    /// Every live private key.
    pub keys: Vec<KeyEntry>,
    /// Running rotations (AWS backend only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
}

/// Why a keyring document was refused. Never carries a value from the document, only where it
/// is and what was expected (a key name is shown only once it is known to be a valid name).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON.
    #[error("not a JSON document (line {line}, column {column})")]
    Syntax {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column of the first error.
        column: usize,
    },
    /// Larger than [`MAX_DOCUMENT_LEN`] or more than [`MAX_KEYS`] keys.
    #[error("keyring document too large: {0}")]
    TooLarge(&'static str),
    /// A member is missing or of the wrong type or value.
    #[error("{path}: expected {expected}")]
    Shape {
        /// JSON path of the member, e.g. `keys[2].privateKeyPem`.
        path: String,
        /// What a format-1 document has there.
        expected: &'static str,
    },
    /// A format other than [`FORMAT`].
    #[error("keyring format {0} is not supported (this build reads format {FORMAT})")]
    UnsupportedFormat(u64),
    /// The document belongs to another provider.
    #[error("the keyring is for provider {found:?}, not {expected:?}")]
    WrongProvider {
        /// Provider asked for.
        expected: String,
        /// Provider the document names.
        found: String,
    },
    /// Two keys with one name: which one decrypts would depend on their order.
    #[error("key name {0:?} appears more than once")]
    DuplicateKeyName(String),
}

impl DocumentError {
    fn shape(path: impl Into<String>, expected: &'static str) -> Self {
        Self::Shape {
            path: path.into(),
            expected,
        }
    }
}

/// A key of the document that could not be loaded; the others still are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenKey {
    /// The key's (valid) name.
    pub key_name: String,
    /// Why, as a class: never the key itself.
    pub error: crate::Error,
}

impl fmt::Display for BrokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {:?}: {}", self.key_name, self.error)
    }
}

impl KeyringDocument {
    /// An empty keyring of `provider_id`.
    pub fn empty(provider_id: &str) -> Self {
        Self {
            format: FORMAT,
            provider_id: provider_id.to_owned(),
            keys: Vec::new(),
            claims: Vec::new(),
        }
    }

    /// Parses and validates a document.
    ///
    /// # Errors
    /// A [`DocumentError`] saying where the document departs from format 1.
    pub fn parse(bytes: &[u8]) -> Result<Self, DocumentError> {
        if bytes.len() > MAX_DOCUMENT_LEN {
            return Err(DocumentError::TooLarge("over 256 KiB"));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| DocumentError::Syntax {
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(mut root) = value else {
            return Err(DocumentError::shape("(document)", "an object"));
        };
        let format = match root.get("format") {
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| DocumentError::shape("format", "the number 1"))?,
            _ => return Err(DocumentError::shape("format", "the number 1")),
        };
        if format != u64::from(FORMAT) {
            return Err(DocumentError::UnsupportedFormat(format));
        }
        let provider_id = take_string(&mut root, "", "providerId", PROVIDER_SHAPE)?;
        if !is_valid_provider_id(&provider_id) {
            return Err(DocumentError::shape("providerId", PROVIDER_SHAPE));
        }
        let keys = match root.remove("keys") {
            Some(Value::Array(items)) => items,
            _ => return Err(DocumentError::shape("keys", "an array of keys")),
        };
        if keys.len() > MAX_KEYS {
            return Err(DocumentError::TooLarge("more than 32 keys"));
        }
        let mut entries: Vec<KeyEntry> = Vec::with_capacity(keys.len());
        for (i, item) in keys.into_iter().enumerate() {
            let entry = parse_entry(item, i)?;
            if entries.iter().any(|e| e.key_name == entry.key_name) {
                return Err(DocumentError::DuplicateKeyName(entry.key_name));
            }
            entries.push(entry);
        }
        let claims = match root.remove("claims") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, c)| parse_claim(c, i))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(DocumentError::shape("claims", "an array of claims")),
        };
        Ok(Self {
            format: FORMAT,
            provider_id,
            keys: entries,
            claims,
        })
    }

    /// [`KeyringDocument::parse`], then checks that the document is `provider_id`'s.
    ///
    /// # Errors
    /// As [`KeyringDocument::parse`], and [`DocumentError::WrongProvider`].
    pub fn parse_for(bytes: &[u8], provider_id: &str) -> Result<Self, DocumentError> {
        let doc = Self::parse(bytes)?;
        if doc.provider_id != provider_id {
            return Err(DocumentError::WrongProvider {
                expected: provider_id.to_owned(),
                found: doc.provider_id,
            });
        }
        Ok(doc)
    }

    /// The key named `key_name`.
    pub fn get(&self, key_name: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.key_name == key_name)
    }

    /// The key named `key_name`, to change it.
    pub fn get_mut(&mut self, key_name: &str) -> Option<&mut KeyEntry> {
        self.keys.iter_mut().find(|k| k.key_name == key_name)
    }

    /// Parses every key and returns those that cannot be used (by name, with the class).
    pub fn broken_keys(&self) -> Vec<BrokenKey> {
        self.keys
            .iter()
            .filter_map(|k| {
                k.private_key_pem.parse().err().map(|error| BrokenKey {
                    key_name: k.key_name.clone(),
                    error,
                })
            })
            .collect()
    }

    /// The document as pretty JSON (the layout the CLI has always written), in a buffer sized
    /// once so that it never reallocates and leaves unwiped copies of the keys behind.
    pub fn to_json_pretty(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.size_estimate()));
        // Serializing plain strings and numbers into a Vec cannot fail.
        if serde_json::to_writer_pretty(&mut *out, self).is_err() {
            out.clear();
        }
        out
    }

    /// The document as compact JSON, for stores with a small size limit (an SSM Advanced
    /// parameter holds 8 KiB), in a buffer sized once like [`KeyringDocument::to_json_pretty`].
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.size_estimate()));
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.clear();
        }
        out
    }

    /// Room for the serialized document and a trailing newline, with slack.
    fn size_estimate(&self) -> usize {
        1024 + self
            .keys
            .iter()
            .map(|k| k.private_key_pem.expose().len() * 2 + 512)
            .sum::<usize>()
            + self.claims.len() * 512
    }
}

const PROVIDER_SHAPE: &str = "a provider id (letters, digits, ':', '-', '_'; 1 to 128)";
const KEY_NAME_SHAPE: &str = "a key name (letters, digits, '-', '_'; 1 to 128)";
const STATUS_SHAPE: &str = "one of \"pending\", \"current\", \"previous\", \"retiring\"";
const PEM_SHAPE: &str = "a PEM private key (\"-----BEGIN PRIVATE KEY-----\" ...)";
const TEXT_SHAPE: &str = "a string of at most 256 characters";
const TIME_SHAPE: &str = "an RFC 3339 time (\"2026-11-01T10:00:00Z\")";

/// Longest RFC 3339 time accepted (with nanoseconds and an offset it is 35 characters).
const MAX_TIME_LEN: usize = 40;

fn take_string(
    obj: &mut Map<String, Value>,
    at: &str,
    member: &str,
    expected: &'static str,
) -> Result<String, DocumentError> {
    match obj.remove(member) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(DocumentError::shape(format!("{at}{member}"), expected)),
    }
}

fn take_text(
    obj: &mut Map<String, Value>,
    at: &str,
    member: &str,
) -> Result<String, DocumentError> {
    let s = take_string(obj, at, member, TEXT_SHAPE)?;
    if s.len() > MAX_TEXT_LEN {
        return Err(DocumentError::shape(format!("{at}{member}"), TEXT_SHAPE));
    }
    Ok(s)
}

fn take_time(
    obj: &mut Map<String, Value>,
    at: &str,
    member: &str,
) -> Result<String, DocumentError> {
    let s = take_string(obj, at, member, TIME_SHAPE)?;
    let time_chars = |c: char| c.is_ascii_digit() || "-:.+TZtz ".contains(c);
    if s.is_empty() || s.len() > MAX_TIME_LEN || !s.chars().all(time_chars) {
        return Err(DocumentError::shape(format!("{at}{member}"), TIME_SHAPE));
    }
    Ok(s)
}

fn take_optional_time(
    obj: &mut Map<String, Value>,
    at: &str,
    member: &str,
) -> Result<Option<String>, DocumentError> {
    match obj.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => take_time(obj, at, member).map(Some),
    }
}

fn parse_entry(item: Value, i: usize) -> Result<KeyEntry, DocumentError> {
    let at = format!("keys[{i}].");
    let Value::Object(mut obj) = item else {
        return Err(DocumentError::shape(format!("keys[{i}]"), "an object"));
    };
    // The PEM moves out of the parsed tree without a copy, straight into zeroizing storage.
    let pem = PrivateKeyPem::new(take_string(&mut obj, &at, "privateKeyPem", PEM_SHAPE)?);
    if pem.expose().len() > MAX_PEM_LEN || !looks_like_private_key_pem(pem.expose()) {
        return Err(DocumentError::shape(
            format!("{at}privateKeyPem"),
            PEM_SHAPE,
        ));
    }
    let key_name = take_string(&mut obj, &at, "keyName", KEY_NAME_SHAPE)?;
    if !is_valid_key_name(&key_name) {
        drop(Zeroizing::new(key_name));
        return Err(DocumentError::shape(format!("{at}keyName"), KEY_NAME_SHAPE));
    }
    let status = take_string(&mut obj, &at, "status", STATUS_SHAPE)
        .ok()
        .as_deref()
        .and_then(KeyStatus::from_name)
        .ok_or_else(|| DocumentError::shape(format!("{at}status"), STATUS_SHAPE))?;
    let created = take_time(&mut obj, &at, "created")?;
    let retire_after = take_optional_time(&mut obj, &at, "retireAfter")?;
    let rotation = match obj.remove("rotation") {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut note)) => {
            let at = format!("{at}rotation.");
            Some(RotationNote {
                profile: take_text(&mut note, &at, "profile")?,
                replaces: take_text(&mut note, &at, "replaces")?,
            })
        }
        Some(_) => {
            return Err(DocumentError::shape(
                format!("{at}rotation"),
                "an object {\"profile\", \"replaces\"}",
            ))
        }
    };
    wipe_strings(Value::Object(obj));
    Ok(KeyEntry {
        key_name,
        status,
        retire_after,
        created,
        rotation,
        private_key_pem: pem,
    })
}

fn parse_claim(item: Value, i: usize) -> Result<Claim, DocumentError> {
    let at = format!("claims[{i}].");
    let Value::Object(mut obj) = item else {
        return Err(DocumentError::shape(format!("claims[{i}]"), "an object"));
    };
    Ok(Claim {
        profile: take_text(&mut obj, &at, "profile")?,
        owner: take_text(&mut obj, &at, "owner")?,
        expires: take_time(&mut obj, &at, "expires")?,
    })
}

/// Unknown members are ignored (a newer writer may add optional ones), but their strings are
/// wiped: a misplaced key must not linger in freed memory.
fn wipe_strings(value: Value) {
    match value {
        Value::String(s) => drop(Zeroizing::new(s)),
        Value::Array(items) => items.into_iter().for_each(wipe_strings),
        Value::Object(map) => map.into_iter().for_each(|(k, v)| {
            drop(Zeroizing::new(k));
            wipe_strings(v);
        }),
        _ => {}
    }
}

/// A cheap shape check; [`PrivateKeyPem::parse`] does the real one.
fn looks_like_private_key_pem(pem: &str) -> bool {
    let t = pem.trim();
    (t.starts_with("-----BEGIN PRIVATE KEY-----") && t.ends_with("-----END PRIVATE KEY-----"))
        || (t.starts_with("-----BEGIN RSA PRIVATE KEY-----")
            && t.ends_with("-----END RSA PRIVATE KEY-----"))
}

impl Keyring {
    /// A keyring with every usable key of `doc` (whatever its status: a backend must decrypt
    /// with pending, current, previous and retiring keys alike), with OAEP-SHA256 as CloudFront
    /// wraps, and the keys that could not be loaded, by name.
    pub fn from_document(doc: &KeyringDocument) -> (Keyring, Vec<BrokenKey>) {
        let mut keyring = Keyring::new();
        let broken = keyring.add_document(doc);
        (keyring, broken)
    }

    /// Adds every usable key of `doc` to this keyring (several providers can share one
    /// keyring); returns the keys that could not be added, by name.
    pub fn add_document(&mut self, doc: &KeyringDocument) -> Vec<BrokenKey> {
        let mut broken = Vec::new();
        for k in &doc.keys {
            let added = k
                .private_key_pem
                .parse()
                .and_then(|key| self.add(&doc.provider_id, &k.key_name, key, Padding::OaepSha256));
            if let Err(error) = added {
                broken.push(BrokenKey {
                    key_name: k.key_name.clone(),
                    error,
                });
            }
        }
        broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAKE_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAsecret\n-----END PRIVATE KEY-----";

    fn doc(keys: &str) -> String {
        format!(r#"{{"format":1,"providerId":"checkout","keys":[{keys}]}}"#)
    }

    fn key(name: &str, status: &str) -> String {
        format!(
            r#"{{"keyName":"{name}","status":"{status}","created":"2026-11-01T00:00:00Z","privateKeyPem":{}}}"#,
            serde_json::to_string(FAKE_PEM).unwrap()
        )
    }

    #[test]
    fn parses_and_writes_back_the_same_document() {
        let text = doc(&[key("k1", "current"), key("k0", "previous")].join(","));
        let d = KeyringDocument::parse(text.as_bytes()).unwrap();
        assert_eq!(d.keys.len(), 2);
        assert_eq!(d.get("k0").unwrap().status, KeyStatus::Previous);
        let again = KeyringDocument::parse(&d.to_json_pretty()).unwrap();
        assert_eq!(again, d);
        let compact = d.to_json();
        assert!(!compact.contains(&b'\n'));
        assert_eq!(KeyringDocument::parse(&compact).unwrap(), d);
    }

    #[test]
    fn refuses_what_is_not_format_1() {
        let cases = [
            (r#"{"format":2,"providerId":"p","keys":[]}"#, "format 2"),
            (r#"{"providerId":"p","keys":[]}"#, "format:"),
            (
                r#"{"format":1,"providerId":"a b","keys":[]}"#,
                "providerId:",
            ),
            (r#"{"format":1,"providerId":"p"}"#, "keys:"),
            (r#"[1]"#, "(document)"),
            (r#"{"format":1,"#, "not a JSON"),
        ];
        for (text, want) in cases {
            let e = KeyringDocument::parse(text.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
        let dup = doc(&[key("k1", "current"), key("k1", "previous")].join(","));
        assert_eq!(
            KeyringDocument::parse(dup.as_bytes()).unwrap_err(),
            DocumentError::DuplicateKeyName("k1".into())
        );
        let bad_status = doc(&key("k1", "active"));
        assert!(KeyringDocument::parse(bad_status.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("keys[0].status:"));
        assert!(matches!(
            KeyringDocument::parse_for(doc("").as_bytes(), "other").unwrap_err(),
            DocumentError::WrongProvider { .. }
        ));
    }

    #[test]
    fn errors_never_quote_a_misplaced_pem() {
        let pem = serde_json::to_string(FAKE_PEM).unwrap();
        let misplaced = [
            format!(r#"{{"format":1,"providerId":{pem},"keys":[]}}"#),
            format!(r#"{{"format":{pem},"providerId":"p","keys":[]}}"#),
            format!(r#"{{"format":1,"providerId":"p","keys":{pem}}}"#),
            format!(r#"{{"format":1,"providerId":"p","keys":[{pem}]}}"#),
            format!(r#"{{"format":1,"providerId":"p","keys":[],"claims":{pem}}}"#),
            doc(&key("k1", "current").replace("\"k1\"", &pem)),
            doc(&key("k1", "current").replace("\"current\"", &pem)),
            doc(&key("k1", "current").replace("\"2026-11-01T00:00:00Z\"", &pem)),
            doc(&key("k1", "current").replace(&pem, "42")),
            format!("{{\"format\":1,\"providerId\":\"p\",\"keys\":[{pem} "),
        ];
        for text in misplaced {
            let e = KeyringDocument::parse(text.as_bytes()).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("MIIB"), "{shown}");
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn a_broken_key_is_named_and_the_others_still_load() {
        let text = doc(&key("k1", "current"));
        let d = KeyringDocument::parse(text.as_bytes()).unwrap();
        let (keyring, broken) = Keyring::from_document(&d);
        assert!(keyring.is_empty());
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].key_name, "k1");
        assert!(!broken[0].to_string().contains("MIIB"));
        assert!(!format!("{d:?}").contains("MIIB"));
    }

    #[test]
    fn names() {
        assert!(is_valid_provider_id("a:b-c_d"));
        assert!(!is_valid_provider_id(""));
        assert!(!is_valid_provider_id(&"p".repeat(129)));
        assert!(is_valid_key_name(&"k".repeat(128)));
        assert!(!is_valid_key_name("a:b"));
    }
}
