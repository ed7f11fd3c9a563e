//! One call to a provider's token endpoint (RFC 6749 section 3.2), made by
//! `postino_oauth_client` (the relay's too), under [`DEADLINE`]; the answer read as RFC 6749
//! section 5, and the failures in postino's words.

use std::time::Duration;

use hyper::Uri;
use postino_oauth_client::CallError;
use postino_pop3::Secret;
use postino_sync::untrusted::display_text;
use serde::Deserialize;

/// Connecting, TLS, sending and reading one answer.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// What a token endpoint granted (RFC 6749 section 5.1).
#[derive(Debug)]
pub struct Grant {
    pub access_token: Secret<String>,
    /// A new refresh token: always at sign-in, sometimes at a refresh (rotation).
    pub refresh_token: Option<Secret<String>>,
    /// Seconds the access token lives, if said.
    pub expires_in: Option<i64>,
}

/// Why no grant.
#[derive(Debug)]
pub enum TokenError {
    /// The endpoint answered with an RFC 6749 section 5.2 error (`invalid_grant`: the refresh
    /// token was revoked or expired): signing in again is the way on.
    Refused(String),
    /// No usable answer: the network, a timeout, a server error. Another run may do.
    Unreachable(String),
}

#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

/// POST `form` to `url` and read the grant.
pub async fn request(url: &str, form: &[(&str, &Secret<String>)]) -> Result<Grant, TokenError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| TokenError::Unreachable(format!("{url}: {e}")))?;
    let (status, body) = postino_oauth_client::post_form(
        &uri,
        form,
        &postino_oauth_client::tls_config(),
        DEADLINE,
        concat!("postino/", env!("CARGO_PKG_VERSION")),
    )
    .await
    .map_err(|e| {
        TokenError::Unreachable(match e {
            CallError::Timeout => {
                format!("the token endpoint did not answer within {DEADLINE:?}")
            }
            CallError::NoHost => "the token URL has no host".to_owned(),
            // `super::check_endpoint` already said so when the settings were read.
            CallError::NotHttps => format!(
                "{url:?} must be an https:// address (http:// only for 127.0.0.1 or localhost)"
            ),
            CallError::Failed(why) => why,
        })
    })?;
    let answer: Option<Answer> = serde_json::from_slice(&body).ok();
    match answer {
        Some(Answer {
            access_token: Some(access_token),
            refresh_token,
            expires_in,
            ..
        }) if status.is_success() && !access_token.is_empty() => Ok(Grant {
            access_token: Secret::new(access_token),
            refresh_token: refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
            // A number, or (some providers) a string of digits.
            expires_in: expires_in.and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        }),
        Some(Answer {
            error: Some(error),
            error_description,
            ..
        }) if status.is_client_error() => {
            let mut text = display_text(&error).into_owned();
            if let Some(description) = error_description {
                let description: String = description.chars().take(300).collect();
                text = format!("{text}: {}", display_text(&description));
            }
            Err(TokenError::Refused(text))
        }
        _ if status.is_client_error() => Err(TokenError::Refused(format!("HTTP {status}"))),
        _ => Err(TokenError::Unreachable(format!(
            "the token endpoint answered HTTP {status} without a token"
        ))),
    }
}
