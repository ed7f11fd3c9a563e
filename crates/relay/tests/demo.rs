//! The demo mailbox through the relay, as the app uses it: WebSocket, then TLS inside it with
//! the demo certificate pinned, then POP3.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use postino_relay::{start, RelayConfig, RelayHandle};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn demo_relay() -> RelayHandle {
    start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: PathBuf::from("/nonexistent-postino-dist"),
        demo: true,
        ..RelayConfig::default()
    })
    .await
    .expect("relay starts")
}

async fn open(relay: &RelayHandle, path: &str) -> Ws {
    let addr = relay.local_addr();
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Origin", format!("http://{addr}").parse().unwrap());
    headers.insert("Sec-WebSocket-Protocol", "postino.v1".parse().unwrap());
    connect_async(request).await.expect("upgrade").0
}

/// The WebSocket as a byte stream, the way the app's transport presents it to the POP3 client.
fn byte_stream(ws: Ws) -> tokio::io::DuplexStream {
    let (mine, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let (mut ws_tx, mut ws_rx) = ws.split();
        let (mut rd, mut wr) = tokio::io::split(mine);
        let up = async {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if ws_tx
                            .send(Message::binary(buf[..n].to_vec()))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        };
        let down = async {
            while let Some(Ok(msg)) = ws_rx.next().await {
                let written = match msg {
                    Message::Binary(b) => wr.write_all(&b).await.is_ok(),
                    Message::Close(_) => false,
                    _ => true,
                };
                if !written {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        };
        tokio::select! {
            () = up => {}
            () = down => {}
        }
    });
    theirs
}

async fn http_get(relay: &RelayHandle, path: &str) -> String {
    let mut tcp = TcpStream::connect(relay.local_addr()).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        relay.local_addr()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[tokio::test]
async fn demo_mailbox_through_the_relay_over_tls() {
    let relay = demo_relay().await;
    let demo = relay.demo().expect("demo mailbox");
    let certificate = demo.certificate.clone();

    let info: serde_json::Value =
        serde_json::from_str(&http_get(&relay, "/v1/demo").await).unwrap();
    assert_eq!(info["host"], "127.0.0.1");
    assert_eq!(info["port"], demo.addr.port());
    assert_eq!(info["security"], "tls");
    assert_eq!(info["user"], "demo");
    assert_eq!(info["password"], "demo");
    let fingerprint = info["fingerprint"].as_str().unwrap();
    assert_eq!(
        fingerprint,
        postino_pop3::tls::fingerprint_sha256(&certificate)
    );
    assert_eq!(fingerprint.len(), 95);

    let ws = open(&relay, &format!("/v1/tcp/127.0.0.1/{}", demo.addr.port())).await;

    // Trust exactly the demo certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from("127.0.0.1").unwrap();
    let stream = TlsConnector::from(Arc::new(tls))
        .connect(server_name, byte_stream(ws))
        .await
        .expect("TLS handshake with the demo mailbox");
    let (rd, mut wr) = tokio::io::split(stream);
    let mut rd = BufReader::new(rd);

    let mut line = String::new();
    rd.read_line(&mut line).await.unwrap();
    assert_eq!(line, "+OK Postino POP3 ready\r\n");

    wr.write_all(b"USER demo\r\nPASS demo\r\nRETR 1\r\n")
        .await
        .unwrap();
    for expected in ["+OK send PASS", "+OK demo has 5 messages"] {
        line.clear();
        rd.read_line(&mut line).await.unwrap();
        assert!(line.starts_with(expected), "{line:?}");
    }
    line.clear();
    rd.read_line(&mut line).await.unwrap();
    assert!(
        line.starts_with("+OK ") && line.ends_with(" octets\r\n"),
        "{line:?}"
    );
    let mut message = String::new();
    loop {
        line.clear();
        rd.read_line(&mut line).await.unwrap();
        if line == ".\r\n" {
            break;
        }
        message.push_str(&line);
    }
    assert!(message.contains("Subject: Welcome to Postino"), "{message}");
    assert!(message.contains("demo mailbox"));

    wr.write_all(b"QUIT\r\n").await.unwrap();
    line.clear();
    rd.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("+OK"), "{line:?}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn demo_allows_exactly_its_own_address() {
    let relay = demo_relay().await;
    // Another loopback destination on a POP3 port stays refused.
    let mut ws = open(&relay, "/v1/tcp/127.0.0.1/995").await;
    let frame = loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Close(Some(frame)) => break frame,
            _ => continue,
        }
    };
    assert_eq!(u16::from(frame.code), 4403);
    assert!(frame.reason.starts_with("127.0.0.1 is a loopback address"));
}
