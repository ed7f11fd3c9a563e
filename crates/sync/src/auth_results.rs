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
    fn garbage_is_empty() {
        assert!(AuthResults::parse("").is_empty());
        assert!(AuthResults::parse(";;;=;(((").is_empty());
        assert!(AuthResults::parse("x; none").is_empty());
    }
}
