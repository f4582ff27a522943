//! The crate's log lines: one JSON object per line on stderr (Lambda sends stderr to CloudWatch
//! Logs), with a fixed vocabulary of events.
//!
//! Policy: a line may carry source names (secret ids, parameter names), provider ids, key names,
//! field names, error classes, counts and durations. It never carries a field value, a
//! plaintext, a ciphertext, a key or anything read from a key source: callers pass only those
//! kinds of values, and the events are named here so that a review sees them all at once.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// The events this crate logs.
pub(crate) mod event {
    /// A key source was read and its keys loaded.
    pub(crate) const KEYS_LOADED: &str = "keys-loaded";
    /// A key of a keyring document could not be parsed; the others were loaded.
    pub(crate) const KEY_BROKEN: &str = "key-broken";
    /// Reading a key source failed (the keys already held, if any, stay in use).
    pub(crate) const SOURCE_FAILED: &str = "key-source-failed";
    /// A message named a key not held and the refresh was skipped (rate limit).
    pub(crate) const REFRESH_SKIPPED: &str = "refresh-rate-limited";
    /// A request was refused; the line names the error class (and field), never a value.
    pub(crate) const REQUEST_REFUSED: &str = "request-refused";
    /// The random generator was warmed during start-up.
    pub(crate) const ENTROPY_READY: &str = "entropy-ready";
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the crate's log lines off (or back on) for the whole process: for a program that runs
/// the backend in process and has its own output (`fle demo`). A Lambda keeps them.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Writes one event line. `fields` are (name, value) pairs of the kinds the policy allows.
pub(crate) fn emit(level: Level, event: &str, fields: Vec<(&str, Value)>) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let mut line = Map::new();
    line.insert("level".into(), Value::from(level.as_str()));
    line.insert("target".into(), Value::from("fle_lambda"));
    line.insert("event".into(), Value::from(event));
    for (k, v) in fields {
        line.insert(k.into(), v);
    }
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    // One write per line so that concurrent lines do not interleave; a failed log write must
    // not fail the request.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
