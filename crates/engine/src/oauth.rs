//! Sign-in with an OAuth 2.0 provider (Microsoft, Google, or a client the user configures), for
//! accounts whose [`Account::oauth`] is set: the authorization code flow with PKCE (S256) and
//! `state`, redeemed either by the page itself (a public client: Microsoft's single-page apps)
//! or by the relay's own client (`/v1/oauth/exchange`: Google wants a secret even with PKCE),
//! and the refresh of the access token ahead of its expiry.
//!
//! The page does only what needs its window: [`begin`] (PKCE, `state`, the URL) and
//! [`read_return`]; the engine worker does the rest ([`crate::protocol::OAuthCall`]): redeeming,
//! refreshing, the relay's lists, and parsing what token endpoints and the relay answer, so
//! that none of it is in the page's bundle.
//!
//! The tokens are kept like a remembered password: [`Tokens::to_secret`] is what the page hands
//! to [`crate::vault::remember`] (encrypted under the non-extractable key, bound to the account
//! and its client), and what it holds for the session. A check is given the access token alone.
//! No token is logged, printed by `Debug`, or put in a URL: codes and tokens travel in POST
//! bodies, and the one URL that carries a code (the provider's redirect back to
//! `oauth-return.html`) is wiped from that window's history at once (`web/oauth-return.js`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use js_sys::{Object, Reflect, Uint8Array};
use postino_pop3::Secret;
use postino_sync::{Account, OAuthClient};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A token that expires within this many seconds is refreshed before it is used.
pub const REFRESH_AHEAD: i64 = 300;
/// The BroadcastChannel on which `web/oauth-return.js` hands back the provider's answer.
pub const CHANNEL: &str = "postino-oauth";
/// The page a provider redirects back to, beside the app's page.
pub const RETURN_PAGE: &str = "oauth-return.html";
/// The longest a token endpoint or the relay may take to answer.
const DEADLINE_MS: i32 = 30_000;

/// What a sign-in gave: the access token and its expiry, and what renews it.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: Secret<String>,
    /// Seconds since the epoch.
    pub expires_at: i64,
    /// A public client's refresh token (the page refreshes with it).
    pub refresh: Option<Secret<String>>,
    /// A relay-held client's refresh token, sealed by the relay: only it can open it.
    pub sealed_refresh: Option<Secret<String>>,
    /// The address the provider says signed in, when it said.
    pub account: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("refresh", &self.refresh.as_ref().map(|_| "[redacted]"))
            .field(
                "sealed_refresh",
                &self.sealed_refresh.as_ref().map(|_| "[redacted]"),
            )
            .field("account", &self.account)
            .finish()
    }
}

/// The stored form of [`Tokens`].
#[derive(Serialize, Deserialize)]
struct Stored {
    kind: String,
    access: String,
    expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
}

const KIND: &str = "postino-oauth-v1";

impl Tokens {
    /// The tokens as one secret, to keep in the vault and for the session.
    pub fn to_secret(&self) -> Secret<String> {
        let stored = Stored {
            kind: KIND.into(),
            access: self.access.expose().clone(),
            expires_at: self.expires_at,
            refresh: self.refresh.as_ref().map(|s| s.expose().clone()),
            sealed_refresh: self.sealed_refresh.as_ref().map(|s| s.expose().clone()),
            account: self.account.clone(),
        };
        Secret::new(serde_json::to_string(&stored).unwrap_or_default())
    }

    /// The tokens kept by [`Tokens::to_secret`]; `None` for anything else (a password).
    pub fn from_secret(secret: &Secret<String>) -> Option<Tokens> {
        let stored: Stored = serde_json::from_str(secret.expose()).ok()?;
        (stored.kind == KIND).then(|| Tokens {
            access: Secret::new(stored.access),
            expires_at: stored.expires_at,
            refresh: stored.refresh.map(Secret::new),
            sealed_refresh: stored.sealed_refresh.map(Secret::new),
            account: stored.account,
        })
    }

    /// Whether the access token still has [`REFRESH_AHEAD`] seconds to live at `now`.
    pub fn fresh(&self, now: i64) -> bool {
        self.expires_at - now > REFRESH_AHEAD
    }

    /// Whether there is anything to refresh with.
    pub fn renewable(&self) -> bool {
        self.refresh.is_some() || self.sealed_refresh.is_some()
    }
}

/// Why a sign-in or a refresh failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OAuthError {
    /// The provider ended the sign-in (refresh token expired or revoked, consent withdrawn):
    /// only signing in again helps. The text says why, in the provider's words where it gave any.
    SignInAgain(String),
    /// Anything else (the network, the relay, a malformed answer): trying again may help.
    Failed(String),
    /// The tokens given are not tokens Postino kept (none held for the account).
    NoTokens,
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OAuthError::SignInAgain(s) | OAuthError::Failed(s) => f.write_str(s),
            OAuthError::NoTokens => f.write_str("no sign-in is held"),
        }
    }
}

/// One sign-in under way: the URL to open, and what the answer is checked and redeemed with.
pub struct SignIn {
    pub url: String,
    pub state: String,
    pub verifier: Secret<String>,
    pub redirect_uri: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("url", &self.url)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

fn js(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the browser refused".into())
}

fn random_b64(bytes: usize) -> Result<String, String> {
    let crypto = crate::webcrypto::crypto()?;
    let mut buf = vec![0u8; bytes];
    crypto
        .get_random_values_with_u8_array(&mut buf)
        .map_err(js)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// `BASE64URL(SHA-256(verifier))` (RFC 7636, S256), by WebCrypto.
pub async fn challenge(verifier: &str) -> Result<String, String> {
    let digest = JsFuture::from(
        crate::webcrypto::subtle()?
            .digest_with_str_and_u8_array("SHA-256", verifier.as_bytes())
            .map_err(js)?,
    )
    .await
    .map_err(js)?;
    Ok(URL_SAFE_NO_PAD.encode(Uint8Array::new(&digest).to_vec()))
}

/// `application/x-www-form-urlencoded` escaping of one value.
pub fn form_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The provider's authorize URL for this sign-in: code flow, PKCE S256, `state`, and the
/// address as a hint. Google gives a refresh token only when asked for offline access.
pub fn authorize_url(
    client: &OAuthClient,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
    login_hint: Option<&str>,
) -> String {
    let scope = client.scopes.join(" ");
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", scope.as_str()),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if let Some(hint) = login_hint.filter(|h| !h.trim().is_empty()) {
        pairs.push(("login_hint", hint.trim()));
    }
    if host_of(&client.authorize_url).ends_with("google.com") {
        pairs.push(("access_type", "offline"));
        pairs.push(("prompt", "consent"));
    }
    let joiner = if client.authorize_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{joiner}{}", client.authorize_url, form(&pairs))
}

fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(url)
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Whether `client` is Microsoft's, whose browser sign-ins end after 24 hours.
pub fn is_microsoft(client: &OAuthClient) -> bool {
    let host = host_of(&client.authorize_url);
    host == "login.microsoftonline.com" || host == "login.live.com"
}

/// Starts a sign-in: a fresh verifier and state, and the URL to open.
pub async fn begin(
    client: &OAuthClient,
    redirect_uri: &str,
    login_hint: Option<&str>,
) -> Result<SignIn, String> {
    let verifier = random_b64(32)?;
    let state = random_b64(16)?;
    let challenge = challenge(&verifier).await?;
    Ok(SignIn {
        url: authorize_url(client, redirect_uri, &state, &challenge, login_hint),
        state,
        verifier: Secret::new(verifier),
        redirect_uri: redirect_uri.to_string(),
    })
}

/// The relay's http(s) base address from an account's relay setting (ws(s) accepted).
pub(crate) fn relay_base(relay: &str) -> String {
    let relay = relay.trim().trim_end_matches('/');
    if let Some(rest) = relay.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = relay.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        relay.to_string()
    }
}

/// A POST within [`DEADLINE_MS`]: the status and the answer as JSON (`Null` if it is not).
async fn post(
    url: &str,
    content_type: &str,
    body: &str,
) -> Result<(u16, serde_json::Value), String> {
    fetch_json(url, Some((content_type, body))).await
}

/// A GET (`body` `None`) or a POST of `body` (its content type and text), answered within
/// [`DEADLINE_MS`] (the answer's body included): the status and the answer as JSON (`Null` if
/// it is not JSON, or larger than any answer of a token endpoint or the relay should be).
async fn fetch_json(
    url: &str,
    body: Option<(&str, &str)>,
) -> Result<(u16, serde_json::Value), String> {
    let controller = web_sys::AbortController::new().map_err(js)?;
    let init = web_sys::RequestInit::new();
    init.set_signal(Some(&controller.signal()));
    init.set_credentials(web_sys::RequestCredentials::Omit);
    let headers = web_sys::Headers::new().map_err(js)?;
    headers.set("Accept", "application/json").map_err(js)?;
    match body {
        Some((content_type, body)) => {
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
            init.set_cache(web_sys::RequestCache::NoStore);
            headers.set("Content-Type", content_type).map_err(js)?;
        }
        None => init.set_method("GET"),
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(js)?;
    let global = js_sys::global();
    let fetch: js_sys::Function = Reflect::get(&global, &"fetch".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "this browser cannot fetch".to_string())?;
    let set_timeout: js_sys::Function = Reflect::get(&global, &"setTimeout".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "no timers".to_string())?;
    let abort = wasm_bindgen::closure::Closure::once_into_js({
        let controller = controller.clone();
        move || controller.abort()
    });
    let timer = set_timeout
        .call2(&global, &abort, &JsValue::from(DEADLINE_MS))
        .map_err(js)?;
    let promise: js_sys::Promise = fetch
        .call1(&global, &request)
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "fetch gave no promise".to_string())?;
    let late = |e: JsValue| {
        if controller.signal().aborted() {
            format!("no answer within {} seconds", DEADLINE_MS / 1000)
        } else {
            js(e)
        }
    };
    let result = async {
        let response: web_sys::Response = JsFuture::from(promise)
            .await
            .map_err(late)?
            .unchecked_into();
        let status = response.status();
        let text = JsFuture::from(response.text().map_err(js)?)
            .await
            .map_err(late)?
            .as_string()
            .unwrap_or_default();
        // Bounded: an answer is a few kilobytes; a huge one is not read into JSON.
        let json = if text.len() <= 256 * 1024 {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
        } else {
            serde_json::Value::Null
        };
        Ok::<_, String>((status, json))
    }
    .await;
    if let Ok(clear) = Reflect::get(&global, &"clearTimeout".into()) {
        if let Ok(clear) = clear.dyn_into::<js_sys::Function>() {
            let _ = clear.call1(&global, &timer);
        }
    }
    result
}

/// Words from a provider or the relay, made safe to show (no control characters, bounded).
fn shown(text: &str) -> String {
    let text = postino_sync::untrusted::display_text(text);
    text.chars().take(300).collect()
}

fn text_field(json: &serde_json::Value, name: &str) -> Option<String> {
    json.get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The `email` (else `preferred_username`, `upn`) claim of an ID token. Only to fill in the
/// user name: the POP3 server checks the access token itself.
pub fn id_token_address(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["email", "preferred_username", "upn"]
        .iter()
        .find_map(|c| text_field(&claims, c))
        .filter(|a| a.contains('@') && a.len() <= 320)
}

/// A token endpoint's answer (RFC 6749 section 5.1), or its error (section 5.2).
fn token_answer(
    status: u16,
    json: &serde_json::Value,
    now: i64,
    previous: Option<&Tokens>,
    label: &str,
) -> Result<Tokens, OAuthError> {
    if let Some(access) = text_field(json, "access_token").filter(|_| status == 200) {
        let expires_in = json
            .get("expires_in")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(3600)
            .clamp(0, 366 * 86_400);
        let account = text_field(json, "account")
            .or_else(|| text_field(json, "id_token").and_then(|t| id_token_address(&t)))
            .or_else(|| previous.and_then(|p| p.account.clone()));
        // A refresh that gives no new refresh token keeps the one it was made with.
        let refresh = text_field(json, "refresh_token")
            .map(Secret::new)
            .or_else(|| previous.and_then(|p| p.refresh.clone()));
        let sealed_refresh = text_field(json, "sealed_refresh")
            .map(Secret::new)
            .or_else(|| previous.and_then(|p| p.sealed_refresh.clone()));
        return Ok(Tokens {
            access: Secret::new(access),
            expires_at: now + expires_in,
            refresh,
            sealed_refresh,
            account,
        });
    }
    let error = text_field(json, "error").unwrap_or_default();
    let said = text_field(json, "error_description")
        .or_else(|| text_field(json, "message"))
        .map(|d| shown(&d))
        .unwrap_or_else(|| format!("HTTP status {status}"));
    match error.as_str() {
        // RFC 6749: the grant is expired, revoked or not this client's; the relay's own word
        // for a sealed token it cannot open.
        "invalid_grant"
        | "interaction_required"
        | "consent_required"
        | "login_required"
        | postino_contract::OAUTH_SIGN_IN_AGAIN => Err(OAuthError::SignInAgain(format!(
            "{label} ended the sign-in ({said})"
        ))),
        _ => Err(OAuthError::Failed(format!(
            "{label}'s sign-in failed ({})",
            if error.is_empty() {
                said
            } else {
                format!("{error}: {said}")
            }
        ))),
    }
}

/// Redeems the code the provider sent back, with the verifier only this page knew.
pub async fn redeem(
    client: &OAuthClient,
    relay: &str,
    sign_in: &SignIn,
    code: &str,
    now: i64,
) -> Result<Tokens, OAuthError> {
    let label = client.label.as_str();
    let (status, json) = match &client.token_url {
        Some(token_url) => post(
            token_url,
            "application/x-www-form-urlencoded",
            &form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &sign_in.redirect_uri),
                ("client_id", &client.client_id),
                ("code_verifier", sign_in.verifier.expose()),
            ]),
        )
        .await
        .map_err(|e| OAuthError::Failed(format!("{label}'s sign-in could not be reached ({e})")))?,
        None => {
            let url = format!("{}{}", relay_base(relay), postino_contract::OAUTH_EXCHANGE);
            let body = serde_json::json!({
                "provider": client.provider,
                "code": code,
                "code_verifier": sign_in.verifier.expose(),
                "redirect_uri": sign_in.redirect_uri,
            });
            post(&url, "application/json", &body.to_string())
                .await
                .map_err(|e| OAuthError::Failed(format!("the relay could not be reached ({e})")))?
        }
    };
    let tokens = token_answer(status, &json, now, None, label)?;
    if !tokens.renewable() {
        return Err(OAuthError::Failed(format!(
            "{label} gave no refresh token, so Postino would have to ask you to sign in every \
             hour; the client needs the offline_access scope (Microsoft) or offline access \
             (Google)"
        )));
    }
    Ok(tokens)
}

/// A new access token for `account` from its refresh token.
pub async fn refresh(account: &Account, tokens: &Tokens, now: i64) -> Result<Tokens, OAuthError> {
    let Some(client) = &account.oauth else {
        return Err(OAuthError::Failed(
            "this account signs in with a password".into(),
        ));
    };
    let label = client.label.as_str();
    let (status, json) = match (&client.token_url, &tokens.refresh, &tokens.sealed_refresh) {
        (Some(token_url), Some(refresh), _) => {
            let scope = client.scopes.join(" ");
            post(
                token_url,
                "application/x-www-form-urlencoded",
                &form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                    ("client_id", &client.client_id),
                    ("scope", &scope),
                ]),
            )
            .await
            .map_err(|e| {
                OAuthError::Failed(format!("{label}'s sign-in could not be reached ({e})"))
            })?
        }
        (None, _, Some(sealed)) => {
            let url = format!(
                "{}{}",
                relay_base(&account.relay),
                postino_contract::OAUTH_REFRESH
            );
            let body = serde_json::json!({
                "provider": client.provider,
                "account": tokens.account.clone().unwrap_or_else(|| account.user.clone()),
                "sealed_refresh": sealed.expose(),
            });
            post(&url, "application/json", &body.to_string())
                .await
                .map_err(|e| OAuthError::Failed(format!("the relay could not be reached ({e})")))?
        }
        _ => {
            return Err(OAuthError::SignInAgain(format!(
                "the sign-in with {label} cannot be renewed"
            )))
        }
    };
    token_answer(status, &json, now, Some(tokens), label).map_err(|e| match e {
        OAuthError::SignInAgain(text) if is_microsoft(client) => OAuthError::SignInAgain(format!(
            "{text}; Microsoft ends a browser app's sign-in after 24 hours"
        )),
        other => other,
    })
}

/// The tokens to log in to `account` with: `tokens` as they are while the access token has
/// [`REFRESH_AHEAD`] seconds left and not `force`d (`None`), else renewed.
pub async fn fresh(
    account: &Account,
    tokens: &Secret<String>,
    force: bool,
) -> Result<Option<Secret<String>>, OAuthError> {
    let tokens = Tokens::from_secret(tokens).ok_or(OAuthError::NoTokens)?;
    let now = crate::check::now_unix();
    if !force && tokens.fresh(now) {
        return Ok(None);
    }
    refresh(account, &tokens, now)
        .await
        .map(|renewed| Some(renewed.to_secret()))
}

/// What a login of `account` sends as the secret: the access token of its tokens for an
/// account that signs in with a provider, else the password as it is.
pub fn login_secret(account: &Account, secret: &Secret<String>) -> Secret<String> {
    match &account.oauth {
        Some(_) => Tokens::from_secret(secret)
            .map(|t| t.access)
            // Not tokens: nothing that could be a token is sent; the server refuses the login.
            .unwrap_or_else(|| Secret::new(String::new())),
        None => secret.clone(),
    }
}

/// The sign-in clients the account's relay offers (`GET /v1/oauth/providers`): relay-held
/// ones without a token URL, public ones with it.
pub async fn relay_clients(relay: &str) -> Result<Vec<OAuthClient>, String> {
    let url = format!("{}{}", relay_base(relay), postino_contract::OAUTH_PROVIDERS);
    Ok(clients_from_list(&get_json(&url).await?))
}

/// A GET of JSON from the relay within [`DEADLINE_MS`]: the answer of a 2xx, else the
/// relay's `message` (or the status).
pub(crate) async fn get_json(url: &str) -> Result<serde_json::Value, String> {
    let (status, json) = fetch_json(url, None).await?;
    if (200..300).contains(&status) {
        Ok(json)
    } else {
        Err(text_field(&json, "message")
            .map(|m| shown(&m))
            .unwrap_or_else(|| format!("the relay answered HTTP {status}")))
    }
}

/// The clients of a `/v1/oauth/providers` answer; malformed entries are left out.
pub fn clients_from_list(list: &serde_json::Value) -> Vec<OAuthClient> {
    let Some(providers) = list.get("providers").and_then(|p| p.as_array()) else {
        return Vec::new();
    };
    providers
        .iter()
        .filter_map(|p| {
            Some(OAuthClient {
                provider: text_field(p, "name")?,
                label: text_field(p, "label").or_else(|| text_field(p, "name"))?,
                authorize_url: text_field(p, "authorize_url")?,
                token_url: text_field(p, "token_url"),
                client_id: text_field(p, "client_id")?,
                scopes: p
                    .get("scopes")
                    .and_then(|s| s.as_array())
                    .map(|s| {
                        s.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// An object `{code, state, error, error_description}` posted by `web/oauth-return.js`.
pub fn read_return(data: &JsValue) -> Option<ReturnAnswer> {
    let data: &Object = data.dyn_ref()?;
    let field = |name: &str| {
        Reflect::get(data, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    Some(ReturnAnswer {
        state: field("state")?,
        code: field("code").map(Secret::new),
        error: field("error"),
        error_description: field("error_description"),
    })
}

/// What came back to `oauth-return.html`.
#[derive(Debug)]
pub struct ReturnAnswer {
    pub state: String,
    pub code: Option<Secret<String>>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl ReturnAnswer {
    /// The sentence for a provider's refusal (`access_denied` when the user said no).
    pub fn refusal(&self, label: &str) -> Option<String> {
        let error = self.error.as_deref()?;
        let said = self
            .error_description
            .as_deref()
            .map(shown)
            .unwrap_or_default();
        Some(
            if error == "access_denied" {
                format!("The sign-in with {label} was cancelled. {said}")
            } else {
                format!("{label} refused the sign-in ({}: {said}).", shown(error))
            }
            .trim()
            .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn client(token_url: Option<&str>) -> OAuthClient {
        OAuthClient {
            provider: "microsoft".into(),
            label: "Microsoft".into(),
            authorize_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize".into(),
            token_url: token_url.map(str::to_string),
            client_id: "spa id".into(),
            scopes: vec![
                "https://outlook.office.com/POP.AccessAsUser.All".into(),
                "offline_access".into(),
            ],
        }
    }

    /// RFC 7636 appendix B.
    #[wasm_bindgen_test]
    async fn the_challenge_is_rfc_7636s() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
                .await
                .unwrap(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[wasm_bindgen_test]
    fn the_authorize_url_carries_pkce_state_and_the_hint() {
        let url = authorize_url(
            &client(Some("https://t")),
            "https://mail.example.org/oauth-return.html",
            "st8",
            "ch4",
            Some("alice@outlook.com"),
        );
        assert!(url.starts_with(
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?response_type=code&client_id=spa%20id&"
        ));
        assert!(url.contains("&redirect_uri=https%3A%2F%2Fmail.example.org%2Foauth-return.html&"));
        assert!(url.contains(
            "&scope=https%3A%2F%2Foutlook.office.com%2FPOP.AccessAsUser.All%20offline_access&"
        ));
        assert!(url.contains("&state=st8&code_challenge=ch4&code_challenge_method=S256"));
        assert!(url.ends_with("&login_hint=alice%40outlook.com"));
        assert!(!url.contains("access_type"));
    }

    #[wasm_bindgen_test]
    fn tokens_round_trip_and_never_print() {
        let tokens = Tokens {
            access: Secret::new("acc".into()),
            expires_at: 1000,
            refresh: Some(Secret::new("ref".into())),
            sealed_refresh: None,
            account: Some("a@b".into()),
        };
        let secret = tokens.to_secret();
        assert_eq!(Tokens::from_secret(&secret), Some(tokens.clone()));
        assert_eq!(Tokens::from_secret(&Secret::new("hunter2".into())), None);
        let shown = format!("{tokens:?}");
        assert!(
            !shown.contains("acc\"") && !shown.contains("ref\""),
            "{shown}"
        );
        assert!(tokens.fresh(1000 - REFRESH_AHEAD - 1));
        assert!(!tokens.fresh(1000 - REFRESH_AHEAD));
    }

    #[wasm_bindgen_test]
    fn token_answers_and_refusals() {
        let ok = serde_json::json!({"access_token": "a", "expires_in": 60, "refresh_token": "r",
            "id_token": "x.eyJlbWFpbCI6ImFsaWNlQGV4YW1wbGUub3JnIn0.y"});
        let t = token_answer(200, &ok, 10, None, "M").unwrap();
        assert_eq!(t.expires_at, 70);
        assert_eq!(t.account.as_deref(), Some("alice@example.org"));
        // A refresh without a new refresh token keeps the old one, and the account.
        let again = token_answer(
            200,
            &serde_json::json!({"access_token": "b"}),
            20,
            Some(&t),
            "M",
        )
        .unwrap();
        assert_eq!(again.refresh.as_ref().unwrap().expose(), "r");
        assert_eq!(again.account.as_deref(), Some("alice@example.org"));
        assert_eq!(again.expires_at, 3620);
        let revoked = serde_json::json!({"error": "invalid_grant",
            "error_description": "Token has been expired or revoked.\u{1b}[31m"});
        match token_answer(400, &revoked, 0, None, "Google") {
            Err(OAuthError::SignInAgain(s)) => {
                assert!(
                    s.starts_with("Google ended the sign-in (Token has been expired"),
                    "{s}"
                );
                assert!(!s.contains('\u{1b}'), "{s}");
            }
            other => panic!("{other:?}"),
        }
        let relay = serde_json::json!({"error": "sign_in_again", "message": "sealed elsewhere"});
        assert!(matches!(
            token_answer(401, &relay, 0, None, "Google"),
            Err(OAuthError::SignInAgain(_))
        ));
        let busy = serde_json::json!({"error": "temporarily_unavailable"});
        assert!(matches!(
            token_answer(503, &busy, 0, None, "Google"),
            Err(OAuthError::Failed(_))
        ));
        assert!(matches!(
            token_answer(200, &serde_json::Value::Null, 0, None, "Google"),
            Err(OAuthError::Failed(_))
        ));
    }

    #[wasm_bindgen_test]
    fn the_relays_list_becomes_clients() {
        let list = serde_json::json!({"providers": [
            {"name": "google", "label": "Google", "authorize_url": "https://a", "client_id": "g",
             "scopes": ["s"], "redirect_uris": ["https://app/oauth-return.html"]},
            {"name": "microsoft", "label": "Microsoft", "authorize_url": "https://m",
             "client_id": "m", "token_url": "https://m/token"},
            {"name": "broken"}
        ]});
        let clients = clients_from_list(&list);
        assert_eq!(clients.len(), 2);
        assert!(clients[0].via_relay() && !clients[1].via_relay());
        assert_eq!(clients[1].token_url.as_deref(), Some("https://m/token"));
    }
}
