//! mbox files, in the mboxrd variant, and .eml files: what export writes and import reads.
//!
//! An mboxrd file is a sequence of entries. Each begins with a separator line, `From `, the
//! envelope sender and the date in asctime form (`From ada@example.org Thu Jan  1 00:00:00
//! 1970`); the message follows with LF line endings, every line of it that matches `^>*From `
//! getting one more `>`; a blank line ends the entry. Reading takes one `>` off every line that
//! matches `^>+From `, which gives the message back exactly (mboxo quotes only `^From `, so
//! there `>From ` and a quoted `From ` look the same).
//! See <https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml>.
//!
//! Inside Postino a message is kept as POP3 delivers it (RFC 1939): lines end with CRLF.
//!
//! # What round-trips
//!
//! A *line* of a message is what comes before an LF, or what follows the last LF if anything
//! does, less one trailing CR. [`normalize_eml`] rebuilds a message from its lines, each ended
//! with CRLF. [`write_entry`] writes each line with LF, and a line that itself ends with CR with
//! CRLF, so that the reader, which accepts files with CRLF line endings, does not take that CR
//! for part of the line ending. The [`Reader`] ends each line with CRLF.
//!
//! So reading what [`write_entry`] wrote gives `normalize_eml(message)`, for any message. A
//! message in CRLF form, where every LF follows a CR and which is empty or ends with LF (every
//! message a POP3 server sends), comes back byte for byte, whatever its lines hold (`From `,
//! `>From `, stray CRs, invalid UTF-8). Any other comes back in CRLF form: a bare LF becomes
//! CRLF, and a message that does not end with a line break gets one.
//!
//! mail-parser has an mbox iterator, but it reads from a blocking `BufRead`, keeps LF line
//! endings and the blank line that ends an entry, and has no size limit; this one is sans-IO,
//! so the app can feed it a large file piece by piece, and bounded (DESIGN.md invariant 7).

/// Add one mboxrd entry for the message `raw` to `out`.
///
/// `envelope_from` is the sender on the `From ` line; `None` takes the address of the
/// message's Return-Path, else of its From (a bounce, `Return-Path: <>`, gets MAILER-DAEMON,
/// as mail delivery agents write it). An address that is empty, over 256 characters or
/// holds a space or a control character would break the line, and becomes `MAILER-DAEMON`.
/// `when_unix` is the date on the line (the time the message was received), in UTC.
pub fn write_entry(out: &mut Vec<u8>, raw: &[u8], envelope_from: Option<&str>, when_unix: i64) {
    let derived;
    let sender = match envelope_from {
        Some(s) => Some(s),
        None => {
            derived = envelope_sender(raw);
            derived.as_deref()
        }
    };
    let sender = sender
        .filter(|s| fits_from_line(s))
        .unwrap_or("MAILER-DAEMON");
    out.reserve(raw.len() + raw.len() / 64 + sender.len() + 32);
    out.extend_from_slice(b"From ");
    out.extend_from_slice(sender.as_bytes());
    out.push(b' ');
    out.extend_from_slice(asctime(when_unix).as_bytes());
    out.push(b'\n');
    for line in lines(raw) {
        if is_from_line(line) {
            out.push(b'>');
        }
        push_lf_line(out, line);
    }
    out.push(b'\n');
}

/// The message `raw` with LF line endings, as a Maildir file holds it (what mail readers on
/// Unix expect: a CR before each LF shows as `^M` in mutt): each line ended with LF, and a
/// line that itself ends with CR with CRLF, as [`write_entry`] writes it. So
/// `normalize_eml(&lf_form(raw))` is `normalize_eml(raw)`, which is `raw` itself for a message
/// in CRLF form (every message a POP3 server sends).
pub fn lf_form(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 1);
    for line in lines(raw) {
        push_lf_line(&mut out, line);
    }
    out
}

/// One line (without its line ending) and an LF; a line that ends with CR keeps it and gets
/// another, so that a reader that takes CRLF for a line ending gives the CR back.
fn push_lf_line(out: &mut Vec<u8>, line: &[u8]) {
    out.extend_from_slice(line);
    if line.ends_with(b"\r") {
        out.push(b'\r');
    }
    out.push(b'\n');
}

/// A .eml file (LF or CRLF line endings) in the form messages are stored in: every line ended
/// with CRLF. A message already in that form is returned unchanged.
pub fn normalize_eml(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2);
    for line in lines(bytes) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Whether `normalize_eml(bytes)` is `bytes`: every LF follows a CR, and the message is empty
/// or ends with LF.
pub(crate) fn is_crlf_form(bytes: &[u8]) -> bool {
    (bytes.is_empty() || bytes.ends_with(b"\n"))
        && bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| b != b'\n' || (i > 0 && bytes[i - 1] == b'\r'))
}

/// The lines of a message, as the module documentation defines them.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').map(strip_line_end)
}

/// A line without its LF, if it has one, and one CR before that.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `^>*From `: a line that mboxrd quotes with one more `>`.
fn is_from_line(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    line[quotes..].starts_with(b"From ")
}

/// The envelope sender: the Return-Path address, else the From address. None for the null
/// sender of a bounce (`Return-Path: <>`), which mbox writes as MAILER-DAEMON.
fn envelope_sender(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    if message
        .header_raw("Return-Path")
        .is_some_and(|v| v.trim() == "<>")
    {
        return None;
    }
    message.return_address().map(str::to_owned)
}

/// The `From ` line is split at spaces, so the sender must hold none, nor anything that ends
/// or garbles a line.
fn fits_from_line(sender: &str) -> bool {
    !sender.is_empty()
        && sender.chars().count() <= 256
        && !sender.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `Thu Jan  1 00:00:00 1970`, the date format of mbox `From ` lines, in UTC.
fn asctime(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        year
    )
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MboxError {
    /// The first line is not a `From ` line. Nothing more is read.
    #[error("not an mbox file: it does not begin with a \"From \" line")]
    NotMbox,
    /// One message is over [`Limits::max_message`]; it is skipped, and reading goes on with the
    /// next one.
    #[error("message {number} of the mbox file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// From 1, in the order of the file.
        number: usize,
        limit: usize,
    },
}

/// What one message may take while it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest message, in bytes as returned (CRLF line endings).
    pub max_message: usize,
}

impl Default for Limits {
    /// The POP3 client's limit: what Postino can download, it can import.
    fn default() -> Self {
        let pop3 = postino_pop3::Limits::default().max_multiline;
        Limits {
            max_message: usize::try_from(pop3).unwrap_or(usize::MAX),
        }
    }
}

/// What the reader gives for each entry: the message in CRLF form, or why it has none.
pub type Entry = Result<Vec<u8>, MboxError>;

/// Reads an mboxrd file fed in pieces of any size, sans-IO: [`Reader::feed`] each piece until
/// it is used up, then [`Reader::finish`] until it returns `None`.
///
/// Every line that begins with `From ` separates two entries (mboxrd quotes such lines inside
/// a message). An entry's last line, if blank, ends it and is not part of the message; lines
/// may end with LF or CRLF. Memory: the message being read and its current line, each bounded
/// by `max_message`; a separator line and the rest of a message over the limit are skipped,
/// not kept. Never panics, whatever the input.
#[derive(Debug)]
pub struct Reader {
    limits: Limits,
    state: State,
    /// The current line, without its LF, while it is incomplete.
    line: Vec<u8>,
    /// The current line is classified already (separator or part of a message over the limit):
    /// its bytes up to the next LF are skipped.
    skip_line: bool,
    /// The message read so far, CRLF line endings.
    message: Vec<u8>,
    /// The message is over the limit: `message` is empty and stays so until its entry ends.
    too_large: bool,
    /// A blank line was read and not yet added: if the entry ends next, it ended the entry.
    blank_pending: bool,
    /// Number of the message being read, from 1.
    number: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing read yet: the first line must be a separator.
    Start,
    /// Inside entry `number`.
    Entry,
    /// Finished, or not an mbox file.
    Done,
}

impl Reader {
    pub fn new(limits: Limits) -> Reader {
        Reader {
            limits,
            state: State::Start,
            line: Vec::new(),
            skip_line: false,
            message: Vec::new(),
            too_large: false,
            blank_pending: false,
            number: 0,
        }
    }

    /// Read `input` until an entry ends or `input` is used up. Returns how many bytes of
    /// `input` were used (at least one unless `input` is empty), and the entry that ended, if
    /// one did; feed the rest of `input` next.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Entry>) {
        let mut used = 0;
        while used < input.len() {
            if self.state == State::Done {
                return (input.len(), None);
            }
            let rest = &input[used..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    used += lf + 1;
                    if let Some(entry) = self.line_end(&rest[..lf]) {
                        return (used, Some(entry));
                    }
                }
                None => {
                    used = input.len();
                    if let Some(entry) = self.partial_line(rest) {
                        return (used, Some(entry));
                    }
                }
            }
        }
        (used, None)
    }

    /// The input has ended: returns the entries still open (call until `None`).
    pub fn finish(&mut self) -> Option<Entry> {
        // A last line without LF.
        if !self.line.is_empty() || self.skip_line {
            if let Some(entry) = self.line_end(&[]) {
                return Some(entry);
            }
        }
        let state = std::mem::replace(&mut self.state, State::Done);
        match state {
            // An empty file is an empty mailbox.
            State::Start | State::Done => None,
            State::Entry => Some(self.end_entry()),
        }
    }

    /// The most bytes of an incomplete line kept before deciding what the line is.
    fn line_room(&self) -> usize {
        // "From " tells a separator; past the room left in the message, a line can only be a
        // separator or take the message over the limit.
        const SEPARATOR: usize = b"From ".len();
        if self.state != State::Entry || self.too_large {
            return SEPARATOR;
        }
        let used = self.message.len() + if self.blank_pending { 2 } else { 0 };
        SEPARATOR.max(
            self.limits
                .max_message
                .saturating_sub(used)
                .saturating_add(1),
        )
    }

    /// Part of a line, its LF not yet seen.
    fn partial_line(&mut self, part: &[u8]) -> Option<Entry> {
        if self.skip_line || self.state == State::Done {
            return None;
        }
        let room = self.line_room();
        let take = part.len().min(room.saturating_sub(self.line.len()));
        self.line.extend_from_slice(&part[..take]);
        if self.line.len() < room {
            return None;
        }
        // Long enough to tell what it is: a separator, or (unless the file just began) a line
        // of a message that is over the limit, or sure to be with this line.
        self.skip_line = true;
        let separator = self.line.starts_with(b"From ");
        self.line.clear();
        if separator {
            self.separator()
        } else if self.state == State::Start {
            self.not_mbox()
        } else {
            self.mark_too_large();
            None
        }
    }

    /// The end of a line: `part` is what came since the last piece, without the LF.
    fn line_end(&mut self, part: &[u8]) -> Option<Entry> {
        if self.line.is_empty() && !self.skip_line {
            // The whole line is in `part`: no need to copy it.
            return self.whole_line(part);
        }
        let entry = self.partial_line(part);
        if std::mem::take(&mut self.skip_line) {
            return entry;
        }
        let line = std::mem::take(&mut self.line);
        let entry = self.whole_line(&line);
        // Keep the buffer's capacity for the next long line.
        self.line = line;
        self.line.clear();
        entry
    }

    fn whole_line(&mut self, line: &[u8]) -> Option<Entry> {
        match self.state {
            State::Done => None,
            _ if line.starts_with(b"From ") => self.separator(),
            State::Start => self.not_mbox(),
            State::Entry => {
                self.message_line(strip_line_end(line));
                None
            }
        }
    }

    /// A `From ` line: the entry before it, if any, ends.
    fn separator(&mut self) -> Option<Entry> {
        let ended = match self.state {
            State::Entry => Some(self.end_entry()),
            State::Start | State::Done => None,
        };
        self.state = State::Entry;
        self.number += 1;
        ended
    }

    fn not_mbox(&mut self) -> Option<Entry> {
        self.state = State::Done;
        Some(Err(MboxError::NotMbox))
    }

    /// A line of the message (its line ending removed), mboxrd quoting still on.
    fn message_line(&mut self, line: &[u8]) {
        if line.is_empty() {
            // Held back: the blank line that ends the entry is not the message's.
            if std::mem::replace(&mut self.blank_pending, true) {
                self.push_line(b"");
            }
            return;
        }
        if std::mem::take(&mut self.blank_pending) {
            self.push_line(b"");
        }
        let line = if line.starts_with(b">") && is_from_line(line) {
            &line[1..]
        } else {
            line
        };
        self.push_line(line);
    }

    fn push_line(&mut self, line: &[u8]) {
        if self.too_large {
            return;
        }
        if self.message.len().saturating_add(line.len() + 2) > self.limits.max_message {
            self.mark_too_large();
            return;
        }
        self.message.extend_from_slice(line);
        self.message.extend_from_slice(b"\r\n");
    }

    fn mark_too_large(&mut self) {
        self.too_large = true;
        self.blank_pending = false;
        self.message = Vec::new();
    }

    fn end_entry(&mut self) -> Entry {
        self.blank_pending = false;
        let message = std::mem::take(&mut self.message);
        if std::mem::take(&mut self.too_large) {
            Err(MboxError::TooLarge {
                number: self.number,
                limit: self.limits.max_message,
            })
        } else {
            Ok(message)
        }
    }
}

/// The entries of an mbox file held in memory, in order. Once an entry is `Err(NotMbox)`,
/// there is no other.
pub fn split(bytes: &[u8], limits: Limits) -> Split<'_> {
    Split {
        reader: Reader::new(limits),
        rest: bytes,
    }
}

/// See [`split`].
#[derive(Debug)]
pub struct Split<'a> {
    reader: Reader,
    rest: &'a [u8],
}

impl Iterator for Split<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        while !self.rest.is_empty() {
            let (used, entry) = self.reader.feed(self.rest);
            self.rest = &self.rest[used..];
            if entry.is_some() {
                return entry;
            }
        }
        self.reader.finish()
    }
}

impl std::iter::FusedIterator for Split<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(raw: &[u8], from: Option<&str>, when: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_entry(&mut out, raw, from, when);
        out
    }

    fn read_all(bytes: &[u8], limits: Limits) -> Vec<Entry> {
        split(bytes, limits).collect()
    }

    /// Fed one byte at a time, the reader gives what it gives for the whole input at once.
    fn read_bytewise(bytes: &[u8], limits: Limits) -> Vec<Entry> {
        let mut reader = Reader::new(limits);
        let mut out = Vec::new();
        for b in bytes {
            let (used, entry) = reader.feed(std::slice::from_ref(b));
            assert_eq!(used, 1);
            out.extend(entry);
        }
        while let Some(entry) = reader.finish() {
            out.push(entry);
        }
        out
    }

    #[test]
    fn asctime_formats_like_mbox() {
        assert_eq!(asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(asctime(1_700_000_000), "Tue Nov 14 22:13:20 2023");
        assert_eq!(asctime(-1), "Wed Dec 31 23:59:59 1969");
    }

    #[test]
    fn entry_has_a_from_line_lf_endings_quoting_and_a_blank_line() {
        let raw = b"Return-Path: <bounce@lists.example>\r\nFrom: Ada <ada@example.org>\r\n\
Subject: x\r\n\r\nFrom here\r\n>From there\r\n>>From afar\r\nFrom\r\n From x\r\nend\r\n";
        assert_eq!(
            entry(raw, None, 1_700_000_000),
            b"From bounce@lists.example Tue Nov 14 22:13:20 2023\n\
Return-Path: <bounce@lists.example>\nFrom: Ada <ada@example.org>\nSubject: x\n\n\
>From here\n>>From there\n>>>From afar\nFrom\n From x\nend\n\n"
        );
    }

    #[test]
    fn envelope_sender_is_return_path_else_from_else_mailer_daemon() {
        let from_line = |raw: &[u8], given: Option<&str>| {
            let e = entry(raw, given, 0);
            let end = e.iter().position(|&b| b == b'\n').unwrap();
            String::from_utf8(e[..end].to_vec()).unwrap()
        };
        let date = "Thu Jan  1 00:00:00 1970";
        assert_eq!(
            from_line(b"From: Ada <ada@example.org>\r\n\r\nx\r\n", None),
            format!("From ada@example.org {date}")
        );
        assert_eq!(
            from_line(b"Return-Path: <>\r\nFrom: a@b\r\n\r\n", None),
            format!("From MAILER-DAEMON {date}")
        );
        assert_eq!(
            from_line(b"Subject: none\r\n\r\nx\r\n", None),
            format!("From MAILER-DAEMON {date}")
        );
        assert_eq!(
            from_line(b"From: \"a b\" <a b@example.org>\r\n\r\n", None),
            format!("From MAILER-DAEMON {date}")
        );
        assert_eq!(
            from_line(b"From: a@b\r\n\r\n", Some("me@here")),
            format!("From me@here {date}")
        );
        for unsafe_sender in ["", "a b", "a\nFrom x", "a\tb", "a\u{7f}"] {
            assert_eq!(
                from_line(b"", Some(unsafe_sender)),
                format!("From MAILER-DAEMON {date}")
            );
        }
        assert_eq!(
            from_line(&[0xff, b'\n', 0], None),
            format!("From MAILER-DAEMON {date}")
        );
    }

    #[test]
    fn a_message_without_trailing_line_break_gets_one() {
        assert_eq!(
            entry(b"Subject: x\r\n\r\nno end", None, 0),
            b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: x\n\nno end\n\n"
        );
        let read = read_all(
            &entry(b"Subject: x\r\n\r\nno end", None, 0),
            Limits::default(),
        );
        assert_eq!(read, vec![Ok(b"Subject: x\r\n\r\nno end\r\n".to_vec())]);
    }

    #[test]
    fn reads_entries_and_undoes_quoting() {
        let mbox = b"From a@b Thu Jan  1 00:00:00 1970\nSubject: 1\n\n>From here\n>>From there\n\
>Fromage\n\nFrom c@d Thu Jan  1 00:00:00 1970\nSubject: 2\n\nlast\n";
        assert_eq!(
            read_all(mbox, Limits::default()),
            vec![
                Ok(b"Subject: 1\r\n\r\nFrom here\r\n>From there\r\n>Fromage\r\n".to_vec()),
                Ok(b"Subject: 2\r\n\r\nlast\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn reads_a_file_with_crlf_line_endings() {
        let mbox = b"From a@b Thu Jan  1 00:00:00 1970\r\nSubject: 1\r\n\r\n>From x\r\nbody\r\n\
\r\nFrom c@d Thu Jan  1 00:00:00 1970\r\nSubject: 2\r\n\r\n";
        assert_eq!(
            read_all(mbox, Limits::default()),
            vec![
                Ok(b"Subject: 1\r\n\r\nFrom x\r\nbody\r\n".to_vec()),
                Ok(b"Subject: 2\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn only_the_blank_line_that_ends_an_entry_is_dropped() {
        let raw = b"Subject: x\r\n\r\nbody\r\n\r\n\r\n";
        let mut mbox = entry(raw, None, 0);
        write_entry(&mut mbox, b"", None, 0);
        write_entry(&mut mbox, b"\r\n", None, 0);
        assert_eq!(
            read_all(&mbox, Limits::default()),
            vec![Ok(raw.to_vec()), Ok(Vec::new()), Ok(b"\r\n".to_vec())]
        );
    }

    #[test]
    fn an_empty_file_has_no_messages_and_other_files_are_not_mbox() {
        assert_eq!(read_all(b"", Limits::default()), vec![]);
        for not_mbox in [
            &b"Subject: x\r\n\r\nFrom y\r\n"[..],
            b"\nFrom x\n",
            b"Fro",
            b"from x\n",
        ] {
            assert_eq!(
                read_all(not_mbox, Limits::default()),
                vec![Err(MboxError::NotMbox)],
                "{not_mbox:?}"
            );
        }
        // Decided on the first five bytes, without reading on to the end of the line.
        let mut reader = Reader::new(Limits::default());
        assert_eq!(reader.feed(b"Subj"), (4, None));
        assert_eq!(reader.feed(b"ect: x"), (6, Some(Err(MboxError::NotMbox))));
        assert_eq!(reader.feed(b"\nFrom a\n"), (8, None));
        assert_eq!(reader.finish(), None);
    }

    #[test]
    fn a_message_over_the_limit_is_an_error_and_the_next_one_is_read() {
        let limits = Limits { max_message: 32 };
        let mut mbox = entry(b"Subject: small\r\n\r\nok\r\n", None, 0);
        write_entry(
            &mut mbox,
            &[b"x".repeat(20), b"\r\n".to_vec()].concat().repeat(3),
            None,
            0,
        );
        // One line far longer than the limit, a From line as long, and a message of exactly
        // the limit.
        write_entry(&mut mbox, &b"y".repeat(10_000), None, 0);
        mbox.extend_from_slice(b"From ");
        mbox.extend_from_slice(&b"z".repeat(10_000));
        mbox.extend_from_slice(b"\nthirty-two bytes with the CRLF\n\n");
        let expected = vec![
            Ok(b"Subject: small\r\n\r\nok\r\n".to_vec()),
            Err(MboxError::TooLarge {
                number: 2,
                limit: 32,
            }),
            Err(MboxError::TooLarge {
                number: 3,
                limit: 32,
            }),
            Ok(b"thirty-two bytes with the CRLF\r\n".to_vec()),
        ];
        assert_eq!(read_all(&mbox, limits), expected);
        assert_eq!(read_bytewise(&mbox, limits), expected);
    }

    #[test]
    fn a_long_line_is_not_kept_past_the_limit() {
        let limits = Limits { max_message: 1000 };
        let mut reader = Reader::new(limits);
        reader.feed(b"From a\n");
        for _ in 0..1000 {
            assert_eq!(reader.feed(&[b'x'; 1000]), (1000, None));
            assert!(reader.line.capacity() <= 2 * limits.max_message + 8);
        }
        assert_eq!(
            reader.finish(),
            Some(Err(MboxError::TooLarge {
                number: 1,
                limit: 1000
            }))
        );
    }

    #[test]
    fn normalize_eml_makes_crlf_form() {
        assert_eq!(normalize_eml(b"a\nb\r\nc"), b"a\r\nb\r\nc\r\n");
        assert_eq!(normalize_eml(b"a\r\n\r\n"), b"a\r\n\r\n");
        assert_eq!(normalize_eml(b""), b"");
        assert_eq!(normalize_eml(b"a\r\r\nb\rc\r"), b"a\r\r\nb\rc\r\n");
        assert!(is_crlf_form(b"") && is_crlf_form(b"a\r\n") && is_crlf_form(b"a\rb\r\n"));
        assert!(!is_crlf_form(b"a") && !is_crlf_form(b"\n") && !is_crlf_form(b"a\r\nb\n"));
    }

    /// Messages in CRLF form, made of lines likely to trip mboxrd: `From ` and `>From ` lines,
    /// blank lines, stray CRs, bytes that are not UTF-8.
    fn crlf_message() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            Just(b"From ".to_vec()),
            Just(b">From x".to_vec()),
            Just(b">>From x".to_vec()),
            Just(b"From".to_vec()),
            Just(Vec::new()),
            Just(b"\r".to_vec()),
            Just(b"a\r".to_vec()),
            prop::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..20),
        ];
        prop::collection::vec(line, 0..8).prop_map(|lines| {
            lines
                .into_iter()
                .flat_map(|mut l| {
                    l.extend_from_slice(b"\r\n");
                    l
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'>'), Just(b'F'), any::<u8>()],
                0..300,
            ),
            prefix in any::<bool>(),
            max in 0usize..64,
        ) {
            let bytes = if prefix { [b"From x\n".as_slice(), &bytes].concat() } else { bytes };
            let limits = Limits { max_message: max };
            let whole = read_all(&bytes, limits);
            prop_assert_eq!(&read_bytewise(&bytes, limits), &whole);
            for message in whole.into_iter().flatten() {
                prop_assert!(message.len() <= max);
                prop_assert!(is_crlf_form(&message));
            }
            let mut out = Vec::new();
            write_entry(&mut out, &bytes, None, i64::MIN);
            write_entry(&mut out, &bytes, None, i64::MAX);
            normalize_eml(&bytes);
        }

        #[test]
        fn crlf_messages_round_trip_byte_for_byte(
            messages in prop::collection::vec(crlf_message(), 0..6),
            when in any::<i64>(),
        ) {
            let mut mbox = Vec::new();
            for m in &messages {
                prop_assert_eq!(&normalize_eml(m), m);
                write_entry(&mut mbox, m, None, when);
            }
            let expected: Vec<Entry> = messages.into_iter().map(Ok).collect();
            prop_assert_eq!(&read_all(&mbox, Limits::default()), &expected);
            prop_assert_eq!(&read_bytewise(&mbox, Limits::default()), &expected);
        }

        #[test]
        fn any_message_comes_back_normalized(
            messages in prop::collection::vec(prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'>'), Just(b' '), Just(b'F'),
                            Just(b'r'), Just(b'o'), Just(b'm'), any::<u8>()],
                0..60,
            ), 0..6),
        ) {
            let mut mbox = Vec::new();
            for m in &messages {
                write_entry(&mut mbox, m, Some("a@b"), 0);
            }
            let expected: Vec<Entry> = messages.iter().map(|m| Ok(normalize_eml(m))).collect();
            prop_assert_eq!(read_all(&mbox, Limits::default()), expected);
        }

        #[test]
        fn lf_form_comes_back_normalized(
            bytes in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()],
                0..120,
            ),
        ) {
            let lf = lf_form(&bytes);
            prop_assert_eq!(normalize_eml(&lf), normalize_eml(&bytes));
            // Every line, the last one too, ends with LF.
            prop_assert!(lf.is_empty() || lf.ends_with(b"\n"));
        }

        #[test]
        fn crlf_messages_lose_every_line_ending_cr(m in crlf_message()) {
            let lf = lf_form(&m);
            prop_assert_eq!(&normalize_eml(&lf), &m);
            // Unless a line itself ends with CR (kept, with a CRLF after it), each CRLF is LF.
            if !m.windows(3).any(|w| w == b"\r\r\n") {
                let mut want = Vec::new();
                for (i, &b) in m.iter().enumerate() {
                    if !(b == b'\r' && m.get(i + 1) == Some(&b'\n')) {
                        want.push(b);
                    }
                }
                prop_assert_eq!(lf, want);
            }
        }
    }

    #[test]
    fn lf_form_of_a_pop3_message() {
        assert_eq!(
            lf_form(b"Subject: x\r\n\r\nbody\r\n"),
            b"Subject: x\n\nbody\n"
        );
        assert_eq!(lf_form(b"a\r\r\nb"), b"a\r\r\nb\n");
        assert_eq!(lf_form(b""), b"");
    }
}
