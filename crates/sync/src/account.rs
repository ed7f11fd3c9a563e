//! A POP3 account as the user configured it. The password is not part of it: the app keeps it in
//! memory for the browser session (issue 6 adds opt-in encrypted storage).

use serde::{Deserialize, Serialize};

pub use postino_pop3::Security;

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
}
