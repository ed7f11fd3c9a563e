//! The root component: wires the user's actions to the effects (`crate::effects`) and lays
//! out the page.

use postino_pop3::Secret;
use postino_sync::search::Query;
use postino_sync::triage::Choice;
use postino_sync::{Account, Progress, Store, Summary};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::account_form::AccountForm;
use crate::components::first_check::FirstCheckQuestion;
use crate::components::message_list::MessageList;
use crate::components::notice::{CertQuestion, PasswordQuestion, SignInQuestion, StatusLine};
use crate::components::reader::Reader;
use crate::components::settings::Settings;
use crate::components::triage::Triage;
use crate::components::update_banner::UpdateBanner;
use crate::engine;
use crate::message_view::open_stored;
use crate::state::{
    AccountAction, Action, CertPrompt, CheckAction, ListAction, PageAction, ReadAction, SortKey,
    State,
};
use crate::{connectivity, download, language, service_worker};
use postino_engine::vault;
use postino_i18n::{fill, t, Lang};
use postino_sync::import::IMPORTED_ACCOUNT;

pub use crate::effects::DATABASE;

use crate::effects::{
    answer_first, ask_persistence, check_all, delete_stored, failure_action, fresh_secret,
    import_sentence, launch_action, mark_index_pending, page_origin, run_check, save_and_check,
    start, waiting, Dispatcher, During, StoreCell,
};
use crate::remote_senders;
use crate::shortcuts::{focus, on_shortcut};

/// A callback that dispatches one action, whatever its event.
fn on<T: 'static>(d: &Dispatcher, action: impl Fn() -> Action + 'static) -> Callback<T> {
    let d = d.clone();
    Callback::from(move |_| d.dispatch(action()))
}

#[function_component(App)]
pub fn app() -> Html {
    // Set before anything renders: every component reads the catalog of the language in use.
    let lang = use_state(|| {
        let lang = language::initial();
        language::apply(lang);
        lang
    });
    let state = use_reducer(State::default);
    let cell: StoreCell = use_mut_ref(|| None);

    {
        let (cell, d) = (cell.clone(), state.dispatcher());
        use_effect_with((), move |_| {
            d.dispatch(Action::Check(CheckAction::Connectivity {
                online: connectivity::is_online(),
            }));
            let watch_d = d.clone();
            connectivity::watch(move |online| {
                if online {
                    service_worker::check_for_update();
                }
                watch_d.dispatch(Action::Check(CheckAction::Connectivity { online }))
            });
            d.dispatch(Action::Read(ReadAction::RemoteSenders(
                remote_senders::load(),
            )));
            let engine_d = d.clone();
            engine::listen(move |news| match news {
                engine::News::Stored(summaries) => {
                    engine_d.dispatch(Action::List(ListAction::Stored(summaries)))
                }
                engine::News::IndexPending(n) => {
                    mark_index_pending(&n.to_string());
                    engine_d.dispatch(Action::List(ListAction::IndexPending(n)));
                }
                engine::News::Failed(text) => {
                    engine_d.dispatch(Action::Check(CheckAction::Error(text)))
                }
                engine::News::Status(status) => {
                    // The service worker's install downloads every file of the app again: it
                    // waits until the engine has its own, not to share the link with them.
                    if status != engine::Status::Loading {
                        let worker_d = engine_d.clone();
                        service_worker::register(move |news| {
                            worker_d.dispatch(Action::Page(PageAction::Worker(news)))
                        });
                    }
                    engine_d.dispatch(Action::Page(PageAction::Engine(status)));
                }
            });
            if launch_action().as_deref() == Some("search") {
                focus("search");
            }
            spawn_local(start(cell, d));
        });
    }

    use_effect_with((), |_| {
        let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(
            |e: web_sys::KeyboardEvent| on_shortcut(&e),
        );
        let doc = web_sys::window().and_then(|w| w.document());
        if let Some(doc) = &doc {
            let _ = doc.add_event_listener_with_callback(
                "keydown",
                wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
            );
        }
        move || {
            if let Some(doc) = doc {
                let _ = doc.remove_event_listener_with_callback(
                    "keydown",
                    wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
                );
            }
        }
    });

    // The network came back after it cut a check: check again.
    {
        let (cell, d, state) = (cell.clone(), state.dispatcher(), state.clone());
        use_effect_with(
            (
                state.checking.offline,
                state.checking.resume_when_online,
                state.checking.syncing.is_some(),
            ),
            move |&(offline, resume, syncing)| {
                let store = cell.borrow().clone();
                if let (false, true, false, Some(store)) = (offline, resume, syncing, store) {
                    d.dispatch(Action::Check(CheckAction::Resumed));
                    check_all(store, &state, d);
                }
            },
        );
    }

    // Automatic checks: every 15 s, start the check that is due, if one is (State::due_for_check).
    {
        let latest = use_mut_ref(|| state.clone());
        *latest.borrow_mut() = state.clone();
        let cell = cell.clone();
        use_effect_with((), move |_| {
            let tick = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
                let state = latest.borrow().clone();
                let store = cell.borrow().clone();
                let (Some(store), Some(account)) = (
                    store,
                    state
                        .due_for_check(postino_engine::check::now_unix())
                        .cloned(),
                ) else {
                    return;
                };
                let Some(password) = state.accounts.passwords.get(&account.id).cloned() else {
                    return;
                };
                let d = state.dispatcher();
                spawn_local(async move {
                    run_check(store, account, password, d).await;
                });
            });
            let window = web_sys::window();
            let timer = window.as_ref().and_then(|w| {
                w.set_interval_with_callback_and_timeout_and_arguments_0(
                    wasm_bindgen::JsCast::unchecked_ref(tick.as_ref()),
                    15_000,
                )
                .ok()
            });
            move || {
                if let (Some(w), Some(t)) = (window, timer) {
                    w.clear_interval_with_handle(t);
                }
                drop(tick);
            }
        });
    }

    // Ask the index whenever the text changes, and again when indexing has caught up.
    {
        let (cell, d) = (cell.clone(), state.dispatcher());
        use_effect_with(
            (
                state.list.search.clone(),
                state.list.index_pending == 0,
                state.list.messages.len(),
            ),
            move |(text, _, _)| {
                let query = Query::parse(text);
                if let (false, Some(store)) = (query.is_empty(), cell.borrow().clone()) {
                    let text = text.clone();
                    spawn_local(async move {
                        match store.search(&query).await {
                            Ok(ids) => d.dispatch(Action::List(ListAction::SearchResults {
                                query: text,
                                ids,
                            })),
                            Err(e) => d.dispatch(Action::Check(CheckAction::Error(fill(
                                t().search_failed,
                                &[("e", &e)],
                            )))),
                        }
                    });
                }
            },
        );
    }

    let store = cell.borrow().clone();
    let d = state.dispatcher();

    let on_save = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(
            move |(account, password): (Account, Option<Secret<String>>)| {
                let Some(store) = store.clone() else { return };
                let previous = state.accounts.get(&account.id).cloned();
                // The session's password goes only where it went before.
                let password = password.or_else(|| {
                    previous
                        .as_ref()
                        .filter(|p| vault::binding(p) == vault::binding(&account))
                        .and_then(|_| state.accounts.passwords.get(&account.id).cloned())
                });
                spawn_local(save_and_check(
                    store,
                    account,
                    previous,
                    password,
                    d.clone(),
                ));
            },
        )
    };

    let on_test = {
        let (d, state) = (d.clone(), state.clone());
        Callback::from(
            move |(account, password): (Account, Option<Secret<String>>)| {
                let Some(password) =
                    password.or_else(|| state.accounts.passwords.get(&account.id).cloned())
                else {
                    d.dispatch(Action::Check(CheckAction::Error(
                        t().password_to_test.into(),
                    )));
                    return;
                };
                let d = d.clone();
                spawn_local(async move {
                    d.dispatch(Action::Check(CheckAction::Busy(fill(
                        t().connecting_to,
                        &[("host", &account.host)],
                    ))));
                    d.dispatch(match engine::test_connection(&account, &password).await {
                        Ok(sentence) => Action::Check(CheckAction::Info(sentence)),
                        Err(failure) => failure_action(&account, failure, During::Test),
                    });
                });
            },
        )
    };

    let on_remove = {
        let (store, d) = (store.clone(), d.clone());
        Callback::from(move |(id, with_mail): (String, bool)| {
            let Some(store) = store.clone() else { return };
            let d = d.clone();
            spawn_local(async move {
                match store.delete_account(&id, with_mail).await {
                    Ok(()) => d.dispatch(Action::AccountRemoved { id, with_mail }),
                    Err(e) => d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().remove_failed,
                        &[("e", &e)],
                    )))),
                }
            });
        })
    };

    let on_trust = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |prompt: CertPrompt| {
            let (Some(store), Some(account)) =
                (store.clone(), state.accounts.get(&prompt.account_id))
            else {
                return;
            };
            // The prompt is never shown for these; this guards the pin itself (invariant 9).
            if postino_engine::presets::is_well_known_host(&account.host) {
                return;
            }
            let account = Account {
                pinned_cert: Some(prompt.fingerprint.clone()),
                ..account.clone()
            };
            let password = state.accounts.passwords.get(&account.id).cloned();
            let previous = state.accounts.get(&account.id).cloned();
            spawn_local(save_and_check(
                store,
                account,
                previous,
                password,
                d.clone(),
            ));
        })
    };

    let on_check_all = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(store) = store.clone() {
                check_all(store, &state, d.clone());
            }
        })
    };

    let on_search = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                d.dispatch(Action::List(ListAction::Search(input.value())));
            }
        })
    };

    let on_password = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |password: Secret<String>| {
            let (Some(store), Some(id)) = (store.clone(), state.accounts.password_prompt.clone())
            else {
                return;
            };
            let Some(account) = state.accounts.get(&id).cloned() else {
                return;
            };
            d.dispatch(Action::Account(AccountAction::Password {
                account_id: id,
                password: password.clone(),
            }));
            let d = d.clone();
            spawn_local(async move {
                // Asked again (forgotten after a refusal or an edit): remembered again if wanted;
                // a refusal forgets it once more.
                if account.remember_password {
                    let _ = vault::remember(&store, &account, &password).await;
                }
                run_check(store, account, password, d).await;
            });
        })
    };

    // "Sign in with ... again": the provider's window opens in this click; then the check.
    let on_sign_in_again = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |()| {
            let (Some(store), Some(id)) = (store.clone(), state.accounts.password_prompt.clone())
            else {
                return;
            };
            let Some(account) = state.accounts.get(&id).cloned() else {
                return;
            };
            let Some(client) = account.oauth.clone() else {
                return;
            };
            let window = crate::sign_in::open_window();
            let d = d.clone();
            spawn_local(async move {
                d.dispatch(Action::Check(CheckAction::Busy(fill(
                    t().signing_in_with,
                    &[("label", &client.label)],
                ))));
                let signed =
                    crate::sign_in::sign_in(window, &client, &account.relay, Some(&account.user))
                        .await;
                let tokens = match signed {
                    Ok(tokens) => tokens,
                    Err(text) => return d.dispatch(Action::Check(CheckAction::Error(text))),
                };
                if tokens
                    .account
                    .as_deref()
                    .is_some_and(|a| !a.eq_ignore_ascii_case(&account.user))
                {
                    return d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().signed_in_other,
                        &[
                            ("label", &client.label),
                            ("got", &tokens.account.as_deref().unwrap_or_default()),
                            ("want", &account.user),
                        ],
                    ))));
                }
                let secret = tokens.tokens.clone();
                if let Err(e) = vault::remember(&store, &account, &secret).await {
                    d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().keep_sign_in_failed,
                        &[("e", &e)],
                    ))));
                }
                d.dispatch(Action::Account(AccountAction::Password {
                    account_id: account.id.clone(),
                    password: secret.clone(),
                }));
                run_check(store, account, secret, d).await;
            });
        })
    };

    let on_first_check = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |scope: postino_sync::first_check::Scope| {
            let Some(prompt) = state.checking.first_check.clone() else {
                return;
            };
            let (Some(store), Some(account), Some(password)) = (
                store.clone(),
                state.accounts.get(&prompt.account_id).cloned(),
                state.accounts.passwords.get(&prompt.account_id).cloned(),
            ) else {
                return;
            };
            spawn_local(answer_first(
                store,
                account,
                password,
                prompt.survey,
                scope,
                d.clone(),
            ));
        })
    };

    let on_open = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |id: String| {
            let Some(store) = store.clone() else { return };
            let d = d.clone();
            let listed = state.list.messages.iter().find(|m| m.id == id);
            let pack = listed.and_then(|m| m.pack.clone());
            let unread = listed.filter(|m| !m.read).map(|m| Summary::clone(m));
            spawn_local(async move {
                match open_stored(&store, &id, pack.as_deref()).await {
                    Ok(Some(view)) => {
                        d.dispatch(Action::Read(ReadAction::Open(view)));
                        if let Some(summary) = unread {
                            let summary = Summary {
                                read: true,
                                ..summary
                            };
                            // Not worth a message if it fails: the mark is a convenience.
                            if store.put_summary(&summary).await.is_ok() {
                                d.dispatch(Action::List(ListAction::MarkedRead(id)));
                            }
                        }
                    }
                    Ok(None) => {
                        d.dispatch(Action::Check(CheckAction::Error(t().message_gone.into())))
                    }
                    Err(e) => d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().read_message_failed,
                        &[("e", &e)],
                    )))),
                }
            });
        })
    };

    let on_delete = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |id: String| {
            let (Some(store), Some(summary)) = (
                store.clone(),
                state.list.messages.iter().find(|m| m.id == id).cloned(),
            ) else {
                return;
            };
            let d = d.clone();
            spawn_local(async move {
                match delete_stored(&store, &summary).await {
                    Ok(()) => d.dispatch(Action::Deleted(summary.id.clone())),
                    Err(e) => d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().delete_message_failed,
                        &[("e", &e)],
                    )))),
                }
            });
        })
    };

    let on_import = {
        let (store, d) = (store.clone(), d.clone());
        Callback::from(move |files: Vec<web_sys::File>| {
            let Some(store) = store.clone() else { return };
            let d = d.clone();
            spawn_local(async move {
                d.dispatch(Action::Check(CheckAction::Busy(t().importing.into())));
                mark_index_pending("?");
                let outcome = engine::import(files).await;
                if let Ok(messages) = store.summaries().await {
                    d.dispatch(Action::List(ListAction::Messages(messages)));
                }
                d.dispatch(match outcome {
                    Ok(done) => Action::Check(CheckAction::Info(import_sentence(&done))),
                    Err(e) => {
                        Action::Check(CheckAction::Error(fill(t().import_failed, &[("e", &e)])))
                    }
                });
            });
        })
    };

    let on_export = {
        let (d, state) = (d.clone(), state.clone());
        Callback::from(move |_: MouseEvent| {
            let messages: Vec<(String, Option<i64>)> = state
                .list
                .visible()
                .map(|m| (m.id.clone(), m.date))
                .collect();
            let name = match &state.list.mailbox {
                Some(id) => format!("postino-{}.mbox", state.accounts.mailbox_name(id)),
                None => "postino.mbox".to_string(),
            };
            let d = d.clone();
            spawn_local(async move {
                d.dispatch(Action::Check(CheckAction::Busy(
                    t().exporting.fill(messages.len() as u64, &[]),
                )));
                let saved = engine::export(messages)
                    .await
                    .and_then(|(n, file)| download::save_blob(&name, &file).map(|()| n));
                d.dispatch(match saved {
                    Ok(n) => Action::Check(CheckAction::Info(
                        t().exported.fill(n as u64, &[("name", &name)]),
                    )),
                    Err(e) => {
                        Action::Check(CheckAction::Error(fill(t().export_failed, &[("e", &e)])))
                    }
                });
            });
        })
    };

    // "On the server…": list what the server holds (asks for the password first if needed).
    let on_triage_open = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |id: String| {
            let Some(account) = state.accounts.get(&id).cloned() else {
                return;
            };
            let Some(password) = state.accounts.passwords.get(&id).cloned() else {
                d.dispatch(Action::Account(AccountAction::AskPassword(id)));
                return;
            };
            d.dispatch(Action::TriageOpen(id));
            let (d, store) = (d.clone(), store.clone());
            spawn_local(async move {
                let password = match store.as_ref() {
                    Some(store) => fresh_secret(store, &account, password, false, &d).await,
                    None => Ok(password),
                };
                let listed = match password {
                    Ok(password) => engine::list_server(&account, &password).await,
                    Err(failure) => Err(failure),
                };
                match listed {
                    Ok(listing) => d.dispatch(Action::Check(CheckAction::TriageListed(listing))),
                    Err(failure) => {
                        d.dispatch(Action::Check(CheckAction::TriageClose));
                        d.dispatch(failure_action(&account, failure, During::Other));
                    }
                }
            });
        })
    };

    let on_triage_apply = {
        let (store, d, state) = (store.clone(), d.clone(), state.clone());
        Callback::from(move |choices: Vec<(String, Choice)>| {
            let Some(triage) = state.checking.triage.clone() else {
                return;
            };
            let (Some(store), Some(account), Some(password)) = (
                store.clone(),
                state.accounts.get(&triage.account_id).cloned(),
                state.accounts.passwords.get(&triage.account_id).cloned(),
            ) else {
                return;
            };
            let d = d.clone();
            spawn_local(async move {
                d.dispatch(Action::Check(CheckAction::TriageBusy(true)));
                let progress_d = d.clone();
                let progress =
                    move |p: Progress| progress_d.dispatch(Action::Check(CheckAction::Progress(p)));
                let done = engine::apply_choices(
                    &account,
                    &password,
                    choices,
                    progress,
                    waiting(&d, &account),
                )
                .await;
                if let Ok(messages) = store.summaries().await {
                    d.dispatch(Action::List(ListAction::Messages(messages)));
                }
                match done {
                    Ok(report) => {
                        d.dispatch(Action::Check(CheckAction::Info(fill(
                            t().triage_done,
                            &[
                                ("downloaded", &report.downloaded),
                                ("skipped", &report.skipped),
                                ("deleted", &report.deleted),
                            ],
                        ))));
                        match engine::list_server(&account, &password).await {
                            Ok(listing) => {
                                d.dispatch(Action::Check(CheckAction::TriageListed(listing)))
                            }
                            Err(failure) => {
                                d.dispatch(failure_action(&account, failure, During::Other))
                            }
                        }
                    }
                    Err(failure) => {
                        d.dispatch(Action::Check(CheckAction::TriageBusy(false)));
                        d.dispatch(failure_action(&account, failure, During::Other));
                    }
                }
            });
        })
    };

    let busy = state.checking.syncing.is_some();
    let query = state.list.shown_search().map(|h| h.query.clone());
    let selected = state.reading.open.as_ref().map(|r| r.id.clone());
    let s = t();
    let offline_reason = s.offline_reason;
    let on_language = {
        let lang = lang.clone();
        Callback::from(move |chosen: Lang| {
            language::choose(chosen);
            lang.set(chosen);
        })
    };

    html! {
        // Keyed by the language: a change renders every part again in the new one.
        <div class="app" key={lang.code()}>
            if state.page.update_ready {
                <UpdateBanner on_reload={Callback::from(|_| service_worker::accept_update())} />
            }
            <header class="toolbar">
                <h1>{"Postino"}</h1>
                if state.checking.offline {
                    <span id="offline-indicator" class="offline-badge" title={offline_reason}>{s.offline}</span>
                }
                <input id="search" type="search" placeholder={s.search_placeholder} aria-label={s.search_label}
                    value={state.list.search.clone()} oninput={on_search}
                    aria-describedby={(state.list.index_pending > 0).then_some("search-note")} />
                if state.list.index_pending > 0 {
                    <span id="search-note" class="search-note" role="status">
                        { s.indexing.fill(state.list.index_pending as u64, &[]) }
                    </span>
                }
                if state.accounts.all.len() > 1 || state.list.mailbox.is_some() || state.list.has_imported() {
                    <select id="mailbox" aria-label={s.mailbox} onchange={{
                        let d = d.clone();
                        Callback::from(move |e: Event| {
                            if let Some(s) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                                let v = s.value();
                                d.dispatch(Action::List(ListAction::Mailbox((!v.is_empty()).then_some(v))));
                            }
                        })
                    }}>
                        <option value="" selected={state.list.mailbox.is_none()}>{s.all_accounts}</option>
                        { for state.accounts.all.iter().map(|a| html! {
                            <option value={a.id.clone()} selected={state.list.mailbox.as_deref() == Some(a.id.as_str())}>{ &a.name }</option>
                        }) }
                        if state.list.has_imported() {
                            <option value={IMPORTED_ACCOUNT} selected={state.list.mailbox.as_deref() == Some(IMPORTED_ACCOUNT)}>{s.imported_mailbox}</option>
                        }
                    </select>
                }
                <select id="sort" aria-label={s.sort_label} onchange={{
                    let d = d.clone();
                    Callback::from(move |e: Event| {
                        if let Some(s) = e.target_dyn_into::<web_sys::HtmlSelectElement>() {
                            d.dispatch(Action::List(ListAction::Sort(SortKey::parse(&s.value()))));
                        }
                    })
                }}>
                    <option value="date" selected={state.list.sort == SortKey::Date}>{s.sort_newest}</option>
                    <option value="sender" selected={state.list.sort == SortKey::Sender}>{s.sort_sender}</option>
                    <option value="size" selected={state.list.sort == SortKey::Size}>{s.sort_largest}</option>
                </select>
                if !state.accounts.all.is_empty() {
                    <button id="check-mail" class="primary" onclick={on_check_all}
                        disabled={busy || state.checking.offline}
                        title={state.checking.offline.then_some(offline_reason)}
                        data-engine={state.page.engine.name()}
                        aria-describedby={state.checking.offline.then_some("offline-note")}>{s.check_mail}</button>
                    if state.page.engine == engine::Status::Loading && busy {
                        <span id="engine-status" class="engine-status" role="status">
                            {s.loading_engine}</span>
                    }
                    <button id="new-account" onclick={on(&d, || Action::Account(AccountAction::ShowForm(true)))}>{s.add_account}</button>
                }
                if !state.list.view.is_empty() {
                    <button id="export" onclick={on_export}
                        title={s.export_title}>{s.export}</button>
                }
                <button id="settings-toggle" aria-expanded={state.page.show_settings.to_string()}
                    onclick={on(&d, { let show = !state.page.show_settings; move || Action::Page(PageAction::ShowSettings(show)) })}>{s.settings}</button>
            </header>
            if state.checking.offline {
                <p id="offline-note" class="offline-note" role="status">{offline_reason}</p>
            }
            <StatusLine notice={state.checking.notice.clone()} progress={state.checking.progress.clone()}
                on_cancel={busy.then(|| Callback::from(|_| spawn_local(async { engine::cancel().await; })))} />
            if let Some(warning) = state.page.storage.low_space_warning() {
                <p id="storage-warning" class="error" role="alert">{warning}</p>
            }
            if state.page.show_settings {
                <Settings storage={state.page.storage.clone()} offline_ready={state.page.offline_ready}
                    accounts={state.accounts.all.clone()} {on_remove}
                    on_edit={{ let d = d.clone(); Callback::from(move |id| d.dispatch(Action::Account(AccountAction::Edit(id)))) }}
                    build={service_worker::build_id()}
                    on_persist={{ let d = d.clone(); Callback::from(move |_| ask_persistence(d.clone(), true)) }}
                    {on_import} on_triage={on_triage_open} lang={*lang} {on_language}
                    on_close={on(&d, || Action::Page(PageAction::ShowSettings(false)))} />
            }
            if let Some(triage) = &state.checking.triage {
                <Triage account_name={state.accounts.name(&triage.account_id)}
                    listing={triage.listing.clone()} busy={triage.busy}
                    on_apply={on_triage_apply} on_close={on(&d, || Action::Check(CheckAction::TriageClose))} />
            }
            if let Some(prompt) = &state.checking.first_check {
                <FirstCheckQuestion account_name={state.accounts.name(&prompt.account_id)}
                    survey={prompt.survey.clone()} on_choose={on_first_check} />
            }
            if let Some(prompt) = &state.checking.cert_prompt {
                <CertQuestion prompt={prompt.clone()} on_trust={on_trust}
                    on_dismiss={on(&d, || Action::Check(CheckAction::CertDismissed))} />
            }
            if let Some(account) = state.accounts.password_prompt.as_ref().and_then(|id| state.accounts.get(id)) {
                if let Some(client) = &account.oauth {
                    <SignInQuestion account_name={account.name.clone()} label={client.label.clone()}
                        on_sign_in={on_sign_in_again} />
                } else {
                    <PasswordQuestion account_name={account.name.clone()} on_password={on_password} />
                }
            }
            if state.accounts.loaded && state.accounts.show_form {
                <AccountForm key={state.accounts.editing.clone().unwrap_or_default()} default_relay={page_origin()} {on_save} {on_test}
                    account={state.accounts.editing.as_deref().and_then(|id| state.accounts.get(id)).cloned()}
                    on_cancel={(!state.accounts.all.is_empty()).then(|| on(&d, || Action::Account(AccountAction::ShowForm(false))))} />
            }
            <main class={classes!("mail", state.reading.open.is_some().then_some("reading"))}>
                <MessageList messages={state.list.messages.clone()} view={state.list.view.clone()} {query}
                    {selected} {on_open} on_delete={on_delete.clone()} />
                if let Some(view) = &state.reading.open {
                    <Reader key={view.id.clone()} view={view.clone()} on_close={on(&d, || Action::Read(ReadAction::Close))}
                        on_allow_remote={{ let d = d.clone(); Callback::from(move |id| d.dispatch(Action::Read(ReadAction::AllowRemote(id)))) }}
                        on_allow_sender={{
                            let (d, senders) = (d.clone(), state.reading.remote_senders.clone());
                            Callback::from(move |sender: String| {
                                let mut all = (*senders).clone();
                                all.insert(sender);
                                remote_senders::save(&all);
                                d.dispatch(Action::Read(ReadAction::RemoteSenders(all)));
                            })
                        }}
                        {on_delete} />
                }
            </main>
        </div>
    }
}
