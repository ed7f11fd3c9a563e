//! Settings: whether the browser keeps the stored mail, how much space it takes, and whether
//! Postino works offline in this browser.

use yew::prelude::*;

use postino_i18n::{fill, t, Lang};
use postino_sync::Account;

use crate::state::StorageStatus;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub storage: StorageStatus,
    pub offline_ready: bool,
    pub build: Option<String>,
    pub on_persist: Callback<()>,
    pub on_close: Callback<()>,
    pub accounts: Vec<Account>,
    /// Edit account `id`.
    pub on_edit: Callback<String>,
    /// Remove account `id`, with its stored mail when `true`.
    pub on_remove: Callback<(String, bool)>,
    /// Show what is on the server for account `id`.
    pub on_triage: Callback<String>,
    /// Import these .eml or mbox files.
    pub on_import: Callback<Vec<web_sys::File>>,
    /// The UI's language, and the user's choice of another.
    pub lang: Lang,
    pub on_language: Callback<Lang>,
}

/// Bytes as megabytes with one decimal, e.g. `12.3 MB` (`12,3 MB` in Italian).
fn megabytes(bytes: u64) -> String {
    let tenths = bytes / 100_000;
    format!(
        "{}{}{} MB",
        tenths / 10,
        postino_i18n::lang().decimal(),
        tenths % 10
    )
}

#[function_component(Settings)]
pub fn settings(props: &Props) -> Html {
    let removing = use_state(|| None::<String>);
    let s = t();
    let persistence = match props.storage.persistent {
        Some(true) => html! {
            <p id="storage-persistence" data-state="persistent">
                {s.persistent}
            </p>
        },
        Some(false) => html! {
            <>
            <p id="storage-persistence" data-state="best-effort">
                {s.not_persistent}
            </p>
            <button id="persist" onclick={props.on_persist.reform(|_| ())}>{s.ask_persist}</button>
            </>
        },
        None => html! {
            <p id="storage-persistence" data-state="unknown">{s.persist_unknown}</p>
        },
    };
    let usage = props.storage.usage.map(|(used, quota)| {
        html! { <p id="storage-usage" class="hint">{fill(s.usage, &[("used", &megabytes(used)), ("quota", &megabytes(quota))])}</p> }
    });
    let accounts = props.accounts.iter().map(|a| {
        let id = a.id.clone();
        let confirming = *removing == Some(id.clone());
        let on_edit = props.on_edit.reform({ let id = id.clone(); move |_: MouseEvent| id.clone() });
        let ask = { let (removing, id) = (removing.clone(), id.clone()); Callback::from(move |_: MouseEvent| removing.set(Some(id.clone()))) };
        let cancel = { let removing = removing.clone(); Callback::from(move |_: MouseEvent| removing.set(None)) };
        let remove = |with_mail: bool| {
            let (id, removing) = (id.clone(), removing.clone());
            props.on_remove.reform(move |_: MouseEvent| { removing.set(None); (id.clone(), with_mail) })
        };
        html! {
            <li key={a.id.clone()} class="account" data-account={a.id.clone()}>
                <span class="name">{&a.name}</span>
                if confirming {
                    <span role="group" aria-label={fill(s.remove_named, &[("name", &a.name)])} class="actions">
                        <button class="remove-keep-mail" onclick={remove(false)}>{s.remove_keep_mail}</button>
                        <button class="remove-with-mail" onclick={remove(true)}>{s.remove_with_mail}</button>
                        <button onclick={cancel}>{s.cancel}</button>
                    </span>
                } else {
                    <button class="edit-account" onclick={on_edit} aria-label={fill(s.edit_named, &[("name", &a.name)])}>{s.edit}</button>
                    <button class="triage-account" onclick={props.on_triage.reform({ let id = id.clone(); move |_: MouseEvent| id.clone() })}
                        aria-label={fill(s.on_server_named, &[("name", &a.name)])}>{s.on_server}</button>
                    <button class="remove-account" onclick={ask} aria-label={fill(s.remove_named, &[("name", &a.name)])}>{s.remove}</button>
                }
            </li>
        }
    });
    html! {
        <section id="settings" class="card" aria-labelledby="settings-title">
            <h2 id="settings-title">{s.settings}</h2>
            <label for="language">{s.language}</label>
            <select id="language" onchange={{
                let on_language = props.on_language.clone();
                Callback::from(move |e: Event| {
                    if let Some(lang) = e
                        .target_dyn_into::<web_sys::HtmlSelectElement>()
                        .and_then(|s| Lang::parse(&s.value()))
                    {
                        on_language.emit(lang);
                    }
                })
            }}>
                { for Lang::ALL.iter().map(|l| html! {
                    <option value={l.code()} lang={l.code()} selected={*l == props.lang}>{l.name()}</option>
                }) }
            </select>
            if !props.accounts.is_empty() {
                <h3>{s.accounts}</h3>
                <ul class="accounts">{ for accounts }</ul>
            }
            <h3>{s.import}</h3>
            <label for="import">{s.import_label}</label>
            <input id="import" type="file" multiple=true
                accept=".eml,.mbox,.mbx,message/rfc822,application/mbox"
                onchange={{
                    let on_import = props.on_import.clone();
                    Callback::from(move |e: Event| {
                        let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() else { return };
                        let files: Vec<web_sys::File> = input
                            .files()
                            .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                            .unwrap_or_default();
                        input.set_value("");
                        if !files.is_empty() {
                            on_import.emit(files);
                        }
                    })
                }} />
            <p class="hint">{s.import_hint}</p>
            <h3>{s.storage}</h3>
            {persistence}
            {usage}
            <h3>{s.offline}</h3>
            <p id="offline-ready" data-state={if props.offline_ready { "ready" } else { "not-ready" }}>
                { if props.offline_ready { s.offline_ready } else { s.offline_not_ready } }
            </p>
            if let Some(build) = &props.build {
                <p class="hint">{s.version}{" "}<code id="build-id">{build}</code></p>
            }
            <div class="actions">
                <button onclick={props.on_close.reform(|_| ())}>{s.close}</button>
            </div>
        </section>
    }
}
