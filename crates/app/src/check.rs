//! "Check mail": relay WebSocket -> POP3 session (TLS in wasm) -> the sync runner -> IndexedDB.

use postino_pop3::Secret;
use postino_sync::{open_session, sync_account, Account, Progress, Store, SyncReport};

use crate::explain::{sync_failure, ws_failure, Failure};
use crate::idb::IdbStore;
use crate::transport::WsStream;

/// The relay's WebSocket subprotocol (DESIGN.md, relay contract).
pub const SUBPROTOCOL: &str = "postino.v1";

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
    Ok(format!("{base}/v1/tcp/{host}/{port}"))
}

/// Check one account: download what the ledger lacks into `store`.
pub async fn check_account(
    store: &IdbStore,
    account: &Account,
    password: &Secret<String>,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, Failure> {
    let url =
        tcp_url(&account.relay, &account.host, account.port).map_err(|e| Failure::Message {
            text: format!("Check the account settings: {e}."),
            detail: None,
        })?;
    let stream = WsStream::connect(&url, &[SUBPROTOCOL])
        .await
        .map_err(|e| ws_failure(&e, account))?;
    let close = stream.close_handle();
    let result = async {
        let client = open_session(stream, account, password).await?;
        sync_account(client, store, account, now_unix(), progress).await
    }
    .await;
    result.map_err(|e| sync_failure(&e, close.close_info(), account))
}

pub fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Every stored summary, for the list.
pub async fn load_messages(store: &IdbStore) -> Result<Vec<postino_sync::Summary>, String> {
    store.summaries().await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
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
}
