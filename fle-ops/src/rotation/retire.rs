//! `fle keys retire`: removes every key that is `previous` past its retire-after time, or
//! `retiring` (an earlier interrupted retirement): the public key first (only when no profile
//! references it), then the private key. Keys still referenced are kept and reported.

use std::fmt;
use std::ops::ControlFlow;
use std::time::SystemTime;

use super::{Log, OnStep, Outcome, RetireStep, StepError, StepRecord};
use crate::backend::{public_key_by_name, Backend, StatusChange};
use crate::error::StoreError;
use crate::model::{KeyEntry, KeyStatus, PublicKey};

/// What happened to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetireOutcome {
    /// Removed (by this run, or by a concurrent one).
    Retired,
    /// Would be removed (dry run).
    Planned,
    /// Kept, and why.
    Kept(KeptReason),
}

/// Why a due key was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeptReason {
    /// `previous`, inside its grace period: retired by a run after this time.
    InGrace {
        /// The key's retire-after (RFC 3339).
        retire_after: String,
    },
    /// Its retire-after is not an RFC 3339 time.
    UnreadableRetireAfter(String),
    /// A profile still encrypts with its public key.
    StillUsed {
        /// The public key id.
        public_key_id: String,
        /// The profiles using it.
        profiles: Vec<String>,
    },
}

impl fmt::Display for KeptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InGrace { retire_after } => {
                write!(f, "in its grace period until {retire_after}")
            }
            Self::UnreadableRetireAfter(t) => {
                write!(f, "retire-after {t:?} is not an RFC 3339 time")
            }
            Self::StillUsed {
                public_key_id,
                profiles,
            } => write!(
                f,
                "public key {public_key_id} is still used by profile {}",
                profiles.join(", ")
            ),
        }
    }
}

/// One key considered by [`retire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetireItem {
    /// Key name.
    pub key_name: String,
    /// Its provider.
    pub provider: String,
    /// What happened to it.
    pub outcome: RetireOutcome,
}

/// What `retire` did.
#[derive(Debug)]
pub struct RetireReport {
    /// Plan only.
    pub dry_run: bool,
    /// Every key considered.
    pub keys: Vec<RetireItem>,
    /// Every step run, in order (over all keys).
    pub steps: Vec<StepRecord<RetireStep>>,
    /// The step after which the callback stopped the run.
    pub stopped_after: Option<RetireStep>,
}

/// Removes every due key (see the module docs).
///
/// # Errors
/// [`StepError`] naming the failed step; keys retired before the failure stay retired.
pub fn retire(
    b: &dyn Backend,
    now: SystemTime,
    dry_run: bool,
    on_step: OnStep<'_, RetireStep>,
) -> Result<RetireReport, StepError> {
    let prep = StepError::before::<RetireStep>;
    let mut items = Vec::new();
    let mut log = Log::new(on_step);
    'providers: for provider in b.list_providers().map_err(prep)? {
        let ring = b.load_keyring(&provider).map_err(prep)?;
        for key in &ring.keys {
            let item = |outcome| RetireItem {
                key_name: key.key_name.clone(),
                provider: provider.clone(),
                outcome,
            };
            match due(key, now) {
                Ok(false) => {
                    // Said, so a scheduled run shows what it keeps and until when.
                    if let (KeyStatus::Previous, Some(t)) = (key.status, &key.retire_after) {
                        items.push(item(RetireOutcome::Kept(KeptReason::InGrace {
                            retire_after: t.clone(),
                        })));
                    }
                    continue;
                }
                Ok(true) => {}
                Err(reason) => {
                    items.push(item(RetireOutcome::Kept(reason)));
                    continue;
                }
            }
            let pk = public_key_by_name(b, &key.key_name).map_err(prep)?;
            if let Some(reason) = still_used(b, pk.as_ref())? {
                items.push(item(RetireOutcome::Kept(reason)));
                continue;
            }
            if dry_run {
                items.push(item(RetireOutcome::Planned));
                continue;
            }
            match retire_one(b, &provider, key, pk, &mut log)? {
                Stop::No => items.push(item(RetireOutcome::Retired)),
                Stop::AfterLastStep => {
                    items.push(item(RetireOutcome::Retired));
                    break 'providers;
                }
                Stop::Midway => break 'providers,
            }
        }
    }
    Ok(RetireReport {
        dry_run,
        keys: items,
        steps: log.records,
        stopped_after: log.stopped_after,
    })
}

/// Removes one key at once, whatever its status and grace: for a compromised key, or a
/// mistyped one that occupies one of CloudFront's public-key slots (`fle keys retire --now`,
/// `fle keys delete`). The same three steps as [`retire`], for every keyring holding the key
/// (or only the public key, when no keyring does).
///
/// # Errors
/// Before any step: the key does not exist, or a profile still encrypts with it (move the
/// profile first: `fle keys rotate`). A failed step names itself; a rerun finishes.
pub fn retire_now(
    b: &dyn Backend,
    key_name: &str,
    dry_run: bool,
    on_step: OnStep<'_, RetireStep>,
) -> Result<RetireReport, StepError> {
    let prep = StepError::before::<RetireStep>;
    let pk = public_key_by_name(b, key_name).map_err(prep)?;
    if let Some(KeptReason::StillUsed {
        public_key_id,
        profiles,
    }) = still_used(b, pk.as_ref())?
    {
        return Err(prep(StoreError::InUse {
            kind: "key",
            id: key_name.to_owned(),
            by: format!(
                "profile {} (public key {public_key_id}); move it to another key first (`fle keys rotate`)",
                profiles.join(", ")
            ),
        }));
    }
    let mut holders: Vec<(String, KeyEntry)> = Vec::new();
    for provider in b.list_providers().map_err(prep)? {
        let ring = b.load_keyring(&provider).map_err(prep)?;
        for k in &ring.keys {
            // A rotation in progress needs both its keys: the pending new one, and the old one
            // edges may still encrypt with while the profile change spreads (its step 6, which
            // starts the grace period, has not run yet).
            if let (KeyStatus::Pending, Some(note)) = (k.status, &k.rotation) {
                if k.key_name == key_name || note.replaces == key_name {
                    return Err(prep(StoreError::Busy(format!(
                        "key {key_name:?} is part of an unfinished rotation of profile {:?} (from {:?} to {:?}); finish it first with `fle keys rotate --profile {}`",
                        note.profile, note.replaces, k.key_name, note.profile
                    ))));
                }
            }
        }
        if let Some(k) = ring.get(key_name) {
            holders.push((provider, k.clone()));
        }
    }
    if holders.is_empty() && pk.is_none() {
        return Err(prep(StoreError::NotFound {
            kind: "key",
            id: key_name.to_owned(),
        }));
    }
    let mut log = Log::new(on_step);
    let mut items = Vec::new();
    let item = |provider: &str, outcome| RetireItem {
        key_name: key_name.to_owned(),
        provider: provider.to_owned(),
        outcome,
    };
    if holders.is_empty() {
        // A public key with no private key here: only its slot to free.
        if dry_run {
            items.push(item("", RetireOutcome::Planned));
        } else if let Some(pk) = &pk {
            let deleted = b
                .get_public_key(&pk.id)
                .and_then(|fresh| b.delete_public_key(&fresh.id, &fresh.etag));
            match deleted {
                Err(e) if !e.is_not_found() => {
                    return Err(StepError::at(RetireStep::DeletePublicKey, e))
                }
                _ => {}
            }
            let _ = log.mark(RetireStep::DeletePublicKey, Outcome::Done);
            items.push(item("", RetireOutcome::Retired));
        }
    }
    let mut pk = pk;
    for (provider, key) in &holders {
        if dry_run {
            items.push(item(provider, RetireOutcome::Planned));
            continue;
        }
        // The public key goes with the first keyring's steps; the others find it gone.
        match retire_one(b, provider, key, pk.take(), &mut log)? {
            Stop::No => items.push(item(provider, RetireOutcome::Retired)),
            Stop::AfterLastStep => {
                items.push(item(provider, RetireOutcome::Retired));
                break;
            }
            Stop::Midway => break,
        }
    }
    Ok(RetireReport {
        dry_run,
        keys: items,
        steps: log.records,
        stopped_after: log.stopped_after,
    })
}

/// Whether `key` is due: `retiring`, or `previous` past its retire-after.
fn due(key: &KeyEntry, now: SystemTime) -> Result<bool, KeptReason> {
    match (key.status, key.retire_after.as_deref()) {
        (KeyStatus::Retiring, _) => Ok(true),
        (KeyStatus::Previous, Some(t)) => match humantime::parse_rfc3339(t) {
            Ok(t) => Ok(t <= now),
            Err(_) => Err(KeptReason::UnreadableRetireAfter(t.to_owned())),
        },
        _ => Ok(false),
    }
}

/// The profiles that still encrypt with `pk`, as a reason to keep the key.
fn still_used(b: &dyn Backend, pk: Option<&PublicKey>) -> Result<Option<KeptReason>, StepError> {
    let Some(pk) = pk else { return Ok(None) };
    let users: Vec<String> = b
        .list_profiles()
        .map_err(StepError::before::<RetireStep>)?
        .into_iter()
        .filter(|p| {
            p.config
                .encryption_entities
                .iter()
                .any(|e| e.public_key_id == pk.id)
        })
        .map(|p| p.config.name)
        .collect();
    Ok((!users.is_empty()).then(|| KeptReason::StillUsed {
        public_key_id: pk.id.clone(),
        profiles: users,
    }))
}

/// Whether the callback stopped the run while retiring one key.
enum Stop {
    No,
    /// After the key's last step: it is retired.
    AfterLastStep,
    /// Before its last step: a rerun finishes it.
    Midway,
}

/// The three steps for one key. A concurrent `fle keys retire` may have done any of them
/// already: that is converged, not an error.
fn retire_one(
    b: &dyn Backend,
    provider: &str,
    key: &KeyEntry,
    pk: Option<PublicKey>,
    log: &mut Log<'_, RetireStep>,
) -> Result<Stop, StepError> {
    if key.status != KeyStatus::Retiring {
        let marked = b.set_key_status(
            provider,
            &[StatusChange {
                key_name: key.key_name.clone(),
                status: KeyStatus::Retiring,
                retire_after: key.retire_after.clone(),
                rotation: None,
            }],
        );
        match marked {
            // Gone meanwhile: a concurrent `fle keys retire` finished it.
            Err(e) if e.is_not_found() => return Ok(Stop::No),
            Err(e) => return Err(StepError::at(RetireStep::MarkRetiring, e)),
            Ok(()) => {}
        }
        if log.mark(RetireStep::MarkRetiring, Outcome::Done).is_break() {
            return Ok(Stop::Midway);
        }
    }
    if let Some(pk) = pk {
        let deleted = b
            .get_public_key(&pk.id)
            .and_then(|fresh| b.delete_public_key(&fresh.id, &fresh.etag));
        match deleted {
            Err(e) if !e.is_not_found() => {
                return Err(StepError::at(RetireStep::DeletePublicKey, e))
            }
            _ => {}
        }
        if log
            .mark(RetireStep::DeletePublicKey, Outcome::Done)
            .is_break()
        {
            return Ok(Stop::Midway);
        }
    }
    match b.remove_private_key(provider, &key.key_name) {
        Err(e) if !e.is_not_found() => return Err(StepError::at(RetireStep::DeletePrivateKey, e)),
        _ => {}
    }
    Ok(
        match log.mark(RetireStep::DeletePrivateKey, Outcome::Done) {
            ControlFlow::Break(()) => Stop::AfterLastStep,
            ControlFlow::Continue(()) => Stop::No,
        },
    )
}
