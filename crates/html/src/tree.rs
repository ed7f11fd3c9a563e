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

/// Elements nested deeper than this are not kept as elements: a frontend puts their text in
/// place of them (see [`Flatten`]). The sanitiser recurses once per level; Chromium's own
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

/// What a frontend needs to build a [`Node`] tree from its own DOM without recursing deeper
/// than [`MAX_DEPTH`]: below that depth, an element's descendants' text, gathered with an
/// explicit stack.
pub trait Flatten {
    /// The node's children.
    fn children(&self) -> Vec<Self>
    where
        Self: Sized;
    /// The node's text if it is a text node.
    fn text(&self) -> Option<String>;
}

/// All text below `node`, in document order, without recursion.
pub fn descendant_text<N: Flatten>(node: &N) -> String {
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

impl From<Element> for Node {
    fn from(e: Element) -> Node {
        Node::Element(e)
    }
}
