//! Names a rotation makes up: the new key's default name and CloudFront caller references.

use std::time::SystemTime;

use crate::error::StoreError;
use crate::rules::MAX_NAME_LEN;

/// A random caller reference, as CloudFront requires one per created object.
///
/// # Errors
/// The system random number generator fails.
pub fn caller_reference() -> Result<String, StoreError> {
    let mut b = [0u8; 8];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| StoreError::Remote("random number generator failed".into()))?;
    Ok(format!(
        "fle-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}

/// `<profile>-<YYYYMMDDTHHMMSSZ>`, the profile part cut so the whole is at most 128 characters
/// (the time stamp is kept: it is what makes the name new).
pub fn default_key_name(profile: &str, now: SystemTime) -> String {
    let stamp: String = crate::time::rfc3339_clamped(now)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    // Profile names are ASCII (letters, digits, '-', '_'), but cut by characters anyway.
    let room = MAX_NAME_LEN.saturating_sub(stamp.chars().count().saturating_add(1));
    let head: String = profile.chars().take(room).collect();
    format!("{head}-{stamp}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn short_profiles_keep_their_name() {
        assert_eq!(
            default_key_name("checkout", at()),
            "checkout-20270115T080000Z"
        );
    }

    #[test]
    fn long_profiles_are_cut_to_128_characters() {
        // A hyphen inside the profile once made the cut remove characters from its first part
        // only, leaving a 138-character name that the key-name rule then refused.
        let profiles = [
            format!("a-{}", "b".repeat(120)),
            "p".repeat(128),
            format!("{}-x", "q".repeat(126)),
            "-".repeat(128),
        ];
        for profile in profiles {
            let name = default_key_name(&profile, at());
            assert!(name.chars().count() <= MAX_NAME_LEN, "{} chars", name.len());
            assert!(name.ends_with("-20270115T080000Z"), "{name}");
            crate::rules::key_name(&name).unwrap();
        }
    }
}
