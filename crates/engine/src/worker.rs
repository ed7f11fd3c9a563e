//! The engine's side of the worker: receives [`Envelope`]s from the page, runs them, and
//! posts [`Event`]s back. It owns the relay WebSocket, TLS, POP3, the sync runner, parsing and
//! the writes of downloads, triage, imports and the search index.
//!
//! Contract with the page (`postino_app::engine`): the engine says [`Event::Loaded`]; the
//! page's first message is then a [`Hello`] naming the engine's life lock; the engine opens the store, takes that lock for as long as
//! it lives, and posts [`Event::Ready`]. Every later message is an [`Envelope`] (with, for an
//! import, the files as `files` beside it) and gets exactly one [`Event::Reply`] with its id.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use postino_sync::{Account, Cancel, Progress, Store};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::explain::Failure;
use crate::idb::IdbStore;
use crate::locks::{self, LockGuard};
use crate::protocol::{
    account_lock, from_js, life_lock, to_js, Envelope, Event, Hello, Json, Login, OAuthCall,
    Renewed, Reply, Request, SignedIn,
};
use crate::{check, import, indexer};

/// The database the app keeps everything in.
pub const DATABASE: &str = "postino";

/// Progress is posted at most this often (plus the first and the last): the page re-renders on
/// each, and a download of small messages makes thousands.
const PROGRESS_EVERY_MS: f64 = 100.0;
/// New mail shows in the list this long after a download starts, then at most every
/// [`STORED_EVERY_MS`]: each time the page sorts and renders its list again, which cost the
/// page's thread a second of CPU in a 3,000-message download when it was every 500 ms.
const STORED_FIRST_MS: f64 = 500.0;
const STORED_EVERY_MS: f64 = 2_000.0;

thread_local! {
    static STORE: RefCell<Option<Rc<IdbStore>>> = const { RefCell::new(None) };
    /// The life lock, held until the worker goes.
    static LIFE: RefCell<Option<LockGuard>> = const { RefCell::new(None) };
    /// The stop switch of the running check or triage, if one runs.
    static RUNNING: RefCell<Option<Cancel>> = const { RefCell::new(None) };
    /// Aborts the wait of a check for its account's lock (held by another tab).
    static WAITING: RefCell<Option<web_sys::AbortController>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Posts `event` to the page.
pub fn post(event: &Event) {
    match to_js(event) {
        Ok(value) => {
            let _ = scope().post_message(&value);
        }
        // Every event serialises; if one did not, the page would wait for its reply forever.
        Err(e) => {
            if let Ok(value) = to_js(&Event::Failed(format!("engine message lost: {e}"))) {
                let _ = scope().post_message(&value);
            }
        }
    }
}

fn notify() -> Rc<dyn Fn(Event)> {
    Rc::new(|event| post(&event))
}

/// Starts the engine: called once by the worker's `main`.
pub fn start() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let data = event.data();
        spawn_local(async move { receive(data).await });
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Event::Loaded);
}

async fn receive(data: JsValue) {
    let message = Reflect::get(&data, &"message".into()).unwrap_or(JsValue::UNDEFINED);
    if let Ok(hello) = from_js::<Hello>(Reflect::get(&data, &"hello".into()).unwrap_or_default()) {
        return greet(hello).await;
    }
    let envelope: Envelope = match from_js(message) {
        Ok(e) => e,
        Err(e) => return post(&Event::Failed(format!("the engine got a bad request: {e}"))),
    };
    speak(&envelope.lang);
    let Some(store) = STORE.with(|s| s.borrow().clone()) else {
        return post(&Event::Failed(
            "the engine got a request before it was ready".into(),
        ));
    };
    let files = Reflect::get(&data, &"files".into())
        .ok()
        .and_then(|f| f.dyn_into::<Array>().ok());
    let reply = run(envelope.id, envelope.request, files, store.clone()).await;
    // What the request stored and the page was not told yet, before its reply.
    post_stored(&store);
    post(&Event::Reply {
        id: envelope.id,
        reply,
    });
}

/// What the engine says from now on is in the page's language `code`.
fn speak(code: &str) {
    if let Some(lang) = postino_i18n::Lang::parse(code) {
        postino_i18n::set(lang);
    }
}

/// Opens the store, takes the life lock and says so.
async fn greet(hello: Hello) {
    speak(&hello.lang);
    match IdbStore::open(DATABASE).await {
        Ok(store) => STORE.with(|s| *s.borrow_mut() = Some(Rc::new(store))),
        Err(e) => {
            return post(&Event::Failed(postino_i18n::fill(
                postino_i18n::te().storage_open_failed,
                &[("e", &e)],
            )))
        }
    }
    match locks::acquire(&life_lock(&hello.engine)).await {
        Ok(guard) => LIFE.with(|l| *l.borrow_mut() = Some(guard)),
        // Without the lock the page cannot tell when this engine dies; it still works.
        Err(e) => post(&Event::Failed(format!("engine life lock: {e}"))),
    }
    post(&Event::Ready);
}

async fn run(id: u32, request: Request, files: Option<Array>, store: Rc<IdbStore>) -> Reply {
    // An account that signs in with a provider logs in with its access token alone.
    let with_access = |login: Login| Login {
        password: crate::oauth::login_secret(&login.account, &login.password),
        account: login.account,
    };
    let request = match request {
        Request::Check(login) => Request::Check(with_access(login)),
        Request::TestConnection(login) => Request::TestConnection(with_access(login)),
        Request::ListServer(login) => Request::ListServer(with_access(login)),
        Request::Survey(login) => Request::Survey(with_access(login)),
        Request::ApplyTriage { login, choices } => Request::ApplyTriage {
            login: with_access(login),
            choices,
        },
        other => other,
    };
    match request {
        Request::OAuth(call) => oauth_call(call).await,
        Request::Check(login) => Reply::Checked(run_check(id, &store, login).await),
        Request::Cancel => {
            // A check waiting for another tab stops waiting now, not when that tab is done.
            if let Some(waiting) = WAITING.with(|w| w.borrow_mut().take()) {
                waiting.abort();
            }
            Reply::Cancelled {
                was_running: RUNNING.with(|r| r.borrow().as_ref().map(Cancel::cancel).is_some()),
            }
        }
        Request::TestConnection(login) => {
            Reply::Tested(check::test_connection(&login.account, &login.password).await)
        }
        Request::ListServer(login) => Reply::Listed(
            check::list_server(&store, &login.account, &login.password)
                .await
                .map(Json),
        ),
        Request::ApplyTriage { login, choices } => {
            let outcome = async {
                let Running(cancel) = &Running::start();
                let _lock = account_locked(id, &login.account, cancel).await?;
                let mut progress = progress_poster(id, &store);
                check::apply_choices(
                    &store,
                    &login.account,
                    &login.password,
                    &choices,
                    cancel,
                    &mut progress,
                )
                .await
            }
            .await;
            if outcome.as_ref().is_ok_and(|r| r.downloaded > 0) {
                indexer::request(store.clone(), notify());
            }
            Reply::Triaged(outcome)
        }
        Request::Survey(login) => {
            let mut progress = progress_poster(id, &store);
            Reply::Surveyed(
                check::survey(
                    &store,
                    &login.account,
                    &login.password,
                    postino_sync::first_check::RECENT_DAYS,
                    &mut progress,
                )
                .await
                .map(Json),
            )
        }
        Request::LeaveOut {
            account_id,
            left_out,
        } => Reply::LeftOut(
            postino_sync::first_check::record_skipped(
                &*store,
                &account_id,
                &left_out,
                check::now_unix(),
            )
            .await
            .map_err(|e| format!("Postino could not note what to leave on the server ({e})")),
        ),
        Request::Import => {
            let files: Vec<web_sys::File> = files
                .map(|a| a.iter().filter_map(|f| f.dyn_into().ok()).collect())
                .unwrap_or_default();
            let outcome = import::import_files(&store, files).await;
            indexer::request(store.clone(), notify());
            Reply::Imported(outcome)
        }
        Request::Index => {
            indexer::request(store, notify());
            Reply::Indexed
        }
        Request::Export(messages) => {
            Reply::Exported(crate::export::export_mbox(&store, &messages).await.map(
                |(count, file)| crate::protocol::Exported {
                    count,
                    file: file.into(),
                },
            ))
        }
        Request::Layout(id) => Reply::Layout(layout_of(&store, &id).await),
    }
}

/// The layout of stored message `id`, for one stored before layouts were kept: parsed here, off
/// the page's thread, and kept for the next time. `None`: the message is no longer stored.
async fn layout_of(
    store: &IdbStore,
    id: &str,
) -> Result<Option<Box<postino_sync::layout::Layout>>, String> {
    let Some(raw) = store.raw_message(id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let layout = postino_sync::layout::Layout::parse(&raw).unwrap_or_default();
    // Not kept: it is parsed again next time, which is slower but loses nothing.
    let _ = store.set_layout(id, &layout).await;
    Ok(Some(Box::new(layout)))
}

/// Sign-in with a provider and the relay's lists: network calls and parsing done here.
async fn oauth_call(call: OAuthCall) -> Reply {
    use crate::oauth;
    match call {
        OAuthCall::Redeem {
            client,
            relay,
            code,
            verifier,
            redirect_uri,
        } => {
            let sign_in = oauth::SignIn {
                url: String::new(),
                state: String::new(),
                verifier,
                redirect_uri,
            };
            let redeemed =
                oauth::redeem(&client, &relay, &sign_in, code.expose(), check::now_unix()).await;
            Reply::SignedIn(redeemed.map(|tokens| SignedIn {
                account: tokens.account.clone(),
                tokens: tokens.to_secret(),
            }))
        }
        OAuthCall::Fresh {
            account,
            tokens,
            force,
        } => Reply::Fresh(
            oauth::fresh(&account, &tokens, force)
                .await
                .map(|renewed| renewed.map(Renewed)),
        ),
        OAuthCall::RelayClients { relay } => Reply::Clients(oauth::relay_clients(&relay).await),
        OAuthCall::Autoconfig { relay, domain } => {
            Reply::Candidates(crate::autoconfig::find(&relay, &domain).await)
        }
    }
}

/// The running check or triage: its stop switch is in [`RUNNING`] until this drops.
struct Running(Cancel);

impl Running {
    fn start() -> Running {
        let cancel = Cancel::default();
        RUNNING.with(|r| *r.borrow_mut() = Some(cancel.clone()));
        Running(cancel)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| *r.borrow_mut() = None);
    }
}

/// Takes the account's lock, waiting (and saying so) while another tab holds it.
async fn account_locked(id: u32, account: &Account, cancel: &Cancel) -> Result<LockGuard, Failure> {
    let name = account_lock(&account.id);
    let failed = |e: String| Failure::Message {
        text: format!("Postino could not coordinate with its other open tabs ({e})."),
        detail: None,
    };
    if let Some(guard) = locks::try_acquire(&name).await.map_err(failed)? {
        return Ok(guard);
    }
    post(&Event::Waiting { id });
    let stopped = || Failure::Message {
        text: "Stopped.".into(),
        detail: None,
    };
    let abort = web_sys::AbortController::new().map_err(|e| failed(format!("{e:?}")))?;
    WAITING.with(|w| *w.borrow_mut() = Some(abort.clone()));
    let guard = locks::acquire_or_abort(&name, &abort.signal()).await;
    WAITING.with(|w| w.borrow_mut().take());
    // `None`: Stop was pressed while waiting.
    let guard = guard.map_err(failed)?.ok_or_else(stopped)?;
    post(&Event::Started { id });
    // Stopped just as the lock came: the other tab did the work; nothing to do here.
    if cancel.is_cancelled() {
        return Err(stopped());
    }
    Ok(guard)
}

/// Tells the page what was stored since it was last told, if anything.
fn post_stored(store: &IdbStore) {
    let stored = store.take_stored();
    if !stored.is_empty() {
        post(&Event::Stored(crate::protocol::Json(stored)));
    }
}

/// Posts progress of request `id`, at most every [`PROGRESS_EVERY_MS`], and the messages
/// stored meanwhile ([`STORED_FIRST_MS`], [`STORED_EVERY_MS`]).
fn progress_poster(id: u32, store: &Rc<IdbStore>) -> impl FnMut(Progress) {
    let mut last = 0.0;
    let mut stored_due = js_sys::Date::now() + STORED_FIRST_MS;
    let store = store.clone();
    move |progress: Progress| {
        let now = js_sys::Date::now();
        if now >= stored_due {
            stored_due = now + STORED_EVERY_MS;
            post_stored(&store);
        }
        let last_one =
            matches!(progress, Progress::Downloading { done, total, .. } if done == total);
        if !matches!(progress, Progress::Downloading { .. })
            || last_one
            || now - last >= PROGRESS_EVERY_MS
        {
            last = now;
            post(&Event::Progress { id, progress });
        }
    }
}

/// A check with the account's lock held; then the login method learned and new mail indexed.
async fn run_check(
    id: u32,
    store: &Rc<IdbStore>,
    login: Login,
) -> Result<postino_sync::SyncReport, Failure> {
    let Login { account, password } = login;
    let outcome = async {
        let Running(cancel) = &Running::start();
        let _lock = account_locked(id, &account, cancel).await?;
        let mut progress = progress_poster(id, store);
        check::check_account(store, &account, &password, cancel, &mut progress).await
    }
    .await;
    if let Ok(report) = &outcome {
        if report.auth_used.is_some() && report.auth_used != account.auth_learned {
            learn_auth(store, &account, report.auth_used).await;
        }
    }
    // New mail becomes searchable once indexed, right after the check (a failed check may
    // have stored some). A check that found nothing new costs no index pass.
    if !matches!(&outcome, Ok(report) if report.downloaded == 0) {
        indexer::request(store.clone(), notify());
    }
    outcome
}

/// The login method that worked is tried first next time (a server that lists mechanisms it
/// cannot check costs one refusal once, not at every check). Written onto the account as
/// stored now, not the copy this check started with: the user may have edited or removed it.
async fn learn_auth(store: &IdbStore, account: &Account, used: Option<postino_pop3::AuthMethod>) {
    let stored = store.accounts().await.ok().and_then(|all| {
        all.into_iter()
            .find(|a| a.id == account.id && a.host == account.host && a.port == account.port)
    });
    if let Some(stored) = stored {
        let learned = Account {
            auth_learned: used,
            ..stored
        };
        let _ = store.put_account(&learned).await;
    }
}
