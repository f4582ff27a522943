//! What the keystore nouns (`keys`, `profiles`, `configs`) share: the store and output
//! arguments, and how a store error becomes an exit code.

use anyhow::anyhow;
use clap::Args as ClapArgs;

use crate::exit::Failure;
use crate::keystore::{Backend, StoreArgs, StoreError};
use crate::output::OutputArgs;

// No doc comment: on a flattened `Args` struct it would become the subcommand's about text.
#[derive(Debug, Clone, ClapArgs)]
pub struct Common {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl Common {
    /// Opens the chosen backend; see [`open`].
    pub fn open(&self) -> Result<Box<dyn Backend>, Failure> {
        open(&self.store)
    }
}

/// Opens the chosen backend, failing as the step "open backend".
pub fn open(store: &StoreArgs) -> Result<Box<dyn Backend>, Failure> {
    store
        .open()
        .map_err(|e| store_failure("open backend", e, ""))
}

/// Maps a backend refusal to exit 1 and anything else to exit 2, with a hint on what to do.
pub fn store_failure(context: &str, e: StoreError, hint: &str) -> Failure {
    let refusal = e.is_refusal();
    let err = if hint.is_empty() {
        anyhow!("{context}: {e}")
    } else {
        anyhow!("{context}: {e}; {hint}")
    };
    if refusal {
        Failure::no(err)
    } else {
        Failure::usage(err)
    }
}

/// The `--dry-run` refusal when `--if-match` is not the ETag just read: the real call would
/// fail its precondition. `what` names the object, e.g. `profile "checkout"`.
pub fn stale(context: &str, what: &str, etag: &str, if_match: &str) -> Failure {
    Failure::no(anyhow!(
        "{context}: {what} has ETag {etag}, not {if_match}: it changed since you read it"
    ))
}
