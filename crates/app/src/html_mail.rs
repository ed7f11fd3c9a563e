//! HTML mail made safe to show. The browser's own parser reads the sender's HTML into an inert
//! `DOMParser` document (no script runs, nothing loads, scripting disabled as in the frame);
//! its tree is walked into a [`postino_html::tree`] and sanitised against the allow-lists by
//! the `postino-html` crate (pure Rust, tested and fuzzed natively against html5ever's tree).
//! So what is checked is exactly what the browser built, and the page ships no HTML parser.

use std::collections::HashMap;

use postino_html::tree::{descendant_text, Element, Flatten, Node, MAX_DEPTH};
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
    match root.map(|r| convert(&r.into(), 0)) {
        Some(Node::Element(e)) => e,
        _ => Element::new("html", true),
    }
}

struct Dom(web_sys::Node);

impl Flatten for Dom {
    fn children(&self) -> Vec<Dom> {
        children(&self.0).into_iter().map(Dom).collect()
    }
    fn text(&self) -> Option<String> {
        is_text(&self.0).then(|| self.0.node_value().unwrap_or_default())
    }
}

fn is_text(node: &web_sys::Node) -> bool {
    matches!(
        node.node_type(),
        web_sys::Node::TEXT_NODE | web_sys::Node::CDATA_SECTION_NODE
    )
}

fn children(node: &web_sys::Node) -> Vec<web_sys::Node> {
    let list = node.child_nodes();
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

fn convert(node: &web_sys::Node, depth: usize) -> Node {
    if is_text(node) {
        return Node::Text(node.node_value().unwrap_or_default());
    }
    let Some(element) = node.dyn_ref::<web_sys::Element>() else {
        return Node::Text(String::new());
    };
    if depth >= MAX_DEPTH {
        return Node::Text(descendant_text(&Dom(node.clone())));
    }
    let map = element.attributes();
    let attributes = (0..map.length())
        .filter_map(|i| map.item(i))
        .map(|a| (a.name(), a.value()))
        .collect();
    Element {
        name: element.local_name(),
        html: element.namespace_uri().as_deref() == Some(HTML_NAMESPACE),
        attributes,
        children: children(node)
            .iter()
            .filter(|c| is_text(c) || c.node_type() == web_sys::Node::ELEMENT_NODE)
            .map(|c| convert(c, depth + 1))
            .collect(),
    }
    .into()
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
        assert!(safe.document.matches("<div>").count() <= MAX_DEPTH);
    }
}
