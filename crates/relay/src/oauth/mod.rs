//! The relay-held OAuth 2.0 client, opt-in (`--oauth-file`): for providers whose token endpoint
//! wants a client secret even with PKCE (Google), the relay redeems the app's authorization
//! code and refreshes tokens with the operator's secret, and keeps nothing per user: the
//! refresh token goes back to the app sealed under the relay's key ([`sealed`]), bound to
//! provider and account. The routes are in `postino_contract` ([`postino_contract::OAUTH_PROVIDERS`]).
//!
//! Each exchange or refresh is limited like a connection (per client address: at most
//! `requests_per_minute`, and a few at a time), has a bounded body, one deadline for the call
//! to the provider, and answers a failure with `{"error", "message"}`. Only requests from an
//! allowed origin (by default the relay's own) are served, and only those get CORS headers.
//! Logs name the provider and the outcome, never a code, a token or an account.
//!
//! - [`providers`]: the settings file; [`sealed`]: the sealing key; the HTTP call is
//!   `postino_oauth_client`'s (the `postino` command's too).

pub mod providers;
pub mod sealed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, CACHE_CONTROL, HOST, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use postino_contract::{OAUTH_EXCHANGE, OAUTH_PROVIDERS, OAUTH_REFRESH, OAUTH_SIGN_IN_AGAIN};
use postino_oauth_client::CallError;
use postino_pop3::secret::Secret;
use serde::Deserialize;

use crate::failure::Failure;
use crate::limits::{ConnectionLimits, LimitHit};
use crate::RelayState;
use providers::{OAuthSettings, Provider};
use sealed::SealingKey;

/// The largest request body of an exchange or a refresh.
pub const MAX_BODY: usize = 16 * 1024;
/// Exchanges and refreshes in progress, in total and per client address.
const MAX_IN_PROGRESS: usize = 64;
const MAX_IN_PROGRESS_PER_IP: usize = 4;
/// The longest field of a request (a code, a verifier, a redirect URI, an account).
const MAX_FIELD: usize = 4096;

/// The OAuth clients of this relay, with the sealing key.
#[derive(Debug)]
pub struct OAuthService {
    providers: Vec<Provider>,
    key: SealingKey,
    timeout: Duration,
    limits: Arc<ConnectionLimits>,
    tls: Arc<rustls::ClientConfig>,
}

impl OAuthService {
    /// From the settings file: providers and their secrets, and the key (made when missing).
    pub fn load(path: &std::path::Path) -> Result<OAuthService, String> {
        let settings = OAuthSettings::load(path)?;
        let key = SealingKey::load_or_create(&settings.key_file)?;
        Ok(OAuthService {
            key,
            timeout: settings.timeout,
            limits: Arc::new(ConnectionLimits::new(
                MAX_IN_PROGRESS,
                MAX_IN_PROGRESS_PER_IP,
                settings.requests_per_minute,
            )),
            tls: postino_oauth_client::tls_config(),
            providers: settings.providers,
        })
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The origins of the public clients' token endpoints, which the page calls itself.
    pub fn public_token_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .providers
            .iter()
            .filter_map(Provider::public_token_origin)
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// A provider whose client the relay holds (with its secret): only those are redeemed and
    /// refreshed here.
    fn relay_held(&self, name: &str) -> Result<&Provider, Failure> {
        let provider = self.provider(name)?;
        if provider.client_secret.is_none() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "public_client",
                "this provider's sign-in is redeemed by the app itself, not by the relay",
            ));
        }
        Ok(provider)
    }

    fn provider(&self, name: &str) -> Result<&Provider, Failure> {
        self.providers
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::NOT_FOUND,
                    "unknown_provider",
                    "this relay has no sign-in for that provider",
                )
            })
    }
}

/// The OAuth routes (served whether or not OAuth is configured: the list is then empty).
pub fn routes() -> Router<Arc<RelayState>> {
    Router::new()
        .route(OAUTH_PROVIDERS, get(list_providers))
        .route(OAUTH_EXCHANGE, post(exchange).options(preflight))
        .route(OAUTH_REFRESH, post(refresh).options(preflight))
}

impl Failure {
    fn sign_in_again(why: &str) -> Failure {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            OAUTH_SIGN_IN_AGAIN,
            format!("{why}: sign in again"),
        )
    }
}

async fn list_providers(State(state): State<Arc<RelayState>>) -> Response {
    let list: Vec<_> = state
        .oauth
        .as_ref()
        .map(|o| o.providers.iter().map(Provider::public).collect())
        .unwrap_or_default();
    Json(serde_json::json!({ "providers": list })).into_response()
}

/// The CORS preflight of a POST from another allowed origin.
async fn preflight(State(state): State<Arc<RelayState>>, headers: HeaderMap) -> Response {
    let Some(origin) = allowed_origin(&state, &headers) else {
        return Failure::new(
            StatusCode::FORBIDDEN,
            "origin",
            "this page may not use the relay",
        )
        .into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    h.insert(VARY, HeaderValue::from_static("Origin"));
    response
}

/// The request's Origin, when it is allowed (by default only the relay's own).
fn allowed_origin(state: &RelayState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(ORIGIN)?;
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    state
        .policy
        .origin_allowed(origin.to_str().ok(), host)
        .then(|| origin.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeRequest {
    provider: String,
    code: String,
    code_verifier: String,
    redirect_uri: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    provider: String,
    account: String,
    sealed_refresh: String,
}

async fn exchange(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    serve(state, peer, request, "exchange", |oauth, body| {
        Box::pin(async move {
            let asked: ExchangeRequest = parse(&body)?;
            let provider = oauth.relay_held(&asked.provider)?;
            if !provider.redirect_uris.contains(&asked.redirect_uri) {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri",
                    "this redirect address is not configured for the provider on the relay",
                ));
            }
            for field in [&asked.code, &asked.code_verifier] {
                if field.is_empty() || field.len() > MAX_FIELD {
                    return Err(bad_request(
                        "code and code_verifier are 1 to 4096 characters",
                    ));
                }
            }
            let code = Secret::new(asked.code);
            let code_verifier = Secret::new(asked.code_verifier);
            let redirect_uri = Secret::new(asked.redirect_uri);
            let grant = Secret::new("authorization_code".to_string());
            let answer = call_token_endpoint(
                oauth,
                provider,
                &[
                    ("grant_type", &grant),
                    ("code", &code),
                    ("code_verifier", &code_verifier),
                    ("redirect_uri", &redirect_uri),
                ],
            )
            .await?;
            let account = answer.account.clone().ok_or_else(|| {
                Failure::new(
                    StatusCode::BAD_GATEWAY,
                    "no_account",
                    "the provider did not say which account signed in (the relay's scopes \
                     need \"openid email\")",
                )
            })?;
            let refresh = answer.refresh_token.as_ref().ok_or_else(|| {
                Failure::new(
                    StatusCode::BAD_GATEWAY,
                    "no_refresh_token",
                    "the provider gave no refresh token (Google: ask for offline access; \
                     Microsoft: the offline_access scope)",
                )
            })?;
            let sealed = seal(oauth, &provider.name, &account, refresh)?;
            Ok(answer.into_json(account, Some(sealed)))
        })
    })
    .await
}

async fn refresh(
    State(state): State<Arc<RelayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    serve(state, peer, request, "refresh", |oauth, body| {
        Box::pin(async move {
            let asked: RefreshRequest = parse(&body)?;
            let provider = oauth.relay_held(&asked.provider)?;
            if asked.account.len() > MAX_FIELD {
                return Err(bad_request("account is at most 4096 characters"));
            }
            let refresh_token = oauth
                .key
                .open(&provider.name, &asked.account, &asked.sealed_refresh)
                .ok_or_else(|| {
                    Failure::sign_in_again(
                        "the saved sign-in was not made by this relay for this account",
                    )
                })?;
            let grant = Secret::new("refresh_token".to_string());
            let answer = call_token_endpoint(
                oauth,
                provider,
                &[("grant_type", &grant), ("refresh_token", &refresh_token)],
            )
            .await?;
            // A rotated refresh token replaces the old one; else the app keeps what it has.
            let sealed = match &answer.refresh_token {
                Some(new) if new.expose() != refresh_token.expose() => {
                    Some(seal(oauth, &provider.name, &asked.account, new)?)
                }
                _ => None,
            };
            Ok(answer.into_json(asked.account, sealed))
        })
    })
    .await
}

type Work<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<serde_json::Value, Failure>> + Send + 'a>,
>;

/// What every exchange and refresh goes through: configured, origin, limits, bounded body;
/// the answer with `Cache-Control: no-store` and, for an allowed origin, CORS.
async fn serve<F>(
    state: Arc<RelayState>,
    peer: SocketAddr,
    request: Request,
    what: &'static str,
    work: F,
) -> Response
where
    F: for<'a> FnOnce(&'a OAuthService, axum::body::Bytes) -> Work<'a>,
{
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let origin = allowed_origin(&state, &parts.headers);
    let result = async {
        let Some(oauth) = state.oauth.as_ref() else {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                "not_configured",
                "this relay does not offer sign-in with a provider",
            ));
        };
        if origin.is_none() {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "origin",
                "this page may not use the relay",
            ));
        }
        let client = state
            .trusted_proxies
            .client_address(peer.ip(), &parts.headers);
        let _permit = oauth
            .limits
            .acquire(client, Instant::now())
            .map_err(|hit| {
                let (LimitHit::Open(why) | LimitHit::Rate(why)) = hit;
                Failure::new(StatusCode::TOO_MANY_REQUESTS, "limit", why)
            })?;
        let body = axum::body::to_bytes(Body::new(body), MAX_BODY)
            .await
            .map_err(|_| {
                Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the request is larger than 16 KiB",
                )
            })?;
        work(oauth, body).await
    }
    .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(f) => f.error,
    };
    tracing::info!(
        what,
        outcome,
        ms = started.elapsed().as_millis() as u64,
        "oauth"
    );
    let mut response = match result {
        Ok(json) => Json(json).into_response(),
        Err(failure) => failure.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(origin) = origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(VARY, HeaderValue::from_static("Origin"));
    }
    response
}

fn bad_request(message: &str) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field, never its value for these types.
        let why: String = e.to_string().chars().take(200).collect();
        bad_request(&format!("the request is not what the relay expects: {why}"))
    })
}

fn seal(
    oauth: &OAuthService,
    provider: &str,
    account: &str,
    refresh: &Secret<String>,
) -> Result<String, Failure> {
    oauth.key.seal(provider, account, refresh).map_err(|e| {
        tracing::error!(error = %e, "sealing a refresh token");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the relay could not seal the sign-in",
        )
    })
}

/// A token endpoint's successful answer.
struct TokenAnswer {
    access_token: Secret<String>,
    expires_in: Option<u64>,
    refresh_token: Option<Secret<String>>,
    scope: Option<String>,
    /// From the ID token: `email`, else `preferred_username`, else `sub`.
    account: Option<String>,
}

impl TokenAnswer {
    fn into_json(self, account: String, sealed: Option<String>) -> serde_json::Value {
        serde_json::json!({
            "access_token": self.access_token.expose(),
            "expires_in": self.expires_in,
            "account": account,
            "sealed_refresh": sealed,
            "scope": self.scope,
        })
    }
}

/// Call the provider's token endpoint with the relay's client credentials
/// (`client_secret_post`, which Google and Microsoft take), and read its answer.
async fn call_token_endpoint(
    oauth: &OAuthService,
    provider: &Provider,
    grant: &[(&str, &Secret<String>)],
) -> Result<TokenAnswer, Failure> {
    let Some(client_secret) = &provider.client_secret else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "public_client",
            "this provider's sign-in is redeemed by the app itself, not by the relay",
        ));
    };
    let client_id = Secret::new(provider.client_id.clone());
    let mut form: Vec<(&str, &Secret<String>)> = grant.to_vec();
    form.push(("client_id", &client_id));
    form.push(("client_secret", client_secret));
    let (status, body) = postino_oauth_client::post_form(
        &provider.token_url,
        &form,
        &oauth.tls,
        oauth.timeout,
        concat!("postino-relay/", env!("CARGO_PKG_VERSION")),
    )
    .await
    .map_err(|e| {
        let why = match e {
            CallError::Timeout => {
                return Failure::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "provider_timeout",
                    format!(
                        "{} did not answer within {} s; try again later",
                        provider.label,
                        oauth.timeout.as_secs()
                    ),
                )
            }
            // The settings file's check (`providers::endpoint`) keeps these two out.
            CallError::NoHost => "no host".to_owned(),
            CallError::NotHttps => "its token URL is not https://".to_owned(),
            CallError::Failed(why) => why,
        };
        tracing::warn!(provider = %provider.name, error = %why, "token endpoint unreachable");
        Failure::new(
            StatusCode::BAD_GATEWAY,
            "provider_unreachable",
            format!("the relay could not reach {}: {why}", provider.label),
        )
    })?;
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !status.is_success() {
        let error = json["error"].as_str().unwrap_or("");
        tracing::info!(provider = %provider.name, status = status.as_u16(), error, "token endpoint refused");
        return Err(match error {
            "invalid_grant" => Failure::sign_in_again(&format!(
                "{} no longer accepts this sign-in (expired, revoked or already used)",
                provider.label
            )),
            "invalid_client" | "unauthorized_client" => Failure::new(
                StatusCode::BAD_GATEWAY,
                "relay_client_refused",
                format!(
                    "{} refused the relay's own client id or secret: tell whoever runs the relay",
                    provider.label
                ),
            ),
            _ if status.is_server_error() => Failure::new(
                StatusCode::BAD_GATEWAY,
                "provider_error",
                format!(
                    "{} had a problem ({status}); try again later",
                    provider.label
                ),
            ),
            _ => {
                let code: String = error
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(40)
                    .collect();
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "provider_refused",
                    format!(
                        "{} refused the request ({status}{}{code})",
                        provider.label,
                        if code.is_empty() { "" } else { ", " }
                    ),
                )
            }
        });
    }
    let bad_answer = |why: &str| {
        Failure::new(
            StatusCode::BAD_GATEWAY,
            "provider_bad_answer",
            format!("{} answered something unexpected: {why}", provider.label),
        )
    };
    let access_token = json["access_token"]
        .as_str()
        .filter(|t| !t.is_empty() && t.len() <= MAX_FIELD * 4)
        .ok_or_else(|| bad_answer("no access token"))?;
    let expires_in = match &json["expires_in"] {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    Ok(TokenAnswer {
        access_token: Secret::new(access_token.to_owned()),
        expires_in,
        refresh_token: json["refresh_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(|t| Secret::new(t.to_owned())),
        scope: json["scope"].as_str().map(str::to_owned),
        account: json["id_token"].as_str().and_then(account_of_id_token),
    })
}

/// The account an ID token names. Its signature is not checked: it came straight from the
/// provider's token endpoint over TLS (OpenID Connect Core 1.0, section 3.1.3.7).
fn account_of_id_token(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    let verified = claims["email_verified"].as_bool() != Some(false);
    let email = claims["email"].as_str().filter(|_| verified);
    email
        .or(claims["preferred_username"].as_str())
        .or(claims["sub"].as_str())
        .filter(|a| !a.is_empty() && a.len() <= 320)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "e30.{}.sig",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
        )
    }

    #[test]
    fn the_account_comes_from_the_id_token() {
        let id = |c| account_of_id_token(&jwt(c));
        assert_eq!(
            id(serde_json::json!({"sub": "1", "email": "a@gmail.com", "email_verified": true})),
            Some("a@gmail.com".into())
        );
        assert_eq!(
            id(serde_json::json!({"sub": "1", "email": "a@x", "email_verified": false})),
            Some("1".into())
        );
        assert_eq!(
            id(serde_json::json!({"sub": "1", "preferred_username": "a@outlook.com"})),
            Some("a@outlook.com".into())
        );
        assert_eq!(account_of_id_token("garbage"), None);
        assert_eq!(account_of_id_token("a.!!!.c"), None);
        assert_eq!(id(serde_json::json!({"name": "x"})), None);
    }
}
