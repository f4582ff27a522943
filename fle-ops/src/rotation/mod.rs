//! Key generation, rotation and retirement over any [`Backend`](crate::Backend), as typed step
//! engines: each operation is an enum of steps ([`GenerateStep`], [`RotateStep`],
//! [`RetireStep`]), each step ends with an [`Outcome`], and the caller's callback runs after
//! every step and may stop the run there ([`ControlFlow::Break`]). Tests use the callback to
//! interrupt a rotation at each step and check that a rerun converges.
//!
//! Safety argument, in order of the rotation's steps:
//! 1. generate the new pair (memory only);
//! 2. store the new private key as `pending`, noting the profile and the key it replaces: from
//!    here on the decrypting backends can load it, before CloudFront can encrypt with it;
//! 3. upload the public key (a rerun derives it again from the stored private key);
//! 4. point the profile at it, with IfMatch on the ETag read before step 1 (first waiting, if
//!    asked, until `switch_delay` has passed since step 2, for backends that reload periodically);
//! 5. for a profile the edge encrypts (not CloudFront): publish the edge function's new version,
//!    whose package carries the new public key, point the distribution's association at it
//!    (IfMatch) and wait until it is deployed;
//! 6. mark the old key `previous` with retire-after = start + switch delay + grace (after an
//!    edge deployment, at least its end + grace), the new one `current`.
//!
//! A rerun finds the `pending` key of step 2 and continues at the first step not yet done, so
//! every interruption converges to the same end state. [`retire`] deletes a public key only when
//! no profile references it, and a private key only after its public key is gone.

mod generate;
mod names;
mod retire;
mod rotate;
mod steps;

use std::ops::ControlFlow;

pub use generate::{generate, GenerateReport, GenerateRequest};
pub use names::{caller_reference, default_key_name};
pub use retire::{retire, retire_now, KeptReason, RetireItem, RetireOutcome, RetireReport};
pub use rotate::{rotate, EdgeKey, EdgeRotation, RotateReport, RotateRequest};
pub use steps::{GenerateStep, RetireStep, RotateStep, Step};

use crate::error::StoreError;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Done by this run.
    Done,
    /// Found done (a rerun after an interruption).
    AlreadyDone,
    /// Would run (dry run).
    Planned,
    /// Nothing to do.
    NotNeeded,
}

/// One step and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRecord<S> {
    /// The step.
    pub step: S,
    /// How it ended.
    pub outcome: Outcome,
}

/// The caller's callback, run after every step with its outcome; [`ControlFlow::Break`] stops
/// the run right there (the report then names the step in `stopped_after`).
pub type OnStep<'a, S> = &'a mut dyn FnMut(S, &Outcome) -> ControlFlow<()>;

/// A callback that never stops.
pub fn run_to_end<S>(_: S, _: &Outcome) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// A failed step: which one, and why. Step number 0 is the checks before step 1.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
pub struct StepError {
    /// 1-based step number; 0 for the checks before step 1.
    pub number: usize,
    /// Number of steps of the operation.
    pub total: usize,
    /// The step's name.
    pub name: &'static str,
    /// What the store said.
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

    /// The checks before step 1 failed: nothing was changed.
    fn before<S: Step>(source: StoreError) -> Self {
        Self {
            number: 0,
            total: S::ALL.len(),
            name: "prepare",
            source,
        }
    }

    fn at<S: Step>(step: S, source: StoreError) -> Self {
        Self {
            number: step.number(),
            total: S::ALL.len(),
            name: step.name(),
            source,
        }
    }
}

/// The step log of one run and the caller's callback.
struct Log<'a, S> {
    records: Vec<StepRecord<S>>,
    on_step: OnStep<'a, S>,
    stopped_after: Option<S>,
}

impl<'a, S: Step> Log<'a, S> {
    fn new(on_step: OnStep<'a, S>) -> Self {
        Self {
            records: Vec::new(),
            on_step,
            stopped_after: None,
        }
    }

    /// Records `step`'s outcome and asks the callback whether to go on.
    fn mark(&mut self, step: S, outcome: Outcome) -> ControlFlow<()> {
        self.records.push(StepRecord { step, outcome });
        tracing::debug!(step = step.number(), name = step.name(), ?outcome, "step");
        let flow = (self.on_step)(step, &outcome);
        if flow.is_break() {
            self.stopped_after = Some(step);
        }
        flow
    }

    /// Records outcomes without asking (steps found done or planned together).
    fn note(&mut self, steps: &[S], outcome: Outcome) {
        for step in steps {
            tracing::debug!(step = step.number(), name = step.name(), ?outcome, "step");
        }
        self.records
            .extend(steps.iter().map(|&step| StepRecord { step, outcome }));
    }
}

/// Refuses a new public key before anything is stored when CloudFront's quota would refuse its
/// upload: otherwise the run would store a private key (which backends load) and then fail, and
/// a dry run would plan what cannot happen.
fn public_key_room(existing: usize, quota: usize) -> Result<(), StoreError> {
    if existing >= quota {
        return Err(StoreError::LimitExceeded {
            kind: "public keys",
            limit: quota,
        });
    }
    Ok(())
}

/// A time the engines write (creation, retire-after), refused past year 9999 or before 1970.
fn rfc3339(t: std::time::SystemTime, what: &str) -> Result<String, StoreError> {
    crate::time::rfc3339(t).ok_or_else(|| {
        StoreError::Invalid(format!(
            "{what} is out of range: times must fall between 1970 and 9999"
        ))
    })
}

fn key_err(e: crate::keygen::KeyError) -> StoreError {
    StoreError::Invalid(e.to_string())
}
