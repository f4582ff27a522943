//! API-key rotation: replace the API Gateway API key CloudFront sends to the origin (origin
//! custom header [`API_KEY_HEADER`]) without a moment where CloudFront holds no valid key, on
//! the same step engine as key rotation ([`crate::rotation`]): an enum of steps, an
//! [`Outcome`] per step, and the caller's callback between steps.
//!
//! Order: create the new key → add it to the usage plan → record its value in the stack's
//! secret, when one is named (so a CloudFormation update that resolves the origin header from
//! that secret writes the current key, never an old one) → put it in the origin's custom
//! header (UpdateDistribution with IfMatch) → wait until the distribution is Deployed → wait
//! the grace period (edge locations and in-flight requests) → remove the old key from the plan
//! → delete it. Until the last two steps both keys are valid, so CloudFront always has one.
//!
//! Resumable: the run's state lives in AWS itself. A key made here is named
//! `fle/<distribution>/<origin>/<created time>` and described `fle api-keys rotate: replaces
//! <old key id>`. A rerun reads the origin header, the usage plan and those keys, works out
//! which step was reached, and continues from there (a key not yet at CloudFront is reused,
//! never doubled; after the header switch it goes on to retire the key it replaces).

mod origin;
mod random;
mod state;

use std::time::Duration;

use aws_sdk_apigateway::types::ApiKey;

use super::sdk::{self, AwsTarget, DeployError};
use crate::rotation::{OnStep, Outcome, Step, StepRecord};
use state::State;

/// The origin custom header API Gateway reads the key from: the edge signer's constant, so
/// the signer signs exactly the header this rotation writes.
pub use edge_signer::API_KEY_HEADER;

/// A new API key value as the rotation makes them: 40 uniform random letters and digits.
///
/// # Errors
/// The system has no randomness.
pub fn new_api_key_value() -> Result<zeroize::Zeroizing<String>, ApiKeyError> {
    random::api_key_value()
}

/// The steps of an API-key rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKeyStep {
    /// Create the new API key.
    Create,
    /// Add it to the usage plan.
    AddToPlan,
    /// Write its value into the `value_secret` secret (not needed without one).
    RecordValue,
    /// Put it in the origin's custom header (IfMatch).
    UpdateDistribution,
    /// Wait until the distribution is Deployed.
    WaitDeployed,
    /// Keep the old key valid for the grace period.
    Grace,
    /// Remove the old key from the usage plan.
    RemoveFromPlan,
    /// Delete the old key.
    DeleteOld,
}

impl Step for ApiKeyStep {
    const ALL: &'static [Self] = &[
        Self::Create,
        Self::AddToPlan,
        Self::RecordValue,
        Self::UpdateDistribution,
        Self::WaitDeployed,
        Self::Grace,
        Self::RemoveFromPlan,
        Self::DeleteOld,
    ];
    fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::AddToPlan => "add-to-plan",
            Self::RecordValue => "record-value",
            Self::UpdateDistribution => "update-distribution",
            Self::WaitDeployed => "wait-deployed",
            Self::Grace => "grace",
            Self::RemoveFromPlan => "remove-from-plan",
            Self::DeleteOld => "delete-old",
        }
    }
}

/// What to rotate.
#[derive(Debug, Clone)]
pub struct ApiKeyRotation {
    /// The REST API id (must be a stage of the usage plan).
    pub rest_api: String,
    /// The usage plan that holds the keys.
    pub usage_plan: String,
    /// The CloudFront distribution id.
    pub distribution: String,
    /// The origin id; `None`: the origin with an `x-api-key` custom header, or the only origin.
    pub origin: Option<String>,
    /// A Secrets Manager secret (name or ARN) that must always hold the key CloudFront sends:
    /// the one deploy/template.yaml resolves the origin header from. `None`: no such secret.
    pub value_secret: Option<String>,
    /// How long to keep the old key valid after the distribution is Deployed.
    pub grace: Duration,
    /// Give up waiting for Deployed after this long (a rerun resumes).
    pub deploy_timeout: Duration,
    /// Time between deployment status polls.
    pub poll_interval: Duration,
    /// Plan only.
    pub dry_run: bool,
}

/// What a rotation did. Key values are never in it, only ids.
#[derive(Debug, Clone)]
pub struct ApiKeyReport {
    /// The REST API id.
    pub rest_api: String,
    /// The usage plan id.
    pub usage_plan: String,
    /// The distribution id.
    pub distribution: String,
    /// The origin id.
    pub origin: String,
    /// The key this rotation installs.
    pub new_key_id: Option<String>,
    /// The key it retires.
    pub old_key_id: Option<String>,
    /// Plan only.
    pub dry_run: bool,
    /// True when this run continued an interrupted rotation.
    pub resumed: bool,
    /// The step after which the callback stopped the run.
    pub stopped_after: Option<ApiKeyStep>,
    /// Every step ran (not a dry run, not stopped).
    pub complete: bool,
    /// Every step and its outcome.
    pub steps: Vec<StepRecord<ApiKeyStep>>,
}

/// Why an API-key rotation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The usage plan does not serve the REST API: the new key would not open it.
    #[error("usage plan {plan} has no stage of REST API {rest_api}")]
    PlanDoesNotServeApi {
        /// The usage plan.
        plan: String,
        /// The REST API.
        rest_api: String,
    },
    /// No origin, or no way to tell which one carries the key.
    #[error("{0}")]
    Origin(String),
    /// An AWS call failed.
    #[error("{call}: {detail}")]
    Aws {
        /// The call, e.g. `CreateApiKey`.
        call: String,
        /// The SDK's error with its context.
        detail: String,
    },
    /// The distribution did not deploy in time (a rerun resumes).
    #[error(transparent)]
    Deploy(#[from] DeployError),
    /// Someone changed the origin header meanwhile: the old key is not retired.
    #[error("origin {0}'s x-api-key is no longer the new key (changed meanwhile?): not retiring the old key")]
    ChangedMeanwhile(String),
    /// AWS answered something this code does not expect.
    #[error("{0}")]
    Unexpected(String),
}

impl ApiKeyError {
    fn aws(call: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Aws {
            call: call.into(),
            detail: detail.to_string(),
        }
    }
}

/// The clients a rotation talks to.
#[derive(Debug, Clone)]
pub struct ApiKeyClients {
    /// API Gateway (keys, usage plans).
    pub apigw: aws_sdk_apigateway::Client,
    /// CloudFront (the distribution's origin header).
    pub cf: aws_sdk_cloudfront::Client,
    /// Secrets Manager (the stack's copy of the key, [`ApiKeyRotation::value_secret`]).
    pub sm: aws_sdk_secretsmanager::Client,
}

impl ApiKeyClients {
    /// Clients for `target` from the standard chain.
    ///
    /// # Errors
    /// The SDK cannot be set up (an unknown profile).
    pub async fn new(target: &AwsTarget) -> Result<Self, ApiKeyError> {
        let conf = sdk::sdk_config(target)
            .await
            .map_err(|e| ApiKeyError::Unexpected(e.to_string()))?;
        Ok(Self {
            apigw: aws_sdk_apigateway::Client::new(&conf),
            cf: aws_sdk_cloudfront::Client::new(&conf),
            sm: aws_sdk_secretsmanager::Client::new(&conf),
        })
    }
}

/// Rotates the API key (see the module docs), on its own current-thread runtime.
///
/// # Errors
/// [`ApiKeyError`]; a rerun resumes where this run failed.
pub fn rotate_api_key(
    target: &AwsTarget,
    req: &ApiKeyRotation,
    on_step: OnStep<'_, ApiKeyStep>,
    progress: &dyn Fn(&str),
) -> Result<ApiKeyReport, ApiKeyError> {
    let rt = sdk::runtime()
        .map_err(|e| ApiKeyError::Unexpected(format!("starting the async runtime: {e}")))?;
    rt.block_on(async {
        let clients = ApiKeyClients::new(target).await?;
        rotate_with(&clients, req, on_step, progress).await
    })
}

/// [`rotate_api_key`] with the caller's clients.
///
/// # Errors
/// [`ApiKeyError`]; a rerun resumes where this run failed.
pub async fn rotate_with(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    on_step: OnStep<'_, ApiKeyStep>,
    progress: &dyn Fn(&str),
) -> Result<ApiKeyReport, ApiKeyError> {
    state::check_plan_serves_api(c, req).await?;
    let mut st = state::read(c, req, progress).await?;
    let mut report = ApiKeyReport {
        rest_api: req.rest_api.clone(),
        usage_plan: req.usage_plan.clone(),
        distribution: req.distribution.clone(),
        origin: st.origin.clone(),
        new_key_id: new_key_id(&st),
        old_key_id: st.old_key_id.clone(),
        dry_run: req.dry_run,
        resumed: st.resumed,
        stopped_after: None,
        complete: false,
        steps: Vec::new(),
    };
    if st.resumed {
        progress(&format!(
            "resuming the rotation that installs key {}",
            report.new_key_id.as_deref().unwrap_or("?")
        ));
    }
    for &step in ApiKeyStep::ALL {
        let outcome = run_step(step, c, req, &mut st, progress).await?;
        report.new_key_id = new_key_id(&st);
        report.steps.push(StepRecord { step, outcome });
        if on_step(step, &outcome).is_break() {
            report.stopped_after = Some(step);
            break;
        }
    }
    report.complete = report.stopped_after.is_none() && !req.dry_run;
    Ok(report)
}

fn new_key_id(st: &State) -> Option<String> {
    st.new_key.as_ref().and_then(|k| k.id.clone())
}

async fn run_step(
    step: ApiKeyStep,
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    st: &mut State,
    progress: &dyn Fn(&str),
) -> Result<Outcome, ApiKeyError> {
    let new_value = st.new_key.as_ref().and_then(|k| k.value.clone());
    let switched = new_value.is_some() && st.at_cloudfront == new_value;
    Ok(match step {
        ApiKeyStep::Create if st.new_key.is_some() => Outcome::AlreadyDone,
        ApiKeyStep::Create if req.dry_run => Outcome::Planned,
        ApiKeyStep::Create => {
            let key = create_key(c, req, &st.origin, st.old_key_id.as_deref(), progress).await?;
            st.new_key = Some(key);
            Outcome::Done
        }
        ApiKeyStep::AddToPlan => add_to_plan(c, req, st, progress).await?,
        ApiKeyStep::RecordValue => record_value(c, req, new_value.as_deref(), progress).await?,
        ApiKeyStep::UpdateDistribution if switched => Outcome::AlreadyDone,
        ApiKeyStep::UpdateDistribution if req.dry_run => Outcome::Planned,
        ApiKeyStep::UpdateDistribution => {
            let value = new_value
                .ok_or_else(|| ApiKeyError::Unexpected("internal: no new key value".into()))?;
            origin::set_key(c, req, &st.origin, &value, progress).await?;
            st.at_cloudfront = Some(value);
            Outcome::Done
        }
        ApiKeyStep::WaitDeployed if req.dry_run => Outcome::Planned,
        ApiKeyStep::WaitDeployed => {
            sdk::wait_deployed(
                &c.cf,
                &req.distribution,
                req.deploy_timeout,
                req.poll_interval,
                progress,
            )
            .await?;
            Outcome::Done
        }
        ApiKeyStep::Grace | ApiKeyStep::RemoveFromPlan | ApiKeyStep::DeleteOld
            if st.old_key_id.is_none() =>
        {
            Outcome::NotNeeded
        }
        ApiKeyStep::Grace if req.dry_run => Outcome::Planned,
        ApiKeyStep::Grace => {
            if !req.grace.is_zero() {
                progress(&format!(
                    "grace period: keeping the old key valid for {} more",
                    humantime::format_duration(req.grace)
                ));
                tokio::time::sleep(req.grace).await;
            }
            Outcome::Done
        }
        ApiKeyStep::RemoveFromPlan => remove_from_plan(c, req, st, progress).await?,
        ApiKeyStep::DeleteOld => delete_old(c, req, st, progress).await?,
    })
}

async fn add_to_plan(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    st: &mut State,
    progress: &dyn Fn(&str),
) -> Result<Outcome, ApiKeyError> {
    let id = match new_key_id(st) {
        Some(id) if st.in_plan.contains(&id) => return Ok(Outcome::AlreadyDone),
        _ if req.dry_run => return Ok(Outcome::Planned),
        None => {
            return Err(ApiKeyError::Unexpected(
                "internal: no new key to add".into(),
            ))
        }
        Some(id) => id,
    };
    progress(&format!("adding key {id} to usage plan {}", req.usage_plan));
    c.apigw
        .create_usage_plan_key()
        .usage_plan_id(&req.usage_plan)
        .key_id(&id)
        .key_type("API_KEY")
        .send()
        .await
        .map_err(|e| ApiKeyError::aws("CreateUsagePlanKey", crate::aws::sdk::describe(&e)))?;
    st.in_plan.push(id);
    Ok(Outcome::Done)
}

/// Makes the stack's secret hold the new key (read first: a rerun writes no second version).
async fn record_value(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    new_value: Option<&str>,
    progress: &dyn Fn(&str),
) -> Result<Outcome, ApiKeyError> {
    let Some(secret) = req.value_secret.as_deref() else {
        return Ok(Outcome::NotNeeded);
    };
    let held =
        c.sm.get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| {
                ApiKeyError::aws(
                    format!("GetSecretValue {secret}"),
                    crate::aws::sdk::describe(&e),
                )
            })?;
    let value = match new_value {
        Some(v) if held.secret_string() == Some(v) => return Ok(Outcome::AlreadyDone),
        _ if req.dry_run => return Ok(Outcome::Planned),
        Some(v) => v,
        None => {
            return Err(ApiKeyError::Unexpected(
                "internal: no new key value to record".into(),
            ))
        }
    };
    progress(&format!("recording the new key in secret {secret}"));
    c.sm.put_secret_value()
        .secret_id(secret)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| {
            ApiKeyError::aws(
                format!("PutSecretValue {secret}"),
                crate::aws::sdk::describe(&e),
            )
        })?;
    Ok(Outcome::Done)
}

async fn remove_from_plan(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    st: &mut State,
    progress: &dyn Fn(&str),
) -> Result<Outcome, ApiKeyError> {
    let old = st.old_key_id.clone().unwrap_or_default();
    if !st.in_plan.contains(&old) {
        return Ok(Outcome::AlreadyDone);
    }
    if req.dry_run {
        return Ok(Outcome::Planned);
    }
    origin::ensure_still_switched(c, req, st).await?;
    progress(&format!(
        "removing old key {old} from usage plan {}",
        req.usage_plan
    ));
    c.apigw
        .delete_usage_plan_key()
        .usage_plan_id(&req.usage_plan)
        .key_id(&old)
        .send()
        .await
        .map_err(|e| ApiKeyError::aws("DeleteUsagePlanKey", crate::aws::sdk::describe(&e)))?;
    st.in_plan.retain(|k| *k != old);
    Ok(Outcome::Done)
}

async fn delete_old(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    st: &mut State,
    progress: &dyn Fn(&str),
) -> Result<Outcome, ApiKeyError> {
    let old = st.old_key_id.clone().unwrap_or_default();
    if !st.existing.contains(&old) {
        return Ok(Outcome::AlreadyDone);
    }
    if req.dry_run {
        return Ok(Outcome::Planned);
    }
    origin::ensure_still_switched(c, req, st).await?;
    progress(&format!("deleting old key {old}"));
    c.apigw
        .delete_api_key()
        .api_key(&old)
        .send()
        .await
        .map_err(|e| ApiKeyError::aws("DeleteApiKey", crate::aws::sdk::describe(&e)))?;
    st.existing.retain(|k| *k != old);
    Ok(Outcome::Done)
}

/// Creates the new key, named and described so a rerun finds it.
async fn create_key(
    c: &ApiKeyClients,
    req: &ApiKeyRotation,
    origin: &str,
    replaces: Option<&str>,
    progress: &dyn Fn(&str),
) -> Result<ApiKey, ApiKeyError> {
    let now = crate::time::rfc3339_clamped(std::time::SystemTime::now());
    let name = format!("{}{now}", state::key_prefix(&req.distribution, origin));
    let value = random::api_key_value()?;
    let out = c
        .apigw
        .create_api_key()
        .name(&name)
        .description(format!(
            "{}{}",
            state::DESCRIPTION_PREFIX,
            replaces.unwrap_or("none")
        ))
        .enabled(true)
        .value(value.as_str())
        .send()
        .await
        .map_err(|e| ApiKeyError::aws("CreateApiKey", crate::aws::sdk::describe(&e)))?;
    let id = out
        .id
        .clone()
        .ok_or_else(|| ApiKeyError::Unexpected("CreateApiKey returned no id".into()))?;
    progress(&format!("created key {id} ({name})"));
    Ok(ApiKey::builder()
        .id(id)
        .name(name)
        .value(value.as_str())
        .enabled(true)
        .build())
}
