//! Diagnostics on stderr: `-v` (fle's own events), `-vv` (plus the AWS SDK's calls, retries
//! and timeouts), or a `RUST_LOG` filter (`target=level,...`, as tracing's `Targets` reads it).
//!
//! Whatever is asked, no target outside fle is let through above `debug`: at `trace` the AWS
//! SDK prints whole requests and responses (a `PutSecretValue` body is a private key, a
//! `GetApiKey` response is an API key). fle's own events name keys, profiles, files and calls,
//! never key material, plaintext or API-key values.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The targets that are fle's own: the binary's modules (`fle::…`) and the workspace's crates.
/// Named in full: a filter matches by prefix, and a bare `fle` would also let `flexi_*` or
/// `flex_error` past the cap.
const OWN: [&str; 6] = [
    "fle::",
    "fle_ops",
    "fle_decrypt",
    "fle_audit",
    "fle_lambda",
    "edge_signer",
];

/// Whether a filter directive's target is one of fle's own (or a module of one).
fn is_own(target: &str) -> bool {
    OWN.iter().any(|own| match own.strip_suffix("::") {
        Some(bin) => target == bin || target.starts_with(own),
        None => {
            target == *own
                || target
                    .strip_prefix(own)
                    .is_some_and(|r| r.starts_with("::"))
        }
    })
}

/// `targets` with every own target at `level`.
fn with_own(mut targets: Targets, level: LevelFilter) -> Targets {
    for own in OWN {
        targets = targets.with_target(own, level);
    }
    targets
}

/// The most any other crate may print.
const OTHERS_CAP: LevelFilter = LevelFilter::DEBUG;

/// Starts the stderr subscriber. Nothing is printed by default but fle's warnings.
pub fn init(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match Targets::from_str(&spec) {
            Ok(t) => capped(&t),
            Err(e) => {
                eprintln!("fle: RUST_LOG={spec:?} is not a filter ({e}); using -v instead");
                for_verbosity(verbose)
            }
        },
        _ => for_verbosity(verbose),
    };
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(true),
        )
        .with(filter)
        .try_init();
}

/// `-v` counted: 0 warnings, 1 fle's debug events, 2 and more fle's trace events and the SDK's
/// calls (its debug events: operation, attempt, retry, timeout).
fn for_verbosity(verbose: u8) -> Targets {
    match verbose {
        0 => with_own(Targets::new(), LevelFilter::WARN),
        1 => with_own(Targets::new(), LevelFilter::DEBUG),
        _ => with_own(Targets::new(), LevelFilter::TRACE)
            .with_target("aws_smithy_runtime", OTHERS_CAP)
            .with_target("aws_config", OTHERS_CAP)
            .with_target("aws_sdk", OTHERS_CAP),
    }
}

/// `asked` with every target but fle's lowered to [`OTHERS_CAP`]; fle's own keep what was
/// asked, including through a bare default level (`RUST_LOG=trace`).
fn capped(asked: &Targets) -> Targets {
    let mut out = Targets::new();
    let names_own = asked.iter().any(|(target, _)| is_own(target));
    if asked.default_level().is_none() && !names_own {
        out = with_own(out, LevelFilter::WARN);
    }
    if let Some(default) = asked.default_level() {
        out = with_own(out.with_default(default.min(OTHERS_CAP)), default);
    }
    for (target, level) in asked.iter() {
        out = if target == "fle" {
            // "all of fle": every own target, not the prefix `fle`.
            with_own(out, level)
        } else if is_own(target) {
            out.with_target(target, level)
        } else {
            out.with_target(target, level.min(OTHERS_CAP))
        };
    }
    out
}

#[cfg(test)]
#[allow(clippy::panic)] // tests: a panic is a failure
mod tests {
    use super::*;
    use tracing::Level;

    fn allows(t: &Targets, target: &str, level: Level) -> bool {
        t.would_enable(target, &level)
    }

    #[test]
    fn other_crates_never_pass_debug() {
        for spec in [
            "trace",
            "aws_smithy_runtime=trace",
            "hyper=trace,fle=trace",
            "info,aws_smithy_runtime::client=trace",
        ] {
            let t = capped(&Targets::from_str(spec).unwrap_or_else(|e| panic!("{spec}: {e}")));
            for target in [
                "aws_smithy_runtime::client::orchestrator",
                "hyper::proto",
                "aws_config",
            ] {
                assert!(!allows(&t, target, Level::TRACE), "{spec}: {target}");
            }
        }
        let t = capped(&Targets::from_str("trace").unwrap_or_else(|e| panic!("{e}")));
        assert!(allows(
            &t,
            "aws_smithy_runtime::client::orchestrator",
            Level::DEBUG
        ));
        assert!(allows(&t, "fle_ops::aws", Level::TRACE));
        assert!(allows(&t, "fle::cmd::keys", Level::TRACE));
        // A crate that only begins like fle is not fle.
        for spec in ["trace", "fle=trace", "flexi_logger=trace"] {
            let t = capped(&Targets::from_str(spec).unwrap_or_else(|e| panic!("{e}")));
            assert!(!allows(&t, "flexi_logger::core", Level::TRACE), "{spec}");
            assert!(!allows(&t, "flex_error", Level::TRACE), "{spec}");
        }
        // Naming only the SDK keeps fle's warnings.
        let t = capped(&Targets::from_str("aws_config=debug").unwrap_or_else(|e| panic!("{e}")));
        assert!(allows(&t, "fle_ops::lease", Level::WARN));
        assert!(!allows(&t, "fle_ops::lease", Level::INFO));
    }

    #[test]
    fn verbosity_levels() {
        let quiet = for_verbosity(0);
        assert!(allows(&quiet, "fle_ops::lease", Level::WARN));
        assert!(!allows(&quiet, "fle_ops::lease", Level::INFO));
        assert!(!allows(&quiet, "aws_smithy_runtime::client", Level::WARN));
        let one = for_verbosity(1);
        assert!(allows(&one, "fle_ops::lease", Level::DEBUG));
        assert!(!allows(&one, "aws_smithy_runtime::client", Level::DEBUG));
        let two = for_verbosity(2);
        assert!(allows(&two, "aws_smithy_runtime::client", Level::DEBUG));
        assert!(!allows(&two, "aws_smithy_runtime::client", Level::TRACE));
    }
}
