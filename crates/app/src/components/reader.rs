//! The reader: headers; the plain-text body, or the HTML body sanitized into a sandboxed iframe
//! with remote content blocked until the user allows it; attachments to save; the source.

use yew::prelude::*;

use crate::download;
use crate::html_mail;
use crate::message_view::{format_date, format_size};
use crate::state::ReaderView;
use postino_i18n::{fill, t};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: ReaderView,
    pub on_close: Callback<()>,
    /// Load remote content in message `id`.
    pub on_allow_remote: Callback<String>,
    /// Always load remote content from this sender (an address).
    pub on_allow_sender: Callback<String>,
    /// Delete message `id` in Postino.
    pub on_delete: Callback<String>,
}

/// A file name from the subject: letters, digits, spaces and a few marks, at most 80 of them.
fn eml_name(subject: &str) -> String {
    let mut name: String = subject
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ','))
        .take(80)
        .collect();
    name = name.trim().trim_start_matches('.').to_string();
    if name.is_empty() {
        name = "message".into();
    }
    format!("{name}.eml")
}

/// A plain-text body is shown in blocks of about this many bytes, each ending at a line's end.
/// The blocks after the first are laid out only when they near the screen
/// (`content-visibility: auto`, web/style.css). A trace of the page during a download put
/// 10-32 ms of each open in laying out the body, one text of 2-20 KB, most of it off screen
/// (5-7 ms in blocks); a 300 KB message took 95-158 ms to lay out and paint (21-33 ms).
const BLOCK_BYTES: usize = 2048;

/// `text` cut after the first line end at or past each [`BLOCK_BYTES`]; together, `text`.
fn blocks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let from = BLOCK_BYTES.min(rest.len());
        // A byte search: `\n` is never part of a longer UTF-8 sequence, so the cut is a char
        // boundary.
        let end = rest.as_bytes()[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| from + i + 1);
        let (block, tail) = rest.split_at(end);
        rest = tail;
        (!block.is_empty()).then_some(block)
    })
}

/// Scripts stay off (no `allow-scripts`) and the document gets an opaque origin (no
/// `allow-same-origin`); a link the user clicks may open in a new tab, outside the sandbox.
const SANDBOX: &str = "allow-popups allow-popups-to-escape-sandbox";

#[function_component(Reader)]
pub fn reader(props: &Props) -> Html {
    let v = &props.view;
    let show_source = use_state(|| false);
    let safe = use_memo(
        (v.html.clone(), v.inline.clone(), v.remote_allowed),
        |(html, inline, allow)| html.as_ref().map(|h| html_mail::render(h, inline, *allow)),
    );
    let save_error = use_state(|| None::<String>);
    let s = t();

    let content = if *show_source {
        html! {
            <pre class="source" aria-label={s.message_source}>{ String::from_utf8_lossy(&v.raw).into_owned() }</pre>
        }
    } else if let Some(safe) = &*safe {
        let blocked = (!v.remote_allowed && safe.blocked > 0).then(|| {
            let id = v.id.clone();
            let on_allow = props.on_allow_remote.reform(move |_: MouseEvent| id.clone());
            html! {
                <div class="remote-note" role="status">
                    <span id="remote-blocked" data-count={safe.blocked.to_string()}>
                        {s.remote_blocked.fill(safe.blocked as u64, &[])}
                    </span>
                    <button id="load-remote" onclick={on_allow}>{s.load_remote}</button>
                    // Only for a sender the receiving server authenticated: "always" for a
                    // forged From: would load the forger's trackers.
                    if !v.sender.is_empty() && v.sender_verified {
                        <button id="allow-sender" onclick={props.on_allow_sender.reform({ let s = v.sender.clone(); move |_: MouseEvent| s.clone() })}>
                            {fill(s.always_for, &[("sender", &v.sender)])}
                        </button>
                    }
                </div>
            }
        });
        html! {
            <>
            {blocked}
            <iframe key={format!("{}-{}", v.id, v.remote_allowed)} class="html-body" title={s.message_content}
                sandbox={SANDBOX} referrerpolicy="no-referrer" srcdoc={safe.document.clone()}></iframe>
            </>
        }
    } else {
        html! { <div class="body">{ for blocks(&v.body).map(|b| html! { <div>{ b }</div> }) }</div> }
    };

    let attachments = (!v.attachments.is_empty()).then(|| {
        html! {
            <section class="attachments" aria-label={s.attachments}>
                <h3>{s.attachments}</h3>
                <ul>
                { for v.attachments.iter().map(|a| {
                    let (raw, a2, save_error) = (v.raw.clone(), a.clone(), save_error.clone());
                    let onclick = Callback::from(move |_: MouseEvent| {
                        let saved = a2.part.bytes(&raw)
                            .ok_or_else(|| t().attachment_unreadable.to_string())
                            // Never the sender's type: the browser would act on it (open, sniff, run).
                            .and_then(|bytes| download::save(&a2.name, download::OPAQUE, &bytes));
                        save_error.set(saved.err().map(|e| fill(t().save_failed, &[("name", &a2.name), ("e", &e)])));
                    });
                    html! {
                        <li>
                            <button class="attachment" {onclick}
                                aria-label={fill(s.save_attachment, &[("name", &a.name), ("type", &a.content_type), ("size", &format_size(a.size as u64))])}>
                                <span class="name">{&a.name}</span>
                            </button>
                            <span class="type">{&a.content_type}</span>
                            <span class="size">{format_size(a.size as u64)}</span>
                        </li>
                    }
                }) }
                </ul>
                if let Some(e) = &*save_error { <p class="error" role="alert">{e}</p> }
            </section>
        }
    });

    let on_source = {
        let show_source = show_source.clone();
        Callback::from(move |_: MouseEvent| show_source.set(!*show_source))
    };
    let on_delete = {
        let id = v.id.clone();
        props.on_delete.reform(move |_: MouseEvent| id.clone())
    };
    let on_save_eml = {
        let (raw, subject, save_error) = (v.raw.clone(), v.subject.clone(), save_error.clone());
        Callback::from(move |_: MouseEvent| {
            let name = eml_name(&subject);
            let saved = download::save(&name, "message/rfc822", &raw);
            save_error.set(
                saved
                    .err()
                    .map(|e| fill(t().save_failed, &[("name", &name), ("e", &e)])),
            );
        })
    };

    html! {
        <article id="reader" aria-label={s.message}>
            <header>
                <button class="close" onclick={props.on_close.reform(|_| ())} aria-label={s.close_message}>{"×"}</button>
                <h2 class="subject">{ if v.subject.is_empty() { s.no_subject } else { v.subject.as_str() } }</h2>
                <dl>
                    <dt>{s.from}</dt><dd class="from">{ &v.from }</dd>
                    <dt>{s.to}</dt><dd class="to">{ &v.to }</dd>
                    <dt>{s.date}</dt><dd class="date">{ format_date(v.date) }</dd>
                </dl>
                <div class="actions">
                    <button id="view-source" onclick={on_source} aria-pressed={show_source.to_string()}>
                        { if *show_source { s.show_message } else { s.view_source } }
                    </button>
                    <button id="save-eml" onclick={on_save_eml}
                        title={s.save_eml_title}>{s.save_eml}</button>
                    <button id="delete-message" onclick={on_delete}
                        title={s.delete_title}>{s.delete}</button>
                </div>
            </header>
            {content}
            {attachments}
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::{blocks, eml_name, BLOCK_BYTES};

    #[test]
    fn eml_names_are_plain_file_names() {
        assert_eq!(eml_name("Re: Grüße/../x"), "Re Grüße..x.eml");
        assert_eq!(eml_name("../../etc/passwd"), "etcpasswd.eml");
        assert_eq!(eml_name(""), "message.eml");
    }

    #[test]
    fn a_body_is_cut_into_blocks_of_whole_lines() {
        // Lines of 70 bytes and some of several-byte characters, one longer than a block.
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&format!(
                "{i:04} Grüße, ünïcödé ☃ and some more words to fill it up\n"
            ));
        }
        text.push_str(&"ä".repeat(3 * BLOCK_BYTES));
        text.push_str("\nlast line, no line end");
        let cut: Vec<&str> = blocks(&text).collect();
        assert_eq!(cut.concat(), text, "nothing lost or repeated");
        assert!(cut.len() > 5, "{} blocks", cut.len());
        for (i, block) in cut.iter().enumerate() {
            let last = i + 1 == cut.len();
            assert!(
                last || block.ends_with('\n'),
                "block {i} ends at a line's end"
            );
            assert!(!block.is_empty());
            // At least a block's bytes, and at most one line more, but for the last.
            let before_last_line = block
                .trim_end_matches('\n')
                .rfind('\n')
                .map_or(0, |n| n + 1);
            assert!(
                last || block.len() >= BLOCK_BYTES,
                "block {i}: {} bytes",
                block.len()
            );
            assert!(
                before_last_line <= BLOCK_BYTES,
                "block {i} ends at the first line end past the mark"
            );
        }
        // The long line is one block's last line; a short text is one block; nothing is none.
        assert!(cut
            .iter()
            .any(|b| b.ends_with(&format!("{}\n", "ä".repeat(100)))));
        assert_eq!(blocks("one\ntwo").collect::<Vec<_>>(), ["one\ntwo"]);
        assert_eq!(blocks("").count(), 0);
    }
}
