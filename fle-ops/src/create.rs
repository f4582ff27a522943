//! Creates that a rerun does not duplicate: CloudFront's own mechanism, the caller reference.
//!
//! A profile or configuration gets a caller reference derived from its content, so the same
//! command rerun after a timeout (did the first one land?) sends the same reference. The store
//! refuses a second object with it; [`create_profile`] and [`create_config`] then look the first
//! one up and return it when its content is the same, as CloudFront's `CreateDistribution`
//! does. A caller who wants two identical objects passes references of their own.

use serde::Serialize;

use crate::backend::Backend;
use crate::error::{StoreError, StoreResult};
use crate::model::{Config, ConfigBody, Profile, ProfileConfig};

/// `fle-<kind>-<first 16 bytes of SHA-256 of the content, hex>`: the same content, the same
/// reference. `content` is serialized with its own caller reference emptied.
pub fn content_reference<T: Serialize>(kind: &str, content: &T) -> String {
    let bytes = serde_json::to_vec(content).unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    let hex: String = digest
        .as_ref()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("fle-{kind}-{hex}")
}

/// The default caller reference of a profile: from its content.
pub fn profile_reference(cfg: &ProfileConfig) -> String {
    let mut c = cfg.clone();
    c.caller_reference.clear();
    content_reference("profile", &c)
}

/// The default caller reference of a configuration: from its content.
pub fn config_reference(cfg: &ConfigBody) -> String {
    let mut c = cfg.clone();
    c.caller_reference.clear();
    content_reference("config", &c)
}

/// Whether the store refused because the object (or its caller reference) exists.
fn exists(e: &StoreError) -> bool {
    match e {
        StoreError::AlreadyExists { .. } => true,
        StoreError::Refused { code, .. } => code.ends_with("AlreadyExists"),
        _ => false,
    }
}

/// Creates a profile; `Ok((profile, false))` when a rerun finds the one it created before
/// (same caller reference, same content).
///
/// # Errors
/// The store's refusal, unchanged, when no object of this caller reference and content exists.
pub fn create_profile(b: &dyn Backend, cfg: &ProfileConfig) -> StoreResult<(Profile, bool)> {
    match b.create_profile(cfg) {
        Ok(p) => Ok((p, true)),
        Err(e) if exists(&e) => {
            let same = b
                .list_profiles()?
                .into_iter()
                .find(|p| p.config.caller_reference == cfg.caller_reference && p.config == *cfg);
            same.map(|p| (p, false)).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

/// Creates a configuration; `Ok((config, false))` when a rerun finds the one it created
/// before (same caller reference, same content).
///
/// # Errors
/// As [`create_profile`].
pub fn create_config(b: &dyn Backend, cfg: &ConfigBody) -> StoreResult<(Config, bool)> {
    match b.create_config(cfg) {
        Ok(c) => Ok((c, true)),
        Err(e) if exists(&e) => {
            let same = b
                .list_configs()?
                .into_iter()
                .find(|c| c.config.caller_reference == cfg.caller_reference && c.config == *cfg);
            same.map(|c| (c, false)).ok_or(e)
        }
        Err(e) => Err(e),
    }
}
