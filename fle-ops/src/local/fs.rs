//! File locks and atomic file replacement for the local keystore.
//!
//! Every read-modify-write of the keystore holds an exclusive `flock` on `<root>/lock` and writes
//! through [`write_atomic`] (temp file in the same directory, fsync, rename, fsync directory), so
//! two processes never interleave and a crash leaves either the old or the new file, never half.
//! The kernel drops a `flock` when its process dies, so a killed `fle` never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

/// An exclusive lock on a file, released on drop (or when the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock is ours.
    pub fn exclusive(path: &Path) -> std::io::Result<Self> {
        let file = open_lock_file(path)?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            tracing::debug!(path = %path.display(), "waiting for the lock");
            flock(&file, FlockOperation::LockExclusive)?;
        }
        tracing::trace!(path = %path.display(), "locked");
        Ok(Self { _file: file })
    }

    /// Takes the lock if nobody holds it; `Ok(None)` if someone does.
    pub fn try_exclusive(path: &Path) -> std::io::Result<Option<Self>> {
        let file = open_lock_file(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                tracing::trace!(path = %path.display(), "locked");
                Ok(Some(Self { _file: file }))
            }
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                tracing::debug!(path = %path.display(), "held by another process");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Replaces `path` with `bytes` atomically; the new file gets `mode`.
///
/// The temp file beside it has a random name and is created exclusively (`O_CREAT|O_EXCL`),
/// which also refuses a symlink planted at that name: a predictable name let a pre-created
/// symlink redirect the private keyring into another file.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce)
        .map_err(|_| std::io::Error::other("random number generator failed"))?;
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{name}.tmp.{nonce}"));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    let result = (|| {
        // The umask may have cleared bits of `mode`: set them explicitly.
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Refuses a keystore directory that someone else could change: not a real directory (a
/// symlink), owned by another user, or writable by group or others.
pub fn check_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let denied = |why: String| {
        std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("keystore directory {} {why}", dir.display()),
        )
    };
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.file_type().is_dir() {
        return Err(denied(
            "is not a directory (a symlink?): the keystore must be a real directory".into(),
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(denied(format!(
            "belongs to user {} (you are {me}): use a keystore you own",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(denied(format!(
            "is writable by others (mode {:o}): run `chmod 700 {}`",
            meta.mode() & 0o777,
            dir.display()
        )));
    }
    Ok(())
}
