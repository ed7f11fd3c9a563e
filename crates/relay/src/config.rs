//! The relay's configuration and its command line.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use crate::forwarded::{Cidr, ForwardedHeader};
use crate::resolver::{Resolver, SystemResolver};

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
    /// A bridged connection is closed this long after it opened, busy or not.
    pub max_session: Duration,
    /// Open WebSocket connections, in total and per client address (IPv4, or IPv6 /64).
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// New WebSocket connections per minute per client address; 0: no limit.
    pub new_connections_per_minute: u32,
    /// Largest WebSocket message (and frame) accepted from the browser.
    pub max_message_size: usize,
    /// A plain HTTP connection (the app's files, `/healthz`, `/metrics`) is closed this long
    /// after it opened, whether a response is in progress or not: a slow reader cannot hold a
    /// socket for ever. A WebSocket is not plain HTTP: its own timeouts apply once upgraded.
    pub http_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_session: Duration::from_secs(7200),
            max_connections: 1024,
            max_connections_per_ip: 32,
            new_connections_per_minute: 60,
            max_message_size: 256 * 1024,
            http_timeout: Duration::from_secs(60),
        }
    }
}

/// The format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// PEM files for TLS on the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
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
    /// When set, a client must offer one of the tokens in this file.
    pub tokens_file: Option<PathBuf>,
    /// Peers whose forwarded-for header is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// The one header those peers write the client's address in.
    pub forwarded_header: ForwardedHeader,
    /// Serve `/metrics` on this address only (and not on `listen`).
    pub metrics_listen: Option<SocketAddr>,
    pub tls: Option<TlsFiles>,
    /// On shutdown, how long open sessions may go on before they are closed.
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    pub resolver: Arc<dyn Resolver>,
    /// Relay-held OAuth clients (README, "Sign-in through the relay").
    pub oauth_file: Option<PathBuf>,
    /// The DNS server of autoconfig's lookups; `None`: the system's (`/etc/resolv.conf`).
    pub dns_server: Option<SocketAddr>,
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
            tokens_file: None,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
            metrics_listen: None,
            tls: None,
            shutdown_grace: Duration::from_secs(30),
            log_format: LogFormat::Text,
            resolver: Arc::new(SystemResolver),
            oauth_file: None,
            dns_server: None,
        }
    }
}

const AFTER_HELP: &str = "\
Every flag can also be set by an environment variable (shown above) or by a key of the TOML file
given with --config: the flag's name with '_' for '-' (listen = \"0.0.0.0:8080\",
allow = [\"mail.lan:110\"], max_session = 3600). Flags win over environment variables, which win
over the file. Repeatable flags take a comma-separated list in their environment variable.
Signals: SIGHUP reloads the TLS certificate and the tokens file; SIGTERM stops accepting
connections and lets open sessions finish for --shutdown-grace seconds.";

/// postino-relay: carries POP3 bytes between the Postino web app (WebSocket) and POP3 servers
/// (TCP), and serves the app.
#[derive(Debug, Default, Parser)]
#[command(name = "postino-relay", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Read settings from this TOML file.
    #[arg(long, env = "POSTINO_RELAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "POSTINO_RELAY_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Folder of the built app, served at `/` [default: dist].
    #[arg(long, env = "POSTINO_RELAY_DIST", value_name = "DIR")]
    pub dist: Option<PathBuf>,
    /// Allow this exact HOST:PORT even on a private or loopback address, as a raw IP address,
    /// or on another port (never 25, 465 or 587). Repeatable.
    #[arg(
        long = "allow",
        env = "POSTINO_RELAY_ALLOW",
        value_name = "HOST:PORT",
        value_delimiter = ','
    )]
    pub allow: Vec<Destination>,
    /// Allowed Origin of the web app, e.g. https://mail.example.org. Repeatable [default: the
    /// relay's own origin, and then the Host header must be the listen address or
    /// localhost:PORT (DNS rebinding)]. Required with a --listen address beyond loopback.
    #[arg(
        long = "origin",
        env = "POSTINO_RELAY_ORIGIN",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub origins: Vec<String>,
    /// Start a demo POP3 mailbox on loopback (user demo, password demo) and allow it.
    #[arg(long, env = "POSTINO_RELAY_DEMO")]
    pub demo: bool,
    /// Require an access token: one per line in FILE ('#' comments); clients offer it as the
    /// subprotocol postino.token.<base64url>. Reread on SIGHUP.
    #[arg(long, env = "POSTINO_RELAY_TOKENS_FILE", value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Believe the --forwarded-header of peers in this range (your reverse proxy), e.g.
    /// 127.0.0.1 or 10.0.0.0/8. Repeatable [default: none, headers ignored].
    #[arg(
        long = "trusted-proxy",
        env = "POSTINO_RELAY_TRUSTED_PROXY",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<Cidr>,
    /// The one header a trusted proxy writes the client's address in; the other is never read
    /// (have the proxy clear it) [default: x-forwarded-for].
    #[arg(long, env = "POSTINO_RELAY_FORWARDED_HEADER", value_name = "HEADER")]
    pub forwarded_header: Option<ForwardedHeader>,
    /// Serve /metrics on this address only, e.g. 127.0.0.1:9090 [default: on --listen, unless
    /// --tokens-file is given: then nowhere].
    #[arg(long, env = "POSTINO_RELAY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve HTTPS/WSS with this PEM certificate chain (with --tls-key). Reread on SIGHUP.
    #[arg(
        long,
        env = "POSTINO_RELAY_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        env = "POSTINO_RELAY_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Seconds to wait for a POP3 server's name and connection [default: 10].
    #[arg(long, env = "POSTINO_RELAY_CONNECT_TIMEOUT", value_name = "SECS")]
    pub connect_timeout: Option<u64>,
    /// Seconds without traffic after which a connection is closed [default: 300].
    #[arg(long, env = "POSTINO_RELAY_IDLE_TIMEOUT", value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Seconds after which any connection is closed [default: 7200].
    #[arg(long, env = "POSTINO_RELAY_MAX_SESSION", value_name = "SECS")]
    pub max_session: Option<u64>,
    /// Most open connections in total [default: 1024].
    #[arg(long, env = "POSTINO_RELAY_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most open connections from one client address (IPv4, or IPv6 /64) [default: 32].
    #[arg(long, env = "POSTINO_RELAY_MAX_CONNECTIONS_PER_IP", value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
    /// Most new connections per minute from one client address, 0 for no limit [default: 60].
    #[arg(
        long,
        env = "POSTINO_RELAY_NEW_CONNECTIONS_PER_MINUTE",
        value_name = "N"
    )]
    pub new_connections_per_minute: Option<u32>,
    /// Largest WebSocket message from the browser, in bytes [default: 262144].
    #[arg(long, env = "POSTINO_RELAY_MAX_MESSAGE_SIZE", value_name = "BYTES")]
    pub max_message_size: Option<usize>,
    /// Seconds after which a plain HTTP connection (the app's files) is closed, response in
    /// progress or not [default: 60].
    #[arg(long, env = "POSTINO_RELAY_HTTP_TIMEOUT", value_name = "SECS")]
    pub http_timeout: Option<u64>,
    /// On SIGTERM, seconds open sessions may go on before they are closed [default: 30].
    #[arg(long, env = "POSTINO_RELAY_SHUTDOWN_GRACE", value_name = "SECS")]
    pub shutdown_grace: Option<u64>,
    /// Log lines as text or JSON (on stderr; metadata only, never payload or tokens)
    /// [default: text]. RUST_LOG sets the level (default info).
    #[arg(long, env = "POSTINO_RELAY_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Offer sign-in with OAuth providers through the relay (Google needs it): the providers,
    /// their client ids and secret files, and the key sealing refresh tokens, in this TOML
    /// file [default: off].
    #[arg(long, env = "POSTINO_RELAY_OAUTH_FILE", value_name = "FILE")]
    pub oauth_file: Option<PathBuf>,
    /// Send autoconfig's DNS queries (SRV, MX, addresses) to this server, e.g. 127.0.0.1:5353
    /// [default: the system's resolvers from /etc/resolv.conf].
    #[arg(long, env = "POSTINO_RELAY_DNS_SERVER", value_name = "ADDR")]
    pub dns_server: Option<SocketAddr>,
}

/// The TOML file of `--config`: the same settings as the flags, `-` written `_`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<String>,
    pub dist: Option<PathBuf>,
    pub allow: Option<Vec<String>>,
    pub origin: Option<Vec<String>>,
    pub demo: Option<bool>,
    pub tokens_file: Option<PathBuf>,
    pub trusted_proxy: Option<Vec<String>>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub connect_timeout: Option<u64>,
    pub idle_timeout: Option<u64>,
    pub max_session: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
    pub new_connections_per_minute: Option<u32>,
    pub max_message_size: Option<usize>,
    pub http_timeout: Option<u64>,
    pub forwarded_header: Option<ForwardedHeader>,
    pub metrics_listen: Option<String>,
    pub shutdown_grace: Option<u64>,
    pub log_format: Option<LogFormat>,
    pub oauth_file: Option<PathBuf>,
    pub dns_server: Option<String>,
}

impl ConfigFile {
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// The flag's list when given, else the file's.
fn list_or<T>(flags: Vec<T>, key: Result<Vec<T>, String>) -> Result<Vec<T>, String> {
    if flags.is_empty() {
        key
    } else {
        Ok(flags)
    }
}

/// Each entry of a list key of the file, parsed, or an error naming the key.
fn parse_list<T: FromStr<Err = String>>(key: &str, list: &[String]) -> Result<Vec<T>, String> {
    list.iter()
        .map(|s| s.parse().map_err(|e| format!("{key}: {e}")))
        .collect()
}

impl Cli {
    /// The configuration: flags (and their environment variables) over the `--config` file over
    /// the defaults.
    pub fn into_config(self) -> Result<RelayConfig, String> {
        let file = match &self.config {
            None => ConfigFile::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("could not read {}: {e}", path.display()))?;
                ConfigFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        self.merge(file)
    }

    pub fn merge(self, file: ConfigFile) -> Result<RelayConfig, String> {
        let d = RelayConfig::default();
        let secs = |flag: Option<u64>, key: Option<u64>, default: Duration| {
            flag.or(key).map_or(default, Duration::from_secs)
        };
        let listen = match (self.listen, &file.listen) {
            (Some(addr), _) => addr,
            (None, Some(s)) => s
                .parse()
                .map_err(|_| format!("listen: {s:?} is not an address and port"))?,
            (None, None) => d.listen,
        };
        let metrics_listen = match (self.metrics_listen, &file.metrics_listen) {
            (Some(addr), _) => Some(addr),
            (None, Some(s)) => Some(
                s.parse()
                    .map_err(|_| format!("metrics_listen: {s:?} is not an address and port"))?,
            ),
            (None, None) => None,
        };
        let dns_server = match (self.dns_server, &file.dns_server) {
            (Some(addr), _) => Some(addr),
            (None, Some(s)) => Some(
                s.parse()
                    .map_err(|_| format!("dns_server: {s:?} is not an address and port"))?,
            ),
            (None, None) => None,
        };
        let allow = list_or(
            self.allow,
            parse_list("allow", file.allow.as_deref().unwrap_or_default()),
        )?;
        let trusted_proxies = list_or(
            self.trusted_proxies,
            parse_list(
                "trusted_proxy",
                file.trusted_proxy.as_deref().unwrap_or_default(),
            ),
        )?;
        let origins = if self.origins.is_empty() {
            file.origin.unwrap_or_default()
        } else {
            self.origins
        };
        let tls = match (
            self.tls_cert.or(file.tls_cert),
            self.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => return Err("tls_cert and tls_key go together: give both or neither".into()),
        };
        let dl = d.limits;
        Ok(RelayConfig {
            listen,
            dist: self.dist.or(file.dist).unwrap_or(d.dist),
            allow,
            origins,
            demo: self.demo || file.demo.unwrap_or(false),
            limits: Limits {
                connect_timeout: secs(
                    self.connect_timeout,
                    file.connect_timeout,
                    dl.connect_timeout,
                ),
                idle_timeout: secs(self.idle_timeout, file.idle_timeout, dl.idle_timeout),
                max_session: secs(self.max_session, file.max_session, dl.max_session),
                max_connections: self
                    .max_connections
                    .or(file.max_connections)
                    .unwrap_or(dl.max_connections),
                max_connections_per_ip: self
                    .max_connections_per_ip
                    .or(file.max_connections_per_ip)
                    .unwrap_or(dl.max_connections_per_ip),
                new_connections_per_minute: self
                    .new_connections_per_minute
                    .or(file.new_connections_per_minute)
                    .unwrap_or(dl.new_connections_per_minute),
                max_message_size: self
                    .max_message_size
                    .or(file.max_message_size)
                    .unwrap_or(dl.max_message_size),
                http_timeout: secs(self.http_timeout, file.http_timeout, dl.http_timeout),
            },
            tokens_file: self.tokens_file.or(file.tokens_file),
            trusted_proxies,
            forwarded_header: self
                .forwarded_header
                .or(file.forwarded_header)
                .unwrap_or_default(),
            metrics_listen,
            tls,
            shutdown_grace: secs(self.shutdown_grace, file.shutdown_grace, d.shutdown_grace),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            resolver: d.resolver,
            oauth_file: self.oauth_file.or(file.oauth_file),
            dns_server,
        })
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
        let config = cli.into_config().unwrap();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.allow.len(), 2);
        assert_eq!(config.origins, ["https://a.example"]);
        assert!(config.demo);
        assert_eq!(config.dist, PathBuf::from("dist"));
    }

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let file = ConfigFile::parse(
            r#"
listen = "0.0.0.0:9000"
allow = ["mail.lan:110"]
trusted_proxy = ["10.0.0.0/8"]
forwarded_header = "forwarded"
metrics_listen = "127.0.0.1:9090"
idle_timeout = 60
max_session = 600
log_format = "json"
tls_cert = "/etc/cert.pem"
tls_key = "/etc/key.pem"
"#,
        )
        .unwrap();
        let cli = Cli::parse_from(["postino-relay", "--idle-timeout", "5"]);
        let config = cli.merge(file).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.allow[0].host, "mail.lan");
        assert_eq!(config.trusted_proxies[0].to_string(), "10.0.0.0/8");
        assert_eq!(config.forwarded_header, ForwardedHeader::Forwarded);
        assert_eq!(
            config.metrics_listen,
            Some("127.0.0.1:9090".parse().unwrap())
        );
        assert_eq!(config.limits.idle_timeout, Duration::from_secs(5));
        assert_eq!(config.limits.max_session, Duration::from_secs(600));
        assert_eq!(config.limits.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.tls.unwrap().key, PathBuf::from("/etc/key.pem"));
    }

    #[test]
    fn the_dns_server_comes_from_the_flag_or_the_file() {
        let cli = Cli::parse_from(["postino-relay", "--dns-server", "127.0.0.1:5353"]);
        let config = cli.merge(ConfigFile::default()).unwrap();
        assert_eq!(config.dns_server, Some("127.0.0.1:5353".parse().unwrap()));
        let file = ConfigFile::parse("dns_server = \"[::1]:53\"").unwrap();
        let config = Cli::parse_from(["postino-relay"]).merge(file).unwrap();
        assert_eq!(config.dns_server, Some("[::1]:53".parse().unwrap()));
        let file = ConfigFile::parse("dns_server = \"resolver.lan\"").unwrap();
        let err = Cli::parse_from(["postino-relay"]).merge(file).unwrap_err();
        assert!(err.starts_with("dns_server: "), "{err}");
        assert_eq!(RelayConfig::default().dns_server, None);
    }

    #[test]
    fn file_errors_name_the_key() {
        assert!(ConfigFile::parse("listen_on = 1")
            .unwrap_err()
            .contains("listen_on"));
        let file = ConfigFile::parse("allow = [\"nohost\"]").unwrap();
        let err = Cli::parse_from(["postino-relay"]).merge(file).unwrap_err();
        assert!(err.starts_with("allow: "), "{err}");
        let file = ConfigFile::parse("tls_cert = \"/c.pem\"").unwrap();
        assert!(Cli::parse_from(["postino-relay"]).merge(file).is_err());
    }
}
