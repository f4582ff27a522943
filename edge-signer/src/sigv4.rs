//! The SigV4 core: canonical request, string to sign, signing key and signature.
//!
//! Pure functions over strings and bytes. No clock, no environment, no I/O: the caller passes
//! the time and the credentials. Each stage is public so tests can check it separately.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::time::SigningTime;

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm this crate signs with.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Lowercase hex of SHA-256 of nothing: the payload hash of an empty body.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What the canonical request is computed from. Header names may be in any case; values raw.
/// `Debug` shows header names only (values include the session token and the API key).
#[derive(Clone)]
pub struct CanonicalInput<'a> {
    pub method: &'a str,
    /// The path exactly as sent on the wire (already percent-encoded where needed).
    pub path: &'a str,
    /// The query exactly as sent on the wire, without `?`.
    pub query: &'a str,
    /// Headers to sign, in the order received; repeated names are joined with `,`.
    pub headers: &'a [(String, String)],
    /// Lowercase hex SHA-256 of the body bytes.
    pub payload_sha256: &'a str,
    /// Remove `.`/`..` and empty segments before encoding (every service except S3).
    pub normalize_path: bool,
}

impl fmt::Debug for CanonicalInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanonicalInput")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("payload_sha256", &self.payload_sha256)
            .field("normalize_path", &self.normalize_path)
            .finish()
    }
}

/// A canonical request and the `SignedHeaders` list that goes with it. `Debug` leaves out the
/// text, which holds the signed header values (session token, API key): print `text` itself
/// when it is safe to.
#[derive(Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    pub text: String,
    pub signed_headers: String,
}

impl fmt::Debug for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanonicalRequest")
            .field(
                "text",
                &format_args!("<redacted, {} bytes>", self.text.len()),
            )
            .field("signed_headers", &self.signed_headers)
            .finish()
    }
}

/// Builds the canonical request (SigV4 step 1).
pub fn canonical_request(input: &CanonicalInput<'_>) -> CanonicalRequest {
    let (canonical_headers, signed_headers) = canonical_headers(input.headers);
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        canonical_uri(input.path, input.normalize_path),
        canonical_query(input.query),
        canonical_headers,
        signed_headers,
        input.payload_sha256
    );
    CanonicalRequest {
        text,
        signed_headers,
    }
}

/// `date/region/service/aws4_request`.
pub fn credential_scope(time: SigningTime, region: &str, service: &str) -> String {
    format!("{}/{region}/{service}/aws4_request", time.date())
}

/// Builds the string to sign (SigV4 step 2).
pub fn string_to_sign(time: SigningTime, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        time.amz_date(),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Derives the signing key (SigV4 step 3). Every stage is as good as the secret key for a
/// day, so each one, and the key returned, is wiped when dropped.
pub fn signing_key(
    secret_access_key: &str,
    time: SigningTime,
    region: &str,
    service: &str,
) -> Zeroizing<[u8; 32]> {
    // Sized once so pushing never reallocates and leaves an unwiped copy of the secret behind.
    let mut first = Zeroizing::new(Vec::with_capacity(
        secret_access_key.len().saturating_add(4),
    ));
    first.extend_from_slice(b"AWS4");
    first.extend_from_slice(secret_access_key.as_bytes());
    let k_date = Zeroizing::new(hmac(&first, time.date().as_bytes()));
    let k_region = Zeroizing::new(hmac(&*k_date, region.as_bytes()));
    let k_service = Zeroizing::new(hmac(&*k_region, service.as_bytes()));
    Zeroizing::new(hmac(&*k_service, b"aws4_request"))
}

/// Signs the string to sign with the derived key (SigV4 step 4): lowercase hex.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex(&hmac(signing_key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never takes the error branch; a zero tag
    // would only make the signature wrong, never leak anything.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        out.push(hex_digit(b >> 4, b'a'));
        out.push(hex_digit(b & 0x0f, b'a'));
    }
    out
}

/// One hex digit of a nibble; `ten` is `a` or `A`.
fn hex_digit(nibble: u8, ten: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        ten + (nibble & 0x0f) - 10
    })
}

/// True for a 64-character lowercase hex string (a SHA-256 digest as SigV4 writes it).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SigV4 URI encoding: unreserved characters stay, every other byte becomes `%XX` (uppercase).
pub fn uri_encode(bytes: &[u8], keep_slash: bool, out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4, b'A'));
            out.push(hex_digit(b & 0x0f, b'A'));
        }
    }
}

/// The canonical URI for every service but S3: the wire path (optionally normalized) encoded
/// once more, so `%3A` on the wire is `%253A` here.
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let normalized;
    let path = if normalize {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    let mut out = String::with_capacity(path.len());
    uri_encode(path.as_bytes(), true, &mut out);
    out
}

/// Removes empty, `.` and `..` segments; keeps a trailing slash.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

/// One query parameter, percent-decoded to raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

/// Splits a wire query into decoded parameters, in order, keeping repeats. `+` is a space
/// (as API Gateway reads it), an invalid `%` escape is a literal `%`, empty segments are dropped.
pub fn parse_query(query: &str) -> Vec<QueryParam> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            QueryParam {
                name: percent_decode(name.as_bytes()),
                value: percent_decode(value.as_bytes()),
            }
        })
        .collect()
}

/// The SigV4 canonical query string of a wire query: decoded, re-encoded, sorted by name then
/// value, repeated names kept. Sending exactly this string makes what is signed what is sent.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = parse_query(query)
        .into_iter()
        .map(|p| {
            let mut name = String::with_capacity(p.name.len());
            uri_encode(&p.name, false, &mut name);
            let mut value = String::with_capacity(p.value.len());
            uri_encode(&p.value, false, &mut value);
            (name, value)
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len());
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        match (b, tail) {
            (b'%', [hi, lo, after @ ..]) => match (hex_value(*hi), hex_value(*lo)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    rest = after;
                    continue;
                }
                _ => out.push(b'%'),
            },
            (b'+', _) => out.push(b' '),
            _ => out.push(b),
        }
        rest = tail;
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `name:value\n` lines sorted by lowercase name and the `;`-joined names.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    let mut sorted: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
        .collect();
    // Stable sort: repeated names keep their received order.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in sorted {
        let value = trim_all(value);
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let mut text = String::new();
    let mut names = String::new();
    for (i, (name, value)) in merged.iter().enumerate() {
        text.push_str(name);
        text.push(':');
        text.push_str(value);
        text.push('\n');
        if i > 0 {
            names.push(';');
        }
        names.push_str(name);
    }
    (text, names)
}

/// Trims and collapses runs of whitespace (including folded line breaks) to one space.
fn trim_all(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_repeats_and_sorts_by_value() {
        assert_eq!(canonical_query("b=2&a=2&a=1&c"), "a=1&a=2&b=2&c=");
    }

    #[test]
    fn query_encodes_reserved_and_reads_plus_as_space() {
        assert_eq!(canonical_query("k=[a]+b,c*d~e"), "k=%5Ba%5D%20b%2Cc%2Ad~e");
        assert_eq!(canonical_query("k=%2B"), "k=%2B");
        assert_eq!(canonical_query("k=%zz%"), "k=%25zz%25");
    }

    #[test]
    fn uri_is_encoded_twice() {
        assert_eq!(canonical_uri("/caf%C3%A9", false), "/caf%25C3%25A9");
        assert_eq!(canonical_uri("", true), "/");
        assert_eq!(canonical_uri("/a/./b/../c/", true), "/a/c/");
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let h = vec![
            ("B".to_string(), " x  y ".to_string()),
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "z".to_string()),
        ];
        assert_eq!(
            canonical_headers(&h),
            ("a:1\nb:x y,z\n".to_string(), "a;b".to_string())
        );
    }
}
