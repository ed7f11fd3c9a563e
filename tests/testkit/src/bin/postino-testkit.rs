//! `postino-testkit dovecot [--fixtures DIR] --user U --password P
//!  [--oauth-issuer URL --oauth-kid KID --oauth-public-key FILE]`
//!
//! Starts Dovecot (see `postino_testkit::Dovecot`), prints one JSON line to stdout:
//! `{"pop3s_port":..,"pop3_port":..,"fingerprint":"AB:..","user":"..","password":"..","dir":".."}`
//! With the three `--oauth-*` flags Dovecot also accepts OAuth 2.0 access tokens for the user
//! (XOAUTH2 and OAUTHBEARER, validated with the issuer's public key, as
//! `postino_testkit::DovecotOAuth2` does for the native tests); passwords keep working.
//! With `--microsoft-front` a front as strict as Microsoft's servers
//! (`postino_testkit::MicrosoftFront`) also runs, and the line gets `"ms_front_port"` (TLS from
//! the first byte, like 995) and `"ms_front_pop3_port"` (STLS, like 110).
//! then waits until stdin reaches EOF or a SIGTERM/SIGINT arrives, and stops Dovecot cleanly.
//! Used by the end-to-end browser tests (tests/e2e), which hold its stdin open as a lifeline.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use postino_testkit::{
    fixtures, workspace_root, Dovecot, DovecotExtras, DovecotOAuth2, DovecotOptions, MicrosoftFront,
};
use tokio::io::AsyncReadExt as _;
use tokio::signal::unix::{signal, Signal, SignalKind};

const USAGE: &str =
    "usage: postino-testkit dovecot [--fixtures DIR] --user USER --password PASSWORD
         [--oauth-issuer URL --oauth-kid KID --oauth-public-key FILE] [--microsoft-front]
  --fixtures DIR            folder of *.eml files, seeded in name order
                            (default: tests/fixtures/mail)
  --oauth-issuer URL        also accept OAuth 2.0 access tokens (SASL XOAUTH2, OAUTHBEARER):
                            JWTs whose `iss` is URL, whose `sub` is USER, not expired,
  --oauth-kid KID           signed (RS256) by the key with this `kid`,
  --oauth-public-key FILE   whose public half (PEM, SubjectPublicKeyInfo) is in FILE.
                            The three go together; passwords keep working beside them.
  --microsoft-front         also run a front before Dovecot as strict as Microsoft's POP3
                            servers: CAPA as Microsoft answers (no SASL before STLS), AUTH in
                            two steps only (an initial response on the AUTH line is refused),
                            command lines over 4096 octets refused; same certificate as
                            Dovecot. Its ports are \"ms_front_port\" (TLS from the first
                            byte, like 995) and \"ms_front_pop3_port\" (STLS, like 110).
Prints one JSON line, then runs until stdin reaches EOF or SIGTERM/SIGINT.";

struct Args {
    fixtures: PathBuf,
    user: String,
    password: String,
    oauth2: Option<DovecotOAuth2>,
    microsoft_front: bool,
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
    let (mut issuer, mut kid, mut public_key) = (None, None, None);
    let mut microsoft_front = false;
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--fixtures" => fixtures = PathBuf::from(value()?),
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--oauth-issuer" => issuer = Some(value()?),
            "--oauth-kid" => kid = Some(value()?),
            "--oauth-public-key" => public_key = Some(PathBuf::from(value()?)),
            "--microsoft-front" => microsoft_front = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    let oauth2 = match (issuer, kid, public_key) {
        (None, None, None) => None,
        (Some(issuer), Some(kid), Some(file)) => Some(DovecotOAuth2 {
            issuer,
            kid,
            public_key_pem: std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?,
        }),
        _ => {
            return Err(format!(
                "--oauth-issuer, --oauth-kid and --oauth-public-key go together\n{USAGE}"
            ))
        }
    };
    Ok(Args {
        fixtures,
        user: user.ok_or_else(|| format!("--user is required\n{USAGE}"))?,
        password: password.ok_or_else(|| format!("--password is required\n{USAGE}"))?,
        oauth2,
        microsoft_front,
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
    let dovecot = match Dovecot::start_with(
        &DovecotOptions {
            user: args.user,
            password: args.password,
            fixtures: mail.into_iter().map(|(_, raw)| raw).collect(),
        },
        &DovecotExtras {
            oauth2: args.oauth2,
            ..DovecotExtras::default()
        },
    ) {
        Ok(dovecot) => dovecot,
        Err(e) => {
            eprintln!("postino-testkit: cannot start dovecot: {e}");
            return ExitCode::FAILURE;
        }
    };

    let front = if args.microsoft_front {
        match MicrosoftFront::start(&dovecot) {
            Ok(front) => Some(front),
            Err(e) => {
                eprintln!("postino-testkit: cannot start the Microsoft-like front: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };

    let mut line = serde_json::json!({
        "pop3s_port": dovecot.pop3s_port(),
        "pop3_port": dovecot.pop3_port(),
        "fingerprint": dovecot.fingerprint(),
        "user": dovecot.user(),
        "password": dovecot.password(),
        "dir": dovecot.dir(),
    });
    if let Some(front) = &front {
        line["ms_front_port"] = front.pop3s_port().into();
        line["ms_front_pop3_port"] = front.pop3_port().into();
    }
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
    drop(front);
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
