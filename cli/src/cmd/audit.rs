//! `fle audit`: read a deployed account and report each control of the architecture as pass or
//! fail with its evidence (the checks live in the `fle-audit` crate).

use std::time::SystemTime;

use crate::exit::{CmdResult, Failure};
use crate::output::{emit, OutputArgs};

/// Prove that no control was loosened: starting from the distribution, read the FLE
/// configuration, the signing function and its role, the REST API, the backend function, its
/// keyring secret, KMS key and log group, and report every control as PASS or FAIL with the
/// evidence. Exit 1 when any control fails.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    fle audit --distribution E1ABCDEF2GHIJK --custodian arn:aws:iam::111122223333:role/fle-custodian\n  \
    fle audit --distribution E1ABCDEF2GHIJK --output json\n\n\
    Run it as the key custodian: only the backend and the custodians can read the keyring.")]
pub struct Args {
    /// The CloudFront distribution in front of the API.
    #[arg(long, value_name = "ID")]
    distribution: String,
    /// A principal (ARN) besides the backend's role that may decrypt the keyring: the role that
    /// runs `fle keys`. Repeat for several.
    #[arg(long, value_name = "ARN")]
    custodian: Vec<String>,
    /// AWS named profile [default: the standard chain: $AWS_PROFILE, SSO, environment, ...]
    #[arg(long, value_name = "NAME")]
    aws_profile: Option<String>,
    /// AWS region of the API and backend [default: the standard chain]
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Give up on an AWS call (retries included) after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::input::duration::<{ crate::input::limit::WAIT_SECS }>)]
    aws_timeout: std::time::Duration,
    #[command(flatten)]
    out: OutputArgs,
}

pub fn run(args: Args) -> CmdResult {
    let rt = fle_ops::aws::sdk::runtime()
        .map_err(|e| Failure::usage(anyhow::anyhow!("audit: starting the async runtime: {e}")))?;
    let conf = rt
        .block_on(fle_ops::aws::sdk::sdk_config(&fle_ops::aws::AwsTarget {
            profile: args.aws_profile.clone(),
            region: args.region.clone(),
            call_timeout: Some(args.aws_timeout),
        }))
        .map_err(|e| Failure::usage(anyhow::anyhow!("audit: {e}")))?;
    let report = rt
        .block_on(async {
            fle_audit::audit(
                &conf,
                &fle_audit::Target {
                    distribution_id: args.distribution.clone(),
                    custodians: args.custodian.clone(),
                    now: SystemTime::now(),
                },
            )
            .await
        })
        .map_err(|e| Failure::usage(anyhow::anyhow!("audit: {e}")))?;
    emit(args.out.output, &report, text)?;
    if report.passed {
        Ok(())
    } else {
        let failed: Vec<&str> = report.failed().into_iter().map(|c| c.name()).collect();
        Err(Failure::no(anyhow::anyhow!(
            "audit: {} of {} controls failed: {}",
            failed.len(),
            report.findings.len(),
            failed.join(", ")
        )))
    }
}

fn text(r: &fle_audit::Report) -> String {
    let width = r
        .findings
        .iter()
        .map(|f| f.control.name().len())
        .max()
        .unwrap_or(0);
    let mut s = format!("distribution {}\n", r.distribution_id);
    for f in &r.findings {
        let verdict = if f.passed { "PASS" } else { "FAIL" };
        let mut evidence = f.evidence.iter();
        s.push_str(&format!(
            "{verdict}  {:width$}  {}\n",
            f.control.name(),
            evidence.next().map(String::as_str).unwrap_or("")
        ));
        for e in evidence {
            s.push_str(&format!("      {:width$}  {e}\n", ""));
        }
    }
    s
}
