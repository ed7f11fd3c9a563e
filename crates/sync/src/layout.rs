//! Where a message's parts are in its bytes: found when the message is stored, by the parse that
//! makes its summary ([`crate::Summary::parsed`]), and kept beside the summary. The reader shows a
//! stored message from its bytes and its layout: it slices the body out, undoes the transfer
//! encoding and decodes the charset, with no MIME parser of its own (the page's bundle does not
//! carry one, issue 13).

use serde::{Deserialize, Serialize};

/// How a part's body is written in the message (`Content-Transfer-Encoding`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transfer {
    /// 7bit, 8bit or binary: the bytes as they are.
    #[default]
    Plain,
    QuotedPrintable,
    Base64,
}

/// One part of a message: where its body is in the stored bytes, and how to read it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The body's bytes in the message, transfer-encoded: `raw[start..end]`.
    pub start: u32,
    pub end: u32,
    pub transfer: Transfer,
    /// `type/subtype`, lowercase; `application/octet-stream` when the part does not say.
    pub content_type: String,
    /// The `charset` of a text part, as the sender wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// An attachment's file name, made safe to show and save ([`crate::untrusted::file_name`]);
    /// an inline image's Content-ID, without its brackets.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// An attachment's size once decoded.
    #[serde(default)]
    pub size: u64,
}

/// What the reader needs of a message beyond its summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The plain-text body, shown when there is no HTML one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Part>,
    /// The HTML body: a real `text/html` part, never one made from a text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<Part>,
    /// Image parts with a Content-ID, for `cid:` references in the HTML body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline: Vec<Part>,
    /// The attachments, in the order the reader lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Part>,
    /// Every From address (`Name <address>`, comma-separated).
    #[serde(default)]
    pub from: String,
    /// Every recipient; the summary keeps only the first three.
    #[serde(default)]
    pub to: String,
    /// The first From address, lowercase: the key for "always load remote content from".
    #[serde(default)]
    pub sender: String,
    /// The receiving server vouched for the sender's domain (DMARC, or aligned DKIM, passed):
    /// only then may "always load remote content from" this sender apply.
    #[serde(default)]
    pub sender_verified: bool,
}

impl Layout {
    /// The layout of `message`, whose topmost Authentication-Results header (the receiving
    /// server's, [`crate::auth_results::topmost`]) is `results`.
    pub fn of(message: &mail_parser::Message<'_>, results: Option<&str>) -> Layout {
        use mail_parser::MimeHeaders;
        let sender = message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default();
        let text = message
            .text_body
            .first()
            .and_then(|&i| message.parts.get(i as usize))
            .filter(|p| matches!(p.body, mail_parser::PartType::Text(_)))
            .map(|p| part(p, String::new()));
        // mail-parser makes HTML out of a text body when there is no HTML one: only a real
        // text/html part counts.
        let html = message
            .html_part(0)
            .filter(|p| p.is_text_html())
            .map(|p| part(p, String::new()));
        let inline = message
            .parts
            .iter()
            .filter_map(|p| {
                let id = p.content_id()?;
                let image = part(p, id.to_string());
                let allowed = image.content_type.starts_with("image/")
                    && image
                        .content_type
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/.+-".contains(&b));
                allowed.then_some(image)
            })
            .collect();
        let attachments = message
            .attachments()
            .enumerate()
            .map(|(index, p)| {
                // Shown and saved as a name that reads as it is: `invoice\u{202E}fdp.exe` would
                // otherwise show as `invoiceexe.pdf`.
                let name = p
                    .attachment_name()
                    .map(crate::untrusted::file_name)
                    .unwrap_or_else(|| format!("attachment-{}", index + 1));
                Part {
                    size: p.contents().len() as u64,
                    ..part(p, name)
                }
            })
            .collect();
        Layout {
            text,
            html,
            inline,
            attachments,
            from: addresses(message.from()),
            to: addresses(message.to()),
            sender: sender.to_lowercase(),
            sender_verified: results
                .is_some_and(|results| crate::auth_results::vouches_for(results, sender)),
        }
    }

    /// The layout of `raw`, or `None` if it does not parse as a message.
    pub fn parse(raw: &[u8]) -> Option<Layout> {
        let message = mail_parser::MessageParser::default().parse(raw)?;
        let results = crate::auth_results::topmost(&message, raw);
        Some(Layout::of(&message, results.as_deref()))
    }
}

impl Part {
    /// The part's body with its transfer encoding undone; `None` if it does not fit in `raw` (a
    /// layout that is not this message's) or does not decode.
    pub fn bytes(&self, raw: &[u8]) -> Option<Vec<u8>> {
        let body = raw.get(self.start as usize..self.end as usize)?;
        match self.transfer {
            Transfer::Plain => Some(body.to_vec()),
            Transfer::QuotedPrintable => {
                mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
            }
            Transfer::Base64 => mail_parser::decoders::base64::base64_decode(body),
        }
    }

    /// The body of a text part whose charset is UTF-8, US-ASCII or not given; other charsets
    /// are the reader's to decode (the browser knows them all).
    pub fn utf8_text(&self, raw: &[u8]) -> Option<String> {
        let bytes = self.bytes(raw)?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// True when [`Part::utf8_text`] reads this part as its sender meant.
    pub fn is_utf8(&self) -> bool {
        self.charset.as_deref().is_none_or(|c| {
            ["utf-8", "utf8", "us-ascii", "ascii"]
                .iter()
                .any(|u| c.trim().eq_ignore_ascii_case(u))
        })
    }
}

/// `Name <address>` for each address, comma-separated.
fn addresses(addr: Option<&mail_parser::Address<'_>>) -> String {
    let Some(addr) = addr else {
        return String::new();
    };
    addr.iter()
        .map(crate::summary::display)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where `p`'s body is and how it is written, named `name`.
fn part(p: &mail_parser::MessagePart<'_>, name: String) -> Part {
    use mail_parser::MimeHeaders;
    let content_type = match p.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None if matches!(
            p.body,
            mail_parser::PartType::Text(_) | mail_parser::PartType::Html(_)
        ) =>
        {
            "text/plain".into()
        }
        None => "application/octet-stream".into(),
    };
    Part {
        start: p.offset_body,
        end: p.offset_end,
        transfer: match p.encoding {
            mail_parser::Encoding::QuotedPrintable => Transfer::QuotedPrintable,
            mail_parser::Encoding::Base64 => Transfer::Base64,
            mail_parser::Encoding::None => Transfer::Plain,
        },
        charset: p
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_string),
        content_type,
        name,
        size: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message of the repository's fixtures.
    fn corpus() -> Vec<(String, Vec<u8>)> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut out = Vec::new();
        for dir in [
            "tests/fixtures/mail",
            "tests/fixtures/html",
            "crates/relay/demo",
        ] {
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "eml") {
                    out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
                }
            }
        }
        assert!(out.len() >= 20, "the fixtures are found");
        out
    }

    /// The text the layout gives, as mail-parser gives it (lines may differ by the line break
    /// before a boundary, which belongs to the boundary).
    fn same_text(ours: &str, theirs: &str) -> bool {
        ours.trim_end() == theirs.trim_end()
    }

    #[test]
    fn every_fixture_reads_through_its_layout_as_mail_parser_reads_it() {
        for (name, raw) in corpus() {
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let results = crate::auth_results::topmost(&m, &raw);
            let layout = Layout::of(&m, results.as_deref());
            // Through JSON and back, as IndexedDB keeps it.
            let layout: Layout =
                serde_json::from_str(&serde_json::to_string(&layout).unwrap()).unwrap();
            let text = m
                .text_body
                .first()
                .and_then(|&i| m.parts.get(i as usize))
                .and_then(|p| match &p.body {
                    mail_parser::PartType::Text(t) => Some(t.to_string()),
                    _ => None,
                });
            match (&layout.text, &text) {
                (Some(part), Some(theirs)) => {
                    assert!(part.is_utf8(), "{name}: fixtures are UTF-8");
                    let ours = part.utf8_text(&raw).unwrap();
                    assert!(same_text(&ours, theirs), "{name}: {ours:?} / {theirs:?}");
                }
                (None, None) => {}
                other => panic!("{name}: text {other:?}"),
            }
            let html = m
                .html_part(0)
                .filter(|p| p.is_text_html())
                .and_then(|p| p.text_contents());
            match (&layout.html, html) {
                (Some(part), Some(theirs)) => {
                    let ours = part.utf8_text(&raw).unwrap();
                    assert!(same_text(&ours, theirs), "{name}: html differs");
                }
                (None, None) => {}
                other => panic!("{name}: html {other:?}"),
            }
            assert_eq!(layout.attachments.len(), m.attachment_count(), "{name}");
            for (ours, theirs) in layout.attachments.iter().zip(m.attachments()) {
                let bytes = ours.bytes(&raw).unwrap();
                assert_eq!(bytes.len() as u64, ours.size, "{name}: {}", ours.name);
                assert_eq!(
                    bytes.trim_ascii_end(),
                    theirs.contents().trim_ascii_end(),
                    "{name}: {}",
                    ours.name
                );
            }
            let from = m.from().and_then(|a| a.first());
            assert_eq!(
                layout.sender,
                from.and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_lowercase(),
                "{name}"
            );
        }
    }

    #[test]
    fn an_html_message_with_an_image_and_an_attachment() {
        let raw = b"From: A <A@X.org>\r\nTo: b@y.org, C <c@z.org>\r\nSubject: H\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\
Content-Type: multipart/related; boundary=b2\r\n\r\n--b2\r\n\
Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Gr=FC=DF <img src=3D\"cid:logo@x\"></p>\r\n--b2\r\n\
Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0=\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n\
Content-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b1--\r\n";
        let layout = Layout::parse(raw).unwrap();
        assert_eq!(layout.from, "A <A@X.org>");
        assert_eq!(layout.sender, "a@x.org");
        assert_eq!(layout.to, "b@y.org, C <c@z.org>");
        assert_eq!(layout.text, None, "an HTML-only message has no text body");
        let html = layout.html.as_ref().unwrap();
        assert_eq!(html.transfer, Transfer::QuotedPrintable);
        assert_eq!(html.charset.as_deref(), Some("iso-8859-1"));
        assert!(!html.is_utf8());
        // Latin-1 bytes, for the reader's decoder.
        assert_eq!(
            html.bytes(raw).unwrap().trim_ascii_end(),
            b"<p>Gr\xfc\xdf <img src=\"cid:logo@x\"></p>"
        );
        assert_eq!(layout.inline.len(), 1);
        assert_eq!(layout.inline[0].name, "logo@x");
        assert_eq!(layout.inline[0].content_type, "image/png");
        assert_eq!(
            layout.inline[0].bytes(raw).unwrap(),
            b"\x89PNG\r",
            "iVBORw0= decoded"
        );
        // The image is listed too, as mail-parser lists it: it can be saved.
        assert_eq!(layout.attachments.len(), 2);
        let pdf = &layout.attachments[1];
        assert_eq!(
            (pdf.name.as_str(), pdf.content_type.as_str(), pdf.size),
            ("r.pdf", "application/pdf", 5)
        );
        assert_eq!(pdf.bytes(raw).unwrap(), b"%PDF-");
    }

    #[test]
    fn a_layout_that_does_not_fit_the_bytes_reads_nothing() {
        let part = Part {
            start: 10,
            end: 5000,
            ..Part::default()
        };
        assert_eq!(part.bytes(b"short"), None);
        let backwards = Part {
            start: 4,
            end: 2,
            ..Part::default()
        };
        assert_eq!(backwards.bytes(b"short"), None);
    }
}
