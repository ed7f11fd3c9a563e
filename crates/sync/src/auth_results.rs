//! The Authentication-Results header (RFC 8601): what the receiving server concluded about SPF,
//! DKIM and DMARC, for the badge in the message list.
//!
//! ```text
//! Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.org;
//!     dkim=pass header.d=example.org; dmarc=pass (p=none) header.from=example.org
//! ```
//! Only the topmost header counts: the receiving server adds it above everything the sender
//! wrote, and a sender can forge any header further down.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResults {
    /// The server that checked (the `authserv-id`).
    pub server: String,
    /// Result words as written (`pass`, `fail`, `softfail`, `none`, ...), lower case.
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
}

impl AuthResults {
    /// Parse one header value. Tolerant: unknown methods and properties are skipped.
    pub fn parse(value: &str) -> AuthResults {
        let value = strip_comments(value);
        let mut parts = value.split(';');
        let mut out = AuthResults {
            server: parts
                .next()
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or_default()
                .to_string(),
            ..Default::default()
        };
        for part in parts {
            let Some((method, rest)) = part.trim().split_once('=') else {
                continue;
            };
            let result = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let slot = match method.trim().to_ascii_lowercase().as_str() {
                "spf" => &mut out.spf,
                "dkim" => &mut out.dkim,
                "dmarc" => &mut out.dmarc,
                _ => continue,
            };
            // Several DKIM signatures: one pass is enough for the badge.
            if slot.as_deref() != Some("pass") {
                *slot = Some(result);
            }
        }
        out
    }

    /// Whether nothing was checked.
    pub fn is_empty(&self) -> bool {
        self.spf.is_none() && self.dkim.is_none() && self.dmarc.is_none()
    }
}

/// The topmost `Authentication-Results` header of `message` (whose bytes are `raw`): the one the
/// receiving server added. mail-parser's `header_raw` gives the last one, which a sender can
/// forge.
pub fn topmost(message: &mail_parser::Message<'_>, raw: &[u8]) -> Option<String> {
    message
        .headers()
        .iter()
        .find(|h| {
            h.name
                .as_str()
                .eq_ignore_ascii_case("Authentication-Results")
        })
        .and_then(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Whether the receiving server's results (`value`, the topmost header) vouch for the domain of
/// `from_address`: DMARC passed for it (RFC 7489), or a DKIM signature passed whose signing
/// domain (`header.d`, or the domain of `header.i`) is that domain or a parent of it (relaxed
/// alignment). SPF alone never does: it checks the envelope sender, not the From: a reader sees.
pub fn vouches_for(value: &str, from_address: &str) -> bool {
    let Some(domain) = from_address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
    else {
        return false;
    };
    let aligned = |d: &str| {
        let d = d
            .trim()
            .trim_start_matches('@')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        !d.is_empty()
            && (domain == d
                || domain
                    .strip_suffix(d.as_str())
                    .is_some_and(|h| h.ends_with('.')))
    };
    let value = strip_comments(value);
    value.split(';').skip(1).any(|part| {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
            return false;
        };
        if !result.eq_ignore_ascii_case("pass") {
            return false;
        }
        let property = |name: &str| {
            part.split_whitespace().find_map(|w| {
                w.split_once('=')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim_matches('"').to_string())
            })
        };
        match method.to_ascii_lowercase().as_str() {
            // A DMARC pass counts only for the From domain it names: one without
            // `header.from` could be for any domain.
            "dmarc" => property("header.from").is_some_and(|d| domain == d.to_ascii_lowercase()),
            "dkim" => property("header.d")
                .or_else(|| {
                    property("header.i")
                        .and_then(|i| i.rsplit_once('@').map(|(_, d)| d.to_string()))
                })
                .is_some_and(|d| aligned(&d)),
            _ => false,
        }
    })
}

/// RFC 5322 comments `( ... )`, nested, removed.
fn strip_comments(s: &str) -> String {
    let mut depth = 0usize;
    s.chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_style_header() {
        let a = AuthResults::parse(
            "mx.google.com;\r\n       dkim=pass header.i=@example.org header.s=s1;\r\n       \
             spf=pass (google.com: domain of a@example.org designates 1.2.3.4 as permitted sender) \
             smtp.mailfrom=a@example.org;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org",
        );
        assert_eq!(a.server, "mx.google.com");
        assert_eq!(a.spf.as_deref(), Some("pass"));
        assert_eq!(a.dkim.as_deref(), Some("pass"));
        assert_eq!(a.dmarc.as_deref(), Some("pass"));
    }

    #[test]
    fn failures_and_several_dkim_results() {
        let a = AuthResults::parse(
            "mx.example.net; dkim=fail header.d=a.org; dkim=pass header.d=b.org; spf=SoftFail; dmarc=fail",
        );
        assert_eq!(a.dkim.as_deref(), Some("pass"));
        assert_eq!(a.spf.as_deref(), Some("softfail"));
        assert_eq!(a.dmarc.as_deref(), Some("fail"));
    }

    #[test]
    fn only_dmarc_or_aligned_dkim_vouch_for_the_from_domain() {
        let gmail = "mx.google.com; dkim=pass header.i=@example.org header.s=s1; \
                     spf=pass smtp.mailfrom=a@example.org; dmarc=pass (p=REJECT) header.from=example.org";
        assert!(vouches_for(gmail, "news@example.org"));
        assert!(
            vouches_for(gmail, "news@mail.example.org"),
            "relaxed DKIM alignment"
        );
        assert!(
            !vouches_for(gmail, "ceo@bank.example"),
            "the pass is for another domain"
        );
        assert!(!vouches_for(gmail, "not an address"));
        // SPF alone, or DKIM of an unrelated domain, proves nothing about the From: shown.
        let spf_only = "mx.example.net; spf=pass smtp.mailfrom=bank.example; dmarc=fail header.from=bank.example";
        assert!(!vouches_for(spf_only, "ceo@bank.example"));
        let other_dkim = "mx.example.net; dkim=pass header.d=mailer.example; dmarc=none";
        assert!(!vouches_for(other_dkim, "ceo@bank.example"));
        assert!(
            !vouches_for(other_dkim, "ceo@notmailer.example"),
            "suffix without a dot"
        );
        assert!(vouches_for(
            "mx; dkim=pass header.d=bank.example",
            "ceo@Bank.Example"
        ));
        assert!(
            !vouches_for("dkim=pass header.d=bank.example", "ceo@bank.example"),
            "the first part is the authserv-id"
        );
        assert!(!vouches_for("", "ceo@bank.example"));
        assert!(
            !vouches_for("mx; dmarc=pass", "ceo@bank.example"),
            "a pass for no domain"
        );
    }

    #[test]
    fn garbage_is_empty() {
        assert!(AuthResults::parse("").is_empty());
        assert!(AuthResults::parse(";;;=;(((").is_empty());
        assert!(AuthResults::parse("x; none").is_empty());
    }
}
