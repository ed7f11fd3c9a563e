//! The check's slice of the state: the check under way and its progress, the questions a check
//! puts (trust a certificate, how much a first check downloads), when each account was last
//! checked and how long its server asks to wait, the network (a check waits for it, and runs
//! again when it returns), "On the server" (its listing and choices report on the same line),
//! and the notice under the toolbar, which also tells of imports, exports and other failures.
//! Its own actions and reducer; [`super::State`] routes to it, and calls it beside the accounts'
//! and the list's slices when a check ends.

use std::collections::HashMap;
use std::rc::Rc;

use postino_i18n::{fill, t};
use postino_sync::triage::ServerMessage;
use postino_sync::{Progress, SyncReport};

use super::Accounts;

/// The sentence under the toolbar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Notice {
    #[default]
    None,
    Info(String),
    Busy(String),
    /// What happened and what to do, plus the server's or relay's own words if any.
    Error {
        text: String,
        detail: Option<String>,
    },
}

/// An account's first check asks how much to download (crates/sync `first_check`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstCheckPrompt {
    pub account_id: String,
    pub survey: postino_sync::first_check::FirstCheck,
}

/// The server showed a certificate the user may choose to trust for this account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPrompt {
    pub account_id: String,
    pub host: String,
    pub fingerprint: String,
    pub problem: String,
}

/// "On the server" for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriageView {
    pub account_id: String,
    /// `None` until the server answered.
    pub listing: Option<Rc<Vec<ServerMessage>>>,
    /// Choices are being carried out.
    pub busy: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checking {
    /// The account being checked.
    pub syncing: Option<String>,
    pub progress: Option<Progress>,
    pub notice: Notice,
    pub cert_prompt: Option<CertPrompt>,
    /// Before an account's first check: the question how much to download.
    pub first_check: Option<FirstCheckPrompt>,
    /// The server view of one account, when open.
    pub triage: Option<TriageView>,
    /// When each account's last check began this session (Unix seconds).
    pub last_check: HashMap<String, i64>,
    /// The LOGIN-DELAY each server announced at its last check (seconds).
    pub login_delay: HashMap<String, u64>,
    /// The browser says there is no network: Check mail waits for it.
    pub offline: bool,
    /// A check was cut by the network going away: it runs again when the network returns.
    pub resume_when_online: bool,
}

pub enum CheckAction {
    /// A check of `account_id` began at `at` (Unix seconds).
    Started {
        account_id: String,
        at: i64,
    },
    Progress(Progress),
    /// The check of `account_id` ended with `report` (through `Action::SyncFinished`).
    Finished {
        account_id: String,
        report: SyncReport,
    },
    /// The check failed (through `Action::SyncFailed`).
    Failed {
        text: String,
        detail: Option<String>,
    },
    CertUntrusted(CertPrompt),
    CertDismissed,
    /// A first check found this much on the server: ask how much before downloading.
    FirstCheckAsk(FirstCheckPrompt),
    /// The question was answered.
    FirstCheckAnswered,
    /// `online` and `offline` events, and the state at start.
    Connectivity {
        online: bool,
    },
    /// The interrupted check was started again.
    Resumed,
    /// Open "On the server" for account `id` (through `Action::TriageOpen`; its listing
    /// follows).
    TriageOpen(String),
    TriageListed(Vec<ServerMessage>),
    TriageBusy(bool),
    TriageClose,
    /// Something other than a check failed: a search, an import, a save.
    Error(String),
    /// Something is under way (not a check): an import, an export.
    Busy(String),
    /// A sentence of news.
    Info(String),
}

impl Checking {
    /// Applies `action`; `accounts` name the accounts in the notice.
    pub fn reduce(&mut self, action: CheckAction, accounts: &Accounts) {
        match action {
            CheckAction::Started { account_id: id, at } => {
                self.last_check.insert(id.clone(), at);
                self.notice = Notice::Busy(fill(
                    t().checking_mail_for,
                    &[("name", &accounts.name(&id))],
                ));
                if self
                    .cert_prompt
                    .as_ref()
                    .is_some_and(|p| p.account_id == id)
                {
                    self.cert_prompt = None;
                }
                self.syncing = Some(id);
                self.progress = None;
            }
            CheckAction::Progress(p) => {
                if let Progress::Downloading { done, total, .. } = &p {
                    let name = self.syncing.as_deref().map(|id| accounts.name(id));
                    self.notice = Notice::Busy(t().downloading_for.fill(
                        *total as u64,
                        &[("done", done), ("name", &name.unwrap_or_default())],
                    ));
                }
                self.progress = Some(p);
            }
            CheckAction::Finished { account_id, report } => {
                match report.login_delay {
                    Some(delay) => self.login_delay.insert(account_id.clone(), delay),
                    None => self.login_delay.remove(&account_id),
                };
                self.syncing = None;
                self.progress = None;
                self.notice = Notice::Info(finished_sentence(&accounts.name(&account_id), &report));
            }
            CheckAction::Failed { text, detail } => {
                self.syncing = None;
                self.progress = None;
                self.notice = Notice::Error { text, detail };
            }
            CheckAction::CertUntrusted(prompt) => {
                self.syncing = None;
                self.progress = None;
                self.notice = Notice::Error {
                    text: fill(
                        t().not_logged_in_because,
                        &[("host", &prompt.host), ("problem", &prompt.problem)],
                    ),
                    detail: None,
                };
                // Never a pin for a provider's host (DESIGN.md invariant 9).
                if !postino_engine::presets::is_well_known_host(&prompt.host) {
                    self.cert_prompt = Some(prompt);
                }
            }
            CheckAction::CertDismissed => self.cert_prompt = None,
            CheckAction::FirstCheckAsk(prompt) => {
                self.syncing = None;
                self.progress = None;
                self.notice = Notice::None;
                self.first_check = Some(prompt);
            }
            CheckAction::FirstCheckAnswered => self.first_check = None,
            CheckAction::Connectivity { online } => {
                if !online && self.syncing.is_some() {
                    self.resume_when_online = true;
                }
                if online && self.offline && !self.resume_when_online && !accounts.all.is_empty() {
                    self.notice = Notice::Info(t().back_online.into());
                }
                self.offline = !online;
            }
            CheckAction::Resumed => self.resume_when_online = false,
            CheckAction::TriageOpen(account_id) => {
                self.triage = Some(TriageView {
                    account_id,
                    listing: None,
                    busy: false,
                });
            }
            CheckAction::TriageListed(listing) => {
                if let Some(t) = self.triage.as_mut() {
                    t.listing = Some(Rc::new(listing));
                    t.busy = false;
                }
                self.progress = None;
            }
            CheckAction::TriageBusy(busy) => {
                if let Some(t) = self.triage.as_mut() {
                    t.busy = busy;
                }
            }
            CheckAction::TriageClose => self.triage = None,
            CheckAction::Error(text) => self.notice = Notice::Error { text, detail: None },
            CheckAction::Busy(text) => self.notice = Notice::Busy(text),
            CheckAction::Info(text) => self.notice = Notice::Info(text),
        }
    }
}

/// "3 new messages for Work", and what the user may want to know about this server, once per
/// check.
fn finished_sentence(name: &str, report: &SyncReport) -> String {
    let news = match report.downloaded {
        0 => fill(t().no_new_mail, &[("name", &name)]),
        n => t().new_mail.fill(n as u64, &[("name", &name)]),
    };
    let mut text = if report.cancelled {
        fill(t().stopped, &[("news", &news)])
    } else {
        news
    };
    if let (Some(used), false) = (report.auth_used, report.auth_refused.is_empty()) {
        let refused: Vec<String> = report.auth_refused.iter().map(|m| m.to_string()).collect();
        text.push_str(&fill(
            t().auth_refused_used,
            &[("refused", &refused.join(t().and)), ("used", &used)],
        ));
    }
    if report.ids_from_headers {
        text.push_str(t().no_uidl);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::AccountAction;
    use postino_sync::conformance::sample_account;

    fn with_account(id: &str) -> Accounts {
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Loaded(vec![sample_account(id)]));
        accounts
    }

    fn started(id: &str, at: i64) -> CheckAction {
        CheckAction::Started {
            account_id: id.into(),
            at,
        }
    }

    fn failed(text: &str) -> CheckAction {
        CheckAction::Failed {
            text: text.into(),
            detail: None,
        }
    }

    #[test]
    fn a_check_says_whose_mail_it_checks_and_downloads() {
        let accounts = with_account("a");
        let mut checking = Checking::default();
        checking.reduce(started("a", 7), &accounts);
        assert_eq!(checking.syncing.as_deref(), Some("a"));
        assert_eq!(checking.last_check.get("a"), Some(&7));
        assert!(
            matches!(&checking.notice, Notice::Busy(t) if t.contains("user@a.example")),
            "{:?}",
            checking.notice
        );
        let downloading = Progress::Downloading {
            done: 2,
            total: 5,
            bytes_done: 10,
            bytes_total: 50,
        };
        checking.reduce(CheckAction::Progress(downloading.clone()), &accounts);
        assert_eq!(checking.progress, Some(downloading));
        let Notice::Busy(text) = &checking.notice else {
            panic!("{:?}", checking.notice);
        };
        assert!(
            text.contains("2 of 5 new messages for user@a.example"),
            "{text}"
        );
        checking.reduce(
            CheckAction::Finished {
                account_id: "a".into(),
                report: SyncReport {
                    downloaded: 5,
                    ..Default::default()
                },
            },
            &accounts,
        );
        assert!(checking.syncing.is_none() && checking.progress.is_none());
        assert!(
            matches!(&checking.notice, Notice::Info(t) if t.contains("user@a.example")),
            "{:?}",
            checking.notice
        );
    }

    #[test]
    fn failure_ends_the_check_with_an_error() {
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        checking.reduce(started("a", 0), &accounts);
        checking.reduce(failed("The server refused the password."), &accounts);
        assert!(checking.syncing.is_none());
        assert!(
            matches!(&checking.notice, Notice::Error { text, .. } if text.contains("password"))
        );
    }

    #[test]
    fn a_check_says_which_login_the_server_refused_and_when_it_lacks_uidl() {
        use postino_pop3::auth::AuthMethod;
        use postino_pop3::Mechanism;
        let report = SyncReport {
            downloaded: 2,
            auth_used: Some(AuthMethod::Sasl(Mechanism::Plain)),
            auth_refused: vec![AuthMethod::Sasl(Mechanism::ScramSha256)],
            ids_from_headers: true,
            ..Default::default()
        };
        let mut checking = Checking::default();
        checking.reduce(
            CheckAction::Finished {
                account_id: "a".into(),
                report,
            },
            &Accounts::default(),
        );
        let Notice::Info(text) = &checking.notice else {
            panic!("{:?}", checking.notice);
        };
        assert!(
            text.contains("offers SCRAM-SHA-256 but refused it; Postino logged in with PLAIN"),
            "{text}"
        );
        assert!(text.contains("no UIDL"), "{text}");
    }

    #[test]
    fn the_servers_login_delay_is_kept_until_a_check_without_one() {
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        let finished = |login_delay| CheckAction::Finished {
            account_id: "a".into(),
            report: SyncReport {
                login_delay,
                ..Default::default()
            },
        };
        checking.reduce(finished(Some(900)), &accounts);
        assert_eq!(checking.login_delay.get("a"), Some(&900));
        checking.reduce(finished(None), &accounts);
        assert!(checking.login_delay.is_empty());
    }

    #[test]
    fn no_trust_prompt_for_a_well_known_providers_host() {
        let prompt = |host: &str| {
            CheckAction::CertUntrusted(CertPrompt {
                account_id: "a".into(),
                host: host.into(),
                fingerprint: "AB:CD".into(),
                problem: "the server's certificate is not signed by a known authority".into(),
            })
        };
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        checking.reduce(prompt("pop.gmail.com"), &accounts);
        assert!(checking.cert_prompt.is_none());
        checking.reduce(prompt("mail.example.org"), &accounts);
        assert!(checking.cert_prompt.is_some());
        let Notice::Error { text, .. } = &checking.notice else {
            panic!("{:?}", checking.notice);
        };
        assert!(text.contains("mail.example.org"), "{text}");
        // A new check of another account leaves the question; of this one, closes it.
        checking.reduce(started("b", 0), &accounts);
        assert!(checking.cert_prompt.is_some());
        checking.reduce(started("a", 0), &accounts);
        assert!(checking.cert_prompt.is_none());
        checking.reduce(prompt("mail.example.org"), &accounts);
        checking.reduce(CheckAction::CertDismissed, &accounts);
        assert!(checking.cert_prompt.is_none());
    }

    #[test]
    fn a_first_check_asks_before_it_downloads() {
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        checking.reduce(started("a", 0), &accounts);
        checking.reduce(
            CheckAction::FirstCheckAsk(FirstCheckPrompt {
                account_id: "a".into(),
                survey: postino_sync::first_check::FirstCheck {
                    messages: vec![],
                    days: 30,
                    suggested: postino_sync::first_check::Scope::Everything,
                },
            }),
            &accounts,
        );
        assert!(checking.syncing.is_none() && checking.first_check.is_some());
        assert_eq!(checking.notice, Notice::None);
        checking.reduce(CheckAction::FirstCheckAnswered, &accounts);
        assert!(checking.first_check.is_none());
    }

    #[test]
    fn a_check_cut_by_going_offline_resumes_online() {
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        checking.reduce(started("a", 0), &accounts);
        checking.reduce(CheckAction::Connectivity { online: false }, &accounts);
        assert!(checking.offline && checking.resume_when_online);
        checking.reduce(failed("The connection was lost."), &accounts);
        checking.reduce(CheckAction::Connectivity { online: true }, &accounts);
        assert!(!checking.offline && checking.resume_when_online);
        checking.reduce(CheckAction::Resumed, &accounts);
        assert!(!checking.resume_when_online);
    }

    #[test]
    fn back_online_without_a_cut_check_offers_one() {
        let mut checking = Checking::default();
        checking.reduce(
            CheckAction::Connectivity { online: false },
            &Accounts::default(),
        );
        checking.reduce(
            CheckAction::Connectivity { online: true },
            &Accounts::default(),
        );
        assert_eq!(checking.notice, Notice::None, "no account to check");
        let accounts = with_account("a");
        checking.reduce(CheckAction::Connectivity { online: false }, &accounts);
        checking.reduce(CheckAction::Connectivity { online: true }, &accounts);
        assert!(!checking.resume_when_online);
        assert!(matches!(&checking.notice, Notice::Info(t) if t.contains("Check mail")));
    }

    #[test]
    fn the_server_view_lists_then_carries_out_choices() {
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        checking.reduce(CheckAction::TriageOpen("a".into()), &accounts);
        assert_eq!(
            checking.triage,
            Some(TriageView {
                account_id: "a".into(),
                listing: None,
                busy: false,
            })
        );
        checking.reduce(CheckAction::TriageBusy(true), &accounts);
        checking.reduce(
            CheckAction::Progress(Progress::Downloading {
                done: 1,
                total: 2,
                bytes_done: 1,
                bytes_total: 2,
            }),
            &accounts,
        );
        checking.reduce(CheckAction::TriageListed(vec![]), &accounts);
        let triage = checking.triage.as_ref().unwrap();
        assert!(!triage.busy && triage.listing.as_ref().is_some_and(|l| l.is_empty()));
        assert!(checking.progress.is_none(), "the bar goes with the listing");
        checking.reduce(CheckAction::TriageClose, &accounts);
        assert!(checking.triage.is_none());
    }

    #[test]
    fn news_and_failures_elsewhere_take_the_notice() {
        let accounts = Accounts::default();
        let mut checking = Checking::default();
        checking.reduce(CheckAction::Busy("Importing".into()), &accounts);
        assert_eq!(checking.notice, Notice::Busy("Importing".into()));
        checking.reduce(CheckAction::Info("Imported".into()), &accounts);
        assert_eq!(checking.notice, Notice::Info("Imported".into()));
        checking.reduce(CheckAction::Error("Nope".into()), &accounts);
        assert_eq!(
            checking.notice,
            Notice::Error {
                text: "Nope".into(),
                detail: None
            }
        );
        assert!(checking.syncing.is_none());
    }
}
