//! Key generation, rotation and retirement over any [`Backend`], in steps that can each be
//! interrupted and resumed.
//!
//! Safety argument, in order of the rotation's steps:
//! 1. generate the new pair (memory only);
//! 2. store the new private key as `pending`, noting the profile and the key it replaces: from
//!    here on the decrypting backends can load it, before CloudFront can encrypt with it;
//! 3. upload the public key (a rerun derives it again from the stored private key);
//! 4. point the profile at it, with IfMatch on the ETag read before step 1 (first waiting, if
//!    asked, until `switch_delay` has passed since step 2, for backends that reload periodically);
//! 5. mark the old key `previous` with retire-after = now + grace, the new one `current`.
//!
//! A rerun finds the `pending` key of step 2 and continues at the first step not yet done, so
//! every interruption converges to the same end state. [`retire`] deletes a public key only when
//! no profile references it, and a private key only after its public key is gone.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::model::{KeyEntry, KeyStatus, PublicKeyConfig, RotationNote, Secret};
use super::{profile_by_name, public_key_by_name, Backend, StatusChange, StoreError};
use crate::keygen;

/// The rotation's steps, numbered from 1 as in the docs and `--danger-stop-after`.
pub const ROTATE_STEPS: [&str; 5] = [
    "generate the new key pair",
    "store the new private key",
    "upload the new public key",
    "point the profile at the new key",
    "mark the old key previous",
];

/// The key-generation steps (`fle keys generate`).
pub const GENERATE_STEPS: [&str; 3] = [
    "generate the key pair",
    "store the private key",
    "upload the public key",
];

/// The retirement steps, per key.
pub const RETIRE_STEPS: [&str; 3] = [
    "mark the key retiring",
    "delete the public key",
    "delete the private key",
];

/// A failed step: which one, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct StepError {
    pub number: usize,
    pub total: usize,
    pub name: &'static str,
    #[source]
    pub source: StoreError,
}

impl StepError {
    fn describe(&self) -> String {
        if self.number == 0 {
            format!("checks before step 1 failed: {}", self.source)
        } else {
            format!(
                "step {}/{} ({}) failed: {}",
                self.number, self.total, self.name, self.source
            )
        }
    }
}

fn step_err(steps: &'static [&'static str], number: usize) -> impl Fn(StoreError) -> StepError {
    move |source| StepError {
        number,
        total: steps.len(),
        name: number
            .checked_sub(1)
            .and_then(|i| steps.get(i))
            .copied()
            .unwrap_or("prepare"),
        source,
    }
}

fn key_err(e: keygen::KeyError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// What happened at one step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub step: usize,
    pub name: &'static str,
    /// `done`, `already done` (a rerun found it done), or `planned` (dry run).
    pub outcome: &'static str,
}

fn record(
    steps: &mut Vec<StepReport>,
    list: &'static [&'static str],
    step: usize,
    outcome: &'static str,
) {
    let name = list.get(step.saturating_sub(1)).copied().unwrap_or("");
    steps.push(StepReport {
        step,
        name,
        outcome,
    });
}

/// Called after each completed step with its number (tests use it to interrupt or pause).
pub type AfterStep<'a> = &'a mut dyn FnMut(usize);

fn normalize_pem(pem: &str) -> String {
    pem.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The public key to upload for a stored private key, and a check that an existing upload of
/// that name really is its public half (otherwise a profile would encrypt to a key nobody has).
fn matching_public_pem(
    private_pem: &Secret,
    existing: Option<&str>,
    name: &str,
) -> Result<String, StoreError> {
    let pem = keygen::public_pem_from_private(private_pem).map_err(key_err)?;
    if let Some(existing) = existing {
        if normalize_pem(existing) != normalize_pem(&pem) {
            return Err(StoreError::Invalid(format!(
                "public key {name:?} exists but is not the public half of the stored private key {name:?}; choose another key name"
            )));
        }
    }
    Ok(pem)
}

/// A random caller reference, as CloudFront requires one per created object.
pub fn caller_reference() -> Result<String, StoreError> {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| StoreError::Remote("random number generator failed".into()))?;
    Ok(format!(
        "fle-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The outcome of `fle keys generate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateReport {
    pub name: String,
    pub provider: String,
    pub public_key_id: Option<String>,
    pub dry_run: bool,
    pub steps: Vec<StepReport>,
}

/// Generates a key pair, stores the private key as `current` in the provider's keyring and
/// uploads the public key. A rerun after an interruption at step 2 uploads the stored key.
///
/// # Errors
/// [`StepError`] naming the failed step.
pub fn generate(
    b: &dyn Backend,
    name: &str,
    provider: &str,
    comment: &str,
    now: SystemTime,
    dry_run: bool,
    after: AfterStep<'_>,
) -> Result<GenerateReport, StepError> {
    let prep = step_err(&GENERATE_STEPS, 0);
    super::rules::key_name(name).map_err(&prep)?;
    super::rules::provider_id(provider).map_err(&prep)?;
    super::rules::comment(comment).map_err(&prep)?;
    let ring = b.load_keyring(provider).map_err(&prep)?;
    let existing_pk = public_key_by_name(b, name).map_err(&prep)?;
    let mut steps = Vec::new();
    let stored = match ring.get(name) {
        Some(entry) if existing_pk.is_some() => {
            return Err(prep(StoreError::AlreadyExists {
                kind: "key",
                name: entry.key_name.clone(),
            }));
        }
        Some(entry) => {
            record(&mut steps, &GENERATE_STEPS, 1, "already done");
            record(&mut steps, &GENERATE_STEPS, 2, "already done");
            entry.private_key_pem.clone()
        }
        None => {
            if existing_pk.is_some() {
                return Err(prep(StoreError::AlreadyExists {
                    kind: "public key",
                    name: name.to_owned(),
                }));
            }
            if dry_run {
                record(&mut steps, &GENERATE_STEPS, 1, "planned");
                record(&mut steps, &GENERATE_STEPS, 2, "planned");
                record(&mut steps, &GENERATE_STEPS, 3, "planned");
                return Ok(GenerateReport {
                    name: name.into(),
                    provider: provider.into(),
                    public_key_id: None,
                    dry_run,
                    steps,
                });
            }
            let pair = keygen::generate().map_err(|e| step_err(&GENERATE_STEPS, 1)(key_err(e)))?;
            record(&mut steps, &GENERATE_STEPS, 1, "done");
            after(1);
            let entry = KeyEntry {
                key_name: name.to_owned(),
                status: KeyStatus::Current,
                retire_after: None,
                created: rfc3339(now),
                rotation: None,
                private_key_pem: pair.private_pem.clone(),
            };
            b.add_private_key(provider, entry)
                .map_err(step_err(&GENERATE_STEPS, 2))?;
            record(&mut steps, &GENERATE_STEPS, 2, "done");
            after(2);
            pair.private_pem
        }
    };
    if dry_run {
        record(&mut steps, &GENERATE_STEPS, 3, "planned");
        return Ok(GenerateReport {
            name: name.into(),
            provider: provider.into(),
            public_key_id: None,
            dry_run,
            steps,
        });
    }
    let s3 = step_err(&GENERATE_STEPS, 3);
    let public_pem = matching_public_pem(&stored, None, name).map_err(&s3)?;
    let pk = b
        .create_public_key(&PublicKeyConfig {
            caller_reference: caller_reference().map_err(&s3)?,
            name: name.to_owned(),
            encoded_key: public_pem,
            comment: comment.to_owned(),
        })
        .map_err(&s3)?;
    record(&mut steps, &GENERATE_STEPS, 3, "done");
    after(3);
    Ok(GenerateReport {
        name: name.into(),
        provider: provider.into(),
        public_key_id: Some(pk.id),
        dry_run,
        steps,
    })
}

/// The outcome of `fle keys rotate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotateReport {
    pub profile: String,
    pub provider: String,
    pub old_key: String,
    pub new_key: String,
    pub public_key_id: Option<String>,
    pub retire_after: String,
    /// True when this run continued an interrupted rotation.
    pub resumed: bool,
    pub dry_run: bool,
    pub steps: Vec<StepReport>,
}

/// What to rotate.
#[derive(Debug)]
pub struct RotateRequest<'a> {
    pub profile: &'a str,
    pub grace: Duration,
    pub now: SystemTime,
    /// Name of the new key; default `<profile>-<UTC time>`.
    pub new_key_name: Option<String>,
    /// Minimum time between storing the new private key (step 2) and switching the profile
    /// (step 4), so decrypting backends that reload their keyring periodically have it first.
    pub switch_delay: Duration,
    pub dry_run: bool,
}

/// Called before step 4 with the earliest time the profile may switch; returns when it is reached.
pub type WaitUntil<'a> = &'a mut dyn FnMut(SystemTime);

/// Rotates the key of a one-entity profile (see the module docs for the steps).
///
/// # Errors
/// [`StepError`] naming the failed step; step 0 is the preparation (claim, reads, checks).
pub fn rotate(
    b: &dyn Backend,
    req: &RotateRequest<'_>,
    after: AfterStep<'_>,
    wait_until: WaitUntil<'_>,
) -> Result<RotateReport, StepError> {
    let prep = step_err(&ROTATE_STEPS, 0);
    let _claim = if req.dry_run {
        None
    } else {
        Some(b.claim_rotation(req.profile).map_err(&prep)?)
    };
    let profile = profile_by_name(b, req.profile).map_err(&prep)?;
    let entity = match profile.config.encryption_entities.as_slice() {
        [one] => one.clone(),
        other => {
            return Err(prep(StoreError::Invalid(format!(
            "profile {:?} has {} encryption entities; rotation handles profiles with exactly one",
            req.profile,
            other.len()
        ))))
        }
    };
    let provider = entity.provider_id.clone();
    let keys = b.list_public_keys().map_err(&prep)?;
    let current = keys
        .iter()
        .find(|k| k.id == entity.public_key_id)
        .ok_or_else(|| {
            prep(StoreError::NotFound {
                kind: "public key",
                id: entity.public_key_id.clone(),
            })
        })?;
    let ring = b.load_keyring(&provider).map_err(&prep)?;
    let retire_after = rfc3339(
        req.now
            .checked_add(req.grace)
            .ok_or_else(|| prep(StoreError::Invalid("grace period too long".into())))?,
    );
    let pending = ring.keys.iter().find(|k| {
        k.status == KeyStatus::Pending
            && k.rotation
                .as_ref()
                .is_some_and(|r| r.profile == req.profile)
    });

    let mut steps = Vec::new();
    let (new_name, old_name, stored, resumed, stored_at) = match pending {
        Some(p) => {
            let old = p
                .rotation
                .as_ref()
                .map(|r| r.replaces.clone())
                .unwrap_or_default();
            record(&mut steps, &ROTATE_STEPS, 1, "already done");
            record(&mut steps, &ROTATE_STEPS, 2, "already done");
            let stored_at = humantime::parse_rfc3339(&p.created).unwrap_or(req.now);
            (
                p.key_name.clone(),
                old,
                Some(p.private_key_pem.clone()),
                true,
                stored_at,
            )
        }
        None if req.new_key_name.as_deref() == Some(current.config.name.as_str())
            && ring
                .get(&current.config.name)
                .is_some_and(|k| k.status == KeyStatus::Current) =>
        {
            // The same command already ran to the end (e.g. killed after step 5): nothing to do.
            for step in 1..=5 {
                record(&mut steps, &ROTATE_STEPS, step, "already done");
            }
            let old = ring
                .keys
                .iter()
                .filter(|k| k.status == KeyStatus::Previous)
                .max_by(|a, b| a.created.cmp(&b.created))
                .map(|k| {
                    (
                        k.key_name.clone(),
                        k.retire_after.clone().unwrap_or_default(),
                    )
                });
            let (old_key, retire_after) = old.unwrap_or_default();
            return Ok(RotateReport {
                profile: req.profile.into(),
                provider,
                old_key,
                new_key: current.config.name.clone(),
                public_key_id: Some(current.id.clone()),
                retire_after,
                resumed: true,
                dry_run: req.dry_run,
                steps,
            });
        }
        None => {
            let name = match &req.new_key_name {
                Some(n) => n.clone(),
                None => default_key_name(req.profile, req.now),
            };
            super::rules::key_name(&name).map_err(&prep)?;
            if ring.get(&name).is_some() || keys.iter().any(|k| k.config.name == name) {
                return Err(prep(StoreError::AlreadyExists { kind: "key", name }));
            }
            if req.dry_run {
                for s in 1..=5 {
                    record(&mut steps, &ROTATE_STEPS, s, "planned");
                }
                return Ok(RotateReport {
                    profile: req.profile.into(),
                    provider,
                    old_key: current.config.name.clone(),
                    new_key: name,
                    public_key_id: None,
                    retire_after,
                    resumed: false,
                    dry_run: true,
                    steps,
                });
            }
            let pair = keygen::generate().map_err(|e| step_err(&ROTATE_STEPS, 1)(key_err(e)))?;
            record(&mut steps, &ROTATE_STEPS, 1, "done");
            after(1);
            let entry = KeyEntry {
                key_name: name.clone(),
                status: KeyStatus::Pending,
                retire_after: None,
                created: rfc3339(req.now),
                rotation: Some(RotationNote {
                    profile: req.profile.to_owned(),
                    replaces: current.config.name.clone(),
                }),
                private_key_pem: pair.private_pem.clone(),
            };
            b.add_private_key(&provider, entry)
                .map_err(step_err(&ROTATE_STEPS, 2))?;
            record(&mut steps, &ROTATE_STEPS, 2, "done");
            after(2);
            (
                name,
                current.config.name.clone(),
                Some(pair.private_pem),
                false,
                req.now,
            )
        }
    };
    let stored = stored.ok_or_else(|| {
        prep(StoreError::NotFound {
            kind: "private key",
            id: new_name.clone(),
        })
    })?;

    // Step 3: upload (or find the earlier upload of) the new public key.
    let s3 = step_err(&ROTATE_STEPS, 3);
    let existing = keys.iter().find(|k| k.config.name == new_name);
    let public_pem = matching_public_pem(
        &stored,
        existing.map(|k| k.config.encoded_key.as_str()),
        &new_name,
    )
    .map_err(&s3)?;
    let new_pk_id = match existing {
        Some(k) => {
            record(&mut steps, &ROTATE_STEPS, 3, "already done");
            Some(k.id.clone())
        }
        None if req.dry_run => {
            record(&mut steps, &ROTATE_STEPS, 3, "planned");
            None
        }
        None => {
            let pk = b
                .create_public_key(&PublicKeyConfig {
                    caller_reference: caller_reference().map_err(&s3)?,
                    name: new_name.clone(),
                    encoded_key: public_pem,
                    comment: format!("fle rotation of profile {}", req.profile),
                })
                .map_err(&s3)?;
            record(&mut steps, &ROTATE_STEPS, 3, "done");
            after(3);
            Some(pk.id)
        }
    };

    // Step 4: point the profile at it, IfMatch the ETag read before step 1.
    match &new_pk_id {
        Some(id) if *id == entity.public_key_id => {
            record(&mut steps, &ROTATE_STEPS, 4, "already done")
        }
        Some(id) if !req.dry_run => {
            if !req.switch_delay.is_zero() {
                wait_until(stored_at.checked_add(req.switch_delay).unwrap_or(stored_at));
            }
            let mut cfg = profile.config.clone();
            for e in &mut cfg.encryption_entities {
                e.public_key_id.clone_from(id);
            }
            b.update_profile(&profile.id, &cfg, &profile.etag)
                .map_err(step_err(&ROTATE_STEPS, 4))?;
            record(&mut steps, &ROTATE_STEPS, 4, "done");
            after(4);
        }
        _ => record(&mut steps, &ROTATE_STEPS, 4, "planned"),
    }

    // Step 5: old key previous (with its retire-after), new key current.
    if req.dry_run {
        record(&mut steps, &ROTATE_STEPS, 5, "planned");
    } else {
        let mut changes = vec![StatusChange {
            key_name: new_name.clone(),
            status: KeyStatus::Current,
            retire_after: None,
            rotation: None,
        }];
        if ring.get(&old_name).is_some() && old_name != new_name {
            changes.push(StatusChange {
                key_name: old_name.clone(),
                status: KeyStatus::Previous,
                retire_after: Some(retire_after.clone()),
                rotation: None,
            });
        }
        b.set_key_status(&provider, &changes)
            .map_err(step_err(&ROTATE_STEPS, 5))?;
        record(&mut steps, &ROTATE_STEPS, 5, "done");
        after(5);
    }
    Ok(RotateReport {
        profile: req.profile.into(),
        provider,
        old_key: old_name,
        new_key: new_name,
        public_key_id: new_pk_id,
        retire_after,
        resumed,
        dry_run: req.dry_run,
        steps,
    })
}

/// `<profile>-<YYYYMMDDTHHMMSSZ>`, cut to the 128-character name limit.
pub fn default_key_name(profile: &str, now: SystemTime) -> String {
    let stamp: String = rfc3339(now)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut name = format!("{profile}-{stamp}");
    while name.chars().count() > super::rules::MAX_NAME_LEN {
        // Keep the time stamp: shorten the profile part.
        let cut = name.find('-').and_then(|i| i.checked_sub(1));
        match cut {
            Some(i) => {
                name.remove(i);
            }
            None => break,
        }
    }
    name
}

/// One key considered by [`retire`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetireItem {
    pub key_name: String,
    pub provider: String,
    /// `retired`, `planned` (dry run) or `kept`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The outcome of `fle keys retire`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetireReport {
    pub dry_run: bool,
    pub keys: Vec<RetireItem>,
}

/// Removes every key that is `previous` past its retire-after time, or `retiring` (an earlier
/// interrupted retirement): the public key first (only when no profile references it), then the
/// private key. Keys still referenced are kept and reported.
///
/// # Errors
/// [`StepError`] naming the failed step; keys retired before the failure stay retired.
pub fn retire(
    b: &dyn Backend,
    now: SystemTime,
    dry_run: bool,
    after: AfterStep<'_>,
) -> Result<RetireReport, StepError> {
    let prep = step_err(&RETIRE_STEPS, 0);
    let mut items = Vec::new();
    for provider in b.list_providers().map_err(&prep)? {
        let ring = b.load_keyring(&provider).map_err(&prep)?;
        for key in &ring.keys {
            let due = match (key.status, key.retire_after.as_deref()) {
                (KeyStatus::Retiring, _) => true,
                (KeyStatus::Previous, Some(t)) => match humantime::parse_rfc3339(t) {
                    Ok(t) => t <= now,
                    Err(_) => {
                        items.push(RetireItem {
                            key_name: key.key_name.clone(),
                            provider: provider.clone(),
                            outcome: "kept",
                            reason: Some(format!("retire-after {t:?} is not an RFC 3339 time")),
                        });
                        false
                    }
                },
                _ => false,
            };
            if !due {
                continue;
            }
            let pk = public_key_by_name(b, &key.key_name).map_err(&prep)?;
            if let Some(pk) = &pk {
                let users: Vec<String> = b
                    .list_profiles()
                    .map_err(&prep)?
                    .into_iter()
                    .filter(|p| {
                        p.config
                            .encryption_entities
                            .iter()
                            .any(|e| e.public_key_id == pk.id)
                    })
                    .map(|p| p.config.name)
                    .collect();
                if !users.is_empty() {
                    items.push(RetireItem {
                        key_name: key.key_name.clone(),
                        provider: provider.clone(),
                        outcome: "kept",
                        reason: Some(format!(
                            "public key {} is still used by profile {}",
                            pk.id,
                            users.join(", ")
                        )),
                    });
                    continue;
                }
            }
            if dry_run {
                items.push(RetireItem {
                    key_name: key.key_name.clone(),
                    provider: provider.clone(),
                    outcome: "planned",
                    reason: None,
                });
                continue;
            }
            if key.status != KeyStatus::Retiring {
                let marked = b.set_key_status(
                    &provider,
                    &[StatusChange {
                        key_name: key.key_name.clone(),
                        status: KeyStatus::Retiring,
                        retire_after: key.retire_after.clone(),
                        rotation: None,
                    }],
                );
                match marked {
                    // Gone meanwhile: a concurrent `fle keys retire` finished it.
                    Err(e) if e.is_not_found() => {
                        items.push(RetireItem {
                            key_name: key.key_name.clone(),
                            provider: provider.clone(),
                            outcome: "retired",
                            reason: None,
                        });
                        continue;
                    }
                    Err(e) => return Err(step_err(&RETIRE_STEPS, 1)(e)),
                    Ok(()) => {}
                }
                after(1);
            }
            // A concurrent `fle keys retire` may have removed either already: that is converged.
            if let Some(pk) = pk {
                let deleted = b
                    .get_public_key(&pk.id)
                    .and_then(|fresh| b.delete_public_key(&fresh.id, &fresh.etag));
                match deleted {
                    Err(e) if !e.is_not_found() => return Err(step_err(&RETIRE_STEPS, 2)(e)),
                    _ => {}
                }
                after(2);
            }
            match b.remove_private_key(&provider, &key.key_name) {
                Err(e) if !e.is_not_found() => return Err(step_err(&RETIRE_STEPS, 3)(e)),
                _ => {}
            }
            after(3);
            items.push(RetireItem {
                key_name: key.key_name.clone(),
                provider: provider.clone(),
                outcome: "retired",
                reason: None,
            });
        }
    }
    Ok(RetireReport {
        dry_run,
        keys: items,
    })
}
