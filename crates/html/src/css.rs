//! CSS from a message, rewritten token by token: cssparser (the tokenizer Servo and ammonia use,
//! CSS Syntax Level 3) reads it, and only what each token allows is written back, escaped by
//! this module. Nothing of the input is copied as text, so whatever the sender wrote (an
//! escaped `u\72l(`, a quote that closes early, `</style` inside a string) comes out as the
//! tokens a browser would have seen, and no byte more.
//!
//! - `url()` and `src()` (however escaped or cased), the strings of `image-set()`, `image()`,
//!   `cross-fade()` (and their `-webkit-` forms): image references, decided by [`UrlPolicy`]:
//!   `cid:` parts become `data:` URLs, `data:image/` stays, remote ones are counted and emptied
//!   unless allowed, the rest is emptied.
//! - Any other string that looks like a remote URL is emptied too when remote content is
//!   blocked (not counted): a function this list misses still loads nothing.
//! - `@import` rules are removed (the frame's CSP allows no stylesheet to load; a remote one is
//!   counted while remote content is blocked); `expression()` is removed.
//! - Output never holds `</`: strings and names escape `<` and `>`, and a space is put between
//!   a `<` delimiter and a following `/`. So the text cannot end a `<style>` element early.

use std::fmt::Write;

use cssparser::{ParseError, Parser, ToCss, Token, TokenSerializationType};

use crate::url::{Reference, UrlPolicy};

/// Blocks nested deeper than this are dropped: the rewrite recurses once per level.
const MAX_DEPTH: usize = 32;

/// `css` (a style sheet, or a `style` attribute's declarations) with its URLs decided by
/// `urls`.
pub fn rewrite(css: &str, urls: &mut UrlPolicy) -> String {
    let mut parser = Parser::new(css);
    let mut out = CssOut {
        text: String::with_capacity(css.len()),
        prev: TokenSerializationType::Nothing,
    };
    walk(&mut parser, urls, &mut out, 0, Context::Plain);
    out.text
}

/// Where a string token stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Plain,
    /// Directly inside `image-set()`, `image()` or `cross-fade()`: a string is an image URL.
    Images,
}

type Nested = Result<(), ParseError<()>>;

fn walk(p: &mut Parser, urls: &mut UrlPolicy, out: &mut CssOut, depth: usize, context: Context) {
    while let Ok(token) = p.next_including_whitespace() {
        let token = token.clone();
        match &token {
            Token::Function(name) => {
                let lower = name.to_ascii_lowercase();
                let bare = ["-webkit-", "-moz-", "-o-", "-ms-"]
                    .iter()
                    .find_map(|prefix| lower.strip_prefix(prefix))
                    .unwrap_or(&lower);
                match bare {
                    "url" | "src" => {
                        let mut url = None;
                        let _ = p.parse_nested_block(|b| -> Nested {
                            if let Ok(Token::QuotedString(s)) = b.next() {
                                url = Some(s.to_string());
                            }
                            Ok(())
                        });
                        out.url(url.and_then(|u| urls.image(&u)).as_deref());
                    }
                    // Old Internet Explorer ran this as script. The block is skipped unread.
                    "expression" => {}
                    _ if depth >= MAX_DEPTH => {}
                    _ => {
                        let inner = match bare {
                            "image-set" | "image" | "cross-fade" => Context::Images,
                            _ => Context::Plain,
                        };
                        let mut text = String::new();
                        write_ident(name, &mut text);
                        text.push('(');
                        out.push(&text, token.serialization_type());
                        nested(p, urls, out, depth, inner);
                        out.push(")", TokenSerializationType::Nothing);
                    }
                }
            }
            Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                if depth >= MAX_DEPTH {
                    continue;
                }
                let (open, close) = match token {
                    Token::ParenthesisBlock => ("(", ")"),
                    Token::SquareBracketBlock => ("[", "]"),
                    _ => ("{", "}"),
                };
                out.push(open, token.serialization_type());
                nested(p, urls, out, depth, Context::Plain);
                out.push(close, TokenSerializationType::Nothing);
            }
            Token::UnquotedUrl(url) => out.url(urls.image(url).as_deref()),
            Token::QuotedString(s) => {
                let kept = match context {
                    Context::Images => urls.image(s),
                    Context::Plain if urls.allow_remote() => Some(s.to_string()),
                    Context::Plain => {
                        (Reference::of(s) != Reference::Remote).then(|| s.to_string())
                    }
                };
                let mut text = String::new();
                write_string(kept.as_deref().unwrap_or(""), &mut text);
                out.push(&text, token.serialization_type());
            }
            Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => {
                skip_import(p, urls);
            }
            Token::AtKeyword(name) => {
                let mut text = String::from("@");
                write_ident(name, &mut text);
                out.push(&text, token.serialization_type());
            }
            Token::Ident(name) => {
                let mut text = String::new();
                write_ident(name, &mut text);
                out.push(&text, token.serialization_type());
            }
            Token::Hash(name) | Token::IDHash(name) => {
                let mut text = String::from("#");
                if matches!(token, Token::IDHash(_)) {
                    write_ident(name, &mut text);
                } else {
                    write_name(name, &mut text);
                }
                out.push(&text, token.serialization_type());
            }
            Token::Dimension {
                has_sign,
                value,
                int_value,
                unit,
            } => {
                let mut text = Token::Number {
                    has_sign: *has_sign,
                    value: *value,
                    int_value: *int_value,
                }
                .to_css_string();
                // A unit `e3` written after a number would read as an exponent.
                let mut unit: &str = unit;
                if let Some(rest) = unit.strip_prefix(['e', 'E']) {
                    if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit() || c == '-')
                    {
                        hex_escape(unit.as_bytes()[0] as char, &mut text);
                        unit = rest;
                    }
                }
                write_name(unit, &mut text);
                out.push(&text, token.serialization_type());
            }
            // A lone backslash or NUL has no meaning; the rest of these cannot be written back
            // safely or carry nothing (`<!--`, `-->`, broken strings and URLs).
            Token::Delim('\\' | '\0')
            | Token::BadUrl(_)
            | Token::BadString(_)
            | Token::CDO
            | Token::CDC
            | Token::Comment(_) => {}
            // Numbers, whitespace, punctuation, delimiters, stray closing brackets: their
            // serialisation holds no quote, escape or name.
            other => out.push(&other.to_css_string(), other.serialization_type()),
        }
    }
}

fn nested(p: &mut Parser, urls: &mut UrlPolicy, out: &mut CssOut, depth: usize, context: Context) {
    let _ = p.parse_nested_block(|b| -> Nested {
        walk(b, urls, out, depth + 1, context);
        Ok(())
    });
}

/// Skips the rest of an `@import` rule (to its `;`, or through a `{}` block), counting it once
/// when it names a remote style sheet that is blocked.
fn skip_import(p: &mut Parser, urls: &mut UrlPolicy) {
    let mut remote = false;
    while let Ok(token) = p.next() {
        match token {
            Token::Semicolon | Token::CurlyBracketBlock => break,
            Token::UnquotedUrl(u) | Token::QuotedString(u) => {
                remote |= Reference::of(u) == Reference::Remote;
            }
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                let _ = p.parse_nested_block(|b| -> Nested {
                    if let Ok(Token::QuotedString(u)) = b.next() {
                        remote |= Reference::of(u) == Reference::Remote;
                    }
                    Ok(())
                });
            }
            _ => {}
        }
    }
    if remote && !urls.allow_remote() {
        urls.block();
    }
}

/// The rewritten text, with what cssparser needs between two tokens so that they do not run
/// together once a comment or a removed token no longer separates them.
struct CssOut {
    text: String,
    prev: TokenSerializationType,
}

impl CssOut {
    fn push(&mut self, text: &str, kind: TokenSerializationType) {
        if self.prev.needs_separator_when_before(kind) {
            self.raw("/**/");
        }
        self.raw(text);
        self.prev = kind;
    }

    fn raw(&mut self, text: &str) {
        if self.text.ends_with('<') && text.starts_with('/') {
            self.text.push(' ');
        }
        self.text.push_str(text);
    }

    fn url(&mut self, url: Option<&str>) {
        let mut text = String::from("url(");
        write_string(url.unwrap_or(""), &mut text);
        text.push(')');
        self.push(&text, Token::UnquotedUrl("".into()).serialization_type());
    }
}

fn hex_escape(c: char, out: &mut String) {
    let _ = write!(out, "\\{:x} ", c as u32);
}

/// A double-quoted CSS string. Quotes, backslashes, controls and `<`, `>`, `&` are hex-escaped:
/// the text can stand inside a `<style>` element or an attribute.
fn write_string(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' | '<' | '>' | '&' | '\u{0}'..='\u{1f}' | '\u{7f}' => hex_escape(c, out),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Name characters as they are; other printable ASCII behind a backslash (`.sm\:w-full`);
/// controls, quotes and `<`, `>`, `&` hex-escaped (CSS Syntax 3, 4.3.7).
fn write_name(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => out.push(c),
            '\0' => out.push('\u{FFFD}'),
            c if !c.is_ascii() => out.push(c),
            '<' | '>' | '&' | '"' | '\'' | '\u{0}'..='\u{20}' | '\u{7f}' => hex_escape(c, out),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
}

/// An identifier: like a name, but it may not start with a digit, nor be a lone `-`.
fn write_ident(value: &str, out: &mut String) {
    if let Some(rest) = value.strip_prefix("--") {
        out.push_str("--");
        return write_name(rest, out);
    }
    if value == "-" {
        out.push_str("\\-");
        return;
    }
    let mut rest = value;
    if let Some(r) = rest.strip_prefix('-') {
        out.push('-');
        rest = r;
    }
    if let Some(digit) = rest.chars().next().filter(char::is_ascii_digit) {
        hex_escape(digit, out);
        rest = &rest[1..];
    }
    write_name(rest, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn css(text: &str, allow_remote: bool) -> (String, usize) {
        let inline = HashMap::from([("p@x".to_string(), "data:image/png;base64,AA".to_string())]);
        let mut urls = UrlPolicy::new(&inline, allow_remote);
        let out = rewrite(text, &mut urls);
        (out, urls.blocked())
    }

    #[test]
    fn ordinary_css_comes_back_as_it_was() {
        for text in [
            "p{color:red;margin:0 auto}",
            "a:hover>b.c #d{font:12px/1.5 \"Helvetica Neue\",sans-serif!important}",
            "@media (max-width:600px){.sm\\:w-full{width:100%}}",
            "div{background:linear-gradient(#fff,rgba(0,0,0,0.5));width:calc(100% - 2em)}",
            "@font-face{font-family:f;src:local(\"F\")}",
            "--x:1;y:var(--x)",
        ] {
            assert_eq!(css(text, false), (text.to_string(), 0), "{text}");
        }
    }

    #[test]
    fn urls_are_decided_whatever_their_spelling() {
        for text in [
            "b{background:url(https://t.example/a)}",
            "b{background:URL( 'https://t.example/a' )}",
            "b{background:u\\72l(https://t.example/a)}",
            "b{background:\\75rl(https://t.example/a)}",
            "b{background:\\000055 RL(\"//t.example/a\")}",
            "b{background:src(\"https://t.example/a\")}",
            "b{background:image-set(\"https://t.example/a\" 1x)}",
            "b{background:-webkit-image-set(url(https://t.example/a) 1x)}",
        ] {
            let (out, blocked) = css(text, false);
            assert_eq!(blocked, 1, "{text} -> {out}");
            assert!(!out.contains("t.example"), "{text} -> {out}");
            let (allowed, blocked) = css(text, true);
            assert_eq!(blocked, 0, "{text}");
            assert!(allowed.contains("//t.example/a"), "{text} -> {allowed}");
        }
        assert_eq!(
            css("b{background:url(cid:p@x)}", false).0,
            "b{background:url(\"data:image/png;base64,AA\")}"
        );
        assert_eq!(
            css("b{background:url(/local.png)}", false),
            ("b{background:url(\"\")}".to_string(), 0)
        );
    }

    #[test]
    fn nothing_written_back_can_close_a_style_element() {
        for text in [
            "b{background:url(\"data:image/png,</style\\\"><img src=x>\")}",
            "b{content:\"</style>\"}",
            "b{x:a\\</style\\>}",
            "@media (width<\\/style){}",
            "b{x:1\\3c /style}",
            "</style>",
        ] {
            let (out, _) = css(text, false);
            assert!(!out.contains("</"), "{text} -> {out}");
        }
    }

    #[test]
    fn imports_and_expressions_are_removed() {
        let (out, blocked) = css(
            "@import url(https://t.example/a.css);@IMPORT \"https://t.example/b.css\" screen;\
             @\\69mport '//t.example/c.css';@import 'local.css';p{width:expression(alert(1));color:red}",
            false,
        );
        assert_eq!(out, "p{width:;color:red}");
        assert_eq!(blocked, 3);
        assert_eq!(css("@import url(https://t.example/a.css);", true).0, "");
    }

    #[test]
    fn deep_nesting_is_cut_not_recursed() {
        let deep = "(".repeat(100_000) + &")".repeat(100_000);
        let (out, _) = css(&deep, false);
        assert_eq!(out.len(), 2 * MAX_DEPTH);
    }
}
