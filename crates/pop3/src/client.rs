//! The async POP3 client, generic over any futures-io byte stream: a browser WebSocket or TCP.
//!
//! It drives the sans-IO [`ResponseDecoder`]: it writes a command, then feeds what it reads into
//! the decoder until the response is complete. Time is not read here: callers that need a
//! timeout race these futures against their own timer (DESIGN.md invariant 6).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use rustls::pki_types::ServerName;

use crate::auth::{attempts, AuthChoice, AuthMethod};
use crate::command::Command;
use crate::error::{Error, TLS_ONLY_PORT};
use crate::response::{BodyEvent, Limits, ListingKind, ResponseDecoder};
use crate::sasl::{always_two_step, initial_response_fits, Mechanism, SaslClient, MAX_AUTH_LINE};
use crate::secret::Secret;
use crate::tls::TlsSetup;
use crate::types::{Capabilities, ResponseCode, Security, Stat, StatusLine};

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
///
/// For Microsoft's servers ([`always_two_step`]) SASL initial responses always go in two steps.
pub async fn connect<S>(stream: S, opts: &ConnectOptions) -> Result<Client<MaybeTls<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut client = connect_as_asked(stream, opts).await?;
    client.sasl_two_step = always_two_step(&opts.host);
    Ok(client)
}

async fn connect_as_asked<S>(stream: S, opts: &ConnectOptions) -> Result<Client<MaybeTls<S>>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match opts.security {
        Security::Tls => {
            let tls = start_tls(stream, opts).await?;
            let mut client = Client::start(MaybeTls::Tls(Box::new(tls)), opts.limits).await?;
            client.password_may_be_sent = true;
            Ok(client)
        }
        // No encryption only for a server on this machine: the password would cross the
        // network in clear otherwise (DESIGN.md, TLS).
        Security::None if !is_loopback_host(&opts.host) => Err(Error::PlaintextRefused),
        Security::None => {
            let mut client = Client::start(MaybeTls::Plain(stream), opts.limits).await?;
            client.password_may_be_sent = true;
            Ok(client)
        }
        Security::Stls => {
            let mut plain = Client::start(stream, opts.limits).await?;
            if !plain.capabilities().stls {
                return Err(Error::Unsupported("STLS (encryption on port 110)"));
            }
            // Nothing pipelined before this point: the +OK is the last line read.
            plain.command(Command::Stls).await?;
            if plain.decoder.buffered() > 0 {
                return Err(Error::DataAfterStls);
            }
            let tls = start_tls(plain.stream, opts).await?;
            let mut client = Client::over(MaybeTls::Tls(Box::new(tls)), opts.limits);
            client.apop_timestamp = plain.apop_timestamp;
            client.password_may_be_sent = true;
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

/// Commands in flight when the server offers PIPELINING (RFC 2449 section 6.6). mpop keeps up to
/// 100; 64 short commands stay far below any TCP window, so writing never waits on reading.
pub const PIPELINE_WINDOW: usize = 64;

/// UIDL's answer beside LIST's ([`Client::list_and_uidl_all`]): the ids, or why there are none.
pub type UidlListing = Result<Vec<(u32, String)>, Error>;

/// The answer to one command sent with [`Client::send_pipelined`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelinedResponse {
    /// The command this answers: responses come in the order commands were sent.
    pub command: Command,
    /// `+OK` or `-ERR`. A `-ERR` answers this command only: the others go on.
    pub status: StatusLine,
    /// Octets of the multi-line body streamed into the sink (dot-unstuffed); 0 for single-line
    /// answers and for `-ERR`.
    pub body_len: u64,
}

impl PipelinedResponse {
    /// `-ERR` as [`Error::Server`], so that `?` can stop at it.
    pub fn into_result(self) -> Result<PipelinedResponse, Error> {
        if self.status.ok {
            Ok(self)
        } else {
            Err(Error::Server {
                code: self.status.code,
                text: self.status.text,
            })
        }
    }
}

/// A POP3 session over the byte stream `S`.
///
/// # Two ways to send commands
///
/// **One at a time**: [`Client::login`], [`Client::stat`], [`Client::retr`], [`Client::top`],
/// [`Client::dele`] and the others send a command and read its whole response. They need an
/// empty pipeline and return [`Error::Usage`] otherwise.
///
/// **Pipelined** (RFC 2449 section 6.6), driven by the caller:
///
/// 1. [`Client::send_pipelined`] queues a command. It is not written yet: queued commands are
///    written together, in one write, by the next [`Client::next_response`] or
///    [`Client::flush`]. At most [`Client::window`] commands may be in flight (queued or sent,
///    not yet answered): 64 when the server's CAPA lists PIPELINING, 1 otherwise, so the same
///    caller code is sequential against servers without PIPELINING. One more is
///    [`Error::Usage`].
/// 2. [`Client::next_response`] reads the response to the oldest command in flight, streaming
///    a multi-line body (RETR, TOP, LIST, UIDL) into the sink, dot-unstuffed, chunk by chunk,
///    and returns a [`PipelinedResponse`]. Responses come back in the order of the commands. A
///    `-ERR` is a normal response (`status.ok == false`) and leaves the others in order.
/// 3. Between two calls the caller may do anything, for example commit the message just read
///    to its store and only then queue its DELE (DESIGN.md invariant 1). Call
///    [`Client::flush`] before slow work so the server is busy meanwhile.
///
/// A typical download keeps the window full:
///
/// ```no_run
/// # async fn run<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(
/// #     client: &mut postino_pop3::Client<S>, numbers: Vec<u32>,
/// # ) -> Result<(), postino_pop3::Error> {
/// use postino_pop3::command::Command;
/// let mut next = numbers.into_iter();
/// loop {
///     while client.in_flight() < client.window() {
///         match next.next() {
///             Some(n) => client.send_pipelined(Command::Retr(n))?,
///             None => break,
///         }
///     }
///     if client.in_flight() == 0 {
///         break;
///     }
///     let mut message = Vec::new();
///     let response = client
///         .next_response(&mut |chunk| Ok(message.extend_from_slice(chunk)))
///         .await?;
///     // store `message` when response.status.ok ...
/// }
/// # Ok(()) }
/// ```
///
/// After an error from [`Client::next_response`] or any other call that stopped in the middle
/// of a response (an I/O error, a limit, a sink error, or a future dropped by a timeout), the
/// session is out of step with the server: every further call returns [`Error::Usage`], and
/// the caller should drop the client and connect again. Deletions are applied only by a
/// successful [`Client::quit`] (RFC 1939 section 6).
pub struct Client<S> {
    stream: S,
    decoder: ResponseDecoder,
    capabilities: Capabilities,
    read_buf: Vec<u8>,
    /// Encoded commands not yet written.
    unsent: Vec<u8>,
    /// Commands queued or sent and not yet answered, oldest first.
    in_flight: VecDeque<Command>,
    /// The `<...>` timestamp of the greeting, for APOP (RFC 1939 section 7).
    apop_timestamp: Option<String>,
    /// A response was left half-read: the session can no longer be trusted.
    broken: bool,
    /// The stream is encrypted, or goes to this machine ([`connect`] sets it): a login that
    /// fell back may send the password itself (PLAIN, USER/PASS).
    password_may_be_sent: bool,
    /// The server accepted `UTF8` (RFC 6856).
    utf8: bool,
    /// Methods the server refused in the last [`Client::login_with`].
    refused: Vec<AuthMethod>,
    /// Send SASL initial responses after the server's `+ `, never on the AUTH line.
    sasl_two_step: bool,
    /// The longest AUTH line with an initial response, CRLF included.
    max_auth_line: usize,
    /// The CAPA after login is queued (the oldest command in flight) and not read yet: it goes
    /// out with the session's first commands, and is read before their responses
    /// ([`Client::after_login`]).
    capa_owed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Read the greeting and the capabilities.
    pub async fn start(stream: S, limits: Limits) -> Result<Self, Error> {
        let mut client = Client::over(stream, limits);
        let greeting = client.greeting().await?;
        if !greeting.ok {
            return Err(Error::Server {
                code: greeting.code,
                text: greeting.text,
            });
        }
        client.apop_timestamp = apop_timestamp(&greeting.text);
        client.refresh_capabilities().await?;
        Ok(client)
    }

    fn over(stream: S, limits: Limits) -> Self {
        Client {
            stream,
            decoder: ResponseDecoder::new(limits),
            capabilities: Capabilities::default(),
            read_buf: vec![0; READ_CHUNK],
            unsent: Vec::new(),
            in_flight: VecDeque::new(),
            apop_timestamp: None,
            broken: false,
            password_may_be_sent: false,
            utf8: false,
            refused: Vec::new(),
            sasl_two_step: false,
            max_auth_line: MAX_AUTH_LINE,
            capa_owed: false,
        }
    }

    /// Always send SASL initial responses in two steps (`AUTH mechanism`, then the response
    /// after the server's `+ `), even when they would fit the AUTH line. [`connect`] turns it
    /// on for Microsoft's servers; off, only responses too long for the line wait.
    pub fn set_sasl_two_step(&mut self, always: bool) {
        self.sasl_two_step = always;
    }

    /// Whether SASL initial responses always go in two steps (see
    /// [`Client::set_sasl_two_step`]).
    pub fn sasl_two_step(&self) -> bool {
        self.sasl_two_step
    }

    /// The longest AUTH line (CRLF included) that may carry an initial response: 255 octets by
    /// RFC 5034 section 4, "unless the server says otherwise". For a server known to take
    /// longer lines (Gmail and Dovecot take an access token on the AUTH line) a larger value
    /// saves a round trip; two steps ([`Client::set_sasl_two_step`]) win over it.
    pub fn set_max_auth_line(&mut self, octets: usize) {
        self.max_auth_line = octets;
    }

    /// The greeting. A first byte that cannot start `+OK` or `-ERR` fails at once instead of
    /// waiting for a line end that never comes: a TLS record (0x15 alert, 0x16 handshake) means
    /// the port expects TLS from the first byte.
    async fn greeting(&mut self) -> Result<StatusLine, Error> {
        while self.decoder.buffered() == 0 {
            self.fill().await?;
        }
        match self.decoder.peek_byte() {
            Some(0x14..=0x17) => Err(Error::SecurityMismatch(TLS_ONLY_PORT)),
            Some(b'+' | b'-') => self.status().await,
            _ => Err(Error::Protocol(
                "the server's greeting is not POP3: check the host and the port".into(),
            )),
        }
    }

    /// The methods the server refused before the last login succeeded (empty when the first
    /// try worked): worth telling the user, who may choose the one that worked.
    pub fn refused_before_login(&self) -> &[AuthMethod] {
        &self.refused
    }

    /// Whether APOP can be chosen: the greeting carries the `<...>` timestamp it needs
    /// (RFC 1939 section 7). Settings offer APOP only then.
    pub fn apop_offered(&self) -> bool {
        self.apop_timestamp.is_some()
    }

    /// Whether the server accepted `UTF8` (RFC 6856) in this session.
    pub fn utf8_enabled(&self) -> bool {
        self.utf8
    }

    /// What the server's last CAPA listed. Right after a login they are still those of before
    /// it until the next response is read ([`Client::after_login`]), or
    /// [`Client::refresh_capabilities`] is called.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// How many commands may be in flight: [`PIPELINE_WINDOW`] when the server offers
    /// PIPELINING, else 1.
    pub fn window(&self) -> usize {
        if self.capabilities.pipelining {
            PIPELINE_WINDOW
        } else {
            1
        }
    }

    /// Commands queued or sent whose response was not read yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len() - usize::from(self.capa_owed)
    }

    /// The command whose response [`Client::next_response`] reads next.
    pub fn next_in_flight(&self) -> Option<&Command> {
        self.in_flight.get(usize::from(self.capa_owed))
    }

    /// Ask CAPA again. A server without CAPA (RFC 1939 only) gets the USER/UIDL/TOP defaults.
    /// Right after login, this reads the CAPA already queued ([`Client::after_login`]).
    pub async fn refresh_capabilities(&mut self) -> Result<&Capabilities, Error> {
        if !self.capa_owed {
            self.ensure_idle()?;
            self.queue(Command::Capa)?;
            self.capa_owed = true;
        }
        self.flush().await?;
        self.read_owed_capa().await?;
        Ok(&self.capabilities)
    }

    /// Reads the response to the owed CAPA (queued after login, or by
    /// [`Client::refresh_capabilities`]), if there is one, into the capabilities: before any
    /// response to the commands queued after it. It must have been flushed.
    async fn read_owed_capa(&mut self) -> Result<(), Error> {
        if !self.capa_owed {
            return Ok(());
        }
        self.capa_owed = false;
        let mut caps = Capabilities::default();
        let status = self
            .read_listing(ListingKind::Capa, &mut |line| {
                caps.add_line(&line);
                Ok(())
            })
            .await?;
        if !status.ok {
            caps.user = true;
            caps.uidl = true;
            caps.top = true;
        }
        self.capabilities = caps;
        Ok(())
    }

    /// After a login: CAPA again, as servers announce more (PIPELINING, TOP, EXPIRE) once the
    /// user is known (RFC 2449 section 5). Where the server pipelines, the CAPA is only queued:
    /// it goes out with the session's first commands (LIST and UIDL) and is read before their
    /// responses, which saves a round trip on every check. Until then [`Client::capabilities`]
    /// are those of before the login.
    async fn after_login(&mut self) -> Result<(), Error> {
        if self.window() >= 2 {
            self.queue(Command::Capa)?;
            self.capa_owed = true;
            Ok(())
        } else {
            self.refresh_capabilities().await.map(|_| ())
        }
    }

    /// Log in with [`AuthChoice::Automatic`] and nothing learned: see [`Client::login_with`].
    pub async fn login(
        &mut self,
        user: &str,
        password: &Secret<String>,
    ) -> Result<AuthMethod, Error> {
        self.login_with(user, password, AuthChoice::Automatic, None)
            .await
    }

    /// Log in as the user chose, and say which method worked (remember it as `learned` for the
    /// next login). `UTF8` goes first when the server offers it (RFC 6856). Then CAPA again:
    /// some servers announce more (PIPELINING, TOP) after login.
    ///
    /// With [`AuthChoice::Automatic`] the methods of [`crate::auth::attempts`] are tried in
    /// turn, because servers list mechanisms their password backend cannot check (Cyrus with
    /// saslauthd, Dovecot with hashed passwords) and refuse them as if the password were wrong.
    /// After a refusal the next method is tried, except:
    /// - `[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]` (try later) and `[SYS/PERM]` stop at once;
    /// - a refusal of a method that sent the password itself (PLAIN, LOGIN, USER/PASS) with
    ///   `[AUTH]` is conclusive: the password is wrong;
    /// - the password itself is sent after a refusal only over TLS or to this machine;
    /// - anything but a refusal (a SCRAM server that cannot prove itself, a broken line) stops.
    ///
    /// A wrong password gives one [`Error::LoginFailed`], naming the methods tried. A server
    /// that hangs up after a refusal gives an [`Error::LoginFailed`] that names the method the
    /// user may choose instead.
    ///
    /// Whether the stream may carry this is decided by [`connect`]: never in clear to a server
    /// that is not on this machine.
    pub async fn login_with(
        &mut self,
        user: &str,
        password: &Secret<String>,
        choice: AuthChoice,
        learned: Option<AuthMethod>,
    ) -> Result<AuthMethod, Error> {
        self.enable_utf8().await?;
        let tries = attempts(choice, learned, &self.capabilities);
        self.refused.clear();
        let mut refused: Vec<AuthMethod> = Vec::new();
        let mut last: Option<(Option<ResponseCode>, String)> = None;
        let mut skipped_in_clear = false;
        for method in tries {
            if !refused.is_empty() && method.sends_password() && !self.password_may_be_sent {
                skipped_in_clear = true;
                continue;
            }
            let result = match method {
                AuthMethod::Sasl(m) => self.authenticate(user, password, m).await,
                AuthMethod::Apop => self.apop(user, password).await,
                AuthMethod::UserPass => self.user_pass(user, password).await,
            };
            match result {
                Ok(()) => {
                    self.refused = refused;
                    return Ok(method);
                }
                Err(Error::LoginFailed { code, text }) => {
                    let stop = match &code {
                        Some(c) if c.is_temporary() || *c == ResponseCode::SysPerm => true,
                        Some(ResponseCode::Auth) => method.sends_password(),
                        _ => false,
                    };
                    refused.push(method);
                    if stop {
                        last = Some((code, text));
                        break;
                    }
                    last = Some((code, text));
                }
                Err(Error::Closed | Error::Io(_)) if !refused.is_empty() => {
                    let tried = list(&refused);
                    return Err(Error::LoginFailed {
                        code: None,
                        text: format!(
                            "the server refused {tried}, then closed the connection before \
                             {method} could be tried; if the password is right, choose \
                             {method} as the login method for this account"
                        ),
                    });
                }
                Err(other) => return Err(other),
            }
        }
        let Some((code, mut text)) = last else {
            return Err(Error::Unsupported(
                "a password login (it lists neither USER nor a SASL mechanism Postino knows)",
            ));
        };
        if refused.len() > 1 {
            text = format!("{text} (tried {})", list(&refused));
        }
        if skipped_in_clear {
            text = format!(
                "{text} (PLAIN and USER/PASS were not tried: the connection is not encrypted)"
            );
        }
        Err(Error::LoginFailed { code, text })
    }

    /// `UTF8` (RFC 6856) when the server offers it, once, before login: Courier otherwise
    /// replaces a message with UTF-8 headers by a notice, and deleting after download would
    /// remove the original. A `-ERR` leaves the session as it was.
    async fn enable_utf8(&mut self) -> Result<(), Error> {
        if !self.capabilities.utf8 || self.utf8 {
            return Ok(());
        }
        match self.command(Command::Utf8).await {
            Ok(_) => self.utf8 = true,
            Err(Error::Server { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Log in with an OAuth 2.0 access token: OAUTHBEARER, else XOAUTH2, and say which.
    ///
    /// A server whose CAPA lists no SASL mechanism at all is tried with XOAUTH2, as Microsoft's
    /// servers need (their CAPA does not always list it); one that lists mechanisms but neither
    /// of these does not take tokens: [`Error::Unsupported`].
    pub async fn login_oauth(
        &mut self,
        user: &str,
        token: &Secret<String>,
    ) -> Result<Mechanism, Error> {
        let mechanism = match Mechanism::strongest_oauth(&self.capabilities.sasl) {
            Some(m) => m,
            None if self.capabilities.sasl.is_empty() => Mechanism::XOAuth2,
            None => {
                return Err(Error::Unsupported(
                    "OAuth 2.0 login (SASL XOAUTH2 or OAUTHBEARER)",
                ))
            }
        };
        self.enable_utf8().await?;
        self.authenticate(user, token, mechanism).await?;
        Ok(mechanism)
    }

    /// USER and PASS (RFC 1939 section 7), then CAPA again.
    pub async fn user_pass(&mut self, user: &str, password: &Secret<String>) -> Result<(), Error> {
        self.command(Command::User(user.to_string()))
            .await
            .map_err(login_failed)?;
        self.command(Command::Pass(password.clone()))
            .await
            .map_err(login_failed)?;
        self.after_login().await
    }

    /// APOP (RFC 1939 section 7): MD5 of the greeting's timestamp and the secret, so the
    /// secret itself never crosses the wire. Opt-in only: MD5 is broken and the server must
    /// store the secret in clear; prefer TLS with [`Client::login`].
    pub async fn apop(&mut self, user: &str, secret: &Secret<String>) -> Result<(), Error> {
        use md5::Digest as _;
        let timestamp = self
            .apop_timestamp
            .clone()
            .ok_or(Error::Unsupported("APOP (the greeting has no timestamp)"))?;
        let mut md5 = md5::Md5::new();
        md5.update(timestamp.as_bytes());
        md5.update(secret.expose().as_bytes());
        let digest = crate::sasl::hex(&md5.finalize());
        self.command(Command::Apop {
            user: user.to_string(),
            digest,
        })
        .await
        .map_err(login_failed)?;
        self.after_login().await
    }

    /// SASL authentication with `mechanism` (RFC 5034), then CAPA again. For XOAUTH2 and
    /// OAUTHBEARER `secret` is the access token. The initial response goes on the AUTH line
    /// only when the line fits 255 octets and two steps are not asked for
    /// ([`Client::set_sasl_two_step`]); otherwise after the server's first `+ `.
    ///
    /// A refused token is [`Error::TokenRefused`], with the server's error challenge decoded
    /// (it is answered as the mechanism wants: an empty line for XOAUTH2, `^A` for
    /// OAUTHBEARER, and the final `-ERR` read), so the caller can refresh once and retry.
    pub async fn authenticate(
        &mut self,
        user: &str,
        secret: &Secret<String>,
        mechanism: Mechanism,
    ) -> Result<(), Error> {
        self.ensure_idle()?;
        let mut sasl = SaslClient::new(mechanism, user, secret)?;
        let initial = sasl.initial_response().map(|ir| {
            let b64 = crate::sasl::encode(ir.expose());
            Secret::new(if b64.is_empty() { "=".to_string() } else { b64 })
        });
        let inline_fits = !self.sasl_two_step
            && initial.as_ref().is_some_and(|ir| {
                initial_response_fits(mechanism, ir.expose().len(), self.max_auth_line)
            });
        let (on_line, mut pending) = match initial {
            Some(ir) if inline_fits => (Some(ir), None),
            other => (None, other),
        };
        self.broken = true;
        self.write_now(
            &Command::Auth {
                mechanism: mechanism.name().to_string(),
                initial: on_line,
            }
            .encode()?,
        )
        .await?;
        loop {
            let line = loop {
                if let Some(line) = self.decoder.continuation_or_status()? {
                    break line;
                }
                self.fill().await?;
            };
            match line {
                Ok(challenge) => {
                    let answer = match pending.take() {
                        // The initial response that did not fit the AUTH line.
                        Some(ir) if challenge.is_empty() => Ok(ir),
                        Some(_) => Err(Error::Protocol(
                            "the server sent a challenge before the initial response".into(),
                        )),
                        None => crate::sasl::decode(&challenge)
                            .and_then(|c| sasl.respond(&c))
                            .map(|r| Secret::new(crate::sasl::encode(r.expose()))),
                    };
                    match answer {
                        Ok(answer) => {
                            let mut line = answer.expose().clone().into_bytes();
                            line.extend_from_slice(b"\r\n");
                            self.write_now(&line).await?;
                        }
                        Err(e) => {
                            // RFC 5034 section 4: "*" cancels; the server answers -ERR.
                            self.write_now(b"*\r\n").await?;
                            self.status().await?;
                            self.broken = false;
                            return Err(e);
                        }
                    }
                }
                Err(status) if status.ok => {
                    self.broken = false;
                    sasl.finish()?;
                    return self.after_login().await;
                }
                Err(status) => {
                    self.broken = false;
                    return Err(sasl.refusal(status));
                }
            }
        }
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
    ///
    /// A `-ERR` means the server has no UIDL (RFC 1939 makes it optional):
    /// [`Error::Unsupported`] with [`NO_UIDL`], so that the caller can identify messages
    /// another way.
    pub async fn uidl_all(&mut self) -> Result<Vec<(u32, String)>, Error> {
        let mut out = Vec::new();
        let status = self
            .listing(Command::Uidl(None), ListingKind::Uidl, &mut |line| {
                out.push(parse_uidl_line(&line)?);
                Ok(())
            })
            .await?;
        self.uidl_refusal(status)?;
        Ok(out)
    }

    /// Why a `-ERR` to UIDL is an error, or that the server has no UIDL ([`NO_UIDL`]).
    fn uidl_refusal(&self, status: StatusLine) -> Result<(), Error> {
        if status.ok {
            return Ok(());
        }
        // Only a server that does not announce UIDL, refusing it for good, lacks it. A
        // temporary refusal, or one from a server that lists UIDL in CAPA, is an error to
        // retry: naming messages another way would download the whole mailbox again.
        let temporary = status.code.as_ref().is_some_and(|c| c.is_temporary());
        if temporary || self.capabilities.uidl {
            return Err(Error::Server {
                code: status.code,
                text: status.text,
            });
        }
        Err(Error::Unsupported(NO_UIDL))
    }

    /// LIST of every message: (message number, size in octets).
    pub async fn list_all(&mut self) -> Result<Vec<(u32, u64)>, Error> {
        let mut out = Vec::new();
        let status = self
            .listing(Command::List(None), ListingKind::List, &mut |line| {
                out.push(parse_list_line(&line)?);
                Ok(())
            })
            .await?;
        list_refusal(status)?;
        Ok(out)
    }

    /// LIST and UIDL of every message, as [`Client::list_all`] and [`Client::uidl_all`] give
    /// them, sent together where the server pipelines (RFC 2449 PIPELINING): one round trip
    /// instead of two before a download can start, on every check. A refused LIST is the
    /// error; UIDL's own result (a refusal included) is the second item.
    pub async fn list_and_uidl_all(&mut self) -> Result<(Vec<(u32, u64)>, UidlListing), Error> {
        if self.window() < 2 {
            let sizes = self.list_all().await?;
            return Ok((sizes, self.uidl_all().await));
        }
        self.ensure_idle()?;
        self.queue(Command::List(None))?;
        self.queue(Command::Uidl(None))?;
        self.flush().await?;
        self.read_owed_capa().await?;
        let mut sizes = Vec::new();
        let list = self
            .read_listing(ListingKind::List, &mut |line| {
                sizes.push(parse_list_line(&line)?);
                Ok(())
            })
            .await?;
        let mut uidls = Vec::new();
        let uidl = self
            .read_listing(ListingKind::Uidl, &mut |line| {
                uidls.push(parse_uidl_line(&line)?);
                Ok(())
            })
            .await?;
        // Both responses were read: the session stays usable whichever was refused.
        list_refusal(list)?;
        let uidls = self.uidl_refusal(uidl).map(|()| uidls);
        Ok((sizes, uidls))
    }

    /// `UIDL n`: the unique id of one message.
    pub async fn uidl(&mut self, number: u32) -> Result<String, Error> {
        let status = self.command(Command::Uidl(Some(number))).await?;
        Ok(parse_uidl_line(&status.text)?.1)
    }

    /// `LIST n`: the size of one message in octets.
    pub async fn list(&mut self, number: u32) -> Result<u64, Error> {
        let status = self.command(Command::List(Some(number))).await?;
        Ok(parse_list_line(&status.text)?.1)
    }

    /// RETR: the message streams into `sink` chunk by chunk, dot-unstuffed. Returns its size.
    pub async fn retr(
        &mut self,
        number: u32,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let response = self.exchange(Command::Retr(number), sink).await?;
        Ok(response.into_result()?.body_len)
    }

    /// `TOP n lines`: the header and the first `lines` body lines stream into `sink`.
    pub async fn top(
        &mut self,
        number: u32,
        lines: u32,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let response = self.exchange(Command::Top(number, lines), sink).await?;
        Ok(response.into_result()?.body_len)
    }

    /// DELE: mark a message; the server removes it at a successful QUIT only.
    pub async fn dele(&mut self, number: u32) -> Result<(), Error> {
        self.command(Command::Dele(number)).await.map(drop)
    }

    /// RSET: unmark every message marked by DELE in this session.
    pub async fn rset(&mut self) -> Result<(), Error> {
        self.command(Command::Rset).await.map(drop)
    }

    /// NOOP: keeps an idle connection open (Outlook drops it after about 60 s).
    pub async fn noop(&mut self) -> Result<(), Error> {
        self.command(Command::Noop).await.map(drop)
    }

    /// QUIT: the server applies deletions now (RFC 1939 section 6), then the stream is closed.
    /// Responses still in flight are read (and bodies dropped) first. A `-ERR` to QUIT means the
    /// deletions may not have happened: it is an [`Error::Server`].
    pub async fn quit(mut self) -> Result<(), Error> {
        while self.in_flight() > 0 {
            self.next_response(&mut |_| Ok(())).await?;
        }
        self.command(Command::Quit).await?;
        let _ = self.stream.close().await;
        Ok(())
    }

    /// Send a command and read its status line; `-ERR` becomes [`Error::Server`]. A multi-line
    /// body, if any, is read and dropped.
    pub async fn command(&mut self, command: Command) -> Result<StatusLine, Error> {
        let response = self.exchange(command, &mut |_| Ok(())).await?;
        Ok(response.into_result()?.status)
    }

    /// Queue `command` for pipelining (see the [`Client`] docs for the contract). STLS and AUTH
    /// cannot be pipelined.
    pub fn send_pipelined(&mut self, command: Command) -> Result<(), Error> {
        self.check_usable()?;
        if matches!(command, Command::Stls | Command::Auth { .. }) {
            return Err(Error::Usage("STLS and AUTH cannot be pipelined"));
        }
        // The CAPA owed after login is not the caller's: it does not count.
        if self.in_flight() >= self.window() {
            return Err(Error::Usage(
                "more commands in flight than window() allows: read a response first",
            ));
        }
        self.queue(command)
    }

    /// Write the queued commands now.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.check_usable()?;
        if self.unsent.is_empty() {
            return Ok(());
        }
        let unsent = std::mem::take(&mut self.unsent);
        self.broken = true;
        self.write_now(&unsent).await?;
        self.broken = false;
        Ok(())
    }

    /// Read the response to the oldest command in flight; a multi-line body streams into
    /// `sink`. Writes the queued commands first. See the [`Client`] docs for the contract.
    pub async fn next_response(
        &mut self,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<PipelinedResponse, Error> {
        self.check_usable()?;
        if self.in_flight() == 0 {
            return Err(Error::Usage("next_response with no command in flight"));
        }
        self.flush().await?;
        self.read_owed_capa().await?;
        self.broken = true;
        let status = self.status().await?;
        let Some(command) = self.in_flight.pop_front() else {
            return Err(Error::Usage("next_response with no command in flight"));
        };
        let mut body_len = 0u64;
        if status.ok && command.is_multiline() {
            loop {
                match self.decoder.body_chunk()? {
                    Some(BodyEvent::Data(chunk)) => {
                        body_len += chunk.len() as u64;
                        sink(&chunk)?;
                    }
                    Some(BodyEvent::End) => break,
                    None => self.fill().await?,
                }
            }
        }
        self.broken = false;
        Ok(PipelinedResponse {
            command,
            status,
            body_len,
        })
    }

    /// One command and its whole response, with nothing else in flight.
    async fn exchange(
        &mut self,
        command: Command,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<PipelinedResponse, Error> {
        self.ensure_idle()?;
        self.queue(command)?;
        self.next_response(sink).await
    }

    /// A multi-line listing (CAPA, UIDL, LIST), line by line into `each`, within the limits of
    /// its kind ([`Limits`]); nothing is held whole. Returns the status line: after `-ERR` no
    /// line follows.
    async fn listing(
        &mut self,
        command: Command,
        kind: ListingKind,
        each: &mut dyn FnMut(String) -> Result<(), Error>,
    ) -> Result<StatusLine, Error> {
        self.ensure_idle()?;
        self.queue(command)?;
        self.flush().await?;
        self.read_owed_capa().await?;
        self.read_listing(kind, each).await
    }

    /// Reads the response to the oldest command in flight, a listing of `kind`: its status,
    /// and with `+OK` each line into `each`.
    async fn read_listing(
        &mut self,
        kind: ListingKind,
        each: &mut dyn FnMut(String) -> Result<(), Error>,
    ) -> Result<StatusLine, Error> {
        self.broken = true;
        let status = self.status().await?;
        self.in_flight.pop_front();
        if status.ok {
            loop {
                match self.decoder.listing_line(kind)? {
                    Some(Some(line)) => each(line)?,
                    Some(None) => break,
                    None => self.fill().await?,
                }
            }
        }
        self.broken = false;
        Ok(status)
    }

    fn queue(&mut self, command: Command) -> Result<(), Error> {
        let bytes = command.encode()?;
        self.unsent.extend_from_slice(&bytes);
        self.in_flight.push_back(command);
        Ok(())
    }

    fn check_usable(&self) -> Result<(), Error> {
        if self.broken {
            return Err(Error::Usage(
                "an earlier response was not read to its end; connect again",
            ));
        }
        Ok(())
    }

    fn ensure_idle(&self) -> Result<(), Error> {
        self.check_usable()?;
        // The CAPA owed after login is read before the next response: it does not count.
        if self.in_flight.len() > usize::from(self.capa_owed) {
            return Err(Error::Usage(
                "pipelined responses are still unread: call next_response first",
            ));
        }
        Ok(())
    }

    async fn write_now(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream.write_all(bytes).await?;
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

    async fn fill(&mut self) -> Result<(), Error> {
        // A TLS stream cut without close_notify is the same "connection closed" as a plain one.
        let n = match self.stream.read(&mut self.read_buf).await {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(Error::Closed),
            Err(e) => return Err(e.into()),
        };
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

/// What [`Client::uidl_all`] says when the server answers `-ERR` to UIDL.
pub const NO_UIDL: &str =
    "UIDL (unique message ids), so Postino cannot tell by itself which messages it already has";

/// "A, B and C"
fn list(methods: &[AuthMethod]) -> String {
    let names: Vec<String> = methods.iter().map(ToString::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// `-ERR` during login means the login was refused.
fn login_failed(e: Error) -> Error {
    match e {
        Error::Server { code, text } => Error::LoginFailed { code, text },
        other => other,
    }
}

/// The `<...>` timestamp in a greeting (RFC 1939 section 7), if any.
fn apop_timestamp(greeting: &str) -> Option<String> {
    let start = greeting.find('<')?;
    let end = start + greeting[start..].find('>')?;
    Some(greeting[start..=end].to_string())
}

/// `localhost`, 127.0.0.0/8 or ::1: the only hosts that may be used without encryption.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A line of `UIDL` or the answer to `UIDL n`: `n uidl`. Tolerates what real servers send: a `+OK ` prefix on each line, padding spaces.
pub fn parse_uidl_line(line: &str) -> Result<(u32, String), Error> {
    let line = line.strip_prefix("+OK ").unwrap_or(line);
    let mut words = line.split_ascii_whitespace();
    let number = words.next().and_then(|w| w.parse().ok());
    let uidl = words.next();
    match (number, uidl) {
        (Some(n), Some(u)) => Ok((n, u.to_string())),
        _ => Err(Error::Protocol(format!("bad UIDL line {line:?}"))),
    }
}

/// A `-ERR` to LIST as an error.
fn list_refusal(status: StatusLine) -> Result<(), Error> {
    if status.ok {
        return Ok(());
    }
    Err(Error::Server {
        code: status.code,
        text: status.text,
    })
}

/// A line of `LIST` or the answer to `LIST n`: `n size`.
pub fn parse_list_line(line: &str) -> Result<(u32, u64), Error> {
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
