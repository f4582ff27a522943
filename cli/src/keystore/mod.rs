//! Where keys, profiles and configurations live: the [`Backend`] trait, implemented by the local
//! keystore ([`local::LocalStore`], the default) and by AWS (`crate::backend`).
//!
//! The trait mirrors CloudFront's operations (create / get / update with `IfMatch` / delete) plus
//! a narrow private-key ledger: keys are added, change status, or are removed one by one, so no
//! operation can drop a key by rewriting the whole keyring.

pub mod local;
pub mod lock;
pub mod model;
pub mod rotation;
pub mod rules;

use model::{
    Attachment, Config, ConfigBody, KeyEntry, KeyStatus, Keyring, Profile, ProfileConfig,
    PublicKey, PublicKeyConfig, RotationNote,
};

/// What a backend refuses, in CloudFront's terms, so the caller can tell the user what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{kind} {id:?} does not exist")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error("{kind} {id:?} is in use by {by}")]
    InUse {
        kind: &'static str,
        id: String,
        by: String,
    },
    #[error("{kind} {id:?} changed since it was read (ETag mismatch); read it again and retry")]
    PreconditionFailed { kind: &'static str, id: String },
    #[error("too many {kind}: the limit is {limit}")]
    LimitExceeded { kind: &'static str, limit: usize },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("{0}")]
    Busy(String),
    #[error("keystore {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("keystore {path} is corrupt: {detail}")]
    Corrupt { path: String, detail: String },
    /// A refusal by the remote service, with its error code (e.g. `PublicKeyInUse`).
    #[error("{what}: refused by AWS ({code}): {message}")]
    Refused {
        what: String,
        code: String,
        message: String,
    },
    #[error("{0}")]
    Remote(String),
}

impl StoreError {
    /// The object does not exist (locally, or CloudFront / Secrets Manager said `NoSuch…`).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound { .. } => true,
            Self::Refused { code, .. } => {
                code.starts_with("NoSuch") || code == "ResourceNotFoundException"
            }
            _ => false,
        }
    }

    /// Refusals are a clean "no" (exit 1); malformed input and I/O are exit 2.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::NotFound { .. }
                | Self::AlreadyExists { .. }
                | Self::InUse { .. }
                | Self::PreconditionFailed { .. }
                | Self::LimitExceeded { .. }
                | Self::Busy(_)
                | Self::Refused { .. }
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A change of one private key's state in a provider's keyring.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub key_name: String,
    pub status: KeyStatus,
    pub retire_after: Option<String>,
    pub rotation: Option<RotationNote>,
}

/// The keyring edits of [`Backend`]'s private-key methods, the same for every backend.
impl Keyring {
    /// Adds `entry`; refuses a name already in the keyring.
    pub fn add(&mut self, entry: KeyEntry) -> StoreResult<()> {
        if self.get(&entry.key_name).is_some() {
            return Err(StoreError::AlreadyExists {
                kind: "private key",
                name: entry.key_name,
            });
        }
        self.keys.push(entry);
        Ok(())
    }

    /// Applies `changes` in order; fails on the first key that is not in the keyring.
    pub fn apply(&mut self, changes: &[StatusChange]) -> StoreResult<()> {
        for c in changes {
            let k = self
                .get_mut(&c.key_name)
                .ok_or_else(|| StoreError::NotFound {
                    kind: "private key",
                    id: c.key_name.clone(),
                })?;
            k.status = c.status;
            k.retire_after.clone_from(&c.retire_after);
            k.rotation.clone_from(&c.rotation);
        }
        Ok(())
    }

    /// Removes the key named `key_name`; fails if there is none.
    pub fn remove(&mut self, key_name: &str) -> StoreResult<()> {
        if self.get(key_name).is_none() {
            return Err(StoreError::NotFound {
                kind: "private key",
                id: key_name.to_owned(),
            });
        }
        self.keys.retain(|k| k.key_name != key_name);
        Ok(())
    }
}

/// Held while a rotation of one profile runs; dropping it releases the claim.
pub trait RotationGuard: std::fmt::Debug {}

/// One place that stores CloudFront's FLE objects and the private keys behind them.
pub trait Backend {
    /// Human description for messages, e.g. "local keystore ./.fle".
    fn describe(&self) -> String;

    /// Every public key. `etag` (and on AWS `caller_reference`) may be empty: listing does not
    /// return them; use [`Backend::get_public_key`] before an IfMatch.
    fn list_public_keys(&self) -> StoreResult<Vec<PublicKey>>;
    fn get_public_key(&self, id: &str) -> StoreResult<PublicKey>;
    fn create_public_key(&self, cfg: &PublicKeyConfig) -> StoreResult<PublicKey>;
    fn delete_public_key(&self, id: &str, if_match: &str) -> StoreResult<()>;

    fn list_profiles(&self) -> StoreResult<Vec<Profile>>;
    fn create_profile(&self, cfg: &ProfileConfig) -> StoreResult<Profile>;
    fn update_profile(&self, id: &str, cfg: &ProfileConfig, if_match: &str)
        -> StoreResult<Profile>;
    fn delete_profile(&self, id: &str, if_match: &str) -> StoreResult<()>;

    fn list_configs(&self) -> StoreResult<Vec<Config>>;
    fn create_config(&self, cfg: &ConfigBody) -> StoreResult<Config>;
    fn update_config(&self, id: &str, cfg: &ConfigBody, if_match: &str) -> StoreResult<Config>;
    fn delete_config(&self, id: &str, if_match: &str) -> StoreResult<()>;

    /// Sets (or with `None` clears) the configuration of a distribution's cache behavior.
    fn attach_config(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        config_id: Option<&str>,
    ) -> StoreResult<Attachment>;
    fn list_attachments(&self) -> StoreResult<Vec<Attachment>>;

    /// Providers that have a keyring.
    fn list_providers(&self) -> StoreResult<Vec<String>>;
    /// The provider's keyring (empty if it has none yet).
    fn load_keyring(&self, provider_id: &str) -> StoreResult<Keyring>;
    /// Adds a key; refuses a name already in the keyring (a private key is never overwritten).
    fn add_private_key(&self, provider_id: &str, entry: KeyEntry) -> StoreResult<()>;
    /// Applies status changes to existing keys, all or none.
    fn set_key_status(&self, provider_id: &str, changes: &[StatusChange]) -> StoreResult<()>;
    /// Removes a key. Refuses while a public key of that name still exists.
    fn remove_private_key(&self, provider_id: &str, key_name: &str) -> StoreResult<()>;

    /// Claims the right to rotate `profile`; fails with [`StoreError::Busy`] if another claim is live.
    fn claim_rotation(&self, profile: &str) -> StoreResult<Box<dyn RotationGuard>>;
}

/// Finds a public key by name.
pub fn public_key_by_name(b: &dyn Backend, name: &str) -> StoreResult<Option<PublicKey>> {
    Ok(b.list_public_keys()?
        .into_iter()
        .find(|k| k.config.name == name))
}

/// Finds a profile by name.
pub fn profile_by_name(b: &dyn Backend, name: &str) -> StoreResult<Profile> {
    b.list_profiles()?
        .into_iter()
        .find(|p| p.config.name == name)
        .ok_or_else(|| StoreError::NotFound {
            kind: "profile",
            id: name.to_owned(),
        })
}

/// Finds a configuration by id.
pub fn config_by_id(b: &dyn Backend, id: &str) -> StoreResult<Config> {
    b.list_configs()?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| StoreError::NotFound {
            kind: "configuration",
            id: id.to_owned(),
        })
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
    #[arg(long, value_enum, default_value_t = BackendKind::Local)]
    pub backend: BackendKind,
    /// AWS named profile [default: the standard chain: $AWS_PROFILE, SSO, environment, ...]
    #[arg(long, value_name = "NAME", help_heading = "AWS backend")]
    pub aws_profile: Option<String>,
    /// AWS region [default: the standard chain]
    #[arg(long, value_name = "REGION", help_heading = "AWS backend")]
    pub region: Option<String>,
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
    #[arg(long, value_name = "DURATION", default_value = "20m", value_parser = humantime::parse_duration, help_heading = "AWS backend")]
    pub deploy_timeout: std::time::Duration,
    /// Where the AWS backend keeps private keys (the prefix names the secret or parameter).
    #[arg(long, value_enum, default_value_t = crate::backend::PrivateKeyStore::SecretsManager, help_heading = "AWS backend")]
    pub private_key_store: crate::backend::PrivateKeyStore,
}

impl StoreArgs {
    /// Opens the chosen backend.
    ///
    /// # Errors
    /// The AWS clients cannot be set up.
    pub fn open(&self) -> StoreResult<Box<dyn Backend>> {
        match self.backend {
            BackendKind::Local => Ok(Box::new(local::LocalStore::new(
                self.keystore.clone().unwrap_or_else(|| ".fle".into()),
            ))),
            BackendKind::Aws => Ok(Box::new(crate::backend::AwsBackend::new(
                &crate::backend::AwsOptions {
                    profile: self.aws_profile.clone(),
                    region: self.region.clone(),
                    kms_key: self.kms_key.clone(),
                    secret_prefix: self.secret_prefix.clone(),
                    deploy_timeout: self.deploy_timeout,
                    private_key_store: self.private_key_store,
                },
            )?)),
        }
    }
}
