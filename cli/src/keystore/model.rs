//! CloudFront's field-level-encryption model, field for field, plus the private-key ledger.
//!
//! The names follow the CloudFront API's XML elements (`PublicKeyConfig`, `EncryptionEntities`,
//! `ContentTypeProfileConfig`, ...) so that the local keystore and the AWS backend carry the same
//! values and a reader can map one onto the other without a table.

use serde::{Deserialize, Serialize};

/// The only content-type format CloudFront FLE supports.
pub const FORMAT_URLENCODED: &str = "URLEncoded";

/// `PublicKeyConfig`: what is uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyConfig {
    pub caller_reference: String,
    pub name: String,
    /// SPKI PEM ("-----BEGIN PUBLIC KEY-----"), as CloudFront stores it.
    pub encoded_key: String,
    #[serde(default)]
    pub comment: String,
}

/// `PublicKey`: an uploaded public key with its server-assigned id, time and ETag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: String,
    pub created_time: String,
    pub etag: String,
    pub config: PublicKeyConfig,
}

/// One `EncryptionEntity`: the fields encrypted for one provider with one public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionEntity {
    pub public_key_id: String,
    pub provider_id: String,
    pub field_patterns: Vec<String>,
}

/// `FieldLevelEncryptionProfileConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileConfig {
    pub name: String,
    pub caller_reference: String,
    #[serde(default)]
    pub comment: String,
    pub encryption_entities: Vec<EncryptionEntity>,
}

/// `FieldLevelEncryptionProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub last_modified_time: String,
    pub etag: String,
    pub config: ProfileConfig,
}

/// `QueryArgProfile`: `?fle-profile=<query_arg>` selects `profile_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryArgProfile {
    pub query_arg: String,
    pub profile_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryArgProfileConfig {
    pub forward_when_query_arg_profile_is_unknown: bool,
    pub query_arg_profiles: Vec<QueryArgProfile>,
}

/// `ContentTypeProfile`: requests with `content_type` are encrypted with `profile_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentTypeProfile {
    pub format: String,
    pub profile_id: Option<String>,
    pub content_type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentTypeProfileConfig {
    pub forward_when_content_type_is_unknown: bool,
    pub content_type_profiles: Vec<ContentTypeProfile>,
}

/// `FieldLevelEncryptionConfig`. CloudFront gives configurations no name: only an id and a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigBody {
    pub caller_reference: String,
    #[serde(default)]
    pub comment: String,
    pub query_arg_profile_config: QueryArgProfileConfig,
    pub content_type_profile_config: ContentTypeProfileConfig,
}

/// `FieldLevelEncryption`: a configuration with its id, time and ETag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub id: String,
    pub last_modified_time: String,
    pub etag: String,
    pub config: ConfigBody,
}

/// Where a private key stands in its life. Backends that decrypt load every status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Stored by a rotation (step 2) before any profile points at its public key.
    Pending,
    /// The key the profile encrypts with.
    Current,
    /// Replaced by a rotation; still decrypts until `retire_after`.
    Previous,
    /// `fle keys retire` has started removing it (public key first, then the private key).
    Retiring,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Retiring => "retiring",
        }
    }
}

/// One private key in a provider's keyring: the document format documented in docs/keystore.md.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    /// The CloudFront public key name = the ESDK key-provider info.
    pub key_name: String,
    pub status: KeyStatus,
    /// RFC 3339 UTC; set when the key becomes `previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<String>,
    pub created: String,
    /// The profile a rotation is moving onto this key (only while `pending`), and the key it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationNote>,
    /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
    pub private_key_pem: Secret,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("key_name", &self.key_name)
            .field("status", &self.status)
            .field("retire_after", &self.retire_after)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

/// Which profile a pending key is for and which key it replaces, so a rerun can resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationNote {
    pub profile: String,
    pub replaces: String,
}

/// Every live private key of one provider: the content of `private/<provider>.json` locally and
/// of the provider's secret on AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Keyring {
    pub format: u32,
    pub provider_id: String,
    pub keys: Vec<KeyEntry>,
    /// Running rotations (AWS backend only; the local keystore uses a file lock instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
}

/// "Profile `profile` is being rotated by `owner` until `expires`" (RFC 3339 UTC).
/// `owner` is `<host>:<pid>:<nonce>`, so a rerun on the same host can tell a dead claimant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub profile: String,
    pub owner: String,
    pub expires: String,
}

/// The keyring document format version.
pub const KEYRING_FORMAT: u32 = 1;

impl Keyring {
    pub fn empty(provider_id: &str) -> Self {
        Self {
            format: KEYRING_FORMAT,
            provider_id: provider_id.to_owned(),
            keys: Vec::new(),
            claims: Vec::new(),
        }
    }
    pub fn get(&self, key_name: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.key_name == key_name)
    }
    pub fn get_mut(&mut self, key_name: &str) -> Option<&mut KeyEntry> {
        self.keys.iter_mut().find(|k| k.key_name == key_name)
    }
}

/// A string holding key material: zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(zeroize::Zeroizing::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A configuration attached to a distribution's cache behavior (local backend's record of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub distribution_id: String,
    /// `*` for the default cache behavior, else the behavior's path pattern.
    pub path_pattern: String,
    pub config_id: String,
}
