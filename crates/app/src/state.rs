//! The app's state in one place: data, the `Action`s that change it, and a pure reducer
//! (Yew's todomvc pattern). No browser calls here.

use std::collections::HashMap;
use std::rc::Rc;

use postino_pop3::Secret;
use postino_sync::{Account, Progress, Summary, SyncReport};
use yew::Reducible;

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

/// The server showed a certificate the user may choose to trust for this account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertPrompt {
    pub account_id: String,
    pub host: String,
    pub fingerprint: String,
    pub problem: String,
}

/// An open message, parsed for display.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderView {
    pub id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub date: Option<i64>,
    /// The plain-text body, shown when there is no HTML body.
    pub body: String,
    /// The HTML body as the sender wrote it; shown only through `html_mail::render`.
    pub html: Option<Rc<str>>,
    /// Content-ID (without brackets) to a `data:` URL of that image part.
    pub inline: Rc<HashMap<String, String>>,
    pub attachments: Vec<Attachment>,
    /// The user allowed remote images and styles for this message.
    pub remote_allowed: bool,
    /// The message as stored, for "View source" and for saving attachments.
    pub raw: Rc<[u8]>,
}

/// An attachment of the open message: its position among mail-parser's attachments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub index: u32,
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// What the browser says about the stored mail: kept until the user deletes it, or cleared when
/// space runs low (`navigator.storage`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageStatus {
    /// `None`: not known yet, or the browser cannot tell.
    pub persistent: Option<bool>,
    /// Bytes used by this site and the quota, when the browser says.
    pub usage: Option<(u64, u64)>,
}

/// The service worker's news for the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerNews {
    /// A service worker controls the page: the app starts without the network.
    OfflineReady,
    /// A new version is installed and waits for the user's go-ahead.
    UpdateReady,
}

/// The order of the message list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Newest first.
    #[default]
    Date,
    /// By sender, A to Z, then newest first.
    Sender,
    /// Largest first.
    Size,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Date => "date",
            SortKey::Sender => "sender",
            SortKey::Size => "size",
        }
    }

    pub fn parse(s: &str) -> SortKey {
        match s {
            "sender" => SortKey::Sender,
            "size" => SortKey::Size,
            _ => SortKey::Date,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The store was read at least once.
    pub loaded: bool,
    pub accounts: Vec<Account>,
    /// Passwords for this browser session only, by account id.
    pub passwords: HashMap<String, Secret<String>>,
    /// Newest first.
    pub messages: Vec<Summary>,
    pub reader: Option<ReaderView>,
    pub notice: Notice,
    pub progress: Option<Progress>,
    /// The account being checked.
    pub syncing: Option<String>,
    pub cert_prompt: Option<CertPrompt>,
    /// The account whose password is asked for.
    pub password_prompt: Option<String>,
    pub show_form: bool,
    /// The account the form edits; `None` adds one.
    pub editing: Option<String>,
    /// The browser says there is no network: Check mail waits for it.
    pub offline: bool,
    /// A check was cut by the network going away: it runs again when the network returns.
    pub resume_when_online: bool,
    pub offline_ready: bool,
    pub update_ready: bool,
    pub storage: StorageStatus,
    pub show_settings: bool,
    /// Words to find in the stored mail's sender, subject and snippet.
    pub search: String,
    pub sort: SortKey,
}

pub enum Action {
    Loaded {
        accounts: Vec<Account>,
        messages: Vec<Summary>,
    },
    /// The stored messages, read again.
    MessagesLoaded(Vec<Summary>),
    /// An account was added or changed; `password` is kept for this session.
    AccountSaved {
        account: Account,
        password: Option<Secret<String>>,
    },
    Password {
        account_id: String,
        password: Secret<String>,
    },
    AskPassword(String),
    ShowForm(bool),
    /// Open the form on account `id`.
    EditAccount(String),
    /// Account `id` is gone from the store, with its stored mail if `with_mail`.
    AccountRemoved {
        id: String,
        with_mail: bool,
    },
    SyncStarted(String),
    SyncProgress(Progress),
    SyncFinished {
        account_id: String,
        report: SyncReport,
        messages: Vec<Summary>,
    },
    SyncFailed {
        account_id: String,
        text: String,
        detail: Option<String>,
        /// The server refused the password: forget it so the next check asks again.
        forget_password: bool,
    },
    CertUntrusted(CertPrompt),
    CertDismissed,
    Open(ReaderView),
    CloseReader,
    /// Load remote images and styles in the open message `id`.
    AllowRemote(String),
    /// The user deleted message `id` in Postino.
    Deleted(String),
    Failed(String),
    /// `online` and `offline` events, and the state at start.
    Connectivity {
        online: bool,
    },
    /// The interrupted check was started again.
    Resumed,
    Worker(WorkerNews),
    Storage(StorageStatus),
    ShowSettings(bool),
    Search(String),
    Sort(SortKey),
}

impl State {
    /// The stored messages that match `search` (all of them when it is empty).
    pub fn visible_messages(&self) -> Vec<Summary> {
        let words: Vec<String> = self
            .search
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut out: Vec<Summary> = if words.is_empty() {
            self.messages.clone()
        } else {
            self.messages
                .iter()
                .filter(|m| {
                    let text = format!("{}\n{}\n{}", m.from, m.subject, m.snippet).to_lowercase();
                    words.iter().all(|w| text.contains(w.as_str()))
                })
                .cloned()
                .collect()
        };
        // `messages` is kept newest first; a stable sort keeps that order among equals.
        match self.sort {
            SortKey::Date => {}
            SortKey::Sender => out.sort_by_cached_key(|m| m.from.to_lowercase()),
            SortKey::Size => out.sort_by_key(|m| std::cmp::Reverse(m.size)),
        }
        out
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    fn account_name(&self, id: &str) -> String {
        self.account(id)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
}

/// Newest first; messages without a date last, then by id for a stable order.
pub fn sort_messages(messages: &mut [Summary]) {
    messages.sort_by(|a, b| {
        b.date
            .unwrap_or(i64::MIN)
            .cmp(&a.date.unwrap_or(i64::MIN))
            .then_with(|| a.id.cmp(&b.id))
    });
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Loaded { accounts, messages } => {
                s.loaded = true;
                s.show_form = accounts.is_empty();
                s.accounts = accounts;
                s.messages = messages;
                sort_messages(&mut s.messages);
            }
            Action::MessagesLoaded(mut messages) => {
                sort_messages(&mut messages);
                s.messages = messages;
            }
            Action::AccountSaved { account, password } => {
                if let Some(p) = password {
                    s.passwords.insert(account.id.clone(), p);
                }
                match s.accounts.iter_mut().find(|a| a.id == account.id) {
                    Some(existing) => *existing = account,
                    None => s.accounts.push(account),
                }
                s.show_form = false;
                s.editing = None;
                s.cert_prompt = None;
            }
            Action::EditAccount(id) => {
                s.show_form = true;
                s.editing = Some(id);
            }
            Action::AccountRemoved { id, with_mail } => {
                s.accounts.retain(|a| a.id != id);
                s.passwords.remove(&id);
                if with_mail {
                    s.messages.retain(|m| m.account != id);
                    if s.reader
                        .as_ref()
                        .is_some_and(|v| v.id.starts_with(&format!("{id}/")))
                    {
                        s.reader = None;
                    }
                }
                if s.editing.as_deref() == Some(id.as_str()) {
                    s.editing = None;
                    s.show_form = false;
                }
                s.show_form |= s.accounts.is_empty();
            }
            Action::Password {
                account_id,
                password,
            } => {
                s.passwords.insert(account_id, password);
                s.password_prompt = None;
            }
            Action::AskPassword(id) => s.password_prompt = Some(id),
            Action::ShowForm(show) => {
                s.show_form = show;
                s.editing = None;
            }
            Action::SyncStarted(id) => {
                s.notice = Notice::Busy(format!("Checking mail for {}…", s.account_name(&id)));
                if s.cert_prompt.as_ref().is_some_and(|p| p.account_id == id) {
                    s.cert_prompt = None;
                }
                s.syncing = Some(id);
                s.progress = None;
            }
            Action::SyncProgress(p) => {
                if let Progress::Downloading { done, total, .. } = &p {
                    let name = s.syncing.as_deref().map(|id| s.account_name(id));
                    s.notice = Notice::Busy(format!(
                        "Downloading {done} of {total} new messages for {}…",
                        name.unwrap_or_default()
                    ));
                }
                s.progress = Some(p);
            }
            Action::SyncFinished {
                account_id,
                report,
                mut messages,
            } => {
                sort_messages(&mut messages);
                s.messages = messages;
                s.syncing = None;
                s.progress = None;
                let name = s.account_name(&account_id);
                s.notice = Notice::Info(match report.downloaded {
                    0 => format!("No new mail for {name}."),
                    1 => format!("1 new message for {name}."),
                    n => format!("{n} new messages for {name}."),
                });
            }
            Action::SyncFailed {
                account_id,
                text,
                detail,
                forget_password,
            } => {
                if forget_password {
                    s.passwords.remove(&account_id);
                }
                s.syncing = None;
                s.progress = None;
                s.notice = Notice::Error { text, detail };
            }
            Action::CertUntrusted(prompt) => {
                s.syncing = None;
                s.progress = None;
                s.notice = Notice::Error {
                    text: format!(
                        "Postino did not log in to {} because {}.",
                        prompt.host, prompt.problem
                    ),
                    detail: None,
                };
                s.cert_prompt = Some(prompt);
            }
            Action::CertDismissed => s.cert_prompt = None,
            Action::Open(view) => s.reader = Some(view),
            Action::CloseReader => s.reader = None,
            Action::AllowRemote(id) => {
                if let Some(view) = s.reader.as_mut().filter(|v| v.id == id) {
                    view.remote_allowed = true;
                }
            }
            Action::Deleted(id) => {
                s.messages.retain(|m| m.id != id);
                if s.reader.as_ref().is_some_and(|v| v.id == id) {
                    s.reader = None;
                }
            }
            Action::Failed(text) => s.notice = Notice::Error { text, detail: None },
            Action::Connectivity { online } => {
                if !online && s.syncing.is_some() {
                    s.resume_when_online = true;
                }
                if online && s.offline && !s.resume_when_online && !s.accounts.is_empty() {
                    s.notice = Notice::Info(
                        "You are back online: press Check mail to download new messages.".into(),
                    );
                }
                s.offline = !online;
            }
            Action::Resumed => s.resume_when_online = false,
            Action::Worker(WorkerNews::OfflineReady) => s.offline_ready = true,
            Action::Worker(WorkerNews::UpdateReady) => s.update_ready = true,
            Action::Storage(status) => s.storage = status,
            Action::ShowSettings(show) => s.show_settings = show,
            Action::Search(text) => s.search = text,
            Action::Sort(key) => s.sort = key,
        }
        Rc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn summary(id: &str, date: Option<i64>) -> Summary {
        Summary {
            id: id.into(),
            account: "a".into(),
            uidl: id.into(),
            from: String::new(),
            subject: String::new(),
            date,
            size: 0,
            snippet: String::new(),
            ..Default::default()
        }
    }

    #[wasm_bindgen_test]
    fn messages_sort_newest_first_undated_last() {
        let mut m = vec![
            summary("x", None),
            summary("old", Some(1)),
            summary("new", Some(9)),
        ];
        sort_messages(&mut m);
        let ids: Vec<_> = m.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["new", "old", "x"]);
    }

    #[wasm_bindgen_test]
    fn first_load_without_accounts_shows_the_form() {
        let s = Rc::new(State::default()).reduce(Action::Loaded {
            accounts: vec![],
            messages: vec![],
        });
        assert!(s.show_form && s.loaded);
    }

    #[wasm_bindgen_test]
    fn failure_ends_the_sync_with_an_error() {
        let s = Rc::new(State::default())
            .reduce(Action::SyncStarted("a".into()))
            .reduce(Action::SyncFailed {
                account_id: "a".into(),
                text: "The server refused the password.".into(),
                detail: None,
                forget_password: true,
            });
        assert!(s.syncing.is_none());
        assert!(matches!(&s.notice, Notice::Error { text, .. } if text.contains("password")));
    }

    #[wasm_bindgen_test]
    fn a_check_cut_by_going_offline_resumes_online() {
        let s = Rc::new(State::default())
            .reduce(Action::SyncStarted("a".into()))
            .reduce(Action::Connectivity { online: false });
        assert!(s.offline && s.resume_when_online);
        let s = s
            .reduce(Action::SyncFailed {
                account_id: "a".into(),
                text: "The connection was lost.".into(),
                detail: None,
                forget_password: false,
            })
            .reduce(Action::Connectivity { online: true });
        assert!(!s.offline && s.resume_when_online);
        assert!(!s.reduce(Action::Resumed).resume_when_online);
    }

    #[wasm_bindgen_test]
    fn back_online_without_a_cut_check_offers_one() {
        let s = Rc::new(State::default())
            .reduce(Action::Loaded {
                accounts: vec![serde_json::from_str(
                    r#"{"id":"a","name":"a","relay":"","host":"h","port":995,"security":"tls","user":"u"}"#,
                )
                .unwrap()],
                messages: vec![],
            })
            .reduce(Action::Connectivity { online: false })
            .reduce(Action::Connectivity { online: true });
        assert!(!s.resume_when_online);
        assert!(matches!(&s.notice, Notice::Info(t) if t.contains("Check mail")));
    }

    #[wasm_bindgen_test]
    fn search_matches_every_word_anywhere() {
        let mut a = summary("a", Some(1));
        a.subject = "Quarterly report".into();
        a.from = "Ada <ada@example.org>".into();
        let mut b = summary("b", Some(2));
        b.subject = "Lunch".into();
        let s = Rc::new(State::default())
            .reduce(Action::MessagesLoaded(vec![a, b]))
            .reduce(Action::Search("  REPORT ada ".into()));
        let ids: Vec<_> = s.visible_messages().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["a"]);
        assert_eq!(
            s.reduce(Action::Search(String::new()))
                .visible_messages()
                .len(),
            2
        );
    }

    #[wasm_bindgen_test]
    fn removing_an_account_with_its_mail_drops_its_messages() {
        let mut a = summary("a/1", Some(1));
        a.account = "a".into();
        let mut b = summary("b/1", Some(2));
        b.account = "b".into();
        let s = Rc::new(State::default())
            .reduce(Action::MessagesLoaded(vec![a, b]))
            .reduce(Action::Open(ReaderView {
                id: "a/1".into(),
                ..Default::default()
            }))
            .reduce(Action::AccountRemoved {
                id: "a".into(),
                with_mail: true,
            });
        assert!(s.reader.is_none());
        assert_eq!(s.messages.len(), 1);
        assert!(s.show_form, "no account left: the form opens");
    }

    #[wasm_bindgen_test]
    fn deleting_the_open_message_closes_it_and_remote_content_is_per_message() {
        let s = Rc::new(State::default())
            .reduce(Action::MessagesLoaded(vec![summary("x", None)]))
            .reduce(Action::Open(ReaderView {
                id: "x".into(),
                ..Default::default()
            }))
            .reduce(Action::AllowRemote("other".into()));
        assert!(!s.reader.as_ref().unwrap().remote_allowed);
        let s = s.reduce(Action::AllowRemote("x".into()));
        assert!(s.reader.as_ref().unwrap().remote_allowed);
        let s = s.reduce(Action::Deleted("x".into()));
        assert!(s.reader.is_none() && s.messages.is_empty());
    }

    #[wasm_bindgen_test]
    fn sort_by_sender_and_size() {
        let mut a = summary("a", Some(1));
        (a.from, a.size) = ("zoe@x".into(), 10);
        let mut b = summary("b", Some(2));
        (b.from, b.size) = ("Ada@x".into(), 5);
        let s = Rc::new(State::default()).reduce(Action::MessagesLoaded(vec![a, b]));
        let ids =
            |s: &State| -> Vec<String> { s.visible_messages().into_iter().map(|m| m.id).collect() };
        assert_eq!(ids(&s), ["b", "a"]);
        let s = s.reduce(Action::Sort(SortKey::Sender));
        assert_eq!(ids(&s), ["b", "a"]);
        let s = s.reduce(Action::Sort(SortKey::Size));
        assert_eq!(ids(&s), ["a", "b"]);
    }

    #[wasm_bindgen_test]
    fn a_refused_password_is_forgotten() {
        let s = Rc::new(State::default())
            .reduce(Action::Password {
                account_id: "a".into(),
                password: Secret::new("wrong".into()),
            })
            .reduce(Action::SyncFailed {
                account_id: "a".into(),
                text: String::new(),
                detail: None,
                forget_password: true,
            });
        assert!(s.passwords.is_empty());
    }
}
