//! The document the sanitiser reads: elements, their attributes and text, as an HTML parser
//! built them. In the app the browser's own parser builds it (an inert `DOMParser` document,
//! `crates/app/src/html_mail.rs`), so what is checked is exactly what the browser made of the
//! sender's HTML; natively (tests, fuzzing) html5ever does (`parse.rs`, feature `parse`). Both
//! follow the HTML standard's tree construction with scripting disabled. Comments, doctypes
//! and processing instructions are not part of it: nothing of them is shown.

/// A node of the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// An element: its local name (lower case for HTML elements, as the parser makes it), whether
/// it is in the HTML namespace (not SVG or MathML), its attributes in document order, its
/// children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub html: bool,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// Elements nested deeper than this are not kept as elements: [`build`] puts their text in
/// place of them. The sanitiser recurses once per level; Chromium's own
/// parser stops nesting at 512.
pub const MAX_DEPTH: usize = 256;

impl Element {
    pub fn new(name: &str, html: bool) -> Element {
        Element {
            name: name.to_string(),
            html,
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The HTML child element named `name`, if any.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| match c {
            Node::Element(e) if e.html && e.name == name => Some(e),
            _ => None,
        })
    }

    /// The text of the element's text children, joined (the text of a `<style>`).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            if let Node::Text(t) = child {
                out.push_str(t);
            }
        }
        out
    }
}

/// A parser's DOM, as the sanitiser's tree is built from it ([`build`]): the browser's
/// (`crates/app/src/html_mail.rs`) or html5ever's (`parse.rs`).
pub trait Dom: Sized {
    /// The node's children.
    fn children(&self) -> Vec<Self>;
    /// The node's text, if it is a text node.
    fn text(&self) -> Option<String>;
    /// The node as an element without its children (name, namespace, attributes), if it is
    /// one. Other nodes (comments, processing instructions) are neither.
    fn element(&self) -> Option<Element>;
}

/// The tree of `root` (a document's `<html>` element); an empty `<html>` if it is no element.
/// Elements deeper than [`MAX_DEPTH`] become their descendants' text, gathered without
/// recursion.
pub fn build<N: Dom>(root: &N) -> Element {
    match node(root, 0) {
        Some(Node::Element(e)) => e,
        _ => Element::new("html", true),
    }
}

fn node<N: Dom>(n: &N, depth: usize) -> Option<Node> {
    if let Some(text) = n.text() {
        return Some(Node::Text(text));
    }
    let mut element = n.element()?;
    if depth >= MAX_DEPTH {
        return Some(Node::Text(descendant_text(n)));
    }
    element.children = n
        .children()
        .iter()
        .filter_map(|c| node(c, depth + 1))
        .collect();
    Some(Node::Element(element))
}

/// All text below `node`, in document order, without recursion.
fn descendant_text<N: Dom>(node: &N) -> String {
    let mut out = String::new();
    let mut stack: Vec<N> = node.children().into_iter().rev().collect();
    while let Some(n) = stack.pop() {
        match n.text() {
            Some(t) => out.push_str(&t),
            None => stack.extend(n.children().into_iter().rev()),
        }
    }
    out
}
