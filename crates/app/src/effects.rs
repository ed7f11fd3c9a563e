//! The page's effects, apart from the view: start-up, checks through the engine, saving
//! accounts, deleting stored mail; and the one place that turns a failure into an action.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use postino_engine::explain::Failure;
use postino_engine::idb::IdbStore;
use postino_engine::vault;
use postino_i18n::{fill, t};
use postino_pop3::Secret;
use postino_sync::store::StoreError;
use postino_sync::{Account, LedgerEntry, Progress, Store, Summary};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::engine;
use crate::state::{AccountAction, Action, CertPrompt, CheckAction, ListAction, PageAction, State};
use crate::{connectivity, persistence};

pub use postino_engine::worker::DATABASE;

pub type Dispatcher = UseReducerDispatcher<State>;
pub type StoreCell = Rc<RefCell<Option<Rc<IdbStore>>>>;

pub fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// What the app was opened for: `?action=check` or `?action=search` (the manifest's shortcuts).
pub fn launch_action() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("action="))
        .map(str::to_string)
}

/// Asks the browser to keep the stored mail, once, when mail starts arriving.
pub fn ask_persistence(d: Dispatcher, force: bool) {
    spawn_local(async move {
        if let Some(status) = persistence::ask(force).await {
            d.dispatch(Action::Page(PageAction::Storage(status)));
        }
    });
}

/// Check every account, one after the other; ask for a missing password first.
/// With one account's mailbox shown, only that account is checked.
pub fn check_all(store: Rc<IdbStore>, state: &State, d: Dispatcher) {
    let shown = |a: &&Account| state.list.mailbox.as_ref().is_none_or(|m| *m == a.id);
    let accounts: Vec<&Account> = match state.accounts.all.iter().filter(shown).count() {
        0 => state.accounts.all.iter().collect(),
        _ => state.accounts.all.iter().filter(shown).collect(),
    };
    if let Some(missing) = accounts
        .iter()
        .find(|a| !state.accounts.passwords.contains_key(&a.id))
    {
        d.dispatch(Action::Account(AccountAction::AskPassword(
            missing.id.clone(),
        )));
        return;
    }
    let jobs: Vec<(Account, Secret<String>)> = accounts
        .iter()
        .filter_map(|a| {
            state
                .accounts
                .passwords
                .get(&a.id)
                .map(|p| ((*a).clone(), p.clone()))
        })
        .collect();
    spawn_local(async move {
        // Stop at the first failure, so that its message stays on screen.
        for (account, password) in jobs {
            if !run_check(store.clone(), account, password, d.clone()).await {
                break;
            }
        }
    });
}

/// For an account that signs in with a provider: its tokens (`secret`), refreshed first when
/// the access token is about to expire, or whatever its expiry with `force` (the server refused
/// it); a new token is kept in the vault and for the session. Other accounts: `secret` as it is.
pub async fn fresh_secret(
    store: &IdbStore,
    account: &Account,
    secret: Secret<String>,
    force: bool,
    d: &Dispatcher,
) -> Result<Secret<String>, Failure> {
    let Some(client) = &account.oauth else {
        return Ok(secret);
    };
    let sign_in_again = |why: String| Failure::TokenRefused {
        text: fill(
            t().sign_in_again_to_check,
            &[
                ("why", &why),
                ("label", &client.label),
                ("name", &account.name),
            ],
        ),
        detail: None,
        refresh: false,
    };
    match engine::fresh(account, &secret, force).await {
        Ok(None) => Ok(secret),
        Ok(Some(renewed)) => {
            if let Err(e) = vault::remember(store, account, &renewed).await {
                d.dispatch(Action::Check(CheckAction::Error(fill(
                    t().keep_renewed_failed,
                    &[("e", &e)],
                ))));
            }
            d.dispatch(Action::Account(AccountAction::Password {
                account_id: account.id.clone(),
                password: renewed.clone(),
            }));
            Ok(renewed)
        }
        Err(postino_engine::oauth::OAuthError::NoTokens) => Err(sign_in_again(fill(
            t().no_sign_in_held,
            &[("name", &account.name)],
        ))),
        Err(postino_engine::oauth::OAuthError::SignInAgain(why)) => Err(sign_in_again(why)),
        Err(postino_engine::oauth::OAuthError::Failed(why)) => Err(Failure::Message {
            text: fill(t().nothing_downloaded_retry, &[("why", &why)]),
            detail: None,
        }),
    }
}

/// A first check finding more messages than this asks how much to download; a handful is no
/// flood, and is downloaded without asking.
pub const FIRST_CHECK_ASK_ABOVE: usize = 25;

thread_local! {
    /// Accounts whose first check was surveyed in this page (asked, or found small): a check
    /// that follows downloads. A reload before the answer asks again (the ledger is still empty).
    static SURVEYED: RefCell<std::collections::HashSet<String>> = RefCell::default();
}

/// Before the first check of `account` (an empty ledger): what waits on the server; when it is
/// more than [`FIRST_CHECK_ASK_ABOVE`] messages, the question is put (`Ok(true)`: the check
/// waits for the answer).
async fn ask_first(
    store: &IdbStore,
    account: &Account,
    secret: &Secret<String>,
    d: &Dispatcher,
) -> Result<bool, Failure> {
    if SURVEYED.with(|s| s.borrow().contains(&account.id)) {
        return Ok(false);
    }
    let first = store
        .ledger(&account.id)
        .await
        .is_ok_and(|ledger| ledger.is_empty());
    if !first {
        return Ok(false);
    }
    let progress_d = d.clone();
    let progress = move |p: Progress| progress_d.dispatch(Action::Check(CheckAction::Progress(p)));
    let survey = engine::survey(account, secret, progress).await?;
    SURVEYED.with(|s| s.borrow_mut().insert(account.id.clone()));
    if survey.messages.len() <= FIRST_CHECK_ASK_ABOVE {
        return Ok(false);
    }
    d.dispatch(Action::Check(CheckAction::FirstCheckAsk(
        crate::state::FirstCheckPrompt {
            account_id: account.id.clone(),
            survey,
        },
    )));
    Ok(true)
}

/// The answer to the first check's question: what it leaves out is recorded as skipped, then
/// the check runs.
pub async fn answer_first(
    store: Rc<IdbStore>,
    account: Account,
    password: Secret<String>,
    survey: postino_sync::first_check::FirstCheck,
    scope: postino_sync::first_check::Scope,
    d: Dispatcher,
) {
    d.dispatch(Action::Check(CheckAction::FirstCheckAnswered));
    if let Err(e) = engine::leave_out(&account.id, survey, scope).await {
        d.dispatch(Action::Check(CheckAction::Error(format!(
            "{e}; nothing was downloaded."
        ))));
        return;
    }
    run_check(store, account, password, d).await;
}

/// Check one account (in the engine) and report to the state. Returns whether it succeeded.
/// An account that signs in with a provider has its token refreshed ahead of expiry, and once
/// more when the server refuses it.
pub async fn run_check(
    store: Rc<IdbStore>,
    account: Account,
    password: Secret<String>,
    d: Dispatcher,
) -> bool {
    d.dispatch(Action::Check(CheckAction::Started {
        account_id: account.id.clone(),
        at: postino_engine::check::now_unix(),
    }));
    let progress_d = d.clone();
    let progress = move |p: Progress| {
        if matches!(p, Progress::Downloading { .. }) {
            ask_persistence(progress_d.clone(), false);
        }
        progress_d.dispatch(Action::Check(CheckAction::Progress(p)))
    };
    let progress = Rc::new(RefCell::new(progress));
    // Whether another tab checked this account while this check waited for it.
    let waited = Rc::new(Cell::new(false));
    let check = |secret: Secret<String>| {
        let (account, d, progress) = (account.clone(), d.clone(), progress.clone());
        let waited = waited.clone();
        async move {
            let mut tell = waiting(&d, &account);
            engine::check(
                &account,
                &secret,
                move |p| (progress.borrow_mut())(p),
                move |w| {
                    waited.set(waited.get() || w);
                    tell(w)
                },
            )
            .await
        }
    };
    let secret = fresh_secret(&store, &account, password, false, &d).await;
    // The first check of an account with more than a handful of messages asks how much.
    let secret = match secret {
        Ok(secret) => match ask_first(&store, &account, &secret, &d).await {
            Ok(true) => return false,
            Ok(false) => Ok(secret),
            Err(failure) => Err(failure),
        },
        Err(failure) => Err(failure),
    };
    let outcome = match secret {
        Err(failure) => Err(failure),
        Ok(secret) => match check(secret.clone()).await {
            // Refused though not expired by the clock (revoked, or the clock is off): one
            // refresh and one more try.
            Err(Failure::TokenRefused { refresh: true, .. }) => {
                match fresh_secret(&store, &account, secret, true, &d).await {
                    Ok(secret) => check(secret).await,
                    Err(failure) => Err(failure),
                }
            }
            other => other,
        },
    };
    // The engine indexes new mail right after the check (a failed check may have stored some);
    // a check that found nothing new costs no index pass.
    if !matches!(&outcome, Ok(report) if report.downloaded == 0) {
        mark_index_pending("?");
    }
    // The list got each message as the engine stored it (`ListAction::Stored`). It is read
    // again only where that may not be all: after a failure (the engine may have stopped
    // between a commit and its news), or when another tab checked this account meanwhile.
    // Reading 10,000 summaries again was the page's longest task at a download's end.
    let reload = outcome.is_err() || waited.get();
    let messages = match reload {
        false => None,
        true => match store.summaries().await {
            Ok(m) => Some(m),
            Err(e) => {
                d.dispatch(Action::Check(CheckAction::Error(fill(
                    t().storage_read_failed,
                    &[("e", &e)],
                ))));
                None
            }
        },
    };
    // The stored mail grew: the settings show the new usage.
    d.dispatch(Action::Page(PageAction::Storage(
        persistence::status().await,
    )));
    let ok = outcome.is_ok();
    match outcome {
        Ok(report) => d.dispatch(Action::SyncFinished {
            account_id: account.id.clone(),
            report,
            messages,
        }),
        Err(failure) => {
            if let Some(messages) = messages {
                d.dispatch(Action::List(ListAction::Messages(messages)));
            }
            // A remembered password or sign-in the server refuses is no use: ask next time.
            let refused = matches!(
                failure,
                Failure::BadPassword { .. } | Failure::TokenRefused { .. }
            );
            if refused && account.remember_password {
                let _ = vault::forget(&store, &account.id).await;
            }
            d.dispatch(failure_action(&account, failure, During::Check));
        }
    }
    ok
}

/// What the page shows while another tab checks the same account: this one waits for it.
pub fn waiting(d: &Dispatcher, account: &Account) -> impl FnMut(bool) + 'static {
    let d = d.clone();
    let name = account.name.clone();
    move |waiting: bool| {
        d.dispatch(Action::Check(CheckAction::Busy(if waiting {
            fill(t().other_tab_checking, &[("name", &name)])
        } else {
            fill(t().checking_mail_for, &[("name", &name)])
        })))
    }
}

/// Deletes a stored message: its bytes and summary go, its ledger entry stays marked
/// deleted locally so it is never downloaded again (and so "delete on the server when deleted
/// in Postino" can act on it at the next check).
pub async fn delete_stored(store: &IdbStore, summary: &Summary) -> Result<(), StoreError> {
    let entry = store
        .ledger(&summary.account)
        .await?
        .into_iter()
        .find(|e| e.message_id == summary.id);
    let entry = match entry {
        Some(e) => e.into_deleted_locally(),
        None => LedgerEntry::deleted_locally(
            &summary.account,
            &summary.uidl,
            summary.size,
            postino_engine::check::now_unix(),
        ),
    };
    store.delete_message(&entry).await
}

/// Save the account, then check it with `password`, or ask for one.
/// `previous` is the account as it was before this save, if it existed.
pub async fn save_and_check(
    store: Rc<IdbStore>,
    account: Account,
    previous: Option<Account>,
    password: Option<Secret<String>>,
    d: Dispatcher,
) {
    // Pointed at another server, relay or user: the old password is not sent there.
    let rebound = previous
        .as_ref()
        .is_some_and(|p| vault::binding(p) != vault::binding(&account));
    if let Err(e) = store.put_account(&account).await {
        d.dispatch(Action::Check(CheckAction::Error(fill(
            t().account_save_failed,
            &[("e", &e)],
        ))));
        return;
    }
    let vaulted = match (&password, account.remember_password) {
        (Some(p), true) => vault::remember(&store, &account, p).await,
        (None, true) if rebound => vault::forget(&store, &account.id).await,
        (None, true) => Ok(()),
        (_, false) => vault::forget(&store, &account.id).await,
    };
    if let Err(e) = vaulted {
        d.dispatch(Action::Check(CheckAction::Error(fill(
            t().password_keep_failed,
            &[("e", &e)],
        ))));
    }
    d.dispatch(Action::AccountSaved {
        account: account.clone(),
        password: password.clone(),
    });
    match password {
        Some(p) => {
            run_check(store, account, p, d).await;
        }
        None => d.dispatch(Action::Account(AccountAction::AskPassword(
            account.id.clone(),
        ))),
    }
}

/// Messages read first at start, newest first: a screenful and some to scroll.
const FIRST_SCREEN: usize = 100;

/// Open the store, list what it holds, and set up the relay's demo mailbox if it has one.
pub async fn start(cell: StoreCell, d: Dispatcher) {
    let store = match IdbStore::open(DATABASE).await {
        Ok(s) => Rc::new(s),
        Err(e) => {
            d.dispatch(Action::Check(CheckAction::Error(fill(
                t().storage_open_failed,
                &[("e", &e)],
            ))));
            return;
        }
    };
    *cell.borrow_mut() = Some(store.clone());
    let accounts = store.accounts().await;
    // The newest screenful first, then every message: with 100,000 stored the first rows show
    // in a fraction of the time the whole list takes to read.
    let first_screen = store.newest_summaries(FIRST_SCREEN).await;
    let messages = match first_screen {
        Ok(m) if m.len() == FIRST_SCREEN => Ok(m),
        _ => store.summaries().await,
    };
    let partial = matches!(&messages, Ok(m) if m.len() == FIRST_SCREEN);
    match (accounts, messages) {
        (Ok(accounts), Ok(messages)) => {
            let remembered: Vec<Account> = accounts
                .iter()
                .filter(|a| a.remember_password)
                .cloned()
                .collect();
            // The "Check mail" shortcut asks for a password the browser does not remember.
            let first = accounts
                .iter()
                .find(|a| !a.remember_password)
                .map(|a| a.id.clone());
            d.dispatch(Action::Loaded { accounts, messages });
            // After this render: the rows first, then the engine (crates/app/src/engine.rs)
            // and the date formatters the list has not made yet.
            after_render(|| {
                engine::load();
                crate::message_view::warm_date_formats();
            });
            for account in remembered {
                match vault::recall(&store, &account).await {
                    Ok(Some(password)) => d.dispatch(Action::Account(AccountAction::Password {
                        account_id: account.id,
                        password,
                    })),
                    Ok(None) => {}
                    Err(e) => d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().password_read_failed,
                        &[("e", &e)],
                    )))),
                }
            }
            if let (Some(id), Some("check")) = (first, launch_action().as_deref()) {
                if connectivity::is_online() {
                    d.dispatch(Action::Account(AccountAction::AskPassword(id)));
                }
            }
            if partial {
                match store.summaries().await {
                    Ok(all) => d.dispatch(Action::List(ListAction::Messages(all))),
                    Err(e) => d.dispatch(Action::Check(CheckAction::Error(fill(
                        t().storage_read_failed,
                        &[("e", &e)],
                    )))),
                }
            }
            d.dispatch(Action::Page(PageAction::Storage(
                persistence::status().await,
            )));
            request_indexing();
        }
        (Err(e), _) | (_, Err(e)) => {
            d.dispatch(Action::Check(CheckAction::Error(fill(
                t().storage_read_failed,
                &[("e", &e)],
            ))));
            return;
        }
    }
    if let Some((account, password)) = crate::demo::fetch(&page_origin()).await {
        if let Err(e) = store.put_account(&account).await {
            d.dispatch(Action::Check(CheckAction::Error(fill(
                t().demo_save_failed,
                &[("e", &e)],
            ))));
            return;
        }
        d.dispatch(Action::AccountSaved {
            account: account.clone(),
            password: Some(password.clone()),
        });
        run_check(store, account, password, d).await;
    }
}

/// `<html data-index-pending>`: messages not yet searchable, for tests and benchmarks.
/// Runs `f` once the next frame is painted (a task after the animation frame), or at once
/// without a window.
pub fn after_render(f: impl FnOnce() + 'static) {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return f();
    };
    let later = window.clone();
    let frame = wasm_bindgen::closure::Closure::once_into_js(move || {
        let task = wasm_bindgen::closure::Closure::once_into_js(f);
        let _ = later.set_timeout_with_callback(task.unchecked_ref());
    });
    let _ = window.request_animation_frame(frame.unchecked_ref());
}

pub fn mark_index_pending(count: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|doc| doc.document_element())
    {
        let _ = root.set_attribute("data-index-pending", count);
    }
}

/// Asks the engine to index what the search index lacks; `<html data-index-pending>` says "?"
/// until the engine reports (a test waiting for "0" waits for this run).
pub fn request_indexing() {
    mark_index_pending("?");
    engine::index();
}

/// What the user was doing when a [`Failure`] came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum During {
    /// Checking mail: an untrusted certificate asks whether to trust it.
    Check,
    /// Testing the connection: nothing was saved, and the password is not forgotten.
    Test,
    /// Anything else (the server listing, triage): the certificate is reviewed by checking.
    Other,
}

/// The one place that turns a failure into the action that shows it.
pub fn failure_action(account: &Account, failure: Failure, during: During) -> Action {
    let failed = |text, detail, forget_password| Action::SyncFailed {
        account_id: account.id.clone(),
        text,
        detail,
        forget_password,
    };
    match (failure, during) {
        (
            Failure::Untrusted {
                fingerprint,
                problem,
            },
            During::Check,
        ) => Action::Check(CheckAction::CertUntrusted(CertPrompt {
            account_id: account.id.clone(),
            host: account.host.clone(),
            fingerprint,
            problem,
        })),
        (
            Failure::Untrusted {
                fingerprint,
                problem,
            },
            During::Test,
        ) => Action::Check(CheckAction::Error(fill(
            t().test_untrusted,
            &[
                ("host", &account.host),
                ("problem", &problem),
                ("fingerprint", &fingerprint),
            ],
        ))),
        (Failure::Untrusted { problem, .. }, During::Other) => {
            Action::Check(CheckAction::Error(fill(
                t().review_certificate,
                &[("host", &account.host), ("problem", &problem)],
            )))
        }
        (Failure::Message { text, detail }, _) => failed(text, detail, false),
        (Failure::BadPassword { text, detail }, During::Test) => failed(text, detail, false),
        (Failure::BadPassword { text, detail }, _) => failed(text, detail, true),
        (Failure::TokenRefused { text, detail, .. }, During::Test) => failed(text, detail, false),
        (Failure::TokenRefused { text, detail, .. }, _) => failed(text, detail, true),
    }
}

/// "Imported 12 messages; 3 were already here."
pub fn import_sentence(done: &postino_engine::protocol::Imported) -> String {
    let r = &done.report;
    let t = t();
    let mut text = t.imported.fill(r.imported as u64, &[]);
    if r.already_there > 0 {
        text.push_str(&t.already_here.fill(r.already_there as u64, &[]));
    }
    if !done.unreadable.is_empty() {
        text.push_str(&t.unreadable.fill(
            done.unreadable.len() as u64,
            &[("why", &done.unreadable.join("; "))],
        ));
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_becomes_the_action_for_what_the_user_was_doing() {
        let account = postino_sync::conformance::sample_account("a");
        let untrusted = || Failure::Untrusted {
            fingerprint: "AB:CD".into(),
            problem: "its certificate is self-signed".into(),
        };
        assert!(matches!(
            failure_action(&account, untrusted(), During::Check),
            Action::Check(CheckAction::CertUntrusted(p)) if p.fingerprint == "AB:CD"
        ));
        assert!(matches!(
            failure_action(&account, untrusted(), During::Test),
            Action::Check(CheckAction::Error(text)) if text.contains("AB:CD") && text.contains("self-signed")
        ));
        assert!(matches!(
            failure_action(&account, untrusted(), During::Other),
            Action::Check(CheckAction::Error(text)) if text.contains("Check mail once")
        ));
        let refused = || Failure::BadPassword {
            text: "The server refused the password.".into(),
            detail: Some("-ERR [AUTH] nope".into()),
        };
        // A test of the connection does not make the app forget a password it keeps.
        for (during, forget) in [
            (During::Check, true),
            (During::Other, true),
            (During::Test, false),
        ] {
            assert!(matches!(
                failure_action(&account, refused(), during),
                Action::SyncFailed { forget_password, detail: Some(_), .. } if forget_password == forget
            ));
        }
    }
}
