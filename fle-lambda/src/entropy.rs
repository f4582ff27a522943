//! The random generator's first draw, moved out of the first request.
//!
//! aws-lc seeds its generator on a process's first random draw, and by default that seeding
//! gathers CPU-jitter entropy: tens of milliseconds. RSA blinding draws random bytes, so without
//! preparation the first decryption of every execution environment pays it. [`warm`] makes
//! that draw during start-up, on a thread of its own while the key source is being read, so
//! the two overlap and the first request finds the generator seeded. The deployable function
//! is built without the jitter source (`scripts/build-deploy.sh`), which makes the draw cheap;
//! the overlap keeps builds that have it from paying it on a request. `docs/backend.md` has the
//! measurements and the trade-off.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::log::{self, event, Level};

/// Draws one random byte from aws-lc and returns how long it took.
pub fn warm() -> Duration {
    let started = Instant::now();
    let mut byte = [0u8; 1];
    let _ = aws_lc_rs::rand::fill(&mut byte);
    started.elapsed()
}

pub(crate) fn log_ready(took: Duration) {
    log::emit(
        Level::Info,
        event::ENTROPY_READY,
        vec![(
            "tookUs",
            Value::from(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
        )],
    );
}
