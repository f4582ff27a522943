//! The local keystore's `state.json` (public keys, profiles, configurations, attachments) and
//! the CloudFront rules that span several objects: unique caller references, references that
//! must exist, objects in use, ETags.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use crate::model::{
    Attachment, Config, ConfigBody, EdgeAssociation, EdgeVersion, Profile, ProfileConfig, PublicKey,
};

pub(super) const STATE_FORMAT: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct State {
    pub(super) format: u32,
    pub(super) public_keys: Vec<PublicKey>,
    pub(super) profiles: Vec<Profile>,
    pub(super) configs: Vec<Config>,
    pub(super) attachments: Vec<Attachment>,
    /// Published edge-function versions and the associations that run them (edge-encrypted
    /// profiles); absent in keystores made before edge encryption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) edge_versions: Vec<EdgeVersion>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) edge_associations: Vec<EdgeAssociation>,
}

pub(super) fn now() -> String {
    crate::time::rfc3339_clamped(SystemTime::now())
}

/// A CloudFront-looking identifier: `prefix` and 13 characters of [A-Z0-9].
pub(super) fn new_id(prefix: char) -> StoreResult<String> {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; 13];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| StoreError::Remote("random number generator failed".into()))?;
    let mut id = String::with_capacity(14);
    id.push(prefix);
    for b in bytes {
        let c = ALPHABET
            .get(usize::from(b) % ALPHABET.len())
            .copied()
            .unwrap_or(b'A');
        id.push(char::from(c));
    }
    Ok(id)
}

pub(super) fn check_etag(
    kind: &'static str,
    id: &str,
    current: &str,
    if_match: &str,
) -> StoreResult<()> {
    if if_match.is_empty() {
        return Err(StoreError::Invalid(format!(
            "{kind} {id:?}: an IfMatch ETag is required"
        )));
    }
    if current != if_match {
        return Err(StoreError::PreconditionFailed {
            kind,
            id: id.to_owned(),
        });
    }
    Ok(())
}

pub(super) fn check_caller_reference(state: &State, caller_reference: &str) -> StoreResult<()> {
    let used = state
        .public_keys
        .iter()
        .any(|k| k.config.caller_reference == caller_reference)
        || state
            .profiles
            .iter()
            .any(|p| p.config.caller_reference == caller_reference)
        || state
            .configs
            .iter()
            .any(|c| c.config.caller_reference == caller_reference);
    if used {
        return Err(StoreError::AlreadyExists {
            kind: "caller reference",
            name: caller_reference.to_owned(),
        });
    }
    Ok(())
}

pub(super) fn check_profile_refs(state: &State, cfg: &ProfileConfig) -> StoreResult<()> {
    for e in &cfg.encryption_entities {
        if !state.public_keys.iter().any(|k| k.id == e.public_key_id) {
            return Err(StoreError::NotFound {
                kind: "public key",
                id: e.public_key_id.clone(),
            });
        }
    }
    Ok(())
}

pub(super) fn check_config_refs(state: &State, cfg: &ConfigBody) -> StoreResult<()> {
    let ids = cfg
        .content_type_profile_config
        .content_type_profiles
        .iter()
        .filter_map(|m| m.profile_id.as_deref())
        .chain(
            cfg.query_arg_profile_config
                .query_arg_profiles
                .iter()
                .map(|m| m.profile_id.as_str()),
        );
    for id in ids {
        if !state.profiles.iter().any(|p| p.id == id) {
            return Err(StoreError::NotFound {
                kind: "profile",
                id: id.to_owned(),
            });
        }
    }
    Ok(())
}

pub(super) fn config_uses_profile(c: &Config, profile_id: &str) -> bool {
    c.config
        .content_type_profile_config
        .content_type_profiles
        .iter()
        .any(|m| m.profile_id.as_deref() == Some(profile_id))
        || c.config
            .query_arg_profile_config
            .query_arg_profiles
            .iter()
            .any(|m| m.profile_id == profile_id)
}
