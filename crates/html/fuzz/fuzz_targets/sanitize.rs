//! Any input -> a document that, read again by html5ever and cssparser, holds
//! `postino_html::audit`: only allowed elements and attributes, no `</` inside `<style>`, no
//! `@import` or `expression()`, no script URL, and no remote URL while remote content is
//! blocked; and the output, read again, sanitises to itself. The first byte picks whether remote content is allowed; the rest is the HTML.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let allow_remote = flags & 1 == 1;
    let html = String::from_utf8_lossy(rest);
    let inline = HashMap::from([(
        "p@x".to_string(),
        "data:image/png;base64,iVBORw0KGgo=".to_string(),
    )]);
    let safe = postino_html::render(&html, &inline, allow_remote);
    if let Err(violation) = postino_html::audit(&safe.document, allow_remote) {
        panic!("{violation}\ninput: {html:?}\noutput: {}", safe.document);
    }
    // Read again as the frame reads it, the body sanitises to itself: the frame builds the
    // tree that was checked.
    let body = &safe.document[safe.document.find("<body>").unwrap() + 6..];
    let body = body.strip_suffix("</body></html>").unwrap();
    let frame = postino_html::parse::document(&format!("<!DOCTYPE html><html><head></head><body>{body}"));
    let again = postino_html::sanitize_body(&frame, &inline, allow_remote).document;
    assert_eq!(again, body, "not a fixed point\ninput: {html:?}");
    if allow_remote {
        assert_eq!(safe.blocked, 0);
    }
});
