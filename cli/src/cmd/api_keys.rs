//! `fle api-keys rotate`: replace the API Gateway API key CloudFront sends to the origin
//! (origin custom header `x-api-key`) without a moment where CloudFront holds no valid key.
//! The rotation itself is `fle_ops::aws::api_keys` (its steps and how a rerun resumes are
//! described there); this command parses the arguments and prints the report.

use std::io::Write as _;
use std::ops::ControlFlow;
use std::time::Duration;

use anyhow::Context as _;
use fle_ops::aws::api_keys::{self, ApiKeyReport, ApiKeyRotation, ApiKeyStep};
use fle_ops::aws::AwsTarget;
use fle_ops::rotation::Outcome;
use serde::Serialize;

use crate::exit::{CmdResult, Failure};
use crate::input;

/// `--aws-profile`, `--region` and `--aws-timeout`, flattened into each AWS command.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// AWS named profile [default: the standard chain: $AWS_PROFILE, SSO, environment, ...]
    /// (`--profile` is an old spelling, still accepted).
    #[arg(long, value_name = "NAME", alias = "profile")]
    pub aws_profile: Option<String>,
    /// AWS region of the API [default: the standard chain, e.g. AWS_REGION].
    #[arg(long)]
    pub region: Option<String>,
    /// Give up on an AWS call (retries included) after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = input::duration::<{ input::limit::WAIT_SECS }>)]
    pub aws_timeout: Duration,
}

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
    /// Secrets Manager secret (name or ARN) to keep holding the key CloudFront sends: the stack's
    /// ApiKeyValue, which deploy/template.yaml resolves the origin header from, so a stack
    /// update never writes an old key back. Written before the distribution is switched.
    #[arg(long, value_name = "SECRET")]
    value_secret: Option<String>,
    /// How long to keep the old key valid after the distribution is Deployed (e.g. 1h, 10m, 0s).
    #[arg(long, default_value = "1h", value_parser = input::duration::<{ input::limit::GRACE_SECS }>)]
    grace: Duration,
    /// Give up waiting for Deployed after this long (rerun to resume).
    #[arg(long, default_value = "30m", value_parser = input::duration::<{ input::limit::WAIT_SECS }>)]
    deploy_timeout: Duration,
    /// Print the plan (which steps would run) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// `text` (a summary line) or `json` (a stable object, see docs/edge-signer.md).
    #[arg(long, default_value = "text", value_parser = ["text", "json"], env = "FLE_OUTPUT")]
    output: String,
    #[command(flatten)]
    aws: AwsArgs,
    /// Testing only: stop right after this step, as an interruption would.
    #[cfg(debug_assertions)]
    #[arg(long, hide = true, value_enum)]
    danger_stop_after: Option<Step>,
    /// Testing only: time between deployment status polls.
    #[arg(long, hide = true, default_value = "10s", value_parser = input::duration::<{ input::limit::WAIT_SECS }>)]
    poll_interval: Duration,
}

/// The steps as the flag and the report name them (`fle_ops` names them the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Step {
    Create,
    AddToPlan,
    RecordValue,
    UpdateDistribution,
    WaitDeployed,
    Grace,
    RemoveFromPlan,
    DeleteOld,
}

impl From<ApiKeyStep> for Step {
    fn from(s: ApiKeyStep) -> Self {
        match s {
            ApiKeyStep::Create => Self::Create,
            ApiKeyStep::AddToPlan => Self::AddToPlan,
            ApiKeyStep::RecordValue => Self::RecordValue,
            ApiKeyStep::UpdateDistribution => Self::UpdateDistribution,
            ApiKeyStep::WaitDeployed => Self::WaitDeployed,
            ApiKeyStep::Grace => Self::Grace,
            ApiKeyStep::RemoveFromPlan => Self::RemoveFromPlan,
            ApiKeyStep::DeleteOld => Self::DeleteOld,
        }
    }
}

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
        Sub::Rotate(a) => rotate(&a),
    }
}

fn rotate(args: &RotateArgs) -> CmdResult {
    let req = ApiKeyRotation {
        rest_api: args.rest_api.clone(),
        usage_plan: args.usage_plan.clone(),
        distribution: args.distribution.clone(),
        origin: args.origin.clone(),
        value_secret: args.value_secret.clone(),
        grace: args.grace,
        deploy_timeout: args.deploy_timeout,
        poll_interval: args.poll_interval,
        dry_run: args.dry_run,
    };
    #[cfg(debug_assertions)]
    let stop_after = args.danger_stop_after.filter(|_| !args.dry_run);
    #[cfg(not(debug_assertions))]
    let stop_after: Option<Step> = None;
    let mut on_step = |step: ApiKeyStep, _: &Outcome| {
        if stop_after == Some(Step::from(step)) {
            eprintln!(
                "fle: stopping after {:?} (--danger-stop-after)",
                Step::from(step)
            );
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    };
    let target = AwsTarget {
        profile: args.aws.aws_profile.clone(),
        region: args.aws.region.clone(),
        call_timeout: Some(args.aws.aws_timeout),
    };
    let report = api_keys::rotate_api_key(&target, &req, &mut on_step, &|m| eprintln!("fle: {m}"))
        .map_err(Failure::usage)?;
    print_report(&view(&report), &args.output)
}

fn view(r: &ApiKeyReport) -> Report {
    Report {
        rest_api: r.rest_api.clone(),
        usage_plan: r.usage_plan.clone(),
        distribution: r.distribution.clone(),
        origin: r.origin.clone(),
        new_key_id: r.new_key_id.clone(),
        old_key_id: r.old_key_id.clone(),
        dry_run: r.dry_run,
        resumed: r.resumed,
        stopped_after: r.stopped_after.map(Step::from),
        complete: r.complete,
        steps: r
            .steps
            .iter()
            .map(|s| StepReport {
                step: s.step.into(),
                status: match s.outcome {
                    Outcome::Done => Status::Done,
                    Outcome::AlreadyDone => Status::AlreadyDone,
                    Outcome::NotNeeded => Status::NotNeeded,
                    _ => Status::Pending,
                },
            })
            .collect(),
    }
}

fn print_report(report: &Report, output: &str) -> CmdResult {
    // Written, not println!: a closed stdout is an error the caller ends quietly on, not a panic.
    let mut stdout = std::io::stdout().lock();
    if output == "json" {
        let text = serde_json::to_string_pretty(report).context("writing the report")?;
        writeln!(stdout, "{text}")?;
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
        writeln!(
            stdout,
            "{what}: distribution {} origin {}: key {new} replaces {old} [{}]",
            report.distribution,
            report.origin,
            steps.join(" ")
        )?;
    }
    Ok(())
}

fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fle_ops::rotation::Step as _;

    #[test]
    fn the_flag_names_the_library_steps() {
        for &s in ApiKeyStep::ALL {
            assert_eq!(serde_plain(&Step::from(s)), s.name());
        }
    }
}
