//! New API key values.

use aws_lc_rs::rand::SecureRandom as _;
use zeroize::Zeroizing;

use super::ApiKeyError;

/// New keys: 40 random alphanumerics (API Gateway accepts 20–128 characters).
pub(super) const KEY_LEN: usize = 40;

/// 40 characters from [A-Za-z0-9], uniform (rejection sampling over random bytes).
pub(super) fn api_key_value() -> Result<Zeroizing<String>, ApiKeyError> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut out = Zeroizing::new(String::with_capacity(KEY_LEN));
    let mut buf = Zeroizing::new([0_u8; 64]);
    while out.len() < KEY_LEN {
        rng.fill(buf.as_mut_slice())
            .map_err(|_| ApiKeyError::Unexpected("no system randomness".into()))?;
        // 248 = 4 × 62: bytes at or above it would bias the first characters.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == KEY_LEN {
                break;
            }
            if let Some(&ch) = ALPHABET.get(usize::from(b % 62)) {
                out.push(char::from(ch));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_are_40_alphanumerics_and_differ() {
        let a = api_key_value().unwrap();
        let b = api_key_value().unwrap();
        assert_eq!(a.len(), KEY_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(*a, *b);
    }
}
