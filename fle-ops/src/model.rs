//! CloudFront's field-level-encryption model, field for field, and the keyring document.
//!
//! The names follow the CloudFront API's XML elements (`PublicKeyConfig`, `EncryptionEntities`,
//! `ContentTypeProfileConfig`, ...) so that the local keystore and the AWS backend carry the same
//! values and a reader can map one onto the other without a table.

use serde::{Deserialize, Serialize};

/// The keyring document (format 1) and its parts: one home, in `fle-decrypt`, shared with every
/// backend that decrypts.
pub use fle_decrypt::document::{
    Claim, DocumentError, KeyEntry, KeyStatus, KeyringDocument, PrivateKeyPem, RotationNote,
    FORMAT as KEYRING_FORMAT,
};

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

/// What a profile's comment carries when the edge encrypts it (`fle edge package --encrypt`)
/// rather than CloudFront: a rotation must then deploy the edge function with the new key.
pub const EDGE_MARK: &str = "[fle:edge]";

impl ProfileConfig {
    /// Whether the edge encrypts this profile (its comment carries [`EDGE_MARK`]).
    pub fn edge_encrypted(&self) -> bool {
        self.comment.contains(EDGE_MARK)
    }

    /// Adds [`EDGE_MARK`] to the comment unless it is there (the caller checks the length).
    pub fn mark_edge_encrypted(&mut self) {
        if !self.edge_encrypted() {
            self.comment = format!("{} {EDGE_MARK}", self.comment).trim().to_owned();
        }
    }
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

/// A published version of a Lambda@Edge function that encrypts fields (the local keystore's
/// record; on AWS, Lambda's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeVersion {
    pub function: String,
    /// The version's ARN (qualified with its number).
    pub arn: String,
    /// What the package holds (e.g. which key): a rerun finds its own version by it.
    pub description: String,
    /// Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
}

/// The origin-request function version a distribution's cache behavior runs (local record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeAssociation {
    pub distribution_id: String,
    /// `*` for the default cache behavior, else the behavior's path pattern.
    pub path_pattern: String,
    pub version_arn: String,
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
