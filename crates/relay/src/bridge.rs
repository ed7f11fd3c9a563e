//! One WebSocket connection bridged to one TCP connection: the checks of the relay contract,
//! then bytes both ways.
//!
//! Every check runs after the WebSocket upgrade, so that a refusal reaches the browser as a close
//! code and a reason the app can show (an HTTP error before the upgrade shows only as a failed
//! connection). Only the session's slot is taken before (crate::router): a refused upgrade
//! holds none, and a refused socket is closed right after its close frame is sent.
//!
//! A close reason says what kind of refusal it is, and repeats at most what the client sent
//! (its host name, its port): never an address a name resolved to, nor a resolver's or the
//! operating system's error text, which would let a scanner map the relay's own network. The
//! log gets the detail.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use postino_pop3::secret::Secret;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{info, warn};

use crate::config::{strip_brackets, Destination};
use crate::limits::{LimitHit, Permit};
use postino_contract::{
    CONNECT_FAILED, CONNECT_TIMEOUT, GOING_AWAY, LIMIT, NORMAL, UNSUPPORTED_DATA,
};

use crate::metrics::{ConnectionBuffer, Refusal, SessionEnd};
use crate::RelayState;

/// Size of each TCP read, hence the largest binary frame sent to the browser. With one frame
/// in flight per direction, this and the largest message accepted from the browser bound what
/// a connection can make the relay hold. 256 KiB rather than 64: a download's cost in the
/// browser is largely per frame (each is an IPC message and a wasm call), and a profile of a
/// 448 MB download counted 38,000 frames of at most 64 KiB.
pub const READ_BUFFER: usize = 256 * 1024;

/// A read at least this large means a bulk transfer (a message being downloaded), not an
/// answer to one command: the relay waits up to [`COALESCE_WAIT`] for more before it sends the
/// frame, so that a download reaches the browser in frames of about 100 KiB rather than one
/// per TLS record the server wrote (16 KiB). Measured on a 144 MB download: 8,600 frames, each
/// an IPC message through Chromium's network service and an event and a copy in the engine's
/// worker. Smaller reads (a command's answer) are sent at once.
const COALESCE_FROM: usize = 8 * 1024;

/// How long a bulk read waits for more bytes to go in the same frame: about a millisecond
/// (the timer's resolution), a small share of any network round trip.
const COALESCE_WAIT: Duration = Duration::from_millis(1);

/// A WebSocket close reason is at most 123 bytes (RFC 6455 section 5.5: 125 minus the code).
const MAX_CLOSE_REASON: usize = 123;

/// How long to wait for the browser's answer to our close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long a refused socket may take to accept its close frame (a few bytes) and answer it
/// before it is dropped.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(2);

/// The close reason when a name leads to an address that is not public.
pub const NAME_NOT_PUBLIC: &str =
    "destination not allowed: the server's name does not lead to a public address";

/// The close reason when a name could not be looked up, or has no address.
pub const NAME_UNRESOLVED: &str = "the server's name could not be resolved";

/// A refusal: its kind, the reason the client gets, and what only the log gets.
type Denied = (Refusal, String, Option<String>);

/// What the browser asked for, taken from the upgrade request.
#[derive(Debug)]
pub struct BridgeRequest {
    /// The TCP peer: the client, or the reverse proxy in front of the relay.
    pub peer: SocketAddr,
    /// The client's address: the peer, or what a trusted proxy says (limits and logs use it).
    pub client: IpAddr,
    pub origin: Option<String>,
    /// The `Host` header: the relay's own origin is `http(s)://` + this.
    pub host_header: Option<String>,
    /// The `{host}` and `{port}` path segments, as sent.
    pub host: String,
    pub port: String,
    /// The `postino.token.…` subprotocol the client offered, if any.
    pub token: Option<Secret<String>>,
}

/// How a bridged connection ended.
#[derive(Debug)]
enum End {
    ServerClosed,
    ClientClosed,
    TextFrame,
    MessageTooBig,
    Idle,
    SessionLimit,
    Shutdown,
    ServerError(std::io::Error),
    ClientError(String),
}

impl End {
    fn kind(&self) -> SessionEnd {
        match self {
            End::ServerClosed => SessionEnd::ServerClosed,
            End::ClientClosed => SessionEnd::ClientClosed,
            End::TextFrame => SessionEnd::TextFrame,
            End::MessageTooBig => SessionEnd::MessageTooBig,
            End::Idle => SessionEnd::Idle,
            End::SessionLimit => SessionEnd::SessionLimit,
            End::Shutdown => SessionEnd::Shutdown,
            End::ServerError(_) => SessionEnd::ServerError,
            End::ClientError(_) => SessionEnd::ClientError,
        }
    }

    /// For the log: how it ended, without any payload byte.
    fn describe(&self) -> String {
        match self {
            End::ServerError(e) => format!("server error: {e}"),
            End::ClientError(e) => format!("client error: {e}"),
            other => other.kind().label().replace('_', " "),
        }
    }
}

/// Serve one upgraded WebSocket: check, connect, relay, close. `permit` is the session's slot,
/// taken before the upgrade, or the limit that refused it.
pub async fn run(
    socket: WebSocket,
    request: BridgeRequest,
    permit: Result<Permit, LimitHit>,
    state: Arc<RelayState>,
) {
    let _open = state.metrics.connection_opened();
    let _permit = match permit {
        Ok(permit) => permit,
        Err(LimitHit::Open(reason)) => {
            return refuse(socket, &state, &request, (Refusal::Limit, reason, None)).await
        }
        Err(LimitHit::Rate(reason)) => {
            return refuse(socket, &state, &request, (Refusal::Rate, reason, None)).await
        }
    };
    let policy = &state.policy;
    if !policy.origin_allowed(request.origin.as_deref(), request.host_header.as_deref()) {
        let denied = (Refusal::Origin, "origin not allowed".to_string(), None);
        return refuse(socket, &state, &request, denied).await;
    }
    if let Some(tokens) = state.tokens() {
        if !tokens.accepts(request.token.as_ref()) {
            let denied = (Refusal::Token, "token missing or wrong".to_string(), None);
            return refuse(socket, &state, &request, denied).await;
        }
    }
    let (tcp, dest) = match connect(&request, &state).await {
        Ok(connected) => connected,
        Err(denied) => return refuse(socket, &state, &request, denied).await,
    };
    let server = tcp.peer_addr().ok();
    info!(client = %request.client, peer = %request.peer, dest = ?dest, ?server, "connected");

    let started = Instant::now();
    let to_server = AtomicU64::new(0);
    let to_client = AtomicU64::new(0);
    let (mut ws_tx, mut ws_rx) = socket.split();
    let end = pump(&mut ws_tx, &mut ws_rx, tcp, &state, &to_server, &to_client).await;
    state.metrics.ended(end.kind());

    let limits = &state.limits;
    let close = match &end {
        End::ServerClosed => Some((NORMAL.code, NORMAL.meaning.to_string())),
        End::TextFrame => Some((UNSUPPORTED_DATA.code, UNSUPPORTED_DATA.meaning.to_string())),
        End::MessageTooBig => Some((
            LIMIT.code,
            format!(
                "a message was larger than the relay's limit of {} bytes",
                limits.max_message_size
            ),
        )),
        End::Idle => Some((
            CONNECT_TIMEOUT.code,
            format!("the connection was idle for {:?}", limits.idle_timeout),
        )),
        End::SessionLimit => Some((
            CONNECT_TIMEOUT.code,
            format!(
                "the session reached the relay's limit of {:?}; connect again",
                limits.max_session
            ),
        )),
        End::Shutdown => Some((GOING_AWAY.code, GOING_AWAY.meaning.to_string())),
        End::ServerError(_) => Some((CONNECT_FAILED.code, format!("connection to {dest} failed"))),
        End::ClientClosed | End::ClientError(_) => None,
    };
    if let Some((code, reason)) = close {
        let _ = tokio::time::timeout(CLOSE_GRACE, ws_tx.send(close_message(code, &reason))).await;
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
        client = %request.client,
        dest = ?dest,
        end = %end.describe(),
        to_server = to_server.load(Ordering::Relaxed),
        to_client = to_client.load(Ordering::Relaxed),
        seconds = started.elapsed().as_secs_f32(),
        "closed"
    );
}

/// Whether a WebSocket read error is the message size limit.
fn is_too_big(error: axum::Error) -> Result<(), String> {
    let text = error.to_string();
    let inner = error.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Ok(()),
        _ => Err(text),
    }
}

/// Relay bytes both ways until one side ends. Each direction awaits its write before it reads
/// again, so a slow reader on one side stops reads on the other: the relay holds at most one
/// TCP read (`READ_BUFFER`) toward the browser and one WebSocket message (`max_message_size`)
/// toward the server, counted in `postino_relay_buffered_bytes`. The two directions run
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
    let (tcp_rx, mut tcp_tx) = tcp.into_split();
    let buffer = ConnectionBuffer::new(&state.metrics);
    let base = Instant::now();
    // Milliseconds since `base` of the last byte in either direction.
    let last_activity = AtomicU64::new(0);
    let touch = || last_activity.store(base.elapsed().as_millis() as u64, Ordering::Relaxed);

    let upstream = async {
        loop {
            match ws_rx.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    touch();
                    let _held = buffer.hold(bytes.len());
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
                Some(Err(e)) => {
                    return match is_too_big(e) {
                        Ok(()) => End::MessageTooBig,
                        Err(e) => End::ClientError(e),
                    }
                }
            }
        }
    };
    let downstream = async {
        loop {
            // The buffer is allocated once bytes are there: an idle connection holds none.
            if let Err(e) = tcp_rx.readable().await {
                return End::ServerError(e);
            }
            let mut buf = Vec::with_capacity(READ_BUFFER);
            match tcp_rx.try_read_buf(&mut buf) {
                Ok(0) => return End::ServerClosed,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return End::ServerError(e),
            };
            // An error met while gathering ends the session once what came before it is sent.
            let mut failed = None;
            if buf.len() >= COALESCE_FROM {
                // More of the same transfer, until the buffer is full or the wait is over. The
                // end of the stream is met again by the next read, after this frame went out.
                let until = tokio::time::Instant::now() + COALESCE_WAIT;
                while buf.len() < READ_BUFFER {
                    match tokio::time::timeout_at(until, tcp_rx.readable()).await {
                        Ok(Ok(())) => match tcp_rx.try_read_buf(&mut buf) {
                            Ok(0) => break,
                            Ok(_) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        },
                        Ok(Err(e)) => {
                            failed = Some(e);
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
            let n = buf.len();
            // A short read does not keep a whole read buffer alive while its frame waits.
            if n < READ_BUFFER / 4 {
                buf.shrink_to_fit();
            }
            touch();
            let _held = buffer.hold(n);
            to_client.fetch_add(n as u64, Ordering::Relaxed);
            state.metrics.to_client(n);
            if let Err(e) = ws_tx.send(Message::Binary(buf.into())).await {
                return End::ClientError(e.to_string());
            }
            if let Some(e) = failed {
                return End::ServerError(e);
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
        () = tokio::time::sleep(state.limits.max_session) => End::SessionLimit,
        () = state.closing.cancelled() => End::Shutdown,
    }
}

/// The checks of the destination, in order, then the connection: port, host, one DNS
/// resolution, every resolved address, and a connection to exactly those addresses.
async fn connect(
    request: &BridgeRequest,
    state: &RelayState,
) -> Result<(TcpStream, Destination), Denied> {
    let policy = &state.policy;
    let host = strip_brackets(&request.host).to_ascii_lowercase();
    let port: u16 = request.port.parse().map_err(|_| {
        (
            Refusal::Port,
            format!("{:?} is not a port number", request.port),
            None,
        )
    })?;
    policy
        .check_port(&host, port)
        .map_err(|reason| (Refusal::Port, reason, None))?;
    let dest = Destination { host, port };

    let timeout = state.limits.connect_timeout;
    let started = Instant::now();
    let addrs: Vec<SocketAddr> = if let Ok(ip) = dest.host.parse::<IpAddr>() {
        // The reason names only the address the client wrote.
        policy
            .check_ip_literal(ip, port)
            .map_err(|reason| (Refusal::Address, reason, None))?;
        vec![SocketAddr::new(ip, port)]
    } else {
        policy
            .check_name(&dest.host, port)
            .map_err(|reason| (Refusal::Address, reason, None))?;
        let lookup = state.resolver.resolve(&dest.host, port);
        let addrs = match tokio::time::timeout(timeout, lookup).await {
            Err(_) => {
                return Err((
                    Refusal::ConnectTimeout,
                    format!("looking up {} timed out", dest.host),
                    None,
                ))
            }
            Ok(Err(e)) => {
                let detail = format!("could not resolve {}: {e}", dest.host);
                return Err((Refusal::Resolve, NAME_UNRESOLVED.into(), Some(detail)));
            }
            Ok(Ok(addrs)) => addrs,
        };
        if addrs.is_empty() {
            let detail = format!("{} has no address", dest.host);
            return Err((Refusal::Resolve, NAME_UNRESOLVED.into(), Some(detail)));
        }
        policy
            .check_addresses(&dest.host, port, &addrs)
            .map_err(|detail| (Refusal::Address, NAME_NOT_PUBLIC.into(), Some(detail)))?;
        addrs
    };

    // The addresses just checked, not the name: no second resolution, no DNS rebinding.
    let remaining = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(remaining, TcpStream::connect(&addrs[..])).await {
        Err(_) => Err((
            Refusal::ConnectTimeout,
            format!("connection to {dest} timed out"),
            None,
        )),
        Ok(Err(e)) => {
            let what = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                "the server refused the connection"
            } else {
                "the server could not be reached"
            };
            Err((
                Refusal::ConnectFailed,
                format!("could not connect to {dest}: {what}"),
                Some(format!("could not connect to {addrs:?}: {e}")),
            ))
        }
        Ok(Ok(tcp)) => {
            state.metrics.connected(started.elapsed());
            let _ = tcp.set_nodelay(true);
            Ok((tcp, dest))
        }
    }
}

/// Count, log (with the detail), send the close frame, and drop the socket once the client
/// has answered it: a refused client holds nothing for longer than `REFUSAL_DEADLINE`.
async fn refuse(
    socket: WebSocket,
    state: &RelayState,
    request: &BridgeRequest,
    (why, reason, detail): Denied,
) {
    state.metrics.refused(why);
    warn!(
        client = %request.client,
        peer = %request.peer.ip(),
        // Debug-formatted: the host, the port and the reasons naming them come from the
        // request path, and `?` escapes a line break that would forge a log line.
        host = ?request.host,
        port = ?request.port,
        refused = why.label(),
        reason = ?reason,
        detail = ?detail,
        "refused"
    );
    let mut socket = socket;
    // Send the close frame, then read (and drop) what the browser sent until its answer. A
    // socket closed with bytes unread (the TLS ClientHello the browser wrote on open) answers
    // the browser's next write with a reset, and Chromium, when the write of its close answer
    // fails, reports 1006 instead of our code and reason. The deadline bounds both steps.
    let _ = tokio::time::timeout(REFUSAL_DEADLINE, async {
        socket
            .send(close_message(why.close_code(), &reason))
            .await?;
        while let Some(msg) = socket.recv().await {
            if matches!(msg?, Message::Close(_)) {
                break;
            }
        }
        Ok::<(), axum::Error>(())
    })
    .await;
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
