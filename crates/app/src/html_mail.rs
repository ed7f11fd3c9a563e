//! HTML mail made safe to show. The browser's own parser reads the sender's HTML into an inert
//! `DOMParser` document (no script runs, nothing loads, scripting disabled as in the frame);
//! its tree is walked into a [`postino_html::tree`] and sanitised against the allow-lists by
//! the `postino-html` crate (pure Rust, tested and fuzzed natively against html5ever's tree).
//! So what is checked is exactly what the browser built, and the page ships no HTML parser.

use std::collections::HashMap;

use postino_html::tree::{build, Dom, Element};
pub use postino_html::{content_security_policy, SafeHtml};
use wasm_bindgen::JsCast;

const HTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

/// `html` (a message's HTML body) sanitised into a complete document for the reader's frame.
/// `inline` maps a Content-ID (without angle brackets) to a `data:` URL of that part.
pub fn render(html: &str, inline: &HashMap<String, String>, allow_remote: bool) -> SafeHtml {
    postino_html::sanitize(&document(html), inline, allow_remote)
}

/// The tree of `html` as the browser parses it; an empty document should the parser refuse.
fn document(html: &str) -> Element {
    let root = web_sys::DomParser::new()
        .and_then(|p| p.parse_from_string(html, web_sys::SupportedType::TextHtml))
        .ok()
        .and_then(|d| d.document_element());
    match root {
        Some(root) => build(&Browser(root.into())),
        None => Element::new("html", true),
    }
}

/// A node of the inert document.
struct Browser(web_sys::Node);

impl Dom for Browser {
    fn children(&self) -> Vec<Browser> {
        let list = self.0.child_nodes();
        (0..list.length())
            .filter_map(|i| list.item(i))
            .map(Browser)
            .collect()
    }
    fn text(&self) -> Option<String> {
        matches!(
            self.0.node_type(),
            web_sys::Node::TEXT_NODE | web_sys::Node::CDATA_SECTION_NODE
        )
        .then(|| self.0.node_value().unwrap_or_default())
    }
    fn element(&self) -> Option<Element> {
        let element = self.0.dyn_ref::<web_sys::Element>()?;
        let map = element.attributes();
        Some(Element {
            name: element.local_name(),
            html: element.namespace_uri().as_deref() == Some(HTML_NAMESPACE),
            attributes: (0..map.length())
                .filter_map(|i| map.item(i))
                .map(|a| (a.name(), a.value()))
                .collect(),
            children: Vec::new(),
        })
    }
}

/// The browser's parser and html5ever build the same trees for the golden files: the page's
/// path gives, byte for byte, what `crates/html/tests/golden.rs` expects natively.
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;

    macro_rules! golden {
        ($($name:literal),*) => {
            [$((
                $name,
                include_str!(concat!("../../html/tests/golden/", $name, ".html")),
                include_str!(concat!("../../html/tests/golden/", $name, ".expected.html")),
            )),*]
        };
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_browsers_parser_gives_the_native_goldens() {
        let inline = HashMap::from([(
            "logo@x".to_string(),
            "data:image/png;base64,iVBORw0KGgo=".to_string(),
        )]);
        let goldens = golden!(
            "attributes",
            "css-escapes",
            "newsletter",
            "style-breakout",
            "text"
        );
        for (name, input, expected) in goldens {
            let safe = postino_html::sanitize_body(&document(input), &inline, false);
            let actual = format!("<!-- blocked: {} -->\n{}\n", safe.blocked, safe.document);
            assert_eq!(
                actual, expected,
                "{name}: the browser's tree differs from html5ever's"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn deep_nesting_from_the_browser_is_flattened() {
        let html = format!("{}deep{}", "<div>".repeat(2000), "</div>".repeat(2000));
        let safe = render(&html, &HashMap::new(), false);
        assert!(safe.document.contains("deep"));
        assert!(safe.document.matches("<div>").count() <= postino_html::tree::MAX_DEPTH);
    }
}
