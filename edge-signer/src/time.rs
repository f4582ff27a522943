//! The signing time, passed in by the caller (`SystemTime::now()` traps on wasm32-unknown-unknown).

use std::fmt;

/// Seconds since the Unix epoch, within years 1970..=9999 so it always formats as SigV4 needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SigningTime {
    unix: i64,
}

/// 9999-12-31T23:59:59Z: the last second a four-digit year can write.
const MAX_UNIX: i64 = 253_402_300_799;

/// A time that cannot be used for signing (out of range or not RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError;

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("time must be RFC 3339 (e.g. 2026-01-02T03:04:05Z) between 1970 and 9999")
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

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; fractions are dropped.
    ///
    /// # Errors
    /// [`TimeError`] when the text is not of that form or out of range.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        let b = text.as_bytes();
        let num = |from: usize, len: usize| -> Result<i64, TimeError> {
            let digits = b
                .get(from..from.checked_add(len).ok_or(TimeError)?)
                .ok_or(TimeError)?;
            digits.iter().try_fold(0_i64, |acc, d| {
                if d.is_ascii_digit() {
                    Ok(acc * 10 + i64::from(d - b'0'))
                } else {
                    Err(TimeError)
                }
            })
        };
        let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
        if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
            return Err(TimeError);
        }
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        let mut i = 19;
        if at(i, b".") {
            i += 1;
            let start = i;
            while at(i, b"0123456789") {
                i += 1;
            }
            if i == start {
                return Err(TimeError);
            }
        }
        let offset = if at(i, b"Zz") && b.len() == i + 1 {
            0
        } else if at(i, b"+-") && at(i + 3, b":") && b.len() == i + 6 {
            let sign = if at(i, b"-") { -1 } else { 1 };
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(TimeError);
            }
            sign * (oh * 3600 + om * 60)
        } else {
            return Err(TimeError);
        };
        if year < 1970
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(TimeError);
        }
        // A leap second signs as the last second of its minute.
        let second = second.min(59);
        let unix = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
            - offset;
        Self::from_unix(unix)
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

/// Days since 1970-01-01 of a proleptic Gregorian date (years >= 1970 only are ever asked).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let mut days = 0;
    for y in 1970..year {
        days += if is_leap(y) { 366 } else { 365 };
    }
    for m in 1..month {
        days += days_in_month(year, m);
    }
    days + day - 1
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
        let t = SigningTime::parse_rfc3339("2015-08-30T12:36:00Z").unwrap();
        assert_eq!(t.unix(), 1_440_938_160);
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
    }

    #[test]
    fn offsets_and_fractions() {
        let a = SigningTime::parse_rfc3339("2026-01-02T03:04:05.999+01:30").unwrap();
        let b = SigningTime::parse_rfc3339("2026-01-02T01:34:05Z").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-01-02T03:04:05",
            "1969-12-31T23:59:59Z",
            "2026-01-02T03:04:05.Z",
            "2026-01-02T03:04:05Zjunk",
            "２026-01-02T03:04:05Z",
        ] {
            assert_eq!(SigningTime::parse_rfc3339(bad), Err(TimeError), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = SigningTime::parse_rfc3339(&s);
        }

        #[test]
        fn days_round_trip(days in 0_i64..2_932_896) {
            let (y, m, d) = civil_from_days(days);
            proptest::prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
