//! RFC 3339 times as the stores write them (UTC, seconds), without panics: the formatter this
//! uses panics before 1970 and after year 9999, so every time goes through here.

use std::time::{Duration, SystemTime};

/// The latest time RFC 3339 can write with a four-digit year: 9999-12-31T23:59:59Z.
pub fn latest() -> SystemTime {
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(253_402_300_799))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `t` as RFC 3339 UTC with seconds; `None` before 1970 or after [`latest`].
pub fn rfc3339(t: SystemTime) -> Option<String> {
    (t >= SystemTime::UNIX_EPOCH && t <= latest())
        .then(|| humantime::format_rfc3339_seconds(t).to_string())
}

/// `t` as RFC 3339, moved into 1970..=9999 first (for the clock and times read from a
/// service, where an out-of-range value must not stop the reader).
pub fn rfc3339_clamped(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t.clamp(SystemTime::UNIX_EPOCH, latest())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(rfc3339(latest()).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(rfc3339(latest() + Duration::from_secs(1)), None);
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH - Duration::from_secs(1)),
            None
        );
        assert_eq!(
            rfc3339_clamped(latest() + Duration::from_secs(86_400 * 365 * 1000)),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc3339_clamped(SystemTime::UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }
}
