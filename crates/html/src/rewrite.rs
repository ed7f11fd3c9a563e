//! The second pass, over ammonia's output: html5ever's tokenizer reads it again (switched to
//! raw text inside `<style>`, as the tree builder does), and each token is written back with
//! its URLs and CSS decided: `img` `src`, `srcset` and `background` by [`UrlPolicy`], every
//! `style` attribute and `<style>` element by [`css::rewrite`], `data:` and `cid:` removed
//! everywhere else. Working on tokens, not on the serialised text, means an attribute value
//! that reads `<style>` is a value, and a `<style title=x>` is a style element.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
};

use crate::css;
use crate::url::{Reference, UrlPolicy};

/// `html` (ammonia's output) with its URLs and CSS rewritten.
pub fn rewrite(html: &str, urls: &mut UrlPolicy) -> String {
    let sink = Rewriter(RefCell::new(State {
        out: String::with_capacity(html.len()),
        urls,
        style: None,
    }));
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(sink, Default::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.0.into_inner().out
}

struct Rewriter<'u, 'i>(RefCell<State<'u, 'i>>);

struct State<'u, 'i> {
    out: String,
    urls: &'u mut UrlPolicy<'i>,
    /// The text of the `<style>` element being read.
    style: Option<String>,
}

impl TokenSink for Rewriter<'_, '_> {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag && &*tag.name == "style" => {
                state.close_style();
                state.out.push_str("<style>");
                state.style = Some(String::new());
                return TokenSinkResult::RawData(RawKind::Rawtext);
            }
            Token::TagToken(tag) if tag.kind == TagKind::EndTag && &*tag.name == "style" => {
                state.close_style();
            }
            Token::TagToken(tag) => state.tag(&tag),
            Token::CharacterTokens(text) => state.text(&text),
            Token::NullCharacterToken => state.text("\u{FFFD}"),
            // Ammonia leaves no comment and no doctype; a parse error changes nothing here.
            Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::ParseError(_)
            | Token::EOFToken => {}
        }
        TokenSinkResult::Continue
    }

    fn end(&self) {
        self.0.borrow_mut().close_style();
    }
}

impl State<'_, '_> {
    fn text(&mut self, text: &str) {
        match &mut self.style {
            Some(style) => style.push_str(text),
            None => escape(text, false, &mut self.out),
        }
    }

    fn close_style(&mut self) {
        if let Some(text) = self.style.take() {
            let css = css::rewrite(&text, self.urls);
            // `css::rewrite` never writes `</`; should that break, the sheet goes, not the wall.
            debug_assert!(!css.contains("</"), "{css}");
            if !css.contains("</") {
                self.out.push_str(&css);
            }
            self.out.push_str("</style>");
        }
    }

    fn tag(&mut self, tag: &Tag) {
        self.close_style();
        let name = &*tag.name;
        if tag.kind == TagKind::EndTag {
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
            return;
        }
        self.out.push('<');
        self.out.push_str(name);
        for attribute in &tag.attrs {
            let key = &*attribute.name.local;
            if let Some(value) = self.attribute(name, key, &attribute.value) {
                self.out.push(' ');
                self.out.push_str(key);
                self.out.push_str("=\"");
                escape(&value, true, &mut self.out);
                self.out.push('"');
            }
        }
        self.out.push('>');
    }

    /// What attribute `key` of `element` becomes; `None` removes it.
    fn attribute(&mut self, element: &str, key: &str, value: &str) -> Option<String> {
        match key {
            "style" => Some(css::rewrite(value, self.urls)),
            "src" if element == "img" => self.urls.image(value),
            "background" => self.urls.image(value),
            "srcset" => self.srcset(value),
            // `data:` and `cid:` only for images; links keep http, https, mailto and the like.
            _ => match Reference::of(value) {
                Reference::Part(_) | Reference::DataImage => None,
                _ if Reference::is_data(value) => None,
                _ => Some(value.to_string()),
            },
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
