//! The runner: opens the session, plans, downloads each message into the store, QUITs.
//!
//! Each message is committed with its ledger entry in one store transaction before the next is
//! requested; a session that breaks halfway keeps what was committed, and the next sync skips it.
//! This slice leaves all mail on the server (the default policy): it never sends DELE.

use futures_io::{AsyncRead, AsyncWrite};
use postino_pop3::{connect, Client, ConnectOptions, MaybeTls, Secret};

use crate::{message_id, Account, LedgerEntry, Store, StoreError, Summary, SyncPlan};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Pop3(#[from] postino_pop3::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a sync stands, for the progress bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Logged in; asking the server what it holds.
    Listing,
    /// `done` of `total` messages, `bytes_done` of `bytes_total` octets.
    Downloading {
        done: usize,
        total: usize,
        bytes_done: u64,
        bytes_total: u64,
    },
    /// Saying QUIT.
    Finishing,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub downloaded: usize,
    pub already_stored: usize,
    pub bytes: u64,
}

/// Connect over `stream` as the account says (TLS, STLS or plain), and log in.
pub async fn open_session<S>(
    stream: S,
    account: &Account,
    password: &Secret<String>,
) -> Result<Client<MaybeTls<S>>, SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut opts = ConnectOptions::new(account.host.clone(), account.security);
    opts.pinned_cert = account.pinned_cert.clone();
    let mut client = connect(stream, &opts).await?;
    client.login(&account.user, password).await?;
    Ok(client)
}

/// Download every message the ledger lacks, then QUIT. `now` is Unix seconds.
pub async fn sync_account<S, St>(
    mut client: Client<S>,
    store: &St,
    account: &Account,
    now: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    St: Store,
{
    progress(Progress::Listing);
    let uidls = client.uidl_all().await?;
    let sizes = client.list_all().await?;
    let ledger = store.ledger_uidls(&account.id).await?;
    let plan = SyncPlan::new(&uidls, &sizes, &ledger);

    let mut report = SyncReport {
        already_stored: plan.already_stored,
        ..Default::default()
    };
    let total = plan.fetch.len();
    let bytes_total = plan.total_bytes();
    progress(Progress::Downloading {
        done: 0,
        total,
        bytes_done: 0,
        bytes_total,
    });
    for fetch in &plan.fetch {
        // LIST sizes come from the server: a hint, capped so a lying server cannot make us reserve
        // much; the buffer grows with what really arrives (bounded by the decoder's limit).
        let mut raw = Vec::with_capacity(fetch.size.min(1024 * 1024) as usize);
        client
            .retr(fetch.number, &mut |chunk| {
                raw.extend_from_slice(chunk);
                Ok(())
            })
            .await?;
        let id = message_id(&account.id, &fetch.uidl);
        let entry = LedgerEntry {
            account: account.id.clone(),
            uidl: fetch.uidl.clone(),
            size: raw.len() as u64,
            digest: sha256_hex(&raw),
            downloaded_at: now,
            message_id: id,
        };
        let summary = Summary::from_raw(&account.id, &fetch.uidl, &raw);
        store.commit_message(&entry, &summary, &raw).await?;
        report.downloaded += 1;
        report.bytes += raw.len() as u64;
        progress(Progress::Downloading {
            done: report.downloaded,
            total,
            bytes_done: report.bytes,
            bytes_total,
        });
    }
    progress(Progress::Finishing);
    client.quit().await?;
    Ok(report)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
