//! # postino-html: HTML mail made safe to show
//!
//! A message's HTML body becomes a complete document for a sandboxed `srcdoc` iframe. Pure Rust
//! with no browser types: the app hands it the tree the browser's own parser built (an inert
//! `DOMParser` document), so what is checked is what the browser made of the HTML; natively
//! html5ever builds the tree (feature `parse`), and the tests and the fuzz target run there.
//!
//! Map:
//! - this file: [`sanitize`] (the document) and [`sanitize_body`] (its body),
//!   [`content_security_policy`]; with `parse`, [`render`] and [`clean`] from HTML text;
//! - `tree.rs`: the parsed document the sanitiser reads;
//! - `policy.rs`: which elements and attributes survive (ammonia's allow-lists, widened);
//! - `sanitize.rs`: the walk that keeps, unwraps or drops each element, decides each URL
//!   attribute and each CSS text, and writes the output, escaped;
//! - `css.rs`: CSS rewritten on cssparser's tokens: `url()` however escaped, `image-set()`,
//!   `@import`, `expression()`; nothing written back can close a `<style>` element;
//! - `url.rs`: what a URL points at (a `cid:` part, a `data:` image, a remote server, a link)
//!   and the count of remote items left out;
//! - `parse.rs` (feature `parse`): HTML text to a tree with html5ever, as a browser would;
//! - `audit.rs` (feature `parse`): [`audit`], the output's invariant checked by reading it
//!   again with html5ever's tokenizer; the tests and the fuzz target (`fuzz/`) hold every
//!   output to it.
//!
//! Three layers, each enough on its own against scripts: only inert tags and attributes are
//! kept; the CSP meta allows no script and no remote load; the iframe's `sandbox` has no
//! `allow-scripts`. Remote content (images, CSS `url()`, `image-set()`, `@import`) is removed
//! and counted until the user allows it for the message; `cid:` references become `data:` URLs
//! of the message's own parts.

#![forbid(unsafe_code)]

#[cfg(feature = "parse")]
mod audit;
mod css;
#[cfg(feature = "parse")]
pub mod parse;
mod policy;
mod sanitize;
pub mod tree;
mod url;

use std::collections::HashMap;

#[cfg(feature = "parse")]
pub use audit::{audit, audit_body};
pub use url::INLINE_BUDGET;

/// A sanitized document for `srcdoc`, and how many remote items it does not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeHtml {
    pub document: String,
    pub blocked: usize,
}

/// The policy the document starts with. `img-src` gains `https: http:` only when the user
/// allowed remote content for this message.
pub fn content_security_policy(allow_remote: bool) -> String {
    let remote = if allow_remote { " https: http:" } else { "" };
    format!("default-src 'none'; style-src 'unsafe-inline'; img-src data: cid: blob:{remote}")
}

/// A parsed HTML body (its `<html>` element) sanitized into a complete document. `inline` maps
/// a Content-ID (without angle brackets) to a `data:` URL of that part.
pub fn sanitize(
    document: &tree::Element,
    inline: &HashMap<String, String>,
    allow_remote: bool,
) -> SafeHtml {
    let body = sanitize_body(document, inline, allow_remote);
    SafeHtml {
        document: format!("{}{}{DOCUMENT_END}", head(allow_remote), body.document),
        blocked: body.blocked,
    }
}

/// Only the sanitized body of [`sanitize`]'s document (its `<body>` element's content).
pub fn sanitize_body(
    document: &tree::Element,
    inline: &HashMap<String, String>,
    allow_remote: bool,
) -> SafeHtml {
    let mut urls = url::UrlPolicy::new(inline, allow_remote);
    let document = sanitize::body(document, &mut urls);
    SafeHtml {
        document,
        blocked: urls.blocked(),
    }
}

/// [`sanitize`] of HTML text, parsed with html5ever.
#[cfg(feature = "parse")]
pub fn render(html: &str, inline: &HashMap<String, String>, allow_remote: bool) -> SafeHtml {
    sanitize(&parse::document(html), inline, allow_remote)
}

/// [`sanitize_body`] of HTML text, parsed with html5ever.
#[cfg(feature = "parse")]
pub fn clean(html: &str, inline: &HashMap<String, String>, allow_remote: bool) -> SafeHtml {
    sanitize_body(&parse::document(html), inline, allow_remote)
}

/// Everything of the document before the body's content.
pub(crate) fn head(allow_remote: bool) -> String {
    format!(
        "<!DOCTYPE html><html><head>\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\
         <meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <base target=\"_blank\">\
         <style>html{{color-scheme:light}}body{{margin:0;padding:.5rem;background:#fff;\
         color:#111;font-family:system-ui,sans-serif;overflow-wrap:anywhere}}\
         img{{max-width:100%}}</style></head><body>",
        csp = content_security_policy(allow_remote),
    )
}

const DOCUMENT_END: &str = "</body></html>";

#[cfg(all(test, feature = "parse"))]
mod tests {
    use super::*;

    fn body(html: &str) -> SafeHtml {
        render(html, &HashMap::new(), false)
    }

    #[test]
    fn the_policy_is_the_first_element_of_the_head() {
        let d = body("<p>hi</p>").document;
        assert!(d.starts_with(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
             content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data: cid: blob:\">"
        ));
        assert!(d.ends_with("<body><p>hi</p></body></html>"), "{d}");
        audit(&d, false).unwrap();
    }

    #[test]
    fn scripts_handlers_and_javascript_urls_are_removed() {
        let d = body(
            "<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">x</a>\
             <svg><script>alert(1)</script></svg><form action=https://e.org><input></form>\
             <meta http-equiv=refresh content=\"0;url=https://e.org\"><base href=https://e.org/>",
        )
        .document;
        let lower = d.to_lowercase();
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "<svg",
            "<form",
            "<input",
            "refresh",
            "<base href",
        ] {
            assert!(!lower.contains(bad), "{bad} in {d}");
        }
        audit(&d, false).unwrap();
    }

    #[test]
    fn remote_content_is_counted_and_removed_until_allowed() {
        let html = "<img src=\"https://t.example/p.gif\" width=1 height=1>\
                    <p style=\"background:url('https://t.example/bg.png')\">x</p>\
                    <style>@import url(https://t.example/a.css); b{background:url(http://t.example/c)}</style>\
                    <img srcset=\"https://t.example/s.png 2x\">";
        let blocked = body(html);
        assert_eq!(blocked.blocked, 5, "{}", blocked.document);
        assert!(
            !blocked.document.contains("t.example"),
            "{}",
            blocked.document
        );
        audit(&blocked.document, false).unwrap();
        let allowed = render(html, &HashMap::new(), true);
        assert_eq!(allowed.blocked, 0);
        assert!(allowed.document.contains("https://t.example/p.gif"));
        assert!(allowed.document.contains("https://t.example/s.png 2x"));
        assert!(allowed
            .document
            .contains("img-src data: cid: blob: https: http:"));
        audit(&allowed.document, true).unwrap();
    }

    #[test]
    fn cid_images_become_data_urls() {
        let inline = HashMap::from([(
            "logo@x".to_string(),
            "data:image/png;base64,AAAA".to_string(),
        )]);
        let d = render(
            "<img src=\"cid:logo@x\"><img src=\"cid:other\">\
             <p style=\"background:url(cid:logo@x)\">x</p>",
            &inline,
            false,
        );
        assert!(
            d.document
                .contains("<img src=\"data:image/png;base64,AAAA\"><img>"),
            "{}",
            d.document
        );
        assert!(
            d.document
                .contains("url(&quot;data:image/png;base64,AAAA&quot;)"),
            "{}",
            d.document
        );
        assert_eq!(d.blocked, 0);
    }

    #[test]
    fn data_urls_are_only_for_images() {
        let d = body(
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>\
                      <a href=\" cid:x\">y</a>",
        )
        .document;
        assert!(
            d.ends_with(
                "<body><a target=\"_blank\" rel=\"noopener noreferrer\">x</a>\
             <a target=\"_blank\" rel=\"noopener noreferrer\">y</a></body></html>"
            ),
            "{d}"
        );
    }

    #[test]
    fn foreign_elements_are_unwrapped_and_their_code_dropped() {
        let d = body(
            "<svg><style>p{color:red}</style><a href=\"https://e.org\">svg link</a>\
             <script>alert(1)</script></svg><math><mi>x</mi></math>",
        )
        .document;
        assert!(
            d.ends_with("<body>svg linkx</body></html>"),
            "foreign <style>, <a> and <script> are not HTML ones: {d}"
        );
    }

    #[test]
    fn noscript_is_markup_as_in_a_frame_without_scripts() {
        let safe = body("<noscript><b>bold</b><img src=\"https://t.example/x.gif\"></noscript>");
        assert!(
            safe.document
                .ends_with("<body><b>bold</b><img></body></html>"),
            "{}",
            safe.document
        );
        assert_eq!(safe.blocked, 1);
    }

    #[test]
    fn head_styles_come_first_and_style_elements_keep_no_attributes() {
        let d = body(
            "<html><head><title>Hidden</title><style media=print title=t>b{color:red}</style>\
             </head><body><p>x</p><style>i{color:blue}</style></body></html>",
        )
        .document;
        assert!(
            d.ends_with("<body><style>b{color:red}</style><p>x</p><style>i{color:blue}</style></body></html>"),
            "{d}"
        );
    }

    #[test]
    fn a_leading_newline_in_pre_survives_the_frames_parser() {
        let d = body("<pre>\n\nindented</pre>").document;
        assert!(
            d.ends_with("<body><pre>\n\nindented</pre></body></html>"),
            "{d}"
        );
    }

    #[test]
    fn deep_nesting_is_flattened_not_recursed() {
        let depth = 3 * tree::MAX_DEPTH;
        let html = format!("{}deep{}", "<div>".repeat(depth), "</div>".repeat(depth));
        let d = body(&html).document;
        assert!(d.contains("deep"));
        assert!(d.matches("<div>").count() < tree::MAX_DEPTH);
        audit(&d, false).unwrap();
    }
}
