//! The message list: from, subject, date, newest first.

use std::rc::Rc;

use postino_sync::Summary;
use yew::prelude::*;

use crate::message_view::format_date;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub messages: Rc<Vec<Summary>>,
    pub selected: Option<String>,
    pub on_open: Callback<String>,
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
                    Callback::from(move |e: KeyboardEvent| {
                        if e.key() == "Enter" {
                            on_open.emit(id.clone());
                        }
                    })
                };
                let selected = props.selected.as_deref() == Some(m.id.as_str());
                let subject = if m.subject.is_empty() { "(no subject)".to_string() } else { m.subject.clone() };
                html! {
                    <li key={m.id.clone()} class={classes!("message-row", selected.then_some("selected"))}
                        tabindex="0" {onclick} {onkeydown} aria-current={selected.then_some("true")}>
                        <span class="from">{ &m.from }</span>
                        <span class="subject">{ subject }</span>
                        <span class="date">{ format_date(m.date) }</span>
                        <span class="snippet">{ &m.snippet }</span>
                    </li>
                }
            }) }
            </ul>
        </section>
    }
}
