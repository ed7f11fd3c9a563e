//! The relay's configuration and its command line.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;

/// A `host:port` destination; IPv6 literals are written `[::1]:110` and stored without brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub port: u16,
}

impl FromStr for Destination {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?} is not HOST:PORT"))?;
        let port = port
            .parse()
            .map_err(|_| format!("{port:?} is not a port number"))?;
        let host = strip_brackets(host);
        if host.is_empty() {
            return Err(format!("{s:?} has no host"));
        }
        Ok(Destination {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// `[::1]` -> `::1`; other hosts unchanged.
pub fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Caps and timeouts (DESIGN.md: "caps on connections per IP and in total; connect, idle and
/// session timeouts").
#[derive(Debug, Clone)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// A bridged connection with no byte in either direction for this long is closed.
    pub idle_timeout: Duration,
    /// Open WebSocket connections, in total and per client IP.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Largest WebSocket message accepted from the browser.
    pub max_message_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_connections: 1024,
            max_connections_per_ip: 32,
            max_message_size: 1 << 20,
        }
    }
}

/// Everything [`crate::start`] needs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub listen: SocketAddr,
    /// The built app, served at `/`.
    pub dist: PathBuf,
    pub allow: Vec<Destination>,
    /// Allowed `Origin` values; empty means the relay's own origin.
    pub origins: Vec<String>,
    pub demo: bool,
    pub limits: Limits,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            dist: PathBuf::from("dist"),
            allow: Vec::new(),
            origins: Vec::new(),
            demo: false,
            limits: Limits::default(),
        }
    }
}

/// postino-relay: carries POP3 bytes between the Postino web app (WebSocket) and POP3 servers
/// (TCP), and serves the app.
#[derive(Debug, Parser)]
#[command(name = "postino-relay", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder of the built app, served at `/`.
    #[arg(long, default_value = "dist")]
    pub dist: PathBuf,
    /// Allow this exact HOST:PORT even on a private or loopback address or another port
    /// (never 25, 465 or 587). Repeatable.
    #[arg(long = "allow", value_name = "HOST:PORT")]
    pub allow: Vec<Destination>,
    /// Allowed Origin of the web app, e.g. https://mail.example.org. Repeatable. Default: the
    /// relay's own origin.
    #[arg(long = "origin", value_name = "URL")]
    pub origins: Vec<String>,
    /// Start a demo POP3 mailbox on loopback (user demo, password demo) and allow it.
    #[arg(long)]
    pub demo: bool,
    /// Seconds to wait for a POP3 server to accept a connection.
    #[arg(long, default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds without traffic after which a connection is closed.
    #[arg(long, default_value_t = 300)]
    pub idle_timeout: u64,
    /// Most open connections in total.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Most open connections from one client IP.
    #[arg(long, default_value_t = 32)]
    pub max_connections_per_ip: usize,
}

impl Cli {
    pub fn into_config(self) -> RelayConfig {
        RelayConfig {
            listen: self.listen,
            dist: self.dist,
            allow: self.allow,
            origins: self.origins,
            demo: self.demo,
            limits: Limits {
                connect_timeout: Duration::from_secs(self.connect_timeout),
                idle_timeout: Duration::from_secs(self.idle_timeout),
                max_connections: self.max_connections,
                max_connections_per_ip: self.max_connections_per_ip,
                ..Limits::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        let d: Destination = "Mail.Example.org:995".parse().unwrap();
        assert_eq!((d.host.as_str(), d.port), ("mail.example.org", 995));
        let d: Destination = "[::1]:110".parse().unwrap();
        assert_eq!((d.host.as_str(), d.port), ("::1", 110));
        assert_eq!(d.to_string(), "[::1]:110");
        assert!("nohost".parse::<Destination>().is_err());
        assert!("host:99999".parse::<Destination>().is_err());
        assert!(":110".parse::<Destination>().is_err());
    }

    #[test]
    fn cli_parses_repeatable_flags() {
        let cli = Cli::parse_from([
            "postino-relay",
            "--listen",
            "127.0.0.1:0",
            "--allow",
            "127.0.0.1:2110",
            "--allow",
            "[::1]:2995",
            "--origin",
            "https://a.example",
            "--demo",
        ]);
        let config = cli.into_config();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.allow.len(), 2);
        assert_eq!(config.origins, ["https://a.example"]);
        assert!(config.demo);
        assert_eq!(config.dist, PathBuf::from("dist"));
    }
}
