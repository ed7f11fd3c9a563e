//! A POP3 account as the user configured it. The password is not part of it: the app keeps it in
//! memory for the browser session, or in its opt-in encrypted vault.

use serde::{Deserialize, Serialize};

use postino_pop3::Secret;
pub use postino_pop3::{AuthChoice, AuthMethod, Security};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Stable identifier, never shown; keys the ledger. Contains no `/`.
    pub id: String,
    /// What the user sees, by default `user@host`.
    pub name: String,
    /// The relay's base address, e.g. `https://relay.example.org` or `http://127.0.0.1:8080`.
    pub relay: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    /// SHA-256 of the server's certificate that the user chose to trust, as `AB:CD:...`.
    #[serde(default)]
    pub pinned_cert: Option<String>,
    #[serde(default)]
    pub policy: crate::Policy,
    /// The token a private relay asks for (`--tokens`), if any. Stored with the account; never
    /// printed (`Debug` shows `[redacted]`), and sent only as a WebSocket subprotocol.
    #[serde(
        default,
        with = "optional_secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub relay_token: Option<Secret<String>>,
    /// The user asked Postino to remember the password on this device (the app keeps it
    /// encrypted, with a key the page cannot read out). Otherwise it is asked once per session.
    #[serde(default)]
    pub remember_password: bool,
    /// How to log in: `Automatic` (the default: Postino tries the server's mechanisms and falls
    /// back when one is refused), or one method the user chose (APOP only this way).
    #[serde(default)]
    pub auth: AuthChoice,
    /// The method that logged in last time, tried first next time with `Automatic`. Copy it
    /// from [`crate::SyncReport::auth_used`] after a sync; clear it when the server changes.
    #[serde(default)]
    pub auth_learned: Option<AuthMethod>,
    /// Sign in with an OAuth 2.0 provider instead of a password (Outlook.com has no other way):
    /// the secret a login is given is then the access token, sent with OAUTHBEARER or XOAUTH2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthClient>,
}

/// The OAuth 2.0 client an account signs in with: a provider the relay holds a client for
/// (Google: its token endpoint wants a secret, which only the relay's operator has), or a
/// public client whose token endpoint the app calls itself (Microsoft's single-page-app
/// clients, or any provider the user configures).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClient {
    /// The provider's name: the relay's (`google`) for a relay-held client, else the user's.
    pub provider: String,
    /// What the sign-in button says: "Sign in with {label}".
    pub label: String,
    pub authorize_url: String,
    /// Where the app itself redeems a code and refreshes tokens (a public client, with PKCE);
    /// `None`: the relay does, through `/v1/oauth/exchange` and `/v1/oauth/refresh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    pub client_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl OAuthClient {
    /// The relay redeems codes and refreshes tokens for this client (and so sees access
    /// tokens, though never the password, which does not exist here).
    pub fn via_relay(&self) -> bool {
        self.token_url.is_none()
    }
}

/// An optional secret as its plain value, for the store only.
mod optional_secret {
    use postino_pop3::Secret;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Secret<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(|t| t.expose().as_str()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Secret<String>>, D::Error> {
        Ok(Option::<String>::deserialize(d)?
            .filter(|t| !t.is_empty())
            .map(Secret::new))
    }
}
