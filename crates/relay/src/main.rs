//! The postino-relay binary: settings, logs, then [`postino_relay::start`]; SIGHUP reloads the
//! TLS certificate and the tokens, SIGTERM or Ctrl-C shuts down gracefully.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use postino_relay::{start, Cli, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Cli::parse().into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("postino-relay: {e}");
            return ExitCode::from(2);
        }
    };
    // Logs go to stderr and hold metadata only: never payload bytes, never tokens.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }

    // Handlers first: a SIGTERM right after the "listening" line must not kill the process.
    let signals = Signals::register();
    let relay = match start(config).await {
        Ok(relay) => relay,
        Err(e) => {
            tracing::error!(error = %e, "could not start");
            return ExitCode::FAILURE;
        }
    };
    if let Some(demo) = relay.demo() {
        tracing::info!(addr = %demo.addr, fingerprint = %demo.info.fingerprint, "demo mailbox ready");
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "postino-relay listening on {}://{}",
        relay.scheme(),
        relay.local_addr()
    );
    let _ = stdout.flush();

    signals.wait(&relay).await;
    tracing::info!("shutting down");
    match relay.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "shutdown");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM, SIGHUP (and Ctrl-C), listened to from before the relay starts.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Reload on SIGHUP; return on SIGTERM or Ctrl-C.
    async fn wait(self, relay: &postino_relay::RelayHandle) {
        #[cfg(unix)]
        let (mut term, mut hup) = (self.term, self.hup);
        loop {
            #[cfg(unix)]
            let (terminated, hung_up) = (next(&mut term), next(&mut hup));
            #[cfg(not(unix))]
            let (terminated, hung_up) = (std::future::pending(), std::future::pending());
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                () = terminated => return,
                () = hung_up => match relay.reload() {
                    Ok(()) => tracing::info!("reloaded"),
                    Err(e) => tracing::error!(error = %e, "reload failed; keeping the previous settings"),
                },
            }
        }
    }
}

/// The next delivery of `signal`; never, when it could not be registered.
#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
