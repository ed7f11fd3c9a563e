//! Every failure becomes a sentence that says what happened and what to do (DESIGN.md: errors
//! that say what to do next), keeping the server's or relay's own words as detail.

use postino_pop3::tls::CertProblem;
use postino_pop3::Error as Pop3Error;
use postino_sync::{Account, StoreError, SyncError};

use crate::transport::{CloseInfo, WsError};

/// Why a check failed, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Failure {
    /// The certificate is not trusted; the user may trust this fingerprint for the account.
    Untrusted {
        fingerprint: String,
        problem: String,
    },
    Message {
        text: String,
        detail: Option<String>,
    },
    /// The server refused the password: forget it and ask again.
    BadPassword {
        text: String,
        detail: Option<String>,
    },
    /// The server refused the access token (OAuth): refresh it once and try again when
    /// `refresh`, else sign in again.
    TokenRefused {
        text: String,
        detail: Option<String>,
        refresh: bool,
    },
}

fn message(text: String) -> Failure {
    Failure::Message { text, detail: None }
}

/// The relay refused or ended the connection with one of its 4xxx codes.
pub fn relay_close(info: &CloseInfo, account: &Account) -> Option<Failure> {
    let dest = format!("{}:{}", account.host, account.port);
    let text = postino_contract::explain_close(info.code, &info.reason, &dest)?;
    Some(Failure::Message {
        text,
        detail: Some(format!("relay close code {}", info.code)),
    })
}

/// The WebSocket to the relay did not open.
pub fn ws_failure(err: &WsError, account: &Account) -> Failure {
    match err {
        WsError::Closed(info) => relay_close(info, account).unwrap_or_else(|| Failure::Message {
            detail: (!info.reason.is_empty()).then(|| info.to_string()),
            text: format!(
                "Postino could not reach the relay at {}. Check the relay address in the account \
                 settings and that the relay is running. A relay reached under a name other than \
                 its own address answers only when it was started with --origin for this page.",
                account.relay
            ),
        }),
        WsError::Refused(e) => message(format!(
            "The relay address {} is not usable: {e}. Check it in the account settings.",
            account.relay
        )),
    }
}

/// A failure during the POP3 session or while storing.
pub fn sync_failure(err: &SyncError, close: Option<CloseInfo>, account: &Account) -> Failure {
    // A relay refusal surfaces as a broken stream: its close code says more than the stream.
    if let Some(f) = close.as_ref().and_then(|c| relay_close(c, account)) {
        if matches!(err, SyncError::Pop3(Pop3Error::Io(_) | Pop3Error::Closed)) {
            return f;
        }
    }
    match err {
        SyncError::Pop3(e) => pop3_failure(e, account),
        SyncError::Store(StoreError::QuotaExceeded) => message(
            "The browser's storage for Postino is full, so the check stopped; nothing was deleted \
             from the server. Free some space or allow Postino more storage, then check again."
                .into(),
        ),
        SyncError::Connect(e) => message(format!(
            "Postino could not reach the relay at {}: {e}. Check the relay address and that the \
             relay is running.",
            account.relay
        )),
        SyncError::Store(e) => message(format!(
            "Postino could not save mail in this browser ({e}). Nothing was deleted from the server."
        )),
    }
}

fn pop3_failure(err: &Pop3Error, account: &Account) -> Failure {
    let host = &account.host;
    match err {
        Pop3Error::LoginFailed { code, text } => {
            let temporary = code.as_ref().is_some_and(|c| c.is_temporary());
            let text_out = if temporary {
                format!("{host} asked to wait before logging in again. Try again later.")
            } else {
                format!(
                    "{host} refused the user name or password. Check them and try again \
                     (some providers need an app password or POP enabled in their settings)."
                )
            };
            let detail = Some(format!("The server said: {text}"));
            if temporary {
                Failure::Message {
                    text: text_out,
                    detail,
                }
            } else {
                Failure::BadPassword {
                    text: text_out,
                    detail,
                }
            }
        }
        // The page refreshes the token once and tries again when that may help; else, or after
        // that, it asks the user to sign in again with this sentence.
        Pop3Error::TokenRefused(refusal) => Failure::TokenRefused {
            text: format!(
                "{host} refused the sign-in: {}.",
                refusal.problem().describe()
            ),
            detail: Some(format!("The server said: {}", refusal.text)),
            refresh: refusal.should_refresh(),
        },
        Pop3Error::Certificate(cert) => match (&cert.problem, &cert.fingerprint) {
            (CertProblem::PinChanged { .. }, _) | (_, None) => Failure::Message {
                text: format!(
                    "Postino did not log in to {host} because {}.",
                    cert.problem_text()
                ),
                detail: cert
                    .fingerprint_to_pin()
                    .map(|fp| format!("The certificate it presented now: SHA-256 {fp}")),
            },
            // A provider's server always has a certificate that verifies: one that does not is
            // an impostor's, possibly the relay's own. Never offer to trust it (invariant 9).
            _ if crate::presets::is_well_known_host(host) => message(format!(
                "Postino did not log in to {host} because {}. {host} is a well-known \
                 provider whose certificate always verifies, so someone between you and the \
                 server is presenting this one, possibly the relay itself: your password was \
                 not sent. Try again later, on another network, or with another relay.",
                cert.problem_text()
            )),
            // A self-hosted server's own certificate (self-signed, `openssl req -x509` defaults,
            // expired, for another name): the user may pin exactly this one.
            (_, Some(fp)) => Failure::Untrusted {
                fingerprint: fp.clone(),
                problem: cert.problem_text(),
            },
        },
        Pop3Error::Io(_) | Pop3Error::Closed => Failure::Message {
            text: format!(
                "The connection to {host} broke. Check mail again to continue; what was already \
                 downloaded is kept."
            ),
            detail: Some(err.to_string()),
        },
        Pop3Error::Server { text, .. } => Failure::Message {
            text: format!("{host} reported an error. Try again later."),
            detail: Some(format!("The server said: {text}")),
        },
        Pop3Error::Unsupported(what) => {
            let advice = if what.starts_with("STLS") {
                " Choose another security setting for this account."
            } else if ["APOP", "OAuth", "a password login"]
                .iter()
                .any(|w| what.starts_with(w))
            {
                " Choose another login method for this account (Automatic finds one)."
            } else {
                ""
            };
            message(format!("{host} does not support {what}.{advice}"))
        }
        Pop3Error::PlaintextRefused | Pop3Error::DataAfterStls => {
            message(format!("Postino stopped talking to {host}: {err}."))
        }
        Pop3Error::Tls(e) => message(format!("The secure connection to {host} failed: {e}.")),
        Pop3Error::SecurityMismatch(why) => message(format!(
            "{host}:{} does not match the account's security setting: {why}.",
            account.port
        )),
        Pop3Error::Usage(_) => Failure::Message {
            text: format!("Postino made a mistake talking to {host}; the check stopped."),
            detail: Some(err.to_string()),
        },
        Pop3Error::Protocol(_) | Pop3Error::TooLong { .. } => Failure::Message {
            text: format!("{host} sent something Postino cannot read; the check stopped."),
            detail: Some(err.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postino_pop3::tls::CertError;

    fn account(host: &str) -> Account {
        Account {
            host: host.into(),
            ..postino_sync::conformance::sample_account("a")
        }
    }

    fn cert(problem: CertProblem) -> SyncError {
        SyncError::Pop3(Pop3Error::Certificate(CertError {
            problem,
            fingerprint: Some("AB:CD".into()),
        }))
    }

    #[test]
    fn a_well_known_providers_certificate_is_never_offered_for_trust() {
        for problem in [
            CertProblem::UnknownIssuer,
            CertProblem::Other("CaUsedAsEndEntity".into()),
        ] {
            let failure = sync_failure(&cert(problem), None, &account("pop.gmail.com"));
            let Failure::Message { text, .. } = failure else {
                panic!("a trust prompt was offered for pop.gmail.com: {failure:?}");
            };
            assert!(text.contains("possibly the relay itself"), "{text}");
        }
    }

    #[test]
    fn a_self_hosted_servers_certificate_may_be_pinned_whatever_its_problem() {
        for problem in [
            CertProblem::UnknownIssuer,
            CertProblem::Expired,
            CertProblem::WrongName,
            CertProblem::Other("CaUsedAsEndEntity".into()),
        ] {
            let failure = sync_failure(&cert(problem), None, &account("mail.example.org"));
            assert!(
                matches!(&failure, Failure::Untrusted { fingerprint, .. } if fingerprint == "AB:CD"),
                "{failure:?}"
            );
        }
        let changed = cert(CertProblem::PinChanged {
            pinned: "00:11".into(),
        });
        assert!(matches!(
            sync_failure(&changed, None, &account("mail.example.org")),
            Failure::Message { .. }
        ));
    }
}
