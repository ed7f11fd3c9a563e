//! The harness itself: a real Dovecot starts, speaks POP3 in plain text with STLS offered, and
//! over TLS (trusting its self-signed certificate) logs alice in and holds every fixture.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use postino_testkit::{fingerprint, fixtures, workspace_root, Dovecot, DovecotOptions};
use rustls::pki_types::{CertificateDer, ServerName};

fn start() -> (Dovecot, Vec<(String, Vec<u8>)>) {
    let mail = fixtures(workspace_root().join("tests/fixtures/mail"));
    assert!(!mail.is_empty(), "no fixtures found");
    let dovecot = Dovecot::start(&DovecotOptions {
        user: "alice".into(),
        password: "correct horse battery staple".into(),
        fixtures: mail.iter().map(|(_, raw)| raw.clone()).collect(),
    })
    .expect("dovecot starts");
    (dovecot, mail)
}

/// Reads one CRLF-terminated line.
fn line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read a line");
    assert!(line.ends_with("\r\n"), "line without CRLF: {line:?}");
    line.truncate(line.len() - 2);
    line
}

/// Reads a multi-line response body up to the terminating ".", undoing dot-stuffing.
fn multiline(reader: &mut impl BufRead) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let l = line(reader);
        if l == "." {
            return lines;
        }
        lines.push(l.strip_prefix('.').map(str::to_owned).unwrap_or(l));
    }
}

/// A rustls client (ring provider) that trusts exactly this Dovecot's certificate.
fn tls_client(dovecot: &Dovecot) -> rustls::ClientConnection {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(dovecot.cert_der().to_vec()))
        .expect("the certificate is a valid trust anchor");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
        .unwrap()
}

/// Sends one command line and reads the one-line status that answers it.
fn command(stream: &mut BufReader<impl Read + Write>, line_to_send: &str) -> String {
    stream
        .get_mut()
        .write_all(format!("{line_to_send}\r\n").as_bytes())
        .unwrap();
    stream.get_mut().flush().unwrap();
    line(stream)
}

fn connect(port: u16) -> TcpStream {
    let socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket
}

#[test]
fn plain_port_greets_offers_stls_and_upgrades() {
    let (dovecot, mail) = start();
    let mut plain = BufReader::new(connect(dovecot.pop3_port()));
    let greeting = line(&mut plain);
    assert!(greeting.starts_with("+OK"), "greeting: {greeting}");

    let status = command(&mut plain, "CAPA");
    assert!(status.starts_with("+OK"), "CAPA: {status}");
    let capabilities = multiline(&mut plain);
    assert!(
        capabilities.iter().any(|c| c == "STLS"),
        "STLS not offered: {capabilities:?}"
    );
    // Note: Dovecot counts a connection whose remote IP equals its local IP (127.0.0.1 to
    // 127.0.0.1) as secured, so on loopback it offers USER and would accept PASS before STLS
    // despite disable_plaintext_auth. Never sending credentials in clear is the client's job;
    // the e2e tests check it on the wire with a recording proxy.

    let status = command(&mut plain, "STLS");
    assert!(status.starts_with("+OK"), "STLS: {status}");
    assert!(plain.buffer().is_empty(), "bytes after the STLS answer");
    let socket = plain.into_inner();
    let mut tls = BufReader::new(rustls::StreamOwned::new(tls_client(&dovecot), socket));
    assert!(command(&mut tls, "CAPA").starts_with("+OK"));
    let capabilities = multiline(&mut tls);
    assert!(
        !capabilities.iter().any(|c| c == "STLS"),
        "STLS offered again after TLS: {capabilities:?}"
    );
    assert!(command(&mut tls, &format!("USER {}", dovecot.user())).starts_with("+OK"));
    let pass = command(&mut tls, &format!("PASS {}", dovecot.password()));
    assert!(pass.starts_with("+OK"), "PASS: {pass}");
    let stat = command(&mut tls, "STAT");
    assert!(
        stat.starts_with(&format!("+OK {} ", mail.len())),
        "STAT: {stat}"
    );
    assert!(command(&mut tls, "QUIT").starts_with("+OK"));
}

#[test]
fn pop3s_logs_in_and_lists_every_fixture() {
    let (dovecot, mail) = start();
    assert_eq!(dovecot.fingerprint(), fingerprint(dovecot.cert_der()));
    assert_eq!(dovecot.fingerprint().len(), 32 * 3 - 1);

    let socket = connect(dovecot.pop3s_port());
    let mut tls = BufReader::new(rustls::StreamOwned::new(tls_client(&dovecot), socket));
    let greeting = line(&mut tls);
    assert!(greeting.starts_with("+OK"), "greeting: {greeting}");

    assert!(command(&mut tls, "USER alice").starts_with("+OK"));
    let pass = command(&mut tls, &format!("PASS {}", dovecot.password()));
    assert!(pass.starts_with("+OK"), "PASS: {pass}");

    let stat = command(&mut tls, "STAT");
    let count: usize = stat
        .split(' ')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("STAT: {stat}"));
    assert_eq!(count, mail.len(), "STAT: {stat}");

    // Message N is fixture N (name order), delivered line for line after dot-unstuffing.
    for (number, (name, raw)) in mail.iter().enumerate().map(|(i, m)| (i + 1, m)) {
        let status = command(&mut tls, &format!("RETR {number}"));
        assert!(status.starts_with("+OK"), "RETR {number}: {status}");
        let body = multiline(&mut tls);
        let text = std::str::from_utf8(raw).expect("fixtures are ASCII");
        let expected: Vec<&str> = text.strip_suffix("\r\n").unwrap().split("\r\n").collect();
        assert_eq!(body, expected, "message {number} is not {name}");
    }
    assert!(command(&mut tls, "QUIT").starts_with("+OK"));
}

#[test]
fn wrong_password_is_refused() {
    let (dovecot, _) = start();
    let socket = connect(dovecot.pop3s_port());
    let mut tls = BufReader::new(rustls::StreamOwned::new(tls_client(&dovecot), socket));
    assert!(line(&mut tls).starts_with("+OK"));
    assert!(command(&mut tls, "USER alice").starts_with("+OK"));
    let pass = command(&mut tls, "PASS not-the-password");
    assert!(pass.starts_with("-ERR"), "PASS: {pass}");
}

#[test]
fn user_names_that_break_the_passwd_file_are_refused() {
    let error = Dovecot::start(&DovecotOptions {
        user: "bad:user".into(),
        password: "x".into(),
        fixtures: Vec::new(),
    })
    .err()
    .expect("a ':' in the user name is refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn drop_stops_dovecot_and_removes_its_folder() {
    let (dovecot, _) = start();
    let dir = dovecot.dir().to_path_buf();
    let port = dovecot.pop3s_port();
    assert!(dir.join("dovecot.conf").is_file());
    drop(dovecot);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections"
    );
}
