//! The reader's plain text of a message: mail-parser's `Message::body_text` and the
//! `html_to_text` it calls for an HTML-only body, copied from mail-parser 0.11.9
//! (`src/core/message.rs`, `src/decoders/html.rs`; Apache-2.0 OR MIT, Stalwart Labs LLC) so that
//! they look character references up in [`crate::entities`] rather than in that crate's hashed
//! table. The output is the same: the tests compare both, entity by entity.

use std::borrow::Cow;
use std::char::REPLACEMENT_CHARACTER;

use mail_parser::{Message, PartType};

/// What `message.body_text(pos)` returns.
pub fn body_text<'x>(message: &'x Message<'x>, pos: usize) -> Option<Cow<'x, str>> {
    let part = message.parts.get(*message.text_body.get(pos)? as usize)?;
    match &part.body {
        PartType::Text(text) => Some(text.as_ref().into()),
        PartType::Html(html) => Some(html_to_text(html.as_ref()).into()),
        _ => None,
    }
}

/// The character `&name;` stands for (`key` is `name`).
fn lookup_entity(key: &[u8]) -> Option<u32> {
    let (&first, rest) = key.split_first()?;
    let table = match first {
        b'A'..=b'Z' => crate::entities::ENTITIES[usize::from(first - b'A')],
        b'a'..=b'z' => crate::entities::ENTITIES[26 + usize::from(first - b'a')],
        _ => return None,
    };
    let mut entries = table;
    while let Some(end) = entries.find(';') {
        let name = &entries.as_bytes()[..end];
        let mut value = entries[end + 1..].chars();
        let c = value.next()?;
        if name == rest {
            return Some(u32::from(c));
        }
        entries = value.as_str();
    }
    None
}

fn add_html_token(result: &mut String, token: &[u8], add_space: bool) {
    if add_space {
        result.push(' ');
    }

    if let [b'&', entity @ .., b';'] = token {
        let entity_code = if let [b'#', code @ ..] = entity {
            let (code, radix) = if let [b'x' | b'X', code @ ..] = code {
                (code, 16)
            } else {
                (code, 10)
            };

            std::str::from_utf8(code)
                .ok()
                .and_then(|code| u32::from_str_radix(code, radix).ok())
        } else {
            lookup_entity(entity)
        };

        if let Some(entity_code) = entity_code {
            result.push(char::from_u32(entity_code).unwrap_or(REPLACEMENT_CHARACTER));
            return;
        }
    }

    result.push_str(std::str::from_utf8(token).unwrap());
}

fn html_to_text(input: &str) -> String {
    let mut result = String::with_capacity(input.len());
    let input = input.as_bytes();

    let mut in_tag = false;
    let mut in_head = false;
    let mut in_style = false;
    let mut in_script = false;
    let mut in_template = false;
    let mut in_comment = false;

    let mut is_token_start = true;
    let mut is_after_space = false;
    let mut is_tag_close = false;
    let mut is_new_line = true;

    let mut token_start = 0;
    let mut token_end = 0;

    let mut tag_token_pos = 0;
    let mut comment_pos = 0;

    for (pos, ch) in input.iter().enumerate() {
        if !in_comment {
            match ch {
                b'<' => {
                    if !in_tag
                        && !in_head
                        && !in_style
                        && !in_script
                        && !in_template
                        && !is_token_start
                    {
                        add_html_token(
                            &mut result,
                            &input[token_start..token_end + 1],
                            is_after_space,
                        );
                        is_after_space = false;
                    }

                    tag_token_pos = 0;
                    in_tag = true;
                    is_token_start = true;
                    is_tag_close = false;
                    continue;
                }
                b'>' if in_tag => {
                    if tag_token_pos == 1 {
                        match input.get(token_start..token_end + 1) {
                            Some(tag)
                                if tag.eq_ignore_ascii_case(b"br")
                                    || (tag.eq_ignore_ascii_case(b"p") && is_tag_close) =>
                            {
                                result.push('\n');
                                is_after_space = false;
                                is_new_line = true;
                            }
                            Some(tag) if tag.eq_ignore_ascii_case(b"head") => {
                                in_head = !is_tag_close;
                            }
                            Some(tag) if tag.eq_ignore_ascii_case(b"style") => {
                                in_style = !is_tag_close;
                            }
                            Some(tag) if tag.eq_ignore_ascii_case(b"script") => {
                                in_script = !is_tag_close;
                            }
                            Some(tag) if tag.eq_ignore_ascii_case(b"template") => {
                                in_template = !is_tag_close;
                            }
                            _ => (),
                        }
                    }

                    in_tag = false;
                    is_token_start = true;

                    continue;
                }
                b'/' if in_tag => {
                    if tag_token_pos == 0 {
                        is_tag_close = true;
                    }
                    continue;
                }
                b'!' if in_tag && tag_token_pos == 0 => {
                    if let Some(b"--") = input.get(pos + 1..pos + 3) {
                        in_comment = true;
                        continue;
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' => {
                    if !in_tag && !in_head && !in_style && !in_script && !in_template {
                        if !is_token_start {
                            add_html_token(
                                &mut result,
                                &input[token_start..token_end + 1],
                                is_after_space && !is_new_line,
                            );
                            is_new_line = false;
                        }
                        is_after_space = true;
                    }

                    is_token_start = true;

                    continue;
                }
                b'&' if !in_tag && !is_token_start && !in_head => {
                    if in_style || in_script || in_template {
                        continue;
                    }
                    add_html_token(
                        &mut result,
                        &input[token_start..token_end + 1],
                        is_after_space && !is_new_line,
                    );
                    is_new_line = false;
                    is_token_start = true;
                    is_after_space = false;
                }
                b';' if !in_tag && !is_token_start && !in_head => {
                    if in_style || in_script || in_template {
                        continue;
                    }
                    add_html_token(
                        &mut result,
                        &input[token_start..pos + 1],
                        is_after_space && !is_new_line,
                    );
                    is_token_start = true;
                    is_after_space = false;
                    is_new_line = false;
                    continue;
                }
                _ => (),
            }
            if is_token_start {
                token_start = pos;
                is_token_start = false;
                if in_tag {
                    tag_token_pos += 1;
                }
            }
            token_end = pos;
        } else {
            match ch {
                b'-' => comment_pos += 1,
                b'>' if comment_pos == 2 => {
                    comment_pos = 0;
                    in_comment = false;
                    in_tag = false;
                    is_token_start = true;
                }
                _ => comment_pos = 0,
            }
        }
    }

    if !in_tag && !is_token_start && !in_head && !in_style && !in_script && !in_template {
        add_html_token(
            &mut result,
            &input[token_start..token_end + 1],
            is_after_space && !is_new_line,
        );
    }

    result.shrink_to_fit();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::decoders::html::html_to_text as theirs;

    #[test]
    fn every_entity_as_mail_parser_reads_it() {
        let mut count = 0;
        for (i, table) in crate::entities::ENTITIES.iter().enumerate() {
            let first = if i < 26 {
                b'A' + i as u8
            } else {
                b'a' + (i - 26) as u8
            };
            let mut entries = *table;
            while let Some(end) = entries.find(';') {
                let name = format!("{}{}", first as char, &entries[..end]);
                let mut value = entries[end + 1..].chars();
                let c = value.next().expect("a character after `;`");
                entries = value.as_str();
                for input in [format!("&{name};"), format!("a &{name}; b&{name};c")] {
                    assert_eq!(html_to_text(&input), theirs(&input), "{input}");
                }
                assert_eq!(html_to_text(&format!("&{name};")), c.to_string());
                count += 1;
            }
        }
        assert_eq!(count, 2125, "mail-parser 0.11.9 knows 2,125 names");
    }

    #[test]
    fn texts_as_mail_parser_writes_them() {
        for input in [
            "<html>hello<br/>world<br/></html>",
            "<html>using &lt;><br/></html>",
            "test <not br/>tag<br />",
            "<>< ><tag\n/>>hello    world< br \n />",
            "<head><title>ignore head</title><not head>xyz</not head></head><h1>&lt;body&gt;</h1>",
            "<p>what is &heartsuit;?</p><p>&#x000DF;&Abreve;&#914;&gamma; don&apos;t hurt me.</p>",
            "<!--[if mso]><style>p{}</style><![endif]-->this is <!-- <> < ignore > -> here -->the actual<!--> text",
            "   < p >  hello < / p > < p > world < / p >   !!! < br > ",
            " <p>please unsubscribe <a href=#>here</a>.</p> ",
            "&#32;&#x20;&nbsp;&#xFFFFFFF;&hmmm &hmmm; &; &#; &#x; &AMP;&amp &Amp; &fjlig;&semi;&Tab;&NewLine;",
            "<style>a &amp; b</style><script>&lt;</script><template>&gt;</template>x&lt;y",
            "caf\u{e9} &eacute; \u{1f600} &#128512; <b>bold</b>&nbsp;<i>it</i>",
            "",
            "&",
            ";",
        ] {
            assert_eq!(html_to_text(input), theirs(input), "{input:?}");
        }
    }

    #[test]
    fn body_text_as_mail_parser_gives_it() {
        let messages: [&[u8]; 4] = [
            b"Subject: t\r\n\r\nplain &amp; text\r\n",
            b"Content-Type: text/html\r\n\r\n<p>only &eacute;&nbsp;html</p>\r\n",
            b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\ntext\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n",
            b"Content-Type: image/png\r\n\r\nxx\r\n",
        ];
        for raw in messages {
            let m = mail_parser::MessageParser::default()
                .parse(raw)
                .expect("parsed");
            for pos in 0..3 {
                assert_eq!(body_text(&m, pos), m.body_text(pos), "{pos}");
            }
        }
    }
}
