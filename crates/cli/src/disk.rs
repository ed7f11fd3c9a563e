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
//! - Maildir: the message is written to `tmp/`, fsynced, renamed into `new/` under a name
//!   derived from (account, UIDL) only, and then its ledger line is written. A crash between the
//!   rename and the ledger line means the message is fetched again and renamed over itself.
//! - mbox: a `pending` line with the file's length goes first, then the message is appended and
//!   fsynced, then the `commit` line. A `pending` line without its commit means the append may be
//!   partial: the mbox is cut back to the recorded length.
//!
//! Line endings: POP3 delivers CRLF (RFC 1939), and that is what the ledger describes (its size
//! and digest are of the bytes as received) and what [`Store::raw_message`] returns. On disk,
//! both Maildir and mbox files have LF line endings ([`mbox::lf_form`], [`mbox::write_entry`]),
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

use postino_sync::{mbox, Account, LedgerEntry, Store, StoreError, Summary};
use serde::{Deserialize, Serialize};

use crate::config::Destination;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Pending {
        uidl: String,
        offset: u64,
    },
    Commit {
        entry: LedgerEntry,
        location: Location,
    },
    Delete {
        entry: LedgerEntry,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Location {
    Maildir { file: String },
    Mbox { offset: u64, len: u64 },
}

pub struct DiskStore {
    destination: Destination,
    ledger_path: PathBuf,
    state: RefCell<State>,
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
                for sub in ["tmp", "new", "cur"] {
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
        };
        let store = DiskStore {
            destination,
            ledger_path,
            state: RefCell::new(State::default()),
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
        let mut pending: Option<u64> = None;
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
                    Record::Pending { offset, .. } => pending = Some(offset),
                    Record::Commit { entry, location } => {
                        pending = None;
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
        if let (Some(offset), Destination::Mbox(mbox)) = (pending, &self.destination) {
            let f = OpenOptions::new().write(true).open(mbox)?;
            if f.metadata()?.len() > offset {
                f.set_len(offset)?;
                f.sync_all()?;
            }
        }
        Ok(())
    }

    fn append_record(&self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut f = OpenOptions::new().append(true).open(&self.ledger_path)?;
        f.write_all(&line)?;
        f.sync_data()
    }

    fn write_maildir(&self, dir: &Path, entry: &LedgerEntry, raw: &[u8]) -> io::Result<Location> {
        // Derived from (account, uidl) only, so a repeat lands on the same name.
        let name = format!("postino-{}", &sha256_hex(entry.message_id.as_bytes())[..24]);
        let tmp = dir.join("tmp").join(&name);
        {
            let mut f = private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(&mbox::lf_form(raw))?;
            f.sync_all()?;
        }
        fs::rename(&tmp, dir.join("new").join(&name))?;
        File::open(dir.join("new"))?.sync_all()?;
        Ok(Location::Maildir { file: name })
    }

    fn write_mbox(&self, mbox: &Path, entry: &LedgerEntry, raw: &[u8]) -> io::Result<Location> {
        let mut f = OpenOptions::new().append(true).open(mbox)?;
        let offset = f.metadata()?.len();
        self.append_record(&Record::Pending {
            uidl: entry.uidl.clone(),
            offset,
        })?;
        let mut bytes = Vec::new();
        mbox::write_entry(&mut bytes, raw, None, entry.downloaded_at);
        f.write_all(&bytes)?;
        f.sync_data()?;
        Ok(Location::Mbox {
            offset,
            len: bytes.len() as u64,
        })
    }

    /// The bytes of a Maildir file this store wrote, in `new/`, or in `cur/` where a mail
    /// reader may have moved it with flags appended to its name.
    fn read_maildir_file(dir: &Path, file: &str) -> io::Result<Vec<u8>> {
        if let Ok(bytes) = fs::read(dir.join("new").join(file)) {
            return Ok(bytes);
        }
        if let Ok(bytes) = fs::read(dir.join("cur").join(file)) {
            return Ok(bytes);
        }
        for e in fs::read_dir(dir.join("cur"))?.flatten() {
            if e.file_name().to_string_lossy().starts_with(file) {
                return fs::read(e.path());
            }
        }
        Err(io::Error::new(io::ErrorKind::NotFound, file.to_owned()))
    }

    fn read_location(&self, location: &Location) -> io::Result<Vec<u8>> {
        match (location, &self.destination) {
            (Location::Maildir { file }, Destination::Maildir(dir)) => {
                // LF on disk (CRLF if an earlier version wrote it), CRLF as received.
                Self::read_maildir_file(dir, file).map(|bytes| mbox::normalize_eml(&bytes))
            }
            (Location::Mbox { offset, len }, Destination::Mbox(mbox)) => {
                let mut f = File::open(mbox)?;
                f.seek(SeekFrom::Start(*offset))?;
                let mut bytes = vec![0; *len as usize];
                f.read_exact(&mut bytes)?;
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

fn sha256_hex(bytes: &[u8]) -> String {
    postino_pop3::tls::fingerprint_sha256(bytes)
        .replace(':', "")
        .to_lowercase()
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

    async fn commit_message(
        &self,
        entry: &LedgerEntry,
        _summary: &Summary,
        raw: &[u8],
    ) -> Result<(), StoreError> {
        let location = match &self.destination {
            Destination::Maildir(dir) => self.write_maildir(dir, entry, raw),
            Destination::Mbox(mbox) => self.write_mbox(mbox, entry, raw),
        }
        .map_err(store_err)?;
        self.append_record(&Record::Commit {
            entry: entry.clone(),
            location: location.clone(),
        })
        .map_err(store_err)?;
        self.state.borrow_mut().entries.insert(
            (entry.account.clone(), entry.uidl.clone()),
            (entry.clone(), Some(location)),
        );
        Ok(())
    }

    async fn summaries(&self) -> Result<Vec<Summary>, StoreError> {
        let entries: Vec<(LedgerEntry, Location)> = self
            .state
            .borrow()
            .entries
            .values()
            .filter_map(|(e, l)| l.clone().map(|l| (e.clone(), l)))
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
            .and_then(|(_, l)| l.clone());
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
    use postino_sync::message_id;

    fn entry(uidl: &str) -> LedgerEntry {
        LedgerEntry {
            account: "a".into(),
            uidl: uidl.into(),
            size: 3,
            digest: String::new(),
            downloaded_at: 0,
            message_id: message_id("a", uidl),
            headers_only: false,
            deleted_locally: false,
            skipped: false,
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
        let s = Summary::from_raw("a", "u1", raw);
        futures_lite_block_on(store.commit_message(&entry("u1"), &s, raw)).unwrap();
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
        let s = Summary::from_raw("a", "u1", b"x");
        futures_lite_block_on(store.commit_message(&entry("u1"), &s, b"Subject: 1\r\n\r\nA\r\n"))
            .unwrap();
        let good = fs::metadata(&mbox).unwrap().len();
        // A crash mid-append of u2: pending written, half the message, no commit; then a torn
        // line at the end of the ledger.
        store
            .append_record(&Record::Pending {
                uidl: "u2".into(),
                offset: good,
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
        let s = Summary::from_raw("a", "u1", b"x");
        for uidl in ["u1", "u2", "u3"] {
            futures_lite_block_on(store.commit_message(&entry(uidl), &s, b"Subject: 1\r\n\r\n"))
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
        let s = Summary::from_raw("a", "u1", b"x");
        for _ in 0..2 {
            futures_lite_block_on(store.commit_message(&entry("u1"), &s, b"hello\r\n")).unwrap();
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
        let s = Summary::from_raw("a", "u1", raw);
        futures_lite_block_on(store.commit_message(&e, &s, raw)).unwrap();
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
                location: Location::Maildir { file: name.into() },
            })
            .unwrap();
        drop(store);
        let (back, subjects) = read_back(&dir, &e);
        assert_eq!(back, raw);
        assert_eq!(subjects, ["old"]);
        fs::remove_dir_all(dir).unwrap();
    }

    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
