//! Maildir (<https://cr.yp.to/proto/maildir.html>): one file per message, delivered into
//! `tmp/` and renamed into `new/`; a mail reader moves it into `cur/`, appending `:2,` and
//! flags to its name.
//!
//! Files have LF line endings, the Unix convention mail readers expect (mutt shows a CR as
//! `^M`); a line that itself ends with CR keeps it, so [`received`] gives back the bytes as
//! POP3 delivered them (CRLF). Files written with CRLF by earlier versions read back the same.

use std::fs;
use std::io;
use std::path::Path;

use super::mbox;

/// The three folders of a Maildir.
pub const FOLDERS: [&str; 3] = ["tmp", "new", "cur"];

/// The file name of a message, from its key (`LedgerEntry::message_id`) only, so that a
/// message delivered again lands on the same name.
pub fn file_name(message_id: &str) -> String {
    format!(
        "postino-{}",
        &crate::digest::sha256_hex(message_id.as_bytes())[..24]
    )
}

/// What the file of a message received as `raw` (CRLF) holds: LF line endings.
pub fn file_bytes(raw: &[u8]) -> Vec<u8> {
    mbox::lf_form(raw)
}

/// The message as received, from the bytes of its file.
pub fn received(file: &[u8]) -> Vec<u8> {
    mbox::normalize_eml(file)
}

/// The bytes of the file `name` of the Maildir `dir`: in `new/`, or in `cur/`, where a mail
/// reader may have moved it with flags appended to its name.
pub fn read(dir: &Path, name: &str) -> io::Result<Vec<u8>> {
    if let Ok(bytes) = fs::read(dir.join("new").join(name)) {
        return Ok(bytes);
    }
    if let Ok(bytes) = fs::read(dir.join("cur").join(name)) {
        return Ok(bytes);
    }
    for e in fs::read_dir(dir.join("cur"))?.flatten() {
        if e.file_name().to_string_lossy().starts_with(name) {
            return fs::read(e.path());
        }
    }
    Err(io::Error::new(io::ErrorKind::NotFound, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_back_as_received() {
        let raw = b"Subject: x\r\n\r\nline\r\nends with CR\r\r\n";
        assert_eq!(file_bytes(raw), b"Subject: x\n\nline\nends with CR\r\r\n");
        assert_eq!(received(&file_bytes(raw)), raw);
        assert_eq!(file_name("a/u1"), file_name("a/u1"));
        assert_ne!(file_name("a/u1"), file_name("a/u2"));
        assert_eq!(file_name("a/u1").len(), "postino-".len() + 24);
    }
}
