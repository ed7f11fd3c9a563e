//! HTML text to a [`tree`](crate::tree) with html5ever, natively (feature `parse`): what the
//! tests, the golden files and the fuzz target sanitise. The app does not use it: there the
//! browser's own parser builds the tree. Like a `DOMParser` document, the parse runs with
//! scripting disabled (`<noscript>` content is markup).

use html5ever::tendril::TendrilSink;
use html5ever::{ns, parse_document, ParseOpts};
use markup5ever_rcdom::{Handle, NodeData, RcDom};

use crate::tree::{descendant_text, Element, Flatten, Node, MAX_DEPTH};

/// The document `html` parses to: its `<html>` element.
pub fn document(html: &str) -> Element {
    let mut opts = ParseOpts::default();
    opts.tree_builder.scripting_enabled = false;
    let dom = parse_document(RcDom::default(), opts).one(html);
    let root = dom
        .document
        .children
        .borrow()
        .iter()
        .find_map(|c| match &c.data {
            NodeData::Element { .. } => Some(c.clone()),
            _ => None,
        });
    match root.map(|r| convert(&r, 0)) {
        Some(Node::Element(e)) => e,
        _ => Element::new("html", true),
    }
}

struct Rc(Handle);

impl Flatten for Rc {
    fn children(&self) -> Vec<Rc> {
        self.0
            .children
            .borrow()
            .iter()
            .map(|c| Rc(c.clone()))
            .collect()
    }
    fn text(&self) -> Option<String> {
        match &self.0.data {
            NodeData::Text { contents } => Some(contents.borrow().to_string()),
            _ => None,
        }
    }
}

fn convert(handle: &Handle, depth: usize) -> Node {
    match &handle.data {
        NodeData::Text { contents } => Node::Text(contents.borrow().to_string()),
        NodeData::Element { name, attrs, .. } if depth < MAX_DEPTH => Node::Element(Element {
            name: name.local.to_string(),
            html: name.ns == ns!(html),
            attributes: attrs
                .borrow()
                .iter()
                .map(|a| (qualified(&a.name), a.value.to_string()))
                .collect(),
            children: handle
                .children
                .borrow()
                .iter()
                .filter(|c| matches!(c.data, NodeData::Text { .. } | NodeData::Element { .. }))
                .map(|c| convert(c, depth + 1))
                .collect(),
        }),
        _ => Node::Text(descendant_text(&Rc(handle.clone()))),
    }
}

/// An attribute's name as the DOM's `Attr.name` gives it: `xlink:href`, `lang`.
fn qualified(name: &html5ever::QualName) -> String {
    match &name.prefix {
        Some(prefix) => format!("{prefix}:{}", name.local),
        None => name.local.to_string(),
    }
}
