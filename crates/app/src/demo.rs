//! The relay's demo mailbox (`postino-relay --demo`): if the relay offers one, the app sets up
//! its account by itself, so a new user sees mail without typing anything.

use postino_pop3::Secret;
use postino_sync::{Account, Security};
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

pub const DEMO_ACCOUNT_ID: &str = "demo";

#[derive(Deserialize)]
struct DemoInfo {
    host: String,
    port: u16,
    security: Security,
    user: String,
    password: String,
    fingerprint: String,
}

/// The demo account and its password, or `None` when the relay has no demo mailbox.
pub async fn fetch(relay: &str) -> Option<(Account, Secret<String>)> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str("/v1/demo"))
        .await
        .ok()?;
    let response: Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let json = JsFuture::from(response.json().ok()?).await.ok()?;
    let info: DemoInfo = serde_wasm_bindgen::from_value(json).ok()?;
    let account = Account {
        id: DEMO_ACCOUNT_ID.into(),
        name: postino_i18n::t().demo_mailbox.into(),
        relay: relay.to_string(),
        host: info.host,
        port: info.port,
        security: info.security,
        user: info.user,
        // The relay made this certificate for its own demo mailbox and vouches for it.
        pinned_cert: Some(info.fingerprint),
        policy: Default::default(),
        relay_token: None,
        remember_password: false,
        auth: Default::default(),
        auth_learned: None,
        oauth: None,
    };
    Some((account, Secret::new(info.password)))
}
