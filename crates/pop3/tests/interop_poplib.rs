//! Interoperability of the server side: Python's poplib (the standard library's POP3 client)
//! downloads a mailbox of the shared fixtures from our server on 127.0.0.1, with CAPA, UIDL,
//! LIST, TOP, RETR, DELE, RSET and pipelining-free one-at-a-time commands, and gets every message
//! byte for byte. Skipped, loudly, when python3 is missing.

use std::process::Stdio;

use postino_pop3::server::{serve, Mailbox, MailboxMessage};
use postino_pop3::Secret;
use postino_testkit::{fixtures, workspace_root};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// Prints one JSON object: capabilities, uidls, sizes, each message as hex, TOP of message 1,
/// and the STAT after DELE and after RSET.
const SCRIPT: &str = r#"
import json, poplib, sys
port = int(sys.argv[1])
pop = poplib.POP3("127.0.0.1", port, timeout=10)
out = {"welcome": pop.getwelcome().decode()}
out["capa"] = sorted(pop.capa().keys())
pop.user("demo")
pop.pass_("demo password")
out["stat"] = list(pop.stat())
out["uidl"] = [l.decode() for l in pop.uidl()[1]]
out["list"] = [l.decode() for l in pop.list()[1]]
out["messages"] = []
for n in range(1, out["stat"][0] + 1):
    _, lines, _ = pop.retr(n)
    out["messages"].append(b"".join(l + b"\r\n" for l in lines).hex())
_, lines, _ = pop.top(1, 0)
out["top"] = b"".join(l + b"\r\n" for l in lines).hex()
pop.dele(1)
out["stat_after_dele"] = list(pop.stat())
pop.rset()
out["stat_after_rset"] = list(pop.stat())
try:
    pop.user("demo")
    out["user_again"] = "accepted"
except poplib.error_proto as e:
    out["user_again"] = str(e)
pop.quit()
print(json.dumps(out))
"#;

fn mailbox() -> Mailbox {
    Mailbox {
        user: "demo".into(),
        password: Secret::new("demo password".into()),
        messages: fixtures(workspace_root().join("tests/fixtures/mail"))
            .into_iter()
            .map(|(name, raw)| MailboxMessage { uidl: name, raw })
            .collect(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn python_poplib_downloads_the_mailbox() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mb = mailbox();
    let expected = mb.clone();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        serve(socket.compat(), &mb).await
    });

    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child.stdin.take().unwrap().shutdown().await.unwrap();
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("poplib finishes within 30 s")
        .unwrap();
    assert!(
        output.status.success(),
        "poplib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.await.unwrap().unwrap();

    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let count = expected.messages.len();
    let total: usize = expected.messages.iter().map(|m| m.raw.len()).sum();
    assert_eq!(out["welcome"], "+OK Postino POP3 ready");
    for capability in ["PIPELINING", "RESP-CODES", "TOP", "UIDL", "USER"] {
        assert!(
            out["capa"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == capability),
            "{capability} in {}",
            out["capa"]
        );
    }
    assert_eq!(out["stat"], serde_json::json!([count, total]));
    for (i, m) in expected.messages.iter().enumerate() {
        assert_eq!(out["uidl"][i], format!("{} {}", i + 1, m.uidl));
        assert_eq!(out["list"][i], format!("{} {}", i + 1, m.raw.len()));
        assert_eq!(out["messages"][i], hex(&m.raw), "message {} differs", i + 1);
    }
    let first = &expected.messages[0].raw;
    let header_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(out["top"], hex(&first[..header_end]));
    let first_len = first.len();
    assert_eq!(
        out["stat_after_dele"],
        serde_json::json!([count - 1, total - first_len])
    );
    assert_eq!(out["stat_after_rset"], serde_json::json!([count, total]));
    assert!(
        out["user_again"].as_str().unwrap().contains("-ERR"),
        "{}",
        out["user_again"]
    );
}
