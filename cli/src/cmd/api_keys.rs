//! `fle api-keys rotate`: replace the API Gateway API key CloudFront sends to the origin
//! (origin custom header `x-api-key`) without a moment where CloudFront holds no valid key.
//!
//! Order: create the new key → add it to the usage plan → put it in the origin's custom
//! header (UpdateDistribution with IfMatch) → wait until the distribution is Deployed → wait
//! the grace period (edge locations and in-flight requests) → remove the old key from the plan
//! → delete it. Until the last two steps both keys are valid, so CloudFront always has one.
//!
//! Resumable: the run's state lives in AWS itself. A key made by this command is named
//! `fle/<distribution>/<origin>/<created time>` and described `fle api-keys rotate: replaces
//! <old key id>`. A rerun reads the origin header, the usage plan and those keys, works out
//! which step was reached, and continues from there (a key not yet at CloudFront is reused,
//! never doubled; after the header switch it goes on to retire the key it replaces).

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use aws_sdk_apigateway::types::ApiKey;
use serde::Serialize;

use crate::aws::{self, AwsArgs};
use crate::exit::{CmdResult, Failure};

/// The origin custom header API Gateway reads the key from.
const API_KEY_HEADER: &str = "x-api-key";
/// New keys: 40 random alphanumerics (API Gateway accepts 20–128 characters).
const KEY_LEN: usize = 40;
const DESCRIPTION_PREFIX: &str = "fle api-keys rotate: replaces ";
/// API Gateway's largest page.
const PAGE: i32 = 500;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Rotate the API key CloudFront sends to a REST API, with overlap: new key in the usage
    /// plan and at CloudFront (deployed) before the old one is removed. Rerun after an
    /// interruption to resume.
    Rotate(RotateArgs),
}

#[derive(Debug, clap::Args)]
struct RotateArgs {
    /// The REST API id (must be a stage of the usage plan).
    #[arg(long, value_name = "ID")]
    rest_api: String,
    /// The usage plan that holds the keys.
    #[arg(long, value_name = "ID")]
    usage_plan: String,
    /// The CloudFront distribution id.
    #[arg(long, value_name = "ID")]
    distribution: String,
    /// The origin id [default: the origin with an x-api-key custom header, or the only origin].
    #[arg(long, value_name = "ID")]
    origin: Option<String>,
    /// How long to keep the old key valid after the distribution is Deployed (e.g. 1h, 10m, 0s).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Give up waiting for Deployed after this long (rerun to resume).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    deploy_timeout: Duration,
    /// Print the plan (which steps would run) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// `text` (a summary line) or `json` (a stable object, see docs/edge-signer.md).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    output: String,
    #[command(flatten)]
    aws: AwsArgs,
    /// Testing only: stop right after this step, as an interruption would.
    #[arg(long, hide = true, value_enum)]
    danger_stop_after: Option<Step>,
    /// Testing only: time between deployment status polls.
    #[arg(long, hide = true, default_value = "10s", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Step {
    Create,
    AddToPlan,
    UpdateDistribution,
    WaitDeployed,
    Grace,
    RemoveFromPlan,
    DeleteOld,
}

const STEPS: [Step; 7] = [
    Step::Create,
    Step::AddToPlan,
    Step::UpdateDistribution,
    Step::WaitDeployed,
    Step::Grace,
    Step::RemoveFromPlan,
    Step::DeleteOld,
];

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    /// Done by this run.
    Done,
    /// Found already done (an earlier, interrupted run).
    AlreadyDone,
    /// Would run (dry run) or was not reached (stopped).
    Pending,
    /// Nothing to do (e.g. no old key to retire).
    NotNeeded,
}

#[derive(Debug, Serialize)]
struct StepReport {
    step: Step,
    status: Status,
}

/// `--output json`. Key values are never printed, only ids.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    rest_api: String,
    usage_plan: String,
    distribution: String,
    origin: String,
    new_key_id: Option<String>,
    old_key_id: Option<String>,
    dry_run: bool,
    resumed: bool,
    stopped_after: Option<Step>,
    complete: bool,
    steps: Vec<StepReport>,
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Sub::Rotate(a) => {
            let rt = aws::runtime()?;
            rt.block_on(rotate(a))
        }
    }
}

struct Clients {
    apigw: aws_sdk_apigateway::Client,
    cf: aws_sdk_cloudfront::Client,
}

/// What AWS says about the rotation right now.
struct State {
    origin: String,
    /// The key value in the origin's custom header, if any.
    at_cloudfront: Option<String>,
    /// The key this rotation installs (exists already when resuming).
    new_key: Option<ApiKey>,
    /// The key this rotation retires.
    old_key_id: Option<String>,
    /// Ids of the keys in the usage plan.
    in_plan: Vec<String>,
    /// Ids of all API keys.
    existing: Vec<String>,
    resumed: bool,
}

async fn rotate(args: RotateArgs) -> CmdResult {
    let conf = aws::sdk_config(&args.aws).await;
    let c = Clients {
        apigw: aws_sdk_apigateway::Client::new(&conf),
        cf: aws_sdk_cloudfront::Client::new(&conf),
    };
    check_plan_serves_api(&c, &args).await?;
    let mut state = read_state(&c, &args).await?;

    let mut report = Report {
        rest_api: args.rest_api.clone(),
        usage_plan: args.usage_plan.clone(),
        distribution: args.distribution.clone(),
        origin: state.origin.clone(),
        new_key_id: state.new_key.as_ref().and_then(|k| k.id.clone()),
        old_key_id: state.old_key_id.clone(),
        dry_run: args.dry_run,
        resumed: state.resumed,
        stopped_after: None,
        complete: false,
        steps: Vec::new(),
    };
    if state.resumed {
        eprintln!(
            "fle: resuming the rotation that installs key {}",
            report.new_key_id.as_deref().unwrap_or("?")
        );
    }

    for step in STEPS {
        let status = run_step(step, &c, &args, &mut state).await?;
        report.new_key_id = state.new_key.as_ref().and_then(|k| k.id.clone());
        report.steps.push(StepReport { step, status });
        if args.danger_stop_after == Some(step) && !args.dry_run {
            report.stopped_after = Some(step);
            eprintln!("fle: stopping after {step:?} (--danger-stop-after)");
            break;
        }
    }
    report.complete = report.stopped_after.is_none() && !args.dry_run;
    print_report(&report, &args.output)
}

async fn run_step(
    step: Step,
    c: &Clients,
    args: &RotateArgs,
    state: &mut State,
) -> anyhow::Result<Status> {
    let new_value = state.new_key.as_ref().and_then(|k| k.value.clone());
    let new_id = state.new_key.as_ref().and_then(|k| k.id.clone());
    let switched = new_value.is_some() && state.at_cloudfront == new_value;
    Ok(match step {
        Step::Create if state.new_key.is_some() => Status::AlreadyDone,
        Step::Create if args.dry_run => Status::Pending,
        Step::Create => {
            state.new_key =
                Some(create_key(c, args, &state.origin, state.old_key_id.as_deref()).await?);
            Status::Done
        }
        Step::AddToPlan => match &new_id {
            Some(id) if state.in_plan.contains(id) => Status::AlreadyDone,
            _ if args.dry_run => Status::Pending,
            None => bail!("internal: no new key to add"),
            Some(id) => {
                eprintln!("fle: adding key {id} to usage plan {}", args.usage_plan);
                c.apigw
                    .create_usage_plan_key()
                    .usage_plan_id(&args.usage_plan)
                    .key_id(id)
                    .key_type("API_KEY")
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "CreateUsagePlanKey: {}",
                            aws_sdk_apigateway::error::DisplayErrorContext(e)
                        )
                    })?;
                state.in_plan.push(id.clone());
                Status::Done
            }
        },
        Step::UpdateDistribution if switched => Status::AlreadyDone,
        Step::UpdateDistribution if args.dry_run => Status::Pending,
        Step::UpdateDistribution => {
            let value = new_value.ok_or_else(|| anyhow!("internal: no new key value"))?;
            set_origin_key(c, args, &state.origin, &value).await?;
            state.at_cloudfront = Some(value);
            Status::Done
        }
        Step::WaitDeployed if args.dry_run => Status::Pending,
        Step::WaitDeployed => {
            aws::wait_deployed(
                &c.cf,
                &args.distribution,
                args.deploy_timeout,
                args.poll_interval,
            )
            .await?;
            Status::Done
        }
        Step::Grace | Step::RemoveFromPlan | Step::DeleteOld if state.old_key_id.is_none() => {
            Status::NotNeeded
        }
        Step::Grace if args.dry_run => Status::Pending,
        Step::Grace => {
            if !args.grace.is_zero() {
                eprintln!(
                    "fle: grace period: keeping the old key valid for {} more",
                    humantime::format_duration(args.grace)
                );
                tokio::time::sleep(args.grace).await;
            }
            Status::Done
        }
        Step::RemoveFromPlan => {
            let old = state.old_key_id.clone().unwrap_or_default();
            if !state.in_plan.contains(&old) {
                Status::AlreadyDone
            } else if args.dry_run {
                Status::Pending
            } else {
                ensure_still_switched(c, args, state).await?;
                eprintln!(
                    "fle: removing old key {old} from usage plan {}",
                    args.usage_plan
                );
                c.apigw
                    .delete_usage_plan_key()
                    .usage_plan_id(&args.usage_plan)
                    .key_id(&old)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "DeleteUsagePlanKey: {}",
                            aws_sdk_apigateway::error::DisplayErrorContext(e)
                        )
                    })?;
                state.in_plan.retain(|k| *k != old);
                Status::Done
            }
        }
        Step::DeleteOld => {
            let old = state.old_key_id.clone().unwrap_or_default();
            if !state.existing.contains(&old) {
                Status::AlreadyDone
            } else if args.dry_run {
                Status::Pending
            } else {
                ensure_still_switched(c, args, state).await?;
                eprintln!("fle: deleting old key {old}");
                c.apigw
                    .delete_api_key()
                    .api_key(&old)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "DeleteApiKey: {}",
                            aws_sdk_apigateway::error::DisplayErrorContext(e)
                        )
                    })?;
                state.existing.retain(|k| *k != old);
                Status::Done
            }
        }
    })
}

fn print_report(report: &Report, output: &str) -> CmdResult {
    if output == "json" {
        let text = serde_json::to_string_pretty(report).context("writing the report")?;
        println!("{text}");
    } else {
        let new = report.new_key_id.as_deref().unwrap_or("(new key)");
        let old = report.old_key_id.as_deref().unwrap_or("none");
        let what = if report.dry_run {
            "plan"
        } else if report.complete {
            "rotated"
        } else {
            "stopped"
        };
        let steps: Vec<String> = report
            .steps
            .iter()
            .map(|s| format!("{}={}", serde_plain(&s.step), serde_plain(&s.status)))
            .collect();
        println!(
            "{what}: distribution {} origin {}: key {new} replaces {old} [{}]",
            report.distribution,
            report.origin,
            steps.join(" ")
        );
    }
    Ok(())
}

fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Refuses a usage plan that does not serve the REST API: the new key would not open it.
async fn check_plan_serves_api(c: &Clients, args: &RotateArgs) -> CmdResult {
    let plan = c
        .apigw
        .get_usage_plan()
        .usage_plan_id(&args.usage_plan)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "GetUsagePlan {}: {}",
                args.usage_plan,
                aws_sdk_apigateway::error::DisplayErrorContext(e)
            )
        })?;
    let serves = plan
        .api_stages
        .unwrap_or_default()
        .iter()
        .any(|s| s.api_id.as_deref() == Some(args.rest_api.as_str()));
    if !serves {
        return Err(Failure::usage(anyhow!(
            "usage plan {} has no stage of REST API {}",
            args.usage_plan,
            args.rest_api
        )));
    }
    Ok(())
}

async fn read_state(c: &Clients, args: &RotateArgs) -> Result<State, Failure> {
    let cfg = distribution_config(
        c,
        args,
        &format!("GetDistributionConfig {}", args.distribution),
    )
    .await?;
    let origins = cfg
        .distribution_config
        .and_then(|d| d.origins)
        .map(|o| o.items)
        .unwrap_or_default();
    let origin = pick_origin(&origins, args.origin.as_deref()).map_err(Failure::usage)?;
    let at_cloudfront = header_value(origin);
    let origin_id = origin.id.clone();

    let keys = list_keys(c).await?;
    let in_plan = list_plan_keys(c, &args.usage_plan).await?;
    let prefix = format!("fle/{}/{}/", args.distribution, origin_id);
    let ours = |k: &&ApiKey| k.name.as_deref().is_some_and(|n| n.starts_with(&prefix));
    let replaces = |k: &ApiKey| {
        k.description
            .as_deref()
            .and_then(|d| d.strip_prefix(DESCRIPTION_PREFIX))
            .filter(|id| *id != "none")
            .map(str::to_string)
    };
    let existing: Vec<String> = keys.iter().filter_map(|k| k.id.clone()).collect();

    // A key of ours not yet at CloudFront: an interrupted run got past "create". The newest
    // one wins (names end in their creation time).
    let mut pending: Vec<&ApiKey> = keys
        .iter()
        .filter(ours)
        .filter(|k| k.value != at_cloudfront)
        .collect();
    pending.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(key) = pending.last() {
        return Ok(State {
            origin: origin_id,
            at_cloudfront,
            new_key: Some((*key).clone()),
            old_key_id: replaces(key),
            in_plan,
            existing,
            resumed: true,
        });
    }
    // The key at CloudFront is ours and the key it replaces still exists: an interrupted run
    // got past the header switch; finish retiring.
    let current = keys
        .iter()
        .find(|k| at_cloudfront.is_some() && k.value == at_cloudfront);
    if let Some(key) = current.filter(|k| ours(k)) {
        if let Some(old) = replaces(key).filter(|old| existing.contains(old)) {
            return Ok(State {
                origin: origin_id,
                at_cloudfront,
                new_key: Some(key.clone()),
                old_key_id: Some(old),
                in_plan,
                existing,
                resumed: true,
            });
        }
    }
    if at_cloudfront.is_some() && current.is_none() {
        eprintln!("fle: warning: the x-api-key at CloudFront matches no API key of this account; it will be replaced, not deleted");
    }
    Ok(State {
        origin: origin_id,
        at_cloudfront,
        new_key: None,
        old_key_id: current.and_then(|k| k.id.clone()),
        in_plan,
        existing,
        resumed: false,
    })
}

fn pick_origin<'a>(
    origins: &'a [aws_sdk_cloudfront::types::Origin],
    wanted: Option<&str>,
) -> anyhow::Result<&'a aws_sdk_cloudfront::types::Origin> {
    if let Some(id) = wanted {
        return origins
            .iter()
            .find(|o| o.id == id)
            .ok_or_else(|| anyhow!("the distribution has no origin {id:?}"));
    }
    let with_key: Vec<_> = origins
        .iter()
        .filter(|o| header_value(o).is_some())
        .collect();
    match (with_key.as_slice(), origins) {
        ([one], _) => Ok(*one),
        ([], [one]) => Ok(one),
        _ => bail!("cannot tell which origin carries the API key: pass --origin"),
    }
}

fn header_value(origin: &aws_sdk_cloudfront::types::Origin) -> Option<String> {
    origin
        .custom_headers
        .as_ref()
        .and_then(|h| h.items.as_ref())
        .and_then(|items| {
            items
                .iter()
                .find(|h| h.header_name.eq_ignore_ascii_case(API_KEY_HEADER))
        })
        .map(|h| h.header_value.clone())
}

/// Every item of an API Gateway listing: `page(position)` fetches one page and returns its
/// items and the next position. Stops at a missing, empty or repeated position.
async fn all_pages<T, Page>(mut page: impl FnMut(Option<String>) -> Page) -> anyhow::Result<Vec<T>>
where
    Page: std::future::Future<Output = anyhow::Result<(Vec<T>, Option<String>)>>,
{
    let mut items = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let (got, next) = page(position.clone()).await?;
        items.extend(got);
        match next {
            Some(next) if Some(&next) != position.as_ref() && !next.is_empty() => {
                position = Some(next)
            }
            _ => return Ok(items),
        }
    }
}

async fn list_keys(c: &Clients) -> anyhow::Result<Vec<ApiKey>> {
    all_pages(|position| async move {
        let page = c
            .apigw
            .get_api_keys()
            .include_values(true)
            .limit(PAGE)
            .set_position(position)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "GetApiKeys: {}",
                    aws_sdk_apigateway::error::DisplayErrorContext(e)
                )
            })?;
        Ok((page.items.unwrap_or_default(), page.position))
    })
    .await
}

async fn list_plan_keys(c: &Clients, plan: &str) -> anyhow::Result<Vec<String>> {
    all_pages(|position| async move {
        let page = c
            .apigw
            .get_usage_plan_keys()
            .usage_plan_id(plan)
            .limit(PAGE)
            .set_position(position)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "GetUsagePlanKeys {plan}: {}",
                    aws_sdk_apigateway::error::DisplayErrorContext(e)
                )
            })?;
        Ok((
            page.items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|k| k.id)
                .collect(),
            page.position,
        ))
    })
    .await
}

async fn create_key(
    c: &Clients,
    args: &RotateArgs,
    origin: &str,
    replaces: Option<&str>,
) -> anyhow::Result<ApiKey> {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let name = format!("fle/{}/{origin}/{now}", args.distribution);
    let value = random_key()?;
    let out = c
        .apigw
        .create_api_key()
        .name(&name)
        .description(format!(
            "{DESCRIPTION_PREFIX}{}",
            replaces.unwrap_or("none")
        ))
        .enabled(true)
        .value(value.as_str())
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "CreateApiKey: {}",
                aws_sdk_apigateway::error::DisplayErrorContext(e)
            )
        })?;
    let id = out
        .id
        .clone()
        .ok_or_else(|| anyhow!("CreateApiKey returned no id"))?;
    eprintln!("fle: created key {id} ({name})");
    Ok(ApiKey::builder()
        .id(id)
        .name(name)
        .value(value.as_str())
        .enabled(true)
        .build())
}

/// 40 characters from [A-Za-z0-9], uniform (rejection sampling over random bytes).
fn random_key() -> anyhow::Result<zeroize::Zeroizing<String>> {
    use aws_lc_rs::rand::SecureRandom as _;
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut out = zeroize::Zeroizing::new(String::with_capacity(KEY_LEN));
    let mut buf = zeroize::Zeroizing::new([0_u8; 64]);
    while out.len() < KEY_LEN {
        rng.fill(buf.as_mut_slice())
            .map_err(|_| anyhow!("no system randomness"))?;
        // 248 = 4 × 62: bytes at or above it would bias the first characters.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == KEY_LEN {
                break;
            }
            if let Some(&ch) = ALPHABET.get(usize::from(b % 62)) {
                out.push(char::from(ch));
            }
        }
    }
    Ok(out)
}

/// The rotated distribution's config and ETag; `call` names the request in the error.
async fn distribution_config(
    c: &Clients,
    args: &RotateArgs,
    call: &str,
) -> anyhow::Result<
    aws_sdk_cloudfront::operation::get_distribution_config::GetDistributionConfigOutput,
> {
    c.cf.get_distribution_config()
        .id(&args.distribution)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "{call}: {}",
                aws_sdk_cloudfront::error::DisplayErrorContext(e)
            )
        })
}

/// Writes the key into the origin's `x-api-key` custom header (added if missing), with the
/// ETag just read as IfMatch so a concurrent change fails instead of being overwritten.
async fn set_origin_key(
    c: &Clients,
    args: &RotateArgs,
    origin: &str,
    value: &str,
) -> anyhow::Result<()> {
    let out = distribution_config(c, args, "GetDistributionConfig").await?;
    let etag = out
        .e_tag
        .ok_or_else(|| anyhow!("GetDistributionConfig returned no ETag"))?;
    let mut cfg = out
        .distribution_config
        .ok_or_else(|| anyhow!("GetDistributionConfig returned no config"))?;
    let target = cfg
        .origins
        .as_mut()
        .and_then(|o| o.items.iter_mut().find(|o| o.id == origin))
        .ok_or_else(|| anyhow!("origin {origin} disappeared from the distribution"))?;
    if target.custom_headers.is_none() {
        target.custom_headers = Some(
            aws_sdk_cloudfront::types::CustomHeaders::builder()
                .quantity(0)
                .build()
                .context("building custom headers")?,
        );
    }
    let headers = target
        .custom_headers
        .as_mut()
        .ok_or_else(|| anyhow!("internal: no custom headers"))?;
    let items = headers.items.get_or_insert_with(Vec::new);
    match items
        .iter_mut()
        .find(|h| h.header_name.eq_ignore_ascii_case(API_KEY_HEADER))
    {
        Some(h) => h.header_value = value.to_string(),
        None => items.push(
            aws_sdk_cloudfront::types::OriginCustomHeader::builder()
                .header_name(API_KEY_HEADER)
                .header_value(value)
                .build()
                .context("building the custom header")?,
        ),
    }
    headers.quantity = i32::try_from(items.len()).context("too many custom headers")?;
    eprintln!(
        "fle: updating origin {origin} of distribution {} (IfMatch {etag})",
        args.distribution
    );
    c.cf.update_distribution()
        .id(&args.distribution)
        .if_match(etag)
        .distribution_config(cfg)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "UpdateDistribution: {}",
                aws_sdk_cloudfront::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}

/// Before retiring the old key, CloudFront must still send the new one: if someone changed
/// the header meanwhile, stop rather than delete a key that may be in use.
async fn ensure_still_switched(
    c: &Clients,
    args: &RotateArgs,
    state: &State,
) -> anyhow::Result<()> {
    let out = distribution_config(c, args, "GetDistributionConfig").await?;
    let origins = out
        .distribution_config
        .and_then(|d| d.origins)
        .map(|o| o.items)
        .unwrap_or_default();
    let now = origins
        .iter()
        .find(|o| o.id == state.origin)
        .and_then(header_value);
    let new = state.new_key.as_ref().and_then(|k| k.value.clone());
    if now.is_none() || now != new {
        bail!("origin {}'s x-api-key is no longer the new key (changed meanwhile?): not retiring the old key", state.origin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_are_40_alphanumerics_and_differ() {
        let a = random_key().unwrap();
        let b = random_key().unwrap();
        assert_eq!(a.len(), KEY_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(*a, *b);
    }
}
