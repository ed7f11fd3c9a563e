//! HTML mail made safe to show: sanitized with ammonia, wrapped in a document whose first head
//! element is a Content-Security-Policy, for a sandboxed `srcdoc` iframe without scripts.
//!
//! Three layers, each enough on its own against scripts: ammonia keeps only inert tags and
//! attributes; the CSP meta allows no script and no remote load; the iframe's `sandbox` has no
//! `allow-scripts`. Remote content (images, CSS `url()`, `@import`) is removed and counted until
//! the user allows it for the message; `cid:` references become `data:` URLs of the message's own
//! parts.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

/// `html` (a message's HTML body) sanitized into a complete document. `inline` maps a Content-ID
/// (without angle brackets) to a `data:` URL of that part.
pub fn render(html: &str, inline: &HashMap<String, String>, allow_remote: bool) -> SafeHtml {
    let blocked = Arc::new(AtomicUsize::new(0));
    let inline = Arc::new(inline.clone());
    let filter_blocked = blocked.clone();
    let filter_inline = inline.clone();
    let body = ammonia::Builder::default()
        .add_tags(["style", "center", "font"])
        .rm_clean_content_tags(["style"])
        .add_generic_attributes([
            "style",
            "align",
            "valign",
            "bgcolor",
            "background",
            "width",
            "height",
            "border",
            "dir",
            "color",
        ])
        .add_tag_attributes("img", ["srcset"])
        .add_tag_attributes("table", ["cellpadding", "cellspacing", "width"])
        .add_tag_attributes("font", ["face", "size"])
        .add_url_schemes(["cid", "data"])
        // Relative URLs would resolve against the app's own address.
        .url_relative(ammonia::UrlRelative::Deny)
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            filter_attribute(
                element,
                attribute,
                value,
                &filter_inline,
                allow_remote,
                &filter_blocked,
            )
        })
        .clean(html)
        .to_string();
    let mut count = blocked.load(Ordering::Relaxed);
    let body = neutralize_style_elements(&body, &inline, allow_remote, &mut count);
    let document = format!(
        "<!DOCTYPE html><html><head>\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\
         <meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <base target=\"_blank\">\
         <style>html{{color-scheme:light}}body{{margin:0;padding:.5rem;background:#fff;\
         color:#111;font-family:system-ui,sans-serif;overflow-wrap:anywhere}}\
         img{{max-width:100%}}</style></head><body>{body}</body></html>",
        csp = content_security_policy(allow_remote),
    );
    SafeHtml {
        document,
        blocked: count,
    }
}

fn is_remote(url: &str) -> bool {
    let url = url.trim().to_ascii_lowercase();
    url.starts_with("http:") || url.starts_with("https:") || url.starts_with("//")
}

fn filter_attribute<'a>(
    element: &str,
    attribute: &str,
    value: &'a str,
    inline: &HashMap<String, String>,
    allow_remote: bool,
    blocked: &AtomicUsize,
) -> Option<Cow<'a, str>> {
    let lower = value.trim().to_ascii_lowercase();
    match attribute {
        "style" => {
            let mut count = 0;
            let css = neutralize_css(value, inline, allow_remote, &mut count);
            blocked.fetch_add(count, Ordering::Relaxed);
            Some(Cow::Owned(css))
        }
        "src" if element == "img" => {
            if lower.starts_with("cid:") {
                return inline_url(inline, &value.trim()[4..]).map(Cow::Owned);
            }
            if lower.starts_with("data:image/") {
                return Some(Cow::Borrowed(value));
            }
            remote(value, allow_remote, blocked)
        }
        "srcset" | "background" => {
            if value.split(',').any(is_remote) {
                return remote(value, allow_remote, blocked);
            }
            None
        }
        // `data:` and `cid:` only for images; links keep http, https, mailto and the like.
        _ if lower.starts_with("data:") || lower.starts_with("cid:") => None,
        _ => Some(Cow::Borrowed(value)),
    }
}

/// A remote reference: kept when allowed, else removed and counted.
fn remote<'a>(value: &'a str, allow_remote: bool, blocked: &AtomicUsize) -> Option<Cow<'a, str>> {
    if !is_remote(value) {
        return None;
    }
    if allow_remote {
        Some(Cow::Borrowed(value))
    } else {
        blocked.fetch_add(1, Ordering::Relaxed);
        None
    }
}

fn inline_url(inline: &HashMap<String, String>, cid: &str) -> Option<String> {
    let cid = cid.trim().trim_matches(['<', '>']);
    inline.get(cid).cloned()
}

/// CSS with every `url(...)` that is not an inline part (or an allowed remote) emptied, and
/// every `@import` disabled: `style-src` allows no stylesheet from anywhere.
fn neutralize_css(
    css: &str,
    inline: &HashMap<String, String>,
    allow_remote: bool,
    blocked: &mut usize,
) -> String {
    let lower = css.to_ascii_lowercase();
    let mut out = String::with_capacity(css.len());
    let mut i = 0;
    while i < css.len() {
        let rest = &lower[i..];
        if rest.starts_with("url(") {
            let close = rest.find(')').map(|c| i + c).unwrap_or(css.len());
            let inner = css[i + 4..close].trim().trim_matches(['"', '\'']).trim();
            let replacement = if inner.to_ascii_lowercase().starts_with("cid:") {
                inline_url(inline, &inner[4..])
            } else if inner.to_ascii_lowercase().starts_with("data:image/")
                || (is_remote(inner) && allow_remote)
            {
                Some(inner.to_string())
            } else {
                if !inner.is_empty() {
                    *blocked += 1;
                }
                None
            };
            out.push_str("url(\"");
            out.push_str(&replacement.unwrap_or_default().replace(['"', '\\'], ""));
            out.push_str("\")");
            i = (close + 1).min(css.len());
        } else if let Some(after) = rest.strip_prefix("@import") {
            // `@import url(...)` is counted by its `url(`; `@import "..."` here.
            if !after.trim_start().starts_with("url(") {
                *blocked += 1;
            }
            out.push_str("@x-blocked-import");
            i += "@import".len();
        } else {
            let c = css[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Applies [`neutralize_css`] to the text of each `<style>` element of ammonia's output (which
/// keeps no attribute on it).
fn neutralize_style_elements(
    html: &str,
    inline: &HashMap<String, String>,
    allow_remote: bool,
    blocked: &mut usize,
) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<style>") {
        let open_end = start + "<style>".len();
        out.push_str(&rest[..open_end]);
        let after = &rest[open_end..];
        let end = after.find("</style>").unwrap_or(after.len());
        out.push_str(&neutralize_css(
            &after[..end],
            inline,
            allow_remote,
            blocked,
        ));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn body(html: &str) -> SafeHtml {
        render(html, &HashMap::new(), false)
    }

    #[wasm_bindgen_test]
    fn the_policy_is_the_first_element_of_the_head() {
        let d = body("<p>hi</p>").document;
        assert!(d.starts_with(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
             content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data: cid: blob:\">"
        ));
    }

    #[wasm_bindgen_test]
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
    }

    #[wasm_bindgen_test]
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
        let allowed = render(html, &HashMap::new(), true);
        assert!(allowed.document.contains("https://t.example/p.gif"));
        assert!(allowed
            .document
            .contains("img-src data: cid: blob: https: http:"));
    }

    #[wasm_bindgen_test]
    fn cid_images_become_data_urls() {
        let inline = HashMap::from([(
            "logo@x".to_string(),
            "data:image/png;base64,AAAA".to_string(),
        )]);
        let d = render(
            "<img src=\"cid:logo@x\"><img src=\"cid:other\">",
            &inline,
            false,
        );
        assert!(
            d.document.contains("src=\"data:image/png;base64,AAAA\""),
            "{}",
            d.document
        );
        assert_eq!(d.blocked, 0);
    }

    #[wasm_bindgen_test]
    fn data_urls_are_only_for_images() {
        let d = body("<a href=\"data:text/html,<script>alert(1)</script>\">x</a>").document;
        assert!(!d.contains("data:text/html"), "{d}");
    }
}
