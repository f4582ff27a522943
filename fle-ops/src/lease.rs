//! Leases: the AWS backend's rotation claims (kept in the keyring document) and its SSM store
//! locks (a lock parameter). Each names its owner (`<host>:<pid>:<nonce>`) and an expiry time.
//!
//! The expiry decides: a lease is live until it expires, on every platform. Whether the owner
//! process is still running is only an optimisation that lets a rerun on the same machine take
//! over a lease whose owner was killed, without waiting for the expiry; it is asked of a
//! [`Liveness`] probe, and a probe that cannot tell (no host name, no process table) never
//! makes a lease stale. (Deciding from `/proc` alone made every lease look stale on macOS,
//! where `/proc` does not exist, so two operators' rotations were not excluded.)

use std::time::{Duration, SystemTime};

use crate::error::{StoreError, StoreResult};

/// How long a rotation claim stays valid without its owner.
pub const CLAIM_LEASE: Duration = Duration::from_secs(15 * 60);

/// Asks whether the owner of a lease is certainly gone.
pub trait Liveness: std::fmt::Debug + Send + Sync {
    /// This machine's name, or `None` when it cannot be told.
    fn host(&self) -> Option<String>;
    /// Whether process `pid` of this machine has certainly exited (`false` when unknown).
    fn is_gone(&self, pid: u32) -> bool;
}

/// The portable probe: the host name from `uname`, liveness from `kill(pid, 0)` (POSIX; works
/// on Linux and macOS alike, no `/proc`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLiveness;

impl Liveness for SystemLiveness {
    fn host(&self) -> Option<String> {
        let uname = rustix::system::uname();
        let name = uname.nodename().to_string_lossy().trim().to_owned();
        (!name.is_empty()).then_some(name)
    }

    fn is_gone(&self, pid: u32) -> bool {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        // ESRCH: no such process. EPERM means it exists (another user's): not gone.
        matches!(
            rustix::process::test_kill_process(pid),
            Err(e) if e == rustix::io::Errno::SRCH
        )
    }
}

/// A random hex nonce for lease owners.
///
/// # Errors
/// The system random number generator fails.
pub fn nonce() -> StoreResult<String> {
    let mut b = [0u8; 6];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| StoreError::Remote("random number generator failed".into()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A new owner name for this process: `<host>:<pid>:<nonce>` (host empty when unknown).
///
/// # Errors
/// The system random number generator fails.
pub fn owner(probe: &dyn Liveness) -> StoreResult<String> {
    Ok(format!(
        "{}:{}:{}",
        probe.host().unwrap_or_default(),
        std::process::id(),
        nonce()?
    ))
}

/// RFC 3339 UTC, seconds.
pub fn expiry(at: SystemTime, lease: Duration) -> String {
    crate::time::rfc3339_clamped(at.checked_add(lease).unwrap_or_else(crate::time::latest))
}

/// Whether a lease can be ignored at `at`: it has expired (or its expiry is unreadable), or
/// `probe` can tell that its owner ran on this machine and has exited.
pub fn is_stale(owner: &str, expires: &str, at: SystemTime, probe: &dyn Liveness) -> bool {
    let expired = humantime::parse_rfc3339(expires)
        .map(|t| t <= at)
        .unwrap_or(true);
    expired || owner_is_gone(owner, probe)
}

fn owner_is_gone(owner: &str, probe: &dyn Liveness) -> bool {
    let mut parts = owner.splitn(3, ':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    // An owner whose host was unknown, or a host we cannot name: nothing to compare.
    match probe.host() {
        Some(here) if !host.is_empty() && here == host => probe.is_gone(pid),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine without `/proc` or a host name: nothing can be told about owners.
    #[derive(Debug)]
    struct Blind;
    impl Liveness for Blind {
        fn host(&self) -> Option<String> {
            None
        }
        fn is_gone(&self, _pid: u32) -> bool {
            false
        }
    }

    /// A machine that knows its name and which processes are gone.
    #[derive(Debug)]
    struct Known {
        host: &'static str,
        gone: Vec<u32>,
    }
    impl Liveness for Known {
        fn host(&self) -> Option<String> {
            Some(self.host.to_owned())
        }
        fn is_gone(&self, pid: u32) -> bool {
            self.gone.contains(&pid)
        }
    }

    fn times() -> (SystemTime, String) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        (now, expiry(now, CLAIM_LEASE))
    }

    #[test]
    fn without_proc_a_lease_lives_until_it_expires() {
        let (now, expires) = times();
        // Owners as written on such a machine (empty host) and on another one.
        for owner in [":4242:abc", "buildbox:4242:abc", "mac.local:1:def"] {
            assert!(!is_stale(owner, &expires, now, &Blind), "{owner}");
            let later = now + CLAIM_LEASE;
            assert!(is_stale(owner, &expires, later, &Blind), "{owner}");
        }
    }

    #[test]
    fn a_dead_owner_on_this_host_frees_the_lease_early() {
        let (now, expires) = times();
        let probe = Known {
            host: "buildbox",
            gone: vec![4242],
        };
        assert!(is_stale("buildbox:4242:abc", &expires, now, &probe));
        assert!(!is_stale("buildbox:4243:abc", &expires, now, &probe));
        // Same pid on another host, or an owner with no host: the expiry decides.
        assert!(!is_stale("otherbox:4242:abc", &expires, now, &probe));
        assert!(!is_stale(":4242:abc", &expires, now, &probe));
        assert!(!is_stale("garbage", &expires, now, &probe));
    }

    #[test]
    fn an_unreadable_expiry_is_stale() {
        let (now, _) = times();
        assert!(is_stale("h:1:n", "not a time", now, &Blind));
    }

    #[test]
    fn the_system_probe_sees_this_process_alive() {
        let probe = SystemLiveness;
        assert!(probe.host().is_some());
        assert!(!probe.is_gone(std::process::id()));
        // A child that has exited and been reaped is gone.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(probe.is_gone(pid));
        let (now, expires) = times();
        let owner = owner(&probe).unwrap();
        assert!(!is_stale(&owner, &expires, now, &probe));
    }
}
