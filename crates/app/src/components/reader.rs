//! The reader: headers; the plain-text body, or the HTML body sanitized into a sandboxed iframe
//! with remote content blocked until the user allows it; attachments to save; the source.

use yew::prelude::*;

use crate::download;
use crate::html_mail;
use crate::message_view::{attachment_bytes, format_date, format_size};
use crate::state::ReaderView;

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

    let content = if *show_source {
        html! {
            <pre class="source" aria-label="Message source">{ String::from_utf8_lossy(&v.raw).into_owned() }</pre>
        }
    } else if let Some(safe) = &*safe {
        let blocked = (!v.remote_allowed && safe.blocked > 0).then(|| {
            let id = v.id.clone();
            let on_allow = props.on_allow_remote.reform(move |_: MouseEvent| id.clone());
            let items = if safe.blocked == 1 { "1 remote item".to_string() } else { format!("{} remote items", safe.blocked) };
            html! {
                <div class="remote-note" role="status">
                    <span id="remote-blocked" data-count={safe.blocked.to_string()}>
                        {format!("{items} blocked to protect your privacy (senders use them to see when you read).")}
                    </span>
                    <button id="load-remote" onclick={on_allow}>{"Load remote content"}</button>
                    // Only for a sender the receiving server authenticated: "always" for a
                    // forged From: would load the forger's trackers.
                    if !v.sender.is_empty() && v.sender_verified {
                        <button id="allow-sender" onclick={props.on_allow_sender.reform({ let s = v.sender.clone(); move |_: MouseEvent| s.clone() })}>
                            {format!("Always for {}", v.sender)}
                        </button>
                    }
                </div>
            }
        });
        html! {
            <>
            {blocked}
            <iframe key={format!("{}-{}", v.id, v.remote_allowed)} class="html-body" title="Message content"
                sandbox={SANDBOX} referrerpolicy="no-referrer" srcdoc={safe.document.clone()}></iframe>
            </>
        }
    } else {
        html! { <pre class="body">{ &v.body }</pre> }
    };

    let attachments = (!v.attachments.is_empty()).then(|| {
        html! {
            <section class="attachments" aria-label="Attachments">
                <h3>{"Attachments"}</h3>
                <ul>
                { for v.attachments.iter().map(|a| {
                    let (raw, a2, save_error) = (v.raw.clone(), a.clone(), save_error.clone());
                    let onclick = Callback::from(move |_: MouseEvent| {
                        let saved = attachment_bytes(&raw, a2.index)
                            .ok_or_else(|| "the attachment could not be read".to_string())
                            // Never the sender's type: the browser would act on it (open, sniff, run).
                            .and_then(|bytes| download::save(&a2.name, download::OPAQUE, &bytes));
                        save_error.set(saved.err().map(|e| format!("Postino could not save {}: {e}.", a2.name)));
                    });
                    html! {
                        <li>
                            <button class="attachment" {onclick}
                                aria-label={format!("Save {}, {}, {}", a.name, a.content_type, format_size(a.size as u64))}>
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
                    .map(|e| format!("Postino could not save {name}: {e}.")),
            );
        })
    };

    html! {
        <article id="reader" aria-label="Message">
            <header>
                <button class="close" onclick={props.on_close.reform(|_| ())} aria-label="Close message">{"×"}</button>
                <h2 class="subject">{ if v.subject.is_empty() { "(no subject)" } else { v.subject.as_str() } }</h2>
                <dl>
                    <dt>{"From"}</dt><dd class="from">{ &v.from }</dd>
                    <dt>{"To"}</dt><dd class="to">{ &v.to }</dd>
                    <dt>{"Date"}</dt><dd class="date">{ format_date(v.date) }</dd>
                </dl>
                <div class="actions">
                    <button id="view-source" onclick={on_source} aria-pressed={show_source.to_string()}>
                        { if *show_source { "Show message" } else { "View source" } }
                    </button>
                    <button id="save-eml" onclick={on_save_eml}
                        title="Save the message as it arrived, as an .eml file">{"Save .eml"}</button>
                    <button id="delete-message" onclick={on_delete}
                        title="Delete from Postino (Delete key)">{"Delete"}</button>
                </div>
            </header>
            {content}
            {attachments}
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::eml_name;

    #[test]
    fn eml_names_are_plain_file_names() {
        assert_eq!(eml_name("Re: Grüße/../x"), "Re Grüße..x.eml");
        assert_eq!(eml_name("../../etc/passwd"), "etcpasswd.eml");
        assert_eq!(eml_name(""), "message.eml");
    }
}
