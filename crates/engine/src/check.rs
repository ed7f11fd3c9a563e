//! "Check mail": relay WebSocket -> POP3 session (TLS in wasm) -> the sync runner -> IndexedDB.

use std::cell::{Cell, RefCell};

use postino_pop3::Secret;
use postino_sync::{
    open_session, sync_account_carrying, Account, Cancel, Connector, LoggedIn, Progress, SyncError,
    SyncOptions, SyncReport,
};

use postino_sync::triage::{apply_triage, server_listing, Choice, ServerMessage, TriageReport};

use crate::explain::{sync_failure, ws_failure, Failure};
use crate::idb::IdbStore;
use crate::transport::{CloseHandle, WsError, WsStream};

use postino_contract::SUBPROTOCOL;

/// `ws(s)://relay/v1/tcp/{host}/{port}` from the relay's http(s) address.
pub fn tcp_url(relay: &str, host: &str, port: u16) -> Result<String, String> {
    let relay = relay.trim().trim_end_matches('/');
    let base = if let Some(rest) = relay.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = relay.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if relay.starts_with("ws://") || relay.starts_with("wss://") {
        relay.to_string()
    } else {
        return Err(format!(
            "the relay address {relay:?} must start with https:// or http://"
        ));
    };
    let host = host.trim();
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if !valid {
        return Err(format!("{host:?} is not a valid server name"));
    }
    Ok(format!("{base}{}", postino_contract::path(host, port)))
}

/// Whether the relay at `relay` (an http(s) or ws(s) address) runs on this machine. Only then is
/// "no encryption" safe: the app's `localhost` means the relay's machine, so with a remote relay
/// USER and PASS would cross the internet in the relay's WebSocket frames.
pub fn relay_is_loopback(relay: &str) -> bool {
    let relay = relay.trim();
    let Some((_, rest)) = relay.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Userinfo is refused: `http://127.0.0.1@evil.example` is evil.example.
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    postino_pop3::client::is_loopback_host(host)
}

/// The sentence when an account asks for no encryption through a relay on another machine.
fn plaintext_refusal(account: &Account) -> Option<Failure> {
    (account.security == postino_sync::Security::None && !relay_is_loopback(&account.relay)).then(
        || Failure::Message {
            text: postino_i18n::fill(
                postino_i18n::te().plaintext_refused,
                &[("relay", &account.relay), ("host", &account.host)],
            ),
            detail: None,
        },
    )
}

/// The account as a check uses it: a pinned certificate is ignored for a well-known
/// provider's host (DESIGN.md invariant 9), whoever pinned it (an older version offered that).
fn without_provider_pin(account: &Account) -> std::borrow::Cow<'_, Account> {
    if account.pinned_cert.is_some() && crate::presets::is_well_known_host(&account.host) {
        std::borrow::Cow::Owned(Account {
            pinned_cert: None,
            ..account.clone()
        })
    } else {
        std::borrow::Cow::Borrowed(account)
    }
}

/// The subprotocols to offer: `postino.v1`, and the relay token if the account has one, as
/// `postino.token.<base64url>` (a subprotocol, never the URL, so no log or history keeps it).
pub fn subprotocols(token: Option<&Secret<String>>) -> Vec<String> {
    use base64::Engine as _;
    let mut protocols = vec![SUBPROTOCOL.to_string()];
    if let Some(token) = token {
        let encoded =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.expose().as_bytes());
        protocols.push(postino_contract::token_subprotocol(&encoded));
    }
    protocols
}

/// Opens one relay WebSocket per POP3 session, and keeps what explains a failure: the last
/// socket's close code and reason, or why the socket did not open.
struct RelayConnector {
    url: String,
    protocols: Vec<String>,
    close: Option<CloseHandle>,
    error: Option<WsError>,
}

impl Connector for RelayConnector {
    type Stream = WsStream;

    async fn connect(&mut self) -> Result<WsStream, SyncError> {
        let protocols: Vec<&str> = self.protocols.iter().map(String::as_str).collect();
        match WsStream::connect(&self.url, &protocols).await {
            Ok(stream) => {
                self.close = Some(stream.close_handle());
                Ok(stream)
            }
            Err(e) => {
                let text = e.to_string();
                self.error = Some(e);
                Err(SyncError::Connect(postino_sync::ConnectError::Relay(text)))
            }
        }
    }
}

impl RelayConnector {
    fn for_account(account: &Account) -> Result<RelayConnector, Failure> {
        if let Some(refused) = plaintext_refusal(account) {
            return Err(refused);
        }
        let url =
            tcp_url(&account.relay, &account.host, account.port).map_err(|e| Failure::Message {
                text: postino_i18n::fill(postino_i18n::te().check_settings, &[("e", &e)]),
                detail: None,
            })?;
        Ok(RelayConnector {
            url,
            protocols: subprotocols(account.relay_token.as_ref()),
            close: None,
            error: None,
        })
    }

    /// What went wrong, in the user's terms, with what the relay said if it said anything.
    fn explain(&self, e: &SyncError, account: &Account) -> Failure {
        match (e, &self.error) {
            (SyncError::Connect(_), Some(ws)) => ws_failure(ws, account),
            _ => sync_failure(
                e,
                self.close.as_ref().and_then(CloseHandle::close_info),
                account,
            ),
        }
    }
}

async fn sync_options(cancel: &Cancel) -> SyncOptions {
    let mut options = SyncOptions::new(now_unix());
    // "Delete right after download" only when the browser promised not to evict the mail.
    options.store_persistent = storage_persisted().await;
    options.cancel = cancel.clone();
    // On a slow link a batch commits (and shows) within seconds, not once 64 messages came.
    options.clock = Some(js_sys::Date::now);
    options
}

/// `navigator.storage.persisted()`, in the page or the worker: whether the browser promised
/// not to evict the stored mail. Only the page can ask for it (`persist()` is not in workers).
async fn storage_persisted() -> bool {
    use js_sys::{Promise, Reflect};
    use wasm_bindgen::JsCast;
    let call = || -> Option<Promise> {
        let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let storage = Reflect::get(&navigator, &"storage".into()).ok()?;
        let persisted: js_sys::Function = Reflect::get(&storage, &"persisted".into())
            .ok()?
            .dyn_into()
            .ok()?;
        persisted.call0(&storage).ok()?.dyn_into().ok()
    };
    match call() {
        Some(promise) => wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        None => false,
    }
}

/// How long the first check's survey keeps its session open for the answer: the download that
/// follows within this time carries on in it, with no second connection, handshake and login
/// (six or seven round trips). Well inside the relay's idle timer (300 s by default) and the
/// ten minutes RFC 1939 asks of a server's; a session that died sooner is replaced.
const KEEP_SURVEY_MS: i32 = 60_000;

/// The survey's session waiting for the user's answer, for the account it logged in to.
struct Kept {
    serial: u32,
    account: (String, String, u16, String),
    session: LoggedIn<WsStream>,
    close: Option<CloseHandle>,
}

thread_local! {
    static KEPT: RefCell<Option<Kept>> = const { RefCell::new(None) };
    static KEPT_SERIAL: Cell<u32> = const { Cell::new(0) };
}

/// What a kept session must match: the same account, server and user.
fn kept_key(account: &Account) -> (String, String, u16, String) {
    (
        account.id.clone(),
        account.host.clone(),
        account.port,
        account.user.clone(),
    )
}

/// Keeps the survey's `session` for [`KEEP_SURVEY_MS`], then ends it with QUIT unless a check
/// took it. A session kept before is dropped (its socket closes; it had changed nothing).
fn keep(account: &Account, session: LoggedIn<WsStream>, close: Option<CloseHandle>) {
    let serial = KEPT_SERIAL.with(|s| {
        s.set(s.get().wrapping_add(1));
        s.get()
    });
    KEPT.with(|k| {
        *k.borrow_mut() = Some(Kept {
            serial,
            account: kept_key(account),
            session,
            close,
        })
    });
    wasm_bindgen_futures::spawn_local(async move {
        crate::transport::sleep(KEEP_SURVEY_MS).await;
        let expired = KEPT.with(|k| {
            let mut kept = k.borrow_mut();
            match kept.as_ref() {
                Some(k) if k.serial == serial => kept.take(),
                _ => None,
            }
        });
        if let Some(kept) = expired {
            let _ = kept.session.client.quit().await;
        }
    });
}

/// The kept survey session for `account`, if there is one.
fn take_kept(account: &Account) -> Option<(LoggedIn<WsStream>, Option<CloseHandle>)> {
    let key = kept_key(account);
    KEPT.with(|k| {
        let mut kept = k.borrow_mut();
        match kept.as_ref() {
            Some(k) if k.account == key => kept.take().map(|k| (k.session, k.close)),
            _ => None,
        }
    })
}

/// Check one account: download what the ledger lacks into `store`, delete what its policy says.
/// `cancel` stops it after the message in hand. The first check carries on in the session its
/// survey kept, when there is one.
pub async fn check_account(
    store: &IdbStore,
    account: &Account,
    password: &Secret<String>,
    cancel: &Cancel,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, Failure> {
    let account = &*without_provider_pin(account);
    let mut connector = RelayConnector::for_account(account)?;
    let carried = take_kept(account).map(|(session, close)| {
        connector.close = close;
        session
    });
    let options = sync_options(cancel).await;
    let result = sync_account_carrying(
        carried,
        &mut connector,
        store,
        account,
        password,
        &options,
        progress,
    )
    .await;
    result.map_err(|e| connector.explain(&e, account))
}

/// Logs in, asks how much mail waits (STAT), and logs out: nothing is downloaded or stored.
/// Returns the sentence to show.
pub async fn test_connection(
    account: &Account,
    password: &Secret<String>,
) -> Result<String, Failure> {
    let account = &*without_provider_pin(account);
    let mut connector = RelayConnector::for_account(account)?;
    let outcome = async {
        let stream = connector.connect().await?;
        let mut client = open_session(stream, account, password).await?;
        let stat = client.stat().await?;
        client.quit().await?;
        Ok::<_, SyncError>(stat)
    }
    .await;
    let stat = outcome.map_err(|e| connector.explain(&e, account))?;
    let t = postino_i18n::te();
    let mail = t.count_messages.fill(stat.count as u64, &[]);
    Ok(postino_i18n::fill(
        t.tested,
        &[
            ("host", &account.host),
            ("user", &account.user),
            ("mail", &mail),
            ("size", &postino_i18n::lang().format_size(stat.size as u64)),
        ],
    ))
}

/// What the server holds for `account`: headers and sizes, nothing downloaded.
pub async fn list_server(
    store: &IdbStore,
    account: &Account,
    password: &Secret<String>,
) -> Result<Vec<ServerMessage>, Failure> {
    let account = &*without_provider_pin(account);
    let mut connector = RelayConnector::for_account(account)?;
    let result = server_listing(&mut connector, store, account, password, &mut |_| {}).await;
    result.map_err(|e| connector.explain(&e, account))
}

/// Before the first check: what is on the server for `account` that it lacks, and which of it
/// is dated within the last `days`. The session stays open for the check that follows the
/// answer ([`KEEP_SURVEY_MS`]).
pub async fn survey(
    store: &IdbStore,
    account: &Account,
    password: &Secret<String>,
    days: u32,
    progress: &mut dyn FnMut(Progress),
) -> Result<postino_sync::first_check::FirstCheck, Failure> {
    let account = &*without_provider_pin(account);
    let mut connector = RelayConnector::for_account(account)?;
    let result = postino_sync::first_check::survey_session(
        &mut connector,
        store,
        account,
        password,
        now_unix(),
        days,
        progress,
    )
    .await;
    let (found, session) = result.map_err(|e| connector.explain(&e, account))?;
    keep(account, session, connector.close.take());
    Ok(found)
}

/// Carries out the user's choices for messages on the server.
pub async fn apply_choices(
    store: &IdbStore,
    account: &Account,
    password: &Secret<String>,
    choices: &[(String, Choice)],
    cancel: &Cancel,
    progress: &mut dyn FnMut(Progress),
) -> Result<TriageReport, Failure> {
    let account = &*without_provider_pin(account);
    let mut connector = RelayConnector::for_account(account)?;
    let options = sync_options(cancel).await;
    let result = apply_triage(
        &mut connector,
        store,
        account,
        password,
        choices,
        &options,
        progress,
    )
    .await;
    result.map_err(|e| connector.explain(&e, account))
}

pub fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls() {
        assert_eq!(
            tcp_url("http://127.0.0.1:8080/", "pop.example.org", 995).unwrap(),
            "ws://127.0.0.1:8080/v1/tcp/pop.example.org/995"
        );
        assert_eq!(
            tcp_url("https://relay.example.org", "10.0.0.1", 110).unwrap(),
            "wss://relay.example.org/v1/tcp/10.0.0.1/110"
        );
        assert!(tcp_url("relay.example.org", "h", 1).is_err());
        assert!(tcp_url("http://r", "a/b", 1).is_err());
        assert!(tcp_url("http://r", "", 1).is_err());
    }

    #[test]
    fn no_encryption_only_through_a_relay_on_this_machine() {
        for relay in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "ws://[::1]:9000",
            "http://127.0.0.2",
        ] {
            assert!(relay_is_loopback(relay), "{relay}");
        }
        for relay in [
            "https://relay.example.org",
            "http://127.0.0.1@relay.example.org",
            "http://localhost.evil.example:8080",
            "http://192.168.1.2:8080",
            "relay.example.org",
        ] {
            assert!(!relay_is_loopback(relay), "{relay}");
        }
        let mut account = postino_sync::conformance::sample_account("a");
        account.host = "localhost".into();
        account.security = postino_sync::Security::None;
        account.relay = "https://relay.example.org".into();
        assert!(RelayConnector::for_account(&account).is_err());
        account.relay = "http://127.0.0.1:8080".into();
        assert!(RelayConnector::for_account(&account).is_ok());
    }

    #[test]
    fn a_pin_for_a_well_known_provider_is_ignored() {
        let mut account = postino_sync::conformance::sample_account("a");
        account.pinned_cert = Some("AB:CD".into());
        account.host = "pop.gmail.com".into();
        assert_eq!(without_provider_pin(&account).pinned_cert, None);
        account.host = "mail.example.org".into();
        assert_eq!(
            without_provider_pin(&account).pinned_cert.as_deref(),
            Some("AB:CD")
        );
    }

    #[test]
    fn a_relay_token_travels_as_a_subprotocol() {
        assert_eq!(subprotocols(None), ["postino.v1"]);
        assert_eq!(
            subprotocols(Some(&Secret::new("s3cret?>".into()))),
            ["postino.v1", "postino.token.czNjcmV0Pz4"]
        );
    }
}
