//! The server side of POP3 (RFC 1939, RFC 2449 CAPA, RFC 3206 response codes) over an immutable
//! message store: enough for real clients, used by the relay's demo mailbox and by tests.
//!
//! Sans-IO like the client: [`ServerSession::handle_line`] takes one command line, decodes it
//! with the client's own [`Command::parse`], and returns the bytes to write (made by the
//! response encoder of [`crate::response`]) and whether to close. [`serve`] is the async loop on top, over any futures-io
//! byte stream (TCP, TLS, an in-memory pipe).
//!
//! The store is immutable: DELE marks a message for this session only (it disappears from STAT,
//! LIST, UIDL, RETR and TOP as RFC 1939 section 6 says), and QUIT does not remove it, so every
//! session sees the same mailbox.

use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use crate::response::{encode_continuation, encode_multiline, encode_status};
use crate::{Command, ResponseCode, Secret, StatusLine};

/// The greeting sent when a client connects (RFC 1939 section 4).
pub const GREETING: &[u8] = b"+OK Postino POP3 ready\r\n";

/// The longest command line accepted, CRLF included. RFC 2449 section 4 allows 255 octets; we
/// accept more so that long passwords fit, and refuse past this to bound memory.
pub const MAX_COMMAND_LINE: usize = 512;

/// After this many `-ERR` replies in a row the server closes the connection, so that a client
/// stuck in a loop (or guessing passwords) does not keep the session forever.
pub const MAX_CONSECUTIVE_ERRORS: u32 = 10;

/// A maildrop: one user and an immutable list of messages.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub user: String,
    pub password: Secret<String>,
    pub messages: Vec<MailboxMessage>,
}

/// One message of a [`Mailbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxMessage {
    /// The unique-id listing of RFC 1939 section 7: 1 to 70 characters in 0x21 to 0x7E.
    pub uidl: String,
    /// The message as sent on the wire (before dot-stuffing), with CRLF line endings.
    pub raw: Vec<u8>,
}

/// How the server behaves beyond RFC 1939, so that tests can play a real server's quirks.
/// The default is the demo mailbox's server: USER/PASS, UIDL, no SASL, no UTF8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// SASL mechanisms listed in CAPA. `PLAIN` checks the password (RFC 4616); every other
    /// one is refused with `-ERR [AUTH] Authentication failed.`, as Dovecot does for CRAM-MD5
    /// and SCRAM when its passwords are stored hashed, and Cyrus with saslauthd.
    pub sasl: Vec<String>,
    /// Announce `UTF8 USER` and take the `UTF8` command (RFC 6856). Like Courier, a message
    /// with UTF-8 in its header is replaced by a notice unless the client sent `UTF8`.
    pub utf8: bool,
    /// No UIDL: not in CAPA, and `-ERR` to the command (RFC 1939 makes it optional).
    pub no_uidl: bool,
    /// Close the connection after this many refused logins, as some servers do.
    pub max_login_failures: Option<u32>,
    /// `LOGIN-DELAY n` in CAPA (RFC 2449 section 6.8): the client should not log in again
    /// within `n` seconds.
    pub login_delay: Option<u64>,
    /// Faults, for tests of what a client does when a server misbehaves.
    pub faults: Faults,
}

/// What a misbehaving server does. None by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Cut the connection once this many octets were sent (greeting included), wherever that
    /// falls: mid-line, mid-message, in the answer to QUIT.
    pub cut_after: Option<u64>,
    /// `-ERR` to RETR and TOP of these UIDLs, as if another client had deleted them meanwhile.
    pub refuse_retr: Vec<String>,
    /// `-ERR` to DELE of these UIDLs.
    pub refuse_dele: Vec<String>,
    /// `+OK` to DELE, and the messages stay anyway at QUIT.
    pub ignore_dele: bool,
    /// Every line of the UIDL listing sent twice.
    pub uidl_twice: bool,
}

/// What a server without UTF8 mode sends instead of a message with UTF-8 in its header, as
/// Courier does.
pub const UNICODE_NOTICE: &[u8] =
    b"Subject: Cannot display Unicode content\r\n\r\nThis message has Unicode content.\r\n";

/// What to do after a command: write `bytes`, then close the connection if `close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub close: bool,
}

impl Reply {
    fn status(status: StatusLine) -> Self {
        let mut bytes = Vec::new();
        encode_status(&status, &mut bytes);
        Reply {
            bytes,
            close: false,
        }
    }

    fn ok(text: &str) -> Self {
        Reply::status(StatusLine {
            ok: true,
            code: None,
            text: text.to_owned(),
        })
    }

    fn err(text: &str) -> Self {
        Reply::status(StatusLine {
            ok: false,
            code: None,
            text: text.to_owned(),
        })
    }

    /// `-ERR [code] text` (RFC 2449 section 8, RFC 3206).
    fn err_code(code: ResponseCode, text: &str) -> Self {
        Reply::status(StatusLine {
            ok: false,
            code: Some(code),
            text: text.to_owned(),
        })
    }

    /// A multi-line reply (RFC 1939 section 3): status line, dot-stuffed body, `.` terminator.
    fn multi(status: &str, body: &[u8]) -> Self {
        let status = StatusLine {
            ok: true,
            code: None,
            text: status.to_owned(),
        };
        let mut bytes = Vec::new();
        encode_multiline(&status, body, &mut bytes);
        Reply {
            bytes,
            close: false,
        }
    }

    fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    fn is_err(&self) -> bool {
        self.bytes.starts_with(b"-ERR")
    }
}

/// The state of a POP3 session (RFC 1939 section 3).
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Before login; `user` is the name given by USER, waiting for PASS.
    Authorization {
        user: Option<String>,
        /// `AUTH PLAIN` without an initial response: the next line is the response.
        plain_pending: bool,
    },
    Transaction,
    /// After QUIT: nothing more is accepted.
    Closed,
}

/// One client's session with a [`Mailbox`]: feed it command lines, write what it returns.
///
/// Call [`ServerSession::greeting`] once when the client connects, then
/// [`ServerSession::handle_line`] for each line the client sends, in order (PIPELINING: the
/// replies come back in the order of the commands). When a reply says `close`, write it and close
/// the connection. A line longer than [`MAX_COMMAND_LINE`] is answered by
/// [`ServerSession::line_too_long`].
#[derive(Debug)]
pub struct ServerSession<'a> {
    mailbox: &'a Mailbox,
    behaviour: Behaviour,
    state: State,
    deleted: Vec<bool>,
    consecutive_errors: u32,
    login_failures: u32,
    /// The client sent `UTF8` (RFC 6856).
    utf8: bool,
    /// QUIT in the TRANSACTION state: the UPDATE state was reached (RFC 1939 section 6).
    updated: bool,
}

impl<'a> ServerSession<'a> {
    pub fn new(mailbox: &'a Mailbox) -> Self {
        Self::with_behaviour(mailbox, Behaviour::default())
    }

    /// A session that behaves as `behaviour` says.
    pub fn with_behaviour(mailbox: &'a Mailbox, behaviour: Behaviour) -> Self {
        ServerSession {
            mailbox,
            behaviour,
            state: State::Authorization {
                user: None,
                plain_pending: false,
            },
            deleted: vec![false; mailbox.messages.len()],
            consecutive_errors: 0,
            login_failures: 0,
            utf8: false,
            updated: false,
        }
    }

    pub fn greeting(&self) -> &'static [u8] {
        GREETING
    }

    /// Whether the session ended (QUIT, or too many errors).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The UIDLs this session deleted: those marked by DELE, once QUIT reached the UPDATE state
    /// (RFC 1939 section 6); none before, or when [`Faults::ignore_dele`]. The [`Mailbox`] is
    /// not changed: the caller applies them.
    pub fn deleted_at_quit(&self) -> Vec<String> {
        if !self.updated || self.behaviour.faults.ignore_dele {
            return Vec::new();
        }
        self.mailbox
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, deleted)| **deleted)
            .map(|(m, _)| m.uidl.clone())
            .collect()
    }

    /// The reply to a command line that went past [`MAX_COMMAND_LINE`]: an error, then close.
    pub fn line_too_long(&mut self) -> Reply {
        self.state = State::Closed;
        Reply::err("line too long").closing()
    }

    /// Handle one command line, with or without its CRLF.
    pub fn handle_line(&mut self, line: &[u8]) -> Reply {
        if self.state == State::Closed {
            return Reply::err("session closed").closing();
        }
        let line = strip_line_end(line);
        if line.len() + 2 > MAX_COMMAND_LINE {
            return self.line_too_long();
        }
        let reply = match &mut self.state {
            State::Authorization {
                plain_pending: pending @ true,
                ..
            } => {
                *pending = false;
                self.sasl_plain(line)
            }
            _ => self.dispatch(line),
        };
        if reply.is_err() {
            self.consecutive_errors += 1;
            if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
                self.state = State::Closed;
                let mut reply = reply;
                let closing = Reply::err("too many errors, closing connection");
                reply.bytes.extend_from_slice(&closing.bytes);
                return reply.closing();
            }
        } else {
            self.consecutive_errors = 0;
        }
        if reply.close {
            self.state = State::Closed;
        }
        reply
    }

    /// One command line, decoded with the client's own [`Command::parse`].
    fn dispatch(&mut self, line: &[u8]) -> Reply {
        let Some(command) = Command::parse(line) else {
            return self.unparsed(line);
        };
        let authorization = matches!(self.state, State::Authorization { .. });
        match command {
            Command::Capa => Reply::multi("Capability list follows", self.capa().as_bytes()),
            Command::Quit => self.quit(),
            Command::Uidl(_) if self.behaviour.no_uidl => Reply::err("unknown command"),
            Command::Utf8 if self.behaviour.utf8 => {
                if !authorization {
                    return Reply::err("command not valid in this state");
                }
                self.utf8 = true;
                Reply::ok("UTF8 enabled")
            }
            Command::Auth { mechanism, initial } if !self.behaviour.sasl.is_empty() => {
                if !authorization {
                    return Reply::err("command not valid in this state");
                }
                self.auth(
                    &mechanism,
                    initial.as_ref().map(|ir| ir.expose().as_bytes()),
                )
            }
            Command::Utf8 | Command::Auth { .. } | Command::Stls | Command::Apop { .. } => {
                Reply::err("unknown command")
            }
            Command::User(name) if authorization => {
                // Any name is accepted here, so that USER does not tell which names exist.
                self.state = State::Authorization {
                    user: Some(name),
                    plain_pending: false,
                };
                Reply::ok("send PASS")
            }
            Command::Pass(password) if authorization => self.pass(password.expose()),
            _ if authorization => Reply::err("command not valid in this state"),
            command => self.transaction(command),
        }
    }

    /// A line [`Command::parse`] refused: a known keyword with bad arguments, or none known.
    fn unparsed(&self, line: &[u8]) -> Reply {
        let keyword = line
            .split(|&b| b == b' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let usage = match keyword.as_slice() {
            b"" => return Reply::err("empty command"),
            b"UIDL" if self.behaviour.no_uidl => return Reply::err("unknown command"),
            b"UTF8" if !self.behaviour.utf8 => return Reply::err("unknown command"),
            b"AUTH" if self.behaviour.sasl.is_empty() => return Reply::err("unknown command"),
            b"USER" => "USER name",
            b"PASS" => "PASS password",
            b"LIST" => "LIST [msg]",
            b"UIDL" => "UIDL [msg]",
            b"RETR" => "RETR msg",
            b"TOP" => "TOP msg lines",
            b"DELE" => "DELE msg",
            b"AUTH" => "AUTH mechanism",
            b"CAPA" => "CAPA",
            b"STAT" => "STAT",
            b"NOOP" => "NOOP",
            b"RSET" => "RSET",
            b"QUIT" => "QUIT",
            b"UTF8" => "UTF8",
            _ => return Reply::err("unknown command"),
        };
        Reply::err(&format!("syntax: {usage}"))
    }

    fn capa(&self) -> String {
        let mut capa = String::from("USER\r\n");
        if !self.behaviour.no_uidl {
            capa.push_str("UIDL\r\n");
        }
        capa.push_str("TOP\r\nPIPELINING\r\nRESP-CODES\r\n");
        if let Some(delay) = self.behaviour.login_delay {
            capa.push_str(&format!("LOGIN-DELAY {delay}\r\n"));
        }
        if self.behaviour.utf8 {
            capa.push_str("UTF8 USER\r\n");
        }
        if !self.behaviour.sasl.is_empty() {
            capa.push_str(&format!("SASL {}\r\n", self.behaviour.sasl.join(" ")));
        }
        capa.push_str("IMPLEMENTATION Postino\r\n");
        capa
    }

    /// `AUTH mechanism [initial-response]` (RFC 5034): PLAIN is checked, any other listed
    /// mechanism refused the way Dovecot refuses one its hashed passwords cannot serve.
    fn auth(&mut self, mechanism: &str, initial: Option<&[u8]>) -> Reply {
        let listed = self
            .behaviour
            .sasl
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mechanism));
        if !listed {
            return Reply::err("unsupported authentication mechanism");
        }
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            return self.login_refused();
        }
        match initial {
            Some(ir) => self.sasl_plain(ir),
            None => {
                self.state = State::Authorization {
                    user: None,
                    plain_pending: true,
                };
                let mut bytes = Vec::new();
                encode_continuation("", &mut bytes);
                Reply {
                    bytes,
                    close: false,
                }
            }
        }
    }

    /// A PLAIN response (RFC 4616): base64 of `authzid NUL user NUL password`.
    fn sasl_plain(&mut self, response: &[u8]) -> Reply {
        use base64::Engine as _;
        if response == b"*" {
            return Reply::err("authentication cancelled");
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(response)
            .unwrap_or_default();
        let mut parts = decoded.split(|&b| b == 0);
        let (_, user, pass) = (parts.next(), parts.next(), parts.next());
        match (user, pass) {
            (Some(user), Some(pass)) => self.check_login(user, pass),
            _ => Reply::err_code(ResponseCode::Auth, "Authentication failed."),
        }
    }

    fn check_login(&mut self, user: &[u8], pass: &[u8]) -> Reply {
        let user_ok = constant_time_eq(user, self.mailbox.user.as_bytes());
        let pass_ok = constant_time_eq(pass, self.mailbox.password.expose().as_bytes());
        if user_ok && pass_ok {
            self.state = State::Transaction;
            let (count, size) = self.stat();
            Reply::ok(&format!(
                "{} has {count} messages ({size} octets)",
                self.mailbox.user
            ))
        } else {
            self.login_refused()
        }
    }

    /// RFC 3206 section 4: `[AUTH]` means the credentials were wrong. With
    /// [`Behaviour::max_login_failures`] the connection closes after that many.
    fn login_refused(&mut self) -> Reply {
        self.login_failures += 1;
        let reply = Reply::err_code(ResponseCode::Auth, "Authentication failed.");
        match self.behaviour.max_login_failures {
            Some(max) if self.login_failures >= max => reply.closing(),
            _ => reply,
        }
    }

    /// The message as this session sends it: a notice instead of one with UTF-8 in its header
    /// when the server has UTF8 and the client did not ask for it (Courier's way).
    fn shown(&self, m: &'a MailboxMessage) -> &'a [u8] {
        if self.behaviour.utf8 && !self.utf8 && !header_is_ascii(&m.raw) {
            UNICODE_NOTICE
        } else {
            &m.raw
        }
    }

    fn quit(&mut self) -> Reply {
        match self.state {
            // RFC 1939 section 6: the UPDATE state. The store is immutable, so marked messages
            // stay; the reply still says how many the client sees as left.
            State::Transaction => {
                self.updated = true;
                let left = self.visible().count();
                Reply::ok(&format!(
                    "Postino POP3 server signing off ({left} messages left)"
                ))
                .closing()
            }
            _ => Reply::ok("Postino POP3 server signing off").closing(),
        }
    }

    /// PASS (RFC 1939 section 7): the password is the rest of the line and may hold spaces.
    fn pass(&mut self, password: &str) -> Reply {
        let State::Authorization { user, .. } = &mut self.state else {
            return Reply::err("command not valid in this state");
        };
        let Some(user) = user.take() else {
            return Reply::err("send USER first");
        };
        let reply = self.check_login(user.as_bytes(), password.as_bytes());
        if reply.is_err() && self.behaviour == Behaviour::default() {
            // The demo server's own words, kept as its tests and users know them.
            return Reply::err_code(ResponseCode::Auth, "invalid user name or password");
        }
        reply
    }

    /// A command of the TRANSACTION state (RFC 1939 section 5).
    fn transaction(&mut self, command: Command) -> Reply {
        let faults = &self.behaviour.faults;
        match command {
            Command::Stat => {
                let (count, size) = self.stat();
                Reply::ok(&format!("{count} {size}"))
            }
            Command::List(None) => {
                let (count, size) = self.stat();
                let body: String = self
                    .visible()
                    .map(|(n, m)| format!("{n} {}\r\n", m.raw.len()))
                    .collect();
                Reply::multi(
                    &format!("{count} messages ({size} octets)"),
                    body.as_bytes(),
                )
            }
            Command::List(Some(n)) => match self.message(n) {
                Ok((n, m)) => Reply::ok(&format!("{n} {}", m.raw.len())),
                Err(e) => e,
            },
            Command::Uidl(None) => {
                let times = if faults.uidl_twice { 2 } else { 1 };
                let body: String = self
                    .visible()
                    .map(|(n, m)| format!("{n} {}\r\n", m.uidl).repeat(times))
                    .collect();
                Reply::multi("unique-id listing follows", body.as_bytes())
            }
            Command::Uidl(Some(n)) => match self.message(n) {
                Ok((n, m)) => Reply::ok(&format!("{n} {}", m.uidl)),
                Err(e) => e,
            },
            Command::Retr(n) | Command::Top(n, _) => match self.message(n) {
                Ok((_, m)) if faults.refuse_retr.contains(&m.uidl) => {
                    Reply::err_code(ResponseCode::SysTemp, "message is gone")
                }
                Ok((_, m)) => {
                    let raw = self.shown(m);
                    match command {
                        Command::Top(_, lines) => {
                            Reply::multi("top of message follows", top(raw, lines as usize))
                        }
                        _ => Reply::multi(&format!("{} octets", raw.len()), raw),
                    }
                }
                Err(e) => e,
            },
            Command::Dele(number) => {
                let Some(i) = (number as usize).checked_sub(1) else {
                    return Reply::err("no such message");
                };
                match self.deleted.get(i).copied() {
                    None => Reply::err("no such message"),
                    Some(true) => Reply::err(&format!("message {number} already deleted")),
                    Some(false) if faults.refuse_dele.contains(&self.mailbox.messages[i].uidl) => {
                        Reply::err(&format!("message {number} cannot be deleted"))
                    }
                    Some(false) => {
                        self.deleted[i] = true;
                        Reply::ok(&format!("message {number} deleted"))
                    }
                }
            }
            Command::Noop => Reply::ok(""),
            Command::Rset => {
                self.deleted.iter_mut().for_each(|d| *d = false);
                let (count, size) = self.stat();
                Reply::ok(&format!("maildrop has {count} messages ({size} octets)"))
            }
            _ => Reply::err("command not valid in this state"),
        }
    }

    /// Messages not marked as deleted, with their 1-based numbers.
    fn visible(&self) -> impl Iterator<Item = (usize, &'a MailboxMessage)> + '_ {
        self.mailbox
            .messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.deleted[*i])
            .map(|(i, m)| (i + 1, m))
    }

    fn stat(&self) -> (usize, usize) {
        self.visible().fold((0, 0), |(count, size), (_, m)| {
            (count + 1, size + m.raw.len())
        })
    }

    /// The message a `msg` argument names, unless it does not exist or is marked as deleted.
    fn message(&self, number: u32) -> Result<(usize, &'a MailboxMessage), Reply> {
        let number = number as usize;
        match number.checked_sub(1) {
            Some(i) if i < self.deleted.len() && !self.deleted[i] => {
                Ok((number, &self.mailbox.messages[i]))
            }
            Some(i) if i < self.deleted.len() => {
                Err(Reply::err(&format!("message {number} already deleted")))
            }
            _ => Err(Reply::err("no such message")),
        }
    }
}

/// Whether the header (up to the first empty line) is all ASCII.
fn header_is_ascii(raw: &[u8]) -> bool {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    raw[..end].is_ascii()
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The header, the blank line and the first `lines` lines of the body (RFC 1939 section 7, TOP).
fn top(raw: &[u8], lines: usize) -> &[u8] {
    let body_start = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(raw.len());
    let mut end = body_start;
    for _ in 0..lines {
        match raw[end..].iter().position(|&b| b == b'\n') {
            Some(i) => end += i + 1,
            None => {
                end = raw.len();
                break;
            }
        }
    }
    &raw[..end]
}

/// Serve one client over `stream` until QUIT, an error that closes the session, or EOF.
///
/// Reads through a bounded buffer: a command line longer than [`MAX_COMMAND_LINE`] is answered
/// with `-ERR line too long` and the connection is closed.
pub async fn serve<S>(stream: S, mailbox: &Mailbox) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_with(stream, mailbox, Behaviour::default()).await
}

/// As [`serve`], with the server behaving as `behaviour` says.
pub async fn serve_with<S>(
    stream: S,
    mailbox: &Mailbox,
    behaviour: Behaviour,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_session(stream, mailbox, behaviour).await.map(drop)
}

/// As [`serve_with`], and returns [`ServerSession::deleted_at_quit`]: the UIDLs to remove from
/// the mailbox, for a test server whose mailbox changes from one session to the next. A QUIT
/// whose answer was cut ([`Faults::cut_after`]) still deletes, as real servers do.
pub async fn serve_session<S>(
    mut stream: S,
    mailbox: &Mailbox,
    behaviour: Behaviour,
) -> std::io::Result<Vec<String>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut cut_after = behaviour.faults.cut_after;
    let mut session = ServerSession::with_behaviour(mailbox, behaviour);
    if write_until_cut(&mut stream, session.greeting(), &mut cut_after).await? {
        return Ok(session.deleted_at_quit());
    }

    let mut pending: Vec<u8> = Vec::with_capacity(MAX_COMMAND_LINE);
    let mut chunk = [0u8; 1024];
    loop {
        // Answer every complete line already received (PIPELINING), then read more.
        let mut out = Vec::new();
        let mut close = false;
        let mut consumed = 0;
        while let Some(i) = pending[consumed..].iter().position(|&b| b == b'\n') {
            let line = &pending[consumed..consumed + i + 1];
            consumed += i + 1;
            let reply = if line.len() > MAX_COMMAND_LINE {
                session.line_too_long()
            } else {
                session.handle_line(line)
            };
            out.extend_from_slice(&reply.bytes);
            if reply.close {
                close = true;
                break;
            }
        }
        pending.drain(..consumed);
        if !close && pending.len() > MAX_COMMAND_LINE {
            out.extend_from_slice(&session.line_too_long().bytes);
            close = true;
        }
        if !out.is_empty() && write_until_cut(&mut stream, &out, &mut cut_after).await? {
            return Ok(session.deleted_at_quit());
        }
        if close {
            // Best effort: a TLS stream sends close_notify here.
            let _ = stream.close().await;
            return Ok(session.deleted_at_quit());
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(session.deleted_at_quit());
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// Write `bytes`, or as many as `cut_after` still allows; true when the cut was reached (the
/// connection is then closed).
async fn write_until_cut<S>(
    stream: &mut S,
    bytes: &[u8],
    cut_after: &mut Option<u64>,
) -> std::io::Result<bool>
where
    S: AsyncWrite + Unpin,
{
    let room = cut_after.map_or(bytes.len(), |left| bytes.len().min(left as usize));
    stream.write_all(&bytes[..room]).await?;
    stream.flush().await?;
    if let Some(left) = cut_after.as_mut() {
        *left -= room as u64;
        if *left == 0 {
            let _ = stream.close().await;
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox() -> Mailbox {
        Mailbox {
            user: "demo".into(),
            password: Secret::new("demo pass".into()),
            messages: vec![
                MailboxMessage {
                    uidl: "uid-1".into(),
                    raw: b"Subject: one\r\n\r\nHello\r\n.leading dot\r\n..two\r\nend\r\n".to_vec(),
                },
                MailboxMessage {
                    uidl: "uid-2".into(),
                    raw: b"Subject: two\r\nFrom: a@example.org\r\n\r\nl1\r\nl2\r\nl3".to_vec(),
                },
            ],
        }
    }

    /// Client sends `line`, server must reply exactly `expected`.
    fn exchange(session: &mut ServerSession<'_>, line: &str, expected: &str) -> bool {
        let reply = session.handle_line(line.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&reply.bytes),
            expected,
            "client sent {line:?}"
        );
        reply.close
    }

    fn logged_in(mb: &Mailbox) -> ServerSession<'_> {
        let mut s = ServerSession::new(mb);
        exchange(&mut s, "USER demo\r\n", "+OK send PASS\r\n");
        exchange(
            &mut s,
            "PASS demo pass\r\n",
            "+OK demo has 2 messages (96 octets)\r\n",
        );
        s
    }

    #[test]
    fn greeting_and_capa() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        assert_eq!(s.greeting(), b"+OK Postino POP3 ready\r\n");
        exchange(
            &mut s,
            "capa\r\n",
            "+OK Capability list follows\r\nUSER\r\nUIDL\r\nTOP\r\nPIPELINING\r\nRESP-CODES\r\n\
             IMPLEMENTATION Postino\r\n.\r\n",
        );
    }

    #[test]
    fn login_with_user_and_pass() {
        let mb = mailbox();
        let mut s = logged_in(&mb);
        // Commands are case-insensitive.
        exchange(&mut s, "stat\r\n", "+OK 2 96\r\n");
    }

    #[test]
    fn wrong_password_is_refused_with_auth_code() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        exchange(&mut s, "USER demo\r\n", "+OK send PASS\r\n");
        exchange(
            &mut s,
            "PASS wrong\r\n",
            "-ERR [AUTH] invalid user name or password\r\n",
        );
        // PASS needs a new USER after a failure.
        exchange(&mut s, "PASS demo pass\r\n", "-ERR send USER first\r\n");
        exchange(&mut s, "USER nobody\r\n", "+OK send PASS\r\n");
        exchange(
            &mut s,
            "PASS demo pass\r\n",
            "-ERR [AUTH] invalid user name or password\r\n",
        );
    }

    #[test]
    fn transaction_commands_need_login() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        for cmd in [
            "STAT", "LIST", "UIDL", "RETR 1", "TOP 1 0", "DELE 1", "RSET", "NOOP",
        ] {
            exchange(
                &mut s,
                &format!("{cmd}\r\n"),
                "-ERR command not valid in this state\r\n",
            );
        }
        exchange(&mut s, "USER\r\n", "-ERR syntax: USER name\r\n");
    }

    #[test]
    fn list_and_uidl() {
        let mb = mailbox();
        let mut s = logged_in(&mb);
        exchange(
            &mut s,
            "LIST\r\n",
            "+OK 2 messages (96 octets)\r\n1 49\r\n2 47\r\n.\r\n",
        );
        exchange(&mut s, "LIST 2\r\n", "+OK 2 47\r\n");
        exchange(&mut s, "LIST 3\r\n", "-ERR no such message\r\n");
        exchange(&mut s, "LIST 0\r\n", "-ERR no such message\r\n");
        exchange(&mut s, "LIST x\r\n", "-ERR syntax: LIST [msg]\r\n");
        exchange(&mut s, "LIST 1 2\r\n", "-ERR syntax: LIST [msg]\r\n");
        exchange(
            &mut s,
            "UIDL\r\n",
            "+OK unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n.\r\n",
        );
        exchange(&mut s, "uidl 1\r\n", "+OK 1 uid-1\r\n");
        exchange(&mut s, "UIDL 9\r\n", "-ERR no such message\r\n");
    }

    #[test]
    fn retr_dot_stuffs_and_ends_with_crlf() {
        let mb = mailbox();
        let mut s = logged_in(&mb);
        exchange(
            &mut s,
            "RETR 1\r\n",
            "+OK 49 octets\r\nSubject: one\r\n\r\nHello\r\n..leading dot\r\n...two\r\nend\r\n.\r\n",
        );
        // The second message lacks a final CRLF: the server adds one before the terminator.
        exchange(
            &mut s,
            "RETR 2\r\n",
            "+OK 47 octets\r\nSubject: two\r\nFrom: a@example.org\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n",
        );
        exchange(&mut s, "RETR\r\n", "-ERR syntax: RETR msg\r\n");
        exchange(&mut s, "RETR 5\r\n", "-ERR no such message\r\n");
    }

    #[test]
    fn top_sends_headers_and_n_body_lines() {
        let mb = mailbox();
        let mut s = logged_in(&mb);
        exchange(
            &mut s,
            "TOP 2 0\r\n",
            "+OK top of message follows\r\nSubject: two\r\nFrom: a@example.org\r\n\r\n.\r\n",
        );
        exchange(
            &mut s,
            "TOP 1 2\r\n",
            "+OK top of message follows\r\nSubject: one\r\n\r\nHello\r\n..leading dot\r\n.\r\n",
        );
        exchange(
            &mut s,
            "TOP 2 99\r\n",
            "+OK top of message follows\r\nSubject: two\r\nFrom: a@example.org\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n",
        );
        exchange(&mut s, "TOP 1\r\n", "-ERR syntax: TOP msg lines\r\n");
        exchange(&mut s, "TOP 1 -1\r\n", "-ERR syntax: TOP msg lines\r\n");
    }

    #[test]
    fn dele_hides_the_message_until_rset() {
        let mb = mailbox();
        let mut s = logged_in(&mb);
        exchange(&mut s, "DELE 1\r\n", "+OK message 1 deleted\r\n");
        exchange(&mut s, "DELE 1\r\n", "-ERR message 1 already deleted\r\n");
        exchange(&mut s, "DELE 7\r\n", "-ERR no such message\r\n");
        exchange(&mut s, "DELE\r\n", "-ERR syntax: DELE msg\r\n");
        exchange(&mut s, "STAT\r\n", "+OK 1 47\r\n");
        exchange(
            &mut s,
            "LIST\r\n",
            "+OK 1 messages (47 octets)\r\n2 47\r\n.\r\n",
        );
        exchange(&mut s, "RETR 1\r\n", "-ERR message 1 already deleted\r\n");
        exchange(
            &mut s,
            "UIDL\r\n",
            "+OK unique-id listing follows\r\n2 uid-2\r\n.\r\n",
        );
        exchange(
            &mut s,
            "RSET\r\n",
            "+OK maildrop has 2 messages (96 octets)\r\n",
        );
        exchange(&mut s, "STAT\r\n", "+OK 2 96\r\n");
        exchange(&mut s, "NOOP\r\n", "+OK\r\n");
        exchange(&mut s, "DELE 2\r\n", "+OK message 2 deleted\r\n");
        assert!(exchange(
            &mut s,
            "QUIT\r\n",
            "+OK Postino POP3 server signing off (1 messages left)\r\n"
        ));
        assert!(s.is_closed());
        // The store itself is unchanged: a new session sees both messages.
        let mut again = logged_in(&mb);
        exchange(&mut again, "STAT\r\n", "+OK 2 96\r\n");
    }

    #[test]
    fn quit_in_authorization_closes() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        assert!(exchange(
            &mut s,
            "QUIT\r\n",
            "+OK Postino POP3 server signing off\r\n"
        ));
    }

    #[test]
    fn unknown_and_empty_commands() {
        let mb = mailbox();
        let mut s = logged_in(&mb);
        exchange(&mut s, "HELO x\r\n", "-ERR unknown command\r\n");
        exchange(&mut s, "\r\n", "-ERR empty command\r\n");
        exchange(
            &mut s,
            "USER demo\r\n",
            "-ERR command not valid in this state\r\n",
        );
        exchange(&mut s, "STAT 1\r\n", "-ERR syntax: STAT\r\n");
    }

    #[test]
    fn ten_errors_in_a_row_close_the_session() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        for _ in 0..9 {
            assert!(!exchange(&mut s, "BOGUS\r\n", "-ERR unknown command\r\n"));
        }
        assert!(exchange(
            &mut s,
            "BOGUS\r\n",
            "-ERR unknown command\r\n-ERR too many errors, closing connection\r\n"
        ));
        assert!(s.is_closed());
    }

    #[test]
    fn a_good_command_resets_the_error_count() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        for _ in 0..9 {
            exchange(&mut s, "BOGUS\r\n", "-ERR unknown command\r\n");
        }
        exchange(&mut s, "USER demo\r\n", "+OK send PASS\r\n");
        assert!(!exchange(&mut s, "BOGUS\r\n", "-ERR unknown command\r\n"));
    }

    #[test]
    fn long_line_is_refused() {
        let mb = mailbox();
        let mut s = ServerSession::new(&mb);
        let line = format!("USER {}\r\n", "a".repeat(600));
        assert!(exchange(&mut s, &line, "-ERR line too long\r\n"));
    }

    /// Run [`serve`] over an in-memory pipe: the client writes `input` and reads until EOF.
    fn transcript(input: &[u8]) -> String {
        use tokio_util::compat::TokioAsyncReadCompatExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mb = mailbox();
            let (client, server) = tokio::io::duplex(64);
            let (mut rd, mut wr) = tokio::io::split(client);
            let input = input.to_vec();
            let writer = async move {
                // The server may close before all input is written (line too long).
                let _ = wr.write_all(&input).await;
                let _ = wr.shutdown().await;
            };
            let reader = async move {
                let mut out = Vec::new();
                rd.read_to_end(&mut out).await.unwrap();
                out
            };
            let (result, (), out) = tokio::join!(serve(server.compat(), &mb), writer, reader);
            result.unwrap();
            String::from_utf8(out).unwrap()
        })
    }

    #[test]
    fn serve_answers_pipelined_commands_in_order() {
        let out = transcript(b"USER demo\r\nPASS demo pass\r\nSTAT\r\nUIDL 2\r\nQUIT\r\n");
        assert_eq!(
            out,
            "+OK Postino POP3 ready\r\n+OK send PASS\r\n+OK demo has 2 messages (96 octets)\r\n\
             +OK 2 96\r\n+OK 2 uid-2\r\n+OK Postino POP3 server signing off (2 messages left)\r\n"
        );
    }

    #[test]
    fn serve_closes_on_a_line_too_long() {
        let mut input = b"NOOP".to_vec();
        input.extend(std::iter::repeat_n(b'x', 4000));
        let out = transcript(&input);
        assert_eq!(out, "+OK Postino POP3 ready\r\n-ERR line too long\r\n");
    }

    #[test]
    fn serve_closes_on_a_terminated_line_too_long() {
        let input = format!("CAPA\r\nUSER {}\r\nQUIT\r\n", "b".repeat(520));
        let out = transcript(input.as_bytes());
        assert!(out.ends_with(".\r\n-ERR line too long\r\n"), "{out}");
    }

    #[test]
    fn serve_accepts_a_bare_lf_and_ends_at_eof() {
        let out = transcript(b"NOOP\n");
        // NOOP is not valid before login; the session ends when the client closes.
        assert_eq!(
            out,
            "+OK Postino POP3 ready\r\n-ERR command not valid in this state\r\n"
        );
    }
}
