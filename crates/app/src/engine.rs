//! The page's side of the engine worker (`postino_engine::worker`): starts it, sends it
//! requests, and turns its replies back into the results the page awaits. The engine does the
//! network, TLS, POP3 and the writes of a download; the page renders.
//!
//! If the engine dies (a crash, or the browser or a test terminating it), the page learns it
//! from the engine's life lock (`postino_engine::protocol::life_lock`), fails what was pending
//! with a sentence, and starts a new engine. What the old one committed is in IndexedDB; the
//! next check fetches exactly the rest.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Array, Object, Reflect};
use postino_engine::explain::Failure;
use postino_engine::locks;
use postino_engine::oauth::OAuthError;
use postino_engine::protocol::{
    from_js, life_lock, to_js, Envelope, Event, Hello, Imported, Json, Login, OAuthCall, Reply,
    Request,
};
use postino_pop3::Secret;
use postino_sync::triage::{Choice, ServerMessage, TriageReport};
use postino_sync::{Account, Progress, Summary, SyncReport};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, Worker};

/// The engine's loader (`web/engine-loader.js`, copied beside the page by Trunk): it loads the
/// engine's script and wasm and says so when they do not arrive.
const ENGINE_SCRIPT: &str = "./engine-loader.js";

/// How long an engine may take to load before the page calls it unavailable: its wasm is the
/// largest file of the app, on a slow mobile link tens of seconds.
const LOAD_DEADLINE_MS: i32 = 120_000;

/// What the page hears that is not the reply to a request.
#[derive(Clone, Debug)]
pub enum News {
    /// Messages the engine just stored.
    Stored(Vec<Summary>),
    /// Stored messages the search index still lacks.
    IndexPending(usize),
    /// Something failed outside any request.
    Failed(String),
    /// Whether the engine can take requests.
    Status(Status),
}

/// The engine as the page sees it: the stored mail is shown without it; checking needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Its script and wasm are on their way (a request waits for them).
    #[default]
    Loading,
    Ready,
    /// It did not load, for this reason; the next request tries again.
    Unavailable(String),
}

impl Status {
    /// The name the page's markup carries (`data-engine` of the Check mail button).
    pub fn name(&self) -> &'static str {
        match self {
            Status::Loading => "loading",
            Status::Ready => "ready",
            Status::Unavailable(_) => "unavailable",
        }
    }
}

/// Where the page hears [`News`].
type NewsCallback = Rc<dyn Fn(News)>;

/// A request's callback, if it has one.
type Callback<A> = Option<Box<dyn FnMut(A)>>;

/// Callbacks of one pending request.
struct Pending {
    reply: oneshot::Sender<Reply>,
    progress: Callback<Progress>,
    /// Called with `true` while another tab holds the account, `false` once this one starts.
    waiting: Callback<bool>,
}

#[derive(Default)]
struct Engine {
    worker: RefCell<Option<Worker>>,
    /// The engine answered its hello: requests go straight to it.
    ready: Cell<bool>,
    /// Requests sent before the engine was ready, in order.
    queue: RefCell<Vec<JsValue>>,
    pending: RefCell<HashMap<u32, Pending>>,
    next_id: Cell<u32>,
    news: RefCell<Option<NewsCallback>>,
    /// Incremented per engine started, so that a dead engine's lock is not mistaken for a
    /// new one's.
    generation: Cell<u32>,
}

thread_local! {
    static ENGINE: Rc<Engine> = Rc::new(Engine::default());
}

fn engine() -> Rc<Engine> {
    ENGINE.with(Rc::clone)
}

/// Says where the engine's news goes. The engine itself is loaded by [`load`] or by the first
/// request, whichever comes first.
pub fn listen(news: impl Fn(News) + 'static) {
    *engine().news.borrow_mut() = Some(Rc::new(news));
}

/// Loads the engine now if it is not loaded or loading. The page calls it once the stored list
/// is on screen: the engine's wasm, the largest file, then takes no bandwidth or CPU from the
/// first render.
pub fn load() {
    let engine = engine();
    if engine.worker.borrow().is_none() {
        spawn(&engine);
    }
}

fn spawn(engine: &Rc<Engine>) {
    let generation = engine.generation.get() + 1;
    engine.generation.set(generation);
    engine.ready.set(false);
    tell(engine, News::Status(Status::Loading));
    let worker = match Worker::new(ENGINE_SCRIPT) {
        Ok(w) => w,
        Err(e) => {
            unavailable(engine, generation, format!("{e:?}"));
            return;
        }
    };
    {
        let engine = engine.clone();
        let deadline = Closure::once_into_js(move || {
            if engine.generation.get() == generation && !engine.ready.get() {
                unavailable(&engine, generation, "it took too long to load".into());
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                deadline.unchecked_ref(),
                LOAD_DEADLINE_MS,
            );
        }
    }
    let id = format!("{}-{generation}", (js_sys::Math::random() * 1e16) as u64);
    let on_message = {
        let engine = engine.clone();
        let id = id.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match from_js::<Event>(event.data()) {
                Ok(Event::Loaded) => hello(&engine, &id),
                Ok(Event::Ready) => ready(&engine, &id, generation),
                Ok(Event::Unavailable(reason)) => unavailable(&engine, generation, reason),
                Ok(event) => receive(&engine, event),
                Err(e) => tell(&engine, News::Failed(format!("engine message: {e}"))),
            }
        })
    };
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // An uncaught error (a panic aborts the wasm): the engine is of no more use. Before it
    // was ready, it did not load: starting another at once would fail the same way, in a loop.
    let on_error = {
        let engine = engine.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if engine.ready.get() {
                died(&engine, generation)
            } else {
                unavailable(&engine, generation, "its script failed to start".into())
            }
        })
    };
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    *engine.worker.borrow_mut() = Some(worker);
}

/// The engine listens: tell it the name of its life lock.
fn hello(engine: &Engine, id: &str) {
    let hello = Object::new();
    if let Ok(value) = to_js(&Hello {
        engine: id.to_string(),
        lang: postino_i18n::lang().code().into(),
    }) {
        let _ = Reflect::set(&hello, &"hello".into(), &value);
    }
    if let Some(worker) = engine.worker.borrow().as_ref() {
        let _ = worker.post_message(&hello);
    }
}

/// The engine holds its life lock: send what waited, and wait for the lock ourselves, which
/// the browser grants once the engine is gone.
fn ready(engine: &Rc<Engine>, id: &str, generation: u32) {
    engine.ready.set(true);
    tell(engine, News::Status(Status::Ready));
    let queued: Vec<JsValue> = engine.queue.borrow_mut().drain(..).collect();
    if let Some(worker) = engine.worker.borrow().as_ref() {
        for message in queued {
            let _ = worker.post_message(&message);
        }
    }
    let engine = engine.clone();
    let name = life_lock(id);
    wasm_bindgen_futures::spawn_local(async move {
        if locks::available() {
            if let Ok(guard) = locks::acquire(&name).await {
                drop(guard);
                died(&engine, generation);
            }
        }
    });
}

/// Engine `generation` is gone: fail what it had pending and start another.
fn died(engine: &Rc<Engine>, generation: u32) {
    if engine.generation.get() != generation {
        return;
    }
    if let Some(worker) = engine.worker.borrow_mut().take() {
        worker.terminate();
    }
    fail_pending(
        engine,
        "Postino's mail engine stopped. What was downloaded is kept; check mail again to fetch \
         the rest.",
    );
    spawn(engine);
}

/// Engine `generation` did not load (`reason`): fail what waited for it, and start no other
/// until a request asks for one.
fn unavailable(engine: &Rc<Engine>, generation: u32, reason: String) {
    if engine.generation.get() != generation || engine.ready.get() {
        return;
    }
    if let Some(worker) = engine.worker.borrow_mut().take() {
        worker.terminate();
    }
    engine.queue.borrow_mut().clear();
    let text = format!(
        "Postino's mail engine is not ready: {reason}. Stored mail stays readable; press Check \
         mail to try again."
    );
    fail_pending(engine, &text);
    tell(engine, News::Status(Status::Unavailable(reason)));
}

/// Fails every pending request with `text`, each in its own reply type.
fn fail_pending(engine: &Engine, text: &str) {
    let pending: Vec<Pending> = engine
        .pending
        .borrow_mut()
        .drain()
        .map(|(_, p)| p)
        .collect();
    let failure = || Failure::Message {
        text: text.to_string(),
        detail: None,
    };
    for p in pending {
        let reply = match p.progress {
            Some(_) => Reply::Checked(Err(failure())),
            None => Reply::Tested(Err(failure())),
        };
        let _ = p.reply.send(reply);
    }
}

fn receive(engine: &Rc<Engine>, event: Event) {
    match event {
        Event::Loaded | Event::Ready | Event::Unavailable(_) => {}
        Event::Reply { id, reply } => {
            let pending = engine.pending.borrow_mut().remove(&id);
            if let Some(p) = pending {
                let _ = p.reply.send(reply);
            }
        }
        Event::Progress { id, progress } => call_back(engine, id, |p| &mut p.progress, progress),
        Event::Waiting { id } => call_back(engine, id, |p| &mut p.waiting, true),
        Event::Started { id } => call_back(engine, id, |p| &mut p.waiting, false),
        Event::Stored(summaries) => tell(engine, News::Stored(summaries.0)),
        Event::IndexPending(n) => tell(engine, News::IndexPending(n)),
        Event::Failed(text) => tell(engine, News::Failed(text)),
    }
}

/// Calls one of request `id`'s callbacks with `arg`. The callback is taken out while it runs:
/// it may dispatch, and a render may send another request.
fn call_back<A>(engine: &Engine, id: u32, slot: fn(&mut Pending) -> &mut Callback<A>, arg: A) {
    let callback = engine
        .pending
        .borrow_mut()
        .get_mut(&id)
        .and_then(|p| slot(p).take());
    if let Some(mut callback) = callback {
        callback(arg);
        if let Some(p) = engine.pending.borrow_mut().get_mut(&id) {
            *slot(p) = Some(callback);
        }
    }
}

fn tell(engine: &Engine, news: News) {
    let callback = engine.news.borrow().clone();
    if let Some(callback) = callback {
        callback(news);
    }
}

/// Sends `request` and waits for its reply.
async fn ask(
    request: Request,
    files: Option<Array>,
    progress: Callback<Progress>,
    waiting: Callback<bool>,
) -> Option<Reply> {
    let engine = engine();
    // Not started yet, or it did not load last time: this request tries (again).
    if engine.worker.borrow().is_none() {
        spawn(&engine);
    }
    let id = engine.next_id.get().wrapping_add(1);
    engine.next_id.set(id);
    let message = Object::new();
    let value = to_js(&Envelope {
        id,
        request,
        lang: postino_i18n::lang().code().into(),
    })
    .ok()?;
    Reflect::set(&message, &"message".into(), &value).ok()?;
    if let Some(files) = files {
        Reflect::set(&message, &"files".into(), &files).ok()?;
    }
    let (tx, rx) = oneshot::channel();
    engine.pending.borrow_mut().insert(
        id,
        Pending {
            reply: tx,
            progress,
            waiting,
        },
    );
    if engine.ready.get() {
        if let Some(worker) = engine.worker.borrow().as_ref() {
            let _ = worker.post_message(&message);
        }
    } else {
        engine.queue.borrow_mut().push(message.into());
    }
    rx.await.ok()
}

fn lost<T>() -> Result<T, Failure> {
    Err(Failure::Message {
        text: "Postino's mail engine did not answer. Reload the page.".into(),
        detail: None,
    })
}

/// As the reply says, or the engine's death as a failure of this request.
fn failure_of(reply: Option<Reply>) -> Failure {
    match reply {
        Some(Reply::Checked(Err(f)))
        | Some(Reply::Tested(Err(f)))
        | Some(Reply::Listed(Err(f)))
        | Some(Reply::Triaged(Err(f)))
        | Some(Reply::Surveyed(Err(f))) => f,
        _ => lost::<()>().unwrap_err(),
    }
}

/// The account and its secret: a password, or the tokens of a sign-in with a provider (the
/// engine logs in with the access token alone).
fn login(account: &Account, password: &Secret<String>) -> Login {
    Login {
        account: account.clone(),
        password: password.clone(),
    }
}

const NO_ANSWER: &str = "Postino's mail engine did not answer. Reload the page.";

/// Sign-in with a provider: the engine redeems the code the provider sent back.
pub async fn redeem(
    client: &postino_sync::OAuthClient,
    relay: &str,
    code: Secret<String>,
    verifier: Secret<String>,
    redirect_uri: String,
) -> Result<postino_engine::protocol::SignedIn, OAuthError> {
    let call = OAuthCall::Redeem {
        client: client.clone(),
        relay: relay.to_string(),
        code,
        verifier,
        redirect_uri,
    };
    match ask(Request::OAuth(call), None, None, None).await {
        Some(Reply::SignedIn(r)) => r,
        _ => Err(OAuthError::Failed(NO_ANSWER.into())),
    }
}

/// The tokens to log in to `account` with: `None` while `tokens` are good, else renewed ones.
pub async fn fresh(
    account: &Account,
    tokens: &Secret<String>,
    force: bool,
) -> Result<Option<Secret<String>>, OAuthError> {
    let call = OAuthCall::Fresh {
        account: account.clone(),
        tokens: tokens.clone(),
        force,
    };
    match ask(Request::OAuth(call), None, None, None).await {
        Some(Reply::Fresh(r)) => r.map(|renewed| renewed.map(|r| r.0)),
        _ => Err(OAuthError::Failed(NO_ANSWER.into())),
    }
}

/// The sign-ins the relay at `relay` offers.
pub async fn relay_clients(relay: &str) -> Result<Vec<postino_sync::OAuthClient>, String> {
    let call = OAuthCall::RelayClients {
        relay: relay.to_string(),
    };
    match ask(Request::OAuth(call), None, None, None).await {
        Some(Reply::Clients(r)) => r,
        _ => Err(NO_ANSWER.into()),
    }
}

/// Where the relay finds the POP3 server of an address at `domain`.
pub async fn autoconfig(
    relay: &str,
    domain: &str,
) -> Result<Vec<postino_engine::autoconfig::Candidate>, String> {
    let call = OAuthCall::Autoconfig {
        relay: relay.to_string(),
        domain: domain.to_string(),
    };
    match ask(Request::OAuth(call), None, None, None).await {
        Some(Reply::Candidates(r)) => r,
        _ => Err(NO_ANSWER.into()),
    }
}

/// Check one account. `waiting` hears `true` while another tab checks it, then `false`.
pub async fn check(
    account: &Account,
    password: &Secret<String>,
    progress: impl FnMut(Progress) + 'static,
    waiting: impl FnMut(bool) + 'static,
) -> Result<SyncReport, Failure> {
    let reply = ask(
        Request::Check(login(account, password)),
        None,
        Some(Box::new(progress)),
        Some(Box::new(waiting)),
    )
    .await;
    match reply {
        Some(Reply::Checked(r)) => r,
        other => Err(failure_of(other)),
    }
}

/// Stops the running check or triage after the message in hand. Returns whether one ran.
pub async fn cancel() -> bool {
    // No engine, nothing running: do not load one to say so.
    if engine().worker.borrow().is_none() {
        return false;
    }
    matches!(
        ask(Request::Cancel, None, None, None).await,
        Some(Reply::Cancelled { was_running: true })
    )
}

pub async fn test_connection(
    account: &Account,
    password: &Secret<String>,
) -> Result<String, Failure> {
    match ask(
        Request::TestConnection(login(account, password)),
        None,
        None,
        None,
    )
    .await
    {
        Some(Reply::Tested(r)) => r,
        other => Err(failure_of(other)),
    }
}

pub async fn list_server(
    account: &Account,
    password: &Secret<String>,
) -> Result<Vec<ServerMessage>, Failure> {
    match ask(
        Request::ListServer(login(account, password)),
        None,
        None,
        None,
    )
    .await
    {
        Some(Reply::Listed(r)) => r.map(|Json(listed)| listed),
        other => Err(failure_of(other)),
    }
}

pub async fn apply_choices(
    account: &Account,
    password: &Secret<String>,
    choices: Vec<(String, Choice)>,
    progress: impl FnMut(Progress) + 'static,
    waiting: impl FnMut(bool) + 'static,
) -> Result<TriageReport, Failure> {
    let request = Request::ApplyTriage {
        login: login(account, password),
        choices,
    };
    match ask(
        request,
        None,
        Some(Box::new(progress)),
        Some(Box::new(waiting)),
    )
    .await
    {
        Some(Reply::Triaged(r)) => r,
        other => Err(failure_of(other)),
    }
}

/// Before an account's first check: what waits on the server, and which of it is recent.
pub async fn survey(
    account: &Account,
    password: &Secret<String>,
    progress: impl FnMut(Progress) + 'static,
) -> Result<postino_sync::first_check::FirstCheck, Failure> {
    match ask(
        Request::Survey(login(account, password)),
        None,
        Some(Box::new(progress)),
        None,
    )
    .await
    {
        Some(Reply::Surveyed(r)) => r.map(|Json(survey)| survey),
        other => Err(failure_of(other)),
    }
}

/// Records what the first check's answer leaves on the server as skipped.
pub async fn leave_out(
    account_id: &str,
    survey: postino_sync::first_check::FirstCheck,
    scope: postino_sync::first_check::Scope,
) -> Result<usize, String> {
    let left_out = survey
        .left_out(scope)
        .into_iter()
        .map(|m| (m.uidl.clone(), m.size))
        .collect();
    let request = Request::LeaveOut {
        account_id: account_id.to_string(),
        left_out,
    };
    match ask(request, None, None, None).await {
        Some(Reply::LeftOut(r)) => r,
        _ => Err("Postino's mail engine did not answer. Reload the page.".into()),
    }
}

/// Imports `.eml` and mbox files (they cross to the engine as `File`s, not copied).
pub async fn import(files: Vec<web_sys::File>) -> Result<Imported, String> {
    let array: Array = files.into_iter().collect();
    match ask(Request::Import, Some(array), None, None).await {
        Some(Reply::Imported(r)) => r,
        other => Err(failure_text(other)),
    }
}

/// Stored `messages` (id, date) as an mbox file, made by the engine: how many it holds, and
/// the file (a `Blob`).
pub async fn export(
    messages: Vec<(String, Option<i64>)>,
) -> Result<(usize, web_sys::Blob), String> {
    match ask(Request::Export(messages), None, None, None).await {
        Some(Reply::Exported(r)) => r.map(|e| (e.count, e.file.unchecked_into())),
        other => Err(failure_text(other)),
    }
}

/// The layout of stored message `id`, which was stored without one: the engine parses it.
/// `None`: it is no longer stored.
pub async fn layout(id: &str) -> Result<Option<Box<postino_sync::layout::Layout>>, String> {
    match ask(Request::Layout(id.to_string()), None, None, None).await {
        Some(Reply::Layout(r)) => r,
        other => Err(failure_text(other)),
    }
}

/// What a reply that is not the one asked for says: the engine's failure (it did not load, or
/// stopped), or that it did not answer.
fn failure_text(reply: Option<Reply>) -> String {
    match failure_of(reply) {
        Failure::Message { text, .. }
        | Failure::BadPassword { text, .. }
        | Failure::TokenRefused { text, .. } => text,
        Failure::Untrusted { problem, .. } => problem,
    }
}

/// Asks the engine to index whatever stored mail the search index lacks.
pub fn index() {
    wasm_bindgen_futures::spawn_local(async {
        let _ = ask(Request::Index, None, None, None).await;
    });
}
