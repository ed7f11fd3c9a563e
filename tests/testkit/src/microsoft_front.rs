//! A POP3 front that behaves like Microsoft's servers (outlook.office365.com) where they are
//! stricter than Dovecot, forwarding everything else to a [`Dovecot`]:
//!
//! - the implicit-TLS port (like 995) answers CAPA as Microsoft does there:
//!   `TOP`, `UIDL`, `SASL PLAIN XOAUTH2`, `USER`;
//! - the plain port (like 110) offers STLS, and its CAPA before TLS lists no SASL
//!   (`TOP`, `UIDL`, `STLS`); after STLS it answers as the TLS port;
//! - `AUTH` takes no initial response (`AUTH XOAUTH2 <base64>` on one line is refused with
//!   `-ERR`): the SASL exchange goes in two steps (RFC 5034 continuation), as Microsoft documents;
//! - a command line over 4,096 octets (CRLF included) is refused with `-ERR` and the connection
//!   closed; a SASL response line (after `+ `) may be longer, which is how tokens over 4 KB log in.
//!
//! TLS uses Dovecot's own certificate, so a test pins the same fingerprint for both. The front
//! talks to Dovecot's plain port on 127.0.0.1 (Dovecot treats loopback as secure), so Dovecot
//! validates the tokens and serves the mail.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::Dovecot;

/// The longest command line Microsoft's POP3 servers take, CRLF included.
pub const MAX_COMMAND_LINE: usize = 4096;
/// The longest SASL response line the front takes (a token over 4 KB must fit).
const MAX_SASL_LINE: usize = 64 * 1024;
/// The longest line read from Dovecot (message lines included).
const MAX_BACKEND_LINE: usize = 1024 * 1024;
/// A connection idle this long is closed, so that no thread outlives a test for long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

const GREETING: &[u8] =
    b"+OK The Microsoft Exchange POP3 service is ready. [UABvAHMAdABpAG4AbwA=]\r\n";
const CAPA_PLAIN: &[u8] = b"+OK\r\nTOP\r\nUIDL\r\nSTLS\r\n.\r\n";
const CAPA_SECURE: &[u8] = b"+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.\r\n";

/// A running front; dropping it stops accepting connections (open ones end when Dovecot stops
/// or after [`IDLE_TIMEOUT`]).
pub struct MicrosoftFront {
    pop3s_port: u16,
    pop3_port: u16,
    stop: Arc<AtomicBool>,
    acceptors: Vec<JoinHandle<()>>,
}

impl MicrosoftFront {
    /// Listens on two ports of 127.0.0.1 chosen by the system, in front of `dovecot`.
    pub fn start(dovecot: &Dovecot) -> io::Result<MicrosoftFront> {
        let certificate = dovecot.certificate();
        let key = PrivateKeyDer::from_pem_slice(certificate.key_pem.as_bytes())
            .map_err(|e| io::Error::other(format!("Dovecot's key: {e}")))?;
        let tls =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(io::Error::other)?
                .with_no_client_auth()
                .with_single_cert(vec![CertificateDer::from(certificate.der.clone())], key)
                .map_err(io::Error::other)?;
        let tls = Arc::new(tls);
        let stop = Arc::new(AtomicBool::new(false));
        let backend = dovecot.pop3_port();

        let mut acceptors = Vec::new();
        let mut ports = Vec::new();
        for implicit_tls in [true, false] {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            ports.push(listener.local_addr()?.port());
            let (tls, stop) = (tls.clone(), stop.clone());
            acceptors.push(std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    let tls = tls.clone();
                    std::thread::spawn(move || {
                        let _ = serve(client, tls, backend, implicit_tls);
                    });
                }
            }));
        }
        Ok(MicrosoftFront {
            pop3s_port: ports[0],
            pop3_port: ports[1],
            stop,
            acceptors,
        })
    }

    /// The implicit-TLS port (like 995) on 127.0.0.1.
    pub fn pop3s_port(&self) -> u16 {
        self.pop3s_port
    }

    /// The plain port with STLS (like 110) on 127.0.0.1.
    pub fn pop3_port(&self) -> u16 {
        self.pop3_port
    }
}

impl Drop for MicrosoftFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake each acceptor from accept(2) so that it sees the flag.
        for port in [self.pop3s_port, self.pop3_port] {
            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, port));
        }
        for acceptor in self.acceptors.drain(..) {
            let _ = acceptor.join();
        }
    }
}

/// The client's side of a connection: plain until STLS, or TLS from the first byte.
enum ClientStream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// Only while switching to TLS.
    Gone,
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.read(buf),
            ClientStream::Tls(s) => s.read(buf),
            ClientStream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.write(buf),
            ClientStream::Tls(s) => s.write(buf),
            ClientStream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => s.flush(),
            ClientStream::Tls(s) => s.flush(),
            ClientStream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl ClientStream {
    fn start_tls(&mut self, tls: &Arc<ServerConfig>) -> io::Result<()> {
        let ClientStream::Plain(tcp) = std::mem::replace(self, ClientStream::Gone) else {
            return Err(io::ErrorKind::InvalidInput.into());
        };
        let connection = ServerConnection::new(tls.clone()).map_err(io::Error::other)?;
        *self = ClientStream::Tls(Box::new(StreamOwned::new(connection, tcp)));
        Ok(())
    }
}

/// One line from the client, CRLF (or LF) removed; `None` when it was longer than the limit
/// (read to its end and dropped, so memory stays bounded).
fn read_client_line(client: &mut ClientStream, limit: usize) -> io::Result<Option<Vec<u8>>> {
    // Byte by byte: nothing past the line is consumed, so STLS can hand the socket to TLS.
    let (mut line, mut length, mut byte) = (Vec::new(), 0usize, [0u8]);
    loop {
        if client.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        length += 1;
        if byte[0] == b'\n' {
            if length > limit {
                return Ok(None);
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(line));
        }
        if length <= limit {
            line.push(byte[0]);
        }
    }
}

struct Backend {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Backend {
    fn send(&mut self, line: &[u8]) -> io::Result<()> {
        self.writer.write_all(line)?;
        self.writer.write_all(b"\r\n")
    }

    /// One line from Dovecot, CRLF included.
    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(MAX_BACKEND_LINE as u64)
            .read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line)
    }

    /// Sends `command`, relays the status line and, after `+OK` to a multi-line command, the
    /// lines up to the terminating ".". Returns the status line.
    fn relay(
        &mut self,
        client: &mut ClientStream,
        command: &[u8],
        multi_line: bool,
    ) -> io::Result<Vec<u8>> {
        self.send(command)?;
        let status = self.line()?;
        client.write_all(&status)?;
        if multi_line && status.starts_with(b"+OK") {
            loop {
                let line = self.line()?;
                client.write_all(&line)?;
                if line == b".\r\n" {
                    break;
                }
            }
        }
        client.flush()?;
        Ok(status)
    }
}

fn serve(
    tcp: TcpStream,
    tls: Arc<ServerConfig>,
    backend_port: u16,
    implicit_tls: bool,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut client = ClientStream::Plain(tcp);
    if implicit_tls {
        client.start_tls(&tls)?;
    }
    let mut secure = implicit_tls;

    let dovecot = TcpStream::connect((Ipv4Addr::LOCALHOST, backend_port))?;
    dovecot.set_read_timeout(Some(IDLE_TIMEOUT))?;
    dovecot.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut backend = Backend {
        reader: BufReader::new(dovecot.try_clone()?),
        writer: dovecot,
    };
    // Dovecot's greeting is not shown: the client sees Microsoft's.
    backend.line()?;
    client.write_all(GREETING)?;
    client.flush()?;

    let mut logged_in = false;
    loop {
        let Some(line) = read_client_line(&mut client, MAX_COMMAND_LINE)? else {
            client.write_all(b"-ERR Protocol error. Line too long.\r\n")?;
            client.flush()?;
            return Ok(());
        };
        let text = String::from_utf8_lossy(&line);
        let mut words = text.split(' ');
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        let arguments: Vec<&str> = words.filter(|w| !w.is_empty()).collect();
        match verb.as_str() {
            "CAPA" => {
                client.write_all(if secure { CAPA_SECURE } else { CAPA_PLAIN })?;
                client.flush()?;
            }
            "STLS" if !secure && !logged_in => {
                client.write_all(b"+OK Begin TLS negotiation.\r\n")?;
                client.flush()?;
                client.start_tls(&tls)?;
                secure = true;
            }
            "AUTH" if !secure || logged_in => {
                refuse(&mut client, "Command is not valid in this state.")?
            }
            "AUTH" if arguments.is_empty() => refuse(&mut client, "Protocol error.")?,
            "AUTH" if arguments.len() > 1 => refuse(
                &mut client,
                "Protocol error. AUTH takes no initial response here.",
            )?,
            "AUTH"
                if !arguments[0].eq_ignore_ascii_case("XOAUTH2")
                    && !arguments[0].eq_ignore_ascii_case("PLAIN") =>
            {
                refuse(&mut client, "Unrecognized authentication type.")?
            }
            "AUTH" => {
                backend.send(format!("AUTH {}", arguments[0].to_ascii_uppercase()).as_bytes())?;
                // RFC 5034: continuations ("+ ...") until +OK or -ERR.
                loop {
                    let status = backend.line()?;
                    client.write_all(&status)?;
                    client.flush()?;
                    if !status.starts_with(b"+ ") && status != b"+\r\n" {
                        logged_in = status.starts_with(b"+OK");
                        break;
                    }
                    match read_client_line(&mut client, MAX_SASL_LINE)? {
                        Some(response) => backend.send(&response)?,
                        None => {
                            client.write_all(b"-ERR Protocol error. Line too long.\r\n")?;
                            client.flush()?;
                            return Ok(());
                        }
                    }
                }
            }
            "USER" | "PASS" if !secure => {
                refuse(&mut client, "Command is not valid in this state.")?
            }
            "QUIT" => {
                backend.relay(&mut client, &line, false)?;
                return Ok(());
            }
            "RETR" | "TOP" => {
                backend.relay(&mut client, &line, true)?;
            }
            "LIST" | "UIDL" => {
                backend.relay(&mut client, &line, arguments.is_empty())?;
            }
            _ => {
                backend.relay(&mut client, &line, false)?;
            }
        }
    }
}

fn refuse(client: &mut ClientStream, reason: &str) -> io::Result<()> {
    client.write_all(format!("-ERR {reason}\r\n").as_bytes())?;
    client.flush()
}
