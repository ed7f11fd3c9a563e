//! The invariant every output must hold, checked by reading the document again the way a
//! browser would, independently of how it was written:
//!
//! - the document is the fixed head (its CSP first), then the body, then `</body></html>`;
//! - html5ever's tokenizer reads the body (switched to raw text inside `<style>`, as the tree
//!   builder does): only elements and attributes of the allow-lists appear, no comment, no
//!   doctype. With only those elements no tree-builder rule can change how the rest is
//!   tokenized (no foreign content, no other raw-text element), so the tokens are what the
//!   frame's parser sees;
//! - no URL attribute is `javascript:`, `vbscript:` or `data:` (but `data:image/` on `img`
//!   `src` and on `background`); no `<style>` text holds `</`;
//! - cssparser reads each style sheet and `style` attribute: no `@import`, no `expression()`;
//! - while remote content is blocked: no remote `src`, `srcset` or `background`, and no string
//!   or URL token in CSS that resolves to a remote server.

use std::cell::RefCell;

use cssparser::{Parser, Token};

use crate::policy;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token as HtmlToken, TokenSink, TokenSinkResult, Tokenizer,
};

/// `Ok` when `document` (from [`crate::render`] with `allow_remote`) holds the invariant, else
/// what broke it.
pub fn audit(document: &str, allow_remote: bool) -> Result<(), String> {
    let body = document
        .strip_prefix(crate::head(allow_remote).as_str())
        .and_then(|rest| rest.strip_suffix(crate::DOCUMENT_END))
        .ok_or("the document does not start with the fixed head or end with </body></html>")?;
    audit_body(body, allow_remote)
}

/// [`audit`] of a body alone (from [`crate::clean`]).
pub fn audit_body(body: &str, allow_remote: bool) -> Result<(), String> {
    let sink = Auditor {
        allow_remote,
        state: RefCell::new(Audit::default()),
    };
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(body));
    let tokenizer = Tokenizer::new(sink, Default::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let state = tokenizer.sink.state.into_inner();
    match state.violations.into_iter().next() {
        Some(violation) => Err(violation),
        None => Ok(()),
    }
}

struct Auditor {
    allow_remote: bool,
    state: RefCell<Audit>,
}

#[derive(Default)]
struct Audit {
    style: Option<String>,
    violations: Vec<String>,
}

impl TokenSink for Auditor {
    type Handle = ();

    fn process_token(&self, token: HtmlToken, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        let mut raw = None;
        match token {
            HtmlToken::TagToken(tag) => {
                if let Some(text) = state.style.take() {
                    self.stylesheet(&text, &mut state.violations);
                }
                let name = &*tag.name;
                if tag.kind == TagKind::StartTag {
                    if !policy::TAGS.contains(&name) {
                        state.violations.push(format!("element <{name}>"));
                    }
                    for attribute in &tag.attrs {
                        let key = &*attribute.name.local;
                        if let Err(v) = self.attribute(name, key, &attribute.value) {
                            state
                                .violations
                                .push(format!("<{name} {key}=\"{}\">: {v}", attribute.value));
                        }
                    }
                    // As the tree builder would switch the tokenizer (HTML 13.2.6.4.4).
                    raw = match name {
                        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                            Some(RawKind::Rawtext)
                        }
                        "title" | "textarea" => Some(RawKind::Rcdata),
                        "script" => Some(RawKind::ScriptData),
                        _ => None,
                    };
                    if name == "style" {
                        state.style = Some(String::new());
                    }
                }
            }
            HtmlToken::CharacterTokens(text) => {
                if let Some(style) = &mut state.style {
                    style.push_str(&text);
                }
            }
            HtmlToken::CommentToken(_) => state.violations.push("a comment".into()),
            HtmlToken::DoctypeToken(_) => state.violations.push("a doctype".into()),
            HtmlToken::NullCharacterToken | HtmlToken::ParseError(_) | HtmlToken::EOFToken => {}
        }
        match raw {
            Some(kind) => TokenSinkResult::RawData(kind),
            None => TokenSinkResult::Continue,
        }
    }

    fn end(&self) {
        let mut state = self.state.borrow_mut();
        if let Some(text) = state.style.take() {
            self.stylesheet(&text, &mut state.violations);
        }
    }
}

impl Auditor {
    fn attribute(&self, element: &str, key: &str, value: &str) -> Result<(), String> {
        let listed = policy::allowed(element, key)
            || policy::fixed_attributes(element).contains(&(key, value));
        if !listed || key.starts_with("on") {
            return Err("attribute not allowed".into());
        }
        let url = browser_url(value);
        let is_url = matches!(
            key,
            "href"
                | "src"
                | "srcset"
                | "background"
                | "cite"
                | "action"
                | "formaction"
                | "poster"
                | "xlink:href"
                | "longdesc"
                | "lowsrc"
                | "dynsrc"
                | "ping"
                | "data"
        );
        if is_url {
            for scheme in ["javascript:", "vbscript:", "data:"] {
                let image = ((element == "img" && key == "src") || key == "background")
                    && url.starts_with("data:image/");
                if url.starts_with(scheme) && !image {
                    return Err(format!("{scheme} URL"));
                }
            }
        }
        if !self.allow_remote && matches!(key, "src" | "srcset" | "background") {
            // Only a srcset is a list; a `data:` URL in `src` may hold commas of its own.
            let remote = match key {
                "srcset" => value.split(',').any(remote),
                _ => remote(value),
            };
            if remote {
                return Err("a remote URL while remote content is blocked".into());
            }
        }
        if key == "style" {
            self.css(value)?;
        }
        Ok(())
    }

    fn stylesheet(&self, text: &str, violations: &mut Vec<String>) {
        if text.contains("</") {
            violations.push(format!("</ inside <style>: {text}"));
        }
        if let Err(v) = self.css(text) {
            violations.push(format!("<style>: {v}: {text}"));
        }
    }

    fn css(&self, text: &str) -> Result<(), String> {
        let mut parser = Parser::new(text);
        self.tokens(&mut parser)
    }

    fn tokens(&self, p: &mut Parser) -> Result<(), String> {
        let mut result = Ok(());
        while let Ok(token) = p.next() {
            match token.clone() {
                Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => {
                    return Err("@import".into())
                }
                Token::Function(name) if name.eq_ignore_ascii_case("expression") => {
                    return Err("expression()".into())
                }
                Token::QuotedString(u) | Token::UnquotedUrl(u) | Token::BadUrl(u)
                    if !self.allow_remote && remote(&u) =>
                {
                    return Err(format!("remote URL {u:?} while remote content is blocked"));
                }
                Token::Function(_)
                | Token::ParenthesisBlock
                | Token::SquareBracketBlock
                | Token::CurlyBracketBlock => {
                    let nested = p
                        .parse_nested_block(|b| Ok::<_, cssparser::ParseError<()>>(self.tokens(b)));
                    if let Ok(Err(v)) = nested {
                        result = Err(v);
                    }
                }
                _ => {}
            }
            result.clone()?;
        }
        result
    }
}

/// A URL as the WHATWG URL parser reads it: C0 controls and spaces trimmed, tabs and newlines
/// removed, lower case.
fn browser_url(url: &str) -> String {
    url.trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether `url` (or the first word of a `srcset` candidate) would load from a server.
fn remote(url: &str) -> bool {
    let url = browser_url(url);
    let url = url.split([' ', '\x0c']).next().unwrap_or("");
    let slashes = url.starts_with("//")
        || url.starts_with("\\\\")
        || url.starts_with("/\\")
        || url.starts_with("\\/");
    url.starts_with("http:") || url.starts_with("https:") || slashes
}
