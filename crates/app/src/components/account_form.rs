//! Add an account: relay, server, security, user name, password.

use postino_pop3::Secret;
use postino_sync::{Account, Security};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The relay that served the page, the default relay for new accounts.
    pub default_relay: String,
    pub on_save: Callback<(Account, Secret<String>)>,
    /// Shown when there are accounts to go back to.
    #[prop_or_default]
    pub on_cancel: Option<Callback<()>>,
}

fn new_account_id() -> String {
    let n = (js_sys::Math::random() * 1e12) as u64;
    format!("a{:x}{n:x}", js_sys::Date::now() as u64)
}

#[function_component(AccountForm)]
pub fn account_form(props: &Props) -> Html {
    let relay = use_node_ref();
    let host = use_node_ref();
    let port = use_node_ref();
    let security = use_node_ref();
    let user = use_node_ref();
    let password = use_node_ref();
    let error = use_state(|| None::<String>);

    // Initial values are set once, not as `value=` attributes: Yew puts an attribute's value back
    // into the field at every re-render, which would undo what the user typed whenever the app
    // re-renders (a check finishing, the network coming back, the service worker getting ready).
    {
        let (relay, port, default_relay) =
            (relay.clone(), port.clone(), props.default_relay.clone());
        use_effect_with((), move |_| {
            if let Some(input) = port.cast::<HtmlInputElement>() {
                input.set_value("995");
            }
            if let Some(input) = relay.cast::<HtmlInputElement>() {
                input.set_value(&default_relay);
            }
        });
    }

    let on_security = {
        let (port, security) = (port.clone(), security.clone());
        Callback::from(move |_: Event| {
            let (Some(p), Some(s)) = (
                port.cast::<HtmlInputElement>(),
                security.cast::<HtmlSelectElement>(),
            ) else {
                return;
            };
            // Follow the usual port unless the user typed another one.
            if p.value() == "995" || p.value() == "110" || p.value().is_empty() {
                p.set_value(if s.value() == "tls" { "995" } else { "110" });
            }
        })
    };

    let onsubmit = {
        let refs = (
            relay.clone(),
            host.clone(),
            port.clone(),
            security.clone(),
            user.clone(),
            password.clone(),
        );
        let on_save = props.on_save.clone();
        let error = error.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            let relay = value(&refs.0).trim().to_string();
            let host = value(&refs.1).trim().to_string();
            let security = refs
                .3
                .cast::<HtmlSelectElement>()
                .and_then(|s| Security::parse(&s.value()))
                .unwrap_or_default();
            let user = value(&refs.4).trim().to_string();
            let password = value(&refs.5);
            let port = match value(&refs.2).trim().parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => {
                    error.set(Some("The port must be a number such as 995 or 110.".into()));
                    return;
                }
            };
            if host.is_empty() || user.is_empty() || password.is_empty() {
                error.set(Some(
                    "Fill in the server, the user name and the password.".into(),
                ));
                return;
            }
            error.set(None);
            let account = Account {
                id: new_account_id(),
                name: format!("{user}@{host}"),
                relay,
                host,
                port,
                security,
                user,
                pinned_cert: None,
                policy: Default::default(),
            };
            on_save.emit((account, Secret::new(password)));
        })
    };

    html! {
        <form id="account-form" class="card" {onsubmit} aria-labelledby="account-form-title">
            <h2 id="account-form-title">{"Add a POP3 account"}</h2>
            <label for="host">{"Server"}</label>
            <input id="host" ref={host} type="text" placeholder="pop.example.org"
                autocomplete="off" autocapitalize="off" spellcheck="false" />
            <div class="row">
                <div>
                    <label for="security">{"Security"}</label>
                    <select id="security" ref={security} onchange={on_security}>
                        <option value="tls" selected=true>{"TLS (port 995)"}</option>
                        <option value="stls">{"STARTTLS (port 110)"}</option>
                        <option value="none">{"None: only for a server on your own machine"}</option>
                    </select>
                </div>
                <div>
                    <label for="port">{"Port"}</label>
                    <input id="port" ref={port} type="number" min="1" max="65535" />
                </div>
            </div>
            <label for="user">{"User name"}</label>
            <input id="user" ref={user} type="text" autocomplete="username"
                autocapitalize="off" spellcheck="false" />
            <label for="password">{"Password"}</label>
            <input id="password" ref={password} type="password" autocomplete="current-password" />
            <p class="hint">{"The password stays in this browser tab's memory and is never stored. With TLS or STARTTLS the relay sees only encrypted bytes."}</p>
            <label for="relay">{"Relay"}</label>
            <input id="relay" ref={relay} type="url" />
            <p class="hint">{"The relay carries encrypted bytes between this page and the server."}</p>
            if let Some(e) = &*error {
                <p class="error" role="alert">{e}</p>
            }
            <div class="actions">
                <button id="add-account" type="submit" class="primary">{"Add and check mail"}</button>
                if let Some(cancel) = &props.on_cancel {
                    <button type="button" onclick={cancel.reform(|_| ())}>{"Cancel"}</button>
                }
            </div>
        </form>
    }
}
