//! The sans-IO response decoder.
//!
//! Bytes from the server go in with [`ResponseDecoder::enqueue_input`]; the caller then asks for
//! what it expects next: a status line ([`ResponseDecoder::status_line`]), a line of a multi-line
//! listing ([`ResponseDecoder::listing_line`]) or chunks of a multi-line body
//! ([`ResponseDecoder::body_chunk`]). Each returns `Ok(None)` when more input is needed. The
//! decoder never reads a socket or a clock, and it holds at most one line (bounded by
//! [`Limits::max_line`]) plus what the caller enqueued.
//!
//! Multi-line responses (RFC 1939 section 3): lines end with CRLF; a line starting with "." is
//! byte-stuffed with another "."; the response ends with ".CRLF". Servers that end lines with a
//! bare LF are accepted too.

use crate::error::Error;
use crate::types::{ResponseCode, StatusLine};

/// Limits on what the server may send. Going past one is an [`Error::TooLong`].
///
/// Listings and CAPA have limits of their own, far below a message's: a hostile server cannot
/// make the client hold 256 MiB of capability lines or UIDLs (DESIGN.md invariant 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest status line. RFC 2449 allows 512 octets; real servers send more.
    pub max_line: usize,
    /// Largest multi-line body (a message, RETR or TOP), in octets after unstuffing.
    pub max_multiline: u64,
    /// Largest CAPA response, in octets.
    pub max_capa: u64,
    /// Most lines in a CAPA response.
    pub max_capa_lines: u64,
    /// Longest line of a UIDL or LIST listing (RFC 1939: a number, a space and at most 70
    /// characters; real servers pad).
    pub max_listing_line: usize,
    /// Most lines in a UIDL or LIST listing: the most messages a mailbox may hold for Postino.
    pub max_listing_lines: u64,
}

impl Limits {
    /// Largest UIDL or LIST listing in octets: proportional to [`Limits::max_listing_lines`],
    /// 100 octets a line on average (a 70-character UIDL line is 80).
    pub fn max_listing(&self) -> u64 {
        self.max_listing_lines.saturating_mul(100)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 8 * 1024,
            max_multiline: 256 * 1024 * 1024,
            max_capa: 64 * 1024,
            max_capa_lines: 1_000,
            max_listing_line: 1024,
            max_listing_lines: 1_000_000,
        }
    }
}

/// What a multi-line listing is, for its limits and its error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListingKind {
    Capa,
    Uidl,
    List,
}

impl ListingKind {
    fn name(self) -> &'static str {
        match self {
            ListingKind::Capa => "capability list (CAPA)",
            ListingKind::Uidl => "UIDL listing",
            ListingKind::List => "LIST listing",
        }
    }

    /// (longest line, most octets, most lines)
    fn limits(self, l: &Limits) -> (usize, u64, u64) {
        match self {
            ListingKind::Capa => (l.max_line, l.max_capa, l.max_capa_lines),
            ListingKind::Uidl | ListingKind::List => {
                (l.max_listing_line, l.max_listing(), l.max_listing_lines)
            }
        }
    }
}

/// One piece of a multi-line body.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// Unstuffed bytes, line endings as the server sent them.
    Data(Vec<u8>),
    /// The terminating ".CRLF" was consumed.
    End,
}

#[derive(Debug, Default)]
pub struct ResponseDecoder {
    buf: Vec<u8>,
    pos: usize,
    limits: Limits,
    /// Inside a body: whether the next byte starts a line (where "." is special).
    at_line_start: bool,
    /// Bytes of the current multi-line response handed out so far.
    multiline_len: u64,
    /// Lines of the current listing handed out so far.
    listing_lines: u64,
}

impl ResponseDecoder {
    pub fn new(limits: Limits) -> Self {
        ResponseDecoder {
            limits,
            at_line_start: true,
            ..Default::default()
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn enqueue_input(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next byte not yet decoded, if any.
    pub fn peek_byte(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Take one complete line without its line ending, or `None` if it has not all arrived.
    fn line(&mut self, what: &'static str) -> Result<Option<&[u8]>, Error> {
        self.line_within(what, self.limits.max_line)
    }

    /// As [`ResponseDecoder::line`], with `max` octets before the line end.
    fn line_within(&mut self, what: &'static str, max: usize) -> Result<Option<&[u8]>, Error> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                if i > max {
                    return Err(Error::too_long(what, max as u64));
                }
                let start = self.pos;
                self.pos += i + 1;
                let mut end = start + i;
                if end > start && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                Ok(Some(&self.buf[start..end]))
            }
            None if rest.len() > max => Err(Error::too_long(what, max as u64)),
            None => Ok(None),
        }
    }

    /// The next status line: `+OK text` or `-ERR [CODE] text`.
    pub fn status_line(&mut self) -> Result<Option<StatusLine>, Error> {
        let Some(line) = self.line("status line")? else {
            return Ok(None);
        };
        parse_status_line(line).map(Some)
    }

    /// The SASL continuation `+ base64` (RFC 5034 section 4), or a final status line.
    pub fn continuation_or_status(&mut self) -> Result<Option<Result<String, StatusLine>>, Error> {
        let Some(line) = self.line("status line")? else {
            return Ok(None);
        };
        if line == b"+" || line.starts_with(b"+ ") {
            let text = String::from_utf8_lossy(line.get(2..).unwrap_or_default());
            return Ok(Some(Ok(text.trim().to_string())));
        }
        parse_status_line(line).map(|s| Some(Err(s)))
    }

    /// The next line of a multi-line listing (CAPA, LIST, UIDL), unstuffed; `Some(None)` at the
    /// terminating ".". Each kind has its own limits on the line, the octets and the lines
    /// ([`Limits`]).
    pub fn listing_line(&mut self, kind: ListingKind) -> Result<Option<Option<String>>, Error> {
        let (max_line, max_total, max_lines) = kind.limits(&self.limits);
        let Some(line) = self.line_within(kind.name(), max_line)? else {
            return Ok(None);
        };
        if line == b"." {
            self.multiline_len = 0;
            self.listing_lines = 0;
            return Ok(Some(None));
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        let text = String::from_utf8_lossy(line).into_owned();
        self.multiline_len += text.len() as u64 + 2;
        self.listing_lines += 1;
        if self.multiline_len > max_total {
            return Err(Error::too_long(kind.name(), max_total));
        }
        if self.listing_lines > max_lines {
            return Err(Error::TooLong {
                what: kind.name(),
                limit: max_lines,
                unit: "lines",
            });
        }
        Ok(Some(Some(text)))
    }

    /// The next chunk of a multi-line body (RETR, TOP), unstuffed. Hands out whatever has
    /// arrived, so a large message streams through without being held whole.
    pub fn body_chunk(&mut self) -> Result<Option<BodyEvent>, Error> {
        let mut out = Vec::with_capacity(self.buf.len() - self.pos);
        loop {
            let rest = &self.buf[self.pos..];
            if rest.is_empty() {
                break;
            }
            if self.at_line_start {
                if rest[0] == b'.' {
                    // ".CRLF" or ".LF" ends the response; "..x" is a stuffed ".x".
                    match rest.get(1) {
                        None => break,
                        Some(b'\n') => return self.finish_body(out, 2),
                        Some(b'\r') => match rest.get(2) {
                            None => break,
                            Some(b'\n') => return self.finish_body(out, 3),
                            Some(_) => {
                                // A lone "." followed by CR and more: not a terminator; keep it.
                                self.pos += 1;
                                out.push(b'.');
                            }
                        },
                        Some(_) => self.pos += 1,
                    }
                }
                self.at_line_start = false;
                continue;
            }
            // Whole lines in one copy, up to a line that starts with '.' (or may: the next byte
            // has not arrived): a profile of a download found a copy per line costly.
            let mut from = 0;
            let (end, line_start) = loop {
                match rest[from..].iter().position(|&b| b == b'\n') {
                    None => break (rest.len(), false),
                    Some(i) => {
                        let next = from + i + 1;
                        match rest.get(next) {
                            None | Some(b'.') => break (next, true),
                            Some(_) => from = next,
                        }
                    }
                }
            };
            out.extend_from_slice(&rest[..end]);
            self.pos += end;
            self.at_line_start = line_start;
        }
        if out.is_empty() {
            return Ok(None);
        }
        self.count_body(out.len())?;
        Ok(Some(BodyEvent::Data(out)))
    }

    fn finish_body(&mut self, out: Vec<u8>, terminator: usize) -> Result<Option<BodyEvent>, Error> {
        if !out.is_empty() {
            // Hand out the data first; the terminator stays for the next call.
            self.count_body(out.len())?;
            return Ok(Some(BodyEvent::Data(out)));
        }
        self.pos += terminator;
        self.at_line_start = true;
        self.multiline_len = 0;
        Ok(Some(BodyEvent::End))
    }

    fn count_body(&mut self, n: usize) -> Result<(), Error> {
        self.multiline_len += n as u64;
        if self.multiline_len > self.limits.max_multiline {
            return Err(Error::too_long("message", self.limits.max_multiline));
        }
        Ok(())
    }
}

/// ```text
/// status-line = ("+OK" / "-ERR") [SP [resp-code SP] text] CRLF
/// ```
/// Tolerant: status words in any case, missing space, extra spaces.
pub fn parse_status_line(line: &[u8]) -> Result<StatusLine, Error> {
    let text = String::from_utf8_lossy(line);
    let starts = |p: &str| {
        text.get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    let (ok, rest) = if starts("+OK") {
        (true, &text[3..])
    } else if starts("-ERR") {
        (false, &text[4..])
    } else {
        let shown: String = text.chars().take(80).collect();
        return Err(Error::Protocol(format!(
            "expected +OK or -ERR, got {shown:?}"
        )));
    };
    let rest = rest.trim_start();
    let (code, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((code, text)) => (Some(ResponseCode::parse(code)), text.trim_start()),
        None => (None, rest),
    };
    Ok(StatusLine {
        ok,
        code,
        text: text.trim_end().to_string(),
    })
}

/// The encoder, the server's direction: a status line with its CRLF, the inverse of
/// [`parse_status_line`] (`parse(encode(s)) == s` for a text without CR, LF or surrounding
/// spaces that does not start with `[` unless a code is given).
///
/// ```text
/// status-line = ("+OK" / "-ERR") [SP [resp-code SP] text] CRLF     (RFC 2449 section 9)
/// ```
pub fn encode_status(status: &StatusLine, out: &mut Vec<u8>) {
    out.extend_from_slice(if status.ok { b"+OK" } else { b"-ERR" });
    if let Some(code) = &status.code {
        out.extend_from_slice(b" [");
        out.extend_from_slice(code.as_str().as_bytes());
        out.push(b']');
    }
    if !status.text.is_empty() {
        out.push(b' ');
        out.extend_from_slice(status.text.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// A multi-line response (RFC 1939 section 3): the status line, `body` with every line that
/// starts with `.` given one more `.`, its last line ended with CRLF if it was not, and the
/// `.` terminator. What [`ResponseDecoder::body_chunk`] and
/// [`ResponseDecoder::listing_line`] read back.
pub fn encode_multiline(status: &StatusLine, body: &[u8], out: &mut Vec<u8>) {
    encode_status(status, out);
    out.reserve(body.len() + body.len() / 64 + 5);
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !body.is_empty() && !body.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    } else if body.ends_with(b"\n") && !body.ends_with(b"\r\n") {
        // A bare LF at the very end: make the last line end with CRLF.
        out.pop();
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

/// A SASL continuation (RFC 5034 section 4): `+ data`, what
/// [`ResponseDecoder::continuation_or_status`] reads as `Ok(data)`.
pub fn encode_continuation(data: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(input: &[u8]) -> ResponseDecoder {
        let mut d = ResponseDecoder::new(Limits::default());
        d.enqueue_input(input);
        d
    }

    fn body(d: &mut ResponseDecoder) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            match d.body_chunk().unwrap() {
                Some(BodyEvent::Data(b)) => out.extend(b),
                Some(BodyEvent::End) => return out,
                None => panic!("body incomplete"),
            }
        }
    }

    #[test]
    fn server_sends_greeting_client_receives_ok() {
        let mut d = decoder(b"+OK Dovecot ready.\r\n");
        let s = d.status_line().unwrap().unwrap();
        assert!(s.ok);
        assert_eq!(s.text, "Dovecot ready.");
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn bare_status_words() {
        assert!(parse_status_line(b"+OK").unwrap().ok);
        assert!(!parse_status_line(b"-ERR").unwrap().ok);
        assert!(parse_status_line(b"+ok fine").unwrap().ok);
        assert!(parse_status_line(b"+O").is_err());
        assert!(parse_status_line(b"").is_err());
    }

    #[test]
    fn server_sends_err_with_code() {
        let mut d = decoder(b"-ERR [IN-USE] Mailbox locked\r\n");
        let s = d.status_line().unwrap().unwrap();
        assert!(!s.ok);
        assert_eq!(s.code, Some(ResponseCode::InUse));
        assert_eq!(s.text, "Mailbox locked");
    }

    #[test]
    fn status_line_split_across_reads() {
        let mut d = decoder(b"+O");
        assert_eq!(d.status_line().unwrap(), None);
        d.enqueue_input(b"K hi\r");
        assert_eq!(d.status_line().unwrap(), None);
        d.enqueue_input(b"\n");
        assert!(d.status_line().unwrap().unwrap().ok);
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut d = decoder(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(matches!(d.status_line(), Err(Error::Protocol(_))));
    }

    #[test]
    fn endless_line_is_an_error_not_growth() {
        let mut d = ResponseDecoder::new(Limits {
            max_line: 16,
            max_multiline: 1000,
            ..Limits::default()
        });
        d.enqueue_input(&[b'a'; 17]);
        assert!(matches!(d.status_line(), Err(Error::TooLong { .. })));
    }

    #[test]
    fn body_is_unstuffed_and_ends_at_dot() {
        let mut d =
            decoder(b"Subject: x\r\n\r\n..leading dot\r\n.\r\nnot end\r\n.\r\n+OK next\r\n");
        // ".\r\nnot end" cannot happen inside one body: the first ".\r\n" ends it.
        assert_eq!(body(&mut d), b"Subject: x\r\n\r\n.leading dot\r\n");
        let mut rest = Vec::new();
        rest.extend(body(&mut d));
        assert_eq!(rest, b"not end\r\n");
        assert!(d.status_line().unwrap().unwrap().ok);
    }

    #[test]
    fn body_streams_byte_by_byte() {
        let wire = b"a\r\n..b\r\n...\r\n\r\n.\r\n";
        let mut d = ResponseDecoder::new(Limits::default());
        let mut out = Vec::new();
        let mut ended = false;
        for &b in wire {
            d.enqueue_input(&[b]);
            while let Some(ev) = d.body_chunk().unwrap() {
                match ev {
                    BodyEvent::Data(x) => out.extend(x),
                    BodyEvent::End => ended = true,
                }
            }
        }
        assert!(ended);
        assert_eq!(out, b"a\r\n.b\r\n..\r\n\r\n");
    }

    #[test]
    fn body_with_bare_lf_endings() {
        let mut d = decoder(b"line\n..dot\n.\n");
        assert_eq!(body(&mut d), b"line\n.dot\n");
    }

    #[test]
    fn body_over_limit_is_an_error() {
        let mut d = ResponseDecoder::new(Limits {
            max_line: 100,
            max_multiline: 10,
            ..Limits::default()
        });
        d.enqueue_input(b"0123456789abc\r\n.\r\n");
        assert!(matches!(d.body_chunk(), Err(Error::TooLong { .. })));
    }

    #[test]
    fn long_body_lines_are_not_limited_by_max_line() {
        let mut d = ResponseDecoder::new(Limits {
            max_line: 8,
            max_multiline: 1000,
            ..Limits::default()
        });
        d.enqueue_input(b"0123456789012345678901234567890\r\n.\r\n");
        assert_eq!(body(&mut d).len(), 33);
    }

    #[test]
    fn listing_lines_unstuff_and_end() {
        let mut d = decoder(b"1 abc\r\n..2 weird\r\n.\r\n");
        let uidl = ListingKind::Uidl;
        assert_eq!(d.listing_line(uidl).unwrap(), Some(Some("1 abc".into())));
        assert_eq!(d.listing_line(uidl).unwrap(), Some(Some(".2 weird".into())));
        assert_eq!(d.listing_line(uidl).unwrap(), Some(None));
    }

    #[test]
    fn listings_and_capa_have_their_own_limits() {
        let limits = Limits {
            max_capa_lines: 2,
            max_listing_line: 8,
            max_listing_lines: 3,
            ..Limits::default()
        };
        let mut d = ResponseDecoder::new(limits);
        d.enqueue_input(b"USER\r\nTOP\r\nUIDL\r\n.\r\n");
        d.listing_line(ListingKind::Capa).unwrap();
        d.listing_line(ListingKind::Capa).unwrap();
        assert_eq!(
            d.listing_line(ListingKind::Capa).unwrap_err().to_string(),
            "the server sent a capability list (CAPA) longer than 2 lines; Postino stopped reading it"
        );
        let mut d = ResponseDecoder::new(limits);
        d.enqueue_input(b"1 123456789\r\n");
        assert_eq!(
            d.listing_line(ListingKind::Uidl).unwrap_err().to_string(),
            "the server sent a UIDL listing longer than 8 bytes; Postino stopped reading it"
        );
        // A listing's total is proportional to the most messages allowed.
        assert_eq!(Limits::default().max_listing(), 100_000_000);
    }

    #[test]
    fn sasl_continuation() {
        let mut d = decoder(b"+ \r\n+ YWJj\r\n-ERR [AUTH] no\r\n");
        assert_eq!(d.continuation_or_status().unwrap(), Some(Ok(String::new())));
        assert_eq!(d.continuation_or_status().unwrap(), Some(Ok("YWJj".into())));
        let Some(Err(s)) = d.continuation_or_status().unwrap() else {
            panic!()
        };
        assert_eq!(s.code, Some(ResponseCode::Auth));
    }
}
