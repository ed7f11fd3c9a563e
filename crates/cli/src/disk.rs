//! The CLI's store: messages into a Maildir or an mbox file, and the ledger in a file beside
//! them, written so that a crash at any point neither loses a message nor stores it twice.
//!
//! The ledger is an append-only file of JSON lines, each fsynced. A torn last line (a crash in
//! the middle of a write) is cut off when the ledger is opened. A damaged line with lines after
//! it is no crash's doing: opening stops with an error naming the file and the line, and leaves
//! the ledger as it is, since cutting there would forget messages that may already be deleted
//! on the server (they would not be fetched again, but the record of them would be gone).
//!
//! Everything this store creates is private: files 0600, directories 0700, whatever the umask
//! (mail and the ledger are nobody else's business on a shared machine).
//! Messages are committed a batch at a time (the runner's batches: up to 64 messages or 4 MB),
//! with three waits for the disk per batch rather than three per message (group commit). Each
//! ledger line is written only once what it records is durable, so a crash at any point leaves
//! at worst messages on disk that the ledger does not name yet: the server still has them (no
//! DELE before the commit returned) and the next run fetches them again onto the same place.
//! - Maildir: each message is written to `tmp/`; then every file of the batch is fsynced (all at
//!   once, from a few threads, so that the file system journals them in one commit), renamed
//!   into `new/` under a name derived from (account, UIDL) only, `new/` is fsynced once so that
//!   the renames are durable, and then the batch's ledger lines are written and fsynced once. A
//!   crash before the ledger lines means the messages are fetched again and renamed over
//!   themselves.
//! - mbox: a `pending` line with the file's length and the batch's size goes first (fsynced),
//!   then the batch is appended and fsynced once, then its `commit` lines, fsynced once. A
//!   `pending` line without all its commits means the append may be partial or not recorded: the
//!   mbox is cut back to the end of the last entry committed.
//!
//! - MDA (`crate::mda`): each message of the batch goes to the delivery agent in turn, and as
//!   soon as the agent said 0, its ledger line is written and fsynced, before the next message:
//!   a crash between the two is the one way a message can be delivered twice (the next run
//!   offers it again), never lost. A failure stops the batch there (the messages before it are
//!   recorded, it and those after are not) and is kept for the caller ([`DiskStore::mda_failure`]).
//!   The ledger lives in the account's state folder (`ledger.jsonl`); nothing can be read back,
//!   so [`Store::raw_message`] and [`Store::summaries`] know nothing of delivered mail.
//!
//! Line endings: POP3 delivers CRLF (RFC 1939), and that is what the ledger describes (its size
//! and digest are of the bytes as received) and what [`Store::raw_message`] returns. On disk,
//! both Maildir and mbox files have LF line endings ([`maildir::file_bytes`], [`mbox::write_entry`]),
//! the Unix convention that getmail, fetchmail with an MDA, mpop and procmail follow and mail
//! readers expect (mutt shows a CR as `^M`). A line that itself ends with CR keeps it, so that
//! reading a file back and putting CRLF at each line's end ([`mbox::normalize_eml`]) gives the
//! received bytes exactly. Maildir files of earlier versions, written with CRLF, read back the
//! same way, unchanged.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use postino_sync::mailbox::{maildir, mbox};
use postino_sync::{Account, Incoming, LedgerEntry, Store, StoreError, Summary};
use serde::{Deserialize, Serialize};

use crate::config::Destination;
use crate::mda::{Delivery, Mda, SPOOL_PREFIX};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    /// `count` messages will be appended at `offset` (the first with `uidl`), each followed by
    /// its commit. Ledgers of earlier versions have one pending line per message, no `count`.
    Pending {
        uidl: String,
        offset: u64,
        #[serde(default = "one")]
        count: u64,
    },
    Commit {
        entry: LedgerEntry,
        location: Location,
    },
    Delete {
        entry: LedgerEntry,
    },
}

impl Location {
    /// Whether the message is here to be read back (not given to an MDA).
    fn readable(&self) -> bool {
        !matches!(self, Location::Delivered)
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Whether `raw` is in the form of every message a POP3 server sends: each LF follows a CR,
/// and it is empty or ends with LF. Only such a message reads back exactly from its LF form
/// ([`mbox::lf_form`], then [`mbox::normalize_eml`]); any other (a server that sends bare
/// LFs) is stored as received, so that what is read back is always what was received.
fn crlf_form(raw: &[u8]) -> bool {
    (raw.is_empty() || raw.ends_with(b"\n"))
        && raw
            .iter()
            .enumerate()
            .all(|(i, &b)| b != b'\n' || (i > 0 && raw[i - 1] == b'\r'))
}

/// An mboxrd entry for a message not in CRLF form, its bytes unchanged but for the `>` before
/// each `From ` line: the `From ` line of [`mbox::write_entry`], the message, an LF if it does
/// not end with one, and the blank line that ends an entry. Read back by [`verbatim_message`].
fn verbatim_entry(out: &mut Vec<u8>, raw: &[u8], when_unix: i64) {
    let mut head = Vec::new();
    mbox::write_entry(&mut head, raw, None, when_unix);
    let from_line = head
        .split_inclusive(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    out.extend_from_slice(from_line);
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if line[quotes..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    if !raw.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// The `len` bytes of the message in an entry written by [`verbatim_entry`].
fn verbatim_message(entry: &[u8], len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.len());
    for line in entry.split_inclusive(|&b| b == b'\n').skip(1) {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        let quoted = quotes > 0 && line[quotes..].starts_with(b"From ");
        out.extend_from_slice(if quoted { &line[1..] } else { line });
    }
    out.truncate(len as usize);
    out
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Location {
    Maildir {
        file: String,
        /// The file holds the bytes as received, not in LF form (see [`crlf_form`]).
        #[serde(default, skip_serializing_if = "is_false")]
        verbatim: bool,
    },
    Mbox {
        offset: u64,
        len: u64,
        /// The entry holds the bytes as received, this many, not in LF form (see
        /// [`crlf_form`] and [`verbatim_entry`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verbatim: Option<u64>,
    },
    /// Given to the MDA, which said 0: not here to read back.
    Delivered,
}

pub struct DiskStore {
    destination: Destination,
    ledger_path: PathBuf,
    state: RefCell<State>,
    /// Why the MDA did not take the last message offered, if it did not.
    mda_failure: RefCell<Option<Delivery>>,
}

#[derive(Default)]
struct State {
    /// By (account, uidl).
    entries: BTreeMap<(String, String), (LedgerEntry, Option<Location>)>,
}

fn store_err(e: io::Error) -> StoreError {
    // ENOSPC and EDQUOT: the disk's version of a quota error.
    match e.raw_os_error() {
        Some(28) | Some(122) => StoreError::QuotaExceeded,
        _ => StoreError::Failed(e.to_string()),
    }
}

/// Create `dir` and its missing parents, each 0700; existing ones keep their mode.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Options that create a file 0600 if it does not exist; an existing file keeps its mode.
pub fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(0o600);
    options
}

impl DiskStore {
    pub fn open(destination: Destination) -> io::Result<DiskStore> {
        let ledger_path = match &destination {
            Destination::Maildir(dir) => {
                for sub in maildir::FOLDERS {
                    create_private_dir(&dir.join(sub))?;
                }
                dir.join(".postino-ledger.jsonl")
            }
            Destination::Mbox(file) => {
                if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                    create_private_dir(parent)?;
                }
                private_file().create(true).append(true).open(file)?;
                let mut name = file.as_os_str().to_owned();
                name.push(".postino-ledger.jsonl");
                PathBuf::from(name)
            }
            Destination::Mda { state, .. } => {
                create_private_dir(state)?;
                // Spool files a crash left (the lock is held: no run is using them).
                for e in fs::read_dir(state)?.flatten() {
                    if e.file_name().to_string_lossy().starts_with(SPOOL_PREFIX) {
                        let _ = fs::remove_file(e.path());
                    }
                }
                state.join("ledger.jsonl")
            }
        };
        let store = DiskStore {
            destination,
            ledger_path,
            state: RefCell::new(State::default()),
            mda_failure: RefCell::new(None),
        };
        store.recover()?;
        Ok(store)
    }

    #[cfg(test)]
    pub fn ledger_path(&self) -> &Path {
        &self.ledger_path
    }

    /// Read the ledger, cut a torn last line, undo a partial mbox append; stop at a damaged
    /// line that is not the last, touching nothing.
    fn recover(&self) -> io::Result<()> {
        let mut file = private_file()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.ledger_path)?;
        let mut good_len = 0u64;
        // An mbox batch not fully committed: (where the mbox may be cut back to, commits to come).
        let mut pending: Option<(u64, u64)> = None;
        let mut state = self.state.borrow_mut();
        {
            let mut reader = BufReader::new(&mut file);
            let mut line = Vec::new();
            let mut number = 0u64;
            loop {
                line.clear();
                let n = reader.read_until(b'\n', &mut line)?;
                if n == 0 {
                    break;
                }
                number += 1;
                let record = line
                    .ends_with(b"\n")
                    .then(|| serde_json::from_slice::<Record>(&line).ok())
                    .flatten();
                let Some(record) = record else {
                    if reader.fill_buf()?.is_empty() {
                        // The last line: a write that a crash cut short. Cut it.
                        break;
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: line {number} is damaged and more lines follow it; nothing \
                             was changed. Those lines record mail already stored (and maybe \
                             deleted on the server), so Postino will not cut them: keep a copy \
                             of the file, then repair or delete line {number} with a text \
                             editor and run again",
                            self.ledger_path.display()
                        ),
                    ));
                };
                good_len += n as u64;
                match record {
                    Record::Pending { offset, count, .. } => pending = Some((offset, count)),
                    Record::Commit { entry, location } => {
                        pending = match (pending, &location) {
                            (Some((_, left)), Location::Mbox { offset, len, .. }) if left > 1 => {
                                Some((offset + len, left - 1))
                            }
                            _ => None,
                        };
                        state.entries.insert(
                            (entry.account.clone(), entry.uidl.clone()),
                            (entry, Some(location)),
                        );
                    }
                    Record::Delete { entry } => {
                        state
                            .entries
                            .insert((entry.account.clone(), entry.uidl.clone()), (entry, None));
                    }
                }
            }
        }
        if file.metadata()?.len() != good_len {
            file.set_len(good_len)?;
            file.sync_all()?;
        }
        if let (Some((offset, _)), Destination::Mbox(mbox)) = (pending, &self.destination) {
            let f = OpenOptions::new().write(true).open(mbox)?;
            if f.metadata()?.len() > offset {
                f.set_len(offset)?;
                f.sync_all()?;
            }
        }
        Ok(())
    }

    fn append_record(&self, record: &Record) -> io::Result<()> {
        self.append_records(std::slice::from_ref(record))
    }

    /// Append the lines in one write and wait for the disk once.
    fn append_records(&self, records: &[Record]) -> io::Result<()> {
        let mut lines = Vec::new();
        for record in records {
            serde_json::to_writer(&mut lines, record).map_err(io::Error::other)?;
            lines.push(b'\n');
        }
        let mut f = OpenOptions::new().append(true).open(&self.ledger_path)?;
        f.write_all(&lines)?;
        f.sync_data()
    }

    /// Write the batch into `new/`, durably, under names derived from (account, uidl) only,
    /// so that a repeat lands on the same name.
    fn write_maildir(
        &self,
        dir: &Path,
        batch: &[(&LedgerEntry, &[u8])],
    ) -> io::Result<Vec<Location>> {
        let mut written = Vec::with_capacity(batch.len());
        for (entry, raw) in batch {
            let name = maildir::file_name(&entry.message_id);
            let mut f = private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(dir.join("tmp").join(&name))?;
            let verbatim = !crlf_form(raw);
            if verbatim {
                f.write_all(raw)?;
            } else {
                f.write_all(&maildir::file_bytes(raw))?;
            }
            written.push((name, f, verbatim));
        }
        sync_all_at_once(written.iter().map(|(_, f, _)| f))?;
        for (name, _, _) in &written {
            fs::rename(dir.join("tmp").join(name), dir.join("new").join(name))?;
        }
        // One fsync of the directory makes every rename above durable.
        File::open(dir.join("new"))?.sync_all()?;
        Ok(written
            .into_iter()
            .map(|(file, _, verbatim)| Location::Maildir { file, verbatim })
            .collect())
    }

    fn write_mbox(
        &self,
        mbox: &Path,
        batch: &[(&LedgerEntry, &[u8])],
    ) -> io::Result<Vec<Location>> {
        let mut f = OpenOptions::new().append(true).open(mbox)?;
        let start = f.metadata()?.len();
        self.append_record(&Record::Pending {
            uidl: batch[0].0.uidl.clone(),
            offset: start,
            count: batch.len() as u64,
        })?;
        let mut bytes = Vec::new();
        let mut locations = Vec::with_capacity(batch.len());
        for (entry, raw) in batch {
            let offset = start + bytes.len() as u64;
            let verbatim = (!crlf_form(raw)).then_some(raw.len() as u64);
            if verbatim.is_some() {
                verbatim_entry(&mut bytes, raw, entry.downloaded_at);
            } else {
                mbox::write_entry(&mut bytes, raw, None, entry.downloaded_at);
            }
            locations.push(Location::Mbox {
                offset,
                len: start + bytes.len() as u64 - offset,
                verbatim,
            });
        }
        if let Err(e) = f.write_all(&bytes).and_then(|()| f.sync_data()) {
            // Best effort: the pending line has this cut made at the next start anyway.
            let _ = f.set_len(start);
            return Err(e);
        }
        Ok(locations)
    }

    /// Why the MDA did not take the last message offered ([`Delivery::Temporary`] or
    /// [`Delivery::Refused`]), if a commit failed for that reason.
    pub fn mda_failure(&self) -> Option<String> {
        match &*self.mda_failure.borrow() {
            Some(Delivery::Temporary(why) | Delivery::Refused(why)) => Some(why.clone()),
            _ => None,
        }
    }

    /// Whether the last commit failed because the MDA said "try again later" or ran out of time.
    pub fn mda_failure_is_temporary(&self) -> bool {
        matches!(&*self.mda_failure.borrow(), Some(Delivery::Temporary(_)))
    }

    /// Give each message to the MDA, recording each one it took before offering the next.
    async fn deliver_batch(
        &self,
        mda: &Mda,
        spool: &Path,
        batch: &[(&LedgerEntry, &[u8])],
    ) -> Result<(), StoreError> {
        for (entry, raw) in batch {
            let key = (entry.account.clone(), entry.uidl.clone());
            if self.state.borrow().entries.contains_key(&key) {
                // Already delivered (or deleted): never twice.
                continue;
            }
            let delivery = mda.deliver(&maildir::file_bytes(raw), spool).await;
            if let Delivery::Temporary(why) | Delivery::Refused(why) = &delivery {
                let error = StoreError::Failed(why.clone());
                *self.mda_failure.borrow_mut() = Some(delivery);
                return Err(error);
            }
            self.append_record(&Record::Commit {
                entry: (*entry).clone(),
                location: Location::Delivered,
            })
            .map_err(store_err)?;
            self.state
                .borrow_mut()
                .entries
                .insert(key, ((*entry).clone(), Some(Location::Delivered)));
        }
        Ok(())
    }

    /// Store the batch: into files, or through the MDA.
    async fn commit(&self, batch: &[(&LedgerEntry, &[u8])]) -> Result<(), StoreError> {
        match &self.destination {
            Destination::Mda { mda, state } => self.deliver_batch(mda, state, batch).await,
            _ => self.commit_batch(batch).map_err(store_err),
        }
    }

    /// Store the batch and its ledger lines into files: the messages durable first, then the
    /// lines.
    fn commit_batch(&self, batch: &[(&LedgerEntry, &[u8])]) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let locations = match &self.destination {
            Destination::Maildir(dir) => self.write_maildir(dir, batch)?,
            Destination::Mbox(mbox) => self.write_mbox(mbox, batch)?,
            Destination::Mda { .. } => {
                return Err(io::Error::other("an MDA destination has no files"))
            }
        };
        let records: Vec<Record> = batch
            .iter()
            .zip(&locations)
            .map(|((entry, _), location)| Record::Commit {
                entry: (*entry).clone(),
                location: location.clone(),
            })
            .collect();
        self.append_records(&records)?;
        let mut state = self.state.borrow_mut();
        for ((entry, _), location) in batch.iter().zip(locations) {
            state.entries.insert(
                (entry.account.clone(), entry.uidl.clone()),
                ((*entry).clone(), Some(location)),
            );
        }
        Ok(())
    }

    fn read_location(&self, location: &Location) -> io::Result<Vec<u8>> {
        match (location, &self.destination) {
            (Location::Maildir { file, verbatim }, Destination::Maildir(dir)) => {
                // LF on disk (CRLF if an earlier version wrote it), CRLF as received.
                maildir::read(dir, file).map(|bytes| {
                    if *verbatim {
                        bytes
                    } else {
                        maildir::received(&bytes)
                    }
                })
            }
            (
                Location::Mbox {
                    offset,
                    len,
                    verbatim,
                },
                Destination::Mbox(mbox),
            ) => {
                let mut f = File::open(mbox)?;
                f.seek(SeekFrom::Start(*offset))?;
                let mut bytes = vec![0; *len as usize];
                f.read_exact(&mut bytes)?;
                if let Some(size) = verbatim {
                    return Ok(verbatim_message(&bytes, *size));
                }
                // An entry this store wrote: no limit beyond its length.
                let limits = mbox::Limits {
                    max_message: usize::MAX,
                };
                match mbox::split(&bytes, limits).next() {
                    Some(Ok(message)) => Ok(message),
                    Some(Err(e)) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                    None => Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "empty mbox entry",
                    )),
                }
            }
            _ => Err(io::Error::other(
                "ledger location does not match the destination",
            )),
        }
    }
}

/// Fsync the files from a few threads at once: the file system then makes them durable in a
/// shared journal commit, where one after the other would wait for the disk once per file.
fn sync_all_at_once<'f>(files: impl Iterator<Item = &'f File>) -> io::Result<()> {
    const THREADS: usize = 8;
    let files: Vec<&File> = files.collect();
    if files.len() <= 1 {
        return files.iter().try_for_each(|f| f.sync_all());
    }
    let chunk = files.len().div_ceil(THREADS);
    std::thread::scope(|scope| {
        let syncing: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().try_for_each(|f| f.sync_all())))
            .collect();
        syncing.into_iter().try_for_each(|t| {
            t.join()
                .unwrap_or_else(|_| Err(io::Error::other("fsync thread panicked")))
        })
    })
}

impl Store for DiskStore {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        Ok(Vec::new())
    }

    async fn put_account(&self, _account: &Account) -> Result<(), StoreError> {
        // Accounts live in the TOML file.
        Ok(())
    }

    async fn ledger(&self, account: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        Ok(self
            .state
            .borrow()
            .entries
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, (e, _))| e.clone())
            .collect())
    }

    async fn commit_message(&self, message: &Incoming) -> Result<(), StoreError> {
        self.commit(&[(&message.entry, &message.raw)]).await
    }

    async fn commit_messages(&self, batch: &[Incoming]) -> Result<(), StoreError> {
        let batch: Vec<(&LedgerEntry, &[u8])> =
            batch.iter().map(|m| (&m.entry, m.raw.as_slice())).collect();
        self.commit(&batch).await
    }

    async fn summaries(&self) -> Result<Vec<Summary>, StoreError> {
        let entries: Vec<(LedgerEntry, Location)> = self
            .state
            .borrow()
            .entries
            .values()
            .filter_map(|(e, l)| l.clone().map(|l| (e.clone(), l)))
            .filter(|(_, l)| l.readable())
            .collect();
        entries
            .into_iter()
            .map(|(e, l)| {
                let raw = self.read_location(&l).map_err(store_err)?;
                Ok(Summary::from_raw(&e.account, &e.uidl, &raw))
            })
            .collect()
    }

    async fn raw_message(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let location = self
            .state
            .borrow()
            .entries
            .values()
            .find(|(e, _)| e.message_id == id)
            .and_then(|(_, l)| l.clone())
            .filter(Location::readable);
        match location {
            Some(l) => self.read_location(&l).map(Some).map_err(store_err),
            None => Ok(None),
        }
    }

    async fn delete_message(&self, entry: &LedgerEntry) -> Result<(), StoreError> {
        // The file stays: deleting mail from a Maildir or mbox is the mail reader's business.
        self.append_record(&Record::Delete {
            entry: entry.clone(),
        })
        .map_err(store_err)?;
        self.state.borrow_mut().entries.insert(
            (entry.account.clone(), entry.uidl.clone()),
            (entry.clone(), None),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postino_sync::digest::sha256_hex;
    use postino_sync::message_id;

    fn entry(uidl: &str) -> LedgerEntry {
        LedgerEntry {
            account: "a".into(),
            uidl: uidl.into(),
            size: 3,
            digest: String::new(),
            downloaded_at: 0,
            message_id: message_id("a", uidl),
            state: postino_sync::EntryState::Stored,
        }
    }

    /// A message as the store gets it; the store reads neither summary nor terms.
    fn incoming(entry: LedgerEntry, raw: &[u8]) -> Incoming {
        Incoming {
            entry,
            summary: Summary::default(),
            terms: Vec::new(),
            layout: None,
            raw: raw.to_vec(),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("postino-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn mboxrd_round_trip_quotes_from_lines() {
        let dir = temp("mboxrd");
        let mbox = dir.join("in.mbox");
        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        let raw = b"From: Ada <ada@example.org>\r\nSubject: x\r\n\r\nFrom here\r\n>From there\r\nbody\r\n";
        futures_lite_block_on(store.commit_message(&incoming(entry("u1"), raw))).unwrap();
        // LF line endings on disk, like every mbox on a Unix system.
        assert_eq!(
            fs::read(&mbox).unwrap(),
            b"From ada@example.org Thu Jan  1 00:00:00 1970\nFrom: Ada <ada@example.org>\n\
Subject: x\n\n>From here\n>>From there\nbody\n\n"
        );
        assert_eq!(
            futures_lite_block_on(store.raw_message(&message_id("a", "u1")))
                .unwrap()
                .unwrap(),
            raw
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_torn_ledger_line_and_a_partial_mbox_append_are_undone() {
        let dir = temp("torn");
        let mbox = dir.join("in.mbox");
        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        futures_lite_block_on(
            store.commit_message(&incoming(entry("u1"), b"Subject: 1\r\n\r\nA\r\n")),
        )
        .unwrap();
        let good = fs::metadata(&mbox).unwrap().len();
        // A crash mid-append of u2: pending written, half the message, no commit; then a torn
        // line at the end of the ledger.
        store
            .append_record(&Record::Pending {
                uidl: "u2".into(),
                offset: good,
                count: 1,
            })
            .unwrap();
        OpenOptions::new()
            .append(true)
            .open(&mbox)
            .unwrap()
            .write_all(b"From postino@localhost Thu Jan  1 00:00:00 1970\nSubj")
            .unwrap();
        OpenOptions::new()
            .append(true)
            .open(store.ledger_path())
            .unwrap()
            .write_all(b"{\"op\":\"comm")
            .unwrap();
        drop(store);

        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        assert_eq!(fs::metadata(&mbox).unwrap().len(), good);
        let uidls = futures_lite_block_on(store.ledger_uidls("a")).unwrap();
        assert_eq!(uidls.len(), 1);
        assert_eq!(
            futures_lite_block_on(store.raw_message(&message_id("a", "u1")))
                .unwrap()
                .unwrap(),
            b"Subject: 1\r\n\r\nA\r\n"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_line_with_lines_after_it_stops_the_store_and_changes_nothing() {
        let dir = temp("damaged");
        let mbox = dir.join("in.mbox");
        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        for uidl in ["u1", "u2", "u3"] {
            futures_lite_block_on(
                store.commit_message(&incoming(entry(uidl), b"Subject: 1\r\n\r\n")),
            )
            .unwrap();
        }
        let ledger = store.ledger_path().to_path_buf();
        drop(store);
        // Damage the second commit (the fourth line: each mbox commit has a pending line).
        let text = fs::read_to_string(&ledger).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[3] = "{\"op\":\"comm#damaged";
        let damaged = lines.join("\n") + "\n";
        fs::write(&ledger, &damaged).unwrap();
        let mbox_before = fs::read(&mbox).unwrap();

        let err = DiskStore::open(Destination::Mbox(mbox.clone()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&format!("{}: line 4 is damaged", ledger.display()))
                && err.contains("repair or delete line 4"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&ledger).unwrap(), damaged);
        assert_eq!(fs::read(&mbox).unwrap(), mbox_before);

        // The same damage on the last line is a torn write: cut, and the rest is kept.
        fs::write(&ledger, lines[..4].join("\n") + "\n").unwrap();
        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        assert_eq!(
            futures_lite_block_on(store.ledger_uidls("a"))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            fs::read_to_string(&ledger).unwrap(),
            lines[..3].join("\n") + "\n"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn maildir_repeat_lands_on_the_same_file() {
        let dir = temp("maildir");
        let store = DiskStore::open(Destination::Maildir(dir.clone())).unwrap();
        for _ in 0..2 {
            futures_lite_block_on(store.commit_message(&incoming(entry("u1"), b"hello\r\n")))
                .unwrap();
        }
        assert_eq!(fs::read_dir(dir.join("new")).unwrap().count(), 1);
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        fs::remove_dir_all(dir).unwrap();
    }

    /// The entry the runner records for `raw` as received.
    fn received(uidl: &str, raw: &[u8]) -> LedgerEntry {
        LedgerEntry {
            size: raw.len() as u64,
            digest: sha256_hex(raw),
            ..entry(uidl)
        }
    }

    /// What a store opened again on `dir` gives for `entry`: the bytes, and the subject of the
    /// summary made from the files (the runner's recovery of orphans reads both).
    fn read_back(dir: &Path, entry: &LedgerEntry) -> (Vec<u8>, Vec<String>) {
        let store = DiskStore::open(Destination::Maildir(dir.to_path_buf())).unwrap();
        assert_eq!(
            futures_lite_block_on(store.ledger("a")).unwrap(),
            vec![entry.clone()]
        );
        let raw = futures_lite_block_on(store.raw_message(&entry.message_id))
            .unwrap()
            .unwrap();
        let subjects = futures_lite_block_on(store.summaries())
            .unwrap()
            .into_iter()
            .map(|s| s.subject)
            .collect();
        (raw, subjects)
    }

    fn only_file(dir: &Path) -> PathBuf {
        let files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.into_iter().next().unwrap()
    }

    #[test]
    fn maildir_files_have_lf_line_endings_and_read_back_as_received() {
        let dir = temp("maildir-lf");
        let store = DiskStore::open(Destination::Maildir(dir.clone())).unwrap();
        let raw = b"From: Ada <ada@example.org>\r\nSubject: x\r\n\r\nline\r\na \r inside\r\n\
ends with CR\r\r\n";
        let e = received("u1", raw);
        futures_lite_block_on(store.commit_message(&incoming(e.clone(), raw))).unwrap();
        drop(store);
        let file = only_file(&dir.join("new"));
        assert_eq!(
            fs::read(&file).unwrap(),
            b"From: Ada <ada@example.org>\nSubject: x\n\nline\na \r inside\n\
ends with CR\r\r\n"
        );
        let (back, subjects) = read_back(&dir, &e);
        assert_eq!(back, raw);
        assert_eq!(sha256_hex(&back), e.digest);
        assert_eq!(subjects, ["x"]);
        // A mail reader moves it to cur/ and flags it: still found, still the same bytes.
        fs::rename(
            &file,
            dir.join("cur").join(format!(
                "{}:2,S",
                file.file_name().unwrap().to_string_lossy()
            )),
        )
        .unwrap();
        assert_eq!(read_back(&dir, &e).0, raw);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_crlf_maildir_file_of_an_earlier_version_reads_back_unchanged() {
        let dir = temp("maildir-crlf");
        let store = DiskStore::open(Destination::Maildir(dir.clone())).unwrap();
        let raw = b"Subject: old\r\n\r\nwritten as received\r\n";
        let e = received("u1", raw);
        // What an earlier version did: the bytes as received, then the ledger line.
        let name = "postino-0123456789abcdef01234567";
        fs::write(dir.join("new").join(name), raw).unwrap();
        store
            .append_record(&Record::Commit {
                entry: e.clone(),
                location: Location::Maildir {
                    file: name.into(),
                    verbatim: false,
                },
            })
            .unwrap();
        drop(store);
        let (back, subjects) = read_back(&dir, &e);
        assert_eq!(back, raw);
        assert_eq!(subjects, ["old"]);
        fs::remove_dir_all(dir).unwrap();
    }

    fn batch(uidls: &[&str]) -> Vec<Incoming> {
        uidls
            .iter()
            .map(|u| {
                let raw = format!("Subject: {u}\r\n\r\nbody of {u}\r\n").into_bytes();
                incoming(received(u, &raw), &raw)
            })
            .collect()
    }

    fn assert_stored(store: &DiskStore, messages: &[Incoming]) {
        let uidls = futures_lite_block_on(store.ledger_uidls("a")).unwrap();
        assert_eq!(uidls.len(), messages.len(), "{uidls:?}");
        for Incoming { entry, raw, .. } in messages {
            let back = futures_lite_block_on(store.raw_message(&entry.message_id)).unwrap();
            assert_eq!(back.as_deref(), Some(raw.as_slice()), "{}", entry.uidl);
        }
    }

    #[test]
    fn an_mbox_batch_cut_after_some_commits_is_cut_back_to_the_last_one() {
        let dir = temp("mbox-batch");
        let mbox = dir.join("in.mbox");
        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        let first = batch(&["u1", "u2"]);
        futures_lite_block_on(store.commit_messages(&first)).unwrap();
        // A crash in the second batch: its three messages appended, one commit line written,
        // the next one torn.
        let rest = batch(&["u3", "u4", "u5"]);
        let start = fs::metadata(&mbox).unwrap().len();
        store
            .append_record(&Record::Pending {
                uidl: "u3".into(),
                offset: start,
                count: 3,
            })
            .unwrap();
        let mut bytes = Vec::new();
        mbox::write_entry(&mut bytes, &rest[0].raw, None, 0);
        let u3_len = bytes.len() as u64;
        mbox::write_entry(&mut bytes, &rest[1].raw, None, 0);
        mbox::write_entry(&mut bytes, &rest[2].raw, None, 0);
        OpenOptions::new()
            .append(true)
            .open(&mbox)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        store
            .append_record(&Record::Commit {
                entry: rest[0].entry.clone(),
                location: Location::Mbox {
                    offset: start,
                    len: u3_len,
                    verbatim: None,
                },
            })
            .unwrap();
        OpenOptions::new()
            .append(true)
            .open(store.ledger_path())
            .unwrap()
            .write_all(b"{\"op\":\"commit\",\"ent")
            .unwrap();
        drop(store);

        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        assert_eq!(fs::metadata(&mbox).unwrap().len(), start + u3_len);
        let stored: Vec<_> = first.iter().chain(&rest[..1]).cloned().collect();
        assert_stored(&store, &stored);
        // The next run fetches u4 and u5 again: each once.
        futures_lite_block_on(store.commit_messages(&rest[1..])).unwrap();
        drop(store);
        let store = DiskStore::open(Destination::Mbox(mbox.clone())).unwrap();
        let all: Vec<_> = first.iter().chain(&rest).cloned().collect();
        assert_stored(&store, &all);
        let limits = mbox::Limits {
            max_message: usize::MAX,
        };
        assert_eq!(mbox::split(&fs::read(&mbox).unwrap(), limits).count(), 5);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_pending_line_of_an_earlier_version_counts_one_message() {
        let line = br#"{"op":"pending","uidl":"u1","offset":7}"#;
        match serde_json::from_slice::<Record>(line).unwrap() {
            Record::Pending { offset, count, .. } => assert_eq!((offset, count), (7, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_maildir_batch_on_disk_without_its_ledger_lines_is_stored_again_once() {
        let dir = temp("maildir-batch");
        let store = DiskStore::open(Destination::Maildir(dir.clone())).unwrap();
        let first = batch(&["u1", "u2"]);
        futures_lite_block_on(store.commit_messages(&first)).unwrap();
        // A crash after the second batch's renames, before its ledger lines.
        let rest = batch(&["u3", "u4", "u5"]);
        let files: Vec<(&LedgerEntry, &[u8])> =
            rest.iter().map(|m| (&m.entry, m.raw.as_slice())).collect();
        store.write_maildir(&dir, &files).unwrap();
        drop(store);

        let store = DiskStore::open(Destination::Maildir(dir.clone())).unwrap();
        assert_stored(&store, &first);
        futures_lite_block_on(store.commit_messages(&rest)).unwrap();
        drop(store);
        let store = DiskStore::open(Destination::Maildir(dir.clone())).unwrap();
        let all: Vec<_> = first.iter().chain(&rest).cloned().collect();
        assert_stored(&store, &all);
        assert_eq!(fs::read_dir(dir.join("new")).unwrap().count(), 5);
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        fs::remove_dir_all(dir).unwrap();
    }

    /// The shared store suite on a new `destination`, then the same again from a store opened
    /// anew on the files: every ledger entry and message as before.
    fn passes_the_store_suite(destination: Destination) {
        futures_lite_block_on(async {
            let store = DiskStore::open(destination.clone()).unwrap();
            postino_sync::conformance::check_mail_store(&store).await;
            let accounts = ["acct-1", "acct-2", "acct-del", "acct-batch", "acct-skip"];
            let mut before = Vec::new();
            for a in accounts {
                for e in store.ledger(a).await.unwrap() {
                    let raw = store.raw_message(&e.message_id).await.unwrap();
                    before.push((e, raw));
                }
            }
            assert_eq!(before.len(), 11);
            drop(store);
            let store = DiskStore::open(destination).unwrap();
            let mut after = Vec::new();
            for a in accounts {
                for e in store.ledger(a).await.unwrap() {
                    let raw = store.raw_message(&e.message_id).await.unwrap();
                    after.push((e, raw));
                }
            }
            assert!(before == after, "not the same once opened again");
        });
    }

    #[test]
    fn maildir_passes_the_store_suite() {
        let dir = temp("suite-maildir");
        passes_the_store_suite(Destination::Maildir(dir.join("Mail")));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mbox_passes_the_store_suite() {
        let dir = temp("suite-mbox");
        passes_the_store_suite(Destination::Mbox(dir.join("in.mbox")));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_message_with_bare_lfs_is_kept_as_received_in_both_forms() {
        let dir = temp("verbatim");
        // Bare LFs, a From line after one, no line end at the end.
        let raw = b"Subject: odd\n\nFrom here\n>From there\r\nlast".to_vec();
        for destination in [
            Destination::Maildir(dir.join("Mail")),
            Destination::Mbox(dir.join("in.mbox")),
        ] {
            let store = DiskStore::open(destination.clone()).unwrap();
            let plain = b"Subject: plain\r\n\r\nFrom me\r\n".to_vec();
            let batch = vec![
                incoming(received("u1", &raw), &raw),
                incoming(received("u2", &plain), &plain),
            ];
            futures_lite_block_on(store.commit_messages(&batch)).unwrap();
            drop(store);
            let store = DiskStore::open(destination).unwrap();
            assert_stored(&store, &batch);
        }
        // The mbox still splits into two entries, the odd one's From line quoted.
        let limits = mbox::Limits {
            max_message: usize::MAX,
        };
        let mbox_bytes = fs::read(dir.join("in.mbox")).unwrap();
        assert_eq!(mbox::split(&mbox_bytes, limits).count(), 2);
        assert!(mbox_bytes
            .windows(b"\n>From here".len())
            .any(|w| w == b"\n>From here"));
        fs::remove_dir_all(dir).unwrap();
    }

    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
