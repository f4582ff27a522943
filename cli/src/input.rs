//! Reading command inputs: a path or `-` for standard input, with a size cap.

use anyhow::Context as _;
use std::io::Read as _;
use std::path::Path;

/// Far above any CloudFront body (1 MB) or field (16 KB): a guard against `/dev/zero`.
pub const MAX_INPUT_LEN: u64 = 16 * 1024 * 1024;

/// Reads `path` (or standard input for `-`) whole.
pub fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let read = if path == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_LEN + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT_LEN + 1).read_to_end(&mut buf))
    };
    read.with_context(|| format!("reading {}", display(path)))?;
    if u64::try_from(buf.len()).unwrap_or(u64::MAX) > MAX_INPUT_LEN {
        anyhow::bail!("{} is larger than {} bytes", display(path), MAX_INPUT_LEN);
    }
    Ok(buf)
}

/// Reads a key file; warns on stderr when a private key is readable by group or others.
pub fn read_key(path: &Path, private: bool) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading key file {}", path.display()))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "fle: warning: private key {} is readable by other users (chmod 600 it)",
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = private;
    Ok(zeroize::Zeroizing::new(bytes))
}

fn display(path: &str) -> String {
    if path == "-" {
        "standard input".to_owned()
    } else {
        path.to_owned()
    }
}

/// Upper bounds of the duration flags: long enough for any real use, short enough that adding
/// one to the clock stays a writable time and a wait ends.
pub mod limit {
    /// `--grace` of `keys rotate` / `api-keys rotate`: 10 years.
    pub const GRACE_SECS: u64 = 10 * 365 * 86_400;
    /// Waits (`--switch-delay`, `--deploy-timeout`, poll intervals): 7 days.
    pub const WAIT_SECS: u64 = 7 * 86_400;
}

/// A duration flag (`90m`, `24h`, `7d`) of at most `MAX_SECS` seconds.
pub fn duration<const MAX_SECS: u64>(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d > std::time::Duration::from_secs(MAX_SECS) {
        return Err(format!(
            "longer than the {} days this flag accepts",
            MAX_SECS / 86_400
        ));
    }
    Ok(d)
}
