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
use std::time::{Duration, Instant};

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(200);

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
    /// Still held by another postino after waiting this long.
    TimedOut(PathBuf, Duration),
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
            LockError::TimedOut(lock, waited) => write!(
                f,
                "another postino has been fetching into this destination for {} s (it holds {}): \
                 skipped; run again later, or give a longer --wait-timeout",
                waited.as_secs(),
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
    /// The lock of `destination`. Held by another postino: with `wait`, `waiting` is told and
    /// the lock is tried again until it is free or `wait` has passed; without, it is busy.
    pub fn acquire(
        destination: &Destination,
        wait: Option<Duration>,
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
        let try_lock = || match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(io_err(e.into())),
        };
        if try_lock()? {
            return Ok(DestinationLock { _file: file });
        }
        let Some(limit) = wait else {
            return Err(LockError::Busy(path));
        };
        waiting(&path);
        let started = Instant::now();
        loop {
            std::thread::sleep(POLL.min(limit.saturating_sub(started.elapsed())));
            if try_lock()? {
                return Ok(DestinationLock { _file: file });
            }
            if started.elapsed() >= limit {
                return Err(LockError::TimedOut(path, limit));
            }
        }
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
        let first = DestinationLock::acquire(&destination, None, |_| {}).unwrap();
        // flock is per open file: a second open in the same process conflicts too.
        match DestinationLock::acquire(&destination, None, |_| {}) {
            Err(LockError::Busy(p)) => assert_eq!(p, dir.join("sub/in.mbox.postino.lock")),
            other => panic!("{other:?}"),
        }
        // Waiting has a deadline.
        let started = Instant::now();
        let mut told = false;
        match DestinationLock::acquire(&destination, Some(Duration::from_millis(500)), |_| {
            told = true
        }) {
            Err(LockError::TimedOut(_, waited)) => assert_eq!(waited, Duration::from_millis(500)),
            other => panic!("{other:?}"),
        }
        assert!(told && started.elapsed() >= Duration::from_millis(500));
        // A lock freed while one waits is taken.
        let waiter = {
            let destination = destination.clone();
            std::thread::spawn(move || {
                DestinationLock::acquire(&destination, Some(Duration::from_secs(30)), |_| {})
                    .map(|_| ())
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
        waiter.join().unwrap().unwrap();
        DestinationLock::acquire(&destination, None, |_| {}).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
