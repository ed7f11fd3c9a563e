//! The app's state: data, the `Action`s that change it, and pure reducers (Yew's todomvc
//! pattern). No browser calls here. Each concern is a slice with its own data, actions and
//! reducer:
//!
//! - [`Accounts`] (`accounts.rs`): the accounts, their passwords for this session, the password
//!   question and the account form;
//! - [`MailList`] (`list.rs`): the stored summaries and what the list shows of them (mailbox,
//!   search, order);
//! - [`Reading`] (`reading.rs`): the open message and whose remote content loads;
//! - [`Checking`] (`check.rs`): the check under way, its progress and questions, the network it
//!   waits for, "On the server", and the notice under the toolbar;
//! - [`Page`] (`page.rs`): the browser's news around the page (storage, service worker), the
//!   engine, the settings shown.
//!
//! [`State`] holds the slices and nothing else. Its reducer only routes: `Action::Account(..)`,
//! `List(..)`, `Read(..)`, `Check(..)` and `Page(..)` go to one slice each; the few actions that
//! change more than one (the store read at start, an account saved or removed, a check's end, a
//! message deleted, "On the server" opened) are the other variants of [`Action`], each handled
//! in one place by calling the slices concerned. [`State::due_for_check`] reads across slices.

mod accounts;
mod check;
mod list;
mod page;
mod reading;

pub use accounts::{AccountAction, Accounts};
pub use check::{CertPrompt, CheckAction, Checking, FirstCheckPrompt, Notice, TriageView};
pub use list::{sort_messages, ListAction, MailList, SearchHits, SortKey};
pub use page::{Page, PageAction, StorageStatus, WorkerNews};
pub use reading::{Attachment, ReadAction, ReaderView, Reading};

use std::rc::Rc;

use postino_pop3::Secret;
use postino_sync::{Account, Summary, SyncReport};
use yew::Reducible;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The accounts, their session passwords, the account form.
    pub accounts: Accounts,
    /// The stored messages and what the list shows of them.
    pub list: MailList,
    /// The open message.
    pub reading: Reading,
    /// The check, its questions, the network, the notice.
    pub checking: Checking,
    /// The page's surroundings: storage, service worker, engine, settings.
    pub page: Page,
}

pub enum Action {
    /// The accounts ([`Accounts`]).
    Account(AccountAction),
    /// What the list shows ([`MailList`]).
    List(ListAction),
    /// The reader ([`Reading`]).
    Read(ReadAction),
    /// The check and the notice ([`Checking`]).
    Check(CheckAction),
    /// The page's surroundings ([`Page`]).
    Page(PageAction),
    /// The store was read at start: its accounts and messages.
    Loaded {
        accounts: Vec<Account>,
        messages: Vec<Summary>,
    },
    /// An account was added or changed; `password` is kept for this session. A certificate
    /// question closes (trusting one saves the account).
    AccountSaved {
        account: Account,
        password: Option<Secret<String>>,
    },
    /// Account `id` is gone from the store, with its stored mail if `with_mail`.
    AccountRemoved { id: String, with_mail: bool },
    /// A check ended: the report, and the stored messages read again.
    SyncFinished {
        account_id: String,
        report: SyncReport,
        /// The stored messages read again, when the list may lack some of what was stored.
        messages: Option<Vec<Summary>>,
    },
    /// A check failed: what happened, and the server's or relay's own words if any.
    SyncFailed {
        account_id: String,
        text: String,
        detail: Option<String>,
        /// The server refused the password: forget it so the next check asks again.
        forget_password: bool,
    },
    /// Open "On the server" for account `id` (its listing follows) in place of the settings.
    TriageOpen(String),
    /// The user deleted message `id` in Postino.
    Deleted(String),
}

impl State {
    /// The account whose automatic check is due at `now` (Unix seconds), if any: it has an
    /// interval, a password in this session, and its last check began at least that long ago,
    /// or not at all this session. Nothing is due while a check runs, offline, or while the user
    /// is asked something.
    pub fn due_for_check(&self, now: i64) -> Option<&Account> {
        let (accounts, checking) = (&self.accounts, &self.checking);
        if checking.syncing.is_some()
            || checking.offline
            || accounts.password_prompt.is_some()
            || checking.cert_prompt.is_some()
        {
            return None;
        }
        accounts.all.iter().find(|a| {
            let Some(every) = a
                .policy
                .next_check_after(checking.login_delay.get(&a.id).copied())
            else {
                return false;
            };
            accounts.passwords.contains_key(&a.id)
                && checking
                    .last_check
                    .get(&a.id)
                    .is_none_or(|&t| now.saturating_sub(t) >= every as i64)
        })
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Account(action) => s.accounts.reduce(action),
            Action::List(action) => {
                if !s.list.reduce(action) {
                    return self;
                }
            }
            Action::Read(action) => s.reading.reduce(action),
            Action::Check(action) => s.checking.reduce(action, &s.accounts),
            Action::Page(action) => s.page.reduce(action),
            Action::Loaded { accounts, messages } => {
                s.accounts.reduce(AccountAction::Loaded(accounts));
                s.list.reduce(ListAction::Messages(messages));
            }
            Action::AccountSaved { account, password } => {
                s.accounts.reduce(AccountAction::Saved {
                    account: Box::new(account),
                    password,
                });
                s.checking.reduce(CheckAction::CertDismissed, &s.accounts);
            }
            Action::AccountRemoved { id, with_mail } => {
                s.accounts.reduce(AccountAction::Removed(id.clone()));
                if s.list.mailbox.as_deref() == Some(id.as_str()) {
                    s.list.reduce(ListAction::Mailbox(None));
                }
                if with_mail {
                    s.reading.reduce(ReadAction::AccountRemoved(id.clone()));
                    s.list.reduce(ListAction::AccountRemoved(id));
                }
            }
            Action::SyncFinished {
                account_id,
                report,
                messages,
            } => {
                if let Some(messages) = messages {
                    s.list.reduce(ListAction::Messages(messages));
                }
                s.accounts.reduce(AccountAction::Checked {
                    account_id: account_id.clone(),
                    auth_used: report.auth_used,
                });
                s.checking
                    .reduce(CheckAction::Finished { account_id, report }, &s.accounts);
            }
            Action::SyncFailed {
                account_id,
                text,
                detail,
                forget_password,
            } => {
                if forget_password {
                    s.accounts
                        .reduce(AccountAction::PasswordRefused(account_id));
                }
                s.checking
                    .reduce(CheckAction::Failed { text, detail }, &s.accounts);
            }
            Action::TriageOpen(account_id) => {
                s.checking
                    .reduce(CheckAction::TriageOpen(account_id), &s.accounts);
                s.page.reduce(PageAction::ShowSettings(false));
            }
            Action::Deleted(id) => {
                s.reading.reduce(ReadAction::Deleted(id.clone()));
                s.list.reduce(ListAction::Deleted(id));
            }
        }
        Rc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postino_sync::conformance::sample_account;

    fn summary(id: &str, account: &str) -> Summary {
        Summary {
            id: id.into(),
            account: account.into(),
            ..Default::default()
        }
    }

    fn loaded(accounts: Vec<Account>, messages: Vec<Summary>) -> Rc<State> {
        Rc::new(State::default()).reduce(Action::Loaded { accounts, messages })
    }

    fn password(id: &str, password: &str) -> Action {
        Action::Account(AccountAction::Password {
            account_id: id.into(),
            password: Secret::new(password.into()),
        })
    }

    #[test]
    fn loading_fills_the_accounts_and_the_list() {
        let s = loaded(vec![], vec![]);
        assert!(s.accounts.show_form && s.accounts.loaded);
        let s = loaded(vec![sample_account("a")], vec![summary("a/1", "a")]);
        assert!(!s.accounts.show_form && s.accounts.loaded);
        assert_eq!(s.list.visible().count(), 1);
    }

    #[test]
    fn a_slices_action_changes_that_slice_only() {
        let s = loaded(vec![sample_account("a")], vec![summary("a/1", "a")]);
        let after = s
            .clone()
            .reduce(Action::Page(PageAction::ShowSettings(true)));
        assert!(after.page.show_settings);
        assert_eq!(
            State {
                page: s.page.clone(),
                ..(*after).clone()
            },
            *s
        );
        // A search answer for another text changes nothing: the same state, not a copy.
        let stale = s.clone().reduce(Action::List(ListAction::SearchResults {
            query: "old".into(),
            ids: Default::default(),
        }));
        assert!(Rc::ptr_eq(&s, &stale));
    }

    #[test]
    fn failure_ends_the_sync_with_an_error() {
        let s = Rc::new(State::default())
            .reduce(Action::Check(CheckAction::Started {
                account_id: "a".into(),
                at: 0,
            }))
            .reduce(Action::SyncFailed {
                account_id: "a".into(),
                text: "The server refused the password.".into(),
                detail: None,
                forget_password: true,
            });
        assert!(s.checking.syncing.is_none());
        assert!(
            matches!(&s.checking.notice, Notice::Error { text, .. } if text.contains("password"))
        );
    }

    #[test]
    fn a_refused_password_is_forgotten() {
        let s = Rc::new(State::default())
            .reduce(password("a", "wrong"))
            .reduce(Action::SyncFailed {
                account_id: "a".into(),
                text: String::new(),
                detail: None,
                forget_password: true,
            });
        assert!(s.accounts.passwords.is_empty());
        let s = s.reduce(password("a", "right")).reduce(Action::SyncFailed {
            account_id: "a".into(),
            text: "The connection was lost.".into(),
            detail: None,
            forget_password: false,
        });
        assert!(s.accounts.passwords.contains_key("a"), "not a refusal");
    }

    #[test]
    fn a_finished_check_reaches_the_list_the_account_and_the_notice() {
        use postino_pop3::auth::AuthMethod;
        use postino_pop3::Mechanism;
        let plain = AuthMethod::Sasl(Mechanism::Plain);
        let s = loaded(vec![sample_account("a")], vec![])
            .reduce(Action::Check(CheckAction::Started {
                account_id: "a".into(),
                at: 0,
            }))
            .reduce(Action::SyncFinished {
                account_id: "a".into(),
                report: SyncReport {
                    downloaded: 1,
                    auth_used: Some(plain),
                    ..Default::default()
                },
                messages: Some(vec![summary("a/1", "a")]),
            });
        assert_eq!(s.list.visible().count(), 1);
        assert_eq!(s.accounts.get("a").unwrap().auth_learned, Some(plain));
        assert!(s.checking.syncing.is_none());
        assert!(matches!(&s.checking.notice, Notice::Info(t) if t.contains("user@a.example")));
    }

    #[test]
    fn saving_an_account_closes_the_certificate_question() {
        let s = Rc::new(State::default())
            .reduce(Action::Check(CheckAction::CertUntrusted(CertPrompt {
                account_id: "a".into(),
                host: "mail.example.org".into(),
                fingerprint: "AB:CD".into(),
                problem: "self-signed".into(),
            })))
            .reduce(Action::Account(AccountAction::Edit("a".into())));
        assert!(s.checking.cert_prompt.is_some() && s.accounts.show_form);
        let s = s.reduce(Action::AccountSaved {
            account: sample_account("a"),
            password: Some(Secret::new("pw".into())),
        });
        assert!(s.checking.cert_prompt.is_none());
        assert!(!s.accounts.show_form && s.accounts.passwords.contains_key("a"));
        assert!(
            !format!("{s:?}").contains("\"pw\""),
            "the state's Debug shows no password"
        );
    }

    #[test]
    fn removing_an_account_with_its_mail_drops_its_messages() {
        let s = loaded(
            vec![sample_account("a")],
            vec![summary("a/1", "a"), summary("b/1", "b")],
        )
        .reduce(Action::List(ListAction::Mailbox(Some("a".into()))))
        .reduce(Action::Read(ReadAction::Open(ReaderView {
            id: "a/1".into(),
            ..Default::default()
        })))
        .reduce(Action::AccountRemoved {
            id: "a".into(),
            with_mail: true,
        });
        assert!(s.reading.open.is_none());
        assert_eq!(s.list.messages.len(), 1);
        assert_eq!(s.list.mailbox, None);
        assert!(s.accounts.show_form, "no account left: the form opens");
    }

    #[test]
    fn removing_an_account_without_its_mail_keeps_it_shown_in_all_accounts() {
        let s = loaded(
            vec![sample_account("a"), sample_account("b")],
            vec![summary("a/1", "a"), summary("b/1", "b")],
        )
        .reduce(Action::List(ListAction::Mailbox(Some("a".into()))))
        .reduce(Action::Read(ReadAction::Open(ReaderView {
            id: "a/1".into(),
            ..Default::default()
        })))
        .reduce(Action::AccountRemoved {
            id: "a".into(),
            with_mail: false,
        });
        assert!(s.reading.open.is_some());
        assert_eq!(s.list.mailbox, None);
        assert_eq!(s.list.visible().count(), 2);
        assert!(s.accounts.get("a").is_none() && !s.accounts.show_form);
    }

    #[test]
    fn deleting_the_open_message_closes_it() {
        let s = Rc::new(State::default())
            .reduce(Action::List(ListAction::Messages(vec![summary("x", "a")])))
            .reduce(Action::Read(ReadAction::Open(ReaderView {
                id: "x".into(),
                ..Default::default()
            })))
            .reduce(Action::Deleted("x".into()));
        assert!(s.reading.open.is_none() && s.list.messages.is_empty());
    }

    #[test]
    fn opening_the_server_view_closes_the_settings() {
        let s = Rc::new(State::default())
            .reduce(Action::Page(PageAction::ShowSettings(true)))
            .reduce(Action::TriageOpen("a".into()));
        assert!(!s.page.show_settings);
        assert_eq!(
            s.checking.triage.as_ref().map(|t| t.account_id.as_str()),
            Some("a")
        );
    }

    #[test]
    fn automatic_checks_follow_the_interval_and_login_delay() {
        let mut account: Account = serde_json::from_str(
            r#"{"id":"a","name":"a","relay":"","host":"h","port":995,"security":"tls","user":"u"}"#,
        )
        .unwrap();
        let s = loaded(vec![account.clone()], vec![]);
        assert!(s.due_for_check(0).is_none(), "no interval: never automatic");
        account.policy.poll_minutes = Some(10);
        let s = s
            .reduce(Action::AccountSaved {
                account,
                password: None,
            })
            .reduce(Action::Check(CheckAction::Connectivity { online: true }));
        assert!(
            s.due_for_check(0).is_none(),
            "no password this session: not asked by a timer"
        );
        let s = s.reduce(password("a", "p"));
        assert_eq!(
            s.due_for_check(1000).map(|a| a.id.as_str()),
            Some("a"),
            "not checked yet"
        );
        assert!(
            s.clone()
                .reduce(Action::Account(AccountAction::AskPassword("b".into())))
                .due_for_check(1000)
                .is_none(),
            "not while the user is asked"
        );
        let s = s.reduce(Action::Check(CheckAction::Started {
            account_id: "a".into(),
            at: 1000,
        }));
        assert!(s.due_for_check(5000).is_none(), "a check is running");
        let s = s.reduce(Action::SyncFinished {
            account_id: "a".into(),
            report: SyncReport {
                login_delay: Some(900),
                ..Default::default()
            },
            messages: None,
        });
        assert!(
            s.due_for_check(1000 + 600).is_none(),
            "LOGIN-DELAY 900 s outlasts 10 minutes"
        );
        assert!(s.due_for_check(1000 + 900).is_some());
        assert!(s
            .reduce(Action::Check(CheckAction::Connectivity { online: false }))
            .due_for_check(9999)
            .is_none());
    }
}
