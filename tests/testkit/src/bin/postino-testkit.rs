//! `postino-testkit dovecot [--fixtures DIR] --user U --password P`
//!
//! Starts Dovecot (see `postino_testkit::Dovecot`), prints one JSON line to stdout:
//! `{"pop3s_port":..,"pop3_port":..,"fingerprint":"AB:..","user":"..","password":"..","dir":".."}`
//! then waits until stdin reaches EOF or a SIGTERM/SIGINT arrives, and stops Dovecot cleanly.
//! Used by the end-to-end browser tests (tests/e2e), which hold its stdin open as a lifeline.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use postino_testkit::{fixtures, workspace_root, Dovecot, DovecotOptions};
use tokio::io::AsyncReadExt as _;
use tokio::signal::unix::{signal, Signal, SignalKind};

const USAGE: &str =
    "usage: postino-testkit dovecot [--fixtures DIR] --user USER --password PASSWORD
  --fixtures DIR   folder of *.eml files, seeded in name order (default: tests/fixtures/mail)
Prints one JSON line, then runs until stdin reaches EOF or SIGTERM/SIGINT.";

struct Args {
    fixtures: PathBuf,
    user: String,
    password: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("dovecot") => {}
        Some("--help" | "-h") | None => return Err(USAGE.to_owned()),
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    }
    let mut fixtures = workspace_root().join("tests/fixtures/mail");
    let (mut user, mut password) = (None, None);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--fixtures" => fixtures = PathBuf::from(value()?),
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        fixtures,
        user: user.ok_or_else(|| format!("--user is required\n{USAGE}"))?,
        password: password.ok_or_else(|| format!("--password is required\n{USAGE}"))?,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if !args.fixtures.is_dir() {
        eprintln!(
            "postino-testkit: fixtures folder {} not found",
            args.fixtures.display()
        );
        return ExitCode::from(2);
    }
    // Signal handlers first: a SIGTERM that arrives right after the JSON line must still stop
    // Dovecot cleanly, not kill this process and leave Dovecot running.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("postino-testkit: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signals = {
        let _context = runtime.enter();
        signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)))
    };
    let (terminate, interrupt) = match signals {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("postino-testkit: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };

    let mail = fixtures(&args.fixtures);
    let dovecot = match Dovecot::start(&DovecotOptions {
        user: args.user,
        password: args.password,
        fixtures: mail.into_iter().map(|(_, raw)| raw).collect(),
    }) {
        Ok(dovecot) => dovecot,
        Err(e) => {
            eprintln!("postino-testkit: cannot start dovecot: {e}");
            return ExitCode::FAILURE;
        }
    };

    let line = serde_json::json!({
        "pop3s_port": dovecot.pop3s_port(),
        "pop3_port": dovecot.pop3_port(),
        "fingerprint": dovecot.fingerprint(),
        "user": dovecot.user(),
        "password": dovecot.password(),
        "dir": dovecot.dir(),
    });
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // Nobody reads our output: stop at once (Dovecot stops on drop).
        return ExitCode::FAILURE;
    }
    drop(stdout);

    runtime.block_on(wait_for_stop(terminate, interrupt));
    drop(dovecot);
    // The stdin reader may still sit in a blocking read(): do not wait for it.
    runtime.shutdown_background();
    ExitCode::SUCCESS
}

/// Returns when stdin reaches EOF (or fails), or on SIGTERM or SIGINT.
async fn wait_for_stop(mut terminate: Signal, mut interrupt: Signal) {
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while let Ok(1..) = stdin.read(&mut buf).await {}
    };
    tokio::select! {
        () = stdin_closed => {}
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
}
