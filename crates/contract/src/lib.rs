//! The relay contract (DESIGN.md, "Relay contract"): what the relay and the app agree on, in
//! one place, like quinn-proto's `transport_error.rs` table. No dependencies, so that both the
//! relay (tokio) and the app (wasm) use it.
//!
//! - the path: `GET /v1/tcp/{host}/{port}` upgrades to a WebSocket ([`ROUTE`], [`path`]);
//! - the subprotocols: [`SUBPROTOCOL`], and [`TOKEN_SUBPROTOCOL_PREFIX`] followed by the
//!   base64url token when the relay wants one (never in the query string, which logs keep);
//! - the close codes, each with its name, its meaning and the sentence the app shows
//!   ([`CloseCode`], [`CLOSE_CODES`], [`explain_close`]).
#![forbid(unsafe_code)]

/// The relay's WebSocket route, in axum's pattern syntax.
pub const ROUTE: &str = "/v1/tcp/{host}/{port}";

/// The path of the WebSocket to `host`:`port`. `host` goes as it is: a host name, an IPv4
/// address, or an IPv6 address with or without brackets.
pub fn path(host: &str, port: u16) -> String {
    format!("/v1/tcp/{host}/{port}")
}

/// The subprotocol of the contract; browsers fail the connection unless the relay selects one
/// they offered, and the relay selects only this one.
pub const SUBPROTOCOL: &str = "postino.v1";

/// Offered beside [`SUBPROTOCOL`] when the relay wants a token: this prefix, then the token in
/// base64url without padding. Never selected by the relay.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "postino.token.";

/// The token subprotocol for a token already in base64url.
pub fn token_subprotocol(base64url: &str) -> String {
    format!("{TOKEN_SUBPROTOCOL_PREFIX}{base64url}")
}

/// The OAuth 2.0 routes of a relay that holds an OAuth client for providers whose token
/// endpoint wants a client secret (Google): opt-in by whoever runs the relay.
///
/// - `GET` [`OAUTH_PROVIDERS`]: `{"providers": [{"name", "label", "authorize_url", "client_id",
///   "scopes", "redirect_uris"}]}`, empty when none is configured; never a secret.
/// - `POST` [`OAUTH_EXCHANGE`] `{"provider", "code", "code_verifier", "redirect_uri"}`: the relay
///   redeems the code with its secret and answers `{"access_token", "expires_in", "account",
///   "sealed_refresh", "scope"}`; `sealed_refresh` is the refresh token sealed under the relay's
///   own key, bound to provider and account: only that relay can open it, for that account.
/// - `POST` [`OAUTH_REFRESH`] `{"provider", "account", "sealed_refresh"}`: a new access token,
///   `{"access_token", "expires_in", "account", "sealed_refresh", "scope"}` with
///   `sealed_refresh` null unless the provider rotated the refresh token.
///
/// A failure is `{"error": code, "message": sentence}` with an HTTP status; [`OAUTH_SIGN_IN_AGAIN`]
/// means the grant is gone (revoked, expired, or not this relay's): the user signs in again.
pub const OAUTH_PROVIDERS: &str = "/v1/oauth/providers";
/// See [`OAUTH_PROVIDERS`].
pub const OAUTH_EXCHANGE: &str = "/v1/oauth/exchange";
/// See [`OAUTH_PROVIDERS`].
pub const OAUTH_REFRESH: &str = "/v1/oauth/refresh";
/// The error code of an OAuth route when the user must sign in again.
pub const OAUTH_SIGN_IN_AGAIN: &str = "sign_in_again";

/// `GET` [`AUTOCONFIG`]: where the POP3 server of an address at `{domain}` may be, found by the
/// relay from its provider table and DNS only (no URL is fetched), for address-first setup:
/// `{"domain", "candidates": [{"host", "port", "security", "source", "provider"}],
/// "no_service", "refused": [{"source", "reason"}]}`, candidates in the order to try them.
/// `security` is `"tls"` or `"stls"`; `source` is `"provider"` (the table knows the domain),
/// `"srv"` (RFC 6186 `_pop3s._tcp`, then `_pop3._tcp`), `"mx"` (MX records point at a provider
/// of the table; `provider` is its key) or `"guess"` (`pop.`, `pop3.`, `mail.` + domain on 995
/// then 110, untested: the app tries them). `no_service` lists the SRV services whose record
/// says "not offered"; `refused` counts names left out (not public, unresolvable), without
/// naming them. A failure is `{"error", "message"}` with 400 (`domain`), 403 (`origin`),
/// 429 (`limit`) or 503 (`dns`).
pub const AUTOCONFIG: &str = "/v1/autoconfig/{domain}";

/// The path of [`AUTOCONFIG`] for `domain`.
pub fn autoconfig_path(domain: &str) -> String {
    format!("/v1/autoconfig/{domain}")
}

/// A WebSocket close code the relay sends (RFC 6455 section 7.4): the number, a name for logs
/// and metrics, what it means, and the sentence the app shows to the user, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseCode {
    pub code: u16,
    pub name: &'static str,
    pub meaning: &'static str,
    /// What the app shows: `{reason}` stands for the close reason, `{dest}` for
    /// `host:port`. `None`: not a refusal the user needs explained.
    pub sentence: Option<&'static str>,
}

macro_rules! close_codes {
    {$($(#[$doc:meta])* $name:ident = $code:literal, $label:literal, $meaning:literal, $sentence:expr;)*} => {
        $($(#[$doc])* pub const $name: CloseCode = CloseCode {
            code: $code,
            name: $label,
            meaning: $meaning,
            sentence: $sentence,
        };)*

        /// Every close code of the contract.
        pub const CLOSE_CODES: &[CloseCode] = &[$($name),*];
    };
}

close_codes! {
    /// The server closed the TCP connection: a normal end.
    NORMAL = 1000, "normal", "the server closed the connection", None;
    /// The relay is shutting down.
    GOING_AWAY = 1001, "going_away", "the relay is shutting down; connect again", None;
    /// The browser sent a text frame: the contract carries binary frames only.
    UNSUPPORTED_DATA = 1003, "unsupported_data", "text frames are not supported", None;
    /// The token is missing or wrong.
    TOKEN = 4401, "token", "the relay's access token is missing or wrong", Some("The relay refused the connection: {reason}. This relay needs a token: ask whoever runs it, and enter it in the account's Relay token field.");
    /// The destination is not allowed (the reason says why): origin, port or address.
    FORBIDDEN = 4403, "forbidden", "the destination or the page's origin is not allowed", Some("The relay refused to connect to {dest}: {reason}.");
    /// A limit was hit: connections per address or in total, the rate, the message size.
    LIMIT = 4429, "limit", "a limit of the relay was hit", Some("The relay is busy: {reason}. Try again in a minute.");
    /// The connection to the server failed (resolving its name, or connecting).
    CONNECT_FAILED = 4502, "connect_failed", "the connection to the server failed", Some("The relay could not reach the server {dest}: {reason}. Check the server name and port.");
    /// Connecting to the server timed out (or the session went idle or ran too long).
    CONNECT_TIMEOUT = 4504, "connect_timeout", "the connection to the server timed out", Some("The relay timed out connecting to {dest}. Check the server name and port, or try again later.");
}

/// What the app shows for any other code the relay may send in its 4000-4999 range.
pub const OTHER_RELAY_SENTENCE: &str = "The relay closed the connection: {reason} (code {code}).";

/// What the app shows for an empty close reason.
pub const NO_REASON: &str = "no reason given";

impl CloseCode {
    /// The contract's entry for `code`, if it has one.
    pub fn of(code: u16) -> Option<CloseCode> {
        CLOSE_CODES.iter().copied().find(|c| c.code == code)
    }
}

/// The sentence the app shows when the relay closed with `code` and `reason` while connecting
/// to `dest` (`host:port`): the table's sentence, the one for other 4xxx codes, or `None` for a
/// code that is not a relay refusal.
pub fn explain_close(code: u16, reason: &str, dest: &str) -> Option<String> {
    let template = match CloseCode::of(code) {
        Some(c) => c.sentence?,
        None if (4000..=4999).contains(&code) => OTHER_RELAY_SENTENCE,
        None => return None,
    };
    let reason = if reason.is_empty() { NO_REASON } else { reason };
    Some(
        template
            .replace("{code}", &code.to_string())
            .replace("{dest}", dest)
            .replace("{reason}", reason),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_refusals_are_4xxx_with_a_sentence() {
        for (i, a) in CLOSE_CODES.iter().enumerate() {
            assert!(CLOSE_CODES[i + 1..]
                .iter()
                .all(|b| b.code != a.code && b.name != a.name));
            assert_eq!(
                (4000..=4999).contains(&a.code),
                a.sentence.is_some(),
                "{a:?}"
            );
        }
    }

    #[test]
    fn sentences_name_the_reason_and_the_destination() {
        assert_eq!(
            explain_close(4403, "port 25 is not allowed", "mx.example.org:25").unwrap(),
            "The relay refused to connect to mx.example.org:25: port 25 is not allowed."
        );
        assert_eq!(
            explain_close(4429, "", "d:1").unwrap(),
            "The relay is busy: no reason given. Try again in a minute."
        );
        assert_eq!(
            explain_close(4999, "odd", "d:1").unwrap(),
            "The relay closed the connection: odd (code 4999)."
        );
        assert_eq!(explain_close(1000, "bye", "d:1"), None);
        assert_eq!(explain_close(1006, "", "d:1"), None);
    }

    #[test]
    fn the_path_and_the_subprotocols() {
        assert_eq!(path("pop.example.org", 995), "/v1/tcp/pop.example.org/995");
        assert_eq!(token_subprotocol("czNjcmV0"), "postino.token.czNjcmV0");
        assert!(ROUTE.starts_with("/v1/tcp/"));
        for route in [OAUTH_PROVIDERS, OAUTH_EXCHANGE, OAUTH_REFRESH] {
            assert!(route.starts_with("/v1/oauth/"));
        }
    }
}
