//! The app's state: data, the `Action`s that change it, and pure reducers (Yew's todomvc
//! pattern). No browser calls here. Two concerns have a slice of their own, with their own
//! actions and reducer, that [`State`]'s reducer routes to: the list ([`list::MailList`]:
//! summaries, mailbox, search, order) and the reader ([`reading::Reading`]). The rest (accounts,
//! checks and their questions, notices, the page's surroundings) is reduced here.

mod list;
mod reading;

pub use list::{sort_messages, ListAction, MailList};
pub use reading::{ReadAction, Reading};

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use postino_i18n::{fill, t};
use postino_pop3::Secret;
use postino_sync::triage::ServerMessage;
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

/// An open message, parsed for display.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderView {
    pub id: String,
    pub from: String,
    /// The sender's address, lowercase: the key for "always load remote content from".
    pub sender: String,
    /// The receiving server vouched for the sender's domain (DMARC, or aligned DKIM, passed).
    /// Only then does "always load remote content from" this sender apply: an unauthenticated
    /// From: can name anyone the user trusts.
    pub sender_verified: bool,
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
    /// The user allowed remote images and styles for this message, or for its sender.
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

impl StorageStatus {
    /// A warning once less than a tenth of the quota (or 200 MB) is left, so the user can make
    /// room before a download fails.
    pub fn low_space_warning(&self) -> Option<String> {
        let (used, quota) = self.usage?;
        let left = quota.saturating_sub(used);
        (quota > 0 && (left < quota / 10 || left < 200_000_000))
            .then(|| fill(t().low_space, &[("mb", &(left / 1_000_000))]))
    }
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
    /// Before an account's first check: the question how much to download.
    pub first_check: Option<FirstCheckPrompt>,
    pub accounts: Vec<Account>,
    /// Passwords for this browser session only, by account id.
    pub passwords: HashMap<String, Secret<String>>,
    /// The stored messages and what the list shows of them.
    pub list: MailList,
    /// The open message.
    pub reading: Reading,
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
    /// Whether the mail engine (the worker that checks mail) has loaded.
    pub engine: crate::engine::Status,
    /// The server view of one account, when open.
    pub triage: Option<TriageView>,
    /// When each account's last check began this session (Unix seconds).
    pub last_check: HashMap<String, i64>,
    /// The LOGIN-DELAY each server announced at its last check (seconds).
    pub login_delay: HashMap<String, u64>,
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

/// The messages the search index found for `query`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHits {
    pub query: String,
    pub ids: Rc<HashSet<String>>,
}

pub enum Action {
    Loaded {
        accounts: Vec<Account>,
        messages: Vec<Summary>,
    },
    /// What the list shows (its slice, [`list::MailList`]).
    List(ListAction),
    /// The reader (its slice, [`reading::Reading`]).
    Read(ReadAction),
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
    /// A check of `account_id` began at `at` (Unix seconds).
    SyncStarted {
        account_id: String,
        at: i64,
    },
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
    /// A first check found this much on the server: ask how much before downloading.
    FirstCheckAsk(FirstCheckPrompt),
    /// The question was answered.
    FirstCheckAnswered,
    /// The user deleted message `id` in Postino.
    Deleted(String),
    Failed(String),
    /// Something is under way (not a check): an import, an export.
    Busy(String),
    /// A sentence of news.
    Info(String),
    /// `online` and `offline` events, and the state at start.
    Connectivity {
        online: bool,
    },
    /// The interrupted check was started again.
    Resumed,
    Worker(WorkerNews),
    Storage(StorageStatus),
    ShowSettings(bool),
    /// The mail engine loaded, is loading, or did not load.
    Engine(crate::engine::Status),
    /// Open "On the server" for account `id` (its listing follows).
    TriageOpen(String),
    TriageListed(Vec<ServerMessage>),
    TriageBusy(bool),
    TriageClose,
}

impl State {
    /// The account whose automatic check is due at `now` (Unix seconds), if any: it has an
    /// interval, a password in this session, and its last check began at least that long ago,
    /// or not at all this session. Nothing is due while a check runs, offline, or while the user
    /// is asked something.
    pub fn due_for_check(&self, now: i64) -> Option<&Account> {
        if self.syncing.is_some()
            || self.offline
            || self.password_prompt.is_some()
            || self.cert_prompt.is_some()
        {
            return None;
        }
        self.accounts.iter().find(|a| {
            let Some(every) = a
                .policy
                .next_check_after(self.login_delay.get(&a.id).copied())
            else {
                return false;
            };
            self.passwords.contains_key(&a.id)
                && self
                    .last_check
                    .get(&a.id)
                    .is_none_or(|&t| now.saturating_sub(t) >= every as i64)
        })
    }

    /// What the user calls mailbox `id`.
    pub fn mailbox_name(&self, id: &str) -> String {
        if id == postino_sync::import::IMPORTED_ACCOUNT {
            return "imported".into();
        }
        self.account_name(id)
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub fn account_name(&self, id: &str) -> String {
        self.account(id)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
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
                s.list.reduce(ListAction::Messages(messages));
            }
            Action::List(action) => {
                if !s.list.reduce(action) {
                    return self;
                }
            }
            Action::Read(action) => s.reading.reduce(action),
            Action::AccountSaved { account, password } => {
                let rebound = s.accounts.iter().any(|a| {
                    a.id == account.id
                        && postino_engine::vault::binding(a)
                            != postino_engine::vault::binding(&account)
                });
                match password {
                    Some(p) => {
                        s.passwords.insert(account.id.clone(), p);
                    }
                    // The session's password is not sent to another server, relay or user.
                    None if rebound => {
                        s.passwords.remove(&account.id);
                    }
                    None => {}
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
                if s.list.mailbox.as_deref() == Some(id.as_str()) {
                    s.list.reduce(ListAction::Mailbox(None));
                }
                if with_mail {
                    s.reading.reduce(ReadAction::AccountRemoved(id.clone()));
                    s.list.reduce(ListAction::AccountRemoved(id.clone()));
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
            Action::SyncStarted { account_id: id, at } => {
                s.last_check.insert(id.clone(), at);
                s.notice = Notice::Busy(fill(
                    t().checking_mail_for,
                    &[("name", &s.account_name(&id))],
                ));
                if s.cert_prompt.as_ref().is_some_and(|p| p.account_id == id) {
                    s.cert_prompt = None;
                }
                s.syncing = Some(id);
                s.progress = None;
            }
            Action::SyncProgress(p) => {
                if let Progress::Downloading { done, total, .. } = &p {
                    let name = s.syncing.as_deref().map(|id| s.account_name(id));
                    s.notice = Notice::Busy(t().downloading_for.fill(
                        *total as u64,
                        &[("done", done), ("name", &name.unwrap_or_default())],
                    ));
                }
                s.progress = Some(p);
            }
            Action::SyncFinished {
                account_id,
                report,
                messages,
            } => {
                s.list.reduce(ListAction::Messages(messages));
                if let Some(a) = s.accounts.iter_mut().find(|a| a.id == account_id) {
                    if report.auth_used.is_some() {
                        a.auth_learned = report.auth_used;
                    }
                }
                match report.login_delay {
                    Some(delay) => s.login_delay.insert(account_id.clone(), delay),
                    None => s.login_delay.remove(&account_id),
                };
                s.syncing = None;
                s.progress = None;
                let name = s.account_name(&account_id);
                let news = match report.downloaded {
                    0 => fill(t().no_new_mail, &[("name", &name)]),
                    n => t().new_mail.fill(n as u64, &[("name", &name)]),
                };
                let mut text = if report.cancelled {
                    fill(t().stopped, &[("news", &news)])
                } else {
                    news
                };
                // What the user may want to know about this server, once per check.
                if let (Some(used), false) = (report.auth_used, report.auth_refused.is_empty()) {
                    let refused: Vec<String> =
                        report.auth_refused.iter().map(|m| m.to_string()).collect();
                    text.push_str(&fill(
                        t().auth_refused_used,
                        &[("refused", &refused.join(t().and)), ("used", &used)],
                    ));
                }
                if report.ids_from_headers {
                    text.push_str(t().no_uidl);
                }
                s.notice = Notice::Info(text);
            }
            Action::SyncFailed {
                account_id,
                text,
                detail,
                forget_password,
            } => {
                if forget_password {
                    s.passwords.remove(&account_id);
                    // A sign-in with a provider that ended: "Sign in again" at once, beside
                    // the reason.
                    if s.account(&account_id).is_some_and(|a| a.oauth.is_some()) {
                        s.password_prompt = Some(account_id.clone());
                    }
                }
                s.syncing = None;
                s.progress = None;
                s.notice = Notice::Error { text, detail };
            }
            Action::CertUntrusted(prompt) => {
                s.syncing = None;
                s.progress = None;
                s.notice = Notice::Error {
                    text: fill(
                        t().not_logged_in_because,
                        &[("host", &prompt.host), ("problem", &prompt.problem)],
                    ),
                    detail: None,
                };
                // Never a pin for a provider's host (DESIGN.md invariant 9).
                if !postino_engine::presets::is_well_known_host(&prompt.host) {
                    s.cert_prompt = Some(prompt);
                }
            }
            Action::CertDismissed => s.cert_prompt = None,
            Action::FirstCheckAsk(prompt) => {
                s.syncing = None;
                s.progress = None;
                s.notice = Notice::None;
                s.first_check = Some(prompt);
            }
            Action::FirstCheckAnswered => s.first_check = None,
            Action::Deleted(id) => {
                s.reading.reduce(ReadAction::Deleted(id.clone()));
                s.list.reduce(ListAction::Deleted(id));
            }
            Action::Failed(text) => s.notice = Notice::Error { text, detail: None },
            Action::Busy(text) => s.notice = Notice::Busy(text),
            Action::Info(text) => s.notice = Notice::Info(text),
            Action::Connectivity { online } => {
                if !online && s.syncing.is_some() {
                    s.resume_when_online = true;
                }
                if online && s.offline && !s.resume_when_online && !s.accounts.is_empty() {
                    s.notice = Notice::Info(t().back_online.into());
                }
                s.offline = !online;
            }
            Action::Resumed => s.resume_when_online = false,
            Action::Worker(WorkerNews::OfflineReady) => s.offline_ready = true,
            Action::Worker(WorkerNews::UpdateReady) => s.update_ready = true,
            Action::Storage(status) => s.storage = status,
            Action::ShowSettings(show) => s.show_settings = show,
            Action::Engine(status) => s.engine = status,
            Action::TriageOpen(account_id) => {
                s.triage = Some(TriageView {
                    account_id,
                    listing: None,
                    busy: false,
                });
                s.show_settings = false;
            }
            Action::TriageListed(listing) => {
                if let Some(t) = s.triage.as_mut() {
                    t.listing = Some(Rc::new(listing));
                    t.busy = false;
                }
                s.progress = None;
            }
            Action::TriageBusy(busy) => {
                if let Some(t) = s.triage.as_mut() {
                    t.busy = busy;
                }
            }
            Action::TriageClose => s.triage = None,
        }
        Rc::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
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

    #[test]
    fn first_load_without_accounts_shows_the_form() {
        let s = Rc::new(State::default()).reduce(Action::Loaded {
            accounts: vec![],
            messages: vec![],
        });
        assert!(s.show_form && s.loaded);
    }

    #[test]
    fn failure_ends_the_sync_with_an_error() {
        let s = Rc::new(State::default())
            .reduce(Action::SyncStarted {
                account_id: "a".into(),
                at: 0,
            })
            .reduce(Action::SyncFailed {
                account_id: "a".into(),
                text: "The server refused the password.".into(),
                detail: None,
                forget_password: true,
            });
        assert!(s.syncing.is_none());
        assert!(matches!(&s.notice, Notice::Error { text, .. } if text.contains("password")));
    }

    #[test]
    fn a_check_cut_by_going_offline_resumes_online() {
        let s = Rc::new(State::default())
            .reduce(Action::SyncStarted {
                account_id: "a".into(),
                at: 0,
            })
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

    #[test]
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

    fn ids(s: &State) -> Vec<String> {
        s.list.visible().map(|m| m.id.clone()).collect()
    }

    #[test]
    fn the_list_shows_the_index_answer_for_the_current_text_only() {
        let s = Rc::new(State::default())
            .reduce(Action::List(ListAction::Messages(vec![
                summary("a", Some(1)),
                summary("b", Some(2)),
            ])))
            .reduce(Action::List(ListAction::Search("rep".into())));
        assert_eq!(ids(&s), ["b", "a"], "no answer yet: everything");
        let s = s.reduce(Action::List(ListAction::Search("report".into())));
        let stale = s.clone().reduce(Action::List(ListAction::SearchResults {
            query: "rep".into(),
            ids: HashSet::from(["b".to_string()]),
        }));
        assert!(
            stale.list.hits.is_none(),
            "an answer to an older text is dropped"
        );
        let s = s.reduce(Action::List(ListAction::SearchResults {
            query: "report".into(),
            ids: HashSet::from(["a".to_string()]),
        }));
        assert_eq!(ids(&s), ["a"]);
        assert_eq!(
            s.list.shown_search().map(|h| h.query.as_str()),
            Some("report")
        );
        let s = s.reduce(Action::List(ListAction::Search(String::new())));
        assert_eq!(
            ids(&s),
            ["b", "a"],
            "an empty search shows everything again"
        );
        assert!(s.list.shown_search().is_none());
    }

    #[test]
    fn a_mailbox_shows_one_account_and_read_marks_stick() {
        let mut a = summary("a/1", Some(1));
        a.account = "a".into();
        let mut b = summary("b/1", Some(2));
        b.account = "b".into();
        let s = Rc::new(State::default())
            .reduce(Action::List(ListAction::Messages(vec![a, b])))
            .reduce(Action::List(ListAction::Mailbox(Some("a".into()))));
        assert_eq!(ids(&s), ["a/1"]);
        let s = s.reduce(Action::List(ListAction::MarkedRead("a/1".into())));
        assert!(s.list.visible().next().unwrap().read);
        let s = s.reduce(Action::List(ListAction::Mailbox(None)));
        assert_eq!(ids(&s), ["b/1", "a/1"]);
    }

    #[test]
    fn removing_an_account_with_its_mail_drops_its_messages() {
        let mut a = summary("a/1", Some(1));
        a.account = "a".into();
        let mut b = summary("b/1", Some(2));
        b.account = "b".into();
        let s = Rc::new(State::default())
            .reduce(Action::List(ListAction::Messages(vec![a, b])))
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
        assert!(s.show_form, "no account left: the form opens");
    }

    #[test]
    fn deleting_the_open_message_closes_it_and_remote_content_is_per_message() {
        let s = Rc::new(State::default())
            .reduce(Action::List(ListAction::Messages(vec![summary("x", None)])))
            .reduce(Action::Read(ReadAction::Open(ReaderView {
                id: "x".into(),
                ..Default::default()
            })))
            .reduce(Action::Read(ReadAction::AllowRemote("other".into())));
        assert!(!s.reading.open.as_ref().unwrap().remote_allowed);
        let s = s.reduce(Action::Read(ReadAction::AllowRemote("x".into())));
        assert!(s.reading.open.as_ref().unwrap().remote_allowed);
        let s = s.reduce(Action::Deleted("x".into()));
        assert!(s.reading.open.is_none() && s.list.messages.is_empty());
    }

    #[test]
    fn remote_content_from_a_trusted_sender_loads_without_asking() {
        let open = |sender: &str| {
            Action::Read(ReadAction::Open(ReaderView {
                id: sender.into(),
                sender: sender.into(),
                sender_verified: true,
                ..Default::default()
            }))
        };
        let s = Rc::new(State::default()).reduce(open("news@shop.example"));
        assert!(!s.reading.open.as_ref().unwrap().remote_allowed);
        let s = s.reduce(Action::Read(ReadAction::RemoteSenders(HashSet::from([
            "news@shop.example".into(),
        ]))));
        assert!(
            s.reading.open.as_ref().unwrap().remote_allowed,
            "the open message too"
        );
        assert!(
            s.clone()
                .reduce(open("news@shop.example"))
                .reading
                .open
                .as_ref()
                .unwrap()
                .remote_allowed
        );
        assert!(
            !s.reduce(open("other@shop.example"))
                .reading
                .open
                .as_ref()
                .unwrap()
                .remote_allowed
        );
    }

    #[test]
    fn an_unauthenticated_from_does_not_load_a_trusted_senders_remote_content() {
        let forged = Action::Read(ReadAction::Open(ReaderView {
            id: "f".into(),
            sender: "news@shop.example".into(),
            sender_verified: false,
            ..Default::default()
        }));
        let s = Rc::new(State::default())
            .reduce(Action::Read(ReadAction::RemoteSenders(HashSet::from([
                "news@shop.example".into(),
            ]))))
            .reduce(forged);
        assert!(!s.reading.open.as_ref().unwrap().remote_allowed);
        let s = s.reduce(Action::Read(ReadAction::RemoteSenders(HashSet::from([
            "news@shop.example".into(),
        ]))));
        assert!(!s.reading.open.as_ref().unwrap().remote_allowed);
    }

    #[test]
    fn a_session_password_is_not_sent_to_an_edited_server() {
        let account = postino_sync::conformance::sample_account("a");
        let s = Rc::new(State::default())
            .reduce(Action::AccountSaved {
                account: account.clone(),
                password: Some(Secret::new("pw".into())),
            })
            // An edit that keeps the server (the name, say) keeps the password.
            .reduce(Action::AccountSaved {
                account: Account {
                    name: "Work".into(),
                    ..account.clone()
                },
                password: None,
            });
        assert!(s.passwords.contains_key("a"));
        let s = s.reduce(Action::AccountSaved {
            account: Account {
                host: "pop.elsewhere.example".into(),
                ..account.clone()
            },
            password: None,
        });
        assert!(!s.passwords.contains_key("a"), "the host changed");
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
        let s = Rc::new(State::default()).reduce(Action::SyncFinished {
            account_id: "a".into(),
            report,
            messages: vec![],
        });
        let Notice::Info(text) = &s.notice else {
            panic!("{:?}", s.notice);
        };
        assert!(
            text.contains("offers SCRAM-SHA-256 but refused it; Postino logged in with PLAIN"),
            "{text}"
        );
        assert!(text.contains("no UIDL"), "{text}");
    }

    #[test]
    fn no_trust_prompt_for_a_well_known_providers_host() {
        let prompt = |host: &str| {
            Action::CertUntrusted(CertPrompt {
                account_id: "a".into(),
                host: host.into(),
                fingerprint: "AB:CD".into(),
                problem: "the server's certificate is not signed by a known authority".into(),
            })
        };
        let s = Rc::new(State::default()).reduce(prompt("pop.gmail.com"));
        assert!(s.cert_prompt.is_none());
        let s = s.reduce(prompt("mail.example.org"));
        assert!(s.cert_prompt.is_some());
    }

    #[test]
    fn low_storage_is_warned_before_it_runs_out() {
        let status = |used, quota| StorageStatus {
            persistent: None,
            usage: Some((used, quota)),
        };
        assert!(status(1_000_000_000, 10_000_000_000)
            .low_space_warning()
            .is_none());
        assert!(status(9_500_000_000, 10_000_000_000)
            .low_space_warning()
            .unwrap()
            .contains("500 MB left"));
        assert!(
            status(100, 150_000_000).low_space_warning().is_some(),
            "a small quota"
        );
        assert!(StorageStatus::default().low_space_warning().is_none());
    }

    #[test]
    fn sort_by_sender_and_size() {
        let mut a = summary("a", Some(1));
        (a.from, a.size) = ("zoe@x".into(), 10);
        let mut b = summary("b", Some(2));
        (b.from, b.size) = ("Ada@x".into(), 5);
        let s = Rc::new(State::default()).reduce(Action::List(ListAction::Messages(vec![a, b])));
        assert_eq!(ids(&s), ["b", "a"]);
        let s = s.reduce(Action::List(ListAction::Sort(SortKey::Sender)));
        assert_eq!(ids(&s), ["b", "a"]);
        let s = s.reduce(Action::List(ListAction::Sort(SortKey::Size)));
        assert_eq!(ids(&s), ["a", "b"]);
    }

    #[test]
    fn automatic_checks_follow_the_interval_and_login_delay() {
        let mut account: Account = serde_json::from_str(
            r#"{"id":"a","name":"a","relay":"","host":"h","port":995,"security":"tls","user":"u"}"#,
        )
        .unwrap();
        let s = Rc::new(State::default()).reduce(Action::Loaded {
            accounts: vec![account.clone()],
            messages: vec![],
        });
        assert!(s.due_for_check(0).is_none(), "no interval: never automatic");
        account.policy.poll_minutes = Some(10);
        let s = s
            .reduce(Action::AccountSaved {
                account,
                password: None,
            })
            .reduce(Action::Connectivity { online: true });
        assert!(
            s.due_for_check(0).is_none(),
            "no password this session: not asked by a timer"
        );
        let s = s.reduce(Action::Password {
            account_id: "a".into(),
            password: Secret::new("p".into()),
        });
        assert_eq!(
            s.due_for_check(1000).map(|a| a.id.as_str()),
            Some("a"),
            "not checked yet"
        );
        let s = s.reduce(Action::SyncStarted {
            account_id: "a".into(),
            at: 1000,
        });
        assert!(s.due_for_check(5000).is_none(), "a check is running");
        let s = s.reduce(Action::SyncFinished {
            account_id: "a".into(),
            report: SyncReport {
                login_delay: Some(900),
                ..Default::default()
            },
            messages: vec![],
        });
        assert!(
            s.due_for_check(1000 + 600).is_none(),
            "LOGIN-DELAY 900 s outlasts 10 minutes"
        );
        assert!(s.due_for_check(1000 + 900).is_some());
        assert!(s
            .reduce(Action::Connectivity { online: false })
            .due_for_check(9999)
            .is_none());
    }

    #[test]
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
