//! Words for the offline search index: what a stored message is found by, and what a query
//! asks for. The store keeps, per message, the sorted set of its terms; a query is answered by
//! looking terms up in that index (IndexedDB's multi-entry index in the app), never by reading
//! every message.
//!
//! A term is a run of letters and digits, lowercased, of at least [`MIN_TERM_CHARS`] and cut to
//! [`MAX_TERM_CHARS`] characters. A message is indexed by its sender, recipients, subject,
//! attachment names and the first [`MAX_BODY_CHARS`] characters of its text (HTML-only mail by
//! its text as mail-parser extracts it), with at most [`MAX_TERMS`] distinct terms; words past
//! those bounds are not found.

use std::collections::HashSet;

use mail_parser::{Address, Message, MessageParser, MimeHeaders};

pub const MIN_TERM_CHARS: usize = 2;
pub const MAX_TERM_CHARS: usize = 32;
pub const MAX_BODY_CHARS: usize = 64 * 1024;
pub const MAX_TERMS: usize = 4096;

/// The terms of `text`, in order, repeated as often as they occur: lowercase, and folded so
/// that "Grüße", "GRÜSSE" and "grusse" are one term, as are "café" and "cafe" ([`fold`]).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_words(text).map(|w| {
        let mut term = String::with_capacity(w.len());
        term_into(w, &mut term);
        term
    })
}

/// The runs of letters and digits of `text` long enough to be terms, as written.
fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().nth(MIN_TERM_CHARS - 1).is_some())
}

/// Calls `f` with each run of letters and digits of `text` (the words of [`raw_words`], of any
/// length) and whether it is all ASCII, until `f` returns false. ASCII bytes are tested as bytes,
/// not decoded as chars.
fn for_each_word(text: &str, mut f: impl FnMut(&str, bool) -> bool) {
    let bytes = text.as_bytes();
    // The first byte at or after `at` whose class is not `class`, or the end.
    let past = |at: usize, class: u8| {
        bytes[at..]
            .iter()
            .position(|&b| BYTE_CLASS[b as usize] != class)
            .map_or(bytes.len(), |n| at + n)
    };
    // The letter or digit at `at` (a char boundary, not ASCII), and its length.
    let wide = |at: usize| {
        text.get(at..)
            .and_then(|rest| rest.chars().next())
            .map_or((false, 1), |c| (c.is_alphanumeric(), c.len_utf8()))
    };
    let mut at = 0;
    while at < bytes.len() {
        at = past(at, SEPARATOR);
        let start = at;
        let mut ascii = true;
        let mut word = true;
        loop {
            at = past(at, ASCII_WORD);
            if at >= bytes.len() || BYTE_CLASS[bytes[at] as usize] == SEPARATOR {
                break;
            }
            match wide(at) {
                (true, len) => {
                    ascii = false;
                    at += len;
                }
                (false, len) if at == start => {
                    // Not a letter or digit, and no word before it: skip it.
                    at += len;
                    word = false;
                    break;
                }
                (false, _) => break,
            }
        }
        if word && at > start && !f(&text[start..at], ascii) {
            return;
        }
    }
}

/// [`for_each_word`]'s classes of bytes: ASCII letters and digits, other ASCII, and the bytes of
/// characters beyond ASCII (decoded to tell).
const SEPARATOR: u8 = 0;
const ASCII_WORD: u8 = 1;
const WIDE: u8 = 2;
static BYTE_CLASS: [u8; 256] = {
    let mut table = [WIDE; 256];
    let mut b = 0;
    while b < 0x80 {
        table[b] = if (b as u8).is_ascii_alphanumeric() {
            ASCII_WORD
        } else {
            SEPARATOR
        };
        b += 1;
    }
    table
};

/// The term of word `w` in `term` (which is cleared first): lowercase, folded, cut to
/// [`MAX_TERM_CHARS`]. ASCII, most of most mail, takes the short way; the result is the same.
fn term_into(w: &str, term: &mut String) {
    term.clear();
    for c in w.chars().take(MAX_TERM_CHARS) {
        if c.is_ascii() {
            term.push(c.to_ascii_lowercase());
        } else {
            for lower in c.to_lowercase() {
                fold(lower, term);
            }
        }
    }
}

/// Appends `c` without its diacritic: the Latin letters of Western, Central and Northern
/// European languages (Latin-1 Supplement and Latin Extended-A) map to their base letters, `ß`
/// to `ss`, `æ` to `ae`, `œ` to `oe`. Other characters stay as they are.
pub fn fold(c: char, out: &mut String) {
    let base = match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' | 'ð' => 'd',
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' => 's',
        'ţ' | 'ť' | 'ŧ' => 't',
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ß' => return out.push_str("ss"),
        'æ' => return out.push_str("ae"),
        'œ' => return out.push_str("oe"),
        'þ' => return out.push_str("th"),
        other => other,
    };
    out.push(base);
}

/// The distinct terms a stored message is found by, sorted. Never fails: a message that does
/// not parse is found by the words of its first bytes.
pub fn message_terms(raw: &[u8]) -> Vec<String> {
    terms_of(MessageParser::default().parse(raw).as_ref(), raw)
}

/// The terms of `raw`, parsed as `parsed` (`None`: it did not parse); see
/// [`crate::Summary::parsed`], which parses once for both.
pub(crate) fn terms_of(parsed: Option<&Message<'_>>, raw: &[u8]) -> Vec<String> {
    // A profile of the app's download put this function at 14% of the engine's time, then again
    // at 14% (word splitting that decoded every byte as a char, and SipHash): one buffer for
    // every word, ASCII words split and lowercased as bytes, a String made only for a term not
    // seen yet, and a fast hash. At most MAX_TERMS terms of at most MAX_TERM_CHARS each, so even
    // a sender who makes terms collide on purpose costs a bounded number of comparisons.
    let mut terms: HashSet<String, foldhash::fast::RandomState> = HashSet::default();
    let mut term = String::new();
    let mut add = |text: &str| {
        for_each_word(text, |w, ascii| {
            if terms.len() >= MAX_TERMS {
                return false;
            }
            if ascii {
                if w.len() < MIN_TERM_CHARS {
                    return true;
                }
                term.clear();
                term.push_str(&w[..w.len().min(MAX_TERM_CHARS)]);
                term.make_ascii_lowercase();
            } else if w.chars().nth(MIN_TERM_CHARS - 1).is_some() {
                term_into(w, &mut term);
            } else {
                return true;
            }
            if !terms.contains(term.as_str()) {
                terms.insert(term.clone());
            }
            true
        });
    };
    let sorted = |terms: HashSet<String, _>| {
        let mut terms: Vec<String> = terms.into_iter().collect();
        terms.sort_unstable();
        terms
    };
    let Some(message) = parsed else {
        let head = &raw[..raw.len().min(MAX_BODY_CHARS)];
        add(&String::from_utf8_lossy(head));
        return sorted(terms);
    };
    let addresses = [
        message.from(),
        message.to(),
        message.cc(),
        message.reply_to(),
    ];
    for address in addresses.into_iter().flatten() {
        add_addresses(address, &mut add);
    }
    add(message.subject().unwrap_or_default());
    for part in message.attachments() {
        if let Some(name) = part.attachment_name() {
            add(name);
        }
    }
    let mut budget = MAX_BODY_CHARS;
    for i in 0.. {
        if budget == 0 {
            break;
        }
        let Some(text) = message.body_text(i) else {
            break;
        };
        let cut = text
            .char_indices()
            .nth(budget)
            .map_or(text.len(), |(at, _)| at);
        budget = budget.saturating_sub(text[..cut].chars().count());
        add(&text[..cut]);
    }
    sorted(terms)
}

fn add_addresses(address: &Address<'_>, add: &mut impl FnMut(&str)) {
    for a in address.iter() {
        if let Some(name) = a.name() {
            add(name);
        }
        if let Some(addr) = a.address() {
            add(addr);
        }
    }
}

/// What a query asks for: messages with every `exact` term and, if `prefix` is given, a term
/// that starts with it. Words are combined with "and".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub exact: Vec<String>,
    pub prefix: Option<String>,
}

impl Query {
    /// The query as typed: its last word is still being typed, so it matches as a prefix unless
    /// the text ends with a space. A prefix shorter than [`MIN_TERM_CHARS`] is ignored (it would
    /// match nearly everything).
    pub fn parse(text: &str) -> Query {
        let typing = text.ends_with(|c: char| c.is_alphanumeric());
        let (done, last) = match text.rfind(|c: char| !c.is_alphanumeric()) {
            _ if !typing => (text, ""),
            Some(at) => text.split_at(at),
            None => ("", text),
        };
        let mut exact: Vec<String> = words(done).collect();
        let prefix = words(last).next();
        exact.sort();
        exact.dedup();
        if let Some(p) = &prefix {
            exact.retain(|e| e != p);
        }
        Query { exact, prefix }
    }

    /// Nothing to look up: show every message.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_none()
    }

    /// Whether a message with these sorted `terms` matches: the same rule the index applies,
    /// for stores without one and for tests.
    pub fn matches(&self, terms: &[String]) -> bool {
        self.exact.iter().all(|e| terms.binary_search(e).is_ok())
            && self.prefix.as_ref().is_none_or(|p| {
                let at = terms.partition_point(|t| t < p);
                terms.get(at).is_some_and(|t| t.starts_with(p.as_str()))
            })
    }
}

/// The end of the key range holding every term that starts with `prefix`: `[prefix, end)` in
/// IndexedDB's order, which compares UTF-16 code units. U+FFFF is a noncharacter, never part of a
/// term, and no code unit is above it.
pub fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_string();
    end.push('\u{ffff}');
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_splitter_finds_the_words_of_the_char_splitter() {
        // Mixed scripts, combining marks, digits, a lone multi-byte letter, an ASCII word glued
        // to a non-ASCII one, words longer than MAX_TERM_CHARS, separators of every width.
        let texts = [
            "Grüße aus Zürich, café-crème 1843 ÆØÅ æble",
            "x y ab ü üb a\u{0301}bc naïve—dash\u{00a0}nbsp 中文字 ١٢٣ Ωmega",
            "averyveryveryveryveryverylongwordthatgoesonandonandon ÜBERLANGESWORTÜBERLANGESWORTÜBERLANGESWORT",
            "",
            "...,,;;  \t\r\n",
            "é",
            "aé",
            "emoji🙂between words🙂🙂 and\u{200b}zero-width",
        ];
        for text in texts {
            let mut fast = Vec::new();
            for_each_word(text, |w, ascii| {
                assert_eq!(ascii, w.is_ascii(), "{w:?}");
                if w.chars().nth(MIN_TERM_CHARS - 1).is_some() {
                    fast.push(w.to_string());
                }
                true
            });
            let slow: Vec<String> = raw_words(text).map(str::to_string).collect();
            assert_eq!(fast, slow, "{text:?}");
        }
        // And the terms: ASCII words take the byte path, the rest the char path.
        let raw = "Subject: x\r\n\r\nHELLO Wörld averyveryveryveryveryverylongwordthatgoesonandon ÆBLE ab a"
            .as_bytes();
        let terms = message_terms(raw);
        let expected: Vec<String> = {
            let mut w: Vec<String> =
                words("x HELLO Wörld averyveryveryveryveryverylongwordthatgoesonandon ÆBLE ab")
                    .collect();
            w.sort_unstable();
            w.dedup();
            w
        };
        assert_eq!(terms, expected);
    }

    #[test]
    fn terms_come_from_headers_body_and_attachment_names() {
        let raw = b"From: Ada Lovelace <ada@example.org>\r\nTo: Bob <bob@work.example>\r\n\
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_Z=C3=BCrich?=\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
The Analytical Engine, 1843.\r\n--b\r\nContent-Type: application/pdf\r\n\
Content-Disposition: attachment; filename=\"notes-g.pdf\"\r\n\r\nJVBERi0=\r\n--b--\r\n";
        let terms = message_terms(raw);
        for t in [
            "ada",
            "lovelace",
            "example",
            "org",
            "bob",
            "work",
            "grusse",
            "zurich",
            "analytical",
            "engine",
            "1843",
            "notes",
            "pdf",
        ] {
            assert!(terms.contains(&t.to_string()), "{t} missing from {terms:?}");
        }
        assert!(
            !terms.contains(&"g".to_string()),
            "one-letter words are not terms"
        );
        assert!(terms.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
    }

    #[test]
    fn accents_fold_to_their_base_letters() {
        let w = |t: &str| words(t).collect::<Vec<_>>();
        assert_eq!(w("Grüße GRÜSSE grusse"), ["grusse", "grusse", "grusse"]);
        assert_eq!(w("Café Œuvre Łódź Ærø"), ["cafe", "oeuvre", "lodz", "aero"]);
        assert_eq!(
            w("Москва 東京都"),
            ["москва", "東京都"],
            "other scripts: lowercase only"
        );
        assert_eq!(Query::parse("zür").prefix.as_deref(), Some("zur"));
    }

    #[test]
    fn html_only_mail_is_found_by_its_text_not_its_markup() {
        let raw = b"Subject: s\r\nContent-Type: text/html\r\n\r\n<p style=\"color:red\">Hidden <b>treasure</b></p>\r\n";
        let terms = message_terms(raw);
        assert!(terms.contains(&"treasure".to_string()));
        assert!(!terms.contains(&"style".to_string()), "{terms:?}");
    }

    #[test]
    fn bounds_hold_for_huge_and_hostile_input() {
        let mut raw = b"Subject: big\r\n\r\n".to_vec();
        for i in 0..200_000 {
            raw.extend_from_slice(format!("w{i} ").as_bytes());
        }
        raw.extend_from_slice(&[b'x'; 1000]);
        let terms = message_terms(&raw);
        assert!(terms.len() <= MAX_TERMS);
        assert!(terms.iter().all(|t| t.chars().count() <= MAX_TERM_CHARS));
        assert!(message_terms(&[0xff, 0, b'\r', b'\n', b':']).len() <= MAX_TERMS);
    }

    #[test]
    fn a_query_matches_every_word_and_a_prefix_of_the_last() {
        let terms =
            message_terms(b"From: ada@example.org\r\nSubject: Quarterly report\r\n\r\nhi\r\n");
        assert!(Query::parse("REPORT ada").matches(&terms));
        assert!(Query::parse("quart").matches(&terms), "typing: a prefix");
        assert!(
            !Query::parse("quart ").matches(&terms),
            "a finished word is exact"
        );
        assert!(!Query::parse("report bob").matches(&terms));
        assert_eq!(
            Query::parse("ada@exa"),
            Query {
                exact: vec!["ada".into()],
                prefix: Some("exa".into())
            }
        );
        assert_eq!(
            Query::parse("report a"),
            Query {
                exact: vec!["report".into()],
                prefix: None
            },
            "a one-letter word being typed narrows nothing"
        );
        assert_eq!(Query::parse("grü").prefix.as_deref(), Some("gru"));
        assert!(Query::parse("  x ").is_empty());
        assert!(Query::parse("").is_empty());
    }

    #[test]
    fn prefix_range_holds_exactly_the_words_that_start_with_it() {
        // IndexedDB's order: UTF-16 code units.
        let utf16 = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
        let (start, end) = (utf16("rep"), utf16(&prefix_end("rep")));
        for (w, inside) in [
            ("rep", true),
            ("report", true),
            ("rep\u{ff41}", true),
            ("rep\u{2070e}", true),
            ("req", false),
            ("rea", false),
        ] {
            let w16 = utf16(w);
            assert_eq!(w16 >= start && w16 < end, inside, "{w}");
        }
    }
}
