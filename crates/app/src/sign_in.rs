//! "Sign in with Microsoft / Google": the provider's page in a window of its own, its answer
//! back through `web/oauth-return.html` on a BroadcastChannel, the code redeemed with the PKCE
//! verifier this page kept ([`postino_engine::oauth`]).

use futures_channel::oneshot;
use postino_engine::oauth::{self, CHANNEL, RETURN_PAGE};
use postino_engine::protocol::SignedIn;
use postino_i18n::{fill, t};
use postino_sync::OAuthClient;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// How long the provider's window may take (the user types a password, maybe a second factor).
const DEADLINE_MS: i32 = 10 * 60 * 1000;

/// Opens the window the sign-in will show in. Called in the click itself, so that the browser
/// does not block it as a pop-up; it shows the provider's page once the sign-in is prepared.
pub fn open_window() -> Option<web_sys::Window> {
    web_sys::window()?
        .open_with_url_and_target_and_features("", "postino-sign-in", "popup,width=520,height=700")
        .ok()
        .flatten()
}

/// The redirect URI: `oauth-return.html` beside the app's page.
pub fn redirect_uri() -> String {
    let href = web_sys::window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default();
    web_sys::Url::new_with_base(RETURN_PAGE, &href)
        .map(|u| u.href())
        .unwrap_or_else(|_| format!("/{RETURN_PAGE}"))
}

/// Signs in with `client` in `window` (from [`open_window`]) and redeems the code: the tokens,
/// or the sentence to show.
pub async fn sign_in(
    window: Option<web_sys::Window>,
    client: &OAuthClient,
    relay: &str,
    login_hint: Option<&str>,
) -> Result<SignedIn, String> {
    let label = client.label.as_str();
    let Some(window) = window else {
        return Err(fill(t().popup_blocked, &[("label", &label)]));
    };
    let started = oauth::begin(client, &redirect_uri(), login_hint).await;
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = window.close();
            return Err(fill(t().sign_in_start_failed, &[("e", &e)]));
        }
    };
    // Listen before the provider can answer.
    let answer = wait_for_answer(started.state.clone());
    if window.location().set_href(&started.url).is_err() {
        return Err(fill(t().sign_in_window_closed, &[("label", &label)]));
    }
    let Some(answer) = answer.await else {
        return Err(fill(t().sign_in_timeout, &[("label", &label)]));
    };
    if let Some(refusal) = answer.refusal(label) {
        return Err(refusal);
    }
    let Some(code) = answer.code else {
        return Err(fill(t().no_sign_in_code, &[("label", &label)]));
    };
    // Redeemed by the engine: the token endpoint's answer is parsed there, not in the page.
    crate::engine::redeem(client, relay, code, started.verifier, started.redirect_uri)
        .await
        .map_err(|e| format!("{e}."))
}

/// The answer for `state` from `oauth-return.html`, or `None` at the deadline. Answers for
/// another state (an older sign-in, another tab's) are not this one's and are ignored.
/// The channel listens from this call on (before the provider's page is even opened).
fn wait_for_answer(
    state: String,
) -> impl std::future::Future<Output = Option<oauth::ReturnAnswer>> {
    let channel = web_sys::BroadcastChannel::new(CHANNEL).ok();
    let (tx, rx) = oneshot::channel::<Option<oauth::ReturnAnswer>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let on_message = {
        let tx = tx.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Some(answer) = oauth::read_return(&e.data()) {
                if answer.state == state {
                    if let Some(tx) = tx.borrow_mut().take() {
                        let _ = tx.send(Some(answer));
                    }
                }
            }
        })
    };
    if let Some(channel) = &channel {
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    }
    let on_deadline = {
        let tx = tx.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(None);
            }
        })
    };
    let timer = web_sys::window().and_then(|w| {
        w.set_timeout_with_callback_and_timeout_and_arguments_0(
            on_deadline.as_ref().unchecked_ref(),
            DEADLINE_MS,
        )
        .ok()
    });
    async move {
        let channel = channel?;
        let answer = rx.await.ok().flatten();
        channel.set_onmessage(None);
        channel.close();
        if let (Some(w), Some(t)) = (web_sys::window(), timer) {
            w.clear_timeout_with_handle(t);
        }
        drop((on_message, on_deadline));
        answer
    }
}
