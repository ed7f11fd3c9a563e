//! One WebSocket connection bridged to one TCP connection: the checks of the relay contract,
//! then bytes both ways.
//!
//! Every check runs after the WebSocket upgrade, so that a refusal reaches the browser as a close
//! code and a reason the app can show (an HTTP error before the upgrade shows only as a failed
//! connection).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{lookup_host, TcpStream};
use tracing::{info, warn};

use crate::config::{strip_brackets, Destination};
use crate::metrics::Refusal;
use crate::RelayState;

/// The WebSocket subprotocol of the relay contract; browsers fail the connection unless the
/// server selects one they offered.
pub const PROTOCOL: &str = "postino.v1";

/// Size of each TCP read, hence the largest binary frame sent to the browser.
const READ_BUFFER: usize = 16 * 1024;

/// A WebSocket close reason is at most 123 bytes (RFC 6455 section 5.5: 125 minus the code).
const MAX_CLOSE_REASON: usize = 123;

/// How long to wait for the browser's answer to our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What the browser asked for, taken from the upgrade request.
#[derive(Debug, Clone)]
pub struct BridgeRequest {
    pub peer: SocketAddr,
    pub origin: Option<String>,
    /// The `Host` header: the relay's own origin is `http(s)://` + this.
    pub host_header: Option<String>,
    /// The `{host}` and `{port}` path segments, as sent.
    pub host: String,
    pub port: String,
}

/// How a bridged connection ended.
#[derive(Debug)]
enum End {
    ServerClosed,
    ClientClosed,
    TextFrame,
    Idle,
    ServerError(std::io::Error),
    ClientError(String),
}

impl End {
    /// For the log: how it ended, without any payload byte.
    fn describe(&self) -> String {
        match self {
            End::ServerClosed => "server closed".into(),
            End::ClientClosed => "client closed".into(),
            End::TextFrame => "client sent a text frame".into(),
            End::Idle => "idle timeout".into(),
            End::ServerError(e) => format!("server error: {e}"),
            End::ClientError(e) => format!("client error: {e}"),
        }
    }
}

/// Serve one upgraded WebSocket: check, connect, relay, close.
pub async fn run(socket: WebSocket, request: BridgeRequest, state: Arc<RelayState>) {
    let _open = state.metrics.connection_opened();
    let peer = request.peer.ip();
    let _permit = match state.connections.acquire(peer) {
        Ok(permit) => permit,
        Err(reason) => return refuse(socket, &state, &request, Refusal::Limit, reason).await,
    };
    let (tcp, dest) = match connect(&request, &state).await {
        Ok(connected) => connected,
        Err((why, reason)) => return refuse(socket, &state, &request, why, reason).await,
    };
    let server = tcp.peer_addr().ok();
    info!(%peer, dest = ?dest, ?server, "connected");

    let started = Instant::now();
    let to_server = AtomicU64::new(0);
    let to_client = AtomicU64::new(0);
    let (mut ws_tx, mut ws_rx) = socket.split();
    let end = pump(&mut ws_tx, &mut ws_rx, tcp, &state, &to_server, &to_client).await;

    let close = match &end {
        End::ServerClosed => Some((1000, "the server closed the connection".to_string())),
        End::TextFrame => Some((1003, "text frames are not supported".to_string())),
        End::Idle => Some((
            4504,
            format!(
                "the connection was idle for {:?}",
                state.limits.idle_timeout
            ),
        )),
        End::ServerError(e) => Some((4502, format!("connection to {dest} failed: {e}"))),
        End::ClientClosed | End::ClientError(_) => None,
    };
    if let Some((code, reason)) = close {
        let _ = ws_tx.send(close_message(code, &reason)).await;
    }
    // Read until the browser's close frame: this also sends our answer to its close frame.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(msg)) = ws_rx.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    info!(
        %peer,
        dest = ?dest,
        end = %end.describe(),
        to_server = to_server.load(Ordering::Relaxed),
        to_client = to_client.load(Ordering::Relaxed),
        seconds = started.elapsed().as_secs_f32(),
        "closed"
    );
}

/// Relay bytes both ways until one side ends. Each direction awaits its writes, so a slow
/// reader on one side stops reads on the other (bounded memory); the two directions run
/// concurrently, so neither can block the other.
async fn pump<Tx, Rx>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    tcp: TcpStream,
    state: &RelayState,
    to_server: &AtomicU64,
    to_client: &AtomicU64,
) -> End
where
    Tx: futures_util::Sink<Message, Error = axum::Error> + Unpin,
    Rx: futures_util::Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let (mut tcp_rx, mut tcp_tx) = tcp.into_split();
    let base = Instant::now();
    // Milliseconds since `base` of the last byte in either direction.
    let last_activity = AtomicU64::new(0);
    let touch = || last_activity.store(base.elapsed().as_millis() as u64, Ordering::Relaxed);

    let upstream = async {
        loop {
            match ws_rx.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    touch();
                    to_server.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    state.metrics.to_server(bytes.len());
                    if let Err(e) = tcp_tx.write_all(&bytes).await {
                        return End::ServerError(e);
                    }
                }
                Some(Ok(Message::Text(_))) => return End::TextFrame,
                Some(Ok(Message::Close(_))) | None => {
                    let _ = tcp_tx.shutdown().await;
                    return End::ClientClosed;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => touch(),
                Some(Err(e)) => return End::ClientError(e.to_string()),
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let n = match tcp_rx.read(&mut buf).await {
                Ok(0) => return End::ServerClosed,
                Ok(n) => n,
                Err(e) => return End::ServerError(e),
            };
            touch();
            to_client.fetch_add(n as u64, Ordering::Relaxed);
            state.metrics.to_client(n);
            let frame = Message::Binary(buf[..n].to_vec().into());
            if let Err(e) = ws_tx.send(frame).await {
                return End::ClientError(e.to_string());
            }
        }
    };
    let idle_timeout = state.limits.idle_timeout;
    let idle = async {
        loop {
            let now = base.elapsed().as_millis() as u64;
            let quiet = Duration::from_millis(now - last_activity.load(Ordering::Relaxed));
            if quiet >= idle_timeout {
                return End::Idle;
            }
            tokio::time::sleep(idle_timeout - quiet).await;
        }
    };
    tokio::select! {
        end = upstream => end,
        end = downstream => end,
        end = idle => end,
    }
}

/// The checks of the relay contract, in order, then the connection: origin, port, one DNS
/// resolution, every resolved address, and a connection to exactly those addresses.
async fn connect(
    request: &BridgeRequest,
    state: &RelayState,
) -> Result<(TcpStream, Destination), (Refusal, String)> {
    let policy = &state.policy;
    if !policy.origin_allowed(request.origin.as_deref(), request.host_header.as_deref()) {
        return Err((Refusal::Origin, "origin not allowed".into()));
    }
    let host = strip_brackets(&request.host).to_ascii_lowercase();
    let port: u16 = request.port.parse().map_err(|_| {
        (
            Refusal::Port,
            format!("{:?} is not a port number", request.port),
        )
    })?;
    policy
        .check_port(&host, port)
        .map_err(|reason| (Refusal::Port, reason))?;
    let dest = Destination { host, port };

    let timeout = state.limits.connect_timeout;
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, lookup_host((dest.host.as_str(), port))).await {
            Err(_) => {
                return Err((
                    Refusal::ConnectTimeout,
                    format!("looking up {} timed out", dest.host),
                ))
            }
            Ok(Err(e)) => {
                return Err((
                    Refusal::Resolve,
                    format!("could not resolve {}: {e}", dest.host),
                ))
            }
            Ok(Ok(addrs)) => addrs.collect(),
        };
    if addrs.is_empty() {
        return Err((Refusal::Resolve, format!("{} has no address", dest.host)));
    }
    policy
        .check_addresses(&dest.host, port, &addrs)
        .map_err(|reason| (Refusal::Address, reason))?;

    // The addresses just checked, not the name: no second resolution, no DNS rebinding.
    match tokio::time::timeout(timeout, TcpStream::connect(&addrs[..])).await {
        Err(_) => Err((
            Refusal::ConnectTimeout,
            format!("connection to {dest} timed out"),
        )),
        Ok(Err(e)) => Err((
            Refusal::ConnectFailed,
            format!("could not connect to {dest}: {e}"),
        )),
        Ok(Ok(tcp)) => {
            let _ = tcp.set_nodelay(true);
            Ok((tcp, dest))
        }
    }
}

async fn refuse(
    mut socket: WebSocket,
    state: &RelayState,
    request: &BridgeRequest,
    why: Refusal,
    reason: String,
) {
    state.metrics.refused(why);
    warn!(
        peer = %request.peer.ip(),
        // Debug-formatted: the host, the port and the reasons naming them come from the
        // request path, and `?` escapes a line break that would forge a log line.
        host = ?request.host,
        port = ?request.port,
        refused = why.label(),
        reason = ?reason,
        "refused"
    );
    if socket
        .send(close_message(why.close_code(), &reason))
        .await
        .is_ok()
    {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(msg)) = socket.recv().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: truncate(reason, MAX_CLOSE_REASON).into(),
    }))
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_in_a_frame() {
        assert_eq!(truncate("short", 123), "short");
        let long = "é".repeat(100);
        let cut = truncate(&long, MAX_CLOSE_REASON);
        assert!(cut.len() <= MAX_CLOSE_REASON);
        assert_eq!(cut.len(), 122);
    }
}
