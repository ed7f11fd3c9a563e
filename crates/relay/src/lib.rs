//! postino-relay: carries POP3 bytes between the Postino web app (WebSocket) and POP3 servers
//! (TCP), serves the built app, and can run a demo mailbox (DESIGN.md, "Relay contract").
//!
//! - [`policy`]: which destinations and origins are allowed; address classification.
//! - [`bridge`]: one WebSocket bridged to one TCP connection, after the checks.
//! - [`router`]: the HTTP routes.
//! - [`demo`]: the demo mailbox, POP3 over TLS on loopback.
//! - [`metrics`], [`limits`], [`config`].
//!
//! Run it in-process with [`start`]; the binary is a thin wrapper.
#![forbid(unsafe_code)]

pub mod bridge;
pub mod config;
pub mod demo;
pub mod limits;
pub mod metrics;
pub mod policy;
pub mod router;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::warn;

pub use config::{Cli, Destination, Limits, RelayConfig};
pub use demo::DemoInfo;
pub use policy::RelayPolicy;

/// What every connection shares. The relay keeps no state between connections beyond counters.
#[derive(Debug)]
pub struct RelayState {
    pub policy: RelayPolicy,
    pub limits: Limits,
    pub metrics: metrics::Metrics,
    pub connections: Arc<limits::ConnectionLimits>,
    pub demo: Option<DemoInfo>,
}

/// A running relay. [`RelayHandle::shutdown`] stops it; dropping the handle leaves it running
/// until the runtime ends.
#[derive(Debug)]
pub struct RelayHandle {
    local_addr: SocketAddr,
    state: Arc<RelayState>,
    demo: Option<demo::DemoMailbox>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl RelayHandle {
    /// The address the relay listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The demo mailbox, when started with `demo`.
    pub fn demo(&self) -> Option<&demo::DemoMailbox> {
        self.demo.as_ref()
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.state.metrics
    }

    /// Stop accepting connections and wait (up to 10 s) for HTTP connections to finish.
    /// Bridged WebSocket connections are not waited for.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.demo.take();
        if let Some(server) = self.server.take() {
            match tokio::time::timeout(Duration::from_secs(10), server).await {
                Ok(Ok(result)) => result?,
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Err(_) => warn!("shutdown: connections still open after 10 s"),
            }
        }
        Ok(())
    }
}

/// Start the relay (and the demo mailbox with `config.demo`), listening on `config.listen`.
pub async fn start(config: RelayConfig) -> std::io::Result<RelayHandle> {
    let mut allow = config.allow.clone();
    let demo = if config.demo {
        let demo = demo::start().await?;
        // Exactly the demo mailbox's address is allowed, and nothing else on loopback.
        allow.push(Destination {
            host: demo.addr.ip().to_string(),
            port: demo.addr.port(),
        });
        Some(demo)
    } else {
        None
    };
    if !config.dist.is_dir() {
        warn!(dist = %config.dist.display(), "the app folder does not exist: / will answer 404");
    }
    let state = Arc::new(RelayState {
        policy: RelayPolicy {
            allow,
            origins: config.origins.clone(),
        },
        connections: Arc::new(limits::ConnectionLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        )),
        limits: config.limits.clone(),
        metrics: metrics::Metrics::default(),
        demo: demo.as_ref().map(|d| d.info.clone()),
    });

    let listener = TcpListener::bind(config.listen).await?;
    let local_addr = listener.local_addr()?;
    let app = router::router(Arc::clone(&state), &config.dist)
        .into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RelayHandle {
        local_addr,
        state,
        demo,
        stop: Some(stop),
        server: Some(server),
    })
}
