//! What a URL in a message points at, read the way a browser would resolve it, and what the
//! sanitiser puts in its place.

use std::collections::HashMap;

use crate::policy;

/// A URL as the browser would read it: the WHATWG URL parser drops leading and trailing C0
/// controls and spaces, and every tab and newline inside (so `ht\ttp:` is `http:`).
fn normalized(url: &str) -> String {
    url.trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// The kinds of reference the sanitiser tells apart.
#[derive(Debug, PartialEq, Eq)]
pub enum Reference {
    /// `cid:` a part of the message, by Content-ID (angle brackets removed).
    Part(String),
    /// `data:image/...`: inert image bytes in the URL itself.
    DataImage,
    /// `http:`, `https:`, or scheme-relative (`//host`, `\\host`: a srcdoc frame resolves it
    /// against the app's http(s) address): the sender's server learns the message was read.
    Remote,
    /// Anything else: relative paths (they would hit the app's own origin), `javascript:`,
    /// other `data:` types, unknown schemes.
    Other,
}

impl Reference {
    pub fn of(url: &str) -> Reference {
        let url = normalized(url);
        let lower = url.to_ascii_lowercase();
        if let Some(cid) = lower.strip_prefix("cid:") {
            let cid = &url[url.len() - cid.len()..];
            return Reference::Part(cid.trim().trim_matches(['<', '>']).to_string());
        }
        if lower.starts_with("data:image/") {
            return Reference::DataImage;
        }
        let scheme_relative = {
            let mut b = lower.bytes();
            matches!(
                (b.next(), b.next()),
                (Some(b'/' | b'\\'), Some(b'/' | b'\\'))
            )
        };
        if lower.starts_with("http:") || lower.starts_with("https:") || scheme_relative {
            return Reference::Remote;
        }
        Reference::Other
    }

    /// Whether `url` may be a link's target: an absolute URL whose scheme is one of
    /// [`policy::URL_SCHEMES`] (so no `javascript:`, `data:`, `cid:`, and nothing relative).
    pub fn is_link(url: &str) -> bool {
        let url = normalized(url).to_ascii_lowercase();
        let Some((scheme, _)) = url.split_once(':') else {
            return false;
        };
        let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        valid && policy::URL_SCHEMES.contains(&scheme)
    }
}

/// Upper bound on the bytes of `data:` URLs put in place of `cid:` references in one message: a
/// message that names one large part a thousand times must not make a document a thousand
/// times its size.
pub const INLINE_BUDGET: usize = 32 << 20;

/// The rules for one message's URLs, and the count of remote items left out.
pub struct UrlPolicy<'a> {
    inline: &'a HashMap<String, String>,
    allow_remote: bool,
    inline_left: usize,
    blocked: usize,
}

impl<'a> UrlPolicy<'a> {
    pub fn new(inline: &'a HashMap<String, String>, allow_remote: bool) -> Self {
        UrlPolicy {
            inline,
            allow_remote,
            inline_left: INLINE_BUDGET,
            blocked: 0,
        }
    }

    pub fn allow_remote(&self) -> bool {
        self.allow_remote
    }

    /// Remote items left out so far.
    pub fn blocked(&self) -> usize {
        self.blocked
    }

    /// Counts one remote item left out.
    pub fn block(&mut self) {
        self.blocked += 1;
    }

    /// What an image URL (an `img` `src`, a `background`, a CSS `url()`) becomes: `None` to
    /// leave it out. Remote ones are counted when left out.
    pub fn image(&mut self, url: &str) -> Option<String> {
        match Reference::of(url) {
            Reference::Part(cid) => {
                let data = self.inline.get(&cid)?;
                self.inline_left = self.inline_left.checked_sub(data.len())?;
                Some(data.clone())
            }
            Reference::DataImage => Some(url.to_string()),
            Reference::Remote if self.allow_remote => Some(url.to_string()),
            Reference::Remote => {
                self.block();
                None
            }
            Reference::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_like_a_browser_reads_them() {
        for remote in [
            "https://e.org/a",
            "HTTP://e.org",
            " \thttps://e.org",
            "ht\ttp://e.org",
            "//e.org/x",
            "\\\\e.org/x",
            "/\\e.org/x",
            "https:e.org",
        ] {
            assert_eq!(Reference::of(remote), Reference::Remote, "{remote:?}");
        }
        assert_eq!(
            Reference::of("CID:<Logo@x>"),
            Reference::Part("Logo@x".into())
        );
        assert_eq!(
            Reference::of("data:image/png;base64,AA"),
            Reference::DataImage
        );
        for other in [
            "/a.png",
            "a.png",
            "javascript:alert(1)",
            "data:text/html,x",
            "",
        ] {
            assert_eq!(Reference::of(other), Reference::Other, "{other:?}");
        }
    }

    #[test]
    fn inline_parts_stop_at_the_budget() {
        let big = "d".repeat(INLINE_BUDGET / 3 + 1);
        let inline = HashMap::from([("x".to_string(), big)]);
        let mut policy = UrlPolicy::new(&inline, false);
        assert!(policy.image("cid:x").is_some());
        assert!(policy.image("cid:x").is_some());
        assert!(policy.image("cid:x").is_none());
        assert_eq!(policy.blocked(), 0);
    }
}
