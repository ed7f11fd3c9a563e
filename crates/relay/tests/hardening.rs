//! Access, limits, timeouts, a slow reader, 2,000 sessions at once, and faults from both sides:
//! each refusal with its close code and reason, and the relay's resources all released after.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use postino_relay::bridge::READ_BUFFER;
use postino_relay::tokens::token_protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// Panics anywhere in this test binary, relay tasks included (tokio catches those).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

// --- access ---------------------------------------------------------------------------------

const TOKEN: &str = "correct-horse-battery-staple";

fn tokens_file(name: &str, tokens: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "postino-relay-tokens-{}-{name}",
        std::process::id()
    ));
    std::fs::write(&path, tokens).unwrap();
    path
}

fn offering(token: Option<&str>) -> Opening {
    let protocols = match token {
        Some(t) => format!("postino.v1, {}", token_protocol(t)),
        None => "postino.v1".into(),
    };
    Opening {
        protocols: Some(protocols),
        ..Opening::default()
    }
}

#[tokio::test]
async fn token_missing_or_wrong_is_refused_with_4401() {
    let (echo, accepted) = echo_server().await;
    let path = tokens_file("refused", &format!("# ops team\n{TOKEN}\n"));
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.tokens_file = Some(path.clone());
    let relay = relay(config).await;
    for token in [None, Some("wrong-horse-battery-staple")] {
        let mut ws = open_with(&relay, &echo_path(echo), offering(token)).await;
        assert_eq!(
            close_of(&mut ws).await,
            (4401, "token missing or wrong".into())
        );
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    let mut ws = open_with(&relay, &echo_path(echo), offering(Some(TOKEN))).await;
    echo_round_trip(&mut ws, b"STAT\r\n").await;
    assert!(relay
        .metrics()
        .render()
        .contains("postino_relay_refused_total{reason=\"token\"} 2"));

    // SIGHUP rereads the file: the old token goes, the new one works.
    std::fs::write(&path, "fresh-token-0123456789\n").unwrap();
    relay.reload().unwrap();
    let mut ws = open_with(&relay, &echo_path(echo), offering(Some(TOKEN))).await;
    assert_eq!(close_of(&mut ws).await.0, 4401);
    let mut ws = open_with(
        &relay,
        &echo_path(echo),
        offering(Some("fresh-token-0123456789")),
    )
    .await;
    echo_round_trip(&mut ws, b"STAT\r\n").await;
    // A broken file keeps the tokens in force.
    std::fs::write(&path, "short\n").unwrap();
    assert!(relay.reload().unwrap_err().contains("at least 16"));
    let mut ws = open_with(
        &relay,
        &echo_path(echo),
        offering(Some("fresh-token-0123456789")),
    )
    .await;
    echo_round_trip(&mut ws, b"STAT\r\n").await;
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn origin_missing_is_refused_with_4403() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    let relay = relay(config).await;
    let how = Opening {
        origin: Some("null".into()),
        ..Opening::default()
    };
    let mut ws = open_with(&relay, &echo_path(echo), how).await;
    assert_eq!(close_of(&mut ws).await, (4403, "origin not allowed".into()));
}

fn forwarded_for(ip: &str) -> Opening {
    Opening {
        headers: vec![("X-Forwarded-For", format!("198.51.100.77, {ip}"))],
        ..Opening::default()
    }
}

#[tokio::test]
async fn forwarded_for_is_believed_from_trusted_proxies_only() {
    let (echo, _) = echo_server().await;
    let mut trusting = config();
    trusting.allow = vec![allow(echo)];
    trusting.limits.max_connections_per_ip = 1;
    trusting.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let relay_behind_proxy = relay(trusting.clone()).await;
    let path = echo_path(echo);
    let mut a = open_with(&relay_behind_proxy, &path, forwarded_for("203.0.113.1")).await;
    echo_round_trip(&mut a, b"a").await;
    let mut b = open_with(&relay_behind_proxy, &path, forwarded_for("203.0.113.2")).await;
    echo_round_trip(&mut b, b"b").await;
    let mut again = open_with(&relay_behind_proxy, &path, forwarded_for("203.0.113.1")).await;
    assert_eq!(
        close_of(&mut again).await,
        (
            4429,
            "too many connections from your address (at most 1)".into()
        )
    );

    // Without --trusted-proxy the headers are ignored: both come from 127.0.0.1.
    trusting.trusted_proxies.clear();
    let relay_direct = relay(trusting).await;
    let mut a = open_with(&relay_direct, &path, forwarded_for("203.0.113.1")).await;
    echo_round_trip(&mut a, b"a").await;
    let mut b = open_with(&relay_direct, &path, forwarded_for("203.0.113.2")).await;
    assert_eq!(close_of(&mut b).await.0, 4429);
}

// --- limits and timeouts --------------------------------------------------------------------

#[tokio::test]
async fn new_connections_per_minute_are_capped_with_4429() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.limits.new_connections_per_minute = 3;
    let relay = relay(config).await;
    for _ in 0..3 {
        let mut ws = open(&relay, &echo_path(echo)).await;
        echo_round_trip(&mut ws, b"x").await;
        ws.close(None).await.unwrap();
    }
    let mut ws = open(&relay, &echo_path(echo)).await;
    assert_eq!(
        close_of(&mut ws).await,
        (
            4429,
            "too many new connections from your address (at most 3 a minute); try again in a minute"
                .into()
        )
    );
    assert!(relay
        .metrics()
        .render()
        .contains("postino_relay_refused_total{reason=\"rate\"} 1"));
}

#[tokio::test]
async fn total_connections_are_capped_with_4429() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.limits.max_connections = 1;
    let relay = relay(config).await;
    let mut first = open(&relay, &echo_path(echo)).await;
    echo_round_trip(&mut first, b"x").await;
    let mut second = open(&relay, &echo_path(echo)).await;
    assert_eq!(
        close_of(&mut second).await,
        (
            4429,
            "the relay is full (1 connections); try again later".into()
        )
    );
}

#[tokio::test]
async fn message_larger_than_the_limit_closes_with_4429() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.limits.max_message_size = 1024;
    let relay = relay(config).await;
    let mut ws = open(&relay, &echo_path(echo)).await;
    echo_round_trip(&mut ws, &[7u8; 1024]).await;
    ws.send(Message::binary(vec![7u8; 2048])).await.unwrap();
    assert_eq!(
        close_of(&mut ws).await,
        (
            4429,
            "a message was larger than the relay's limit of 1024 bytes".into()
        )
    );
    until_no_connection_is_open(&relay).await;
}

#[tokio::test]
async fn session_longer_than_the_limit_closes_with_4504() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.limits.max_session = Duration::from_millis(400);
    let relay = relay(config).await;
    let mut ws = open(&relay, &echo_path(echo)).await;
    // Busy all along: it is the session length that ends it, not idleness.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(250) {
        echo_round_trip(&mut ws, b"NOOP\r\n").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        close_of(&mut ws).await,
        (
            4504,
            "the session reached the relay's limit of 400ms; connect again".into()
        )
    );
    assert!(relay
        .metrics()
        .render()
        .contains("postino_relay_sessions_ended_total{end=\"session_limit\"} 1"));
}

#[tokio::test]
async fn name_lookup_slower_than_the_connect_timeout_closes_with_4504() {
    let mut config = config();
    config.resolver = FakeResolver::new(&[]);
    config.limits.connect_timeout = Duration::from_millis(200);
    let relay = relay(config).await;
    let mut ws = open(&relay, "/v1/tcp/slow.example.test/995").await;
    assert_eq!(
        close_of(&mut ws).await,
        (4504, "looking up slow.example.test timed out".into())
    );
}

#[tokio::test]
async fn server_that_does_not_accept_closes_with_4504() {
    // A listener whose accept queue is full: further SYNs go unanswered.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(tcp)) =
            tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await
        {
            fillers.push(tcp);
        }
    }
    let mut config = config();
    config.allow = vec![allow(addr)];
    config.limits.connect_timeout = Duration::from_millis(300);
    let relay = relay(config).await;
    let mut ws = open(&relay, &echo_path(addr)).await;
    assert_eq!(
        close_of(&mut ws).await,
        (
            4504,
            format!("connection to 127.0.0.1:{} timed out", addr.port())
        )
    );
    drop(listener);
}

/// The server keeps sending and the client stops reading: the relay stops reading from the
/// server once one frame is waiting, so what it holds stays under one read buffer (`READ_BUFFER`),
/// whatever the server sends; the rest waits in the kernel's socket buffers and then in the
/// server. When the client reads again, every byte arrives in order.
#[tokio::test]
async fn slow_reader_cannot_make_the_relay_buffer_more_than_one_read() {
    const LIMIT: u64 = 256 << 20;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = Arc::clone(&written);
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        while count.load(Ordering::SeqCst) < LIMIT {
            if tcp.write_all(&chunk).await.is_err() {
                return;
            }
            count.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    let mut config = config();
    config.allow = vec![allow(addr)];
    let relay = relay(config).await;
    let mut ws = open(&relay, &echo_path(addr)).await;

    // Wait until the server is stuck: nothing written for 300 ms.
    let mut last = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = written.load(Ordering::SeqCst);
        if now == last && now > 0 {
            break;
        }
        last = now;
    }
    let stuck_at = written.load(Ordering::SeqCst);
    assert!(stuck_at < LIMIT, "the server was never slowed down");
    let metrics = relay.metrics();
    assert!(
        metrics.buffered_bytes() <= READ_BUFFER as i64,
        "held {} bytes",
        metrics.buffered_bytes()
    );
    assert!(
        metrics.buffered_peak() <= READ_BUFFER as u64,
        "peak {} bytes",
        metrics.buffered_peak()
    );
    eprintln!(
        "slow reader: server stuck after {} KiB; relay holds {} bytes (peak {})",
        stuck_at / 1024,
        metrics.buffered_bytes(),
        metrics.buffered_peak()
    );

    // Reading again drains everything, intact.
    let mut got = 0u64;
    while got < stuck_at {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => {
                for (i, byte) in b.iter().enumerate() {
                    let offset = (got + i as u64) % (64 * 1024);
                    assert_eq!(*byte, (offset % 251) as u8, "byte {}", got + i as u64);
                }
                got += b.len() as u64;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(metrics.buffered_peak() <= READ_BUFFER as u64);
}

// --- load -----------------------------------------------------------------------------------

/// 2,000 sessions open at the same time through the relay to a local echo server, each with
/// its own 4 KiB of bytes, all coming back intact; then every resource released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_sessions_keep_every_byte() {
    const SESSIONS: usize = 2000;
    let (echo, accepted) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.limits.max_connections = SESSIONS;
    config.limits.max_connections_per_ip = SESSIONS;
    config.limits.new_connections_per_minute = 0;
    let relay = Arc::new(relay(config).await);
    let started = std::time::Instant::now();
    let all_open = Arc::new(tokio::sync::Barrier::new(SESSIONS + 1));
    // Sessions wait here until the open count has been checked.
    let go = Arc::new(tokio::sync::Barrier::new(SESSIONS + 1));
    let handshakes = Arc::new(tokio::sync::Semaphore::new(128));
    let mut sessions = Vec::new();
    for n in 0..SESSIONS {
        let (relay, all_open, handshakes, go) = (
            Arc::clone(&relay),
            Arc::clone(&all_open),
            Arc::clone(&handshakes),
            Arc::clone(&go),
        );
        sessions.push(tokio::spawn(async move {
            let permit = handshakes.acquire().await.unwrap();
            let mut ws = open(&relay, &echo_path(echo)).await;
            drop(permit);
            all_open.wait().await;
            go.wait().await;
            let payload: Vec<u8> = (0..4096).map(|i| ((i * 31 + n * 7) % 256) as u8).collect();
            echo_round_trip(&mut ws, &payload).await;
            ws.close(None).await.unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        }));
    }
    all_open.wait().await;
    // A client sees its upgrade answered a moment before the relay's task counts the session.
    for _ in 0..200 {
        if relay.metrics().open_connections() == SESSIONS as i64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(relay.metrics().open_connections(), SESSIONS as i64);
    go.wait().await;
    let opened = started.elapsed();
    for session in sessions {
        session.await.unwrap();
    }
    eprintln!(
        "{SESSIONS} sessions: all open after {opened:?}, all done after {:?}",
        started.elapsed()
    );
    assert_eq!(accepted.load(Ordering::SeqCst), SESSIONS);
    until_no_connection_is_open(&relay).await;
    let metrics = relay.metrics().render();
    let bytes = SESSIONS * 4096;
    assert!(metrics.contains(&format!(
        "postino_relay_bytes_total{{direction=\"to_client\"}} {bytes}"
    )));
    assert!(metrics.contains(&format!("postino_relay_connect_seconds_count {SESSIONS}")));
}

// --- faults from both sides -----------------------------------------------------------------

fn tcp_of(ws: &Ws) -> &TcpStream {
    match ws.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp,
        _ => unreachable!("plain ws://"),
    }
}

/// A server that runs `script` on each connection.
async fn scripted_server<F, Fut>(script: F) -> std::net::SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(script(tcp));
        }
    });
    addr
}

#[tokio::test]
async fn garbage_half_close_and_reset_from_either_side_release_everything() {
    count_panics();
    let panics_before = PANICS.load(Ordering::SeqCst);
    let (echo, _) = echo_server().await;
    // Sends garbage, then resets the connection.
    let resetting = scripted_server(|mut tcp| async move {
        let garbage: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let _ = tcp.write_all(&garbage).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = tcp.set_zero_linger();
    })
    .await;
    // Closes its sending side at once but keeps reading.
    let half_closing = scripted_server(|mut tcp| async move {
        let _ = tcp.shutdown().await;
        let mut sink = Vec::new();
        let _ = tcp.read_to_end(&mut sink).await;
    })
    .await;
    let mut config = config();
    config.allow = vec![allow(echo), allow(resetting), allow(half_closing)];
    let relay = relay(config).await;

    // Client: garbage instead of WebSocket frames.
    let mut ws = open(&relay, &echo_path(echo)).await;
    if let MaybeTlsStream::Plain(tcp) = ws.get_mut() {
        tcp.write_all(b"\x89\xff\xff\xff\xff\xff\xff\xff\xffgarbage\r\n\r\n")
            .await
            .unwrap();
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    drop(ws);

    // Client: garbage instead of HTTP.
    let mut raw = TcpStream::connect(relay.local_addr()).await.unwrap();
    raw.write_all(b"\x16\x03\x01\x00\xff\x00garbage\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut answer)).await;
    assert!(answer.is_empty() || answer.starts_with(b"HTTP/1.1 400"));

    // Client: half-close (WebSocket close) after sending; the server sees the end of input.
    let mut ws = open(&relay, &echo_path(echo)).await;
    echo_round_trip(&mut ws, b"QUIT\r\n").await;
    ws.close(None).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}

    // Client: reset in the middle of a session.
    let mut ws = open(&relay, &echo_path(echo)).await;
    echo_round_trip(&mut ws, b"LIST\r\n").await;
    tcp_of(&ws).set_zero_linger().unwrap();
    drop(ws);

    // Client: reset while the server is still sending.
    let ws = open(&relay, &echo_path(resetting)).await;
    tcp_of(&ws).set_zero_linger().unwrap();
    drop(ws);

    // Server: garbage, then a reset: the client gets the bytes as they were, then 4502.
    let mut ws = open(&relay, &echo_path(resetting)).await;
    let mut got = 0;
    let (code, reason) = loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => got += b.len(),
            Message::Close(Some(frame)) => break (u16::from(frame.code), frame.reason.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    };
    while let Some(Ok(_)) = ws.next().await {}
    assert_eq!(got, 70_000);
    assert_eq!(code, 4502, "{reason}");
    assert!(reason.contains("failed"), "{reason}");

    // Server: half-close: the client is told the server closed (1000).
    let mut ws = open(&relay, &echo_path(half_closing)).await;
    let (code, _) = close_of(&mut ws).await;
    assert_eq!(code, 1000);

    until_no_connection_is_open(&relay).await;
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        panics_before,
        "something panicked"
    );
}
