//! `application/x-www-form-urlencoded` bodies and CloudFront's field-name patterns.
//!
//! CloudFront encrypts the values of fields whose names match a profile's patterns (exact
//! names, or a prefix followed by `*`) and leaves every other field as it was. Pairs are split
//! without changing a byte, so a body can be rewritten one value at a time.

use std::borrow::Cow;

use crate::{Error, MAX_BODY_LEN};

/// CloudFront limits a pattern to 128 characters.
const MAX_PATTERN_LEN: usize = 128;
/// Real forms have tens of fields (PHP refuses more than 1000 by default); a 1 MB body of `&`
/// has a million empty ones, each costing a scan and a name decoding, so refuse such bodies.
pub const MAX_FORM_PAIRS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn matches(&self, name: &[u8]) -> bool {
        match self {
            Pattern::Exact(e) => e.as_bytes() == name,
            Pattern::Prefix(p) => name.starts_with(p.as_bytes()),
        }
    }

    fn overlaps(&self, other: &Pattern) -> bool {
        match (self, other) {
            (Pattern::Exact(a), Pattern::Exact(b)) => a == b,
            (Pattern::Prefix(p), Pattern::Exact(e)) | (Pattern::Exact(e), Pattern::Prefix(p)) => {
                e.starts_with(p.as_str())
            }
            (Pattern::Prefix(a), Pattern::Prefix(b)) => {
                a.starts_with(b.as_str()) || b.starts_with(a.as_str())
            }
        }
    }
}

/// Field-name patterns with CloudFront's rules: case-sensitive, at most 128 characters of
/// `A-Z a-z 0-9 . _ - [ ]`, optionally ending in `*` (prefix match), none overlapping another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPatterns(Vec<Pattern>);

impl FieldPatterns {
    /// Parses a comma-separated list such as `card_*,ssn`.
    ///
    /// # Errors
    /// [`Error::InvalidForm`] for an empty list, a pattern CloudFront would refuse, or two
    /// patterns that overlap.
    pub fn parse(list: &str) -> Result<Self, Error> {
        Self::new(list.split(',').map(str::trim))
    }

    /// Builds patterns from separate strings.
    ///
    /// # Errors
    /// As [`FieldPatterns::parse`].
    pub fn new<'s>(patterns: impl IntoIterator<Item = &'s str>) -> Result<Self, Error> {
        let mut out: Vec<Pattern> = Vec::new();
        for p in patterns {
            let pattern = parse_pattern(p)?;
            if out.iter().any(|q| q.overlaps(&pattern)) {
                return Err(Error::InvalidForm("field patterns overlap"));
            }
            out.push(pattern);
        }
        if out.is_empty() {
            return Err(Error::InvalidForm("no field pattern given"));
        }
        Ok(Self(out))
    }

    /// Whether a (decoded) field name matches one of the patterns.
    pub fn matches(&self, name: &[u8]) -> bool {
        self.0.iter().any(|p| p.matches(name))
    }

    /// The patterns as written (`name` or `prefix*`).
    pub fn to_strings(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|p| match p {
                Pattern::Exact(e) => e.clone(),
                Pattern::Prefix(p) => format!("{p}*"),
            })
            .collect()
    }
}

fn parse_pattern(p: &str) -> Result<Pattern, Error> {
    let (stem, prefix) = match p.strip_suffix('*') {
        Some(stem) => (stem, true),
        None => (p, false),
    };
    if p.is_empty() || p.len() > MAX_PATTERN_LEN {
        return Err(Error::InvalidForm(
            "a field pattern must be 1 to 128 characters",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']');
    if !stem.chars().all(allowed) {
        return Err(Error::InvalidForm(
            "a field pattern may use only A-Z a-z 0-9 . _ - [ ] and one trailing *",
        ));
    }
    Ok(if prefix {
        Pattern::Prefix(stem.to_owned())
    } else {
        Pattern::Exact(stem.to_owned())
    })
}

/// One `name=value` pair of a body, as received: slices of the body, nothing owned.
pub struct Pair<'a> {
    /// Where `raw` starts in the body.
    pub start: usize,
    pub raw: &'a [u8],
    pub raw_name: &'a [u8],
    pub raw_value: &'a [u8],
}

/// Positions and lengths only: a value may be the plaintext to protect.
impl std::fmt::Debug for Pair<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("start", &self.start)
            .field("name_len", &self.raw_name.len())
            .field("value_len", &self.raw_value.len())
            .finish()
    }
}

impl Pair<'_> {
    /// The name after form decoding (`+` is a space, `%XX` a byte); borrowed when there is
    /// nothing to decode, so a pair that does not match costs no allocation.
    pub fn name(&self) -> Cow<'_, [u8]> {
        if self.raw_name.iter().any(|b| matches!(b, b'%' | b'+')) {
            Cow::Owned(percent_decode(self.raw_name, true))
        } else {
            Cow::Borrowed(self.raw_name)
        }
    }

    /// Where `raw` ends in the body.
    pub fn end(&self) -> usize {
        self.start.saturating_add(self.raw.len())
    }
}

/// Splits a body into pairs without changing a byte of any of them. The pairs are produced
/// one at a time: memory does not grow with their number.
pub fn split_pairs(body: &[u8]) -> Result<impl Iterator<Item = Pair<'_>>, Error> {
    if body.len() > MAX_BODY_LEN {
        return Err(Error::LimitExceeded("form body size"));
    }
    let separators = body.iter().filter(|b| **b == b'&').count();
    if separators >= MAX_FORM_PAIRS {
        return Err(Error::LimitExceeded("number of form fields"));
    }
    // An empty body has no pair at all (not one empty pair).
    let pairs = (!body.is_empty())
        .then(|| body.split(|b| *b == b'&'))
        .into_iter()
        .flatten();
    Ok(pairs.scan(0usize, |next_start, raw| {
        let start = *next_start;
        *next_start = start.saturating_add(raw.len()).saturating_add(1);
        let (raw_name, raw_value) = match raw.iter().position(|b| *b == b'=') {
            Some(i) => (
                raw.get(..i).unwrap_or_default(),
                raw.get(i.saturating_add(1)..).unwrap_or_default(),
            ),
            None => (raw, &b""[..]),
        };
        Some(Pair {
            start,
            raw,
            raw_name,
            raw_value,
        })
    }))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Rewrites the value of every pair whose (decoded) name matches `patterns`, keeping every
/// other byte of the body: `f` gets the decoded name and the form-decoded value and returns
/// the new value, which is form-encoded into place. Used to encrypt as CloudFront does.
///
/// # Errors
/// The body's limits ([`split_pairs`]), then the first error of `f`.
pub fn map_values<E: From<Error>>(
    body: &[u8],
    patterns: &FieldPatterns,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, E> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(2));
    for (i, pair) in split_pairs(body)?.enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        let name = pair.name();
        if patterns.matches(&name) {
            // The decoded value may be the plaintext being protected.
            let value = zeroize::Zeroizing::new(percent_decode(pair.raw_value, true));
            let new = f(&name, &value);
            out.extend_from_slice(pair.raw_name);
            out.push(b'=');
            form_encode(&new?, &mut out);
        } else {
            out.extend_from_slice(pair.raw);
        }
    }
    Ok(out)
}

/// Decodes `%XX` escapes (a malformed escape stays as written); with `plus_is_space`, `+`
/// becomes a space as form decoding requires.
pub fn percent_decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'%' => {
                let decoded = match rest {
                    [h, l, ..] => hex(*h).zip(hex(*l)).map(|(h, l)| h << 4 | l),
                    _ => None,
                };
                match decoded {
                    Some(byte) => {
                        out.push(byte);
                        rest = rest.get(2..).unwrap_or_default();
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    out
}

/// Form-encodes bytes: unreserved characters stay, space becomes `+`, the rest `%XX`.
pub fn form_encode(input: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in input {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b),
            b' ' => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.extend(HEX.get(usize::from(b >> 4)));
                out.extend(HEX.get(usize::from(b & 0x0f)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_follow_cloudfront_rules() {
        let p = FieldPatterns::parse("card_*, ssn ,a[0]").unwrap();
        assert!(p.matches(b"card_number"));
        assert!(p.matches(b"card_"));
        assert!(p.matches(b"ssn"));
        assert!(p.matches(b"a[0]"));
        assert!(!p.matches(b"ssn2"));
        assert!(!p.matches(b"Card_number"), "case-sensitive");
        assert_eq!(p.to_strings(), ["card_*", "ssn", "a[0]"]);
        for bad in ["", "a b", "a*b", "*x", "ünïcode", "a,,b", &"x".repeat(129)] {
            assert!(FieldPatterns::parse(bad).is_err(), "{bad:?}");
        }
        for overlapping in ["a,a", "card_*,card_no", "card*,card_*", "x,x*"] {
            assert_eq!(
                FieldPatterns::parse(overlapping),
                Err(Error::InvalidForm("field patterns overlap")),
                "{overlapping}"
            );
        }
        // A bare `*` matches every field: CloudFront allows a prefix of length zero.
        assert!(FieldPatterns::parse("*").unwrap().matches(b"anything"));
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode(b"a%2Bb+c%2", true), b"a+b c%2");
        assert_eq!(percent_decode(b"a%2bb+c%zz%", false), b"a+b+c%zz%");
    }

    #[test]
    fn form_encoding_round_trips() {
        let input: Vec<u8> = (0..=255).collect();
        let mut enc = Vec::new();
        form_encode(&input, &mut enc);
        assert!(enc.iter().all(|b| b.is_ascii_graphic()));
        assert_eq!(percent_decode(&enc, true), input);
    }

    #[test]
    fn pairs_borrow_the_body_and_know_where_they_are() {
        let pairs: Vec<_> = split_pairs(b"a=1&&b%5B%5D=x+y&c")
            .unwrap()
            .map(|p| (p.start, p.raw, p.raw_value, p.name().into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                (0, &b"a=1"[..], &b"1"[..], b"a".to_vec()),
                (4, b"", b"", b"".to_vec()),
                (5, b"b%5B%5D=x+y", b"x+y", b"b[]".to_vec()),
                (17, b"c", b"", b"c".to_vec()),
            ]
        );
        assert_eq!(split_pairs(b"").unwrap().count(), 0);
    }

    #[test]
    fn the_number_of_pairs_is_capped() {
        assert_eq!(
            split_pairs(&vec![b'&'; MAX_FORM_PAIRS - 1]).map(Iterator::count),
            Ok(MAX_FORM_PAIRS)
        );
        assert!(matches!(
            split_pairs(&vec![b'&'; MAX_FORM_PAIRS]).map(Iterator::count),
            Err(Error::LimitExceeded("number of form fields"))
        ));
    }
}
