//! `fle keys rotate`: moves a one-entity profile onto a new key (see the module docs for the
//! steps and why they are in this order). Each phase is a function: read what is there, start
//! (or find the started rotation), upload, switch, finish.

use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

use super::{key_err, rfc3339, Log, OnStep, Outcome, RotateStep, Step, StepError, StepRecord};
use crate::backend::{profile_by_name, Backend, StatusChange};
use crate::error::StoreError;
use crate::keygen;
use crate::model::{
    EncryptionEntity, KeyEntry, KeyStatus, KeyringDocument, PrivateKeyPem, Profile, PublicKey,
    PublicKeyConfig, RotationNote,
};
use crate::rules;

use RotateStep::{
    DeployEdge, GenerateKeyPair, MarkOldPrevious, StorePrivateKey, SwitchProfile, UploadPublicKey,
};

/// What to rotate.
#[derive(Debug)]
pub struct RotateRequest<'a> {
    /// The profile to move onto a new key.
    pub profile: &'a str,
    /// How long the old key keeps decrypting after the switch. It counts from the switch at
    /// the earliest: the old key's retire-after is `now + switch_delay + grace`.
    pub grace: Duration,
    /// The time of the rotation (creation time of the new key, start of the grace).
    pub now: SystemTime,
    /// Name of the new key; default [`super::default_key_name`].
    pub new_key_name: Option<String>,
    /// Minimum time between storing the new private key (step 2) and switching the profile
    /// (step 4), so decrypting backends that reload their keyring periodically have it first.
    pub switch_delay: Duration,
    /// Plan only.
    pub dry_run: bool,
    /// Set when the edge encrypts the profile (not CloudFront): step 5 deploys the edge
    /// function with the new key.
    pub edge: Option<EdgeRotation<'a>>,
}

/// Where an edge-encrypted profile's Lambda@Edge function runs, and how to package it.
pub struct EdgeRotation<'a> {
    /// The function (name or unqualified ARN, in us-east-1).
    pub function: &'a str,
    /// The distribution whose cache behavior runs it on origin requests.
    pub distribution_id: &'a str,
    /// `*` for the default cache behavior, else the behavior's path pattern.
    pub path_pattern: &'a str,
    /// Builds the deployable zip for a key (the caller holds the handler and the module).
    pub package: &'a dyn Fn(&EdgeKey<'_>) -> Result<Vec<u8>, String>,
}

impl std::fmt::Debug for EdgeRotation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeRotation")
            .field("function", &self.function)
            .field("distribution_id", &self.distribution_id)
            .field("path_pattern", &self.path_pattern)
            .finish_non_exhaustive()
    }
}

/// The key an edge package is built for.
#[derive(Debug)]
pub struct EdgeKey<'a> {
    pub profile: &'a str,
    pub provider_id: &'a str,
    pub key_name: &'a str,
    /// `PUBLIC KEY` PEM.
    pub public_key_pem: &'a str,
    /// The profile's form-field patterns, as it is now.
    pub field_patterns: &'a [String],
}

/// The description of the edge function version made for `key`: a rerun finds its own
/// version by it (and by its code). Lambda allows 256 characters.
fn edge_description(profile: &str, key: &str) -> Result<String, StoreError> {
    let d = format!("fle: profile {profile}, key {key}");
    if d.len() > 256 {
        return Err(StoreError::Invalid(format!(
            "profile and key names too long for an edge function version's description ({} > 256 characters)",
            d.len()
        )));
    }
    Ok(d)
}

/// What `rotate` did.
#[derive(Debug)]
pub struct RotateReport {
    /// The profile.
    pub profile: String,
    /// Its provider.
    pub provider: String,
    /// The key it used.
    pub old_key: String,
    /// The key it uses now.
    pub new_key: String,
    /// The new public key's id (none on a dry run before the upload).
    pub public_key_id: Option<String>,
    /// When the old key may be retired (RFC 3339 UTC).
    pub retire_after: String,
    /// True when this run continued an interrupted rotation.
    pub resumed: bool,
    /// Plan only.
    pub dry_run: bool,
    /// Every step and its outcome.
    pub steps: Vec<StepRecord<RotateStep>>,
    /// The step after which the callback stopped the run.
    pub stopped_after: Option<RotateStep>,
    /// The edge function version the distribution runs now (edge-encrypted profiles).
    pub edge_version: Option<String>,
}

/// Called before step 4 with the earliest time the profile may switch; returns when it is
/// reached (the caller shows progress while it waits).
pub type WaitUntil<'a> = &'a mut dyn FnMut(SystemTime);

/// What the store holds before any step.
struct Before {
    profile: Profile,
    entity: EncryptionEntity,
    keys: Vec<PublicKey>,
    current: PublicKey,
    ring: KeyringDocument,
    retire_after: String,
}

/// The rotation under way: its new key is stored (step 2 done).
struct Started {
    new_name: String,
    old_name: String,
    stored: PrivateKeyPem,
    resumed: bool,
    stored_at: SystemTime,
}

/// Rotates the key of a one-entity profile (see the module docs for the steps).
///
/// # Errors
/// [`StepError`] naming the failed step; step 0 is the preparation (claim, reads, checks).
pub fn rotate(
    b: &dyn Backend,
    req: &RotateRequest<'_>,
    on_step: OnStep<'_, RotateStep>,
    wait_until: WaitUntil<'_>,
) -> Result<RotateReport, StepError> {
    let prep = StepError::before::<RotateStep>;
    let _claim = if req.dry_run {
        None
    } else {
        Some(b.claim_rotation(req.profile).map_err(prep)?)
    };
    let before = read(b, req)?;
    let needs_upload = match pending(&before.ring, req.profile) {
        Some(p) => !before.keys.iter().any(|k| k.config.name == p.key_name),
        None => !already_finished(&before, req),
    };
    if needs_upload {
        super::public_key_room(before.keys.len(), b.public_key_quota()).map_err(prep)?;
    }
    let mut log = Log::new(on_step);
    let started = match pending(&before.ring, req.profile) {
        Some(p) => {
            // Resuming continues with the key already stored: a different name asked for now
            // would be silently dropped, so it is refused with the name of the pending key.
            if let Some(asked) = req.new_key_name.as_deref().filter(|n| *n != p.key_name) {
                return Err(prep(StoreError::Busy(format!(
                    "a rotation of profile {:?} to key {:?} is pending (interrupted); rerun without --new-key-name, or with --new-key-name {:?}, to finish it before rotating to {asked:?}",
                    req.profile, p.key_name, p.key_name
                ))));
            }
            log.note(&[GenerateKeyPair, StorePrivateKey], Outcome::AlreadyDone);
            resume(p, req.now)
        }
        None if already_finished(&before, req) => {
            let mut report = finished(&before, req, log);
            // The edge is checked (and deployed, if it is not) again: the run that finished may
            // have had no edge flags, or the association may have been changed since.
            if req.edge.is_some() && !req.dry_run {
                let started = resume_current(&before, req.now).map_err(prep)?;
                let mut log = Log::new(on_step);
                let (edge_version, _) = deploy_edge(b, req, &started, &before, &mut log)?;
                for record in log.records {
                    if let Some(r) = report.steps.iter_mut().find(|r| r.step == record.step) {
                        r.outcome = record.outcome;
                    }
                }
                report.edge_version = edge_version;
            }
            return Ok(report);
        }
        None => match start(b, &before, req, &mut log)? {
            Ok(started) => started,
            Err(report) => return Ok(report),
        },
    };
    let report = |log: Log<'_, RotateStep>, public_key_id: Option<String>| RotateReport {
        profile: req.profile.into(),
        provider: before.entity.provider_id.clone(),
        old_key: started.old_name.clone(),
        new_key: started.new_name.clone(),
        public_key_id,
        retire_after: before.retire_after.clone(),
        resumed: started.resumed,
        dry_run: req.dry_run,
        steps: log.records,
        stopped_after: log.stopped_after,
        edge_version: None,
    };
    let (new_pk_id, flow) = upload(b, &before, req, &started, &mut log)?;
    if flow.is_break() {
        return Ok(report(log, new_pk_id));
    }
    if switch(
        b,
        &before,
        req,
        &started,
        new_pk_id.as_deref(),
        &mut log,
        wait_until,
    )?
    .is_break()
    {
        return Ok(report(log, new_pk_id));
    }
    let (edge_version, flow) = deploy_edge(b, req, &started, &before, &mut log)?;
    if flow.is_break() {
        return Ok(RotateReport {
            edge_version,
            ..report(log, new_pk_id)
        });
    }
    let deployed_at = edge_version.as_ref().map(|_| SystemTime::now());
    let retire_after = finish(b, &before, req, &started, deployed_at, &mut log)?;
    Ok(RotateReport {
        edge_version,
        retire_after: retire_after.unwrap_or_else(|| before.retire_after.clone()),
        ..report(log, new_pk_id)
    })
}

/// Reads the profile (exactly one entity), its current public key and its provider's keyring.
fn read(b: &dyn Backend, req: &RotateRequest<'_>) -> Result<Before, StepError> {
    let prep = StepError::before::<RotateStep>;
    let profile = profile_by_name(b, req.profile).map_err(prep)?;
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
    // A profile the edge encrypts needs its function deployed with the new key: without that,
    // the old key would be retired while edges still encrypt with it.
    match (profile.config.edge_encrypted(), &req.edge) {
        (true, None) => {
            return Err(prep(StoreError::Invalid(format!(
                "profile {:?} is encrypted at the edge ({} in its comment): pass the edge function, distribution and config so that step 5 deploys it with the new key",
                req.profile,
                crate::model::EDGE_MARK
            ))))
        }
        (true, Some(edge)) => rules::edge_function_name(edge.function).map_err(prep)?,
        (false, Some(_)) => {
            return Err(prep(StoreError::Invalid(format!(
                "profile {:?} is not encrypted at the edge (no {} in its comment; `fle edge package --encrypt` marks it): CloudFront encrypts it",
                req.profile,
                crate::model::EDGE_MARK
            ))))
        }
        _ => {}
    }
    let keys = b.list_public_keys().map_err(prep)?;
    let current = keys
        .iter()
        .find(|k| k.id == entity.public_key_id)
        .cloned()
        .ok_or_else(|| {
            prep(StoreError::NotFound {
                kind: "public key",
                id: entity.public_key_id.clone(),
            })
        })?;
    let ring = b.load_keyring(&entity.provider_id).map_err(prep)?;
    // The grace starts when the profile switches, which the switch delay puts off: counted from
    // the rotation's start it would be cut short by the delay (a 5 min delay and a 5 min grace
    // would retire the old key the moment the profile leaves it, while edges still use it).
    let retire_after = req
        .now
        .checked_add(req.switch_delay)
        .and_then(|t| t.checked_add(req.grace))
        .ok_or_else(|| StoreError::Invalid("grace period too long".into()))
        .and_then(|t| {
            // Rounded up: written to the second, a grace must not lose the fraction. (No grace
            // and no delay asked: due at once, as `--grace 0s` means.)
            let text = if req.grace.is_zero() && req.switch_delay.is_zero() {
                crate::time::rfc3339(t)
            } else {
                crate::time::rfc3339_ceil(t)
            };
            text.ok_or_else(|| {
                StoreError::Invalid(
                    "the retire-after time (now + switch delay + grace) is out of range: times must fall between 1970 and 9999".into(),
                )
            })
        })
        .map_err(prep)?;
    Ok(Before {
        profile,
        entity,
        keys,
        current,
        ring,
        retire_after,
    })
}

/// The `pending` key an interrupted rotation of `profile` stored.
fn pending<'r>(ring: &'r KeyringDocument, profile: &str) -> Option<&'r KeyEntry> {
    ring.keys.iter().find(|k| {
        k.status == KeyStatus::Pending && k.rotation.as_ref().is_some_and(|r| r.profile == profile)
    })
}

fn resume(p: &KeyEntry, now: SystemTime) -> Started {
    Started {
        new_name: p.key_name.clone(),
        old_name: p
            .rotation
            .as_ref()
            .map(|r| r.replaces.clone())
            .unwrap_or_default(),
        stored: p.private_key_pem.clone(),
        resumed: true,
        stored_at: humantime::parse_rfc3339(&p.created).unwrap_or(now),
    }
}

/// The finished rotation's key as a started one, for the edge deployment of a rerun.
fn resume_current(before: &Before, now: SystemTime) -> Result<Started, StoreError> {
    let name = before.current.config.name.clone();
    let entry = before.ring.get(&name).ok_or_else(|| StoreError::NotFound {
        kind: "private key",
        id: name.clone(),
    })?;
    Ok(Started {
        new_name: name,
        old_name: String::new(),
        stored: entry.private_key_pem.clone(),
        resumed: true,
        stored_at: now,
    })
}

/// The same command already ran to the end (e.g. killed after step 6).
fn already_finished(before: &Before, req: &RotateRequest<'_>) -> bool {
    let current = &before.current.config.name;
    req.new_key_name.as_deref() == Some(current.as_str())
        && before
            .ring
            .get(current)
            .is_some_and(|k| k.status == KeyStatus::Current)
}

fn finished(
    before: &Before,
    req: &RotateRequest<'_>,
    mut log: Log<'_, RotateStep>,
) -> RotateReport {
    for step in RotateStep::ALL {
        log.note(
            &[*step],
            all_steps_outcome(req, *step, Outcome::AlreadyDone),
        );
    }
    let (old_key, retire_after) = before
        .ring
        .keys
        .iter()
        .filter(|k| k.status == KeyStatus::Previous)
        .max_by(|a, b| a.created.cmp(&b.created))
        .map(|k| {
            (
                k.key_name.clone(),
                k.retire_after.clone().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    RotateReport {
        profile: req.profile.into(),
        provider: before.entity.provider_id.clone(),
        old_key,
        new_key: before.current.config.name.clone(),
        public_key_id: Some(before.current.id.clone()),
        retire_after,
        resumed: true,
        dry_run: req.dry_run,
        steps: log.records,
        stopped_after: None,
        edge_version: None,
    }
}

/// Steps 1 and 2: a new pair, its private key stored as `pending`. `Err(report)` when the run
/// ends here (a dry run, or the callback stopped it).
fn start(
    b: &dyn Backend,
    before: &Before,
    req: &RotateRequest<'_>,
    log: &mut Log<'_, RotateStep>,
) -> Result<Result<Started, RotateReport>, StepError> {
    let prep = StepError::before::<RotateStep>;
    let provider = &before.entity.provider_id;
    let old_name = before.current.config.name.clone();
    let name = match &req.new_key_name {
        Some(n) => n.clone(),
        None => super::default_key_name(req.profile, req.now),
    };
    rules::key_name(&name).map_err(prep)?;
    if req.edge.is_some() {
        edge_description(req.profile, &name).map_err(prep)?;
    }
    if before.ring.get(&name).is_some() || before.keys.iter().any(|k| k.config.name == name) {
        return Err(prep(StoreError::AlreadyExists { kind: "key", name }));
    }
    let stop = |log: &mut Log<'_, RotateStep>, new_key: String| RotateReport {
        profile: req.profile.into(),
        provider: provider.clone(),
        old_key: old_name.clone(),
        new_key,
        public_key_id: None,
        retire_after: before.retire_after.clone(),
        resumed: false,
        dry_run: req.dry_run,
        steps: std::mem::take(&mut log.records),
        stopped_after: log.stopped_after,
        edge_version: None,
    };
    if req.dry_run {
        for step in RotateStep::ALL {
            log.note(&[*step], all_steps_outcome(req, *step, Outcome::Planned));
        }
        return Ok(Err(stop(log, name)));
    }
    let pair = keygen::generate().map_err(|e| StepError::at(GenerateKeyPair, key_err(e)))?;
    if log.mark(GenerateKeyPair, Outcome::Done).is_break() {
        return Ok(Err(stop(log, name)));
    }
    let entry = KeyEntry {
        key_name: name.clone(),
        status: KeyStatus::Pending,
        retire_after: None,
        created: rfc3339(req.now, "the creation time")
            .map_err(|e| StepError::at(StorePrivateKey, e))?,
        rotation: Some(RotationNote {
            profile: req.profile.to_owned(),
            replaces: old_name.clone(),
        }),
        private_key_pem: pair.private_pem.clone(),
    };
    b.add_private_key(provider, entry)
        .map_err(|e| StepError::at(StorePrivateKey, e))?;
    if log.mark(StorePrivateKey, Outcome::Done).is_break() {
        return Ok(Err(stop(log, name)));
    }
    Ok(Ok(Started {
        new_name: name,
        old_name,
        stored: pair.private_pem,
        resumed: false,
        stored_at: req.now,
    }))
}

/// Step 3: upload (or find the earlier upload of) the new public key; returns its id.
fn upload(
    b: &dyn Backend,
    before: &Before,
    req: &RotateRequest<'_>,
    started: &Started,
    log: &mut Log<'_, RotateStep>,
) -> Result<(Option<String>, ControlFlow<()>), StepError> {
    let s3 = |e| StepError::at(UploadPublicKey, e);
    let existing = before
        .keys
        .iter()
        .find(|k| k.config.name == started.new_name);
    let public_pem = keygen::public_pem_matching(
        &started.stored,
        existing.map(|k| k.config.encoded_key.as_str()),
        &started.new_name,
    )
    .map_err(s3)?;
    match existing {
        Some(k) => {
            log.note(&[UploadPublicKey], Outcome::AlreadyDone);
            Ok((Some(k.id.clone()), ControlFlow::Continue(())))
        }
        None if req.dry_run => {
            log.note(&[UploadPublicKey], Outcome::Planned);
            Ok((None, ControlFlow::Continue(())))
        }
        None => {
            let pk = b
                .create_public_key(&PublicKeyConfig {
                    caller_reference: super::caller_reference().map_err(s3)?,
                    name: started.new_name.clone(),
                    encoded_key: public_pem,
                    comment: format!("fle rotation of profile {}", req.profile),
                })
                .map_err(s3)?;
            let flow = log.mark(UploadPublicKey, Outcome::Done);
            Ok((Some(pk.id), flow))
        }
    }
}

/// Step 4: point the profile at the new key, IfMatch the ETag read before step 1.
fn switch(
    b: &dyn Backend,
    before: &Before,
    req: &RotateRequest<'_>,
    started: &Started,
    new_pk_id: Option<&str>,
    log: &mut Log<'_, RotateStep>,
    wait_until: WaitUntil<'_>,
) -> Result<ControlFlow<()>, StepError> {
    match new_pk_id {
        Some(id) if id == before.entity.public_key_id => {
            log.note(&[SwitchProfile], Outcome::AlreadyDone);
            Ok(ControlFlow::Continue(()))
        }
        Some(id) if !req.dry_run => {
            if !req.switch_delay.is_zero() {
                let at = started.stored_at;
                wait_until(at.checked_add(req.switch_delay).unwrap_or(at));
            }
            let mut cfg = before.profile.config.clone();
            for e in &mut cfg.encryption_entities {
                id.clone_into(&mut e.public_key_id);
            }
            b.update_profile(&before.profile.id, &cfg, &before.profile.etag)
                .map_err(|e| StepError::at(SwitchProfile, e))?;
            Ok(log.mark(SwitchProfile, Outcome::Done))
        }
        _ => {
            log.note(&[SwitchProfile], Outcome::Planned);
            Ok(ControlFlow::Continue(()))
        }
    }
}

/// The outcome reported for `step` when every step is planned or found done at once: the edge
/// deployment is not needed where CloudFront encrypts the profile.
fn all_steps_outcome(req: &RotateRequest<'_>, step: RotateStep, outcome: Outcome) -> Outcome {
    if step == DeployEdge && req.edge.is_none() {
        Outcome::NotNeeded
    } else {
        outcome
    }
}

/// Step 5 (edge-encrypted profiles): the new package published as a version of the edge
/// function, and the distribution's origin-request association pointed at it, deployed. Both
/// halves find their own earlier work on a rerun (the version by its description).
fn deploy_edge(
    b: &dyn Backend,
    req: &RotateRequest<'_>,
    started: &Started,
    before: &Before,
    log: &mut Log<'_, RotateStep>,
) -> Result<(Option<String>, ControlFlow<()>), StepError> {
    if req.dry_run {
        let outcome = if req.edge.is_some() {
            Outcome::Planned
        } else {
            Outcome::NotNeeded
        };
        log.note(&[DeployEdge], outcome);
        return Ok((None, ControlFlow::Continue(())));
    }
    let Some(edge) = &req.edge else {
        // Marked (not only noted) so that a stop after step 5 means the same in every rotation.
        let flow = log.mark(DeployEdge, Outcome::NotNeeded);
        return Ok((None, flow));
    };
    let s5 = |e| StepError::at(DeployEdge, e);
    let public_pem =
        keygen::public_pem_matching(&started.stored, None, &started.new_name).map_err(s5)?;
    let zip = (edge.package)(&EdgeKey {
        profile: req.profile,
        provider_id: &before.entity.provider_id,
        key_name: &started.new_name,
        public_key_pem: &public_pem,
        field_patterns: &before.entity.field_patterns,
    })
    .map_err(|e| {
        s5(StoreError::Invalid(format!(
            "building the edge package: {e}"
        )))
    })?;
    let description = edge_description(req.profile, &started.new_name).map_err(s5)?;
    let (version, published) = b
        .publish_edge_version(edge.function, &zip, &description)
        .map_err(s5)?;
    let associated = b
        .associate_edge_version(edge.distribution_id, edge.path_pattern, &version.arn)
        .map_err(s5)?;
    let outcome = if published || associated {
        Outcome::Done
    } else {
        Outcome::AlreadyDone
    };
    let flow = log.mark(DeployEdge, outcome);
    Ok((Some(version.arn), flow))
}

/// Step 6: the old key `previous` (with its retire-after), the new key `current`. After an
/// edge deployment the grace counts from the moment it was deployed, when the last edge
/// stopped encrypting with the old key, if that is later than planned.
fn finish(
    b: &dyn Backend,
    before: &Before,
    req: &RotateRequest<'_>,
    started: &Started,
    deployed_at: Option<SystemTime>,
    log: &mut Log<'_, RotateStep>,
) -> Result<Option<String>, StepError> {
    if req.dry_run {
        log.note(&[MarkOldPrevious], Outcome::Planned);
        return Ok(None);
    }
    let mut retire_after = None;
    let mut changes = vec![StatusChange {
        key_name: started.new_name.clone(),
        status: KeyStatus::Current,
        retire_after: None,
        rotation: None,
    }];
    if before.ring.get(&started.old_name).is_some() && started.old_name != started.new_name {
        let after_deploy = deployed_at
            .and_then(|t| t.checked_add(req.grace))
            .and_then(crate::time::rfc3339_ceil)
            .filter(|t| *t > before.retire_after);
        retire_after = Some(after_deploy.unwrap_or_else(|| before.retire_after.clone()));
        changes.push(StatusChange {
            key_name: started.old_name.clone(),
            status: KeyStatus::Previous,
            retire_after: retire_after.clone(),
            rotation: None,
        });
    }
    b.set_key_status(&before.entity.provider_id, &changes)
        .map_err(|e| StepError::at(MarkOldPrevious, e))?;
    // The last step: stopping after it changes nothing.
    let _: ControlFlow<()> = log.mark(MarkOldPrevious, Outcome::Done);
    Ok(retire_after)
}
