//! The message list: from, subject, date, newest first.

use std::rc::Rc;

use postino_sync::{AuthResults, Summary};
use yew::prelude::*;

use crate::message_view::format_date;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub messages: Rc<Vec<Summary>>,
    pub selected: Option<String>,
    pub on_open: Callback<String>,
    /// Delete message `id` in Postino (the Delete key on a row).
    pub on_delete: Callback<String>,
}

/// The badge for what the receiving server concluded about the sender: `None` when it checked
/// nothing. A failure of any check wins over passes.
pub fn auth_badge(auth: &AuthResults) -> Option<(&'static str, &'static str, String)> {
    if auth.is_empty() {
        return None;
    }
    let checks = [
        ("SPF", &auth.spf),
        ("DKIM", &auth.dkim),
        ("DMARC", &auth.dmarc),
    ];
    let describe = checks
        .iter()
        .filter_map(|(name, r)| r.as_deref().map(|r| format!("{name} {r}")))
        .collect::<Vec<_>>()
        .join(", ");
    let failed = checks
        .iter()
        .any(|(_, r)| matches!(r.as_deref(), Some("fail" | "softfail" | "permerror")));
    let passed = auth.dmarc.as_deref() == Some("pass")
        || (auth.dkim.as_deref() == Some("pass") && auth.spf.as_deref() == Some("pass"));
    let server = if auth.server.is_empty() {
        "the receiving server"
    } else {
        auth.server.as_str()
    };
    if failed {
        Some((
            "auth-fail",
            "✗",
            format!("Sender not verified by {server}: {describe}"),
        ))
    } else if passed {
        Some((
            "auth-pass",
            "✓",
            format!("Sender verified by {server}: {describe}"),
        ))
    } else {
        None
    }
}

#[function_component(MessageList)]
pub fn message_list(props: &Props) -> Html {
    if props.messages.is_empty() {
        return html! {
            <section id="messages" class="empty" aria-label="Messages">
                <p>{"No messages yet. Press “Check mail” to download them."}</p>
            </section>
        };
    }
    html! {
        <section id="messages" aria-label="Messages">
            <ul role="list">
            { for props.messages.iter().map(|m| {
                let id = m.id.clone();
                let on_open = props.on_open.clone();
                let onclick = Callback::from(move |_: MouseEvent| on_open.emit(id.clone()));
                let onkeydown = {
                    let id = m.id.clone();
                    let on_open = props.on_open.clone();
                    let on_delete = props.on_delete.clone();
                    Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
                        "Enter" => on_open.emit(id.clone()),
                        "Delete" => on_delete.emit(id.clone()),
                        _ => {}
                    })
                };
                let selected = props.selected.as_deref() == Some(m.id.as_str());
                let subject = if m.subject.is_empty() { "(no subject)".to_string() } else { m.subject.clone() };
                html! {
                    <li key={m.id.clone()} class={classes!("message-row", selected.then_some("selected"))}
                        tabindex="0" {onclick} {onkeydown} aria-current={selected.then_some("true")}>
                        <span class="from">{ &m.from }</span>
                        <span class="subject">{ subject }</span>
                        <span class="date">
                            if let Some((class, mark, title)) = auth_badge(&m.auth) {
                                <span class={classes!("auth", class)} title={title.clone()} aria-label={title}>{mark}</span>
                            }
                            { format_date(m.date) }
                        </span>
                        <span class="snippet">{ &m.snippet }</span>
                    </li>
                }
            }) }
            </ul>
        </section>
    }
}
