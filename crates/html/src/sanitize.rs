//! The walk over a parsed document ([`crate::tree`]): each element is kept, replaced by its
//! children or dropped by `policy.rs`; each kept attribute has its URL or CSS decided (`img`
//! `src`, `srcset` and `background` by [`UrlPolicy`], every `style` attribute and `<style>`
//! element by [`css::rewrite`], links by scheme); and the result is written out here, escaped,
//! so nothing of the input reaches the output as markup. The output holds only listed
//! elements, none of them raw text but `<style>`, whose text cannot close it: parsed again in
//! the frame, it makes the tree that was checked.

use crate::css;
use crate::policy;
use crate::tree::{Element, Node};
use crate::url::{Reference, UrlPolicy};

/// The sanitised content for the frame's `<body>`: the `<style>` elements of the document's
/// head, then the body's content.
pub fn body(document: &Element, urls: &mut UrlPolicy) -> String {
    let mut out = Writer {
        out: String::new(),
        urls,
    };
    let root = if document.html && document.name == "html" {
        document
    } else {
        // A fragment or a lone element: all of it is content.
        out.node(&Node::Element(document.clone()));
        return out.out;
    };
    if let Some(head) = root.child("head") {
        for child in &head.children {
            if let Node::Element(e) = child {
                if e.html && e.name == "style" {
                    out.element(e);
                }
            }
        }
    }
    if let Some(body) = root.child("body") {
        out.children(&body.children);
    }
    out.out
}

struct Writer<'u, 'i> {
    out: String,
    urls: &'u mut UrlPolicy<'i>,
}

impl Writer<'_, '_> {
    fn children(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.node(node);
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Text(text) => escape(text, false, &mut self.out),
            Node::Element(e) if e.html && policy::TAGS.contains(&e.name.as_str()) => {
                self.element(e)
            }
            Node::Element(e) if policy::DROPPED.contains(&e.name.as_str()) => {}
            Node::Element(e) => self.children(&e.children),
        }
    }

    /// A kept element.
    fn element(&mut self, e: &Element) {
        let name = e.name.as_str();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in &e.attributes {
            let key = key.as_str();
            // A style sheet's `title` or `media` would only pick which sheets apply.
            if !policy::allowed(name, key) || name == "style" {
                continue;
            }
            if let Some(value) = self.attribute(name, key, value) {
                self.write_attribute(key, &value);
            }
        }
        for (key, value) in policy::fixed_attributes(name) {
            self.write_attribute(key, value);
        }
        self.out.push('>');
        if policy::VOID.contains(&name) {
            return;
        }
        if name == "style" {
            let css = css::rewrite(&e.text(), self.urls);
            // `css::rewrite` never writes `</`; should that break, the sheet goes, not the wall.
            debug_assert!(!css.contains("</"), "{css}");
            if !css.contains("</") {
                self.out.push_str(&css);
            }
        } else {
            // The parser drops one newline right after `<pre>`: keep the sender's.
            if name == "pre"
                && matches!(e.children.first(), Some(Node::Text(t)) if t.starts_with('\n'))
            {
                self.out.push('\n');
            }
            self.children(&e.children);
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn write_attribute(&mut self, key: &str, value: &str) {
        self.out.push(' ');
        self.out.push_str(key);
        self.out.push_str("=\"");
        escape(value, true, &mut self.out);
        self.out.push('"');
    }

    /// What attribute `key` of `element` becomes; `None` removes it.
    fn attribute(&mut self, element: &str, key: &str, value: &str) -> Option<String> {
        match key {
            "style" => Some(css::rewrite(value, self.urls)),
            "src" if element == "img" => self.urls.image(value),
            "background" => self.urls.image(value),
            "srcset" => self.srcset(value),
            // Links keep http, https, mailto and the like; no `data:`, no `cid:`, no relative.
            "href" | "cite" => Reference::is_link(value).then(|| value.to_string()),
            _ => Some(value.to_string()),
        }
    }

    /// A `srcset` is kept only when each of its candidates is an allowed remote URL; one that
    /// names a remote URL counts once while remote content is blocked.
    fn srcset(&mut self, value: &str) -> Option<String> {
        let references: Vec<Reference> = value
            .split(',')
            .map(|candidate| Reference::of(candidate.split_whitespace().next().unwrap_or("")))
            .collect();
        if !references.contains(&Reference::Remote) {
            return None;
        }
        if !self.urls.allow_remote() {
            self.urls.block();
            return None;
        }
        references
            .iter()
            .all(|r| *r == Reference::Remote)
            .then(|| value.to_string())
    }
}

/// Text or a double-quoted attribute value, escaped as html5ever's serialiser does, with `<`
/// and `>` escaped in attributes too.
fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}
