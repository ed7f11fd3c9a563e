//! The accounts' slice of the state: the stored accounts, their passwords for this browser
//! session, the question for a missing one, and the account form (shown, and on which
//! account). Its own actions and reducer; [`super::State`] routes to it, and calls it beside
//! the other slices for an account saved, loaded or removed, and for a check's end.

use std::collections::HashMap;

use postino_pop3::auth::AuthMethod;
use postino_pop3::Secret;
use postino_sync::Account;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounts {
    /// The store was read at least once: until then the form is not offered.
    pub loaded: bool,
    /// In the order the store lists them.
    pub all: Vec<Account>,
    /// Passwords (or a provider's tokens) for this browser session only, by account id.
    /// `Secret`: the state's `Debug` never shows one.
    pub passwords: HashMap<String, Secret<String>>,
    /// The account whose password is asked for.
    pub password_prompt: Option<String>,
    pub show_form: bool,
    /// The account the form edits; `None` adds one.
    pub editing: Option<String>,
}

pub enum AccountAction {
    /// The stored accounts, read at start (through `Action::Loaded`): none opens the form.
    Loaded(Vec<Account>),
    /// An account was added or changed (through `Action::AccountSaved`); `password` is kept for
    /// this session.
    Saved {
        account: Box<Account>,
        password: Option<Secret<String>>,
    },
    /// Account `id` is gone from the store (through `Action::AccountRemoved`).
    Removed(String),
    Password {
        account_id: String,
        password: Secret<String>,
    },
    AskPassword(String),
    ShowForm(bool),
    /// Open the form on account `id`.
    Edit(String),
    /// A check of `account_id` ended, logged in with `auth_used` if the report says (through
    /// `Action::SyncFinished`): the next login tries that first.
    Checked {
        account_id: String,
        auth_used: Option<AuthMethod>,
    },
    /// The server refused the password or sign-in of `account_id` (through `Action::SyncFailed`).
    PasswordRefused(String),
}

impl Accounts {
    pub fn reduce(&mut self, action: AccountAction) {
        match action {
            AccountAction::Loaded(accounts) => {
                self.loaded = true;
                self.show_form = accounts.is_empty();
                self.all = accounts;
            }
            AccountAction::Saved { account, password } => {
                let rebound = self.all.iter().any(|a| {
                    a.id == account.id
                        && postino_engine::vault::binding(a)
                            != postino_engine::vault::binding(&account)
                });
                match password {
                    Some(p) => {
                        self.passwords.insert(account.id.clone(), p);
                    }
                    // The session's password is not sent to another server, relay or user.
                    None if rebound => {
                        self.passwords.remove(&account.id);
                    }
                    None => {}
                }
                match self.all.iter_mut().find(|a| a.id == account.id) {
                    Some(existing) => *existing = *account,
                    None => self.all.push(*account),
                }
                self.show_form = false;
                self.editing = None;
            }
            AccountAction::Removed(id) => {
                self.all.retain(|a| a.id != id);
                self.passwords.remove(&id);
                if self.editing.as_deref() == Some(id.as_str()) {
                    self.editing = None;
                    self.show_form = false;
                }
                self.show_form |= self.all.is_empty();
            }
            AccountAction::Password {
                account_id,
                password,
            } => {
                self.passwords.insert(account_id, password);
                self.password_prompt = None;
            }
            AccountAction::AskPassword(id) => self.password_prompt = Some(id),
            AccountAction::ShowForm(show) => {
                self.show_form = show;
                self.editing = None;
            }
            AccountAction::Edit(id) => {
                self.show_form = true;
                self.editing = Some(id);
            }
            AccountAction::Checked {
                account_id,
                auth_used,
            } => {
                if let Some(a) = self.all.iter_mut().find(|a| a.id == account_id) {
                    if auth_used.is_some() {
                        a.auth_learned = auth_used;
                    }
                }
            }
            AccountAction::PasswordRefused(id) => {
                self.passwords.remove(&id);
                // A sign-in with a provider that ended: "Sign in again" at once, beside the
                // reason.
                if self.get(&id).is_some_and(|a| a.oauth.is_some()) {
                    self.password_prompt = Some(id);
                }
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Account> {
        self.all.iter().find(|a| a.id == id)
    }

    /// What the user calls account `id` (its id when there is no such account).
    pub fn name(&self, id: &str) -> String {
        self.get(id)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// What the user calls mailbox `id`: an account's, or the imported mail's.
    pub fn mailbox_name(&self, id: &str) -> String {
        if id == postino_sync::import::IMPORTED_ACCOUNT {
            return "imported".into();
        }
        self.name(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postino_pop3::Mechanism;
    use postino_sync::conformance::sample_account;
    use postino_sync::OAuthClient;

    fn saved(account: Account, password: Option<&str>) -> AccountAction {
        AccountAction::Saved {
            account: Box::new(account),
            password: password.map(|p| Secret::new(p.into())),
        }
    }

    #[test]
    fn first_load_without_accounts_shows_the_form() {
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Loaded(vec![]));
        assert!(accounts.show_form && accounts.loaded);
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Loaded(vec![sample_account("a")]));
        assert!(!accounts.show_form && accounts.loaded);
        assert_eq!(accounts.name("a"), sample_account("a").name);
        assert_eq!(accounts.name("gone"), "gone");
    }

    #[test]
    fn saving_adds_or_replaces_and_closes_the_form() {
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Edit("a".into()));
        assert!(accounts.show_form);
        assert_eq!(accounts.editing.as_deref(), Some("a"));
        accounts.reduce(saved(sample_account("a"), Some("pw")));
        accounts.reduce(saved(
            Account {
                name: "Work".into(),
                ..sample_account("a")
            },
            None,
        ));
        accounts.reduce(saved(sample_account("b"), None));
        let names: Vec<_> = accounts.all.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["Work", sample_account("b").name.as_str()]);
        assert!(!accounts.show_form && accounts.editing.is_none());
        assert!(accounts.passwords.contains_key("a") && !accounts.passwords.contains_key("b"));
    }

    #[test]
    fn a_session_password_is_not_sent_to_an_edited_server() {
        let account = sample_account("a");
        let mut accounts = Accounts::default();
        accounts.reduce(saved(account.clone(), Some("pw")));
        // An edit that keeps the server (the name, say) keeps the password.
        accounts.reduce(saved(
            Account {
                name: "Work".into(),
                ..account.clone()
            },
            None,
        ));
        assert!(accounts.passwords.contains_key("a"));
        accounts.reduce(saved(
            Account {
                host: "pop.elsewhere.example".into(),
                ..account.clone()
            },
            None,
        ));
        assert!(!accounts.passwords.contains_key("a"), "the host changed");
    }

    #[test]
    fn a_password_given_answers_the_question() {
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::AskPassword("a".into()));
        assert_eq!(accounts.password_prompt.as_deref(), Some("a"));
        accounts.reduce(AccountAction::Password {
            account_id: "a".into(),
            password: Secret::new("pw".into()),
        });
        assert!(accounts.password_prompt.is_none());
        assert_eq!(
            accounts.passwords.get("a").map(|p| p.expose().as_str()),
            Some("pw")
        );
        assert!(
            !format!("{accounts:?}").contains("pw"),
            "Debug shows no password"
        );
    }

    #[test]
    fn removing_the_edited_account_closes_the_form_and_forgets_its_password() {
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Loaded(vec![
            sample_account("a"),
            sample_account("b"),
        ]));
        accounts.reduce(AccountAction::Password {
            account_id: "a".into(),
            password: Secret::new("pw".into()),
        });
        accounts.reduce(AccountAction::Edit("a".into()));
        accounts.reduce(AccountAction::Removed("a".into()));
        assert!(!accounts.show_form && accounts.editing.is_none());
        assert!(accounts.passwords.is_empty());
        assert!(accounts.get("a").is_none() && accounts.get("b").is_some());
        accounts.reduce(AccountAction::Removed("b".into()));
        assert!(accounts.show_form, "no account left: the form opens");
    }

    #[test]
    fn a_refused_sign_in_asks_again_and_a_refused_password_waits() {
        let mut signs_in = sample_account("o");
        signs_in.oauth = Some(OAuthClient {
            provider: "google".into(),
            label: "Google".into(),
            authorize_url: "https://accounts.example/authorize".into(),
            token_url: None,
            client_id: "c".into(),
            scopes: vec![],
        });
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Loaded(vec![sample_account("a"), signs_in]));
        for id in ["a", "o"] {
            accounts.reduce(AccountAction::Password {
                account_id: id.into(),
                password: Secret::new("pw".into()),
            });
        }
        accounts.reduce(AccountAction::PasswordRefused("a".into()));
        assert!(!accounts.passwords.contains_key("a"));
        assert!(
            accounts.password_prompt.is_none(),
            "asked at the next check"
        );
        accounts.reduce(AccountAction::PasswordRefused("o".into()));
        assert!(accounts.passwords.is_empty());
        assert_eq!(accounts.password_prompt.as_deref(), Some("o"));
    }

    #[test]
    fn a_check_teaches_the_login_that_worked() {
        let plain = AuthMethod::Sasl(Mechanism::Plain);
        let mut accounts = Accounts::default();
        accounts.reduce(AccountAction::Loaded(vec![sample_account("a")]));
        accounts.reduce(AccountAction::Checked {
            account_id: "a".into(),
            auth_used: Some(plain),
        });
        assert_eq!(accounts.get("a").unwrap().auth_learned, Some(plain));
        accounts.reduce(AccountAction::Checked {
            account_id: "a".into(),
            auth_used: None,
        });
        assert_eq!(
            accounts.get("a").unwrap().auth_learned,
            Some(plain),
            "a report without it keeps what was learned"
        );
    }
}
