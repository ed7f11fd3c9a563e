//! Shared by the runner's integration tests: Dovecot with the fixtures, a TCP connector, and a
//! proxy that records what the client sends and can cut the connection at a chosen byte.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use postino_pop3::{connect, ConnectOptions, Secret};
use postino_sync::{Account, MemoryStore, Policy, Security, Store, SyncError};
use postino_testkit::{fixtures, workspace_root, Dovecot, DovecotOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

pub const PASSWORD: &str = "pw";

pub fn password() -> Secret<String> {
    Secret::new(PASSWORD.into())
}

pub fn mails() -> Vec<Vec<u8>> {
    fixtures(workspace_root().join("tests/fixtures/mail"))
        .into_iter()
        .map(|(_, raw)| raw)
        .collect()
}

pub fn dovecot() -> Dovecot {
    Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: PASSWORD.into(),
        fixtures: mails(),
    })
    .expect("dovecot starts")
}

pub fn account(d: &Dovecot, policy: Policy) -> Account {
    Account {
        id: "acc1".into(),
        name: "alice@localhost".into(),
        relay: String::new(),
        host: "localhost".into(),
        port: d.pop3s_port(),
        security: Security::Tls,
        user: "alice".into(),
        pinned_cert: Some(d.fingerprint()),
        policy,
        relay_token: None,
        remember_password: false,
        auth: Default::default(),
        auth_learned: None,
        oauth: None,
    }
}

/// Plain TCP to 127.0.0.1:port, one connection per session.
pub use postino_sync::tcp::Tcp;

/// How many messages the server holds now, asked in a session of its own.
pub async fn server_count(d: &Dovecot) -> usize {
    let tcp = TcpStream::connect(("127.0.0.1", d.pop3s_port()))
        .await
        .unwrap()
        .compat();
    let mut opts = ConnectOptions::new("localhost", Security::Tls);
    opts.pinned_cert = Some(d.fingerprint());
    let mut client = connect(tcp, &opts).await.unwrap();
    client.login("alice", &password()).await.unwrap();
    let n = client.stat().await.unwrap().count as usize;
    client.quit().await.unwrap();
    n
}

pub fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

/// Every stored message's bytes, sorted: equal to `sorted(mails())` means none missing, none
/// twice, none altered.
pub fn stored_raws(store: &MemoryStore) -> Vec<Vec<u8>> {
    let summaries = block_on(store.summaries()).unwrap();
    sorted(
        summaries
            .iter()
            .map(|s| block_on(store.raw_message(&s.id)).unwrap().unwrap())
            .collect(),
    )
}

/// A TCP proxy to 127.0.0.1:upstream that records the client's bytes and can cut the next
/// connection once the server has sent a given number of bytes.
pub struct RecordingProxy {
    pub port: u16,
    client_bytes: Arc<Mutex<Vec<u8>>>,
    cut_next: Arc<Mutex<Option<u64>>>,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    cut_all: Arc<tokio::sync::Notify>,
}

impl RecordingProxy {
    pub async fn start(upstream: u16) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client_bytes = Arc::new(Mutex::new(Vec::new()));
        let cut_next: Arc<Mutex<Option<u64>>> = Arc::new(Mutex::new(None));
        let open = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let cut_all = Arc::new(tokio::sync::Notify::new());
        let (record, cuts, count) = (client_bytes.clone(), cut_next.clone(), open.clone());
        let (total, kill) = (accepted.clone(), cut_all.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let cut = cuts.lock().unwrap().take();
                let (record, count, kill) = (record.clone(), count.clone(), kill.clone());
                count.fetch_add(1, Ordering::SeqCst);
                total.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    tokio::select! {
                        _ = relay(client, upstream, record, cut) => {},
                        _ = kill.notified() => {},
                    }
                    count.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        RecordingProxy {
            port,
            client_bytes,
            cut_next,
            open,
            accepted,
            cut_all,
        }
    }

    /// How many connections clients opened through the proxy.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Drops every open connection (as a server's or a relay's idle timer would), and returns
    /// once they are gone.
    pub async fn cut_open(&self) {
        self.cut_all.notify_waiters();
        for _ in 0..300 {
            if self.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the proxy's connections did not close");
    }

    /// The next connection is dropped once the server has sent `bytes` bytes through it.
    pub fn cut_next_after(&self, bytes: u64) {
        *self.cut_next.lock().unwrap() = Some(bytes);
    }

    /// What clients sent, all connections in order, as text, once every connection has ended
    /// (a client's last bytes may still be on their way when it returns).
    pub async fn client_bytes_when_closed(&self) -> String {
        for _ in 0..300 {
            if self.open.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.client_bytes()
    }

    /// What clients sent so far, all connections in order, as text.
    pub fn client_bytes(&self) -> String {
        String::from_utf8_lossy(&self.client_bytes.lock().unwrap()).into_owned()
    }
}

async fn relay(client: TcpStream, upstream: u16, record: Arc<Mutex<Vec<u8>>>, cut: Option<u64>) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let down = async {
        let mut buf = [0u8; 16 * 1024];
        let mut sent = 0u64;
        loop {
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let n = match cut {
                        Some(limit) if sent + n as u64 >= limit => {
                            let keep = (limit - sent) as usize;
                            let _ = cw.write_all(&buf[..keep]).await;
                            break;
                        }
                        _ => n,
                    };
                    sent += n as u64;
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    // Either side ending (or the cut) ends both: dropping the halves closes the sockets.
    tokio::select! {
        _ = up => {},
        _ = down => {},
    }
}

/// A memory store whose commit can be made to fail, slowly, like a real store hitting its quota:
/// the pause lets the proxy read what the client sent before it fails.
#[derive(Default)]
pub struct FailingStore {
    pub inner: MemoryStore,
    fail_after: std::cell::Cell<Option<u64>>,
}

impl FailingStore {
    /// The commit after the first `n` successful ones fails.
    pub fn fail_commit_after(&self, n: u64) {
        self.fail_after.set(Some(n));
    }
}

impl Store for FailingStore {
    async fn accounts(&self) -> Result<Vec<Account>, postino_sync::StoreError> {
        self.inner.accounts().await
    }
    async fn put_account(&self, a: &Account) -> Result<(), postino_sync::StoreError> {
        self.inner.put_account(a).await
    }
    async fn ledger(
        &self,
        account: &str,
    ) -> Result<Vec<postino_sync::LedgerEntry>, postino_sync::StoreError> {
        self.inner.ledger(account).await
    }
    async fn commit_message(
        &self,
        message: &postino_sync::Incoming,
    ) -> Result<(), postino_sync::StoreError> {
        if self.fail_after.get() == Some(self.inner.commit_count()) {
            self.fail_after.set(None);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            return Err(postino_sync::StoreError::QuotaExceeded);
        }
        self.inner.commit_message(message).await
    }
    async fn summaries(&self) -> Result<Vec<postino_sync::Summary>, postino_sync::StoreError> {
        self.inner.summaries().await
    }
    async fn raw_message(&self, id: &str) -> Result<Option<Vec<u8>>, postino_sync::StoreError> {
        self.inner.raw_message(id).await
    }
    async fn delete_message(
        &self,
        entry: &postino_sync::LedgerEntry,
    ) -> Result<(), postino_sync::StoreError> {
        self.inner.delete_message(entry).await
    }
}

/// One sync with the test password and no progress callback.
pub async fn sync<S: Store>(
    tcp: &mut Tcp,
    store: &S,
    account: &Account,
    options: &postino_sync::SyncOptions,
) -> Result<postino_sync::SyncReport, SyncError> {
    postino_sync::sync_account(tcp, store, account, &password(), options, &mut |_| {}).await
}
