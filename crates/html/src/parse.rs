//! HTML text to a [`tree`](crate::tree) with html5ever, natively (feature `parse`): what the
//! tests, the golden files and the fuzz target sanitise. The app does not use it: there the
//! browser's own parser builds the tree. Like a `DOMParser` document, the parse runs with
//! scripting disabled (`<noscript>` content is markup).

use html5ever::tendril::TendrilSink;
use html5ever::{ns, parse_document, ParseOpts};
use markup5ever_rcdom::{Handle, NodeData, RcDom};

use crate::tree::{build, Dom, Element};

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
    match root {
        Some(root) => build(&Rc(root)),
        None => Element::new("html", true),
    }
}

struct Rc(Handle);

impl Dom for Rc {
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
    fn element(&self) -> Option<Element> {
        match &self.0.data {
            NodeData::Element { name, attrs, .. } => Some(Element {
                name: name.local.to_string(),
                html: name.ns == ns!(html),
                attributes: attrs
                    .borrow()
                    .iter()
                    .map(|a| (qualified(&a.name), a.value.to_string()))
                    .collect(),
                children: Vec::new(),
            }),
            _ => None,
        }
    }
}

/// An attribute's name as the DOM's `Attr.name` gives it: `xlink:href`, `lang`.
fn qualified(name: &html5ever::QualName) -> String {
    match &name.prefix {
        Some(prefix) => format!("{prefix}:{}", name.local),
        None => name.local.to_string(),
    }
}
