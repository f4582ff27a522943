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
    /// How long one API call may take in all, retries included [default:
    /// [`DEFAULT_CALL_TIMEOUT`]]. Each attempt gets a third of it, connecting [`CONNECT_TIMEOUT`].
    pub call_timeout: Option<Duration>,
}

/// Default budget of one API call, retries included: no command waits on a silent endpoint
/// for longer (the wait for a distribution to deploy is a loop of such calls with its own
/// `--deploy-timeout`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Connecting to an endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per call (the first and two retries) unless `AWS_MAX_ATTEMPTS` says otherwise.
const MAX_ATTEMPTS: u32 = 3;

/// Why the SDK could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `--aws-profile` names a profile no AWS config or credentials file has.
    #[error("AWS profile {name:?} is not defined in {files}; `aws configure list-profiles` shows the profiles")]
    UnknownProfile {
        /// The profile asked for.
        name: String,
        /// The files looked in.
        files: String,
    },
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

/// Loads the SDK configuration from the standard chain plus the target's profile and region,
/// with timeouts on every call and bounded retries, so no command can hang on an endpoint that
/// accepts and never answers.
///
/// # Errors
/// [`SetupError::UnknownProfile`] when the named profile is in no config file (the SDK would
/// otherwise fall through to the instance metadata service and fail with a misleading
/// "failed to load IMDS session token").
pub async fn sdk_config(target: &AwsTarget) -> Result<aws_config::SdkConfig, SetupError> {
    let call = target.call_timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(call))
        .operation_attempt_timeout(call / MAX_ATTEMPTS)
        .operation_timeout(call)
        .build();
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS),
        );
    }
    if let Some(p) = &target.profile {
        check_profile(p)?;
        loader = loader.profile_name(p);
    }
    if let Some(r) = &target.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let conf = loader.load().await;
    tracing::debug!(
        profile = target.profile.as_deref().unwrap_or("(chain)"),
        region = conf.region().map_or("(none)", |r| r.as_ref()),
        call_timeout = ?call,
        "AWS configuration"
    );
    Ok(conf)
}

/// The shared config and credentials files, as the SDK finds them.
fn profile_files() -> Vec<std::path::PathBuf> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    [
        pick("AWS_CONFIG_FILE", "config"),
        pick("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Whether a config file (`[profile NAME]`, `[default]`) or credentials file (`[NAME]`)
/// defines `name`. `default` always passes: the environment can stand for it.
fn check_profile(name: &str) -> Result<(), SetupError> {
    if name == "default" {
        return Ok(());
    }
    let files = profile_files();
    let defined = files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|line| {
                let line = line.trim();
                line.strip_prefix('[')
                    .and_then(|l| l.strip_suffix(']'))
                    .map(|section| {
                        let section = section.trim();
                        section.strip_prefix("profile ").map_or(section, str::trim) == name
                    })
                    .unwrap_or(false)
            })
        })
    });
    if defined {
        return Ok(());
    }
    Err(SetupError::UnknownProfile {
        name: name.to_owned(),
        files: files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    })
}

/// An SDK failure in words a person can act on, without the raw request or response (which
/// `DisplayErrorContext` appends, and which for Secrets Manager or SSM could carry key
/// material): the service's code and message, or what kept the call from being answered.
pub fn describe<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let kind = match e {
        SdkError::ServiceError(_) => "service error",
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "response error",
        SdkError::ConstructionFailure(_) => "construction failure",
        _ => "other",
    };
    let code = e
        .as_service_error()
        .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
        .unwrap_or_default();
    tracing::debug!(kind, code, "AWS call failed");
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("AWS answered {code}: {message}"),
                (Some(code), None) => format!("AWS answered {code}"),
                _ => format!("AWS answered an error: {}", chain(err)),
            }
        }
        SdkError::TimeoutError(_) => {
            "no answer in time (the call's timeout, retries included, passed; --aws-timeout sets it)"
                .to_owned()
        }
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() {
                "timed out connecting"
            } else if d.is_io() {
                "could not connect"
            } else if d.is_user() {
                "the request could not be sent"
            } else {
                "the request was not sent"
            };
            match std::error::Error::source(e) {
                Some(cause) => format!("{what}: {}", chain(cause)),
                None => what.to_owned(),
            }
        }
        SdkError::ResponseError(_) => "the answer could not be read".to_owned(),
        SdkError::ConstructionFailure(_) => match std::error::Error::source(e) {
            // Usually credentials: no profile, an expired SSO session, no role.
            Some(cause) => format!("the request could not be made: {}", chain(cause)),
            None => "the request could not be made".to_owned(),
        },
        _ => chain(e),
    }
}

/// The error and its causes, `Display` only, each once.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = c.source();
    }
    parts.join(": ")
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
                detail: describe(&e),
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
