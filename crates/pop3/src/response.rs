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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest status line or listing line. RFC 2449 allows 512 octets; real servers send more.
    pub max_line: usize,
    /// Largest multi-line response (a message), in octets after unstuffing.
    pub max_multiline: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 8 * 1024,
            max_multiline: 256 * 1024 * 1024,
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

    /// Bytes received but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Take one complete line without its line ending, or `None` if it has not all arrived.
    fn line(&mut self, what: &'static str) -> Result<Option<&[u8]>, Error> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                if i > self.limits.max_line {
                    return Err(Error::TooLong {
                        what,
                        limit: self.limits.max_line as u64,
                    });
                }
                let start = self.pos;
                self.pos += i + 1;
                let mut end = start + i;
                if end > start && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                Ok(Some(&self.buf[start..end]))
            }
            None if rest.len() > self.limits.max_line => Err(Error::TooLong {
                what,
                limit: self.limits.max_line as u64,
            }),
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
    /// terminating ".".
    pub fn listing_line(&mut self) -> Result<Option<Option<String>>, Error> {
        let max = self.limits.max_multiline;
        let Some(line) = self.line("listing line")? else {
            return Ok(None);
        };
        if line == b"." {
            self.multiline_len = 0;
            return Ok(Some(None));
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        let text = String::from_utf8_lossy(line).into_owned();
        self.multiline_len += text.len() as u64 + 2;
        if self.multiline_len > max {
            return Err(Error::TooLong {
                what: "listing",
                limit: max,
            });
        }
        Ok(Some(Some(text)))
    }

    /// The next chunk of a multi-line body (RETR, TOP), unstuffed. Hands out whatever has
    /// arrived, so a large message streams through without being held whole.
    pub fn body_chunk(&mut self) -> Result<Option<BodyEvent>, Error> {
        let mut out = Vec::new();
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
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    out.extend_from_slice(&rest[..=i]);
                    self.pos += i + 1;
                    self.at_line_start = true;
                }
                None => {
                    out.extend_from_slice(rest);
                    self.pos += rest.len();
                }
            }
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
            return Err(Error::TooLong {
                what: "message",
                limit: self.limits.max_multiline,
            });
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
        });
        d.enqueue_input(b"0123456789abc\r\n.\r\n");
        assert!(matches!(d.body_chunk(), Err(Error::TooLong { .. })));
    }

    #[test]
    fn long_body_lines_are_not_limited_by_max_line() {
        let mut d = ResponseDecoder::new(Limits {
            max_line: 8,
            max_multiline: 1000,
        });
        d.enqueue_input(b"0123456789012345678901234567890\r\n.\r\n");
        assert_eq!(body(&mut d).len(), 33);
    }

    #[test]
    fn listing_lines_unstuff_and_end() {
        let mut d = decoder(b"1 abc\r\n..2 weird\r\n.\r\n");
        assert_eq!(d.listing_line().unwrap(), Some(Some("1 abc".into())));
        assert_eq!(d.listing_line().unwrap(), Some(Some(".2 weird".into())));
        assert_eq!(d.listing_line().unwrap(), Some(None));
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
