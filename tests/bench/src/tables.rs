//! The scenarios measured in their own units: the relay (crates/relay/examples/relay_bench.rs
//! `--json`) and the app (tests/bench/app.mjs). Each is a program run once per run, printing
//! `{"notes": [..], "warnings": [..], "measures": [{"quantity", "unit", "contender", "value" |
//! "failed"}], "missing": [..]}`; the runs are gathered into one table. A measure that failed in any run is
//! failed, with that run's reason: no figure.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::report::{Measure, Table};

pub const RELAY_TITLE: &str = "Relay on loopback: direct TCP, postino-relay, websockify";

/// Scenario 3: bulk throughput, round-trip latency, memory per idle connection.
pub fn relay(bin_dir: &Path, quick: bool, runs: usize) -> Table {
    let program = bin_dir.join("examples/relay_bench");
    if !program.exists() {
        return Table::failed(
            RELAY_TITLE,
            format!(
                "{} is not built (cargo build --release -p postino-relay --example relay_bench)",
                program.display()
            ),
        );
    }
    let mut command = Command::new(program);
    command.arg("--json");
    if quick {
        command.args([
            "--bytes",
            "268435456",
            "--round-trips",
            "2000",
            "--idle",
            "1000",
            "--idle-websockify",
            "20",
        ]);
    }
    run(RELAY_TITLE, command, runs, Some("direct TCP"))
}

/// Scenario 4: the app in headless Chromium with `messages` stored messages.
pub fn app(bin_dir: &Path, messages: usize, runs: usize) -> Table {
    let title = format!("App with {messages} stored messages, in headless Chromium");
    let root = postino_testkit::workspace_root();
    let dist = root.join("dist");
    if !dist.join("index.html").exists() {
        return Table::failed(
            &title,
            "dist/ holds no built app (cargo xtask build)".into(),
        );
    }
    if !root.join("tests/e2e/node_modules/playwright-core").exists() {
        return Table::failed(
            &title,
            "tests/e2e/node_modules has no playwright-core (npm ci --prefix tests/e2e)".into(),
        );
    }
    let mut node = Command::new("node");
    node.arg(root.join("tests/bench/app.mjs"))
        .env("POSTINO_RELAY_BIN", bin_dir.join("postino-relay"))
        .env("POSTINO_DIST", &dist)
        .env("MESSAGES", messages.to_string());
    run(&title, node, runs, None)
}

/// Runs `command` `runs` times and gathers its measures; its standard error is passed on.
fn run(title: &str, mut command: Command, runs: usize, reference: Option<&str>) -> Table {
    let mut table = Table::new(title, reference);
    let mut missing = BTreeSet::new();
    for nth in 1..=runs {
        eprintln!("postino-bench:   run {nth} of {runs}");
        let out = match output(&mut command) {
            Ok(o) => o,
            Err(e) => return Table::failed(title, e),
        };
        let v: serde_json::Value = match serde_json::from_str(out.trim()) {
            Ok(v) => v,
            Err(e) => return Table::failed(title, format!("unreadable output ({e}): {out:.200}")),
        };
        for m in v["measures"].as_array().into_iter().flatten() {
            let field = |k: &str| m[k].as_str().unwrap_or("?");
            let (quantity, contender) = (field("quantity"), field("contender"));
            let at = match table
                .measures
                .iter()
                .position(|x| x.quantity == quantity && x.contender == contender)
            {
                Some(at) => at,
                None => {
                    table
                        .measures
                        .push(Measure::new(quantity, field("unit"), contender));
                    table.measures.len() - 1
                }
            };
            let measure = &mut table.measures[at];
            if measure.failed.is_some() {
                continue;
            }
            match (m["value"].as_f64(), m["failed"].as_str()) {
                (Some(value), None) => measure.values.push(value),
                (_, why) => {
                    measure.failed = Some(format!("run {nth}: {}", why.unwrap_or("no value")))
                }
            }
        }
        let strings = |key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        };
        table.notes = strings("notes");
        table.warnings.extend(
            strings("warnings")
                .into_iter()
                .map(|w| format!("run {nth}: {w}")),
        );
        missing.extend(strings("missing"));
    }
    table.missing = missing.into_iter().collect();
    table.finish();
    table
}

/// Standard output of one run; standard error goes to ours as it comes, and its tail into the
/// error when the program fails.
fn output(command: &mut Command) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {:?}: {e}", command.get_program()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let passed_on = std::thread::spawn(move || {
        let mut tail = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("postino-bench:     {line}");
            tail.push(line);
        }
        tail
    });
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let tail = passed_on.join().unwrap_or_default();
    if !out.status.success() {
        let tail: Vec<&str> = tail.iter().rev().take(6).map(String::as_str).collect();
        return Err(format!("exit {}: {}", out.status, tail.join(" | ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
