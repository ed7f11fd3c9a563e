//! The message list: sender, date, subject, size, attachments, read or not; virtualized.

use std::rc::Rc;

use postino_sync::{AuthResults, Summary};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::message_view::{format_date, format_list_date, sender_name};
use postino_i18n::{fill, t};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub messages: Rc<Vec<Rc<Summary>>>,
    /// What to show, in order: positions in `messages`.
    pub view: Rc<Vec<u32>>,
    /// The search whose results are shown, if any.
    pub query: Option<String>,
    pub selected: Option<String>,
    pub on_open: Callback<String>,
    /// Delete message `id` in Postino (the Delete key on a row).
    pub on_delete: Callback<String>,
}

/// A row's height until one is measured; the stylesheet sets the real one (in rem, so that it
/// follows the user's font size).
const DEFAULT_ROW_PX: f64 = 72.0;
/// Rows rendered above and below the visible ones, so that j/k and fast scrolling find rows.
const OVERSCAN: usize = 12;

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
        t().the_receiving_server
    } else {
        auth.server.as_str()
    };
    if failed {
        Some((
            "auth-fail",
            "✗",
            fill(
                t().sender_not_verified,
                &[("server", &server), ("checks", &describe)],
            ),
        ))
    } else if passed {
        Some((
            "auth-pass",
            "✓",
            fill(
                t().sender_verified,
                &[("server", &server), ("checks", &describe)],
            ),
        ))
    } else {
        None
    }
}

/// The list is virtualized: only the rows in view (and `OVERSCAN` around them) are in the
/// document, each placed at its position in a container as tall as the whole list. The browser
/// scrolls that container natively; a scroll only changes which rows are rendered.
#[function_component(MessageList)]
pub fn message_list(props: &Props) -> Html {
    let container = use_node_ref();
    // (scrollTop, clientHeight, row height) in CSS pixels.
    let viewport = use_state(|| (0.0_f64, 800.0_f64, DEFAULT_ROW_PX));

    let measure = {
        let (container, viewport) = (container.clone(), viewport.clone());
        move || {
            let Some(el) = container.cast::<web_sys::HtmlElement>() else {
                return;
            };
            let row = el
                .query_selector(".message-row")
                .ok()
                .flatten()
                .and_then(|r| r.dyn_into::<web_sys::HtmlElement>().ok())
                .map(|r| f64::from(r.offset_height()))
                .filter(|h| *h > 0.0)
                .unwrap_or(viewport.2);
            let next = (el.scroll_top() as f64, f64::from(el.client_height()), row);
            if next != *viewport {
                viewport.set(next);
            }
        }
    };
    // After each render: the window's size and the row height may have changed.
    {
        let measure = measure.clone();
        use_effect(measure);
    }
    {
        let measure = measure.clone();
        use_effect_with((), move |_| {
            let listener = wasm_bindgen::closure::Closure::<dyn Fn()>::new(measure);
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ =
                    w.add_event_listener_with_callback("resize", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = window {
                    let _ = w.remove_event_listener_with_callback(
                        "resize",
                        listener.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    let onscroll = Callback::from(move |_: Event| measure());

    let total = props.view.len();
    let data_query = props.query.clone().unwrap_or_default();
    let s = t();
    if total == 0 {
        let text = if props.query.is_some() {
            s.no_match
        } else if props.messages.is_empty() {
            s.no_messages_yet
        } else {
            s.empty_mailbox
        };
        return html! {
            <section id="messages" class="empty" aria-label={s.messages} data-total="0" data-query={data_query}>
                <p>{text}</p>
            </section>
        };
    }
    let (scroll_top, height, row) = *viewport;
    let first = ((scroll_top / row) as usize)
        .saturating_sub(OVERSCAN)
        .min(total);
    let last = (((scroll_top + height) / row).ceil() as usize + OVERSCAN).min(total);
    html! {
        <section id="messages" aria-label={s.messages} ref={container} {onscroll}
            data-total={total.to_string()} data-query={data_query}>
            <ul role="list" style={format!("height: {}px", total as f64 * row)}>
            { for (first..last).map(|index| {
                let m = &props.messages[props.view[index] as usize];
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
                let subject = if m.subject.is_empty() { s.no_subject.to_string() } else { m.subject.clone() };
                let attachments = match m.attachments {
                    0 => None,
                    n => Some(s.attachments_count.fill(u64::from(n), &[])),
                };
                html! {
                    <li key={m.id.clone()}
                        class={classes!("message-row", selected.then_some("selected"), (!m.read).then_some("unread"))}
                        style={format!("top: {}px", index as f64 * row)}
                        data-index={index.to_string()}
                        aria-setsize={total.to_string()} aria-posinset={(index + 1).to_string()}
                        tabindex="0" {onclick} {onkeydown} aria-current={selected.then_some("true")}>
                        <span class="from" title={m.from.clone()}>
                            if !m.read { <span class="unread-mark" role="img" aria-label={s.unread} title={s.unread}></span> }
                            { sender_name(&m.from) }
                        </span>
                        <span class="date">
                            if let Some((class, mark, title)) = auth_badge(&m.auth) {
                                <span class={classes!("auth", class)} role="img" title={title.clone()} aria-label={title}>{mark}</span>
                            }
                            <time title={format_date(m.date)}>{ format_list_date(m.date) }</time>
                        </span>
                        <span class="subject">{ subject }</span>
                        <span class="meta">
                            if let Some(label) = attachments {
                                <span class="attachment-mark" role="img" title={label.clone()} aria-label={label}>{"📎"}</span>
                            }
                            <span class="size">{ format_size(m.size) }</span>
                        </span>
                        <span class="snippet">{ &m.snippet }</span>
                    </li>
                }
            }) }
            </ul>
        </section>
    }
}

pub use crate::message_view::format_size;
