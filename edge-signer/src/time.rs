//! The signing time, passed in by the caller (`SystemTime::now()` traps on wasm32-unknown-unknown).

use std::fmt;

/// Seconds since the Unix epoch, within years 1970..=9999 so it always formats as SigV4 needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SigningTime {
    unix: i64,
}

/// 9999-12-31T23:59:59Z: the last second a four-digit year can write.
const MAX_UNIX: i64 = 253_402_300_799;

/// A time that cannot be used for signing (before 1970 or after year 9999).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError;

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("time must be between 1970 and the end of year 9999")
    }
}

impl std::error::Error for TimeError {}

impl SigningTime {
    /// A time from Unix seconds.
    ///
    /// # Errors
    /// [`TimeError`] before 1970 or after year 9999.
    pub fn from_unix(unix: i64) -> Result<Self, TimeError> {
        if (0..=MAX_UNIX).contains(&unix) {
            Ok(Self { unix })
        } else {
            Err(TimeError)
        }
    }

    /// Unix seconds.
    pub fn unix(self) -> i64 {
        self.unix
    }

    /// `YYYYMMDD`.
    pub fn date(self) -> String {
        let (y, m, d) = civil_from_days(self.unix.div_euclid(86_400));
        format!("{y:04}{m:02}{d:02}")
    }

    /// `YYYYMMDDTHHMMSSZ` (the `x-amz-date` format).
    pub fn amz_date(self) -> String {
        let secs = self.unix.rem_euclid(86_400);
        format!(
            "{}T{:02}{:02}{:02}Z",
            self.date(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The date of a day count since 1970-01-01 (non-negative).
fn civil_from_days(mut days: i64) -> (i64, i64, i64) {
    // Skip whole 400-year cycles (146097 days each) so the loops below stay short.
    let cycles = days / 146_097;
    days %= 146_097;
    let mut year = 1970 + cycles * 400;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let mut month = 1;
    loop {
        let len = days_in_month(year, month);
        if days < len || month == 12 {
            break;
        }
        days -= len;
        month += 1;
    }
    (year, month, days + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_times() {
        let t = SigningTime::from_unix(1_440_938_160).unwrap();
        assert_eq!(t.amz_date(), "20150830T123600Z");
        assert_eq!(
            SigningTime::from_unix(0).unwrap().amz_date(),
            "19700101T000000Z"
        );
        assert_eq!(
            SigningTime::from_unix(951_782_400).unwrap().date(),
            "20000229"
        );
        assert_eq!(
            SigningTime::from_unix(MAX_UNIX).unwrap().amz_date(),
            "99991231T235959Z"
        );
        assert_eq!(SigningTime::from_unix(-1), Err(TimeError));
        assert_eq!(SigningTime::from_unix(MAX_UNIX + 1), Err(TimeError));
    }

    proptest::proptest! {
        /// humantime (what the CLI parses `--time` with) is the independent oracle.
        #[test]
        fn formats_as_humantime_does(unix in 0_i64..=MAX_UNIX) {
            let t = SigningTime::from_unix(unix).unwrap();
            let secs = u64::try_from(unix).unwrap();
            let want = humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            )
            .to_string()
            .replace(['-', ':'], "");
            proptest::prop_assert_eq!(t.amz_date(), want);
        }
    }
}
