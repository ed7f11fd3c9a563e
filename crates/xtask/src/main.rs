//! `cargo xtask run | test | setup`: the README's commands.
//!
//! Each command first installs what this machine lacks and skips what it has: the wasm target,
//! Trunk, wasm-bindgen-cli at the version in Cargo.lock, wasm-opt (npm package binaryen, into
//! `.tools/`), the end-to-end test's and the OAuth stand-in's npm packages, and, as root on
//! Debian, the apt packages.
//! Only std: xtask must build fast on a fresh machine.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const TRUNK_VERSION: &str = "0.21.14";
const BINARYEN_VERSION: &str = "132";
const APT_PACKAGES: &[&str] = &[
    "clang",
    "chromium",
    "chromium-driver",
    "dovecot-pop3d",
    "fetchmail",
    // The relay's autoconfig tests run dnsmasq as a local DNS server (SRV and MX records);
    // -base is the binary without the system service.
    "dnsmasq-base",
];
const WASM_TARGET: &str = "wasm32-unknown-unknown";

mod size;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("setup") => setup(),
        Some("build") => setup()
            .and_then(|()| build_app())
            .and_then(|()| build_relay()),
        Some("bench") => bench(&args[1..]),
        Some("size") => size::report(
            &env::var_os("POSTINO_DIST")
                .map(PathBuf::from)
                .unwrap_or_else(|| root().join("dist")),
            true,
        ),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  run [--listen ADDR] [--origin URL]  build the app and serve it with the demo mailbox\n  \
                 test                 run every test: native, wasm in headless Chromium, end to end\n  \
                 build                build the app into dist/ and the relay in release\n  \
                 size                 the bundles in dist/, raw and gzipped, checked against their limits\n  \
                 bench [--quick]      measure Postino against its peers, side by side (--help: flags)\n  \
                 setup                install what is missing, nothing else"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("xtask lives in crates/xtask")
        .to_path_buf()
}

fn tools_bin() -> PathBuf {
    root().join(".tools/binaryen/node_modules/.bin")
}

/// PATH with cargo's bin folder and the project's wasm-opt in front.
fn path_env() -> String {
    let mut parts = vec![tools_bin()];
    if let Some(home) = env::var_os("CARGO_HOME")
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo").into_os_string()))
    {
        parts.push(Path::new(&home).join("bin"));
    }
    let old = env::var_os("PATH").unwrap_or_default();
    parts.extend(env::split_paths(&old));
    env::join_paths(parts)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root()).env("PATH", path_env());
    c
}

fn status(c: &mut Command) -> Result {
    let shown = std::iter::once(c.get_program())
        .chain(c.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    println!("xtask: $ {shown}");
    let s = c
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if s.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({s})"))
    }
}

fn output(c: &mut Command) -> Option<String> {
    let out = c.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

// ---------------------------------------------------------------------------------------------
// setup

fn setup() -> Result {
    let started = Instant::now();
    apt_packages()?;
    wasm_target()?;
    cargo_tool(
        "trunk",
        TRUNK_VERSION,
        &["trunk", "--version", TRUNK_VERSION, "--locked"],
    )?;
    let bindgen = lockfile_version("wasm-bindgen")?;
    // Not --locked: its lock file names a webpki-roots release the registry lacks (TOOLCHAIN.md).
    cargo_tool(
        "wasm-bindgen",
        &bindgen,
        &["wasm-bindgen-cli", "--version", &bindgen],
    )?;
    npm_tools()?;
    println!("xtask: setup done in {:.0?}", started.elapsed());
    Ok(())
}

fn apt_packages() -> Result {
    apt_install(APT_PACKAGES)
}

/// Install the Debian packages of `packages` that are missing (as root), or say how.
fn apt_install(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            output(cmd("dpkg-query").args(["-W", "-f=${Status}", p]))
                .is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect();
    let node_missing = output(cmd("npm").arg("--version")).is_none();
    let mut wanted: Vec<&str> = missing.clone();
    if node_missing {
        wanted.extend(["nodejs", "npm"]);
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let line = format!(
        "apt-get install -y --no-install-recommends {}",
        wanted.join(" ")
    );
    if !Path::new("/etc/debian_version").exists() {
        return Err(format!(
            "missing system packages: {}; install them with your package manager",
            wanted.join(", ")
        ));
    }
    if !is_root() {
        return Err(format!(
            "missing system packages; run this, then try again:\n  sudo apt-get update && sudo {line}"
        ));
    }
    let mut update = cmd("apt-get");
    update.arg("update").arg("-q");
    status(&mut update)?;
    let mut install = cmd("apt-get");
    install
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&wanted);
    status(&mut install)
}

fn wasm_target() -> Result {
    let installed =
        output(cmd("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    let mut c = cmd("rustup");
    c.args(["target", "add", WASM_TARGET]);
    status(&mut c)
}

/// Install `crate_args` with `cargo install` unless `binary --version` already says `version`.
fn cargo_tool(binary: &str, version: &str, crate_args: &[&str]) -> Result {
    let have = output(cmd(binary).arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(version) {
        return Ok(());
    }
    println!("xtask: installing {binary} {version} (this takes a few minutes, once)");
    let mut c = cmd("cargo");
    c.arg("install").args(crate_args);
    status(&mut c)
}

fn lockfile_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or_else(|| format!("{package} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').ok_or("Cargo.lock is malformed")?;
    Ok(lock[start..start + end].to_string())
}

/// `tests/e2e/*.test.mjs`, sorted.
fn e2e_test_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("tests/e2e"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test.mjs"))
        .map(|n| format!("tests/e2e/{n}"))
        .collect();
    files.sort();
    files
}

/// The end-to-end tests need Node 20 or later (node:test options, playwright-core).
fn check_node() -> Result {
    let version = output(cmd("node").arg("--version")).unwrap_or_default();
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!(
            "Node.js 20 or later is needed (found {:?}); install it from your distribution or nodejs.org",
            version
        ));
    }
    Ok(())
}

fn npm_tools() -> Result {
    check_node()?;
    if !tools_bin().join("wasm-opt").exists() {
        let mut c = cmd("npm");
        c.args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(root().join(".tools/binaryen"))
            .arg(format!("binaryen@{BINARYEN_VERSION}"));
        status(&mut c)?;
    }
    if !root()
        .join("tests/e2e/node_modules/playwright-core")
        .exists()
    {
        let mut c = cmd("npm");
        c.args(["ci", "--no-audit", "--no-fund", "--prefix", "tests/e2e"]);
        status(&mut c)?;
    }
    // The OAuth server that stands in for Google and Microsoft (crates/testkit's OAuthMock).
    if !root()
        .join("tests/oauth/node_modules/oauth2-mock-server")
        .exists()
    {
        let mut c = cmd("npm");
        c.args(["ci", "--no-audit", "--no-fund", "--prefix", "tests/oauth"]);
        status(&mut c)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// build

/// The web app in release, size-tuned, into `dist/`.
fn build_app() -> Result {
    status(cmd("cargo").arg("fetch"))?;
    let mut c = cmd("trunk");
    c.args([
        "build",
        "--release",
        "--cargo-profile",
        "wasm-release",
        "--offline",
    ]);
    status(&mut c)?;
    size::report(&root().join("dist"), false)
}

fn build_relay() -> Result {
    status(cmd("cargo").args(["build", "--release", "-p", "postino-relay"]))
}

// ---------------------------------------------------------------------------------------------
// run

fn run(args: &[String]) -> Result {
    const USAGE: &str = "usage: cargo xtask run [--listen ADDR] [--origin URL]...";
    let mut listen = "127.0.0.1:8080".to_string();
    // A listen address beyond loopback needs the origins the page is served under (the relay
    // refuses to start without them: DNS rebinding).
    let mut origins: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(USAGE)?.clone();
        match flag.as_str() {
            "--listen" => listen = value,
            "--origin" => origins.push(value),
            _ => return Err(USAGE.into()),
        }
    }
    setup()?;
    build_app()?;
    build_relay()?;
    println!("xtask: open http://{listen}/ (the demo mailbox is already set up); Ctrl-C stops");
    let mut relay = cmd(&root()
        .join("target/release/postino-relay")
        .to_string_lossy());
    relay.args(["--listen", &listen, "--dist", "dist", "--demo"]);
    for origin in &origins {
        relay.args(["--origin", origin]);
    }
    status(&mut relay)
}

// ---------------------------------------------------------------------------------------------
// bench

/// The reference clients and tools the benchmark compares against.
const BENCH_PACKAGES: &[&str] = &["getmail6", "websockify", "time"];

/// `cargo xtask bench [--quick] [postino-bench flags]`: builds everything the benchmark runs, then
/// postino-bench, which writes target/bench/report.md and report.json (every scenario, the
/// relay's and the app's included).
fn bench(args: &[String]) -> Result {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Err(
            "usage: cargo xtask bench [--quick] [--runs N] [--only relay|app|NAME,..] \
                    [--messages DIRECT,DELAYED] [--app-messages N]"
                .into(),
        );
    }
    setup()?;
    apt_install(BENCH_PACKAGES)?;
    build_app()?;
    status(cmd("cargo").args([
        "build",
        "--release",
        "-p",
        "postino-bench",
        "-p",
        "postino-cli",
        "-p",
        "postino-relay",
        "--bins",
        "--example",
        "relay_bench",
    ]))?;
    let mut run = cmd(&root()
        .join("target/release/postino-bench")
        .to_string_lossy());
    run.args(["--out", "target/bench"]).args(args);
    status(&mut run)
}

// ---------------------------------------------------------------------------------------------
// test

fn test() -> Result {
    let started = Instant::now();
    setup()?;
    let mut results: Vec<(&str, Result, f64)> = Vec::new();
    let mut step = |name: &'static str, f: &dyn Fn() -> Result| {
        let t = Instant::now();
        println!("\nxtask: ==== {name} ====");
        let r = f();
        if let Err(e) = &r {
            eprintln!("xtask: {name} FAILED: {e}");
        }
        results.push((name, r, t.elapsed().as_secs_f64()));
    };

    // The page's and the engine's pure parts (reducers, error sentences, presets, relay URLs)
    // run here natively; what needs a browser (IndexedDB, WebCrypto, Intl) runs below.
    step("native tests", &|| {
        let mut c = cmd("cargo");
        c.args(["test", "--workspace", "--exclude", "postino-bench"]);
        status(&mut c)
    });
    step("wasm tests in headless Chromium", &|| {
        let mut c = cmd("cargo");
        c.args([
            "test",
            "-p",
            "postino-app",
            "-p",
            "postino-engine",
            "--target",
            WASM_TARGET,
        ])
        .env("CHROMEDRIVER", "/usr/bin/chromedriver");
        status(&mut c)
    });
    let built = {
        let t = Instant::now();
        println!("\nxtask: ==== build for the end-to-end test ====");
        let r = build_app().and_then(|()| {
            // The bench is built too (not run): a change of the shared crates that breaks it
            // fails here, not at the next `cargo xtask bench`.
            let mut c = cmd("cargo");
            c.args([
                "build",
                "-p",
                "postino-relay",
                "-p",
                "postino-testkit",
                "-p",
                "postino-bench",
            ]);
            status(&mut c)
        });
        let ok = r.is_ok();
        results.push(("build app, relay and testkit", r, t.elapsed().as_secs_f64()));
        ok
    };
    if built {
        // Deterministic: a bundle over its limit fails the run (crates/xtask/src/size.rs).
        results.push((
            "bundle sizes",
            size::report(
                &env::var_os("POSTINO_DIST")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| root().join("dist")),
                true,
            ),
            0.0,
        ));
    }
    if built {
        let t = Instant::now();
        println!("\nxtask: ==== end-to-end tests (Chromium, relay, Dovecot) ====");
        let target = root().join("target/debug");
        let mut c = cmd("node");
        // Files named one by one: Node 22 and later take a folder argument for a file.
        c.args(["--test", "--test-concurrency=1"])
            .args(e2e_test_files())
            .env("POSTINO_RELAY_BIN", target.join("postino-relay"))
            .env("POSTINO_TESTKIT_BIN", target.join("postino-testkit"))
            .env("POSTINO_DIST", root().join("dist"))
            .env("CHROMIUM", "/usr/bin/chromium");
        results.push((
            "end-to-end tests",
            status(&mut c),
            t.elapsed().as_secs_f64(),
        ));
    }

    println!("\nxtask: summary ({:.0?} in all)", started.elapsed());
    let mut failed = 0;
    for (name, r, secs) in &results {
        let mark = if r.is_ok() { "ok  " } else { "FAIL" };
        println!("  {mark} {name} ({secs:.0} s)");
        failed += r.is_err() as usize;
    }
    if failed > 0 {
        return Err(format!("{failed} step(s) failed"));
    }
    Ok(())
}
