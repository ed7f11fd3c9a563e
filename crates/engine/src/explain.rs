//! Every failure becomes a sentence that says what happened and what to do (DESIGN.md: errors
//! that say what to do next), keeping the server's or relay's own words as detail.

use postino_pop3::sasl::TokenProblem;
use postino_pop3::tls::CertProblem;
use postino_pop3::Error as Pop3Error;
use postino_sync::{Account, StoreError, SyncError};

use crate::transport::{CloseInfo, WsError};
use postino_i18n::{fill, te};

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
    // The contract's sentences, in the user's language: the relay's reason stays as it sent it.
    let template = postino_i18n::close_sentence(info.code)?;
    let reason = if info.reason.is_empty() {
        te().no_reason
    } else {
        &info.reason
    };
    let text = fill(
        template,
        &[("code", &info.code), ("dest", &dest), ("reason", &reason)],
    );
    Some(Failure::Message {
        text,
        detail: Some(fill(te().relay_close_code, &[("code", &info.code)])),
    })
}

/// The WebSocket to the relay did not open.
pub fn ws_failure(err: &WsError, account: &Account) -> Failure {
    match err {
        WsError::Closed(info) => relay_close(info, account).unwrap_or_else(|| Failure::Message {
            detail: (!info.reason.is_empty()).then(|| info.to_string()),
            text: fill(te().relay_unreachable, &[("relay", &account.relay)]),
        }),
        WsError::Refused(e) => message(fill(
            te().relay_address_unusable,
            &[("relay", &account.relay), ("e", e)],
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
        SyncError::Store(StoreError::QuotaExceeded) => message(te().storage_full.into()),
        SyncError::Connect(e) => message(fill(
            te().relay_connect_failed,
            &[("relay", &account.relay), ("e", e)],
        )),
        SyncError::Store(e) => message(fill(te().store_failed, &[("e", e)])),
    }
}

/// A certificate problem in words, in the user's language (`CertError::problem_text` in English).
pub fn cert_problem(problem: &CertProblem) -> String {
    let t = te();
    match problem {
        CertProblem::UnknownIssuer => t.cert_unknown_issuer,
        CertProblem::Expired => t.cert_expired,
        CertProblem::NotYetValid => t.cert_not_yet_valid,
        CertProblem::WrongName => t.cert_wrong_name,
        CertProblem::Revoked => t.cert_revoked,
        CertProblem::AuthorityAsServer => t.cert_authority,
        CertProblem::NotForServers => t.cert_not_for_servers,
        CertProblem::Malformed => t.cert_malformed,
        CertProblem::PinChanged { .. } => t.cert_changed,
        CertProblem::Other(e) => return fill(t.cert_other, &[("e", e)]),
    }
    .into()
}

/// What the server said, untranslated, beside the sentence.
fn server_said(text: &str) -> Option<String> {
    Some(fill(te().server_said, &[("text", &text)]))
}

fn pop3_failure(err: &Pop3Error, account: &Account) -> Failure {
    let host = &account.host;
    let t = te();
    let at_host = |template: &str| fill(template, &[("host", host)]);
    match err {
        Pop3Error::LoginFailed { code, text } => {
            let temporary = code.as_ref().is_some_and(|c| c.is_temporary());
            let text_out = if temporary {
                at_host(t.login_wait)
            } else {
                at_host(t.login_refused)
            };
            let detail = server_said(text);
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
            text: fill(
                t.token_refused,
                &[
                    ("host", host),
                    (
                        "problem",
                        &match refusal.problem() {
                            TokenProblem::ExpiredOrRevoked => t.token_expired,
                            TokenProblem::BadRequest => t.token_bad_request,
                            TokenProblem::InsufficientScope => t.token_scope,
                            TokenProblem::Refused => t.token_other,
                        },
                    ),
                ],
            ),
            detail: server_said(&refusal.text),
            refresh: refusal.should_refresh(),
        },
        Pop3Error::Certificate(cert) => match (&cert.problem, &cert.fingerprint) {
            (CertProblem::PinChanged { .. }, _) | (_, None) => Failure::Message {
                text: fill(
                    t.not_logged_in_because,
                    &[("host", host), ("problem", &cert_problem(&cert.problem))],
                ),
                detail: cert
                    .fingerprint_to_pin()
                    .map(|fp| fill(t.cert_now, &[("fingerprint", &fp)])),
            },
            // A provider's server always has a certificate that verifies: one that does not is
            // an impostor's, possibly the relay's own. Never offer to trust it (invariant 9).
            _ if crate::presets::is_well_known_host(host) => message(fill(
                t.cert_impostor,
                &[("host", host), ("problem", &cert_problem(&cert.problem))],
            )),
            // A self-hosted server's own certificate (self-signed, `openssl req -x509` defaults,
            // expired, for another name): the user may pin exactly this one.
            (_, Some(fp)) => Failure::Untrusted {
                fingerprint: fp.clone(),
                problem: cert_problem(&cert.problem),
            },
        },
        Pop3Error::Io(_) | Pop3Error::Closed => Failure::Message {
            text: at_host(t.connection_broke),
            detail: Some(err.to_string()),
        },
        Pop3Error::Server { text, .. } => Failure::Message {
            text: at_host(t.server_error),
            detail: server_said(text),
        },
        Pop3Error::Unsupported(what) => {
            let advice = if what.starts_with("STLS") {
                t.choose_other_security
            } else if ["APOP", "OAuth", "a password login"]
                .iter()
                .any(|w| what.starts_with(w))
            {
                t.choose_other_login
            } else {
                ""
            };
            message(fill(t.unsupported, &[("host", host), ("what", what)]) + advice)
        }
        Pop3Error::PlaintextRefused | Pop3Error::DataAfterStls => {
            message(fill(t.stopped_talking, &[("host", host), ("e", err)]))
        }
        Pop3Error::Tls(e) => message(fill(t.tls_failed, &[("host", host), ("e", e)])),
        Pop3Error::SecurityMismatch(why) => message(fill(
            t.security_mismatch,
            &[("host", host), ("port", &account.port), ("why", why)],
        )),
        Pop3Error::Usage(_) => Failure::Message {
            text: at_host(t.client_mistake),
            detail: Some(err.to_string()),
        },
        Pop3Error::Protocol(_) | Pop3Error::TooLong { .. } => Failure::Message {
            text: at_host(t.unreadable_server),
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
