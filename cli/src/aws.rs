//! Shared AWS client setup for the commands that talk to AWS.
//!
//! Credentials, region and endpoints come from the standard chain, as the AWS CLI does:
//! `--profile`/`AWS_PROFILE`, `--region`/`AWS_REGION`, SSO, credential process, and
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (how tests point the clients at moto);
//! `AWS_MAX_ATTEMPTS` bounds retries. Async only at this edge: each command owns a
//! current-thread runtime and blocks on it.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};

/// `--profile` and `--region`, flattened into each AWS command.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// AWS profile to use [default: the standard chain, e.g. AWS_PROFILE].
    #[arg(long)]
    pub profile: Option<String>,
    /// AWS region of the API [default: the standard chain, e.g. AWS_REGION].
    #[arg(long)]
    pub region: Option<String>,
}

/// A current-thread runtime for one command.
///
/// # Errors
/// The runtime cannot start.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

/// Loads the SDK configuration from the standard chain plus `--profile`/`--region`.
pub async fn sdk_config(args: &AwsArgs) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &args.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &args.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    loader.load().await
}

/// The status CloudFront reports once a change has reached every edge location.
const DEPLOYED: &str = "Deployed";

/// Polls the distribution until its status is `Deployed`, printing progress on stderr.
///
/// # Errors
/// The API call fails, or `timeout` passes first.
pub async fn wait_deployed(
    cloudfront: &aws_sdk_cloudfront::Client,
    distribution: &str,
    timeout: Duration,
    poll: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let out = cloudfront
            .get_distribution()
            .id(distribution)
            .send()
            .await
            .map_err(|e| anyhow!("GetDistribution {distribution}: {}", aws_sdk_cloudfront::error::DisplayErrorContext(e)))?;
        let status = out.distribution.map(|d| d.status).unwrap_or_default();
        let elapsed = start.elapsed();
        if status == DEPLOYED {
            eprintln!("fle: distribution {distribution} is Deployed ({}s)", elapsed.as_secs());
            return Ok(());
        }
        if elapsed >= timeout {
            bail!(
                "distribution {distribution} still {status:?} after {}s (--deploy-timeout); rerun to resume",
                elapsed.as_secs()
            );
        }
        eprintln!("fle: waiting for distribution {distribution} to deploy: {status} ({}s elapsed)", elapsed.as_secs());
        tokio::time::sleep(poll.min(timeout.saturating_sub(elapsed)).max(Duration::from_millis(10))).await;
    }
}
