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

/// `t` rounded up to the next whole second, as RFC 3339: for deadlines that must not come
/// early (a grace period written to the second would otherwise lose up to a second).
pub fn rfc3339_ceil(t: SystemTime) -> Option<String> {
    let sub = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .subsec_nanos();
    let up = if sub == 0 {
        t
    } else {
        t.checked_add(Duration::from_nanos(u64::from(1_000_000_000 - sub)))?
    };
    rfc3339(up)
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
    fn deadlines_round_up() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_100);
        assert_eq!(rfc3339(t).as_deref(), Some("1970-01-01T00:00:01Z"));
        assert_eq!(rfc3339_ceil(t).as_deref(), Some("1970-01-01T00:00:02Z"));
        let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(7);
        assert_eq!(rfc3339_ceil(whole).as_deref(), Some("1970-01-01T00:00:07Z"));
        assert_eq!(rfc3339_ceil(latest() + Duration::from_millis(1)), None);
    }

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
