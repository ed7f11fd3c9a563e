//! The async POP3 client, generic over any futures-io byte stream: a browser WebSocket or TCP.
//!
//! It drives the sans-IO [`ResponseDecoder`]: it writes a command, then feeds what it reads into
//! the decoder until the response is complete. Time is not read here: callers that need a
//! timeout race these futures against their own timer (DESIGN.md invariant 6).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use rustls::pki_types::ServerName;

use crate::command::Command;
use crate::error::Error;
use crate::response::{BodyEvent, Limits, ResponseDecoder};
use crate::secret::Secret;
use crate::tls::TlsSetup;
use crate::types::{Capabilities, Security, Stat, StatusLine};

/// How to reach and trust the server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The server's name, checked against its certificate.
    pub host: String,
    pub security: Security,
    /// A certificate the user trusted for this account (SHA-256 fingerprint).
    pub pinned_cert: Option<String>,
    pub limits: Limits,
}

impl ConnectOptions {
    pub fn new(host: impl Into<String>, security: Security) -> Self {
        ConnectOptions {
            host: host.into(),
            security,
            pinned_cert: None,
            limits: Limits::default(),
        }
    }
}

/// A stream that is either plain or wrapped in TLS.
pub enum MaybeTls<S> {
    Plain(S),
    Tls(Box<futures_rustls::client::TlsStream<S>>),
}

impl<S> MaybeTls<S> {
    pub fn is_encrypted(&self) -> bool {
        matches!(self, MaybeTls::Tls(_))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_close(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

/// Open a POP3 session over `stream`: TLS as `opts.security` says, the greeting, and CAPA.
///
/// With [`Security::Stls`] it follows RFC 2595: CAPA must offer STLS, the `+OK` to STLS must be
/// the last byte before the handshake, and capabilities seen before TLS are forgotten.
pub async fn connect<S>(stream: S, opts: &ConnectOptions) -> Result<Client<MaybeTls<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match opts.security {
        Security::Tls => {
            let tls = start_tls(stream, opts).await?;
            Client::start(MaybeTls::Tls(Box::new(tls)), opts.limits).await
        }
        // No encryption only for a server on this machine: the password would cross the
        // network in clear otherwise (DESIGN.md, TLS).
        Security::None if !is_loopback_host(&opts.host) => Err(Error::PlaintextRefused),
        Security::None => Client::start(MaybeTls::Plain(stream), opts.limits).await,
        Security::Stls => {
            let mut plain = Client::start(stream, opts.limits).await?;
            if !plain.capabilities().stls {
                return Err(Error::Unsupported("STLS (encryption on port 110)"));
            }
            plain.command(Command::Stls).await?;
            if plain.decoder.buffered() > 0 {
                return Err(Error::DataAfterStls);
            }
            let tls = start_tls(plain.stream, opts).await?;
            let mut client = Client {
                stream: MaybeTls::Tls(Box::new(tls)),
                decoder: ResponseDecoder::new(opts.limits),
                capabilities: Capabilities::default(),
                read_buf: vec![0; READ_CHUNK],
            };
            client.refresh_capabilities().await?;
            Ok(client)
        }
    }
}

async fn start_tls<S>(
    stream: S,
    opts: &ConnectOptions,
) -> Result<futures_rustls::client::TlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let setup = TlsSetup::new(opts.pinned_cert.as_deref())?;
    let name = ServerName::try_from(opts.host.clone())
        .map_err(|_| Error::Tls(format!("{:?} is not a valid server name", opts.host)))?;
    futures_rustls::TlsConnector::from(setup.config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| setup.explain(e))
}

const READ_CHUNK: usize = 16 * 1024;

/// A POP3 session. Commands are sent one at a time and their responses read in full.
pub struct Client<S> {
    stream: S,
    decoder: ResponseDecoder,
    capabilities: Capabilities,
    read_buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Read the greeting and the capabilities.
    pub async fn start(stream: S, limits: Limits) -> Result<Self, Error> {
        let mut client = Client {
            stream,
            decoder: ResponseDecoder::new(limits),
            capabilities: Capabilities::default(),
            read_buf: vec![0; READ_CHUNK],
        };
        let greeting = client.status().await?;
        if !greeting.ok {
            return Err(Error::Server {
                code: greeting.code,
                text: greeting.text,
            });
        }
        client.refresh_capabilities().await?;
        Ok(client)
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Ask CAPA again. A server without CAPA (RFC 1939 only) gets the USER/UIDL/TOP defaults.
    pub async fn refresh_capabilities(&mut self) -> Result<&Capabilities, Error> {
        self.send(&Command::Capa).await?;
        let status = self.status().await?;
        let mut caps = Capabilities::default();
        if status.ok {
            while let Some(line) = self.listing_line().await? {
                caps.add_line(&line);
            }
        } else {
            caps.user = true;
            caps.uidl = true;
            caps.top = true;
        }
        self.capabilities = caps;
        Ok(&self.capabilities)
    }

    /// USER and PASS (RFC 1939 section 7), then CAPA again: some servers announce more after
    /// login. `encrypted` says whether the stream is protected; the caller decides when a plain
    /// stream is acceptable (a server on the user's own machine).
    pub async fn login(&mut self, user: &str, password: &Secret<String>) -> Result<(), Error> {
        let fail = |e: Error| match e {
            Error::Server { code, text } => Error::LoginFailed { code, text },
            other => other,
        };
        self.command(Command::User(user.to_string()))
            .await
            .map_err(fail)?;
        self.command(Command::Pass(password.clone()))
            .await
            .map_err(fail)?;
        self.refresh_capabilities().await?;
        Ok(())
    }

    /// STAT: number of messages and their total size.
    pub async fn stat(&mut self) -> Result<Stat, Error> {
        let status = self.command(Command::Stat).await?;
        let mut words = status.text.split_ascii_whitespace();
        let count = words.next().and_then(|w| w.parse().ok());
        let size = words.next().and_then(|w| w.parse().ok());
        match (count, size) {
            (Some(count), Some(size)) => Ok(Stat { count, size }),
            _ => Err(Error::Protocol(format!(
                "bad STAT answer {:?}",
                status.text
            ))),
        }
    }

    /// UIDL of every message: (message number, unique id), ids kept exactly as sent.
    pub async fn uidl_all(&mut self) -> Result<Vec<(u32, String)>, Error> {
        self.command(Command::Uidl(None)).await?;
        let mut out = Vec::new();
        while let Some(line) = self.listing_line().await? {
            out.push(parse_uidl_line(&line)?);
        }
        Ok(out)
    }

    /// LIST of every message: (message number, size in octets).
    pub async fn list_all(&mut self) -> Result<Vec<(u32, u64)>, Error> {
        self.command(Command::List(None)).await?;
        let mut out = Vec::new();
        while let Some(line) = self.listing_line().await? {
            out.push(parse_list_line(&line)?);
        }
        Ok(out)
    }

    /// RETR: the message streams into `sink` chunk by chunk, dot-unstuffed. Returns its size.
    pub async fn retr(
        &mut self,
        number: u32,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        self.command(Command::Retr(number)).await?;
        let mut total = 0u64;
        loop {
            match self.decoder.body_chunk()? {
                Some(BodyEvent::Data(chunk)) => {
                    total += chunk.len() as u64;
                    sink(&chunk)?;
                }
                Some(BodyEvent::End) => return Ok(total),
                None => self.fill().await?,
            }
        }
    }

    /// QUIT: the server applies deletions now (RFC 1939 section 6), then the stream is closed.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.command(Command::Quit).await?;
        let _ = self.stream.close().await;
        Ok(())
    }

    /// Send a command and read its status line; `-ERR` becomes [`Error::Server`].
    pub async fn command(&mut self, command: Command) -> Result<StatusLine, Error> {
        self.send(&command).await?;
        let status = self.status().await?;
        if !status.ok {
            return Err(Error::Server {
                code: status.code,
                text: status.text,
            });
        }
        Ok(status)
    }

    async fn send(&mut self, command: &Command) -> Result<(), Error> {
        let bytes = command.encode()?;
        self.stream.write_all(&bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    async fn status(&mut self) -> Result<StatusLine, Error> {
        loop {
            if let Some(status) = self.decoder.status_line()? {
                return Ok(status);
            }
            self.fill().await?;
        }
    }

    async fn listing_line(&mut self) -> Result<Option<String>, Error> {
        loop {
            if let Some(line) = self.decoder.listing_line()? {
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<(), Error> {
        let n = self.stream.read(&mut self.read_buf).await?;
        if n == 0 {
            return Err(Error::Closed);
        }
        self.decoder.enqueue_input(&self.read_buf[..n]);
        Ok(())
    }

    /// The underlying stream, for inspection.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

/// `localhost`, 127.0.0.0/8 or ::1: the only hosts that may be used without encryption.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `n uidl`. Tolerates what real servers send: a `+OK ` prefix on each line, padding spaces.
fn parse_uidl_line(line: &str) -> Result<(u32, String), Error> {
    let line = line.strip_prefix("+OK ").unwrap_or(line);
    let mut words = line.split_ascii_whitespace();
    let number = words.next().and_then(|w| w.parse().ok());
    let uidl = words.next();
    match (number, uidl) {
        (Some(n), Some(u)) => Ok((n, u.to_string())),
        _ => Err(Error::Protocol(format!("bad UIDL line {line:?}"))),
    }
}

/// `n size`.
fn parse_list_line(line: &str) -> Result<(u32, u64), Error> {
    let line = line.strip_prefix("+OK ").unwrap_or(line);
    let mut words = line.split_ascii_whitespace();
    let number = words.next().and_then(|w| w.parse().ok());
    let size = words.next().and_then(|w| w.parse().ok());
    match (number, size) {
        (Some(n), Some(s)) => Ok((n, s)),
        _ => Err(Error::Protocol(format!("bad LIST line {line:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidl_line_quirks() {
        assert_eq!(parse_uidl_line("1 abc").unwrap(), (1, "abc".into()));
        assert_eq!(parse_uidl_line("+OK 2 xyz").unwrap(), (2, "xyz".into()));
        assert_eq!(
            parse_uidl_line("3   padded   ").unwrap(),
            (3, "padded".into())
        );
        let long = "u".repeat(200);
        assert_eq!(parse_uidl_line(&format!("4 {long}")).unwrap(), (4, long));
        assert!(parse_uidl_line("x").is_err());
    }

    #[test]
    fn only_loopback_hosts_may_go_unencrypted() {
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(!is_loopback_host("pop.example.org"));
        assert!(!is_loopback_host("192.168.1.10"));
    }

    #[test]
    fn plaintext_to_a_remote_server_is_refused_before_any_byte() {
        let stream = futures_util::io::Cursor::new(Vec::new());
        let opts = ConnectOptions::new("pop.example.org", Security::None);
        let result = futures::executor::block_on(connect(stream, &opts));
        assert!(matches!(result, Err(Error::PlaintextRefused)));
    }

    #[test]
    fn list_line() {
        assert_eq!(parse_list_line("7 1234").unwrap(), (7, 1234));
        assert!(parse_list_line("7").is_err());
    }
}
