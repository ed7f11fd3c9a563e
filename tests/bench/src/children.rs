//! The contenders, and the child processes that run Postino's own ones (so that each is timed
//! and its peak memory measured alone).

use std::path::Path;
use std::process::Command;

use postino_pop3::command::Command as Pop3Command;
use postino_pop3::{connect, ConnectOptions, Secret, Security};
use postino_sync::tcp::Tcp;
use postino_sync::{sync_account, Account, Connector, MemoryStore, Policy, SyncOptions};
use postino_testkit::Dovecot;

use crate::{maildir_count, maildir_count_as_received, Check, Contender, PASSWORD, USER};

/// The floor's name: every download scenario's figures are compared to it.
pub const FLOOR: &str = "floor: pipelined RETR over TLS, output discarded";
const RUNNER_PIPELINED: &str = "postino-sync runner, memory store, pipelined";
const RUNNER_SEQUENTIAL: &str = "postino-sync runner, memory store, one command at a time";
const APP: &str = "Postino app in headless Chromium via the relay, into IndexedDB";
const APP_BEFORE: &str = "Postino app, earlier build";
const CLI: &str = "postino CLI into a Maildir";
const GETMAIL: &str = "getmail6 into a Maildir";
const FETCHMAIL: &str = "fetchmail into a BSMTP file";

/// Every download contender's name (the second app's, from `POSTINO_BENCH_APP_BEFORE`, begins
/// with [`APP_BEFORE`]): what `--only` items are matched against before anything runs. A
/// contender may still be missing from a run (the app not built, a program not installed); its
/// row then says why.
pub const NAMES: [&str; 8] = [
    FLOOR,
    RUNNER_PIPELINED,
    RUNNER_SEQUENTIAL,
    APP,
    APP_BEFORE,
    CLI,
    GETMAIL,
    FETCHMAIL,
];

/// What a contender's failure is known to mean, from its standard error: said in the report
/// beside the error itself.
pub fn diagnose(stderr: &str) -> Option<&'static str> {
    if stderr.contains("waiting child pid") && stderr.contains("timed out") {
        // getmailcore/baseclasses.py (6.18.11, Debian 12): forkchild() forks, and only then
        // installs the SIGCHLD handler; a delivery child that exits first is never noticed,
        // _wait_for_child() waits 60 s on its condition variable and raises
        // getmailOperationError, which aborts the retriever; getmail then exits 127.
        return Some(
            "a getmail6 bug, not a figure: before 6.19.09 getmail installs its SIGCHLD handler \
             after fork(), so a Maildir delivery child that exits first is never noticed; it \
             waits 60 s, gives up the mailbox and exits 127 (the busier the machine, the likelier: \
             on this 2-core machine, compiling meanwhile, it hit both scenarios of one run; \
             fixed upstream in 6.19.09, which waits with multiprocessing). Set \
             POSTINO_BENCH_GETMAIL to a getmail >= 6.19.09 (pip install getmail6)",
        );
    }
    if stderr.contains("No such file or directory") || stderr.contains("command not found") {
        return Some("not installed: `cargo xtask bench` installs getmail6 and fetchmail with apt");
    }
    None
}

/// `child floor|runner-pipelined|runner-sequential PORT FINGERPRINT`: prints
/// `{"messages":N,"bytes":B}`.
pub fn main(args: &[String]) -> i32 {
    let [mode, port, fingerprint] = args else {
        eprintln!("usage: child MODE PORT FINGERPRINT");
        return 2;
    };
    let Ok(port) = port.parse::<u16>() else {
        return 2;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async {
        match mode.as_str() {
            "floor" => floor(port, fingerprint).await,
            "runner-pipelined" => runner(port, fingerprint, None).await,
            "runner-sequential" => runner(port, fingerprint, Some(1)).await,
            _ => Err(format!("unknown mode {mode}")),
        }
    });
    match result {
        Ok((messages, bytes)) => {
            println!("{{\"messages\":{messages},\"bytes\":{bytes}}}");
            0
        }
        Err(e) => {
            eprintln!("child {mode}: {e}");
            1
        }
    }
}

/// The physical limit: pipelined RETR of every message, bytes counted and thrown away.
async fn floor(port: u16, fingerprint: &str) -> Result<(usize, u64), String> {
    let mut tcp = Tcp::loopback(port);
    let stream = tcp.connect().await.map_err(|e| e.to_string())?;
    let mut opts = ConnectOptions::new("localhost", Security::Tls);
    opts.pinned_cert = Some(fingerprint.to_string());
    let mut client = connect(stream, &opts).await.map_err(|e| e.to_string())?;
    client
        .login(USER, &Secret::new(PASSWORD.into()))
        .await
        .map_err(|e| e.to_string())?;
    let count = client.stat().await.map_err(|e| e.to_string())?.count;
    let (mut next, mut messages, mut bytes) = (1u32, 0usize, 0u64);
    loop {
        while client.in_flight() < client.window() && next <= count {
            client
                .send_pipelined(Pop3Command::Retr(next))
                .map_err(|e| e.to_string())?;
            next += 1;
        }
        if client.in_flight() == 0 {
            break;
        }
        let r = client
            .next_response(&mut |c| {
                bytes += c.len() as u64;
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
        messages += usize::from(r.status.ok);
    }
    client.quit().await.map_err(|e| e.to_string())?;
    Ok((messages, bytes))
}

/// The postino-sync runner into the memory store.
async fn runner(
    port: u16,
    fingerprint: &str,
    max_in_flight: Option<usize>,
) -> Result<(usize, u64), String> {
    let account = Account {
        id: "bench".into(),
        name: "bench".into(),
        relay: String::new(),
        host: "localhost".into(),
        port,
        security: Security::Tls,
        user: USER.into(),
        pinned_cert: Some(fingerprint.into()),
        policy: Policy::default(),
        relay_token: None,
        remember_password: false,
        auth: Default::default(),
        auth_learned: None,
        oauth: None,
    };
    let store = MemoryStore::default();
    let mut options = SyncOptions::new(1_750_000_000);
    options.max_in_flight = max_in_flight;
    let report = sync_account(
        &mut Tcp::loopback(port),
        &store,
        &account,
        &Secret::new(PASSWORD.into()),
        &options,
        &mut |_| {},
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok((report.downloaded, report.bytes))
}

fn json_check(n: usize, bytes: u64) -> Check {
    Box::new(move |stdout: &str| {
        let v: serde_json::Value =
            serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
        let (m, b) = (v["messages"].as_u64(), v["bytes"].as_u64());
        if m != Some(n as u64) || b != Some(bytes) {
            return Err(format!(
                "got {m:?} messages, {b:?} bytes; want {n}, {bytes}"
            ));
        }
        Ok(())
    })
}

fn fresh(dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())
}

fn empty_maildir(dir: &Path) -> Result<(), String> {
    fresh(dir)?;
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `{"messages":N}` with N as wanted (the browser reports no byte count).
fn messages_check(n: usize) -> Check {
    Box::new(move |stdout: &str| {
        let v: serde_json::Value =
            serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
        match v["messages"].as_u64() {
            Some(m) if m == n as u64 => Ok(()),
            other => Err(format!("got {other:?} messages; want {n}")),
        }
    })
}

pub fn contenders(
    dovecot: &Dovecot,
    port: u16,
    n: usize,
    bytes: u64,
    work: &Path,
) -> Result<Vec<Contender>, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin_dir = me.parent().ok_or("no bin dir")?.to_path_buf();
    let fp = dovecot.fingerprint();
    // A copy readable by the unprivileged getmail.
    let cert = work.join("cert.pem");
    std::fs::copy(dovecot.dir().join("cert.pem"), &cert).map_err(|e| e.to_string())?;
    make_readable(&cert)?;
    let child = |mode: &str| {
        let mut c = Command::new(&me);
        c.args(["child", mode, &port.to_string(), &fp]);
        c
    };
    let mut out = vec![
        Contender {
            name: FLOOR.into(),
            command: child("floor"),
            prepare: Box::new(|| Ok(())),
            check: json_check(n, bytes),
        },
        Contender {
            name: RUNNER_PIPELINED.into(),
            command: child("runner-pipelined"),
            prepare: Box::new(|| Ok(())),
            check: json_check(n, bytes),
        },
        Contender {
            name: RUNNER_SEQUENTIAL.into(),
            command: child("runner-sequential"),
            prepare: Box::new(|| Ok(())),
            check: json_check(n, bytes),
        },
    ];

    // The app in headless Chromium, through the relay, into IndexedDB: the one in dist/, and
    // the one in $POSTINO_BENCH_APP_BEFORE if set (e.g. built before the engine worker).
    let root = postino_testkit::workspace_root();
    let browser = |dist: &Path| {
        let mut node = Command::new("node");
        node.arg(root.join("tests/bench/browser.mjs"))
            .env("POSTINO_RELAY_BIN", bin_dir.join("postino-relay"))
            .env("POSTINO_DIST", dist)
            .env("POP_PORT", port.to_string())
            .env("POP_USER", USER)
            .env("POP_PASSWORD", PASSWORD)
            .env("FINGERPRINT", &fp)
            .env("MESSAGES", n.to_string());
        node
    };
    let dist = root.join("dist");
    if dist.join("index.html").exists() && root.join("tests/e2e/node_modules").exists() {
        out.push(Contender {
            name: APP.into(),
            command: browser(&dist),
            prepare: Box::new(|| Ok(())),
            check: messages_check(n),
        });
    }
    if let Some(before) = std::env::var_os("POSTINO_BENCH_APP_BEFORE") {
        let before = std::path::PathBuf::from(before);
        let index = before.join("index.html");
        out.push(Contender {
            name: format!("{APP_BEFORE} (dist at {})", before.display()),
            command: browser(&before),
            // Said in its row rather than left out: it was asked for.
            prepare: Box::new(move || {
                if index.exists() {
                    Ok(())
                } else {
                    Err(format!("{} does not exist", index.display()))
                }
            }),
            check: messages_check(n),
        });
    }

    // The postino CLI into a Maildir.
    let cli_dir = work.join("postino");
    let maildir = cli_dir.join("Maildir");
    let config = work.join("postino.toml");
    std::fs::write(
        &config,
        format!(
            "[[account]]\nname = \"bench\"\nhost = \"localhost\"\nport = {port}\nsecurity = \"tls\"\n\
             user = \"{USER}\"\npassword_env = \"POSTINO_BENCH_PASSWORD\"\npinned_cert = \"{fp}\"\n\
             maildir = {maildir:?}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut cli = Command::new(bin_dir.join("postino"));
    cli.arg("--config")
        .arg(&config)
        .arg("--quiet")
        .env("POSTINO_BENCH_PASSWORD", PASSWORD);
    let (m1, m2) = (maildir.clone(), maildir.clone());
    out.push(Contender {
        name: CLI.into(),
        command: cli,
        prepare: Box::new(move || fresh(&m1)),
        // LF in the files (Maildir's convention): counted as received, every byte checked.
        check: Box::new(move |_| match maildir_count_as_received(&m2)? {
            (c, b) if c == n && b == bytes => Ok(()),
            (c, b) => Err(format!(
                "{c} files, {b} bytes (as received) in the Maildir; want {n}, {bytes}"
            )),
        }),
    });

    // getmail6 into a Maildir.
    let gm = work.join("getmail");
    let gm_maildir = gm.join("Maildir");
    let gm_state = gm.join("state");
    let rc = work.join("getmailrc");
    std::fs::write(
        &rc,
        format!(
            "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = localhost\nport = {port}\n\
             username = {USER}\npassword = {PASSWORD}\nca_certs = {}\n\n\
             [destination]\ntype = Maildir\npath = {}/\n\n\
             [options]\nread_all = true\ndelete = false\nverbose = 0\n",
            cert.display(),
            gm_maildir.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    // getmail refuses to deliver as root: as root, it runs as nobody. POSTINO_BENCH_GETMAIL
    // names another getmail (say, a newer one installed with pip; see `diagnose`).
    let as_root = is_root();
    make_readable(&rc)?;
    let program = std::env::var("POSTINO_BENCH_GETMAIL").unwrap_or_else(|_| "getmail".into());
    let mut getmail = if as_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(&program);
        c
    } else {
        Command::new(&program)
    };
    getmail
        .arg("--getmaildir")
        .arg(&gm_state)
        .arg("--rcfile")
        .arg(&rc);
    let (g1, g2, g3, g4) = (
        gm_maildir.clone(),
        gm_state.clone(),
        gm_maildir.clone(),
        gm.clone(),
    );
    out.push(Contender {
        name: GETMAIL.into(),
        command: getmail,
        prepare: Box::new(move || {
            empty_maildir(&g1)?;
            fresh(&g2)?;
            if as_root {
                let ok = Command::new("chown")
                    .args(["-R", "nobody:nogroup"])
                    .arg(&g4)
                    .status()
                    .map_err(|e| e.to_string())?
                    .success();
                if !ok {
                    return Err("chown of getmail's folder failed".into());
                }
            }
            Ok(())
        }),
        check: Box::new(move |_| match maildir_count(&g3)? {
            (c, _) if c == n => Ok(()),
            (c, _) => Err(format!("{c} messages in the Maildir; want {n}")),
        }),
    });

    // fetchmail into a BSMTP file (no SMTP server or MDA process per message).
    let fm = work.join("fetchmail");
    let bsmtp = fm.join("out.bsmtp");
    let fm_rc = work.join("fetchmailrc");
    std::fs::write(
        &fm_rc,
        format!(
            "set no syslog\nset no bouncemail\n\
             poll localhost via 127.0.0.1 service {port} protocol POP3 uidl\n  \
             user \"{USER}\" there with password \"{PASSWORD}\" is \"root\" here\n  \
             ssl sslcertck sslcertfile \"{}\" sslcommonname \"localhost\"\n  keep fetchall\n  \
             bsmtp \"{}\"\n",
            cert.display(),
            bsmtp.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    set_private(&fm_rc)?;
    let mut fetchmail = Command::new("fetchmail");
    fetchmail
        .arg("-f")
        .arg(&fm_rc)
        .arg("--idfile")
        .arg(fm.join("ids"))
        .arg("--pidfile")
        .arg(fm.join("pid"))
        .env("HOME", &fm)
        .env("FETCHMAILHOME", &fm);
    let (f1, f2) = (fm.clone(), bsmtp.clone());
    out.push(Contender {
        name: FETCHMAIL.into(),
        command: fetchmail,
        prepare: Box::new(move || fresh(&f1)),
        check: Box::new(move |_| {
            let text = std::fs::read(&f2).map_err(|e| e.to_string())?;
            let c = text
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"MAIL FROM:"))
                .count();
            if c == n {
                Ok(())
            } else {
                Err(format!("{c} messages in the BSMTP file; want {n}"))
            }
        }),
    });
    Ok(out)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn make_readable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| e.to_string())
}

fn set_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_failures_are_explained() {
        // What getmail 6.18.11 printed in the failed run.
        let getmail = "getmailrc: operation error (waiting child pid 48213 timed out)\n";
        assert!(diagnose(getmail).is_some_and(|d| d.contains("6.19.09")));
        assert!(
            diagnose("setpriv: failed to execute getmail: No such file or directory")
                .is_some_and(|d| d.starts_with("not installed"))
        );
        assert_eq!(diagnose("login refused"), None);
        assert!(NAMES.contains(&FLOOR));
    }
}
