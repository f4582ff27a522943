//! Where keys, profiles and configurations live: the [`Backend`] trait, implemented by the local
//! keystore ([`crate::local::LocalStore`]) and by AWS (`crate::aws::AwsBackend`, feature `aws`).
//!
//! The trait mirrors CloudFront's operations (create / get / update with `IfMatch` / delete) plus
//! a narrow private-key ledger: keys are added, change status, or are removed one by one, so no
//! operation can drop a key by rewriting the whole keyring.

use crate::error::{StoreError, StoreResult};
use crate::model::{
    Attachment, Config, ConfigBody, EdgeVersion, KeyEntry, KeyStatus, KeyringDocument, Profile,
    ProfileConfig, PublicKey, PublicKeyConfig, RotationNote,
};

/// A change of one private key's state in a provider's keyring.
#[derive(Debug, Clone)]
pub struct StatusChange {
    /// The key to change.
    pub key_name: String,
    /// Its new status.
    pub status: KeyStatus,
    /// Its new retire-after time (RFC 3339 UTC), or none.
    pub retire_after: Option<String>,
    /// Its new rotation note, or none.
    pub rotation: Option<RotationNote>,
}

/// Held while a rotation of one profile runs; dropping it releases the claim.
pub trait RotationGuard: std::fmt::Debug {}

/// One place that stores CloudFront's FLE objects and the private keys behind them.
pub trait Backend {
    /// Human description for messages, e.g. "local keystore ./.fle".
    fn describe(&self) -> String;

    /// Every public key. `etag` (and on AWS `caller_reference`) may be empty: listing does not
    /// return them; use [`Backend::get_public_key`] before an IfMatch.
    fn list_public_keys(&self) -> StoreResult<Vec<PublicKey>>;
    fn get_public_key(&self, id: &str) -> StoreResult<PublicKey>;
    fn create_public_key(&self, cfg: &PublicKeyConfig) -> StoreResult<PublicKey>;
    fn delete_public_key(&self, id: &str, if_match: &str) -> StoreResult<()>;

    fn list_profiles(&self) -> StoreResult<Vec<Profile>>;
    fn create_profile(&self, cfg: &ProfileConfig) -> StoreResult<Profile>;
    fn update_profile(&self, id: &str, cfg: &ProfileConfig, if_match: &str)
        -> StoreResult<Profile>;
    fn delete_profile(&self, id: &str, if_match: &str) -> StoreResult<()>;

    fn list_configs(&self) -> StoreResult<Vec<Config>>;
    fn create_config(&self, cfg: &ConfigBody) -> StoreResult<Config>;
    fn update_config(&self, id: &str, cfg: &ConfigBody, if_match: &str) -> StoreResult<Config>;
    fn delete_config(&self, id: &str, if_match: &str) -> StoreResult<()>;

    /// Sets (or with `None` clears) the configuration of a distribution's cache behavior.
    fn attach_config(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        config_id: Option<&str>,
    ) -> StoreResult<Attachment>;
    fn list_attachments(&self) -> StoreResult<Vec<Attachment>>;

    /// Edge encryption: publishes `zip` as a new version of the Lambda@Edge function
    /// `function`, described by `description`, unless a version with that description and
    /// this very code exists (a rerun after an interruption finds it; a reused key name or a
    /// changed package does not). Returns the version and whether this call published it.
    fn publish_edge_version(
        &self,
        function: &str,
        zip: &[u8],
        description: &str,
    ) -> StoreResult<(EdgeVersion, bool)>;
    /// Points the origin-request association of `distribution_id`'s cache behavior
    /// `path_pattern` (`*`: the default one) at `version_arn`, with the body included, unless
    /// it already is (IfMatch), then waits until the distribution is deployed. Returns whether
    /// it changed. Refused when the behavior runs another function on origin requests (a
    /// mistyped function or path would unhook the signer), and on AWS when it runs none.
    fn associate_edge_version(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        version_arn: &str,
    ) -> StoreResult<bool>;

    /// Providers that have a keyring.
    fn list_providers(&self) -> StoreResult<Vec<String>>;
    /// The provider's keyring (empty if it has none yet).
    fn load_keyring(&self, provider_id: &str) -> StoreResult<KeyringDocument>;
    /// Adds a key; refuses a name already in the keyring (a private key is never overwritten).
    fn add_private_key(&self, provider_id: &str, entry: KeyEntry) -> StoreResult<()>;
    /// Applies status changes to existing keys, all or none.
    fn set_key_status(&self, provider_id: &str, changes: &[StatusChange]) -> StoreResult<()>;
    /// Removes a key. Refuses while a public key of that name still exists.
    fn remove_private_key(&self, provider_id: &str, key_name: &str) -> StoreResult<()>;

    /// Claims the right to rotate `profile`; fails with [`StoreError::Busy`] if another claim is live.
    fn claim_rotation(&self, profile: &str) -> StoreResult<Box<dyn RotationGuard>>;

    /// How many CloudFront public keys the store may hold: CloudFront's 10 per account unless
    /// the store knows better (an account whose quota AWS raised).
    fn public_key_quota(&self) -> usize {
        crate::rules::MAX_PUBLIC_KEYS
    }

    /// Problems of the store itself, as sentences (e.g. a keystore directory others can
    /// write); `fle status` reports them. None by default.
    fn health(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The unqualified function of a version ARN (`…:function:NAME:7` → `…:function:NAME`) and
/// whether it is `function` (a name, or an unqualified ARN).
pub fn edge_version_of(version_arn: &str, function: &str) -> bool {
    let unqualified = match version_arn.rsplit_once(':') {
        Some((head, v))
            if !v.is_empty() && (v.bytes().all(|b| b.is_ascii_digit()) || v == "$LATEST") =>
        {
            head
        }
        _ => version_arn,
    };
    unqualified == function || unqualified.ends_with(&format!(":function:{function}"))
}

/// Lambda's `CodeSha256` of a zip: base64 of its SHA-256.
pub fn edge_code_sha256(zip: &[u8]) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, zip);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Finds a public key by name.
pub fn public_key_by_name(b: &dyn Backend, name: &str) -> StoreResult<Option<PublicKey>> {
    Ok(b.list_public_keys()?
        .into_iter()
        .find(|k| k.config.name == name))
}

/// Finds a profile by name, or else by id (errors and CloudFront's console show ids: both
/// are accepted wherever a profile is named).
pub fn profile_by_name(b: &dyn Backend, name: &str) -> StoreResult<Profile> {
    let profiles = b.list_profiles()?;
    let by_name = profiles.iter().position(|p| p.config.name == name);
    let found = by_name.or_else(|| profiles.iter().position(|p| p.id == name));
    found
        .and_then(|i| profiles.into_iter().nth(i))
        .ok_or_else(|| StoreError::NotFound {
            kind: "profile",
            id: name.to_owned(),
        })
}

/// Finds a configuration by id.
pub fn config_by_id(b: &dyn Backend, id: &str) -> StoreResult<Config> {
    b.list_configs()?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| StoreError::NotFound {
            kind: "configuration",
            id: id.to_owned(),
        })
}
