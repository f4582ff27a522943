//! What the keystore nouns (`keys`, `profiles`, `configs`) share: the store and output
//! arguments, and how a store error becomes an exit code.

use anyhow::anyhow;
use clap::Args as ClapArgs;

use fle_ops::aws::{self, AwsBackend, AwsOptions, AwsTarget};
use fle_ops::local::LocalStore;
use fle_ops::{Backend, StoreError, StoreResult};

use crate::exit::Failure;
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

    /// Opens the chosen backend, creating a local keystore on its first write.
    pub fn open_or_create(&self) -> Result<Box<dyn Backend>, Failure> {
        self.store
            .open_with(true)
            .map_err(|e| store_failure("open backend", e, ""))
    }
}

/// Opens the chosen backend, failing as the step "open backend"; a local keystore must exist.
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

/// Which backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// The local keystore directory.
    #[default]
    Local,
    /// CloudFront (public keys, profiles, configurations) and Secrets Manager (private keys).
    Aws,
}

/// `--keystore` and `--backend`, shared by `fle keys|profiles|configs`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Local keystore directory [default: $FLE_HOME, else ./.fle]
    #[arg(long, value_name = "DIR", env = "FLE_HOME", hide_env_values = true)]
    pub keystore: Option<std::path::PathBuf>,
    /// Where keys, profiles and configurations live.
    #[arg(long, value_enum, default_value_t = BackendKind::Local, env = "FLE_BACKEND")]
    pub backend: BackendKind,
    /// AWS named profile [default: the standard chain: $AWS_PROFILE, SSO, environment, ...]
    #[arg(long, value_name = "NAME", help_heading = "AWS backend")]
    pub aws_profile: Option<String>,
    /// AWS region [default: the standard chain]
    #[arg(long, value_name = "REGION", help_heading = "AWS backend")]
    pub region: Option<String>,
    /// Give up on an AWS call (retries included) after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::input::duration::<{ crate::input::limit::WAIT_SECS }>, help_heading = "AWS backend")]
    pub aws_timeout: std::time::Duration,
    /// The account's CloudFront public-key quota, if AWS raised it from 10: key generation and
    /// rotation refuse before storing anything at the quota.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        env = "FLE_PUBLIC_KEY_QUOTA",
        help_heading = "AWS backend"
    )]
    pub public_key_quota: usize,
    /// KMS key (id, ARN or alias) encrypting a provider's keyring secret when it is created.
    #[arg(long, value_name = "KEY", help_heading = "AWS backend")]
    pub kms_key: Option<String>,
    /// Keyring name prefix: provider P's secret is <PREFIX><P>, its SSM parameter /<PREFIX><P>.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "fle/keyring/",
        help_heading = "AWS backend"
    )]
    pub secret_prefix: String,
    /// How long `configs attach` waits for the distribution to be Deployed (e.g. 20m).
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = crate::input::duration::<{ crate::input::limit::WAIT_SECS }>, help_heading = "AWS backend")]
    pub deploy_timeout: std::time::Duration,
    /// Where the AWS backend keeps private keys (the prefix names the secret or parameter).
    #[arg(long, value_enum, default_value_t = PrivateKeyStore::SecretsManager, help_heading = "AWS backend")]
    pub private_key_store: PrivateKeyStore,
}

impl StoreArgs {
    /// Every argument at its default (environment variables included), for a command that
    /// takes only some of them.
    ///
    /// # Errors
    /// An environment variable holds a value the argument refuses.
    pub fn defaults() -> Result<Self, Failure> {
        use clap::{Args as _, FromArgMatches as _};
        let command = Self::augment_args(clap::Command::new("fle"));
        command
            .try_get_matches_from(["fle"])
            .and_then(|m| Self::from_arg_matches(&m))
            .map_err(|e| Failure::usage(anyhow!("{e}")))
    }

    /// Opens the chosen backend.
    ///
    /// # Errors
    /// The AWS clients cannot be set up.
    pub fn open(&self) -> StoreResult<Box<dyn Backend>> {
        self.open_with(false)
    }

    /// Opens the chosen backend; with `create`, a local keystore that does not exist yet is
    /// made on the first write, else it must exist.
    ///
    /// # Errors
    /// The keystore does not exist (without `create`), or the AWS clients cannot be set up.
    pub fn open_with(&self, create: bool) -> StoreResult<Box<dyn Backend>> {
        match self.backend {
            BackendKind::Local => {
                let root = self.keystore.clone().unwrap_or_else(|| ".fle".into());
                Ok(Box::new(if create {
                    LocalStore::new(root)
                } else {
                    LocalStore::open(root)?
                }))
            }
            BackendKind::Aws => Ok(Box::new(AwsBackend::new(&AwsOptions {
                target: AwsTarget {
                    profile: self.aws_profile.clone(),
                    region: self.region.clone(),
                    call_timeout: Some(self.aws_timeout),
                },
                kms_key: self.kms_key.clone(),
                secret_prefix: self.secret_prefix.clone(),
                deploy_timeout: self.deploy_timeout,
                private_key_store: match self.private_key_store {
                    PrivateKeyStore::SecretsManager => aws::PrivateKeyStore::SecretsManager,
                    PrivateKeyStore::Ssm => aws::PrivateKeyStore::Ssm,
                },
                progress: aws::Progress::new(|m| eprintln!("fle: {m}")),
                public_key_quota: self.public_key_quota,
            })?)),
        }
    }
}

/// Where the AWS backend keeps the keyrings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PrivateKeyStore {
    /// One Secrets Manager secret per provider.
    #[default]
    SecretsManager,
    /// One SSM Parameter Store SecureString (Advanced tier) per provider.
    Ssm,
}
