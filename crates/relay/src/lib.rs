//! postino-relay: carries POP3 bytes between the Postino web app (WebSocket) and POP3 servers
//! (TCP), serves the built app, and can run a demo mailbox (DESIGN.md, "Relay contract").
//!
//! - [`policy`]: which destinations and origins are allowed; address classification.
//! - [`bridge`]: one WebSocket bridged to one TCP connection, after the checks.
//! - [`router`]: the HTTP routes.
//! - [`demo`]: the demo mailbox, POP3 over TLS on loopback.
//! - [`listener`]: the listening socket, with TLS when configured ([`tls`]).
//! - [`tokens`], [`forwarded`]: who may use the relay, and who the client really is.
//! - [`resolver`]: name resolution, injectable for tests.
//! - [`autoconfig`]: `GET /v1/autoconfig/{domain}`, the POP3 server of an address from the
//!   provider table and DNS (SRV, MX), for address-first setup.
//! - [`oauth`]: the relay-held OAuth client (opt-in): code exchange and refresh with the
//!   operator's client secret, refresh tokens sealed under the relay's key.
//! - [`failure`]: the `{"error", "message"}` refusal of those JSON routes.
//! - [`metrics`], [`limits`], [`config`].
//!
//! Run it in-process with [`start`]; the binary is a thin wrapper.
#![forbid(unsafe_code)]

pub mod autoconfig;
pub mod bridge;
pub mod config;
pub mod demo;
pub mod failure;
pub mod forwarded;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod oauth;
pub mod policy;
pub mod resolver;
pub mod router;
pub mod tls;
pub mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use config::{Cli, Destination, Limits, LogFormat, RelayConfig, TlsFiles};
pub use demo::DemoInfo;
pub use policy::RelayPolicy;
pub use resolver::{Resolver, SystemResolver};

/// How long sessions get to send their close frames once the shutdown grace is over.
const CLOSE_DEADLINE: Duration = Duration::from_secs(6);

/// What every connection shares. The relay keeps no state between connections beyond counters.
#[derive(Debug)]
pub struct RelayState {
    pub policy: RelayPolicy,
    pub limits: Limits,
    pub metrics: metrics::Metrics,
    pub connections: Arc<limits::ConnectionLimits>,
    pub demo: Option<DemoInfo>,
    pub trusted_proxies: forwarded::TrustedProxies,
    pub resolver: Arc<dyn Resolver>,
    /// The listener terminates TLS (then responses carry HSTS).
    pub tls: bool,
    tokens_file: Option<PathBuf>,
    tokens: RwLock<Option<Arc<tokens::AccessTokens>>>,
    /// Cancelled when the shutdown grace is over: open sessions close with 1001.
    pub closing: CancellationToken,
    /// The relay-held OAuth clients, with `oauth_file`.
    pub oauth: Option<oauth::OAuthService>,
    /// `GET /v1/autoconfig/{domain}`: its resolver and limits.
    pub autoconfig: autoconfig::Autoconfig,
}

impl RelayState {
    /// The access tokens, when a tokens file is configured.
    pub fn tokens(&self) -> Option<Arc<tokens::AccessTokens>> {
        self.tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A running relay. [`RelayHandle::shutdown`] stops it; dropping the handle leaves it running
/// until the runtime ends.
#[derive(Debug)]
pub struct RelayHandle {
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    state: Arc<RelayState>,
    tls: Option<Arc<tls::ListenerTls>>,
    demo: Option<demo::DemoMailbox>,
    shutdown_grace: Duration,
    stop: CancellationToken,
    servers: Vec<JoinHandle<()>>,
}

/// Sockets per peer address before the upgrade, above the WebSockets it may open: room for a
/// browser loading the app (six connections per host) and a few being refused.
const EXTRA_SOCKETS_PER_PEER: usize = 16;

impl RelayHandle {
    /// The address the relay listens on (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address `/metrics` is served on with `metrics_listen` (the real port when
    /// configured with port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// `https` with `--tls-cert`, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The demo mailbox, when started with `demo`.
    pub fn demo(&self) -> Option<&demo::DemoMailbox> {
        self.demo.as_ref()
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.state.metrics
    }

    /// Read the TLS certificate and the tokens file again (SIGHUP). What fails to load keeps
    /// its previous value; the errors are returned, one per file.
    pub fn reload(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        if let Some(tls) = &self.tls {
            if let Err(e) = tls.reload() {
                errors.push(e);
            }
        }
        if let Some(path) = &self.state.tokens_file {
            match tokens::AccessTokens::load(path) {
                Ok(tokens) => {
                    info!(tokens = tokens.len(), "tokens reloaded");
                    *self.state.tokens.write().unwrap_or_else(|e| e.into_inner()) =
                        Some(Arc::new(tokens));
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Stop accepting connections, let open sessions go on for the shutdown grace, then close
    /// those left with 1001 and wait (briefly) for them to end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop.cancel();
        let open = |state: &RelayState| state.metrics.open_connections();
        let grace_end = Instant::now() + self.shutdown_grace;
        while open(&self.state) > 0 && Instant::now() < grace_end {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if open(&self.state) > 0 {
            warn!(
                open = open(&self.state),
                "shutdown grace over: closing the sessions left"
            );
        }
        self.state.closing.cancel();
        let close_end = Instant::now() + CLOSE_DEADLINE;
        while open(&self.state) > 0 && Instant::now() < close_end {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.demo.take();
        for server in self.servers.drain(..) {
            server.await.map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

/// Start the relay (and the demo mailbox with `config.demo`), listening on `config.listen`.
pub async fn start(config: RelayConfig) -> std::io::Result<RelayHandle> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    // Without --origin, the Host header decides which origin is the relay's own, and it is
    // held to the listen address: beyond loopback, that is not a name pages are served under.
    if config.origins.is_empty() && !config.listen.ip().to_canonical().is_loopback() {
        return Err(invalid(format!(
            "listening on {} (beyond this machine) needs --origin: the address of the page \
             that uses the relay, e.g. --origin https://mail.example.org",
            config.listen
        )));
    }
    let tokens = match &config.tokens_file {
        Some(path) => Some(Arc::new(tokens::AccessTokens::load(path).map_err(invalid)?)),
        None => None,
    };
    let oauth = match &config.oauth_file {
        Some(path) => {
            let service = oauth::OAuthService::load(path).map_err(invalid)?;
            let names: Vec<&str> = service
                .providers()
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            info!(providers = ?names, "OAuth sign-in through the relay");
            Some(service)
        }
        None => None,
    };
    let tls = match &config.tls {
        Some(files) => Some(Arc::new(
            tls::ListenerTls::load(&files.cert, &files.key).map_err(invalid)?,
        )),
        None => None,
    };
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
    let socket = match config.listen {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(config.listen)?;
    // A deep queue, so that a burst of connections is not met with SYN retries.
    let listener = socket.listen(4096)?;
    let local_addr = listener.local_addr()?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };

    let limits = &config.limits;
    let trusted_proxies =
        forwarded::TrustedProxies::new(config.trusted_proxies.clone(), config.forwarded_header);
    let state = Arc::new(RelayState {
        policy: RelayPolicy {
            allow,
            origins: config.origins.clone(),
            own_hosts: policy::own_hosts(local_addr),
        },
        connections: Arc::new(limits::ConnectionLimits::new(
            limits.max_connections,
            limits.max_connections_per_ip,
            limits.new_connections_per_minute,
        )),
        limits: config.limits.clone(),
        metrics: metrics::Metrics::default(),
        demo: demo.as_ref().map(|d| d.info.clone()),
        trusted_proxies: trusted_proxies.clone(),
        resolver: Arc::clone(&config.resolver),
        tls: tls.is_some(),
        tokens_file: config.tokens_file.clone(),
        tokens: RwLock::new(tokens),
        closing: CancellationToken::new(),
        oauth,
        autoconfig: autoconfig::Autoconfig::new(
            config.dns_server,
            limits.new_connections_per_minute,
        ),
    });

    // /metrics: on its own listener when given one; else on the main one, unless the relay is
    // token-protected (its counters are not for everyone who can reach the page).
    let metrics_on_main = metrics_listener.is_none() && config.tokens_file.is_none();
    if metrics_listener.is_none() && !metrics_on_main {
        info!("a tokens file is set: /metrics is served only with --metrics-listen");
    }
    let app = router::router(Arc::clone(&state), &config.dist, metrics_on_main);
    let stop = CancellationToken::new();
    // Sockets not yet upgraded (WebSockets are capped by `connections`): as many as WebSockets
    // are allowed, twice over, for pages loading and upgrades being refused.
    let caps = listener::SocketCaps {
        max_sockets: limits.max_connections.saturating_mul(2).max(64),
        per_peer: Arc::new(limits::SocketLimits::new(
            limits
                .max_connections_per_ip
                .saturating_add(EXTRA_SOCKETS_PER_PEER),
        )),
        trusted_proxies,
        http_timeout: limits.http_timeout,
    };
    let mut servers = vec![tokio::spawn(listener::serve(
        listener,
        app,
        tls.clone(),
        stop.clone(),
        caps.clone(),
    ))];
    if let Some(metrics_listener) = metrics_listener {
        servers.push(tokio::spawn(listener::serve(
            metrics_listener,
            router::metrics_router(Arc::clone(&state)),
            None,
            stop.clone(),
            caps,
        )));
    }
    Ok(RelayHandle {
        local_addr,
        metrics_addr,
        state,
        tls,
        demo,
        shutdown_grace: config.shutdown_grace,
        stop,
        servers,
    })
}
