//! Counters for `/metrics`, in the Prometheus text format (version 0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Why a connection was refused or ended early; the `reason` label of
/// `postino_relay_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Origin,
    Token,
    Port,
    Address,
    Resolve,
    ConnectFailed,
    ConnectTimeout,
    /// Too many open connections, in total or from one address.
    Limit,
    /// Too many new connections from one address in the last minute.
    Rate,
}

impl Refusal {
    pub const ALL: [Refusal; 9] = [
        Refusal::Origin,
        Refusal::Token,
        Refusal::Port,
        Refusal::Address,
        Refusal::Resolve,
        Refusal::ConnectFailed,
        Refusal::ConnectTimeout,
        Refusal::Limit,
        Refusal::Rate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::Token => "token",
            Refusal::Port => "port",
            Refusal::Address => "address",
            Refusal::Resolve => "resolve",
            Refusal::ConnectFailed => "connect_failed",
            Refusal::ConnectTimeout => "connect_timeout",
            Refusal::Limit => "limit",
            Refusal::Rate => "rate",
        }
    }

    /// The WebSocket close code of the relay contract.
    pub fn close_code(self) -> u16 {
        use postino_contract as contract;
        match self {
            Refusal::Token => contract::TOKEN.code,
            Refusal::Origin | Refusal::Port | Refusal::Address => contract::FORBIDDEN.code,
            Refusal::Limit | Refusal::Rate => contract::LIMIT.code,
            Refusal::Resolve | Refusal::ConnectFailed => contract::CONNECT_FAILED.code,
            Refusal::ConnectTimeout => contract::CONNECT_TIMEOUT.code,
        }
    }
}

/// How a bridged session ended; the `end` label of `postino_relay_sessions_ended_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    ServerClosed,
    ClientClosed,
    ServerError,
    ClientError,
    TextFrame,
    MessageTooBig,
    Idle,
    SessionLimit,
    Shutdown,
}

impl SessionEnd {
    pub const ALL: [SessionEnd; 9] = [
        SessionEnd::ServerClosed,
        SessionEnd::ClientClosed,
        SessionEnd::ServerError,
        SessionEnd::ClientError,
        SessionEnd::TextFrame,
        SessionEnd::MessageTooBig,
        SessionEnd::Idle,
        SessionEnd::SessionLimit,
        SessionEnd::Shutdown,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SessionEnd::ServerClosed => "server_closed",
            SessionEnd::ClientClosed => "client_closed",
            SessionEnd::ServerError => "server_error",
            SessionEnd::ClientError => "client_error",
            SessionEnd::TextFrame => "text_frame",
            SessionEnd::MessageTooBig => "message_too_big",
            SessionEnd::Idle => "idle_timeout",
            SessionEnd::SessionLimit => "session_limit",
            SessionEnd::Shutdown => "shutdown",
        }
    }
}

/// Upper bounds of the connect-latency histogram, in seconds.
const CONNECT_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    connections_open: AtomicI64,
    connections_total: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
    ended: [AtomicU64; SessionEnd::ALL.len()],
    bytes_to_server: AtomicU64,
    bytes_to_client: AtomicU64,
    /// Payload bytes the relay holds right now (read from one side, not yet written to the
    /// other), over all connections.
    buffered: AtomicI64,
    /// The most payload bytes one connection ever held at once.
    buffered_peak: AtomicU64,
    /// Name resolution plus TCP connect, for connections that succeeded.
    connect_buckets: [AtomicU64; CONNECT_BUCKETS.len()],
    connect_count: AtomicU64,
    connect_micros: AtomicU64,
}

impl Metrics {
    /// Count a new WebSocket connection; it stays open until the guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    /// WebSocket connections open now (refused ones count until their close is sent).
    pub fn open_connections(&self) -> i64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn ended(&self, end: SessionEnd) {
        self.ended[end as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn to_server(&self, n: usize) {
        self.bytes_to_server.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn to_client(&self, n: usize) {
        self.bytes_to_client.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn connected(&self, latency: Duration) {
        let secs = latency.as_secs_f64();
        for (bound, bucket) in CONNECT_BUCKETS.iter().zip(&self.connect_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
        self.connect_count.fetch_add(1, Ordering::Relaxed);
        self.connect_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// Payload bytes held by the relay now, over all connections.
    pub fn buffered_bytes(&self) -> i64 {
        self.buffered.load(Ordering::Relaxed)
    }

    /// The most payload bytes a single connection has held at once since the start.
    pub fn buffered_peak(&self) -> u64 {
        self.buffered_peak.load(Ordering::Relaxed)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP postino_relay_connections_open WebSocket connections open now.\n\
             # TYPE postino_relay_connections_open gauge\n\
             postino_relay_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP postino_relay_connections_total WebSocket connections accepted.\n\
             # TYPE postino_relay_connections_total counter\n\
             postino_relay_connections_total {}",
            get(&self.connections_total)
        );
        let _ = writeln!(
            out,
            "# HELP postino_relay_refused_total Connections refused or failed, by reason.\n\
             # TYPE postino_relay_refused_total counter"
        );
        for why in Refusal::ALL {
            let _ = writeln!(
                out,
                "postino_relay_refused_total{{reason=\"{}\"}} {}",
                why.label(),
                get(&self.refused[why as usize])
            );
        }
        let _ = writeln!(
            out,
            "# HELP postino_relay_sessions_ended_total Bridged sessions ended, by how.\n\
             # TYPE postino_relay_sessions_ended_total counter"
        );
        for end in SessionEnd::ALL {
            let _ = writeln!(
                out,
                "postino_relay_sessions_ended_total{{end=\"{}\"}} {}",
                end.label(),
                get(&self.ended[end as usize])
            );
        }
        let _ = writeln!(
            out,
            "# HELP postino_relay_bytes_total Bytes relayed, by direction.\n\
             # TYPE postino_relay_bytes_total counter\n\
             postino_relay_bytes_total{{direction=\"to_server\"}} {}\n\
             postino_relay_bytes_total{{direction=\"to_client\"}} {}",
            get(&self.bytes_to_server),
            get(&self.bytes_to_client)
        );
        let _ = writeln!(
            out,
            "# HELP postino_relay_buffered_bytes Payload bytes held by the relay now.\n\
             # TYPE postino_relay_buffered_bytes gauge\n\
             postino_relay_buffered_bytes {}\n\
             # HELP postino_relay_connection_buffered_bytes_peak Most payload bytes one connection held at once.\n\
             # TYPE postino_relay_connection_buffered_bytes_peak gauge\n\
             postino_relay_connection_buffered_bytes_peak {}",
            self.buffered_bytes(),
            self.buffered_peak()
        );
        let _ = writeln!(
            out,
            "# HELP postino_relay_connect_seconds Name resolution and TCP connect to the POP3 server.\n\
             # TYPE postino_relay_connect_seconds histogram"
        );
        let mut cumulative = 0;
        for (bound, bucket) in CONNECT_BUCKETS.iter().zip(&self.connect_buckets) {
            cumulative += get(bucket);
            let _ = writeln!(
                out,
                "postino_relay_connect_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = get(&self.connect_count);
        let _ = writeln!(
            out,
            "postino_relay_connect_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             postino_relay_connect_seconds_sum {}\n\
             postino_relay_connect_seconds_count {count}",
            get(&self.connect_micros) as f64 / 1e6
        );
        out
    }
}

/// An open connection, counted in `postino_relay_connections_open` until dropped.
#[derive(Debug)]
pub struct OpenConnection<'a>(&'a Metrics);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The payload bytes one connection holds, in both directions; feeds
/// `postino_relay_buffered_bytes` and the per-connection peak.
#[derive(Debug)]
pub struct ConnectionBuffer<'a> {
    metrics: &'a Metrics,
    held: AtomicU64,
}

impl<'a> ConnectionBuffer<'a> {
    pub fn new(metrics: &'a Metrics) -> Self {
        ConnectionBuffer {
            metrics,
            held: AtomicU64::new(0),
        }
    }

    /// `n` bytes are held until the returned guard is dropped (when they have been written).
    pub fn hold(&self, n: usize) -> Held<'_, 'a> {
        let n = n as u64;
        let now = self.held.fetch_add(n, Ordering::Relaxed) + n;
        self.metrics.buffered.fetch_add(n as i64, Ordering::Relaxed);
        self.metrics.buffered_peak.fetch_max(now, Ordering::Relaxed);
        Held { buffer: self, n }
    }
}

#[derive(Debug)]
pub struct Held<'b, 'a> {
    buffer: &'b ConnectionBuffer<'a>,
    n: u64,
}

impl Drop for Held<'_, '_> {
    fn drop(&mut self) {
        self.buffer.held.fetch_sub(self.n, Ordering::Relaxed);
        self.buffer
            .metrics
            .buffered
            .fetch_sub(self.n as i64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series() {
        let m = Metrics::default();
        {
            let _open = m.connection_opened();
            m.refused(Refusal::Port);
            m.to_server(10);
            m.to_client(20);
            assert!(m.render().contains("postino_relay_connections_open 1\n"));
        }
        m.connected(Duration::from_millis(3));
        m.ended(SessionEnd::Idle);
        let text = m.render();
        assert!(text.contains("postino_relay_connections_open 0\n"));
        assert!(text.contains("postino_relay_connections_total 1\n"));
        assert!(text.contains("postino_relay_refused_total{reason=\"port\"} 1\n"));
        assert!(text.contains("postino_relay_refused_total{reason=\"origin\"} 0\n"));
        assert!(text.contains("postino_relay_bytes_total{direction=\"to_server\"} 10\n"));
        assert!(text.contains("postino_relay_bytes_total{direction=\"to_client\"} 20\n"));
        assert!(text.contains("postino_relay_sessions_ended_total{end=\"idle_timeout\"} 1\n"));
        assert!(text.contains("postino_relay_connect_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("postino_relay_connect_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("postino_relay_connect_seconds_bucket{le=\"+Inf\"} 1\n"));
        assert!(text.contains("postino_relay_connect_seconds_count 1\n"));
    }

    #[test]
    fn buffered_bytes_are_released_with_their_guard() {
        let m = Metrics::default();
        let conn = ConnectionBuffer::new(&m);
        let a = conn.hold(100);
        let b = conn.hold(50);
        assert_eq!(m.buffered_bytes(), 150);
        drop(a);
        drop(b);
        assert_eq!(m.buffered_bytes(), 0);
        assert_eq!(m.buffered_peak(), 150);
    }
}
