//! `cargo xtask bench`: Postino against its peers on the same generated mailbox, side by side
//! in one run, so that a noisy machine cancels out. Writes `target/bench/report.md` and
//! `report.json`. A contender whose correctness check fails is reported as failed, not timed.
//!
//! Scenarios:
//! 1. Download over loopback TLS from Dovecot: the floor (pipelined RETR, output discarded),
//!    the postino-sync runner into the memory store (pipelined and one command at a time), the
//!    `postino` CLI into a Maildir, getmail6 into a Maildir, fetchmail into a BSMTP file.
//! 2. The same through a proxy that delays every chunk by 25 ms each way (50 ms round trip),
//!    on a smaller mailbox.
//! 3. `relay`: bulk throughput and round-trip latency directly over TCP, through postino-relay
//!    and through websockify; memory per idle connection (crates/relay/examples/relay_bench.rs).
//! 4. `app`: the app in headless Chromium with 100,000 stored messages: first list render,
//!    scroll frame time, search index build, offline search (tests/bench/app.mjs).
//!
//! Every download contender runs as its own process under `/usr/bin/time`, for wall time and
//! peak RSS, turn about: one run of each, then the next round, so that the machine's drift
//! during a scenario weighs on all alike (run back to back, two builds of the app came out 10%
//! apart; turn about, even). The relay and the app run as programs of their own, once per run.
//!
//! `--only A,B,..` runs what the comma-separated list names: `relay` and `app` name those
//! scenarios; any other item names the download contenders whose name contains it (so
//! `--only Chromium,fetchmail` runs those two download contenders, and neither the relay nor
//! the app). The floor runs whenever any download contender does: a figure compares to it. An
//! item that names nothing is an error before anything runs, and a run that measured nothing
//! writes no report and fails.
//!
//! A contender that fails has its row say why: its exit status, after how long, the end of
//! its standard error, and what that is known to mean (`children::diagnose`: getmail6's lost
//! SIGCHLD, a program not installed). `POSTINO_BENCH_GETMAIL=PROGRAM` runs another getmail.
//!
//! `POSTINO_BENCH_APP_BEFORE=DIST` adds a second app contender, the app built in DIST (e.g. as it
//! was before the engine worker), beside the one in dist/.
#![forbid(unsafe_code)]

mod children;
mod delay;
mod mailbox;
mod report;
mod tables;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use postino_testkit::{Dovecot, DovecotOptions};
use report::{Figure, Report, Scenario};

pub const USER: &str = "bench";
pub const PASSWORD: &str = "bench-password";
/// Every download scenario's mailbox comes from this seed.
const MAILBOX_SEED: u64 = 0x0905_71e0;

struct Args {
    quick: bool,
    /// Scenarios (`relay`, `app`) and download contenders (by a part of their name) to run;
    /// empty: everything.
    only: Vec<String>,
    /// Mailbox sizes of the two download scenarios, instead of the defaults.
    messages: Option<(usize, usize)>,
    /// Messages stored for the app scenario, instead of the default.
    app_messages: Option<usize>,
    out: PathBuf,
    runs: usize,
    /// Write this many generated messages into this folder as .eml files, and nothing else.
    write_mail: Option<(PathBuf, usize)>,
}

const USAGE: &str = "usage: postino-bench [--quick] [--runs N] [--only relay|app|NAME,..] \
     [--messages DIRECT,DELAYED] [--app-messages N] [--out DIR]\n       \
     postino-bench --write-mail DIR N   (the bench's mailbox as N .eml files, e.g. for \
     tests/bench/profile_worker.mjs's MAIL)\n  \
     --only A,B,..  run only what the list names: `relay`, `app` (those scenarios), or any part of \
     download contenders' names (e.g. --only Chromium,fetchmail); the floor runs with any \
     download contender; an item that names nothing is an error\n  \
     POSTINO_BENCH_APP_BEFORE=DIST  adds the app built in DIST as a second app contender\n  \
     POSTINO_BENCH_GETMAIL=PROGRAM  the getmail to run (default: getmail on PATH)";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        quick: false,
        only: Vec::new(),
        messages: None,
        app_messages: None,
        out: PathBuf::from("target/bench"),
        runs: 3,
        write_mail: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--help" | "-h" => return Err(USAGE.into()),
            "--quick" => args.quick = true,
            "--only" => {
                let list = it
                    .next()
                    .ok_or("--only needs a comma-separated list of names")?;
                args.only.extend(
                    list.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from),
                );
                if args.only.is_empty() {
                    return Err("--only needs a comma-separated list of names".into());
                }
            }
            "--messages" => {
                let v = it.next().ok_or("--messages needs DIRECT,DELAYED")?;
                let (a, b) = v.split_once(',').ok_or("--messages needs DIRECT,DELAYED")?;
                args.messages = Some((
                    a.parse().map_err(|_| "bad --messages")?,
                    b.parse().map_err(|_| "bad --messages")?,
                ));
            }
            "--app-messages" => {
                args.app_messages = Some(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--app-messages needs a number")?,
                )
            }
            "--out" => args.out = it.next().ok_or("--out needs a folder")?.into(),
            "--runs" => {
                args.runs = it
                    .next()
                    .and_then(|r| r.parse().ok())
                    .ok_or("--runs needs a number")?
            }
            "--write-mail" => {
                let dir = it.next().ok_or("--write-mail needs DIR N")?;
                let n = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--write-mail needs DIR N")?;
                args.write_mail = Some((dir.into(), n));
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    // An item that names nothing would leave a comparison empty: said now, before any work.
    for item in &args.only {
        if !SCENARIOS.contains(&item.as_str())
            && !children::NAMES.iter().any(|n| n.contains(item.as_str()))
        {
            return Err(format!(
                "--only {item:?} names no scenario and no contender: use relay, app, or a part \
                 of one of these names: {}",
                children::NAMES.join("; ")
            ));
        }
    }
    Ok(args)
}

/// Scenarios that `--only` selects by name, as a whole.
const SCENARIOS: [&str; 2] = ["relay", "app"];

impl Args {
    /// Whether scenario `name` (`relay`, `app`, or `download` for the two download scenarios)
    /// runs.
    fn runs_scenario(&self, name: &str) -> bool {
        if self.only.is_empty() {
            return true;
        }
        if name == "download" {
            self.contender_names().next().is_some()
        } else {
            self.only.iter().any(|o| o == name)
        }
    }

    /// The items of `--only` that name download contenders.
    fn contender_names(&self) -> impl Iterator<Item = &str> {
        self.only
            .iter()
            .map(String::as_str)
            .filter(|o| !SCENARIOS.contains(o))
    }

    /// Whether the download contender called `name` runs: the floor always does (when a
    /// download scenario runs), as every figure is compared to it.
    fn selects(&self, name: &str) -> bool {
        self.only.is_empty()
            || name == children::FLOOR
            || self.contender_names().any(|o| name.contains(o))
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("child") {
        std::process::exit(children::main(&argv[2..]));
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("postino-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Some((dir, n)) = &args.write_mail {
        if let Err(e) = write_mail(dir, *n) {
            eprintln!("postino-bench: {}: {e}", dir.display());
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = run(&args) {
        eprintln!("postino-bench: {e}");
        std::process::exit(1);
    }
}

/// The mailbox the download scenarios serve, `n` messages of it, as `dir/00001.eml`...
fn write_mail(dir: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (i, mail) in mailbox::generate(n, MAILBOX_SEED).iter().enumerate() {
        std::fs::write(dir.join(format!("{:05}.eml", i + 1)), mail)?;
    }
    Ok(())
}

/// Checks a run's result, given its standard output.
pub type Check = Box<dyn Fn(&str) -> Result<(), String>>;

/// A contender: a command line, and how to check what it delivered.
pub struct Contender {
    pub name: String,
    pub command: Command,
    /// Prepared fresh before each run (an empty Maildir, ...).
    pub prepare: Box<dyn Fn() -> Result<(), String>>,
    /// Messages and bytes delivered, checked after each run.
    pub check: Check,
}

fn run(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    // Absolute: the reference clients resolve relative paths against other folders.
    let out = std::fs::canonicalize(&args.out).map_err(|e| e.to_string())?;
    let (n_direct, n_delay) = args.messages.unwrap_or(if args.quick {
        (1_000, 100)
    } else {
        (10_000, 1_000)
    });
    let runs = if args.quick { 1 } else { args.runs };
    let mut report = Report::new(runs);
    let downloads = if args.runs_scenario("download") {
        vec![
            (
                "Download over loopback TLS from Dovecot",
                n_direct,
                Duration::ZERO,
            ),
            (
                "Download with 50 ms round-trip delay (25 ms each way)",
                n_delay,
                Duration::from_millis(25),
            ),
        ]
    } else {
        Vec::new()
    };

    for (title, n, delay) in downloads {
        eprintln!("postino-bench: {title}: generating {n} messages");
        let mails = mailbox::generate(n, MAILBOX_SEED);
        let bytes: u64 = mails.iter().map(|m| m.len() as u64).sum();
        let mut sizes: Vec<usize> = mails.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        let dovecot = Dovecot::start(&DovecotOptions {
            user: USER.into(),
            password: PASSWORD.into(),
            fixtures: mails,
        })
        .map_err(|e| format!("dovecot: {e}"))?;
        let proxy = if delay.is_zero() {
            None
        } else {
            Some(delay::start(dovecot.pop3s_port(), delay)?)
        };
        let port = proxy.as_ref().map_or(dovecot.pop3s_port(), |p| p.port);
        let work = out.join("work");
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let contenders = children::contenders(&dovecot, port, n, bytes, &work)?;
        let mut scenario = Scenario {
            title: title.into(),
            messages: n,
            bytes,
            median_size: sizes[sizes.len() / 2],
            max_size: *sizes.last().unwrap_or(&0),
            failed: None,
            figures: Vec::new(),
        };
        // Asked for, but not in this run (the app not built): a row that says so.
        for item in args.contender_names() {
            if !contenders.iter().any(|c| c.name.contains(item)) {
                scenario.figures.push(Figure::failed(
                    &format!("--only {item}"),
                    "no such contender in this run: the app needs dist/ (cargo xtask build) and \
                     tests/e2e/node_modules, the second app POSTINO_BENCH_APP_BEFORE"
                        .into(),
                ));
            }
        }
        let mut selected: Vec<Contender> = contenders
            .into_iter()
            .filter(|c| args.selects(&c.name))
            .collect();
        // Untimed: warms the server's page cache, so the first contender pays nothing the
        // others do not.
        if let Some(first) = selected.first_mut() {
            eprintln!("postino-bench:   {} (warming up, untimed)", first.name);
            let _ = run_once(first);
        }
        // Turn about (one run of each, then the next round), so that a drift of the machine
        // during the scenario weighs on every contender alike.
        let mut runs_of: Vec<Result<Vec<Run>, String>> =
            selected.iter().map(|_| Ok(Vec::new())).collect();
        for round in 1..=runs {
            for (c, done) in selected.iter_mut().zip(runs_of.iter_mut()) {
                let Ok(list) = done else { continue };
                eprintln!("postino-bench:   {} (run {round} of {runs})", c.name);
                match run_once(c) {
                    Ok(run) => list.push(run),
                    Err(e) => *done = Err(e),
                }
            }
        }
        for (c, done) in selected.iter().zip(runs_of) {
            scenario.figures.push(match done {
                Ok(list) => figure_of(&c.name, list),
                Err(e) => Figure::failed(&c.name, e),
            });
        }
        report.scenarios.push(scenario);
        drop(proxy);
    }

    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin_dir = me.parent().ok_or("no bin dir")?;
    if args.runs_scenario("relay") {
        eprintln!("postino-bench: {}", tables::RELAY_TITLE);
        report.tables.push(tables::relay(bin_dir, args.quick, runs));
    }
    if args.runs_scenario("app") {
        let n = args
            .app_messages
            .unwrap_or(if args.quick { 20_000 } else { 100_000 });
        eprintln!("postino-bench: the app with {n} stored messages");
        report.tables.push(tables::app(bin_dir, n, runs));
    }
    report.machine = machine();
    report.app = app_sizes(Path::new("dist"));
    report.write(&out)?;
    println!("{}", report.markdown());
    eprintln!(
        "postino-bench: wrote {} and report.json",
        out.join("report.md").display()
    );
    Ok(())
}

/// One timed run of a contender: seconds, peak RSS in KB, and what the browser contender says
/// besides its time (long tasks, opening a message, memory).
struct Run {
    seconds: f64,
    peak_rss_kb: u64,
    details: Option<serde_json::Value>,
}

/// The figure of a contender's runs.
fn figure_of(name: &str, runs: Vec<Run>) -> Figure {
    let secs = runs.iter().map(|r| r.seconds).collect();
    let rss = runs.iter().map(|r| r.peak_rss_kb).collect();
    let mut figure = Figure::measured(name, secs, rss);
    figure.details = runs.into_iter().filter_map(|r| r.details).collect();
    figure
}

/// Run a contender once under /usr/bin/time; a failed check is the error.
fn run_once(c: &mut Contender) -> Result<Run, String> {
    (c.prepare)()?;
    let mut timed = Command::new("/usr/bin/time");
    timed.arg("-f").arg("POSTINO-BENCH-TIME %e %M");
    timed
        .arg(c.command.get_program())
        .args(c.command.get_args());
    for (k, v) in c.command.get_envs() {
        if let Some(v) = v {
            timed.env(k, v);
        }
    }
    if let Some(d) = c.command.get_current_dir() {
        timed.current_dir(d);
    }
    let started = std::time::Instant::now();
    let out = match timed.output() {
        Ok(o) => o,
        Err(e) => return Err(format!("could not start: {e}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        // The cause: status, time, the end of standard error in order (without /usr/bin/time's
        // own line), and what it is known to mean.
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("POSTINO-BENCH-TIME ") && !l.trim().is_empty())
            .collect();
        let tail = lines[lines.len().saturating_sub(6)..].join(" / ");
        let mut why = format!(
            "{} after {:.0} s: {tail}",
            out.status,
            started.elapsed().as_secs_f64()
        );
        if let Some(meaning) = children::diagnose(&stderr) {
            why.push_str(&format!(" ({meaning})"));
        }
        return Err(why);
    }
    if let Err(e) = (c.check)(&stdout) {
        return Err(format!("wrong result: {e}"));
    }
    let Some(line) = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("POSTINO-BENCH-TIME "))
    else {
        return Err("no timing from /usr/bin/time".into());
    };
    let mut parts = line.split_whitespace().skip(1);
    let wall: f64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    // A contender that times itself (the browser: without Chromium's start-up) says so.
    let said = serde_json::from_str::<serde_json::Value>(stdout.trim()).ok();
    let own = said.as_ref().and_then(|v| v["seconds"].as_f64());
    // The browser's figures besides its time (long tasks, opening a message, memory).
    let details = own.and(said);
    Ok(Run {
        seconds: own.unwrap_or(wall),
        peak_rss_kb: parts.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        details,
    })
}

/// The app's wasm and JS in `dist`, raw and gzipped (`gzip -9`).
fn app_sizes(dist: &Path) -> Vec<(String, u64, u64)> {
    let Ok(entries) = std::fs::read_dir(dist) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64, u64)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "js"))
        .filter_map(|p| {
            let raw = std::fs::metadata(&p).ok()?.len();
            let gz = Command::new("sh")
                .arg("-c")
                .arg(format!("gzip -9 -c '{}' | wc -c", p.display()))
                .output()
                .ok()?;
            let gz = String::from_utf8_lossy(&gz.stdout).trim().parse().ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), raw, gz))
        })
        .collect();
    out.sort();
    out
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<u64>().ok())
                })
        })
        .map_or("?".into(), |kb| {
            format!("{:.0} GiB", kb as f64 / 1_048_576.0)
        });
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    format!("{cores} cores, {mem}, {cpu}")
}

/// Count files in a Maildir's new/ and their bytes.
/// Messages in `dir/new` and their size as received (CRLF line endings): Maildir files hold LF
/// (what postino writes, the Maildir convention), so each bare LF counts one byte more.
pub fn maildir_count_as_received(dir: &Path) -> Result<(usize, u64), String> {
    let mut n = 0;
    let mut bytes = 0u64;
    for e in std::fs::read_dir(dir.join("new")).map_err(|e| e.to_string())? {
        let file =
            std::fs::read(e.map_err(|e| e.to_string())?.path()).map_err(|e| e.to_string())?;
        n += 1;
        let bare_lf = file
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && (i == 0 || file[i - 1] != b'\r'))
            .count();
        bytes += file.len() as u64 + bare_lf as u64;
    }
    Ok((n, bytes))
}

pub fn maildir_count(dir: &Path) -> Result<(usize, u64), String> {
    let mut n = 0;
    let mut bytes = 0;
    for e in std::fs::read_dir(dir.join("new")).map_err(|e| e.to_string())? {
        let e = e.map_err(|e| e.to_string())?;
        n += 1;
        bytes += e.metadata().map_err(|e| e.to_string())?.len();
    }
    Ok((n, bytes))
}
