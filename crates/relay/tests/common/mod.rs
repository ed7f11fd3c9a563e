//! Helpers shared by the relay's integration tests: an in-process relay on 127.0.0.1:0, a
//! WebSocket client that behaves like the app, local TCP servers, a fake resolver.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use postino_relay::{start, Destination, RelayConfig, RelayHandle, Resolver};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn config() -> RelayConfig {
    RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: PathBuf::from("/nonexistent-postino-dist"),
        ..RelayConfig::default()
    }
}

pub async fn relay(config: RelayConfig) -> RelayHandle {
    start(config).await.expect("relay starts")
}

/// How a test client opens a connection: extra headers and subprotocols.
#[derive(Default, Clone)]
pub struct Opening {
    pub origin: Option<String>,
    pub protocols: Option<String>,
    pub headers: Vec<(&'static str, String)>,
}

/// Open `path` as the app does: subprotocol `postino.v1`, the relay's own origin.
pub async fn open(relay: &RelayHandle, path: &str) -> Ws {
    open_with(relay, path, Opening::default()).await
}

pub async fn open_with(relay: &RelayHandle, path: &str, how: Opening) -> Ws {
    let addr = relay.local_addr();
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    let own = format!("http://{addr}");
    let headers = request.headers_mut();
    headers.insert("Origin", how.origin.unwrap_or(own).parse().unwrap());
    let protocols = how.protocols.unwrap_or_else(|| "postino.v1".into());
    headers.insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    for (name, value) in how.headers {
        headers.append(name, value.parse().unwrap());
    }
    let (ws, response) = connect_async(request).await.expect("upgrade");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "postino.v1",
        "the relay must select postino.v1 and nothing else"
    );
    ws
}

/// Read until the close frame; its code and reason. Then read on, as a browser does, so that
/// the answer to the close frame is sent and the relay can let go.
pub async fn close_of(ws: &mut Ws) -> (u16, String) {
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    while let Some(Ok(_)) = ws.next().await {}
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) => panic!("close without a code"),
                Some(Ok(_)) => continue,
                other => panic!("connection ended without a close frame: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a close frame within 10 s")
}

/// One round trip of `bytes` through an echo destination.
pub async fn echo_round_trip(ws: &mut Ws, bytes: &[u8]) {
    use futures_util::SinkExt;
    ws.send(Message::binary(bytes.to_vec())).await.unwrap();
    let mut got = Vec::new();
    while got.len() < bytes.len() {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(b) => got.extend_from_slice(&b),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, bytes);
}

/// A TCP echo server on 127.0.0.1:0; counts accepted connections.
pub async fn echo_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (mut rd, mut wr) = tcp.split();
                let _ = tokio::io::copy(&mut rd, &mut wr).await;
            });
        }
    });
    (addr, accepted)
}

pub fn allow(addr: SocketAddr) -> Destination {
    addr.to_string().parse().unwrap()
}

pub fn echo_path(addr: SocketAddr) -> String {
    format!("/v1/tcp/127.0.0.1/{}", addr.port())
}

/// Wait until no WebSocket connection is open on the relay (or fail after 10 s).
pub async fn until_no_connection_is_open(relay: &RelayHandle) {
    for _ in 0..500 {
        if relay.metrics().open_connections() == 0 {
            assert_eq!(relay.metrics().buffered_bytes(), 0, "buffers released");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("connections still open:\n{}", relay.metrics().render());
}

/// A resolver that answers from a script: the n-th call gets the n-th answer (the last one
/// after that), or waits forever when the script is empty.
#[derive(Debug, Default)]
pub struct FakeResolver {
    answers: Mutex<Vec<Vec<SocketAddr>>>,
    pub calls: AtomicUsize,
}

impl FakeResolver {
    pub fn new(answers: &[&[&str]]) -> Arc<Self> {
        Arc::new(FakeResolver {
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|a| a.iter().map(|s| s.parse().unwrap()).collect())
                    .collect(),
            ),
            calls: AtomicUsize::new(0),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Resolver for FakeResolver {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let answers = self.answers.lock().unwrap().clone();
        Box::pin(async move {
            match answers.get(n.min(answers.len().saturating_sub(1))) {
                Some(answer) => Ok(answer.clone()),
                None => std::future::pending().await,
            }
        })
    }
}
