//! The postino-relay binary: flags, logs, then [`postino_relay::start`] until SIGTERM or Ctrl-C.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use postino_relay::{start, Cli};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr and hold metadata only: never payload bytes, never tokens.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let relay = match start(cli.into_config()).await {
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
        "postino-relay listening on http://{}",
        relay.local_addr()
    );
    let _ = stdout.flush();

    shutdown_signal().await;
    tracing::info!("shutting down");
    match relay.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "shutdown");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
