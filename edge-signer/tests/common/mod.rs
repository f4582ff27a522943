//! Helpers shared by the edge-signer integration tests.

use edge_signer::SigningTime;

/// An RFC 3339 time, parsed as the CLI parses `--time` (the signer only formats times).
pub fn rfc3339(text: &str) -> Result<SigningTime, String> {
    let t = humantime::parse_rfc3339(text).map_err(|e| e.to_string())?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    SigningTime::from_unix(i64::try_from(secs).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())
}
