//! Fault injection against Dovecot (interop; `faults.rs` runs thousands of seeds without a
//! server process): Dovecot behind a proxy that cuts the connection at a random byte.
//! After the cut, syncing again must leave the store with exactly the server's messages: none
//! missing, none twice, none altered; with "delete after download" the server ends empty and no
//! message was deleted before it was stored.
//!
//! `POSTINO_FAULT_TRIALS` sets the trials per policy (default 25, kept small for CI; the closing
//! notes report runs of 200 or more).

mod support;

use postino_sync::{DeletePolicy, MemoryStore, Policy, SyncOptions};
use support::{account, dovecot, mails, server_count, sorted, stored_raws, RecordingProxy, Tcp};

fn trials() -> u64 {
    std::env::var("POSTINO_FAULT_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
}

/// xorshift64*: reproducible offsets without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// Bytes the server sends in a whole clean session with these fixtures, a little over.
fn session_bytes() -> u64 {
    mails().iter().map(|m| m.len() as u64).sum::<u64>() + 8_000
}

async fn run_trial(policy: &Policy, cut_at: u64, d: &postino_testkit::Dovecot) {
    let proxy = RecordingProxy::start(d.pop3s_port()).await;
    let store = MemoryStore::default();
    let mut acc = account(d, policy.clone());
    acc.port = proxy.port;
    let mut opts = SyncOptions::new(1_700_000_000);
    opts.store_persistent = true;
    opts.expunge_every = 3;
    let mut tcp = Tcp::loopback(proxy.port);

    proxy.cut_next_after(cut_at);
    // The first attempt may fail anywhere; its failure is the point.
    let _ = support::sync(&mut tcp, &store, &acc, &opts).await;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match support::sync(&mut tcp, &store, &acc, &opts).await {
            Ok(_) => break,
            Err(e) if attempts < 3 => eprintln!("retrying after {e}"),
            Err(e) => panic!("cut at {cut_at}: sync does not recover: {e}"),
        }
    }
    assert_eq!(
        stored_raws(&store),
        sorted(mails()),
        "cut at {cut_at}: stored set differs from the server's"
    );
    assert_eq!(
        store.commit_count(),
        mails().len() as u64,
        "cut at {cut_at}: a message was stored twice"
    );
    let left = server_count(d).await;
    match policy.delete {
        DeletePolicy::AfterDownload => assert_eq!(left, 0, "cut at {cut_at}"),
        _ => assert_eq!(left, mails().len(), "cut at {cut_at}"),
    }
}

#[tokio::test]
async fn leave_on_server_survives_cuts_anywhere() {
    let d = dovecot();
    let mut rng = Rng(0x5eed_0001);
    for _ in 0..trials() {
        run_trial(&Policy::default(), rng.below(session_bytes()), &d).await;
    }
}

#[tokio::test]
async fn delete_after_download_survives_cuts_anywhere() {
    let policy = Policy {
        delete: DeletePolicy::AfterDownload,
        ..Default::default()
    };
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..trials() {
        // Deletion empties the mailbox: a fresh server per trial.
        let d = dovecot();
        run_trial(&policy, rng.below(session_bytes()), &d).await;
    }
}
