//! The listening socket: accepts TCP connections, adds TLS when configured, and serves HTTP/1.1
//! with upgrades (WebSockets) on each. Stopping it closes the socket and lets HTTP requests in
//! progress finish; upgraded WebSockets live on in [`crate::bridge`] and end on their own.
//!
//! Until a connection is upgraded, what it may hold is bounded here: a socket slot in total
//! and per peer address (taken at accept, before any byte is read), a small request-head
//! buffer, a deadline for the TLS handshake and each request head, and a deadline for the whole
//! connection, so that a slow reader of the app's files lets go too.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use tracing::{debug, warn};

use crate::forwarded::TrustedProxies;
use crate::limits::SocketLimits;
use crate::tls::ListenerTls;

/// A client must finish its TLS handshake and send its request head within this time
/// (slowloris).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// The most a connection may buffer of a request head (hyper's default is about 400 KiB). The
/// relay's requests are GETs with a few headers; a larger head is answered with 431.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// What bounds the sockets of one listener before they are upgraded.
#[derive(Debug, Clone)]
pub struct SocketCaps {
    /// Sockets served at once, in total.
    pub max_sockets: usize,
    /// Sockets per peer address; trusted proxies are exempt.
    pub per_peer: Arc<SocketLimits>,
    pub trusted_proxies: TrustedProxies,
    /// A connection not upgraded by then is closed, response in progress or not.
    pub http_timeout: Duration,
}

/// Accept connections until `stop` is cancelled. At most `caps.max_sockets` are served at once,
/// and `caps.per_peer` from one address; past that, new ones are closed at once, before any TLS
/// or HTTP work (the WebSocket limits with their close codes apply once a request is read).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ListenerTls>>,
    stop: CancellationToken,
    caps: SocketCaps,
) {
    let sockets = Arc::new(tokio::sync::Semaphore::new(caps.max_sockets));
    loop {
        let (tcp, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to be released.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&sockets).try_acquire_owned() else {
            debug!(%peer, "too many open sockets: closed at once");
            continue;
        };
        let peer_slot = if caps.trusted_proxies.trusts(peer.ip()) {
            None
        } else {
            match caps.per_peer.acquire(peer.ip()) {
                Some(permit) => Some(permit),
                None => {
                    debug!(%peer, "too many open sockets from this address: closed at once");
                    continue;
                }
            }
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let stop = stop.clone();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        let deadline = tokio::time::Instant::now() + caps.http_timeout;
        tokio::spawn(async move {
            let _slots = (slot, peer_slot);
            match acceptor {
                None => serve_connection(tcp, peer, router, stop, deadline).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => serve_connection(tls, peer, router, stop, deadline).await,
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serve HTTP on one connection until it ends, is upgraded (the WebSocket then lives in its
/// own task, without these slots), or reaches `deadline`.
async fn serve_connection<Io>(
    io: Io,
    peer: SocketAddr,
    router: Router,
    stop: CancellationToken,
    deadline: tokio::time::Instant,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move {
            let response: Result<_, Infallible> = router.call(request).await;
            response
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                debug!(%peer, error = %e, "HTTP connection ended");
            }
        }
        () = tokio::time::sleep_until(deadline) => {
            debug!(%peer, "HTTP connection reached its deadline: closed");
        }
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout_at(deadline, connection).await;
        }
    }
}
