//! The `postino` binary against servers that misbehave on purpose, on loopback (no Dovecot can
//! be told to do this): one that accepts and says nothing, one that stalls in the middle of a
//! RETR, and one whose greeting, CAPA lines and `-ERR` text carry terminal escapes and bidi
//! overrides. The binary must end, non-zero, with a clear message, and print nothing that a
//! terminal would act on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::temp;
use postino_pop3::server::{Mailbox, MailboxMessage, ServerSession};
use postino_pop3::Secret;

/// How long any test here may take before it counts as a hang: far above the 1 s deadlines
/// configured, so that a slow machine does not fail it.
const HANG: Duration = Duration::from_secs(60);

/// A server on loopback that runs `handle` for each connection, in a thread of its own.
fn serve(handle: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // The test server must not hang either.
            stream.set_read_timeout(Some(HANG)).unwrap();
            stream.set_write_timeout(Some(HANG)).unwrap();
            thread::spawn(move || handle(stream));
        }
    });
    port
}

/// Keep the connection open, sending nothing, until the client closes it.
fn hold(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    common::write_config(
        dir,
        &format!(
            "host = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nmaildir = {:?}\n\
             timeout = 1\nconnect_timeout = 5\n",
            dir.join("Mail")
        ),
    )
}

struct Run {
    success: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

/// Run the real binary; fail the test if it has not ended within [`HANG`].
fn postino(config: &Path, extra: &[&str]) -> Run {
    let mut child = common::postino(config)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let stderr = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("postino {extra:?} still running after {HANG:?}: it hangs");
        }
        thread::sleep(Duration::from_millis(50));
    };
    Run {
        success: status.success(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

#[test]
fn a_server_that_says_nothing_ends_the_run_with_a_clear_error() {
    let port = serve(hold);
    let dir = temp("silent");
    let config = write_config(&dir, port);
    for extra in [&["--quiet"][..], &["--serverinfo"]] {
        let run = postino(&config, extra);
        assert!(!run.success, "{extra:?}: {}", run.text());
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            err.contains("the server sent nothing for 1 s"),
            "{extra:?}: {err}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A POP3 server (the project's own session) that sends the first half of a RETR answer, then
/// nothing more.
fn stall_in_retr(mut stream: TcpStream) {
    let mailbox = Mailbox {
        user: "alice".into(),
        password: Secret::new("pw".into()),
        messages: vec![MailboxMessage {
            uidl: "u1".into(),
            raw: format!("Subject: big\r\n\r\n{}", "line of text\r\n".repeat(1000)).into_bytes(),
        }],
    };
    let mut session = ServerSession::new(&mailbox);
    if stream.write_all(session.greeting()).is_err() {
        return;
    }
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = Vec::new();
    loop {
        line.clear();
        if !matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            return;
        }
        let reply = session.handle_line(&line);
        if line.to_ascii_uppercase().starts_with(b"RETR") {
            let _ = stream.write_all(&reply.bytes[..reply.bytes.len() / 2]);
            return hold(stream);
        }
        if stream.write_all(&reply.bytes).is_err() || reply.close {
            return;
        }
    }
}

#[test]
fn a_server_that_stalls_in_the_middle_of_a_message_ends_the_run_and_nothing_is_stored() {
    let port = serve(stall_in_retr);
    let dir = temp("stall");
    let config = write_config(&dir, port);
    let run = postino(&config, &["--quiet"]);
    assert!(!run.success, "{}", run.text());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("the server sent nothing for 1 s"), "{err}");
    // The half message is neither in the Maildir nor in the ledger.
    let stored = std::fs::read_dir(dir.join("Mail/new")).unwrap().count();
    assert_eq!(stored, 0);
    let ledger = std::fs::read_to_string(dir.join("Mail/.postino-ledger.jsonl")).unwrap();
    assert!(!ledger.contains("commit"), "{ledger}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Terminal escapes (title, clear screen, colour, hyperlink, blink; ESC and the one-byte C1
/// CSI) and a bidi override in every line the server writes.
fn escapes(mut stream: TcpStream) {
    let greeting = "+OK \x1b]0;owned\x07ready\r\n";
    if stream.write_all(greeting.as_bytes()).is_err() {
        return;
    }
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if !matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            return;
        }
        let command = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply = match command.as_str() {
            "CAPA" => "+OK\r\nUSER\r\nUIDL\r\nX-EVIL \x1b[31mred\x1b[0m \u{202E}gnp.exe\u{9b}2J\r\n.\r\n",
            "USER" => "+OK\r\n",
            "PASS" => {
                "-ERR [AUTH] \x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \u{9b}31mwrong\u{202E}\r\n"
            }
            "QUIT" => "+OK\r\n",
            _ => "-ERR \x1b[5mno\r\n",
        };
        if stream.write_all(reply.as_bytes()).is_err() || command == "QUIT" {
            return;
        }
    }
}

#[test]
fn server_text_reaches_the_terminal_without_controls() {
    let port = serve(escapes);
    let dir = temp("escapes");
    let config = write_config(&dir, port);
    let info = postino(&config, &["--serverinfo"]);
    let fetch = postino(&config, &["--quiet"]);
    assert!(!info.success && !fetch.success);
    // What the server said still shows, less its controls.
    assert!(
        info.text().contains("X-EVIL [31mred[0m gnp.exe2J"),
        "{}",
        info.text()
    );
    for run in [&info, &fetch] {
        assert!(run.text().contains("click"), "{}", run.text());
        assert!(run.text().contains("wrong"), "{}", run.text());
        for output in [&run.stdout, &run.stderr] {
            let shown = String::from_utf8_lossy(output);
            assert!(
                !shown
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || c == '\u{202E}'),
                "{shown:?}"
            );
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
