//! What the message list shows of a message, parsed once when it is stored.

use serde::{Deserialize, Serialize};

use crate::auth_results::AuthResults;
use crate::layout::Layout;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Same as `LedgerEntry::message_id`.
    pub id: String,
    pub account: String,
    pub uidl: String,
    pub from: String,
    /// The first recipients, as the list and the reader show them.
    #[serde(default)]
    pub to: String,
    pub subject: String,
    /// Unix seconds of the Date header, if it parsed.
    pub date: Option<i64>,
    pub size: u64,
    /// The start of the plain-text body, whitespace collapsed.
    pub snippet: String,
    /// The Message-ID header, to recognise the message if the ledger is lost.
    #[serde(default)]
    pub message_id_header: Option<String>,
    /// SPF, DKIM and DMARC as the receiving server recorded them.
    #[serde(default)]
    pub auth: AuthResults,
    /// How many attachments the message has.
    #[serde(default)]
    pub attachments: u32,
    /// The user opened it in Postino.
    #[serde(default)]
    pub read: bool,
    /// The key of the pack in which the app's IndexedDB store keeps the bytes of a small
    /// message (its record also says where in it: `at`); `None` elsewhere. Set by that store
    /// alone; the page reads it from the list to ask for the pack with the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
}

impl Summary {
    /// Parse what the list shows. Never fails: a malformed message gets empty fields.
    pub fn from_raw(account: &str, uidl: &str, raw: &[u8]) -> Summary {
        let parsed = mail_parser::MessageParser::default().parse(raw);
        let results = parsed
            .as_ref()
            .and_then(|m| crate::auth_results::topmost(m, raw));
        Summary::of(parsed.as_ref(), account, uidl, raw, results.as_deref())
    }

    /// The summary, the search terms ([`crate::search::message_terms`]) and the layout of a
    /// message, from one parse: what a store keeps beside the bytes of a message it commits.
    pub fn parsed(account: &str, uidl: &str, raw: &[u8]) -> (Summary, Vec<String>, Layout) {
        let parsed = mail_parser::MessageParser::default().parse(raw);
        // The receiving server's Authentication-Results, found once for the summary and the
        // layout.
        let results = parsed
            .as_ref()
            .and_then(|m| crate::auth_results::topmost(m, raw));
        (
            Summary::of(parsed.as_ref(), account, uidl, raw, results.as_deref()),
            crate::search::terms_of(parsed.as_ref(), raw),
            parsed
                .as_ref()
                .map(|m| Layout::of(m, results.as_deref()))
                .unwrap_or_default(),
        )
    }

    /// The summary of `raw`, parsed as `parsed` (`None`: it did not parse), whose topmost
    /// Authentication-Results header is `results`.
    fn of(
        parsed: Option<&mail_parser::Message<'_>>,
        account: &str,
        uidl: &str,
        raw: &[u8],
        results: Option<&str>,
    ) -> Summary {
        let message_id_header = parsed.and_then(|m| m.message_id()).map(str::to_string);
        let auth = results.map(AuthResults::parse).unwrap_or_default();
        let (from, to, subject, date, snippet, attachments) = match parsed {
            Some(m) => {
                let from = m
                    .from()
                    .and_then(|a| a.first())
                    .map(display)
                    .unwrap_or_default();
                let to = m
                    .to()
                    .map(|a| {
                        let mut all: Vec<String> = a.iter().take(3).map(display).collect();
                        if a.iter().nth(3).is_some() {
                            all.push("…".into());
                        }
                        all.join(", ")
                    })
                    .unwrap_or_default();
                let subject = m.subject().unwrap_or_default().to_string();
                let date = m.date().map(|d| d.to_timestamp());
                let snippet = m.body_text(0).map(|t| snippet_of(&t)).unwrap_or_default();
                let attachments = m.attachment_count().min(u32::MAX as usize) as u32;
                (from, to, subject, date, snippet, attachments)
            }
            None => Default::default(),
        };
        Summary {
            id: crate::message_id(account, uidl),
            account: account.to_string(),
            uidl: uidl.to_string(),
            from,
            to,
            subject,
            date,
            size: raw.len() as u64,
            snippet,
            message_id_header,
            auth,
            attachments,
            read: false,
            pack: None,
        }
    }
}

/// A size for people, as a list column has room for: `812 B`, `14 KB`, `3.2 MB`, `45 MB`
/// (decimal units, as mail clients show sizes).
pub fn format_size(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.0} KB", b / KB)
    } else if b < KB * KB * 10.0 {
        format!("{:.1} MB", b / KB / KB)
    } else {
        format!("{:.0} MB", b / KB / KB)
    }
}

/// `Name <address>`, or whichever of the two there is.
pub(crate) fn display(a: &mail_parser::Addr<'_>) -> String {
    match (a.name(), a.address()) {
        (Some(n), Some(addr)) => format!("{n} <{addr}>"),
        (Some(n), None) => n.to_string(),
        (None, Some(addr)) => addr.to_string(),
        (None, None) => String::new(),
    }
}

const SNIPPET_CHARS: usize = 160;

fn snippet_of(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if out.chars().count() + word.chars().count() > SNIPPET_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fit_a_column() {
        assert_eq!(format_size(812), "812 B");
        assert_eq!(format_size(14_200), "14 KB");
        assert_eq!(format_size(3_210_000), "3.2 MB");
        assert_eq!(format_size(45_000_000), "45 MB");
    }

    #[test]
    fn parses_headers_and_snippet() {
        let raw =
            b"From: Ada Lovelace <ada@example.org>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\
Date: Tue, 1 Jul 2025 10:00:00 +0000\r\n\r\nHello   there,\r\n\r\nsecond line\r\n";
        let s = Summary::from_raw("acc", "u1", raw);
        assert_eq!(s.from, "Ada Lovelace <ada@example.org>");
        assert_eq!(s.subject, "Grüße");
        assert_eq!(s.date, Some(1_751_364_000));
        assert_eq!(s.snippet, "Hello there, second line");
        assert_eq!(s.id, "acc/u1");
        assert_eq!(s.size, raw.len() as u64);
    }

    #[test]
    fn message_id_and_topmost_authentication_results() {
        let raw =
            b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=a.org; dkim=fail\r\n\
Authentication-Results: forged.example; spf=pass; dkim=pass; dmarc=pass\r\n\
Message-ID: <abc@a.org>\r\nSubject: s\r\n\r\nbody\r\n";
        let s = Summary::from_raw("a", "u", raw);
        assert_eq!(s.message_id_header.as_deref(), Some("abc@a.org"));
        assert_eq!(s.auth.server, "mx.example.net");
        assert_eq!(s.auth.dkim.as_deref(), Some("fail"));
        assert_eq!(s.auth.dmarc, None);
    }

    #[test]
    fn recipients_and_attachments() {
        let raw = b"To: a@x.org, B <b@x.org>, c@x.org, d@x.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png\r\n\
Content-Disposition: attachment; filename=a.png\r\n\r\niVBO\r\n--b--\r\n";
        let s = Summary::from_raw("a", "u", raw);
        assert_eq!(s.to, "a@x.org, B <b@x.org>, c@x.org, …");
        assert_eq!(s.attachments, 1);
        assert!(!s.read);
    }

    #[test]
    fn garbage_gives_empty_fields_not_a_panic() {
        let s = Summary::from_raw("a", "u", &[0xff, 0x00, b'\n', b':']);
        assert_eq!(s.size, 4);
    }
}
