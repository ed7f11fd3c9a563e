//! Add or edit an account: provider preset, relay, server, security, user name, password, and
//! the account's policy (when mail leaves the server, how much to download, how often).

use postino_pop3::auth::AuthChoice;
use postino_pop3::Secret;
use postino_sync::{Account, DeletePolicy, OAuthClient, Policy, Security};

use postino_engine::presets;
use postino_i18n::{fill, t};
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The relay that served the page, the default relay for new accounts.
    pub default_relay: String,
    /// The account to edit; `None` adds one.
    #[prop_or_default]
    pub account: Option<Account>,
    /// The password is `None` when editing without typing one: the session's is kept.
    pub on_save: Callback<(Account, Option<Secret<String>>)>,
    /// Log in with these settings and say what the server holds; nothing is saved.
    pub on_test: Callback<(Account, Option<Secret<String>>)>,
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
    let relay_token = use_node_ref();
    let remember = use_node_ref();
    let error = use_state(|| None::<String>);
    let preset_note = use_state(|| None::<&'static presets::Preset>);
    // Address first: the address, and what was found for it and where from.
    let address = use_node_ref();
    let found = use_state(|| None::<String>);
    let delete = use_node_ref();
    let days = use_node_ref();
    let size_limit = use_node_ref();
    let max_per_session = use_node_ref();
    let poll = use_node_ref();
    let auth = use_node_ref();
    // The sign-in clients the relay offers (`/v1/oauth/providers`), and one of the user's own.
    let clients = use_state(Vec::<OAuthClient>::new);
    let own_authorize = use_node_ref();
    let own_token = use_node_ref();
    let own_client_id = use_node_ref();
    let own_scopes = use_node_ref();
    {
        let clients = clients.clone();
        let relay_address = props
            .account
            .as_ref()
            .map(|a| a.relay.clone())
            .unwrap_or_else(|| props.default_relay.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(list) = crate::engine::relay_clients(&relay_address).await {
                    clients.set(list);
                }
            });
        });
    }

    // Initial values are set once, not as `value=` attributes: Yew puts an attribute's value back
    // into the field at every re-render, which would undo what the user typed whenever the app
    // re-renders (a check finishing, the network coming back, the service worker getting ready).
    {
        let refs = (
            relay.clone(),
            host.clone(),
            port.clone(),
            security.clone(),
            user.clone(),
        );
        let policy_refs = (
            delete.clone(),
            days.clone(),
            size_limit.clone(),
            max_per_session.clone(),
            poll.clone(),
        );
        let (default_relay, account) = (props.default_relay.clone(), props.account.clone());
        let (relay_token, remember, auth) = (relay_token.clone(), remember.clone(), auth.clone());
        use_effect_with((), move |_| {
            let set = |r: &NodeRef, v: &str| {
                if let Some(input) = r.cast::<HtmlInputElement>() {
                    input.set_value(v);
                }
            };
            let select = |r: &NodeRef, v: &str| {
                if let Some(s) = r.cast::<HtmlSelectElement>() {
                    s.set_value(v);
                }
            };
            let number = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
            match &account {
                Some(a) => {
                    set(&refs.0, &a.relay);
                    set(&refs.1, &a.host);
                    set(&refs.2, &a.port.to_string());
                    select(&refs.3, a.security.as_str());
                    select(&auth, a.auth.as_str());
                    set(&refs.4, &a.user);
                    if let Some(token) = &a.relay_token {
                        set(&relay_token, token.expose());
                    }
                    if let Some(c) = remember.cast::<HtmlInputElement>() {
                        c.set_checked(a.remember_password);
                    }
                    let (kind, d) = match a.policy.delete {
                        DeletePolicy::LeaveOnServer => ("leave", None),
                        DeletePolicy::AfterDays(d) => ("days", Some(u64::from(d))),
                        DeletePolicy::WhenDeletedLocally => ("deleted", None),
                        DeletePolicy::AfterDownload => ("download", None),
                    };
                    select(&policy_refs.0, kind);
                    set(&policy_refs.1, &number(d));
                    set(
                        &policy_refs.2,
                        &number(a.policy.size_limit.map(|b| b / 1000)),
                    );
                    set(
                        &policy_refs.3,
                        &number(a.policy.max_per_session.map(|n| n as u64)),
                    );
                    set(
                        &policy_refs.4,
                        &number(a.policy.poll_minutes.map(u64::from)),
                    );
                }
                None => {
                    set(&refs.2, "995");
                    set(&refs.0, &default_relay);
                }
            }
        });
    }

    let on_preset = {
        let (host, port, security, preset_note) = (
            host.clone(),
            port.clone(),
            security.clone(),
            preset_note.clone(),
        );
        Callback::from(move |e: Event| {
            let Some(select) = e.target_dyn_into::<HtmlSelectElement>() else {
                return;
            };
            let preset = presets::find(&select.value());
            if let Some(p) = preset {
                if let Some(i) = host.cast::<HtmlInputElement>() {
                    i.set_value(p.host);
                }
                if let Some(i) = port.cast::<HtmlInputElement>() {
                    i.set_value(&p.port.to_string());
                }
                if let Some(s) = security.cast::<HtmlSelectElement>() {
                    s.set_value(p.security.as_str());
                }
            }
            preset_note.set(preset);
        })
    };

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

    // The form's values as an account and a password, or what to fix.
    let read_form =
        {
            let refs = (
                relay.clone(),
                host.clone(),
                port.clone(),
                security.clone(),
                user.clone(),
                password.clone(),
            );
            let policy_refs = (
                delete.clone(),
                days.clone(),
                size_limit.clone(),
                max_per_session.clone(),
                poll.clone(),
            );
            let editing = props.account.clone();
            let (relay_token, remember) = (relay_token.clone(), remember.clone());
            let auth_ref = auth.clone();
            Rc::new(
            move |oauth: Option<OAuthClient>| -> Result<(Account, Option<Secret<String>>), String> {
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
                    _ => return Err(t().port_invalid.into()),
                };
                if oauth.is_some() {
                    // The user name may come from the sign-in; no password is asked.
                    if host.is_empty() {
                        return Err(t().provider_or_server_first.into());
                    }
                } else if host.is_empty()
                    || user.is_empty()
                    || (password.is_empty() && editing.is_none())
                {
                    return Err(t().fill_server_user_password.into());
                }
                if security == Security::None
                    && !(postino_pop3::client::is_loopback_host(&host)
                        && postino_engine::check::relay_is_loopback(&relay))
                {
                    return Err(t().no_encryption_refused.into());
                }
                let policy = read_policy(&policy_refs, &value)?;
                // A certificate pinned for this server stays pinned only while the server is the same.
                let pinned_cert = editing
                    .as_ref()
                    .filter(|a| a.host == host && a.port == port)
                    .and_then(|a| a.pinned_cert.clone());
                // What worked is remembered only while the server is the same.
                let auth = auth_ref
                    .cast::<HtmlSelectElement>()
                    .and_then(|s| AuthChoice::parse(&s.value()))
                    .unwrap_or_default();
                let auth_learned = editing
                    .as_ref()
                    .filter(|a| a.host == host && a.port == port)
                    .and_then(|a| a.auth_learned);
                let account = Account {
                    id: editing
                        .as_ref()
                        .map(|a| a.id.clone())
                        .unwrap_or_else(new_account_id),
                    name: format!("{user}@{host}"),
                    relay,
                    host,
                    port,
                    security,
                    user,
                    pinned_cert,
                    policy,
                    relay_token: Some(value(&relay_token).trim().to_string())
                        .filter(|t| !t.is_empty())
                        .map(Secret::new),
                    // A sign-in is kept like a remembered password: signing in at every visit
                    // is what people leave other clients for.
                    remember_password: oauth.is_some()
                        || remember.cast::<HtmlInputElement>().is_some_and(|c| c.checked()),
                    auth,
                    auth_learned,
                    oauth: oauth.clone(),
                };
                let password =
                    (!password.is_empty() && oauth.is_none()).then(|| Secret::new(password));
                Ok((account, password))
            },
        )
        };

    let onsubmit = {
        let (read_form, on_save, error) = (read_form.clone(), props.on_save.clone(), error.clone());
        // An account that signs in with a provider stays so when edited.
        let kept_client = props.account.as_ref().and_then(|a| a.oauth.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match read_form(kept_client.clone()) {
                Ok(saved) => {
                    error.set(None);
                    on_save.emit(saved);
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };

    let on_test_click = {
        let (read_form, on_test, error) = (read_form.clone(), props.on_test.clone(), error.clone());
        let kept_client = props.account.as_ref().and_then(|a| a.oauth.clone());
        Callback::from(move |_: MouseEvent| match read_form(kept_client.clone()) {
            Ok(values) => {
                error.set(None);
                on_test.emit(values);
            }
            Err(e) => error.set(Some(e)),
        })
    };

    // "Sign in with ...": the provider's window opens in this click; the account is saved and
    // checked with the tokens once the sign-in is done.
    let on_sign_in = {
        let (read_form, on_save, error) = (read_form.clone(), props.on_save.clone(), error.clone());
        let user = user.clone();
        Callback::from(move |client: OAuthClient| {
            let (account, _) = match read_form(Some(client.clone())) {
                Ok(values) => values,
                Err(e) => return error.set(Some(e)),
            };
            let window = crate::sign_in::open_window();
            error.set(Some(fill(
                t().signing_in_window,
                &[("label", &client.label)],
            )));
            let (on_save, error, user) = (on_save.clone(), error.clone(), user.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let hint = (!account.user.is_empty()).then_some(account.user.as_str());
                let tokens =
                    match crate::sign_in::sign_in(window, &client, &account.relay, hint).await {
                        Ok(tokens) => tokens,
                        Err(text) => return error.set(Some(text)),
                    };
                let address = tokens
                    .account
                    .clone()
                    .filter(|_| account.user.is_empty())
                    .unwrap_or_else(|| account.user.clone());
                if address.is_empty() {
                    return error.set(Some(fill(
                        t().no_address_from_provider,
                        &[("label", &client.label)],
                    )));
                }
                if let Some(i) = user.cast::<HtmlInputElement>() {
                    i.set_value(&address);
                }
                error.set(None);
                let account = Account {
                    name: address.clone(),
                    user: address,
                    ..account
                };
                on_save.emit((account, Some(tokens.tokens)));
            });
        })
    };
    let own_client = {
        let refs = (
            own_authorize.clone(),
            own_token.clone(),
            own_client_id.clone(),
            own_scopes.clone(),
        );
        let (on_sign_in, error) = (on_sign_in.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value().trim().to_string())
                    .unwrap_or_default()
            };
            let (authorize_url, token_url, client_id) =
                (value(&refs.0), value(&refs.1), value(&refs.2));
            let https = |u: &str| {
                u.starts_with("https://")
                    || ["http://localhost", "http://127.0.0.1", "http://[::1]"]
                        .iter()
                        .any(|l| u.starts_with(l))
            };
            if !https(&authorize_url) || !https(&token_url) || client_id.is_empty() {
                return error.set(Some(t().own_client_incomplete.into()));
            }
            on_sign_in.emit(OAuthClient {
                provider: "own".into(),
                label: t().your_provider.into(),
                authorize_url,
                token_url: Some(token_url),
                client_id,
                scopes: value(&refs.3)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
            });
        })
    };
    // "Find my server": the relay's answer for the address's domain fills server, port and
    // security (and the provider's note); guesses are tried with Test connection first when a
    // password is typed. What was found, and where from, is said under the address.
    let on_find = {
        let refs = (
            address.clone(),
            relay.clone(),
            host.clone(),
            port.clone(),
            security.clone(),
            user.clone(),
            password.clone(),
        );
        let (found, preset_note, read_form) =
            (found.clone(), preset_note.clone(), read_form.clone());
        Callback::from(move |_: MouseEvent| {
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value().trim().to_string())
                    .unwrap_or_default()
            };
            let typed = value(&refs.0);
            let Some(domain) = postino_engine::autoconfig::domain_of(&typed) else {
                found.set(Some(t().whole_address.into()));
                return;
            };
            let relay_address = value(&refs.1);
            let refs = refs.clone();
            let (found, preset_note, read_form) =
                (found.clone(), preset_note.clone(), read_form.clone());
            found.set(Some(postino_i18n::fill(
                t().looking_for,
                &[("domain", &domain)],
            )));
            wasm_bindgen_futures::spawn_local(async move {
                let fill = |c: &postino_engine::autoconfig::Candidate| {
                    if let Some(i) = refs.2.cast::<HtmlInputElement>() {
                        i.set_value(&c.host);
                    }
                    if let Some(i) = refs.3.cast::<HtmlInputElement>() {
                        i.set_value(&c.port.to_string());
                    }
                    if let Some(sel) = refs.4.cast::<HtmlSelectElement>() {
                        sel.set_value(c.security.as_str());
                    }
                };
                // The address is the user name at nearly every provider: prefilled, found or not.
                if let Some(i) = refs.5.cast::<HtmlInputElement>() {
                    if i.value().trim().is_empty() {
                        i.set_value(&typed);
                    }
                }
                let candidates = match crate::engine::autoconfig(&relay_address, &domain).await {
                    Ok(c) => c,
                    Err(e) => {
                        return found.set(Some(postino_i18n::fill(
                            t().lookup_failed,
                            &[("domain", &domain), ("e", &e)],
                        )))
                    }
                };
                // A known or published server: used as found.
                if let Some(c) = candidates.iter().find(|c| !c.is_guess()) {
                    fill(c);
                    preset_note.set(c.provider.as_deref().and_then(presets::find));
                    return found.set(Some(postino_i18n::fill(
                        t().found_server,
                        &[
                            ("server", &format!("{}:{}", c.host, c.port)),
                            ("security", &security_name(c.security)),
                            ("source", &found_in(c, &domain)),
                        ],
                    )));
                }
                let guesses: Vec<_> = candidates.iter().filter(|c| c.is_guess()).collect();
                let Some(first) = guesses.first() else {
                    return found.set(Some(postino_i18n::fill(
                        t().none_found,
                        &[("domain", &domain)],
                    )));
                };
                if value(&refs.6).is_empty() {
                    fill(first);
                    return found.set(Some(postino_i18n::fill(
                        t().usual_name_untested,
                        &[("domain", &domain), ("host", &first.host)],
                    )));
                }
                // Tried in order, on 995 then 110: the first that answers is used.
                for c in guesses {
                    found.set(Some(postino_i18n::fill(
                        t().trying,
                        &[("server", &format!("{}:{}", c.host, c.port))],
                    )));
                    fill(c);
                    let Ok((account, password)) = read_form(None) else {
                        break;
                    };
                    let Some(password) = password else { break };
                    use postino_engine::explain::Failure;
                    match crate::engine::test_connection(&account, &password).await {
                        Ok(_)
                        | Err(Failure::Untrusted { .. })
                        | Err(Failure::BadPassword { .. })
                        | Err(Failure::TokenRefused { .. }) => {
                            return found.set(Some(postino_i18n::fill(
                                t().usual_name_answers,
                                &[
                                    ("server", &format!("{}:{}", c.host, c.port)),
                                    ("security", &security_name(c.security)),
                                    ("domain", &domain),
                                ],
                            )));
                        }
                        Err(Failure::Message { .. }) => {}
                    }
                }
                found.set(Some(postino_i18n::fill(
                    t().none_found,
                    &[("domain", &domain)],
                )));
            });
        })
    };

    // The relay's clients, the preset's first; its note when the relay lacks the preset's.
    let wanted = preset_note.and_then(|p| p.oauth);
    let mut offered: Vec<OAuthClient> = (*clients).clone();
    let not_wanted = |c: &OAuthClient| Some(c.provider.as_str()) != wanted;
    crate::sort::by(&mut offered, |a, b| not_wanted(a).cmp(&not_wanted(b)));
    let missing = wanted.filter(|w| !offered.iter().any(|c| c.provider == *w));

    let editing = props.account.is_some();
    let s = t();
    html! {
        <form id="account-form" class="card" {onsubmit} aria-labelledby="account-form-title">
            <h2 id="account-form-title">{ if editing { s.edit_account } else { s.add_pop3_account } }</h2>
            if !editing {
                <label for="address">{s.address}</label>
                <div class="row">
                    <input id="address" ref={address} type="email" autocomplete="email"
                        autocapitalize="off" spellcheck="false" placeholder="alice@example.org"
                        aria-describedby="found-server" />
                    <button id="find-server" type="button" onclick={on_find}>{s.find_server}</button>
                </div>
                <p id="found-server" class="hint" role="status">
                    { (*found).clone().unwrap_or_else(|| s.find_hint.into()) }
                </p>
            }
            <label for="preset">{s.provider}</label>
            <select id="preset" onchange={on_preset} aria-describedby="preset-note">
                <option value="" selected=true>{s.provider_other}</option>
                { for presets::PRESETS.iter().map(|p| html! { <option value={p.key}>{p.name}</option> }) }
            </select>
            if let Some(p) = *preset_note {
                <p id="preset-note" class={classes!("hint", "preset-note", p.oauth_only.then_some("error"))} role="note">{postino_i18n::provider_note(p.key).unwrap_or(p.note)}</p>
            }
            if !offered.is_empty() || missing.is_some() {
                <fieldset id="sign-in" class="sign-in">
                    <legend>{s.sign_in_with_provider}</legend>
                    { for offered.iter().map(|c| {
                        let client = c.clone();
                        let on_sign_in = on_sign_in.clone();
                        html! {
                            <div class="sign-in-choice">
                                <button type="button" id={format!("sign-in-{}", c.provider)}
                                    class={classes!((Some(c.provider.as_str()) == wanted).then_some("primary"))}
                                    onclick={Callback::from(move |_| on_sign_in.emit(client.clone()))}>
                                    {fill(s.sign_in_with, &[("label", &c.label)])}</button>
                                if c.via_relay() {
                                    <p class="hint relay-sees-tokens" role="note">{fill(s.relay_sees_tokens, &[("label", &c.label)])}</p>
                                } else {
                                    <p class="hint" role="note">{s.direct_sign_in}</p>
                                }
                            </div>
                        }
                    }) }
                    if let Some(name) = missing {
                        <p id="sign-in-missing" class="hint error" role="note">{fill(s.relay_lacks_sign_in, &[("name", &name)])}</p>
                    }
                </fieldset>
            }
            <label for="host">{s.server}</label>
            <input id="host" ref={host} type="text" placeholder="pop.example.org"
                autocomplete="off" autocapitalize="off" spellcheck="false" />
            <div class="row">
                <div>
                    <label for="security">{s.security}</label>
                    <select id="security" ref={security} onchange={on_security}>
                        <option value="tls" selected=true>{s.security_tls}</option>
                        <option value="stls">{s.security_stls}</option>
                        <option value="none">{s.security_none}</option>
                    </select>
                </div>
                <div>
                    <label for="port">{s.port}</label>
                    <input id="port" ref={port} type="number" min="1" max="65535" />
                </div>
            </div>
            <label for="user">{s.user_name}</label>
            <input id="user" ref={user} type="text" autocomplete="username"
                autocapitalize="off" spellcheck="false" />
            <label for="password">{s.password}</label>
            <input id="password" ref={password} type="password" autocomplete="current-password"
                placeholder={editing.then_some(s.unchanged)} />
            <label class="check"><input id="remember" ref={remember} type="checkbox" />{" "}{s.remember_password}</label>
            <p class="hint">{s.remember_hint}</p>
            <label for="auth">{s.login_method}</label>
            <select id="auth" ref={auth.clone()} aria-describedby="auth-hint">
                <option value="automatic" selected=true>{s.auth_automatic}</option>
                <option value="scram-sha-256">{"SCRAM-SHA-256"}</option>
                <option value="scram-sha-1">{"SCRAM-SHA-1"}</option>
                <option value="cram-md5">{"CRAM-MD5"}</option>
                <option value="plain">{"PLAIN"}</option>
                <option value="login">{"LOGIN"}</option>
                <option value="user-pass">{"USER/PASS"}</option>
                <option value="apop">{s.auth_apop}</option>
            </select>
            <p id="auth-hint" class="hint">{s.auth_hint}</p>
            <details id="own-client">
                <summary>{s.own_client}</summary>
                <p class="hint">{s.own_client_hint}</p>
                <label for="own-authorize">{s.authorize_address}</label>
                <input id="own-authorize" ref={own_authorize} type="url" autocomplete="off" />
                <label for="own-token">{s.token_address}</label>
                <input id="own-token" ref={own_token} type="url" autocomplete="off" />
                <label for="own-client-id">{s.client_id}</label>
                <input id="own-client-id" ref={own_client_id} type="text" autocomplete="off" spellcheck="false" />
                <label for="own-scopes">{s.scopes}</label>
                <input id="own-scopes" ref={own_scopes} type="text" autocomplete="off" spellcheck="false" />
                <button id="sign-in-own" type="button" onclick={own_client}>{s.sign_in_own}</button>
            </details>
            <label for="relay">{s.relay}</label>
            <input id="relay" ref={relay} type="url" />
            <p class="hint">{s.relay_hint}</p>
            <label for="relay-token">{s.relay_token}</label>
            <input id="relay-token" ref={relay_token} type="password" autocomplete="off" />
            <p class="hint">{s.relay_token_hint}</p>
            <fieldset class="policy">
                <legend>{s.mail_on_server}</legend>
                <div class="row">
                    <div>
                        <label for="delete-policy">{s.delete_from_server}</label>
                        <select id="delete-policy" ref={delete}>
                            <option value="leave" selected=true>{s.delete_never}</option>
                            <option value="days">{s.delete_after_days}</option>
                            <option value="deleted">{s.delete_when_deleted}</option>
                            <option value="download">{s.delete_after_download}</option>
                        </select>
                    </div>
                    <div>
                        <label for="delete-days">{s.days}</label>
                        <input id="delete-days" ref={days} type="number" min="1" placeholder="14" />
                    </div>
                </div>
                <div class="row">
                    <div>
                        <label for="size-limit">{s.size_limit}</label>
                        <input id="size-limit" ref={size_limit} type="number" min="1" placeholder={s.no_limit} />
                    </div>
                    <div>
                        <label for="max-per-session">{s.max_per_check}</label>
                        <input id="max-per-session" ref={max_per_session} type="number" min="1" placeholder={s.all} />
                    </div>
                </div>
                <label for="poll-minutes">{s.poll_minutes}</label>
                <input id="poll-minutes" ref={poll} type="number" min="1" placeholder={s.poll_placeholder} />
            </fieldset>
            if let Some(e) = &*error {
                <p class="error" role="alert">{e}</p>
            }
            <div class="actions">
                <button id="add-account" type="submit" class="primary">
                    { if editing { s.save_and_check } else { s.add_and_check } }
                </button>
                <button id="test-connection" type="button" onclick={on_test_click}
                    title={s.test_connection_title}>{s.test_connection}</button>
                if let Some(cancel) = &props.on_cancel {
                    <button type="button" onclick={cancel.reform(|_| ())}>{s.cancel}</button>
                }
            </div>
        </form>
    }
}

type PolicyRefs = (NodeRef, NodeRef, NodeRef, NodeRef, NodeRef);

/// The policy fields: delete policy and days, size limit in KB, per-check limit, poll minutes.
fn read_policy(refs: &PolicyRefs, value: &dyn Fn(&NodeRef) -> String) -> Result<Policy, String> {
    fn number<T: std::str::FromStr>(text: String, what: &str) -> Result<Option<T>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<T>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(fill(t().whole_number, &[("what", &what)])),
        }
    }
    let kind = refs
        .0
        .cast::<HtmlSelectElement>()
        .map(|s| s.value())
        .unwrap_or_default();
    let delete = match kind.as_str() {
        "days" => match number::<u32>(value(&refs.1), t().the_days)? {
            Some(d) if d > 0 => DeletePolicy::AfterDays(d),
            _ => return Err(t().days_missing.into()),
        },
        "deleted" => DeletePolicy::WhenDeletedLocally,
        "download" => DeletePolicy::AfterDownload,
        _ => DeletePolicy::LeaveOnServer,
    };
    Ok(Policy {
        delete,
        size_limit: number::<u64>(value(&refs.2), t().the_size_limit)?
            .filter(|&kb| kb > 0)
            .map(|kb| kb * 1000),
        max_per_session: number::<usize>(value(&refs.3), t().the_per_check_limit)?
            .filter(|&n| n > 0),
        poll_minutes: number::<u32>(value(&refs.4), t().the_interval)?.filter(|&m| m > 0),
    })
}

/// The security as the form's select names it.
fn security_name(security: Security) -> &'static str {
    match security {
        Security::Tls => "TLS",
        Security::Stls => "STARTTLS",
        Security::None => t().no_encryption,
    }
}

/// Where `c` was found for `domain`, in the UI's language (`Candidate::found_in` in English).
fn found_in(c: &postino_engine::autoconfig::Candidate, domain: &str) -> String {
    let t = t();
    let template = match c.source.as_str() {
        "provider" => t.source_provider,
        "srv" => t.source_srv,
        "mx" => t.source_mx,
        _ => t.source_guess,
    };
    fill(template, &[("domain", &domain)])
}
