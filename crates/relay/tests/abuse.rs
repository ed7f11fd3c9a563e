//! The relay under abuse: a forged `Forwarded` header through a trusted proxy, many
//! sockets from one address, slow and oversized request heads, a slow reader of the app, refused
//! upgrades that never answer, a DNS-rebinding page, close reasons that would map the relay's
//! own network, IPv4 addresses spelled as numbers, `localhost`, and `/metrics` on a
//! token-protected relay. Each against a real relay on loopback, or the binary itself.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use futures_util::future::BoxFuture;
use postino_relay::bridge::{NAME_NOT_PUBLIC, NAME_UNRESOLVED};
use postino_relay::forwarded::ForwardedHeader;
use postino_relay::{RelayHandle, Resolver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

// --- helpers --------------------------------------------------------------------------------

/// Everything the relays of this test binary log, for the tests that check what goes to the
/// log rather than to the client.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// Send `head` (a whole request head) on a fresh connection from `from` (a loopback address
/// other than 127.0.0.1 stands for another client); the status code of the answer.
async fn status_from(relay: SocketAddr, from: &str, head: &str) -> u16 {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut tcp = socket.connect(relay).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// Whether the relay closes `tcp` (end of stream or reset) within `within`, reading and
/// discarding whatever comes first; the bytes read.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> Option<usize> {
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    tokio::time::timeout(within, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .ok()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("postino-abuse-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// --- 1. one forwarded-for header, chosen in the configuration --------------------------------

fn through_proxy(x_forwarded_for: &str, forwarded: &str) -> Opening {
    let mut headers = vec![("X-Forwarded-For", x_forwarded_for.to_string())];
    if !forwarded.is_empty() {
        headers.push(("Forwarded", forwarded.to_string()));
    }
    Opening {
        headers,
        ..Opening::default()
    }
}

/// nginx sets X-Forwarded-For and passes the client's own `Forwarded` through: a client that
/// writes a new `Forwarded` on each connection must still be one client (one slot, one rate
/// bucket, its real address in the log).
#[tokio::test]
async fn a_forged_forwarded_header_through_a_trusted_proxy_changes_nothing() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.limits.max_connections_per_ip = 1;
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let relay_xff = relay(config.clone()).await;
    let path = echo_path(echo);
    let mut first = open_with(
        &relay_xff,
        &path,
        through_proxy("203.0.113.1", "for=198.51.100.1"),
    )
    .await;
    echo_round_trip(&mut first, b"a").await;
    let mut forged = open_with(
        &relay_xff,
        &path,
        through_proxy("203.0.113.1", "for=198.51.100.2"),
    )
    .await;
    assert_eq!(
        close_of(&mut forged).await,
        (
            4429,
            "too many connections from your address (at most 1)".into()
        )
    );

    // Chosen the other way round: `Forwarded` only, and no fallback when it is missing.
    config.forwarded_header = ForwardedHeader::Forwarded;
    let relay_fwd = relay(config).await;
    let mut first = open_with(
        &relay_fwd,
        &path,
        through_proxy("203.0.113.1", "for=198.51.100.1"),
    )
    .await;
    echo_round_trip(&mut first, b"a").await;
    let mut forged = open_with(
        &relay_fwd,
        &path,
        through_proxy("203.0.113.2", "for=198.51.100.1"),
    )
    .await;
    assert_eq!(close_of(&mut forged).await.0, 4429);
    // Without `Forwarded` the client is the proxy itself (127.0.0.1), whatever X-F-F says.
    let mut proxy_itself = open_with(&relay_fwd, &path, through_proxy("203.0.113.3", "")).await;
    echo_round_trip(&mut proxy_itself, b"b").await;
    let mut again = open_with(&relay_fwd, &path, through_proxy("203.0.113.4", "")).await;
    assert_eq!(close_of(&mut again).await.0, 4429);
}

// --- 2. exhaustion before any per-client limit -----------------------------------------------

/// One address opens sockets and sends nothing: past its share (`--max-connections-per-ip`
/// plus 16) each new one is closed at once, while another address is still served.
#[tokio::test]
async fn many_idle_sockets_from_one_address_cannot_take_every_slot() {
    let mut config = config();
    config.limits.max_connections_per_ip = 2;
    let relay = relay(config).await;
    let addr = relay.local_addr();
    let mut idle = Vec::new();
    for _ in 0..18 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    // Accepted in order: the eighteen hold their slots before the next one arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut one_too_many = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut one_too_many, Duration::from_secs(2))
            .await
            .is_some(),
        "the 19th idle socket from one address was kept open"
    );
    let own = addr.to_string();
    assert_eq!(
        status_from(addr, "127.0.0.2", &get("/healthz", &own)).await,
        200
    );
    // The eighteen are still open (and served when they speak).
    let mut first = idle.remove(0);
    first
        .write_all(get("/healthz", &own).as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    first.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status_from(addr, "127.0.0.1", &get("/healthz", &own)).await,
        200
    );
}

/// hyper buffers up to about 400 KiB of request head by default; the relay's requests are
/// small GETs, so a head past 16 KiB is answered with 431.
#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    let relay = relay(config()).await;
    let addr = relay.local_addr();
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(32 * 1024)
    );
    assert_eq!(status_from(addr, "127.0.0.1", &big).await, 431);
    assert_eq!(
        status_from(addr, "127.0.0.1", &get("/healthz", &addr.to_string())).await,
        200
    );
}

/// A client asks for a large file of the app and does not read: at `--http-timeout` the
/// relay lets go of the socket, whatever is left to send.
#[tokio::test]
async fn a_slow_reader_of_the_app_is_cut_at_the_http_timeout() {
    const SIZE: usize = 32 << 20;
    let dist = temp_dir("slow-reader");
    std::fs::write(dist.join("big.bin"), vec![7u8; SIZE]).unwrap();
    let mut config = config();
    config.dist = dist.clone();
    config.limits.http_timeout = Duration::from_millis(800);
    let relay = relay(config).await;
    let addr = relay.local_addr();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(get("/big.bin", &addr.to_string()).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let read = closed_within(&mut tcp, Duration::from_secs(10))
        .await
        .expect("the relay closed the socket");
    assert!(read < SIZE, "the whole file came through ({read} bytes)");
    std::fs::remove_dir_all(dist).unwrap();
}

/// A raw WebSocket upgrade, so that the test decides whether to answer the close frame
/// (a tungstenite client answers by itself).
async fn raw_upgrade(relay: &RelayHandle, path: &str, origin: &str) -> TcpStream {
    let addr = relay.local_addr();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: postino.v1\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        answer.push(byte[0]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 101"), "{answer:?}");
    tcp
}

/// A refused upgrade gets its close frame and then the relay lets go at once, without waiting
/// for an answer that a flooding client never sends.
#[tokio::test]
async fn a_refused_upgrade_is_closed_without_waiting_for_the_client() {
    let relay = relay(config()).await;
    let mut tcp = raw_upgrade(&relay, "/v1/tcp/127.0.0.1/995", "http://evil.example").await;
    let started = Instant::now();
    // The relay used to wait 5 s for the answer; a loaded machine gets some slack below that.
    let read = closed_within(&mut tcp, Duration::from_secs(4))
        .await
        .expect("closed without the client's answer");
    // 0x88: a close frame, then its length, then 4403 and "origin not allowed".
    assert!(read >= 4 + "origin not allowed".len());
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    until_no_connection_is_open(&relay).await;
}

// --- 3. DNS rebinding against a relay on a laptop --------------------------------------------

/// A page on evil.example whose name now resolves to 127.0.0.1: its requests carry
/// `Host: evil.example:PORT` and a matching Origin. Without `--origin` only the relay's own
/// host names are served; the app's own names still work.
#[tokio::test]
async fn a_rebinding_host_is_refused_with_421() {
    let (echo, accepted) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    let relay = relay(config).await;
    let addr = relay.local_addr();
    let evil = format!("evil.example:{}", addr.port());
    assert_eq!(status_from(addr, "127.0.0.1", &get("/", &evil)).await, 421);
    assert_eq!(
        status_from(addr, "127.0.0.1", &get("/metrics", &evil)).await,
        421
    );
    let mut request = format!("ws://{addr}{}", echo_path(echo))
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("Host", evil.parse().unwrap());
    headers.insert("Origin", format!("http://{evil}").parse().unwrap());
    headers.insert("Sec-WebSocket-Protocol", "postino.v1".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 421)
        }
        other => panic!("the rebinding page got through: {other:?}"),
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);

    // The names the app is really served under.
    for host in [addr.to_string(), format!("localhost:{}", addr.port())] {
        assert_eq!(
            status_from(addr, "127.0.0.1", &get("/healthz", &host)).await,
            200
        );
    }
    let mut ws = open(&relay, &echo_path(echo)).await;
    echo_round_trip(&mut ws, b"CAPA\r\n").await;
}

const BIN: &str = env!("CARGO_BIN_EXE_postino-relay");

/// Beyond loopback, the Host header could be any name of the machine: the binary refuses to
/// start there without `--origin`, and starts with it.
#[test]
fn the_binary_refuses_a_non_loopback_listen_without_origin() {
    let mut refused = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0", "--dist", "/nonexistent"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must exit by itself; a relay that starts is killed after the deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = refused.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            refused.kill().unwrap();
            refused.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = refused.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = status.unwrap_or_else(|| panic!("it started: {stderr}"));
    assert!(!status.success());
    assert!(stderr.contains("needs --origin"), "{stderr}");
    assert!(out.stdout.is_empty());

    let mut child = Command::new(BIN)
        .args(["--listen", "0.0.0.0:0", "--dist", "/nonexistent"])
        .args(["--origin", "https://mail.example.org"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first line comes at once, or the child ends and the read returns.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        line.starts_with("postino-relay listening on http://0.0.0.0:"),
        "{line}"
    );
}

// --- 4. close reasons that do not map the relay's network ------------------------------------

/// Fails every lookup with the kind of text a resolver gives, naming its own address.
#[derive(Debug)]
struct FailingResolver;

impl Resolver for FailingResolver {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<SocketAddr>>> {
        Box::pin(async {
            Err(std::io::Error::other(
                "SERVFAIL from 10.96.0.10:53 (kube-dns)",
            ))
        })
    }
}

async fn close_for(resolver: Arc<dyn Resolver>, host: &str) -> (u16, String) {
    let relay = relay(postino_relay::RelayConfig {
        resolver,
        ..config()
    })
    .await;
    let mut ws = open(&relay, &format!("/v1/tcp/{host}/995")).await;
    let close = close_of(&mut ws).await;
    until_no_connection_is_open(&relay).await;
    close
}

/// A scanner asks for cluster names through the relay: it learns the category (not allowed,
/// not resolved), never the address a name leads to or the resolver's words; the log has both.
#[tokio::test]
async fn close_reasons_keep_resolved_addresses_and_resolver_errors_to_the_log() {
    logs();
    let private = FakeResolver::new(&[&["10.96.0.12:995"]]);
    let (code, reason) = close_for(private, "postgres.default.svc.cluster.local").await;
    assert_eq!((code, reason.as_str()), (4403, NAME_NOT_PUBLIC));
    let (code, reason) = close_for(Arc::new(FailingResolver), "redis.default.svc").await;
    assert_eq!((code, reason.as_str()), (4502, NAME_UNRESOLVED));
    let (code, reason) = close_for(FakeResolver::new(&[&[]]), "empty.example.test").await;
    assert_eq!((code, reason.as_str()), (4502, NAME_UNRESOLVED));

    let log = logged();
    assert!(
        log.contains("10.96.0.12 is a private address"),
        "the detail is logged: {log}"
    );
    assert!(log.contains("SERVFAIL from 10.96.0.10:53"), "{log}");
    assert!(log.contains("empty.example.test has no address"), "{log}");
}

// --- 5. numbers, localhost, /metrics, HSTS ---------------------------------------------------

/// `134744072` and `0x08080808` are 8.8.8.8 to a resolver, `127.1` is 127.0.0.1, and
/// `localhost.` is this machine: each is refused by name (4403) and never looked up.
#[tokio::test]
async fn numeric_host_names_and_localhost_are_refused_without_a_lookup() {
    let resolver = FakeResolver::new(&[&["8.8.8.8:995"]]);
    let mut config = config();
    config.resolver = resolver.clone();
    config.limits.connect_timeout = Duration::from_millis(300);
    let relay = relay(config).await;
    for host in ["134744072", "0x08080808", "127.1", "8.8.8.8.", "1.2.3.0x4"] {
        let mut ws = open(&relay, &format!("/v1/tcp/{host}/995")).await;
        assert_eq!(
            close_of(&mut ws).await,
            (
                4403,
                format!("{host} is an IP address written as a number: give the server's name")
            ),
            "{host}"
        );
    }
    for host in ["localhost", "localhost.", "LOCALHOST", "printer.localhost"] {
        let mut ws = open(&relay, &format!("/v1/tcp/{host}/995")).await;
        let (code, reason) = close_of(&mut ws).await;
        assert_eq!(code, 4403, "{host}");
        assert!(reason.ends_with("is this machine; the relay only connects to public addresses"));
    }
    assert_eq!(resolver.calls(), 0, "a refused name reached the resolver");
}

/// A token-protected relay does not show its counters to whoever reaches its page: `/metrics`
/// is then served only on `--metrics-listen`.
#[tokio::test]
async fn metrics_are_not_public_on_a_token_protected_relay() {
    let dir = temp_dir("metrics");
    std::fs::write(dir.join("tokens"), "correct-horse-battery-staple\n").unwrap();
    let mut config = config();
    config.tokens_file = Some(dir.join("tokens"));
    let protected = relay(config.clone()).await;
    let addr = protected.local_addr();
    assert!(protected.metrics_addr().is_none());
    assert_eq!(
        status_from(addr, "127.0.0.1", &get("/metrics", &addr.to_string())).await,
        404
    );

    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let with_metrics = relay(config).await;
    let addr = with_metrics.local_addr();
    let metrics = with_metrics.metrics_addr().expect("a metrics listener");
    assert_eq!(
        status_from(addr, "127.0.0.1", &get("/metrics", &addr.to_string())).await,
        404
    );
    assert_eq!(
        status_from(metrics, "127.0.0.1", &get("/metrics", "prometheus:9090")).await,
        200
    );
    // Without tokens and without --metrics-listen, /metrics stays where it was.
    let open_relay = relay(common::config()).await;
    let addr = open_relay.local_addr();
    assert_eq!(
        status_from(addr, "127.0.0.1", &get("/metrics", &addr.to_string())).await,
        200
    );
    std::fs::remove_dir_all(dir).unwrap();
}
