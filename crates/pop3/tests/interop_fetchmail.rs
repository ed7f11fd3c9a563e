//! Interoperability of the server side: fetchmail (Debian's package, installed by `cargo xtask`)
//! downloads the fixtures from our server on 127.0.0.1 into a BSMTP file, every message.

use std::os::unix::fs::PermissionsExt;

use postino_pop3::server::{serve, Mailbox, MailboxMessage};
use postino_pop3::Secret;
use postino_testkit::{fixtures, workspace_root};
use tokio::net::TcpListener;
use tokio_util::compat::TokioAsyncReadCompatExt;

#[tokio::test]
async fn fetchmail_downloads_the_mailbox() {
    let mails = fixtures(workspace_root().join("tests/fixtures/mail"));
    let mb = Mailbox {
        user: "demo".into(),
        password: Secret::new("demo password".into()),
        messages: mails
            .iter()
            .map(|(name, raw)| MailboxMessage {
                uidl: name.clone(),
                raw: raw.clone(),
            })
            .collect(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let mb = mb.clone();
            tokio::spawn(async move { serve(socket.compat(), &mb).await });
        }
    });

    let dir = std::env::temp_dir().join(format!("postino-fetchmail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bsmtp = dir.join("out.bsmtp");
    let rc = dir.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no syslog\nset no bouncemail\n\
             poll 127.0.0.1 service {port} protocol POP3 uidl auth password\n  \
             user \"demo\" there with password \"demo password\" is \"root\" here\n  \
             sslproto \"\"\n  keep fetchall\n  bsmtp \"{}\"\n",
            bsmtp.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = tokio::process::Command::new("fetchmail")
        .arg("-f")
        .arg(&rc)
        .arg("--idfile")
        .arg(dir.join("ids"))
        .arg("--pidfile")
        .arg(dir.join("pid"))
        .env("HOME", &dir)
        .env("FETCHMAILHOME", &dir)
        .output()
        .await
        .expect("fetchmail is installed (cargo xtask installs it)");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "fetchmail failed: {log}");
    let got = std::fs::read_to_string(&bsmtp).unwrap();
    let delivered = got.lines().filter(|l| l.starts_with("MAIL FROM:")).count();
    assert_eq!(delivered, mails.len(), "{log}");
    for (name, raw) in &mails {
        let subject = String::from_utf8_lossy(raw)
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap()
            .to_string();
        assert!(got.contains(&subject), "{name}: {subject:?} not delivered");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
