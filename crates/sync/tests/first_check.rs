//! The first check asks how much, against a real Dovecot: 30 messages dated one to 88 days
//! ago (oldest first, as mail arrives), "the last 30 days" found with a few header blocks read
//! from the newest end, the rest recorded as skipped, and the check that follows downloads
//! exactly the recent ten. "From now on" downloads nothing and skips all.

mod support;

use postino_sync::first_check::{record_left_out, survey, survey_session, Scope};
use postino_sync::{
    sync_account, sync_account_carrying, EntryState, MemoryStore, Policy, Security, Store,
    SyncOptions,
};
use postino_testkit::{Dovecot, DovecotOptions};
use support::{account, RecordingProxy, Tcp, PASSWORD};

const NOW: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

/// `n` messages, message `i` dated `(n - 1 - i) * step + 1` days before NOW (oldest first).
fn dated_mail(n: i64, step: i64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let days_ago = (n - 1 - i) * step + 1;
            let date = httpdate(NOW - days_ago * DAY);
            format!(
                "From: a@example.org\r\nTo: alice@example.org\r\nSubject: day -{days_ago}\r\n\
                 Date: {date}\r\nMessage-ID: <m{i}@example.org>\r\n\r\nbody {i}\r\n"
            )
            .into_bytes()
        })
        .collect()
}

/// RFC 5322 date of a Unix time (UTC).
fn httpdate(t: i64) -> String {
    let days = t.div_euclid(DAY);
    let secs = t.rem_euclid(DAY);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{d} {} {y} {:02}:{:02}:{:02} +0000",
        months[(m - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

async fn setup(mail: Vec<Vec<u8>>) -> (Dovecot, RecordingProxy, postino_sync::Account) {
    let d = Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: PASSWORD.into(),
        fixtures: mail,
    })
    .expect("dovecot starts");
    let proxy = RecordingProxy::start(d.pop3_port()).await;
    let mut acc = account(&d, Policy::default());
    acc.security = Security::None;
    acc.port = proxy.port;
    (d, proxy, acc)
}

#[tokio::test]
async fn the_last_30_days_downloads_exactly_those_and_skips_the_rest() {
    // Dated 88, 85, ... 1 days ago: the last ten within 30 days.
    let (_d, proxy, acc) = setup(dated_mail(30, 3)).await;
    let store = MemoryStore::default();
    let found = survey(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        NOW,
        30,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(found.messages.len(), 30);
    assert_eq!(
        found.suggested,
        Scope::Everything,
        "a small mailbox: everything"
    );
    let recent = Scope::Recent { days: 30 };
    assert_eq!(found.count(recent).0, 10);
    // Nothing downloaded whole, nothing deleted, and only header blocks read.
    let sent = proxy.client_bytes_when_closed().await;
    assert!(!sent.contains("RETR ") && !sent.contains("DELE "), "{sent}");
    assert!(sent.contains("TOP 30 0"), "the newest end first: {sent}");

    assert_eq!(
        record_left_out(&store, &acc.id, &found, recent, NOW)
            .await
            .unwrap(),
        20
    );
    let report = sync_account(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        &SyncOptions::new(NOW),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.downloaded, 10);
    let mut subjects: Vec<String> = store
        .summaries()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.subject)
        .collect();
    subjects.sort();
    let mut expected: Vec<String> = (20..30).map(|i| format!("day -{}", 88 - 3 * i)).collect();
    expected.sort();
    assert_eq!(subjects, expected);
    let ledger = store.ledger(&acc.id).await.unwrap();
    assert_eq!(
        ledger
            .iter()
            .filter(|e| e.state == EntryState::Skipped)
            .count(),
        20
    );
    // A second survey finds nothing new: the skipped ones are in the ledger.
    let again = survey(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        NOW,
        30,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(again.messages.is_empty());
}

#[tokio::test]
async fn from_now_on_downloads_nothing_of_what_is_there() {
    let (_d, proxy, acc) = setup(dated_mail(30, 3)).await;
    let store = MemoryStore::default();
    let found = survey(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        NOW,
        30,
        &mut |_| {},
    )
    .await
    .unwrap();
    record_left_out(&store, &acc.id, &found, Scope::FromNowOn, NOW)
        .await
        .unwrap();
    let report = sync_account(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        &SyncOptions::new(NOW),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.downloaded, 0);
    assert!(store.summaries().await.unwrap().is_empty());
}

/// A large mailbox costs a few header blocks: the scan from the newest end stops after a run
/// of old messages, and what lies below counts as old without being read.
#[tokio::test]
async fn the_date_scan_stops_after_a_run_of_old_messages() {
    // 200 messages, one a day: the newest 30 within 30 days (1 to 30 days ago).
    let (_d, proxy, acc) = setup(dated_mail(200, 1)).await;
    let store = MemoryStore::default();
    let found = survey(
        &mut Tcp::loopback(proxy.port),
        &store,
        &acc,
        &support::password(),
        NOW,
        30,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(found.messages.len(), 200);
    assert_eq!(found.count(Scope::Recent { days: 30 }).0, 30);
    let sent = proxy.client_bytes_when_closed().await;
    let tops = sent.lines().filter(|l| l.starts_with("TOP ")).count();
    assert!(tops <= 128, "{tops} header blocks read for 200 messages");
    assert!(!sent.contains("TOP 1 0\r\n"), "the oldest were not read");
}

/// The survey of `acc` through `tcp`; then, once `answer` (the user's choice, and whatever
/// happens while they make it) has run, the download in the survey's session.
async fn survey_then_download<F>(
    tcp: &mut Tcp,
    store: &MemoryStore,
    acc: &postino_sync::Account,
    answer: impl FnOnce(postino_sync::first_check::FirstCheck) -> F,
) -> postino_sync::SyncReport
where
    F: std::future::Future<Output = ()>,
{
    let (found, session) =
        survey_session(tcp, store, acc, &support::password(), NOW, 30, &mut |_| {})
            .await
            .unwrap();
    answer(found).await;
    sync_account_carrying(
        Some(session),
        tcp,
        store,
        acc,
        &support::password(),
        &SyncOptions::new(NOW),
        &mut |_| {},
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_survey_s_session_carries_on_into_the_download() {
    let (_d, proxy, acc) = setup(dated_mail(30, 3)).await;
    let store = MemoryStore::default();
    let recent = Scope::Recent { days: 30 };
    let report = survey_then_download(&mut Tcp::loopback(proxy.port), &store, &acc, |found| {
        let (store, acc) = (&store, &acc);
        async move {
            assert_eq!(found.count(recent).0, 10);
            record_left_out(store, &acc.id, &found, recent, NOW)
                .await
                .unwrap();
        }
    })
    .await;
    assert_eq!(report.downloaded, 10);
    assert_eq!(report.sessions, 1);
    assert!(report.auth_used.is_some());
    // One connection, one login and one QUIT for the question and the download.
    assert_eq!(proxy.connections(), 1);
    let sent = proxy.client_bytes_when_closed().await;
    assert_eq!(sent.matches("QUIT\r\n").count(), 1, "{sent}");
    assert_eq!(
        sent.matches("AUTH ").count() + sent.matches("PASS ").count(),
        1,
        "{sent}"
    );
    assert_eq!(store.summaries().await.unwrap().len(), 10);
}

#[tokio::test]
async fn a_carried_session_that_died_while_waiting_is_replaced() {
    let (_d, proxy, acc) = setup(dated_mail(30, 3)).await;
    let store = MemoryStore::default();
    let report = survey_then_download(&mut Tcp::loopback(proxy.port), &store, &acc, |found| {
        let proxy = &proxy;
        async move {
            assert_eq!(found.messages.len(), 30);
            // The user took long to answer: the server (or the relay) ended the idle session.
            proxy.cut_open().await;
        }
    })
    .await;
    assert_eq!(report.downloaded, 30);
    assert_eq!(report.sessions, 1, "the dead session is not counted");
    assert_eq!(proxy.connections(), 2);
    assert_eq!(store.summaries().await.unwrap().len(), 30);
    assert_eq!(store.ledger(&acc.id).await.unwrap().len(), 30);
}
