//! One `postino` at a time per destination (DESIGN.md invariant 8, the CLI's lock file): two
//! runs writing one Maildir or mbox would race on the ledger and the mbox's length, and two
//! downloaders of one mailbox race on DELE. A cron job that starts while the last one is still
//! fetching either waits for it or, with `--no-wait`, skips the account at once (the run's
//! exit status is then 75, try again later).
//!
//! The lock is `flock(2)` on a file beside the mail: `<maildir>/.postino.lock`, or
//! `<mbox>.postino.lock`, or for an MDA destination `lock` in the account's state folder (beside
//! its ledger). The kernel drops it when the process ends, however it ends, so a crash
//! leaves no stale lock; the file itself stays (removing it would let a third run lock a new
//! file while the second still holds the old one).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::config::Destination;
use crate::disk::{create_private_dir, private_file};

/// Held while a run writes into one destination; dropping it lets the next run in.
#[derive(Debug)]
pub struct DestinationLock {
    _file: File,
}

/// Why a destination could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it and the caller chose not to wait.
    Busy(PathBuf),
    Io(PathBuf, io::Error),
    /// No destination to lock: the account's configuration says why.
    Other(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Busy(lock) => write!(
                f,
                "another postino is fetching into this destination (it holds {}): skipped; \
                 run again later, or without --no-wait to wait for it",
                lock.display()
            ),
            LockError::Io(lock, e) => write!(f, "cannot lock {}: {e}", lock.display()),
            LockError::Other(e) => f.write_str(e),
        }
    }
}

/// The lock file of a destination.
pub fn lock_path(destination: &Destination) -> PathBuf {
    match destination {
        Destination::Maildir(dir) => dir.join(".postino.lock"),
        Destination::Mbox(file) => {
            let mut name = file.as_os_str().to_owned();
            name.push(".postino.lock");
            PathBuf::from(name)
        }
        Destination::Mda { state, .. } => state.join("lock"),
    }
}

impl DestinationLock {
    /// Lock `destination`, creating its directory (0700) and lock file (0600) if need be. If
    /// another process holds it: with `wait`, call `waiting` once and block until it is free;
    /// without, fail with [`LockError::Busy`].
    pub fn acquire(
        destination: &Destination,
        wait: bool,
        waiting: impl FnOnce(&Path),
    ) -> Result<DestinationLock, LockError> {
        let path = lock_path(destination);
        let io_err = |e: io::Error| LockError::Io(path.clone(), e);
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(io_err)?;
        }
        let file = private_file()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) if !wait => return Err(LockError::Busy(path)),
            Err(rustix::io::Errno::WOULDBLOCK) => {
                waiting(&path);
                flock(&file, FlockOperation::LockExclusive).map_err(|e| io_err(e.into()))?;
            }
            Err(e) => return Err(io_err(e.into())),
        }
        Ok(DestinationLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_destination_is_busy_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("postino-cli-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let destination = Destination::Mbox(dir.join("sub/in.mbox"));
        let first = DestinationLock::acquire(&destination, false, |_| {}).unwrap();
        // flock is per open file: a second open in the same process conflicts too.
        match DestinationLock::acquire(&destination, false, |_| {}) {
            Err(LockError::Busy(p)) => assert_eq!(p, dir.join("sub/in.mbox.postino.lock")),
            other => panic!("{other:?}"),
        }
        drop(first);
        DestinationLock::acquire(&destination, false, |_| {}).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
