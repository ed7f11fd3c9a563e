//! `postino`: fetch the accounts of a TOML file into Maildir or mbox, with the same engine,
//! policies and ledger as the browser app.
//!
//! - `config.rs`: the TOML file, its accounts and destinations;
//! - `disk.rs`: the `DiskStore`: messages into Maildir or mbox (formats in
//!   `postino_sync::mailbox`) and the ledger beside them, crash-safe;
//! - `exit.rs`: the exit status a script acts on;
//! - `import/`: `postino import-config`, from a fetchmailrc or a getmailrc;
//! - `lock.rs`: one `postino` per destination (DESIGN.md invariant 8);
//! - `mda.rs`: delivery through a mail delivery agent (procmail, maildrop, dovecot-lda);
//! - this file: the command line, the password, the progress and the report. The TCP connector
//!   with its deadlines is `postino_sync::tcp`.
#![forbid(unsafe_code)]

mod config;
mod disk;
mod exit;
mod import;
mod lock;
mod mda;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use postino_pop3::{connect, Capabilities, ConnectOptions};
use postino_sync::untrusted::display_text;
use postino_sync::{sync_account, Connector, Progress, SyncError, SyncOptions, SyncReport};

use config::{readable_by_others, AccountConfig, Config};
use disk::DiskStore;
use exit::Exit;
use lock::{DestinationLock, LockError};
use postino_sync::tcp::Tcp;

/// Fetch POP3 mail into Maildir or mbox. Mail stays on the server unless an account's policy
/// says otherwise; nothing is ever downloaded twice.
#[derive(Parser)]
#[command(name = "postino", version, after_help = exit::HELP)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The accounts file (TOML). Default: $XDG_CONFIG_HOME/postino/accounts.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only these accounts (by name). Repeatable.
    #[arg(long = "account")]
    accounts: Vec<String>,
    /// Print what each server offers (CAPA, LOGIN-DELAY, EXPIRE, SASL) instead of fetching.
    #[arg(long)]
    serverinfo: bool,
    /// No progress bar, and no note when waiting for another postino.
    #[arg(long, short)]
    quiet: bool,
    /// When another postino is fetching into an account's destination, wait for it to finish
    /// (the default).
    #[arg(long, overrides_with = "no_wait")]
    wait: bool,
    /// When another postino is fetching into an account's destination, skip that account at
    /// once; the exit status is then 75 (try again later) unless another account failed. For
    /// cron.
    #[arg(long, overrides_with = "wait")]
    no_wait: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Write the accounts.toml equivalent of a ~/.fetchmailrc or a getmailrc (told apart by
    /// their contents), and say on standard error, line by line, what could not be translated.
    /// Passwords go into files of their own (0600) beside the output, named by password_file.
    ImportConfig {
        /// The fetchmailrc or getmailrc.
        file: PathBuf,
        /// Write the accounts here (and the password files beside it) instead of printing them.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Replace the output and password files if they exist.
        #[arg(long)]
        force: bool,
    },
}

fn default_config() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("postino/accounts.toml")
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::ImportConfig {
        file,
        output,
        force,
    }) = &args.command
    {
        return import::run(file, output.as_deref(), *force).into();
    }
    let path = args.config.clone().unwrap_or_else(default_config);
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("postino: {e}");
            return Exit::Usage.into();
        }
    };
    let selected: Vec<&AccountConfig> = config
        .accounts
        .iter()
        .filter(|a| args.accounts.is_empty() || args.accounts.contains(&a.name))
        .collect();
    let secrets = std::iter::once(path.as_path())
        .chain(selected.iter().filter_map(|a| a.password_file.as_deref()));
    for warning in secrets.filter_map(readable_by_others) {
        eprintln!("postino: warning: {warning}");
    }
    if selected.is_empty() {
        eprintln!(
            "postino: no account named {:?} in {}",
            args.accounts,
            path.display()
        );
        return Exit::Usage.into();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("postino: {e}");
            return Exit::Failed.into();
        }
    };
    let mut outcomes = Vec::new();
    for account in selected {
        let result = if args.serverinfo {
            runtime
                .block_on(serverinfo(account))
                .map(|()| Exit::NewMail)
                .map_err(Failure::permanent)
        } else {
            // Taken before the store is opened: its recovery rewrites the ledger and the mbox.
            let lock = account
                .destination()
                .map_err(LockError::Other)
                .and_then(|d| {
                    DestinationLock::acquire(&d, !args.no_wait, |lock| {
                        if !args.quiet {
                            eprintln!(
                                "postino: {}: another postino is fetching into this \
                                 destination (it holds {}): waiting for it to finish",
                                account.name,
                                lock.display()
                            );
                        }
                    })
                });
            match lock {
                Ok(_lock) => runtime.block_on(fetch(
                    account,
                    !args.quiet && std::io::stderr().is_terminal(),
                )),
                Err(e @ LockError::Busy(_)) => Err(Failure {
                    text: e.to_string(),
                    temporary: true,
                }),
                Err(e) => Err(Failure::permanent(e.to_string())),
            }
        };
        outcomes.push(match result {
            Ok(exit) => exit,
            Err(e) => {
                // The error may hold the server's words (`-ERR` text): no terminal controls.
                eprintln!("postino: {}: {}", account.name, display_text(&e.text));
                if e.temporary {
                    Exit::TryLater
                } else {
                    Exit::Failed
                }
            }
        });
    }
    Exit::of_all(outcomes).into()
}

/// Why an account's run failed, and whether running again later may do (exit status 75).
struct Failure {
    text: String,
    temporary: bool,
}

impl Failure {
    fn permanent(text: String) -> Failure {
        Failure {
            text,
            temporary: false,
        }
    }

    /// `e` explained; the MDA's own words when it is why the store failed.
    fn of_sync(e: &SyncError, store: &DiskStore) -> Failure {
        if let (SyncError::Store(_), Some(why)) = (e, store.mda_failure()) {
            let temporary = store.mda_failure_is_temporary();
            let next = if temporary {
                "it stays on the server and is offered again at the next run"
            } else {
                "it stays on the server; it and the messages after it wait until the MDA takes it"
            };
            return Failure {
                text: format!("{why}; {next}"),
                temporary,
            };
        }
        let temporary = match e {
            SyncError::Pop3(p) => p.is_temporary(),
            // The network, or the server's machine: another run may find them back.
            SyncError::Connect(_) => true,
            // Like a full mail queue: free space and the next run goes on.
            SyncError::Store(postino_sync::StoreError::QuotaExceeded) => true,
            SyncError::Store(_) => false,
        };
        Failure {
            text: explain(e),
            temporary,
        }
    }
}

fn explain(e: &SyncError) -> String {
    let hint = match e {
        SyncError::Pop3(p) if p.is_temporary() => " (temporary: try again later)",
        SyncError::Pop3(postino_pop3::Error::LoginFailed { .. }) => {
            " (check the user name and password)"
        }
        SyncError::Store(postino_sync::StoreError::QuotaExceeded) => {
            " (the disk is full; nothing was deleted from the server)"
        }
        SyncError::Connect(_) => " (check the host and port)",
        _ => "",
    };
    format!("{e}{hint}")
}

/// Fetch one account: [`Exit::NewMail`] or [`Exit::NoNewMail`], or why not.
async fn fetch(account: &AccountConfig, show_progress: bool) -> Result<Exit, Failure> {
    let password = account.password().map_err(Failure::permanent)?;
    let store = account
        .destination()
        .and_then(|d| DiskStore::open(d).map_err(|e| format!("cannot open the destination: {e}")))
        .map_err(Failure::permanent)?;
    let acc = account.account();
    let mut tcp = Tcp {
        host: acc.host.clone(),
        port: acc.port,
        timeouts: account.timeouts().map_err(Failure::permanent)?,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut options = SyncOptions::new(now);
    // Files on disk are not evicted the way browser storage can be.
    options.store_persistent = true;
    let started = Instant::now();
    let name = account.name.clone();
    let mut progress = |p: Progress| {
        if !show_progress {
            return;
        }
        if let Progress::Downloading {
            done,
            total,
            bytes_done,
            bytes_total,
        } = p
        {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let width = 30usize;
            let filled = (bytes_done.min(bytes_total) * width as u64)
                .checked_div(bytes_total)
                .map_or(width, |f| f as usize);
            eprint!(
                "\r{name}: [{}{}] {done}/{total} messages, {:.1}/{:.1} MB, {:.1} MB/s ",
                "#".repeat(filled),
                " ".repeat(width - filled),
                bytes_done as f64 / 1e6,
                bytes_total as f64 / 1e6,
                bytes_done as f64 / 1e6 / secs
            );
            let _ = std::io::stderr().flush();
        }
    };
    let result = sync_account(&mut tcp, &store, &acc, &password, &options, &mut progress).await;
    if show_progress {
        eprintln!();
    }
    let report = result.map_err(|e| Failure::of_sync(&e, &store))?;
    print_report(&account.name, &report, started.elapsed().as_secs_f64());
    if let (false, Some(used)) = (report.auth_refused.is_empty(), report.auth_used) {
        let refused: Vec<String> = report.auth_refused.iter().map(|m| m.to_string()).collect();
        println!(
            "{}: the server refused {} and took {used}: add auth = \"{}\" to this account to log in with it at once",
            account.name,
            refused.join(", "),
            used.as_str()
        );
    }
    if report.ids_from_headers {
        println!(
            "{}: the server has no UIDL: Postino told messages apart by a digest of their headers (TOP), which fails only for two messages with identical headers",
            account.name
        );
    }
    // Messages recognised by their headers after a lost ledger are not new.
    Ok(if report.downloaded > report.rebuilt {
        Exit::NewMail
    } else {
        Exit::NoNewMail
    })
}

fn print_report(name: &str, r: &SyncReport, secs: f64) {
    println!(
        "{name}: {} new ({} headers only, {:.1} MB) in {secs:.1} s; {} already stored; {} deleted on the server{}",
        r.downloaded,
        r.headers_only,
        r.bytes as f64 / 1e6,
        r.already_stored,
        r.deleted,
        if r.deferred > 0 {
            format!("; {} left for the next run", r.deferred)
        } else {
            String::new()
        }
    );
    for w in &r.warnings {
        println!("{name}: warning: {w:?}");
    }
    if r.expire == Some(Some(0)) {
        println!("{name}: warning: the server announces EXPIRE 0: it may delete mail once downloaded, whatever the policy says");
    }
    if let Some(d) = r.login_delay {
        println!("{name}: the server asks for {d} s between logins (LOGIN-DELAY)");
    }
}

fn print_capabilities(label: &str, caps: &Capabilities) {
    println!("  {label}:");
    // The server's own lines: shown without terminal controls.
    for line in &caps.raw {
        println!("    {}", display_text(line));
    }
    let expire = match caps.expire {
        None => "not announced".to_string(),
        Some(None) => "NEVER (mail stays)".to_string(),
        Some(Some(0)) => "0: mail may be removed once downloaded".to_string(),
        Some(Some(d)) => format!("{d} days after download"),
    };
    println!("    -> EXPIRE: {expire}");
    println!(
        "    -> LOGIN-DELAY: {}",
        caps.login_delay
            .map(|d| format!("{d} s"))
            .unwrap_or_else(|| "none".into())
    );
    println!("    -> SASL: {}", display_text(&caps.sasl.join(" ")));
    println!(
        "    -> PIPELINING: {}",
        if caps.pipelining { "yes" } else { "no" }
    );
}

async fn serverinfo(account: &AccountConfig) -> Result<(), String> {
    let acc = account.account();
    let mut tcp = Tcp {
        host: acc.host.clone(),
        port: acc.port,
        timeouts: account.timeouts()?,
    };
    let stream = tcp.connect().await.map_err(|e| e.to_string())?;
    let mut opts = ConnectOptions::new(acc.host.clone(), acc.security);
    opts.pinned_cert = acc.pinned_cert.clone();
    let mut client = connect(stream, &opts)
        .await
        .map_err(|e| explain(&e.into()))?;
    println!(
        "{} ({}:{}, {:?})",
        account.name, acc.host, acc.port, acc.security
    );
    print_capabilities("before login", client.capabilities());
    if let Ok(password) = account.password() {
        let method = client
            .login_with(&acc.user, &password, acc.auth, None)
            .await
            .map_err(|e| explain(&e.into()))?;
        println!("  logged in with {method}");
        print_capabilities("after login", client.capabilities());
        let stat = client.stat().await.map_err(|e| e.to_string())?;
        println!(
            "  mailbox: {} messages, {:.1} MB",
            stat.count,
            stat.size as f64 / 1e6
        );
    }
    let _ = client.quit().await;
    Ok(())
}
