//! `postino`: fetch the accounts of a TOML file into Maildir, mbox or a delivery agent, with
//! the same engine, policies and ledger as the browser app.
//!
//! - `config.rs`: the TOML file, its accounts and destinations;
//! - `disk.rs`: the `DiskStore`: messages into Maildir or mbox (formats in
//!   `postino_sync::mailbox`) and the ledger beside them, crash-safe;
//! - `exit.rs`: the exit status a script acts on;
//! - `import/`: `postino import-config`, from a fetchmailrc or a getmailrc;
//! - `lock.rs`: one `postino` per destination (DESIGN.md invariant 8);
//! - `progress.rs`: one progress line per account, reports and errors above them;
//! - `mda.rs`: delivery through a mail delivery agent (procmail, maildrop, dovecot-lda);
//! - `oauth/`: `auth = "oauth2"`: access tokens from a command or from `postino login`;
//! - this file: the command line, accounts run side by side (`--jobs`), the password, the
//!   report. The TCP connector with its deadlines is `postino_sync::tcp`.
#![forbid(unsafe_code)]

mod config;
mod disk;
mod exit;
mod import;
mod lock;
mod mda;
mod oauth;
mod progress;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use postino_pop3::{connect, Capabilities, ConnectOptions, Secret};
use postino_sync::untrusted::display_text;
use postino_sync::{sync_account, Connector, Progress, SyncError, SyncOptions, SyncReport};

use config::{readable_by_others, AccountConfig, Config, TokenSource};
use disk::DiskStore;
use exit::Exit;
use lock::{lock_path, DestinationLock, LockError};
use postino_sync::tcp::Tcp;
use progress::Board;

/// Fetch POP3 mail into Maildir or mbox, or through a delivery agent (mda). Mail stays on the
/// server unless an account's policy says otherwise; nothing is ever downloaded twice.
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
    /// No progress lines, and no note when waiting for another postino.
    #[arg(long, short)]
    quiet: bool,
    /// When another postino is fetching into an account's destination, wait for it to finish
    /// (the default), at most --wait-timeout seconds.
    #[arg(long, overrides_with = "no_wait")]
    wait: bool,
    /// How long to wait for another postino's destination lock before skipping the account
    /// with exit status 75 (default 600 s).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    wait_timeout: u64,
    /// When another postino is fetching into an account's destination, skip that account at
    /// once; the exit status is then 75 (try again later) unless another account failed. For
    /// cron.
    #[arg(long, overrides_with = "wait")]
    no_wait: bool,
    /// Fetch up to this many accounts at once (1 to 64). Accounts that share a destination
    /// are fetched one after the other.
    #[arg(long, short, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=64))]
    jobs: u8,
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
    /// Sign an account with auth = "oauth2" and an [account.oauth] table in to its provider:
    /// prints an address to open in a browser, waits for the sign-in, and keeps the tokens
    /// in $XDG_STATE_HOME/postino/ACCOUNT/oauth.json (0600). Run it again when postino says
    /// the sign-in was refused.
    Login {
        /// The account's name.
        account: String,
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
    if let Some(Command::Login { account }) = &args.command {
        let Some(account) = config.accounts.iter().find(|a| &a.name == account) else {
            eprintln!(
                "postino: no account named {account:?} in {}",
                path.display()
            );
            return Exit::Usage.into();
        };
        return oauth::login::run(account).into();
    }
    let selected: Vec<&AccountConfig> = config
        .accounts
        .iter()
        .filter(|a| args.accounts.is_empty() || args.accounts.contains(&a.name))
        .collect();
    let secrets = std::iter::once(path.as_path())
        .chain(selected.iter().filter_map(|a| a.password_file.as_deref()))
        .chain(selected.iter().filter_map(|a| {
            a.oauth
                .as_ref()
                .and_then(|o| o.client_secret_file.as_deref())
        }));
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
    if args.serverinfo {
        let Some(runtime) = runtime() else {
            return Exit::Failed.into();
        };
        let outcomes: Vec<Exit> = selected
            .iter()
            .map(|account| match runtime.block_on(serverinfo(account)) {
                Ok(()) => Exit::NewMail,
                Err(e) => {
                    eprintln!("postino: {}: {}", account.name, display_text(&e));
                    Exit::Failed
                }
            })
            .collect();
        return Exit::of_all(outcomes).into();
    }
    fetch_all(&selected, &args).into()
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| eprintln!("postino: {e}"))
        .ok()
}

/// Fetch `accounts`, up to `--jobs` at once, each on a thread of its own. Accounts that share
/// a destination (its lock file) form one group, fetched in order by one thread: within a run
/// they follow each other instead of one waiting for (or, with `--no-wait`, skipping) the
/// other.
fn fetch_all(accounts: &[&AccountConfig], args: &Args) -> Exit {
    let names: Vec<String> = accounts.iter().map(|a| a.name.clone()).collect();
    let board = Board::new(&names, args.quiet);
    let mut groups: Vec<(Option<PathBuf>, Vec<usize>)> = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let key = account.destination().ok().map(|d| lock_path(&d));
        match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let workers = groups.len().min(args.jobs as usize);
    let queue = Mutex::new(groups.into_iter().map(|(_, g)| g).collect::<VecDeque<_>>());
    let outcomes = Mutex::new(vec![Exit::NoNewMail; accounts.len()]);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let Some(runtime) = runtime() else {
                    return;
                };
                loop {
                    let group = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(group) = group else { break };
                    for i in group {
                        let exit = run_account(&runtime, accounts[i], i, args, &board);
                        outcomes.lock().unwrap_or_else(|p| p.into_inner())[i] = exit;
                    }
                }
            });
        }
    });
    board.finish();
    if workers == 0 {
        return Exit::Failed;
    }
    Exit::of_all(outcomes.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Lock the destination of account `i`, fetch it, say how it went.
fn run_account(
    runtime: &tokio::runtime::Runtime,
    account: &AccountConfig,
    i: usize,
    args: &Args,
    board: &Board,
) -> Exit {
    let name = &account.name;
    // Taken before the store is opened: its recovery rewrites the ledger and the mbox.
    let lock = account
        .destination()
        .map_err(LockError::Other)
        .and_then(|d| {
            let wait = (!args.no_wait).then(|| Duration::from_secs(args.wait_timeout));
            DestinationLock::acquire(&d, wait, |lock| {
                if !args.quiet {
                    board.say_err(&format!(
                        "postino: {name}: another postino is fetching into this destination \
                         (it holds {}): waiting for it to finish",
                        lock.display()
                    ));
                }
                board.set(i, format!("{name}: waiting for another postino"), false);
            })
        });
    let result = match lock {
        Ok(_lock) => runtime.block_on(fetch(account, i, board)),
        Err(e @ (LockError::Busy(_) | LockError::TimedOut(..))) => Err(Failure {
            text: e.to_string(),
            temporary: true,
        }),
        Err(e) => Err(Failure::permanent(e.to_string())),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            // The error may hold the server's words (`-ERR` text): no terminal controls.
            board.say_err(&format!("postino: {name}: {}", display_text(&e.text)));
            let (exit, state) = if e.temporary {
                (Exit::TryLater, "try again later")
            } else {
                (Exit::Failed, "failed")
            };
            board.set(i, format!("{name}: {state}"), false);
            exit
        }
    }
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
        SyncError::Pop3(postino_pop3::Error::TokenRefused(_)) => {
            " (check the user name; then sign in again with postino login, or check what \
             token_command prints)"
        }
        _ => "",
    };
    format!("{e}{hint}")
}

/// Fetch one account: [`Exit::NewMail`] or [`Exit::NoNewMail`], or why not.
async fn fetch(account: &AccountConfig, i: usize, board: &Board) -> Result<Exit, Failure> {
    let token_source = account.token_source().map_err(Failure::permanent)?;
    let mut password = secret(account, token_source.as_ref(), false).await?;
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
    // On a slow link a batch is delivered within seconds, not once 64 messages came.
    options.clock = Some(monotonic_ms);
    let started = Instant::now();
    let name = account.name.clone();
    let mut announced = false;
    let mut progress = |p: Progress| {
        let (line, milestone) = match p {
            Progress::Listing => (format!("{name}: listing the mailbox"), false),
            Progress::Finishing => (format!("{name}: finishing (QUIT)"), false),
            Progress::Downloading {
                done,
                total,
                bytes_done,
                bytes_total,
            } => {
                if !announced && total > 0 {
                    announced = true;
                    board.set(
                        i,
                        format!(
                            "{name}: downloading {total} new messages ({:.1} MB)",
                            bytes_total as f64 / 1e6
                        ),
                        true,
                    );
                }
                let secs = started.elapsed().as_secs_f64().max(0.001);
                let width = 20usize;
                let filled = (bytes_done.min(bytes_total) * width as u64)
                    .checked_div(bytes_total)
                    .map_or(width, |f| f as usize);
                (
                    format!(
                        "{name}: [{}{}] {done}/{total}, {:.1}/{:.1} MB, {:.1} MB/s",
                        "#".repeat(filled),
                        " ".repeat(width - filled),
                        bytes_done as f64 / 1e6,
                        bytes_total as f64 / 1e6,
                        bytes_done as f64 / 1e6 / secs
                    ),
                    false,
                )
            }
        };
        board.set(i, line, milestone);
    };
    board.set(i, format!("{name}: connecting"), false);
    let mut result = sync_account(&mut tcp, &store, &acc, &password, &options, &mut progress).await;
    if let (Some(_), Err(SyncError::Pop3(postino_pop3::Error::TokenRefused(refusal)))) =
        (&token_source, &result)
    {
        // Expired or revoked before its time: a fresh token, once.
        if refusal.should_refresh() {
            password = secret(account, token_source.as_ref(), true).await?;
            result = sync_account(&mut tcp, &store, &acc, &password, &options, &mut progress).await;
        }
    }
    let report = result.map_err(|e| match (&token_source, &e) {
        // Refused even fresh from the provider: only a new sign-in can mend it.
        (Some(TokenSource::Client(_)), SyncError::Pop3(postino_pop3::Error::TokenRefused(_))) => {
            Failure::permanent(format!("{e}: {}", oauth::sign_in_again(&account.name)))
        }
        _ => Failure::of_sync(&e, &store),
    })?;
    let secs = started.elapsed().as_secs_f64();
    board.set(
        i,
        format!("{name}: {} new in {secs:.1} s", report.downloaded),
        false,
    );
    print_report(board, &account.name, &report, secs);
    if let (false, Some(used)) = (report.auth_refused.is_empty(), report.auth_used) {
        let refused: Vec<String> = report.auth_refused.iter().map(|m| m.to_string()).collect();
        board.say(&format!(
            "{}: the server refused {} and took {used}: add auth = \"{}\" to this account to log in with it at once",
            account.name,
            refused.join(", "),
            used.as_str()
        ));
    }
    if report.ids_from_headers {
        board.say(&format!(
            "{}: the server has no UIDL: Postino told messages apart by a digest of their headers (TOP), which fails only for two messages with identical headers",
            account.name
        ));
    }
    // Messages recognised by their headers after a lost ledger are not new.
    Ok(if report.downloaded > report.rebuilt {
        Exit::NewMail
    } else {
        Exit::NoNewMail
    })
}

/// What `account` logs in with: its password, or an access token (`refused`: the server
/// refused the last one).
async fn secret(
    account: &AccountConfig,
    token_source: Option<&TokenSource>,
    refused: bool,
) -> Result<Secret<String>, Failure> {
    let Some(source) = token_source else {
        return account.password().map_err(Failure::permanent);
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    oauth::access_token(&account.name, source, now, refused)
        .await
        .map_err(|e| Failure {
            text: e.text,
            temporary: e.temporary,
        })
}

fn print_report(board: &Board, name: &str, r: &SyncReport, secs: f64) {
    board.say(&format!(
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
    ));
    for w in &r.warnings {
        board.say(&format!("{name}: warning: {w:?}"));
    }
    if r.expire == Some(Some(0)) {
        board.say(&format!("{name}: warning: the server announces EXPIRE 0: it may delete mail once downloaded, whatever the policy says"));
    }
    if let Some(d) = r.login_delay {
        board.say(&format!(
            "{name}: the server asks for {d} s between logins (LOGIN-DELAY)"
        ));
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
    let token_source = account.token_source()?;
    let secret = match &token_source {
        None => account.password().ok(),
        Some(_) => Some(
            secret(account, token_source.as_ref(), false)
                .await
                .map_err(|e| e.text)?,
        ),
    };
    if let Some(secret) = secret {
        let method = if token_source.is_some() {
            client
                .login_oauth(&acc.user, &secret)
                .await
                .map(postino_pop3::AuthMethod::Sasl)
        } else {
            client.login_with(&acc.user, &secret, acc.auth, None).await
        }
        .map_err(|e| explain(&e.into()))?;
        println!("  logged in with {method}");
        let after = client
            .refresh_capabilities()
            .await
            .map_err(|e| e.to_string())?
            .clone();
        print_capabilities("after login", &after);
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

/// Milliseconds since the first call, from a monotonic clock: the sync session's clock.
fn monotonic_ms() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}
