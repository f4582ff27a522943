//! `fle keys generate`: a new pair whose private key is stored before its public key is
//! uploaded, so an interruption leaves nothing CloudFront could encrypt to without a way back.

use std::ops::ControlFlow;
use std::time::SystemTime;

use super::{key_err, rfc3339, GenerateStep, Log, OnStep, Outcome, StepError, StepRecord};
use crate::backend::Backend;
use crate::error::StoreError;
use crate::keygen;
use crate::model::{KeyEntry, KeyStatus, PublicKeyConfig};
use crate::rules;

/// What to generate.
#[derive(Debug)]
pub struct GenerateRequest<'a> {
    /// Key name (the CloudFront public key name).
    pub name: &'a str,
    /// Provider whose keyring gets the private key.
    pub provider: &'a str,
    /// Comment of the public key.
    pub comment: &'a str,
    /// The time written as the key's creation time.
    pub now: SystemTime,
    /// Plan only.
    pub dry_run: bool,
}

/// What `generate` did.
#[derive(Debug)]
pub struct GenerateReport {
    /// Key name.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// The uploaded public key's id (none on a dry run or when stopped before the upload).
    pub public_key_id: Option<String>,
    /// Plan only.
    pub dry_run: bool,
    /// Every step and its outcome.
    pub steps: Vec<StepRecord<GenerateStep>>,
    /// The step after which the callback stopped the run.
    pub stopped_after: Option<GenerateStep>,
}

/// Generates a key pair, stores the private key as `current` in the provider's keyring and
/// uploads the public key. A rerun after an interruption at step 2 uploads the stored key.
///
/// # Errors
/// [`StepError`] naming the failed step.
pub fn generate(
    b: &dyn Backend,
    req: &GenerateRequest<'_>,
    on_step: OnStep<'_, GenerateStep>,
) -> Result<GenerateReport, StepError> {
    use GenerateStep::{GenerateKeyPair, StorePrivateKey, UploadPublicKey};
    let prep = StepError::before::<GenerateStep>;
    rules::key_name(req.name).map_err(prep)?;
    rules::provider_id(req.provider).map_err(prep)?;
    rules::comment(req.comment).map_err(prep)?;
    let ring = b.load_keyring(req.provider).map_err(prep)?;
    // One listing serves the name check and the quota check.
    let publics = b.list_public_keys().map_err(prep)?;
    let count = publics.len();
    let existing_pk = publics.into_iter().find(|k| k.config.name == req.name);
    if existing_pk.is_none() {
        super::public_key_room(count, b.public_key_quota()).map_err(prep)?;
    }
    let mut log = Log::new(on_step);
    let report = |log: Log<'_, GenerateStep>, public_key_id| GenerateReport {
        name: req.name.into(),
        provider: req.provider.into(),
        public_key_id,
        dry_run: req.dry_run,
        steps: log.records,
        stopped_after: log.stopped_after,
    };
    let stored = match ring.get(req.name) {
        Some(entry) if existing_pk.is_some() => {
            return Err(prep(StoreError::AlreadyExists {
                kind: "key",
                name: entry.key_name.clone(),
            }));
        }
        Some(entry) => {
            log.note(&[GenerateKeyPair, StorePrivateKey], Outcome::AlreadyDone);
            entry.private_key_pem.clone()
        }
        None => {
            if existing_pk.is_some() {
                return Err(prep(StoreError::AlreadyExists {
                    kind: "public key",
                    name: req.name.to_owned(),
                }));
            }
            if req.dry_run {
                log.note(
                    &[GenerateKeyPair, StorePrivateKey, UploadPublicKey],
                    Outcome::Planned,
                );
                return Ok(report(log, None));
            }
            let pair =
                keygen::generate().map_err(|e| StepError::at(GenerateKeyPair, key_err(e)))?;
            if log.mark(GenerateKeyPair, Outcome::Done).is_break() {
                return Ok(report(log, None));
            }
            let entry = KeyEntry {
                key_name: req.name.to_owned(),
                status: KeyStatus::Current,
                retire_after: None,
                created: rfc3339(req.now, "the creation time")
                    .map_err(|e| StepError::at(StorePrivateKey, e))?,
                rotation: None,
                private_key_pem: pair.private_pem.clone(),
            };
            b.add_private_key(req.provider, entry)
                .map_err(|e| StepError::at(StorePrivateKey, e))?;
            if log.mark(StorePrivateKey, Outcome::Done).is_break() {
                return Ok(report(log, None));
            }
            pair.private_pem
        }
    };
    if req.dry_run {
        log.note(&[UploadPublicKey], Outcome::Planned);
        return Ok(report(log, None));
    }
    let s3 = |e| StepError::at(UploadPublicKey, e);
    let public_pem = keygen::public_pem_matching(&stored, None, req.name).map_err(s3)?;
    let pk = b
        .create_public_key(&PublicKeyConfig {
            caller_reference: super::caller_reference().map_err(s3)?,
            name: req.name.to_owned(),
            encoded_key: public_pem,
            comment: req.comment.to_owned(),
        })
        .map_err(s3)?;
    // The last step: stopping after it changes nothing.
    let _: ControlFlow<()> = log.mark(UploadPublicKey, Outcome::Done);
    Ok(report(log, Some(pk.id)))
}
