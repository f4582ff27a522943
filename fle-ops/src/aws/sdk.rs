//! Shared AWS client setup: the SDK configuration and the wait for a distribution to deploy.
//!
//! Credentials, region and endpoints come from the standard chain, as the AWS CLI does:
//! `--profile`/`AWS_PROFILE`, `--region`/`AWS_REGION`, SSO, credential process, and
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (how tests point the clients at moto);
//! `AWS_MAX_ATTEMPTS` bounds retries. Async only at this edge: each command owns a
//! current-thread runtime and blocks on it.

use std::time::{Duration, Instant};

/// Which AWS account and region: `None` means the standard chain decides.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// Named profile (`~/.aws/config`).
    pub profile: Option<String>,
    /// Region.
    pub region: Option<String>,
}

/// A current-thread runtime for one command.
///
/// # Errors
/// The runtime cannot start.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Loads the SDK configuration from the standard chain plus the target's profile and region.
pub async fn sdk_config(target: &AwsTarget) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &target.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    loader.load().await
}

/// The status CloudFront reports once a change has reached every edge location.
const DEPLOYED: &str = "Deployed";

/// Why a distribution was not seen `Deployed`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// `GetDistribution` failed.
    #[error("GetDistribution {distribution}: {detail}")]
    Api {
        /// The distribution id.
        distribution: String,
        /// The SDK's error with its context.
        detail: String,
    },
    /// The timeout passed first; a rerun resumes.
    #[error("distribution {distribution} still {status:?} after {elapsed_secs}s (--deploy-timeout); rerun to resume")]
    Timeout {
        /// The distribution id.
        distribution: String,
        /// Its last status.
        status: String,
        /// Seconds waited.
        elapsed_secs: u64,
    },
}

/// Polls the distribution until its status is `Deployed`, telling `progress` at each poll.
///
/// # Errors
/// The API call fails, or `timeout` passes first.
pub async fn wait_deployed(
    cloudfront: &aws_sdk_cloudfront::Client,
    distribution: &str,
    timeout: Duration,
    poll: Duration,
    progress: &dyn Fn(&str),
) -> Result<(), DeployError> {
    let start = Instant::now();
    loop {
        let out = cloudfront
            .get_distribution()
            .id(distribution)
            .send()
            .await
            .map_err(|e| DeployError::Api {
                distribution: distribution.to_owned(),
                detail: aws_sdk_cloudfront::error::DisplayErrorContext(e).to_string(),
            })?;
        let status = out.distribution.map(|d| d.status).unwrap_or_default();
        let elapsed = start.elapsed();
        if status == DEPLOYED {
            progress(&format!(
                "distribution {distribution} is Deployed ({}s)",
                elapsed.as_secs()
            ));
            return Ok(());
        }
        if elapsed >= timeout {
            return Err(DeployError::Timeout {
                distribution: distribution.to_owned(),
                status,
                elapsed_secs: elapsed.as_secs(),
            });
        }
        progress(&format!(
            "waiting for distribution {distribution} to deploy: {status} ({}s elapsed)",
            elapsed.as_secs()
        ));
        tokio::time::sleep(
            poll.min(timeout.saturating_sub(elapsed))
                .max(Duration::from_millis(10)),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;

    /// A one-route CloudFront stand-in: answers every GetDistribution with the next status
    /// (the last one repeats), over keep-alive connections.
    fn stub(
        statuses: Vec<&'static str>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    let mut got = false;
                    while reader.read_line(&mut line).unwrap_or(0) > 0 {
                        got = true;
                        if line == "\r\n" {
                            break;
                        }
                        line.clear();
                    }
                    if !got {
                        break;
                    }
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let status = statuses[n.min(statuses.len() - 1)];
                    let body = format!(
                        "<?xml version=\"1.0\"?><Distribution xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">\
                         <Id>E1</Id><Status>{status}</Status></Distribution>"
                    );
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nETag: E1\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(body.as_bytes()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        });
        (url, calls)
    }

    fn client(url: &str) -> aws_sdk_cloudfront::Client {
        let conf = aws_sdk_cloudfront::Config::builder()
            .behavior_version(aws_sdk_cloudfront::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudfront::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudfront::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .endpoint_url(url)
            .build();
        aws_sdk_cloudfront::Client::from_conf(conf)
    }

    #[test]
    fn waits_through_in_progress_until_deployed() {
        let (url, calls) = stub(vec!["InProgress", "InProgress", "Deployed"]);
        let rt = runtime().unwrap();
        rt.block_on(wait_deployed(
            &client(&url),
            "E1",
            Duration::from_secs(20),
            Duration::from_millis(10),
            &|_| {},
        ))
        .unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn gives_up_after_the_timeout() {
        let (url, calls) = stub(vec!["InProgress"]);
        let rt = runtime().unwrap();
        let err = rt
            .block_on(wait_deployed(
                &client(&url),
                "E1",
                Duration::from_millis(300),
                Duration::from_millis(50),
                &|_| {},
            ))
            .unwrap_err();
        assert!(err.to_string().contains("still \"InProgress\""), "{err}");
        assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    }
}
