//! Counters for `/metrics`, in the Prometheus text format (version 0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Why a connection was refused or ended early; the `reason` label of
/// `postino_relay_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Origin,
    Port,
    Address,
    Resolve,
    ConnectFailed,
    ConnectTimeout,
    Limit,
}

impl Refusal {
    pub const ALL: [Refusal; 7] = [
        Refusal::Origin,
        Refusal::Port,
        Refusal::Address,
        Refusal::Resolve,
        Refusal::ConnectFailed,
        Refusal::ConnectTimeout,
        Refusal::Limit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::Port => "port",
            Refusal::Address => "address",
            Refusal::Resolve => "resolve",
            Refusal::ConnectFailed => "connect_failed",
            Refusal::ConnectTimeout => "connect_timeout",
            Refusal::Limit => "limit",
        }
    }

    /// The WebSocket close code of the relay contract.
    pub fn close_code(self) -> u16 {
        match self {
            Refusal::Origin | Refusal::Port | Refusal::Address => 4403,
            Refusal::Resolve | Refusal::ConnectFailed => 4502,
            Refusal::ConnectTimeout => 4504,
            Refusal::Limit => 4429,
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    connections_open: AtomicI64,
    connections_total: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
    bytes_to_server: AtomicU64,
    bytes_to_client: AtomicU64,
}

impl Metrics {
    /// Count a new WebSocket connection; it stays open until the guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    pub fn refused(&self, why: Refusal) {
        self.refused[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn to_server(&self, n: usize) {
        self.bytes_to_server.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn to_client(&self, n: usize) {
        self.bytes_to_client.fetch_add(n as u64, Ordering::Relaxed);
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
            "# HELP postino_relay_bytes_total Bytes relayed, by direction.\n\
             # TYPE postino_relay_bytes_total counter\n\
             postino_relay_bytes_total{{direction=\"to_server\"}} {}\n\
             postino_relay_bytes_total{{direction=\"to_client\"}} {}",
            get(&self.bytes_to_server),
            get(&self.bytes_to_client)
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
        let text = m.render();
        assert!(text.contains("postino_relay_connections_open 0\n"));
        assert!(text.contains("postino_relay_connections_total 1\n"));
        assert!(text.contains("postino_relay_refused_total{reason=\"port\"} 1\n"));
        assert!(text.contains("postino_relay_refused_total{reason=\"origin\"} 0\n"));
        assert!(text.contains("postino_relay_bytes_total{direction=\"to_server\"} 10\n"));
        assert!(text.contains("postino_relay_bytes_total{direction=\"to_client\"} 20\n"));
    }
}
