//! What is on the server for one account (headers via TOP, sizes), and the user's choice for a
//! selection: download, skip (never download), or delete on the server.

use std::collections::HashSet;
use std::rc::Rc;

use postino_sync::triage::{Choice, ServerMessage, ServerState};
use yew::prelude::*;

use crate::components::message_list::format_size;
use postino_i18n::{fill, t};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub account_name: String,
    /// `None` while the server is being asked.
    pub listing: Option<Rc<Vec<ServerMessage>>>,
    pub busy: bool,
    pub on_apply: Callback<Vec<(String, Choice)>>,
    pub on_close: Callback<()>,
}

fn state_label(state: ServerState) -> &'static str {
    match state {
        ServerState::New => "new",
        ServerState::Stored => "downloaded",
        ServerState::HeadersOnly => "headers only",
        ServerState::Skipped => "skipped",
        ServerState::DeletedLocally => "deleted in Postino",
    }
}

/// [`state_label`] in the UI's language (the label stays the rows' `data-state`).
fn state_text(state: ServerState) -> &'static str {
    let t = t();
    match state {
        ServerState::New => t.state_new,
        ServerState::Stored => t.state_stored,
        ServerState::HeadersOnly => t.state_headers_only,
        ServerState::Skipped => t.state_skipped,
        ServerState::DeletedLocally => t.state_deleted_locally,
    }
}

#[function_component(Triage)]
pub fn triage(props: &Props) -> Html {
    let picked = use_state(HashSet::<String>::new);
    let s = t();
    let confirm_delete = use_state(|| false);
    let apply = |choice: Choice| {
        let (picked, on_apply, confirm_delete) = (
            picked.clone(),
            props.on_apply.clone(),
            confirm_delete.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let mut uidls: Vec<String> = picked.iter().cloned().collect();
            crate::sort::by(&mut uidls, |a, b| a.cmp(b));
            confirm_delete.set(false);
            picked.set(HashSet::new());
            on_apply.emit(uidls.into_iter().map(|u| (u, choice)).collect());
        })
    };
    let rows = props.listing.as_ref().map(|listing| {
        html! {
            <table class="triage-list">
                <thead><tr><th scope="col">{s.choose}</th><th scope="col">{s.from}</th><th scope="col">{s.subject}</th>
                    <th scope="col">{s.size}</th><th scope="col">{s.in_postino}</th></tr></thead>
                <tbody>
                { for listing.iter().map(|m| {
                    let uidl = m.uidl.clone();
                    let checked = picked.contains(&uidl);
                    let onchange = {
                        let (picked, uidl) = (picked.clone(), uidl.clone());
                        Callback::from(move |_: Event| {
                            let mut next = (*picked).clone();
                            if !next.remove(&uidl) {
                                next.insert(uidl.clone());
                            }
                            picked.set(next);
                        })
                    };
                    let subject = if m.summary.subject.is_empty() { s.no_subject } else { m.summary.subject.as_str() };
                    html! {
                        <tr key={uidl.clone()} class="triage-row" data-uidl={uidl.clone()} data-state={state_label(m.state)}>
                            <td><input type="checkbox" class="pick" {checked} {onchange}
                                aria-label={fill(s.choose_named, &[("subject", &subject)])} /></td>
                            <td class="from">{ &m.summary.from }</td>
                            <td class="subject">{ subject }</td>
                            <td class="size">{ format_size(m.size) }</td>
                            <td class="state">{ state_text(m.state) }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        }
    });
    let none = picked.is_empty() || props.busy;
    html! {
        <section id="triage" class="card wide" aria-labelledby="triage-title">
            <h2 id="triage-title">{ fill(s.on_server_title, &[("name", &props.account_name)]) }</h2>
            if props.listing.is_none() {
                <p role="status">{s.asking_server}</p>
            }
            { for rows }
            <div class="actions">
                <button id="triage-download" class="primary" disabled={none} onclick={apply(Choice::Download)}>{s.download}</button>
                <button id="triage-skip" disabled={none} onclick={apply(Choice::Skip)}
                    title={s.skip_title}>{s.skip}</button>
                if *confirm_delete {
                    <button id="triage-delete-confirm" disabled={none} onclick={apply(Choice::Delete)}>
                        { s.delete_for_good.fill(picked.len() as u64, &[]) }
                    </button>
                } else {
                    <button id="triage-delete" disabled={none}
                        onclick={{ let c = confirm_delete.clone(); Callback::from(move |_: MouseEvent| c.set(true)) }}>
                        {s.delete_from_server_ellipsis}
                    </button>
                }
                <button onclick={props.on_close.reform(|_| ())}>{s.close}</button>
            </div>
        </section>
    }
}
