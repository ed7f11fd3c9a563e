//! Settings: whether the browser keeps the stored mail, how much space it takes, and whether
//! Postino works offline in this browser.

use yew::prelude::*;

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
}

/// Bytes as megabytes with one decimal, e.g. `12.3 MB`.
fn megabytes(bytes: u64) -> String {
    let tenths = bytes / 100_000;
    format!("{}.{} MB", tenths / 10, tenths % 10)
}

#[function_component(Settings)]
pub fn settings(props: &Props) -> Html {
    let removing = use_state(|| None::<String>);
    let persistence = match props.storage.persistent {
        Some(true) => html! {
            <p id="storage-persistence" data-state="persistent">
                {"Persistent: the browser keeps your stored mail until you delete it."}
            </p>
        },
        Some(false) => html! {
            <>
            <p id="storage-persistence" data-state="best-effort">
                {"Not persistent: the browser may clear stored mail when the disk runs low. Installing Postino as an app usually makes its storage persistent."}
            </p>
            <button id="persist" onclick={props.on_persist.reform(|_| ())}>{"Ask the browser to keep my mail"}</button>
            </>
        },
        None => html! {
            <p id="storage-persistence" data-state="unknown">{"This browser does not say whether it keeps stored mail."}</p>
        },
    };
    let usage = props.storage.usage.map(|(used, quota)| {
        html! { <p id="storage-usage" class="hint">{format!("{} used of {} available to Postino.", megabytes(used), megabytes(quota))}</p> }
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
                    <span role="group" aria-label={format!("Remove {}", a.name)} class="actions">
                        <button class="remove-keep-mail" onclick={remove(false)}>{"Remove, keep its mail"}</button>
                        <button class="remove-with-mail" onclick={remove(true)}>{"Remove with its mail"}</button>
                        <button onclick={cancel}>{"Cancel"}</button>
                    </span>
                } else {
                    <button class="edit-account" onclick={on_edit} aria-label={format!("Edit {}", a.name)}>{"Edit"}</button>
                    <button class="triage-account" onclick={props.on_triage.reform({ let id = id.clone(); move |_: MouseEvent| id.clone() })}
                        aria-label={format!("What is on the server for {}", a.name)}>{"On the server…"}</button>
                    <button class="remove-account" onclick={ask} aria-label={format!("Remove {}", a.name)}>{"Remove"}</button>
                }
            </li>
        }
    });
    html! {
        <section id="settings" class="card" aria-labelledby="settings-title">
            <h2 id="settings-title">{"Settings"}</h2>
            if !props.accounts.is_empty() {
                <h3>{"Accounts"}</h3>
                <ul class="accounts">{ for accounts }</ul>
            }
            <h3>{"Import"}</h3>
            <label for="import">{"Import .eml or mbox files (Thunderbird, Apple Mail, Google Takeout)"}</label>
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
            <p class="hint">{"Imported mail goes to the “Imported” mailbox. Importing the same file again adds nothing."}</p>
            <h3>{"Storage"}</h3>
            {persistence}
            {usage}
            <h3>{"Offline"}</h3>
            <p id="offline-ready" data-state={if props.offline_ready { "ready" } else { "not-ready" }}>
                { if props.offline_ready {
                    "Ready: Postino opens and shows your stored mail without a network."
                } else {
                    "Not yet: Postino will work offline once this page has loaded it completely."
                } }
            </p>
            if let Some(build) = &props.build {
                <p class="hint">{"Version "}<code id="build-id">{build}</code></p>
            }
            <div class="actions">
                <button onclick={props.on_close.reform(|_| ())}>{"Close"}</button>
            </div>
        </section>
    }
}
