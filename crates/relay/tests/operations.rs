//! Running the relay: TLS on the listener and its reload, graceful shutdown, the app's headers,
//! and the binary itself (help, configuration file, environment, JSON logs, SIGTERM).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use postino_relay::TlsFiles;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("postino-relay-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh self-signed certificate for `localhost`, written as PEM; its DER.
fn write_certificate(dir: &std::path::Path) -> CertificateDer<'static> {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), key.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.key_pair.serialize_pem()).unwrap();
    key.cert.der().clone()
}

/// Connect over TLS trusting `cert`; the certificate the relay presented.
async fn tls_connect(
    addr: std::net::SocketAddr,
    cert: &CertificateDer<'static>,
) -> (
    tokio_rustls::client::TlsStream<TcpStream>,
    CertificateDer<'static>,
) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the trusted certificate");
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    (tls, presented)
}

#[tokio::test]
async fn tls_listener_serves_wss_and_reloads_its_certificate() {
    let dir = temp_dir("tls");
    let first = write_certificate(&dir);
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.tls = Some(TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    });
    let relay = relay(config).await;
    assert_eq!(relay.scheme(), "https");
    let addr = relay.local_addr();

    // Over TLS every response carries HSTS.
    let (mut https, _) = tls_connect(addr, &first).await;
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    https.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = https.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(
        answer.contains("strict-transport-security: max-age=31536000"),
        "{answer}"
    );

    let (tls, presented) = tls_connect(addr, &first).await;
    assert_eq!(presented, first);
    let mut request = format!("wss://localhost:{}{}", addr.port(), echo_path(echo))
        .into_client_request()
        .unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "Origin",
        format!("https://localhost:{}", addr.port())
            .parse()
            .unwrap(),
    );
    headers.insert("Sec-WebSocket-Protocol", "postino.v1".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, tls).await.unwrap();
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::binary(
        b"hi".to_vec(),
    ))
    .await
    .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_data().as_ref(),
        b"hi"
    );

    // A renewed certificate is used after reload (SIGHUP), without a restart.
    let second = write_certificate(&dir);
    relay.reload().unwrap();
    let (_, presented) = tls_connect(addr, &second).await;
    assert_eq!(presented, second);
    // A broken file keeps the current certificate.
    std::fs::write(dir.join("cert.pem"), "not PEM").unwrap();
    assert!(relay.reload().is_err());
    let (_, presented) = tls_connect(addr, &second).await;
    assert_eq!(presented, second);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn shutdown_lets_sessions_finish_until_the_grace_then_closes_them_with_1001() {
    let (echo, _) = echo_server().await;
    let mut config = config();
    config.allow = vec![allow(echo)];
    config.shutdown_grace = Duration::from_millis(600);
    let relay = relay(config).await;
    let addr = relay.local_addr();
    let mut ws = open(&relay, &echo_path(echo)).await;
    let stopping = tokio::spawn(relay.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // No new connections...
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    // ...but the open session goes on during the grace...
    echo_round_trip(&mut ws, b"RETR 1\r\n").await;
    // ...and is then closed with a reason.
    assert_eq!(
        close_of(&mut ws).await,
        (1001, "the relay is shutting down; connect again".into())
    );
    tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("shutdown ends")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_without_sessions_is_immediate() {
    let mut config = config();
    config.shutdown_grace = Duration::from_secs(30);
    let relay = relay(config).await;
    tokio::time::timeout(Duration::from_secs(2), relay.shutdown())
        .await
        .expect("no waiting when nothing is open")
        .unwrap();
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    get_with(addr, path, "").await
}

async fn get_with(addr: std::net::SocketAddr, path: &str, headers: &str) -> (u16, String, Vec<u8>) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

#[tokio::test]
async fn app_files_have_their_types_caching_and_a_csp() {
    let dist = temp_dir("dist");
    let page = "<!doctype html><title>Postino</title>\n<script type=\"module\">\nimport init from '/postino-app-0123456789abcdef.js';\nawait init();\n</script>";
    std::fs::write(dist.join("index.html"), page).unwrap();
    std::fs::write(
        dist.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    std::fs::write(dist.join("manifest.webmanifest"), "{}").unwrap();
    std::fs::write(
        dist.join("postino-app-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(dist.join("postino-app-0123456789abcdef_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(dist.join("style-0123456789abcdef.css"), "body{}").unwrap();
    let mut config = config();
    config.dist = dist.clone();
    let relay = relay(config).await;
    let addr = relay.local_addr();

    let (status, head, body) = get(addr, "/").await;
    assert_eq!(status, 200);
    assert_eq!(body, page.as_bytes(), "the page is served unchanged");
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    let csp = head
        .lines()
        .find_map(|l| l.strip_prefix("content-security-policy: "))
        .expect("a CSP on the page")
        .to_string();
    let inline = "\nimport init from '/postino-app-0123456789abcdef.js';\nawait init();\n";
    let hash = postino_relay::router::inline_script_hashes(&format!("<script>{inline}</script>"));
    assert!(
        csp.contains(&format!(
            "script-src 'self' 'wasm-unsafe-eval' '{}'",
            hash[0].to_ascii_lowercase()
        )),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self' ws: wss:"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    let (_, head, _) = get(addr, "/index.html").await;
    assert!(head.contains("content-security-policy: "), "{head}");

    for (path, content_type, cache) in [
        ("/sw.js", "text/javascript", "no-cache"),
        (
            "/manifest.webmanifest",
            "application/manifest+json",
            "no-cache",
        ),
        (
            "/postino-app-0123456789abcdef.js",
            "text/javascript",
            "immutable",
        ),
        (
            "/postino-app-0123456789abcdef_bg.wasm",
            "application/wasm",
            "immutable",
        ),
        ("/style-0123456789abcdef.css", "text/css", "immutable"),
    ] {
        let (status, head, _) = get(addr, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            head.contains(&format!("content-type: {content_type}")),
            "{path}: {head}"
        );
        assert!(head.contains(cache), "{path}: {head}");
        assert!(!head.contains("content-security-policy"), "{path}: {head}");
    }

    // The build's .br beside a file is sent to a browser that takes brotli, with the file's
    // type; the page never is (the CSP needs its text), even with a .br beside it.
    let wasm = "/postino-app-0123456789abcdef_bg.wasm";
    std::fs::write(dist.join(format!("{}.br", &wasm[1..])), b"brotli bytes").unwrap();
    std::fs::write(dist.join("index.html.br"), b"brotli page").unwrap();
    let accept = "Accept-Encoding: gzip, deflate, br\r\n";
    let (status, head, body) = get_with(addr, wasm, accept).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert_eq!(body, b"brotli bytes");
    let (_, head, body) = get(addr, wasm).await;
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, b"\0asm");
    for page_path in ["/", "/index.html"] {
        let (status, head, body) = get_with(addr, page_path, accept).await;
        assert_eq!(status, 200, "{page_path}");
        assert!(!head.contains("content-encoding"), "{page_path}: {head}");
        assert_eq!(body, page.as_bytes(), "{page_path}");
        assert!(
            head.contains(&hash[0].to_ascii_lowercase()),
            "{page_path}: {head}"
        );
    }
    std::fs::remove_dir_all(dist).unwrap();
}

// --- the binary -----------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_postino-relay");

#[test]
fn help_explains_every_setting_and_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--listen",
        "--dist",
        "--allow",
        "--origin",
        "--demo",
        "--tokens-file",
        "--trusted-proxy",
        "--tls-cert",
        "--tls-key",
        "--connect-timeout",
        "--idle-timeout",
        "--max-session",
        "--max-connections",
        "--max-connections-per-ip",
        "--new-connections-per-minute",
        "--max-message-size",
        "--http-timeout",
        "--forwarded-header",
        "--metrics-listen",
        "--shutdown-grace",
        "--log-format",
    ] {
        assert!(help.contains(flag), "{flag} missing in\n{help}");
        let env = format!(
            "POSTINO_RELAY_{}",
            flag.trim_start_matches('-')
                .replace('-', "_")
                .to_ascii_uppercase()
        );
        assert!(help.contains(&env), "{env} missing in\n{help}");
    }
    assert!(help.contains("SIGHUP"));
}

/// The binary from a TOML file and the environment, logging JSON: a refused connection that
/// offered a token is logged without the token; SIGTERM ends it with status 0.
#[tokio::test]
async fn binary_reads_file_and_environment_logs_json_without_tokens_and_stops_on_sigterm() {
    let dir = temp_dir("bin");
    let token = "secret-token-0123456789";
    std::fs::write(dir.join("tokens"), format!("{token}\n")).unwrap();
    std::fs::write(
        dir.join("relay.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\ndist = \"/nonexistent\"\ntokens_file = \"{}\"\nlog_format = \"text\"\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--config", dir.join("relay.toml").to_str().unwrap()])
        .env("POSTINO_RELAY_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("postino-relay listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .unwrap();

    let mut request = format!("ws://{addr}/v1/tcp/10.0.0.1/995")
        .into_client_request()
        .unwrap();
    let protocols = format!(
        "postino.v1, {}",
        postino_relay::tokens::token_protocol(token)
    );
    request
        .headers_mut()
        .insert("Origin", format!("http://{addr}").parse().unwrap());
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(close_of(&mut ws).await.0, 4403);

    let signal = |name: &str| {
        let status = Command::new("kill")
            .args([name, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    signal("-HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal("-TERM");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(logs.contains("refused"), "{logs}");
    assert!(logs.contains("tokens reloaded"), "{logs}");
    for line in logs.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value.get("level").is_some(), "{line}");
    }
    let encoded = postino_relay::tokens::token_protocol(token);
    assert!(!logs.contains(token) && !logs.contains(&encoded["postino.token.".len()..]));
    std::fs::remove_dir_all(dir).unwrap();
}
