//! The AWS backend (`--backend aws`): CloudFront for public keys, FLE profiles and
//! configurations and distribution attachment; Secrets Manager (default) or SSM Parameter Store
//! for the private keys, one secret / parameter per provider holding the keyring document of
//! docs/keystore.md.
//!
//! The [`Backend`] trait is synchronous: this backend owns a current-thread tokio runtime and
//! blocks on each SDK call. Credentials, region and endpoints come from the standard AWS chain
//! (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL[_<SERVICE>]`, SSO, ...), as the AWS CLI does,
//! through [`sdk`] (shared with API-key rotation).

pub mod api_keys;
mod convert;
mod keyrings;
pub mod sdk;
mod secrets;
mod ssm;

pub use sdk::{AwsTarget, DeployError};

/// Where the AWS backend reports progress and warnings (a long wait, a lock it could not
/// release): the caller decides how to show them.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&str) + Send + Sync>);

impl Progress {
    /// Reports to `f`.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Reports nothing.
    pub fn silent() -> Self {
        Self::new(|_| {})
    }

    /// Reports one message.
    pub fn note(&self, message: &str) {
        (self.0)(message);
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::Client as CloudFront;

use crate::backend::{Backend, RotationGuard, StatusChange};
use crate::error::{StoreError, StoreResult};
use crate::ledger::KeyringEdits as _;
use crate::model::{
    Attachment, Config, ConfigBody, EdgeVersion, KeyEntry, KeyringDocument, Profile, ProfileConfig,
    PublicKey, PublicKeyConfig,
};
use crate::rules;

/// How to reach AWS.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Account and region.
    pub target: AwsTarget,
    /// KMS key for new keyring secrets.
    pub kms_key: Option<String>,
    /// Secret name = prefix + provider id (':' written as '.').
    pub secret_prefix: String,
    /// How long `configs attach` waits for the distribution to be Deployed.
    pub deploy_timeout: Duration,
    /// Where private keys live.
    pub private_key_store: PrivateKeyStore,
    /// Where progress and warnings go.
    pub progress: Progress,
    /// The account's quota of CloudFront public keys (10 unless AWS raised it): generation and
    /// rotation refuse before storing anything when it is reached.
    pub public_key_quota: usize,
}

/// Where the AWS backend keeps the keyrings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrivateKeyStore {
    /// One Secrets Manager secret per provider.
    #[default]
    SecretsManager,
    /// One SSM Parameter Store SecureString (Advanced tier) per provider.
    Ssm,
}

/// CloudFront + Secrets Manager or SSM.
#[derive(Debug)]
pub struct AwsBackend {
    rt: Arc<tokio::runtime::Runtime>,
    cf: CloudFront,
    lambda: aws_sdk_lambda::Client,
    keyrings: keyrings::KeyringStore,
    deploy_timeout: Duration,
    progress: Progress,
    public_key_quota: usize,
}

impl AwsBackend {
    /// Builds the clients (no network call yet).
    ///
    /// # Errors
    /// The tokio runtime cannot start.
    pub fn new(opts: &AwsOptions) -> StoreResult<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Remote(format!("cannot start the async runtime: {e}")))?;
        let conf = rt
            .block_on(sdk::sdk_config(&opts.target))
            .map_err(|e| StoreError::Remote(e.to_string()))?;
        let keyrings = match opts.private_key_store {
            PrivateKeyStore::SecretsManager => {
                keyrings::KeyringStore::SecretsManager(secrets::SecretKeyrings::new(
                    aws_sdk_secretsmanager::Client::new(&conf),
                    opts.secret_prefix.clone(),
                    opts.kms_key.clone(),
                ))
            }
            PrivateKeyStore::Ssm => keyrings::KeyringStore::Ssm(ssm::SsmKeyrings::new(
                aws_sdk_ssm::Client::new(&conf),
                &opts.secret_prefix,
                opts.kms_key.clone(),
                opts.progress.clone(),
            )),
        };
        Ok(Self {
            rt: Arc::new(rt),
            cf: CloudFront::new(&conf),
            // Lambda@Edge functions live in us-east-1, whatever region the rest uses.
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&conf)
                    .region(aws_sdk_lambda::config::Region::new("us-east-1"))
                    .build(),
            ),
            keyrings,
            deploy_timeout: opts.deploy_timeout,
            progress: opts.progress.clone(),
            public_key_quota: opts.public_key_quota,
        })
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Reads a distribution's config, lets `f` change one cache behavior (its FLE
    /// configuration id and its Lambda associations; `f` says whether it changed anything),
    /// updates the distribution with IfMatch when it did, and waits until it is deployed.
    fn change_behavior(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        done: &str,
        f: impl FnOnce(
            &mut Option<String>,
            &mut Option<aws_sdk_cloudfront::types::LambdaFunctionAssociations>,
        ) -> StoreResult<bool>,
    ) -> StoreResult<()> {
        self.block(async {
            let got = self
                .cf
                .get_distribution_config()
                .id(distribution_id)
                .send()
                .await
                .map_err(|e| sdk_err("get distribution config", &e))?;
            let etag = need(got.e_tag(), "get distribution config ETag")?.to_owned();
            let mut dc = need(
                got.distribution_config().cloned(),
                "get distribution config",
            )?;
            let changed = if path_pattern == "*" {
                let b = need(dc.default_cache_behavior.as_mut(), "default cache behavior")?;
                f(
                    &mut b.field_level_encryption_id,
                    &mut b.lambda_function_associations,
                )?
            } else {
                let behaviors = dc.cache_behaviors.as_mut().and_then(|c| c.items.as_mut());
                let b = behaviors
                    .and_then(|items| items.iter_mut().find(|b| b.path_pattern == path_pattern))
                    .ok_or_else(|| StoreError::Refused {
                        what: "change cache behavior".into(),
                        code: "NoSuchCacheBehavior".into(),
                        message: format!(
                            "distribution {distribution_id} has no cache behavior {path_pattern:?}"
                        ),
                    })?;
                f(
                    &mut b.field_level_encryption_id,
                    &mut b.lambda_function_associations,
                )?
            };
            if changed {
                self.cf
                    .update_distribution()
                    .id(distribution_id)
                    .if_match(etag)
                    .distribution_config(dc)
                    .send()
                    .await
                    .map_err(|e| sdk_err("update distribution", &e))?;
            }
            sdk::wait_deployed(
                &self.cf,
                distribution_id,
                self.deploy_timeout,
                Duration::from_secs(5),
                &|m| self.progress.note(m),
            )
            .await
            .map_err(|e| StoreError::Remote(format!("{e}; {done}")))
        })
    }

    /// The published version of `function` with this description, if any.
    async fn find_edge_version(
        &self,
        function: &str,
        description: &str,
        code_sha256: &str,
    ) -> StoreResult<Option<EdgeVersion>> {
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .lambda
                .list_versions_by_function()
                .function_name(function)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| sdk_err("list edge function versions", &e))?;
            let found = page.versions().iter().find(|v| {
                v.description() == Some(description)
                    && v.code_sha256() == Some(code_sha256)
                    && v.version() != Some("$LATEST")
            });
            if let Some(v) = found {
                return Ok(Some(EdgeVersion {
                    function: function.to_owned(),
                    arn: need(v.function_arn(), "list edge function versions")?.to_owned(),
                    description: description.to_owned(),
                    code_sha256: v.code_sha256().unwrap_or_default().to_owned(),
                }));
            }
            match page.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => return Ok(None),
            }
        }
    }

    /// Waits until a code update is done (Lambda refuses to publish while it is in progress).
    async fn wait_function_updated(&self, function: &str) -> StoreResult<()> {
        let start = std::time::Instant::now();
        loop {
            let conf = self
                .lambda
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .map_err(|e| sdk_err("read edge function state", &e))?;
            use aws_sdk_lambda::types::LastUpdateStatus;
            match conf.last_update_status() {
                Some(LastUpdateStatus::InProgress) => {}
                Some(LastUpdateStatus::Failed) => {
                    return Err(StoreError::Remote(format!(
                        "the code update of edge function {function} failed: {}",
                        conf.last_update_status_reason().unwrap_or_default()
                    )))
                }
                _ => return Ok(()),
            }
            if start.elapsed() > self.deploy_timeout {
                return Err(StoreError::Remote(format!(
                    "the code update of edge function {function} is still in progress after {:?}",
                    self.deploy_timeout
                )));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

/// Points a behavior's origin-request association at `version_arn`, with the body included
/// (edge encryption reads it); adds the association when there is none. False when it already
/// was so.
fn set_origin_request(
    lambdas: &mut Option<aws_sdk_cloudfront::types::LambdaFunctionAssociations>,
    version_arn: &str,
    distribution_id: &str,
    path_pattern: &str,
) -> StoreResult<bool> {
    use aws_sdk_cloudfront::types::{EventType, LambdaFunctionAssociations};
    let mut items = lambdas
        .as_ref()
        .map(|l| l.items().to_vec())
        .unwrap_or_default();
    let refuse = |message: String| StoreError::Refused {
        what: "associate edge function".into(),
        code: "NoSuchOriginRequestFunction".into(),
        message,
    };
    let function = version_arn
        .rsplit_once(':')
        .map_or(version_arn, |(head, _)| head);
    match items
        .iter_mut()
        .find(|a| a.event_type == EventType::OriginRequest)
    {
        Some(a) if a.lambda_function_arn == version_arn && a.include_body == Some(true) => {
            return Ok(false)
        }
        // A mistyped function or path pattern must not unhook the signer that runs there.
        Some(a) if !crate::backend::edge_version_of(&a.lambda_function_arn, function) => {
            return Err(refuse(format!(
                "behavior {path_pattern:?} of {distribution_id} runs {} on origin requests, not {function}",
                a.lambda_function_arn
            )))
        }
        Some(a) => {
            version_arn.clone_into(&mut a.lambda_function_arn);
            a.include_body = Some(true);
        }
        None => {
            return Err(refuse(format!(
                "behavior {path_pattern:?} of {distribution_id} runs no function on origin requests: deploy the edge signer there first"
            )))
        }
    }
    let quantity = i32::try_from(items.len())
        .map_err(|_| StoreError::Invalid("too many lambda associations".into()))?;
    *lambdas = Some(
        LambdaFunctionAssociations::builder()
            .quantity(quantity)
            .set_items(Some(items))
            .build()
            .map_err(|e| StoreError::Invalid(format!("lambda associations: {e}")))?,
    );
    Ok(true)
}

/// Maps an SDK failure to the keystore's outcome classes by CloudFront / Secrets Manager error code.
pub(crate) fn sdk_err<E, R>(what: &str, e: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or_default();
    let message = e.message().unwrap_or_default();
    // Lambda: an update in progress (retry later), code that changed under us.
    if code == "ResourceConflictException" || code == "TooManyRequestsException" {
        return StoreError::Busy(format!("{what}: AWS answered {code}: {message}; retry"));
    }
    if code == "PreconditionFailed" || code == "PreconditionFailedException" {
        return StoreError::PreconditionFailed {
            kind: "object",
            id: what.to_owned(),
        };
    }
    let refusal = code.starts_with("NoSuch")
        || code.ends_with("AlreadyExists")
        || code.ends_with("InUse")
        || code.starts_with("TooMany")
        || code == "ResourceNotFoundException"
        || code == "ResourceExistsException";
    if refusal {
        StoreError::Refused {
            what: what.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        }
    } else if !code.is_empty() {
        StoreError::Invalid(format!("{what}: AWS answered {code}: {message}"))
    } else {
        StoreError::Remote(format!("{what}: {}", sdk::describe(e)))
    }
}

fn need<T>(v: Option<T>, what: &str) -> StoreResult<T> {
    v.ok_or_else(|| StoreError::Remote(format!("{what}: the response lacks a required field")))
}

impl Backend for AwsBackend {
    fn describe(&self) -> String {
        match self.keyrings {
            keyrings::KeyringStore::SecretsManager(_) => {
                "AWS (CloudFront, Secrets Manager)".to_owned()
            }
            keyrings::KeyringStore::Ssm(_) => "AWS (CloudFront, SSM Parameter Store)".to_owned(),
        }
    }

    fn list_public_keys(&self) -> StoreResult<Vec<PublicKey>> {
        // The summaries carry everything but the ETag and caller reference: no get per key.
        self.block(async {
            let mut out = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let list = self
                    .cf
                    .list_public_keys()
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| sdk_err("list public keys", &e))?;
                let Some(l) = list.public_key_list() else {
                    break;
                };
                for s in l.items() {
                    out.push(PublicKey {
                        id: s.id().to_owned(),
                        created_time: convert::time(s.created_time()),
                        etag: String::new(),
                        config: PublicKeyConfig {
                            caller_reference: String::new(),
                            name: s.name().to_owned(),
                            encoded_key: s.encoded_key().to_owned(),
                            comment: s.comment().unwrap_or_default().to_owned(),
                        },
                    });
                }
                marker = l.next_marker().filter(|m| !m.is_empty()).map(str::to_owned);
                if marker.is_none() {
                    break;
                }
            }
            Ok(out)
        })
    }

    fn get_public_key(&self, id: &str) -> StoreResult<PublicKey> {
        self.block(async {
            let got = self
                .cf
                .get_public_key()
                .id(id)
                .send()
                .await
                .map_err(|e| sdk_err("get public key", &e))?;
            let pk = need(got.public_key(), "get public key")?;
            Ok(PublicKey {
                id: pk.id().to_owned(),
                created_time: convert::time(pk.created_time()),
                etag: need(got.e_tag(), "get public key ETag")?.to_owned(),
                config: convert::public_key_config_from_cf(need(
                    pk.public_key_config(),
                    "public key config",
                )?),
            })
        })
    }

    fn create_public_key(&self, cfg: &PublicKeyConfig) -> StoreResult<PublicKey> {
        rules::public_key_config(cfg)?;
        let input = convert::public_key_config_to_cf(cfg)?;
        self.block(async {
            let out = self
                .cf
                .create_public_key()
                .public_key_config(input)
                .send()
                .await
                .map_err(|e| sdk_err("create public key", &e))?;
            let pk = need(out.public_key(), "create public key")?;
            Ok(PublicKey {
                id: pk.id().to_owned(),
                created_time: convert::time(pk.created_time()),
                etag: need(out.e_tag(), "create public key ETag")?.to_owned(),
                config: cfg.clone(),
            })
        })
    }

    fn delete_public_key(&self, id: &str, if_match: &str) -> StoreResult<()> {
        self.block(async {
            self.cf
                .delete_public_key()
                .id(id)
                .if_match(if_match)
                .send()
                .await
                .map_err(|e| sdk_err("delete public key", &e))?;
            Ok(())
        })
    }

    fn list_profiles(&self) -> StoreResult<Vec<Profile>> {
        self.block(async {
            // Every page: an account's profiles may not fit in one.
            let mut ids = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let list = self
                    .cf
                    .list_field_level_encryption_profiles()
                    .set_marker(marker.take())
                    .send()
                    .await
                    .map_err(|e| sdk_err("list profiles", &e))?;
                let Some(l) = list.field_level_encryption_profile_list() else {
                    break;
                };
                ids.extend(l.items().iter().map(|s| s.id().to_owned()));
                marker = next_page(l.next_marker(), l.items().is_empty());
                if marker.is_none() {
                    break;
                }
            }
            let mut out = Vec::new();
            for id in ids {
                let got = match self
                    .cf
                    .get_field_level_encryption_profile()
                    .id(&id)
                    .send()
                    .await
                {
                    Ok(g) => g,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_no_such_field_level_encryption_profile()) =>
                    {
                        continue
                    }
                    Err(e) => return Err(sdk_err("get profile", &e)),
                };
                out.push(profile_from(
                    got.field_level_encryption_profile(),
                    got.e_tag(),
                    "get profile",
                )?);
            }
            Ok(out)
        })
    }

    fn create_profile(&self, cfg: &ProfileConfig) -> StoreResult<Profile> {
        rules::profile_config(cfg)?;
        let input = convert::profile_config_to_cf(cfg)?;
        self.block(async {
            let out = self
                .cf
                .create_field_level_encryption_profile()
                .field_level_encryption_profile_config(input)
                .send()
                .await
                .map_err(|e| sdk_err("create profile", &e))?;
            profile_from(
                out.field_level_encryption_profile(),
                out.e_tag(),
                "create profile",
            )
        })
    }

    fn update_profile(
        &self,
        id: &str,
        cfg: &ProfileConfig,
        if_match: &str,
    ) -> StoreResult<Profile> {
        rules::profile_config(cfg)?;
        let input = convert::profile_config_to_cf(cfg)?;
        self.block(async {
            let out = self
                .cf
                .update_field_level_encryption_profile()
                .id(id)
                .if_match(if_match)
                .field_level_encryption_profile_config(input)
                .send()
                .await
                .map_err(|e| sdk_err("update profile", &e))?;
            profile_from(
                out.field_level_encryption_profile(),
                out.e_tag(),
                "update profile",
            )
        })
    }

    fn delete_profile(&self, id: &str, if_match: &str) -> StoreResult<()> {
        self.block(async {
            self.cf
                .delete_field_level_encryption_profile()
                .id(id)
                .if_match(if_match)
                .send()
                .await
                .map_err(|e| sdk_err("delete profile", &e))?;
            Ok(())
        })
    }

    fn list_configs(&self) -> StoreResult<Vec<Config>> {
        self.block(async {
            let mut ids = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let list = self
                    .cf
                    .list_field_level_encryption_configs()
                    .set_marker(marker.take())
                    .send()
                    .await
                    .map_err(|e| sdk_err("list configurations", &e))?;
                let Some(l) = list.field_level_encryption_list() else {
                    break;
                };
                ids.extend(l.items().iter().map(|s| s.id().to_owned()));
                marker = next_page(l.next_marker(), l.items().is_empty());
                if marker.is_none() {
                    break;
                }
            }
            let mut out = Vec::new();
            for id in ids {
                let got = match self.cf.get_field_level_encryption().id(&id).send().await {
                    Ok(g) => g,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_no_such_field_level_encryption_config()) =>
                    {
                        continue
                    }
                    Err(e) => return Err(sdk_err("get configuration", &e)),
                };
                out.push(config_from(
                    got.field_level_encryption(),
                    got.e_tag(),
                    "get configuration",
                )?);
            }
            Ok(out)
        })
    }

    fn create_config(&self, cfg: &ConfigBody) -> StoreResult<Config> {
        rules::config_body(cfg)?;
        let input = convert::config_to_cf(cfg)?;
        self.block(async {
            let out = self
                .cf
                .create_field_level_encryption_config()
                .field_level_encryption_config(input)
                .send()
                .await
                .map_err(|e| sdk_err("create configuration", &e))?;
            config_from(
                out.field_level_encryption(),
                out.e_tag(),
                "create configuration",
            )
        })
    }

    fn update_config(&self, id: &str, cfg: &ConfigBody, if_match: &str) -> StoreResult<Config> {
        rules::config_body(cfg)?;
        let input = convert::config_to_cf(cfg)?;
        self.block(async {
            let out = self
                .cf
                .update_field_level_encryption_config()
                .id(id)
                .if_match(if_match)
                .field_level_encryption_config(input)
                .send()
                .await
                .map_err(|e| sdk_err("update configuration", &e))?;
            config_from(
                out.field_level_encryption(),
                out.e_tag(),
                "update configuration",
            )
        })
    }

    fn delete_config(&self, id: &str, if_match: &str) -> StoreResult<()> {
        self.block(async {
            self.cf
                .delete_field_level_encryption_config()
                .id(id)
                .if_match(if_match)
                .send()
                .await
                .map_err(|e| sdk_err("delete configuration", &e))?;
            Ok(())
        })
    }

    fn attach_config(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        config_id: Option<&str>,
    ) -> StoreResult<Attachment> {
        let value = config_id.map(str::to_owned).unwrap_or_default();
        let mut previous = None;
        self.change_behavior(
            distribution_id,
            path_pattern,
            "the configuration is attached",
            |fle_id, _| {
                previous = fle_id.replace(value.clone()).filter(|s| !s.is_empty());
                if config_id.is_none() && previous.is_none() {
                    return Err(StoreError::NotFound {
                        kind: "attachment",
                        id: format!("{distribution_id} {path_pattern}"),
                    });
                }
                // Already so (e.g. a rerun after an interrupted wait): no update, only the wait.
                Ok(previous.as_deref() != config_id)
            },
        )?;
        Ok(Attachment {
            distribution_id: distribution_id.to_owned(),
            path_pattern: path_pattern.to_owned(),
            config_id: config_id
                .map(str::to_owned)
                .or(previous)
                .unwrap_or_default(),
        })
    }

    fn publish_edge_version(
        &self,
        function: &str,
        zip: &[u8],
        description: &str,
    ) -> StoreResult<(EdgeVersion, bool)> {
        crate::rules::edge_function_name(function)?;
        self.block(async {
            let code_sha256 = crate::backend::edge_code_sha256(zip);
            if let Some(found) = self
                .find_edge_version(function, description, &code_sha256)
                .await?
            {
                return Ok((found, false));
            }
            // An update already in progress (another deploy) would refuse ours.
            self.wait_function_updated(function).await?;
            self.lambda
                .update_function_code()
                .function_name(function)
                .zip_file(aws_smithy_types::Blob::new(zip))
                .send()
                .await
                .map_err(|e| sdk_err("update edge function code", &e))?;
            self.wait_function_updated(function).await?;
            // CodeSha256 makes Lambda refuse to publish code other than ours (a concurrent
            // update in between).
            let published = self
                .lambda
                .publish_version()
                .function_name(function)
                .description(description)
                .code_sha256(&code_sha256)
                .send()
                .await
                .map_err(|e| sdk_err("publish edge function version", &e))?;
            let version = EdgeVersion {
                function: function.to_owned(),
                arn: need(published.function_arn(), "publish edge function version")?.to_owned(),
                description: description.to_owned(),
                code_sha256,
            };
            Ok((version, true))
        })
    }

    fn associate_edge_version(
        &self,
        distribution_id: &str,
        path_pattern: &str,
        version_arn: &str,
    ) -> StoreResult<bool> {
        let mut changed = false;
        self.change_behavior(
            distribution_id,
            path_pattern,
            "the edge function version is associated",
            |_, lambdas| {
                changed = set_origin_request(lambdas, version_arn, distribution_id, path_pattern)?;
                Ok(changed)
            },
        )?;
        Ok(changed)
    }

    fn list_attachments(&self) -> StoreResult<Vec<Attachment>> {
        self.block(async {
            let mut out = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let list = self
                    .cf
                    .list_distributions()
                    .set_marker(marker.take())
                    .send()
                    .await
                    .map_err(|e| sdk_err("list distributions", &e))?;
                let Some(l) = list.distribution_list() else {
                    break;
                };
                attachments_of(l.items(), &mut out);
                marker = next_page(l.next_marker(), l.items().is_empty());
                if marker.is_none() {
                    break;
                }
            }
            Ok(out)
        })
    }

    fn list_providers(&self) -> StoreResult<Vec<String>> {
        self.block(self.keyrings.providers())
    }

    fn load_keyring(&self, provider_id: &str) -> StoreResult<KeyringDocument> {
        rules::provider_id(provider_id)?;
        self.block(self.keyrings.load(provider_id))
    }

    fn add_private_key(&self, provider_id: &str, entry: KeyEntry) -> StoreResult<()> {
        rules::provider_id(provider_id)?;
        rules::key_name(&entry.key_name)?;
        self.block(
            self.keyrings
                .change(provider_id, |ring| ring.add(entry.clone())),
        )
    }

    fn set_key_status(&self, provider_id: &str, changes: &[StatusChange]) -> StoreResult<()> {
        rules::provider_id(provider_id)?;
        self.block(
            self.keyrings
                .change(provider_id, |ring| ring.apply(changes)),
        )
    }

    fn remove_private_key(&self, provider_id: &str, key_name: &str) -> StoreResult<()> {
        rules::provider_id(provider_id)?;
        // The public key must be gone first: never delete a private key CloudFront may still use.
        if let Some(k) = crate::backend::public_key_by_name(self, key_name)? {
            return Err(StoreError::InUse {
                kind: "private key",
                id: key_name.to_owned(),
                by: format!("public key {} (delete the public key first)", k.id),
            });
        }
        self.block(
            self.keyrings
                .change(provider_id, |ring| ring.remove(key_name)),
        )
    }

    fn public_key_quota(&self) -> usize {
        self.public_key_quota
    }

    fn claim_rotation(&self, profile: &str) -> StoreResult<Box<dyn RotationGuard>> {
        let p = crate::backend::profile_by_name(self, profile)?;
        let provider = p
            .config
            .encryption_entities
            .first()
            .map(|e| e.provider_id.clone())
            .ok_or_else(|| {
                StoreError::Invalid(format!("profile {profile:?} has no encryption entity"))
            })?;
        let claim = self.block(self.keyrings.claim(&provider, profile))?;
        Ok(Box::new(AwsRotation {
            rt: Arc::clone(&self.rt),
            keyrings: self.keyrings.clone(),
            provider,
            claim,
            progress: self.progress.clone(),
        }))
    }
}

/// A claim on a profile's rotation, recorded in the provider's keyring secret.
#[derive(Debug)]
struct AwsRotation {
    rt: Arc<tokio::runtime::Runtime>,
    keyrings: keyrings::KeyringStore,
    provider: String,
    claim: crate::model::Claim,
    progress: Progress,
}

impl RotationGuard for AwsRotation {}

impl Drop for AwsRotation {
    fn drop(&mut self) {
        // Best effort: a claim left behind by a crash expires, or is taken over by a rerun on the
        // same host once its process is gone.
        if let Err(e) = self
            .rt
            .block_on(self.keyrings.release(&self.provider, &self.claim))
        {
            self.progress.note(&format!(
                "warning: could not release the rotation claim: {e}"
            ));
        }
    }
}

fn profile_from(
    p: Option<&aws_sdk_cloudfront::types::FieldLevelEncryptionProfile>,
    etag: Option<&str>,
    what: &str,
) -> StoreResult<Profile> {
    let p = need(p, what)?;
    Ok(Profile {
        id: p.id().to_owned(),
        last_modified_time: convert::time(p.last_modified_time()),
        etag: need(etag, what)?.to_owned(),
        config: convert::profile_config_from_cf(need(
            p.field_level_encryption_profile_config(),
            what,
        )?),
    })
}

fn config_from(
    c: Option<&aws_sdk_cloudfront::types::FieldLevelEncryption>,
    etag: Option<&str>,
    what: &str,
) -> StoreResult<Config> {
    let c = need(c, what)?;
    Ok(Config {
        id: c.id().to_owned(),
        last_modified_time: convert::time(c.last_modified_time()),
        etag: need(etag, what)?.to_owned(),
        config: convert::config_from_cf(need(c.field_level_encryption_config(), what)?),
    })
}

/// The marker of the next page: CloudFront sends `NextMarker` only while the list is truncated.
/// An empty page ends the listing too, so a server that repeats a marker cannot loop us forever.
fn next_page(next_marker: Option<&str>, page_was_empty: bool) -> Option<String> {
    next_marker
        .filter(|m| !m.is_empty() && !page_was_empty)
        .map(str::to_owned)
}

/// The FLE configurations attached to the cache behaviors of `distributions`.
fn attachments_of(
    distributions: &[aws_sdk_cloudfront::types::DistributionSummary],
    out: &mut Vec<Attachment>,
) {
    for d in distributions {
        let mut push = |pattern: &str, id: Option<&str>| {
            if let Some(id) = id.filter(|s| !s.is_empty()) {
                out.push(Attachment {
                    distribution_id: d.id().to_owned(),
                    path_pattern: pattern.to_owned(),
                    config_id: id.to_owned(),
                });
            }
        };
        if let Some(b) = d.default_cache_behavior() {
            push("*", b.field_level_encryption_id());
        }
        for b in d.cache_behaviors().map(|c| c.items()).unwrap_or_default() {
            push(b.path_pattern(), b.field_level_encryption_id());
        }
    }
}
