//! Decrypted bytes that never print themselves and are wiped on drop.

use std::fmt;
use zeroize::Zeroizing;

/// Plaintext (or other secret bytes). `Debug` and `Display` print `[redacted]`; the memory is
/// zeroized when the value is dropped. Read it with [`Secret::expose`].
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<Vec<u8>>);

/// Equality takes a time that depends on the lengths only, never on the contents (a derived
/// comparison stops at the first differing byte).
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }
}

impl Eq for Secret {}

impl Secret {
    pub(crate) fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// Wraps bytes the caller already holds.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes. Keep what you do with them out of logs.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as UTF-8 text.
    ///
    /// # Errors
    /// When the bytes are not UTF-8 (the error says where, never what).
    pub fn expose_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.0)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_content() {
        let s = Secret::from_vec(b"4111111111111111".to_vec());
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s:#?}"), "Secret([redacted])");
        assert_eq!(s.expose(), b"4111111111111111");
    }

    #[test]
    fn equality_compares_contents() {
        let s = |b: &[u8]| Secret::from_vec(b.to_vec());
        assert_eq!(s(b"4111"), s(b"4111"));
        assert_eq!(s(b""), Secret::default());
        assert_ne!(s(b"4111"), s(b"4112"));
        assert_ne!(s(b"4111"), s(b"411"));
        assert_ne!(s(b""), s(b"\0"));
    }
}
