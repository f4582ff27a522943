//! `fle status`: what needs attention in a store, checked before and after a scheduled
//! rotation. Keyrings against public keys against profiles against configurations: a profile's
//! key missing from its provider's keyring, private keys without public keys,
//! keys past their retire-after, pending or stuck rotations, private keys that do not parse,
//! the public-key quota, and (locally) keystore permissions.

use std::time::SystemTime;

use crate::backend::Backend;
use crate::error::StoreError;
use crate::inventory;
use crate::model::KeyStatus;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Decryption or a rotation is broken, or will break: act now.
    Error,
    /// Something to clean up or finish; nothing fails yet.
    Warning,
}

impl Level {
    /// `error` / `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One thing that needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub level: Level,
    /// A stable code for scripts, e.g. `public-key-without-private-key`.
    pub code: &'static str,
    /// The object concerned (a key, profile or configuration name or id, a path).
    pub subject: String,
    /// What is wrong (names only, never key material).
    pub message: String,
    /// What to do.
    pub action: String,
}

fn finding(
    level: Level,
    code: &'static str,
    subject: impl Into<String>,
    message: impl Into<String>,
    action: impl Into<String>,
) -> Finding {
    Finding {
        level,
        code,
        subject: subject.into(),
        message: message.into(),
        action: action.into(),
    }
}

/// Every finding for `b` at `now`, errors first.
///
/// # Errors
/// The store cannot be read.
pub fn check(b: &dyn Backend, now: SystemTime) -> Result<Vec<Finding>, StoreError> {
    let mut out: Vec<Finding> = b
        .health()
        .into_iter()
        .map(|problem| {
            finding(
                Level::Error,
                "store-permissions",
                b.describe(),
                problem,
                "fix the permissions as the message says",
            )
        })
        .collect();
    let publics = b.list_public_keys()?;
    let profiles = b.list_profiles()?;
    let configs = b.list_configs()?;
    let keys = inventory::join(&publics, &profiles, &inventory::keyrings(b)?);
    // (provider, key name) of every private key: a profile's key must be in the keyring of the
    // provider its entity names, not just in some keyring.
    let mut held: Vec<(&str, &str)> = Vec::new();
    for k in &keys {
        let (Some(provider), Some(status)) = (k.provider.as_deref(), k.status) else {
            continue;
        };
        held.push((provider, k.name.as_str()));
        if let Some(why) = &k.broken {
            out.push(finding(
                Level::Error,
                "private-key-broken",
                &k.name,
                format!("the private key in provider {provider}'s keyring cannot be used: {why}"),
                "restore it from a backup, or rotate away from it (`fle keys rotate`) and delete it (`fle keys delete`)",
            ));
        }
        match status {
            KeyStatus::Pending => {
                let profile = k.rotating_profile.as_deref().unwrap_or_default();
                out.push(finding(
                    Level::Warning,
                    "rotation-pending",
                    &k.name,
                    format!("a rotation of profile {profile:?} to this key was interrupted"),
                    format!("rerun `fle keys rotate --profile {profile}` to finish it"),
                ));
            }
            KeyStatus::Previous if !k.used_by.is_empty() => out.push(finding(
                Level::Warning,
                "previous-key-in-use",
                &k.name,
                "the key is `previous` but a profile encrypts with it again (a rollback?): `fle keys retire` keeps it while it is used",
                "`fle keys rotate` the profile to a new key when the rollback is over",
            )),
            KeyStatus::Previous => {
                let after = k.retire_after.as_deref();
                match after.map(humantime::parse_rfc3339) {
                    Some(Ok(t)) if t <= now => out.push(finding(
                        Level::Warning,
                        "retirement-due",
                        &k.name,
                        format!("past its retire-after ({})", after.unwrap_or("-")),
                        "run `fle keys retire`",
                    )),
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => out.push(finding(
                        Level::Warning,
                        "retire-after-unreadable",
                        &k.name,
                        format!(
                            "the key is `previous` with no readable retire-after ({}): `fle keys retire` keeps it",
                            after.unwrap_or("none")
                        ),
                        format!(
                            "`fle keys retire --now {}` once no message under it is waiting",
                            k.name
                        ),
                    )),
                }
            }
            KeyStatus::Retiring => out.push(finding(
                Level::Warning,
                "retirement-interrupted",
                &k.name,
                "a retirement of this key was interrupted",
                "rerun `fle keys retire`",
            )),
            KeyStatus::Current if k.public_key_id.is_none() => out.push(finding(
                Level::Warning,
                "private-key-without-public-key",
                &k.name,
                format!("provider {provider}'s keyring holds it, but no public key has its name (an interrupted `fle keys generate`?)"),
                format!("rerun `fle keys generate --name {} --provider {provider}` to upload it, or `fle keys delete {}`", k.name, k.name),
            )),
            _ => {}
        }
    }
    // Public keys no FLE profile uses and no keyring holds are not reported: on AWS they may be
    // keys of CloudFront key groups (signed URLs), which are not fle's to judge.
    for p in &profiles {
        for e in &p.config.encryption_entities {
            let Some(pk) = publics.iter().find(|k| k.id == e.public_key_id) else {
                out.push(finding(
                    Level::Error,
                    "profile-without-public-key",
                    &p.config.name,
                    format!(
                        "the profile names public key {}, which does not exist",
                        e.public_key_id
                    ),
                    format!("`fle profiles update {} --key KEY`", p.config.name),
                ));
                continue;
            };
            let in_keyring = held
                .iter()
                .any(|(prov, name)| *prov == e.provider_id && *name == pk.config.name);
            if !in_keyring {
                out.push(finding(
                    Level::Error,
                    "profile-key-without-private-key",
                    &p.config.name,
                    format!(
                        "the profile encrypts with key {} for provider {}, but that provider's keyring in {} does not hold its private key: no backend loading it can decrypt",
                        pk.config.name,
                        e.provider_id,
                        b.describe()
                    ),
                    "restore the private key into that keyring, or rotate the profile to a new key (`fle keys rotate`)",
                ));
            }
        }
    }
    for c in &configs {
        let body = &c.config;
        let ids = body
            .content_type_profile_config
            .content_type_profiles
            .iter()
            .filter_map(|m| m.profile_id.as_deref())
            .chain(
                body.query_arg_profile_config
                    .query_arg_profiles
                    .iter()
                    .map(|m| m.profile_id.as_str()),
            );
        for id in ids {
            if !profiles.iter().any(|p| p.id == id) {
                out.push(finding(
                    Level::Error,
                    "config-without-profile",
                    &c.id,
                    format!("the configuration maps to profile {id}, which does not exist"),
                    format!("`fle configs update {} --profile PROFILE`", c.id),
                ));
            }
        }
    }
    if publics.len() >= b.public_key_quota() {
        out.push(finding(
            Level::Warning,
            "public-key-quota",
            b.describe(),
            format!(
                "{} of CloudFront's {} public keys are used: the next `fle keys rotate` will be refused",
                publics.len(),
                b.public_key_quota()
            ),
            "`fle keys retire` (or `fle keys delete` unused keys)",
        ));
    }
    out.sort_by(|a, b| {
        a.level
            .cmp(&b.level)
            .then_with(|| a.subject.cmp(&b.subject))
    });
    Ok(out)
}
