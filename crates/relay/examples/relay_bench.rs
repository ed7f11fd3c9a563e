//! Loopback benchmark: bulk transfer and round-trip latency directly over TCP, through
//! postino-relay and through websockify (Debian's `websockify`), and the memory each of the two
//! needs per idle WebSocket.
//!
//! ```sh
//! cargo run --release -p postino-relay --example relay_bench -- [--bytes N] [--round-trips N] \
//!     [--idle N] [--idle-websockify N] [--json]
//! ```
//!
//! Every byte is checked: the bulk server sends a known pattern that the client compares, and
//! each round trip's echo must be the message sent. A route whose check fails gets no figure,
//! only the failure. Whether the bytes still in flight when a server closes arrive is checked
//! too, through a server that closes right after its last byte (a warning, not a figure).
//! `--json` prints one object instead of a table, for postino-bench (tests/bench), which runs
//! this several times and reports median, min and max: `{"notes": [..], "warnings": [..],
//! "measures": [{"quantity", "unit", "contender", "value"} | {.., "failed"}]}`.
//!
//! The relay runs in a child process (this program again, with `--serve-relay`), so that its
//! memory is its own. `--idle` defaults to 9,000: each idle session costs the relay two file
//! descriptors and this process two more, under a 20,000 limit. websockify forks a process per
//! connection, so it gets fewer (`--idle-websockify`, default 100); memory is the proportional
//! set size (PSS) of the whole process tree, which shares each page among its users.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use postino_relay::{start, Destination, Limits, RelayConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Bytes of one request (and of its echo) in the round-trip test.
const MESSAGE: usize = 64;
/// The bulk server's bytes repeat with this period (a prime, so that no buffer size hides a
/// misplaced chunk).
const PERIOD: usize = 251;
const CHUNK: usize = 256 * 1024;
/// Round trips before the timed ones.
const WARM_UP: usize = 200;

const BULK: (&str, &str) = ("bulk throughput, server to client", "MiB/s");
const RTT_P50: (&str, &str) = ("round trip of 64 bytes, p50", "µs");
const RTT_P99: (&str, &str) = ("round trip of 64 bytes, p99", "µs");
const IDLE: (&str, &str) = ("memory per idle connection", "KiB");

const NO_WEBSOCKIFY: &str = "websockify did not start (is it installed?)";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if std::env::args().nth(1).as_deref() == Some("--serve-relay") {
        runtime.block_on(serve_relay());
    } else {
        let json = std::env::args().any(|a| a == "--json");
        let (notes, warnings, measures) = runtime.block_on(bench());
        if json {
            println!(
                "{}",
                json!({ "notes": notes, "warnings": warnings, "measures": measures })
            );
        } else {
            print_table(&notes, &warnings, &measures);
        }
    }
}

/// The child: a relay allowing the destinations given after `--serve-relay`, until stdin closes.
async fn serve_relay() {
    let allow: Vec<Destination> = std::env::args()
        .skip(2)
        .map(|a| a.parse().unwrap())
        .collect();
    let relay = start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: "/nonexistent".into(),
        allow,
        limits: Limits {
            max_connections: 50_000,
            max_connections_per_ip: 50_000,
            new_connections_per_minute: 0,
            idle_timeout: Duration::from_secs(3600),
            ..Limits::default()
        },
        ..RelayConfig::default()
    })
    .await
    .unwrap();
    println!("{}", relay.local_addr());
    let _ = tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let mut buf = [0u8; 1];
        let _ = std::io::stdin().read(&mut buf);
    })
    .await;
}

/// `len` bytes of the bulk pattern from offset 0; the bytes from offset `o` are
/// `pattern[o % PERIOD..]`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len + PERIOD).map(|i| (i % PERIOD) as u8).collect()
}

/// A server that sends `total` bytes of the pattern to each client; then, with `close`, closes
/// at once, else waits until the client closes (so that the throughput measured does not
/// depend on what a route does with bytes still in flight at the close).
async fn bulk_server(total: u64, close: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let bytes = pattern(CHUNK);
                let mut sent = 0u64;
                while sent < total {
                    let n = CHUNK.min((total - sent) as usize);
                    let at = (sent % PERIOD as u64) as usize;
                    if tcp.write_all(&bytes[at..at + n]).await.is_err() {
                        return;
                    }
                    sent += n as u64;
                }
                if !close {
                    let mut sink = [0u8; 64];
                    while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
                }
                let _ = tcp.shutdown().await;
            });
        }
    });
    addr
}

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let (mut rd, mut wr) = tcp.split();
                let _ = tokio::io::copy(&mut rd, &mut wr).await;
            });
        }
    });
    addr
}

/// Which way to reach a destination.
#[derive(Clone, Copy)]
enum Route {
    Direct,
    /// postino-relay at this address.
    Relay(SocketAddr),
    /// websockify listening here, forwarding to one fixed destination.
    Websockify(SocketAddr),
}

enum Conn {
    Tcp(TcpStream),
    Ws(Box<Ws>),
}

async fn connect(route: Route, dest: SocketAddr) -> Result<Conn, String> {
    let ws = |request| async {
        connect_async(request)
            .await
            .map(|(ws, _)| Conn::Ws(Box::new(ws)))
            .map_err(|e| format!("WebSocket handshake: {e}"))
    };
    match route {
        Route::Direct => {
            let tcp = TcpStream::connect(dest)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            Ok(Conn::Tcp(tcp))
        }
        Route::Relay(relay) => {
            let url = format!("ws://{relay}/v1/tcp/127.0.0.1/{}", dest.port());
            let mut request = url.into_client_request().map_err(|e| e.to_string())?;
            let headers = request.headers_mut();
            headers.insert("Origin", format!("http://{relay}").parse().unwrap());
            headers.insert("Sec-WebSocket-Protocol", "postino.v1".parse().unwrap());
            ws(request).await
        }
        Route::Websockify(at) => {
            let request = format!("ws://{at}/")
                .into_client_request()
                .map_err(|e| e.to_string())?;
            ws(request).await
        }
    }
}

impl Conn {
    /// The next bytes from the other end, in `buf` (TCP) or as `frame` (a WebSocket message),
    /// without a copy; empty at the end of the stream.
    async fn read<'a>(
        &mut self,
        buf: &'a mut [u8],
        frame: &'a mut Bytes,
    ) -> Result<&'a [u8], String> {
        match self {
            Conn::Tcp(tcp) => {
                let n = tcp.read(buf).await.map_err(|e| format!("read: {e}"))?;
                Ok(&buf[..n])
            }
            Conn::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Binary(b))) if !b.is_empty() => {
                        *frame = b;
                        return Ok(&frame[..]);
                    }
                    Some(Ok(Message::Close(_))) | None => return Ok(&[]),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(format!("WebSocket: {e}")),
                }
            },
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Conn::Tcp(tcp) => tcp
                .write_all(bytes)
                .await
                .map_err(|e| format!("write: {e}")),
            Conn::Ws(ws) => ws
                .send(Message::binary(bytes.to_vec()))
                .await
                .map_err(|e| format!("WebSocket: {e}")),
        }
    }
}

struct Bulk {
    bytes_per_second: f64,
    got: u64,
}

/// Receive `total` bytes (or as many as `limit` allows), each compared with what the server
/// sent.
async fn bulk(route: Route, dest: SocketAddr, total: u64, limit: Duration) -> Result<Bulk, String> {
    let mut conn = connect(route, dest).await?;
    let expected = pattern(CHUNK);
    let (mut buf, mut frame) = (vec![0u8; CHUNK], Bytes::new());
    let started = Instant::now();
    let mut got = 0u64;
    while got < total && started.elapsed() < limit {
        let bytes = conn.read(&mut buf, &mut frame).await?;
        if bytes.is_empty() {
            return Err(format!("the stream ended after {got} of {total} bytes"));
        }
        for piece in bytes.chunks(CHUNK) {
            let at = (got % PERIOD as u64) as usize;
            if piece != &expected[at..at + piece.len()] {
                let first = piece
                    .iter()
                    .zip(&expected[at..])
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return Err(format!(
                    "bytes not intact: byte {} differs from what the server sent",
                    got + first as u64
                ));
            }
            got += piece.len() as u64;
        }
    }
    if got > total {
        return Err(format!("{got} bytes arrived; the server sent {total}"));
    }
    Ok(Bulk {
        bytes_per_second: got as f64 / started.elapsed().as_secs_f64(),
        got,
    })
}

/// From a server that closes right after its last byte: how many bytes arrived before the end
/// of the stream (all of them, unless the route drops what is in flight at the close).
async fn until_close(route: Route, dest: SocketAddr) -> Result<u64, String> {
    let mut conn = connect(route, dest).await?;
    let (mut buf, mut frame) = (vec![0u8; CHUNK], Bytes::new());
    let mut got = 0u64;
    loop {
        let bytes = conn.read(&mut buf, &mut frame).await?;
        if bytes.is_empty() {
            return Ok(got);
        }
        got += bytes.len() as u64;
    }
}

/// Round trips of a 64-byte message, each echo checked; sorted latencies in microseconds.
async fn round_trips(route: Route, dest: SocketAddr, n: usize) -> Result<Vec<f64>, String> {
    let mut conn = connect(route, dest).await?;
    let (mut buf, mut frame) = (vec![0u8; 4096], Bytes::new());
    let mut times = Vec::with_capacity(n);
    for i in 0..n + WARM_UP {
        // A different message each time: an echo of an earlier one does not pass.
        let message: Vec<u8> = (0..MESSAGE).map(|k| (i + k) as u8).collect();
        let started = Instant::now();
        conn.write(&message).await?;
        let mut back = Vec::with_capacity(MESSAGE);
        while back.len() < MESSAGE {
            let bytes = conn.read(&mut buf, &mut frame).await?;
            if bytes.is_empty() {
                return Err(format!("the stream ended in round trip {i}"));
            }
            back.extend_from_slice(bytes);
        }
        if back != message {
            return Err(format!("round trip {i}: the echo is not the message sent"));
        }
        if i >= WARM_UP {
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Proportional set size of a process (VmRSS where the kernel has no smaps_rollup).
fn pss_kib(pid: u32) -> Option<u64> {
    let field = |file: &str, name: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    field("smaps_rollup", "Pss:").or_else(|| field("status", "VmRSS:"))
}

/// A process and all its descendants.
fn process_tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    tree
}

fn tree_pss_kib(root: u32) -> u64 {
    process_tree(root).into_iter().filter_map(pss_kib).sum()
}

/// Opens `n` connections through `route`, one round trip each, and keeps them open; then
/// memory of the process tree of `pid`, before and after, per connection.
async fn idle_memory(
    route: Route,
    echo_at: SocketAddr,
    pid: u32,
    n: usize,
) -> Result<(f64, String), String> {
    let before = tree_pss_kib(pid);
    let started = Instant::now();
    let mut open = Vec::with_capacity(n);
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(500) {
        let batch = futures_util::future::join_all(chunk.iter().map(|&i| async move {
            let mut conn = connect(route, echo_at).await?;
            let message = (i as u64).to_le_bytes();
            conn.write(&message).await?;
            let mut back = Vec::new();
            let (mut buf, mut frame) = ([0u8; 64], Bytes::new());
            while back.len() < message.len() {
                let bytes = conn.read(&mut buf, &mut frame).await?;
                if bytes.is_empty() {
                    return Err("the stream ended".to_string());
                }
                back.extend_from_slice(bytes);
            }
            if back != message {
                return Err("the echo is not the message sent".to_string());
            }
            Ok(conn)
        }))
        .await;
        for conn in batch {
            open.push(conn.map_err(|e| format!("idle connection {}: {e}", open.len()))?);
        }
    }
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = tree_pss_kib(pid);
    drop(open);
    Ok((
        after.saturating_sub(before) as f64 / n as f64,
        format!(
            "{n} idle connections (opened in {:.1} s): {} MiB -> {} MiB",
            opened.as_secs_f64(),
            before / 1024,
            after / 1024
        ),
    ))
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Start `websockify LISTEN TARGET` and wait until it accepts.
async fn websockify(target: SocketAddr) -> Option<(Child, SocketAddr)> {
    let at = free_port();
    let mut child = Command::new("websockify")
        .args([at.to_string(), target.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if TcpStream::connect(at).await.is_ok() {
            return Some((child, at));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The relay child: its process and address.
fn spawn_relay(allow: &[SocketAddr]) -> Result<(Child, SocketAddr), String> {
    let mut relay = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .arg("--serve-relay")
        .args(allow.iter().map(ToString::to_string))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start the relay: {e}"))?;
    let mut line = String::new();
    let stdout = relay.stdout.take().ok_or("no relay stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    match line.trim().parse() {
        Ok(at) => Ok((relay, at)),
        Err(_) => {
            let _ = relay.kill();
            let _ = relay.wait();
            Err(format!("the relay did not start (it said {line:?})"))
        }
    }
}

fn measure(quantity: (&str, &str), contender: &str, result: Result<f64, String>) -> Value {
    let (quantity, unit) = quantity;
    match result {
        Ok(value) => {
            json!({ "quantity": quantity, "unit": unit, "contender": contender, "value": value })
        }
        Err(failed) => {
            json!({ "quantity": quantity, "unit": unit, "contender": contender, "failed": failed })
        }
    }
}

/// The way to each of the three servers.
#[derive(Clone, Copy)]
struct Routes {
    bulk: Route,
    echo: Route,
    close: Route,
}

/// Bytes sent by the server that closes right after sending them.
const CLOSE_BYTES: u64 = 64 << 20;

async fn bench() -> (Vec<String>, Vec<String>, Vec<Value>) {
    let total = arg("--bytes", 1 << 30);
    let trips = (arg("--round-trips", 5000) as usize).max(1);
    let idle = (arg("--idle", 9000) as usize).max(1);
    let idle_websockify = (arg("--idle-websockify", 100) as usize).max(1);
    let limit = Duration::from_secs(120);
    let bulk_at = bulk_server(total, false).await;
    let echo_at = echo_server().await;
    let close_at = bulk_server(CLOSE_BYTES, true).await;

    let relay = spawn_relay(&[bulk_at, echo_at, close_at]);
    let ws_bulk = websockify(bulk_at).await;
    let ws_echo = websockify(echo_at).await;
    let ws_close = websockify(close_at).await;

    let mut notes = vec![format!(
        "loopback; bulk: {} MiB from server to client, every byte checked; {trips} timed round \
         trips of {MESSAGE} bytes, each echo checked; memory: PSS of the whole process tree, \
         with {idle} idle WebSockets through postino-relay and {idle_websockify} through \
         websockify (a process each)",
        total >> 20
    )];
    let mut warnings = Vec::new();
    let relay_at = relay.as_ref().map(|(_, at)| *at).map_err(Clone::clone);
    let websockify_routes = match (&ws_bulk, &ws_echo, &ws_close) {
        (Some((_, b)), Some((_, e)), Some((_, c))) => Ok(Routes {
            bulk: Route::Websockify(*b),
            echo: Route::Websockify(*e),
            close: Route::Websockify(*c),
        }),
        _ => Err(NO_WEBSOCKIFY.to_string()),
    };
    let same = |r: Route| Routes {
        bulk: r,
        echo: r,
        close: r,
    };
    let routes = [
        ("direct TCP", Ok(same(Route::Direct))),
        (
            "postino-relay",
            relay_at.clone().map(|at| same(Route::Relay(at))),
        ),
        ("websockify", websockify_routes.clone()),
    ];

    let mut measures = Vec::new();
    for (name, routes) in routes {
        let routes = match routes {
            Ok(r) => r,
            Err(e) => {
                for q in [BULK, RTT_P50, RTT_P99] {
                    measures.push(measure(q, name, Err(e.clone())));
                }
                continue;
            }
        };
        let result = timeout(
            limit + Duration::from_secs(30),
            bulk(routes.bulk, bulk_at, total, limit),
        )
        .await
        .unwrap_or_else(|_| Err("no progress: timed out".into()));
        if let Ok(b) = &result {
            if b.got < total {
                warnings.push(format!(
                    "{name}: only {} MiB of {} in the {} s limit",
                    b.got >> 20,
                    total >> 20,
                    limit.as_secs()
                ));
            }
        }
        let rate = result.map(|b| b.bytes_per_second / (1 << 20) as f64);
        measures.push(measure(BULK, name, rate));
        let times = timeout(limit, round_trips(routes.echo, echo_at, trips))
            .await
            .unwrap_or_else(|_| Err(format!("not done in {} s", limit.as_secs())));
        measures.push(measure(
            RTT_P50,
            name,
            times
                .as_ref()
                .map(|t| percentile(t, 0.5))
                .map_err(Clone::clone),
        ));
        measures.push(measure(RTT_P99, name, times.map(|t| percentile(&t, 0.99))));
        // Not a figure: whether the bytes in flight when the server closes still arrive.
        match timeout(limit, until_close(routes.close, close_at)).await {
            Ok(Ok(got)) if got == CLOSE_BYTES => {}
            Ok(Ok(got)) => warnings.push(format!(
                "{name} lost data: of {CLOSE_BYTES} bytes that a server sent before closing at \
                 once, {got} arrived"
            )),
            Ok(Err(e)) => warnings.push(format!(
                "{name}: reading from a server that closes at once failed: {e}"
            )),
            Err(_) => warnings.push(format!(
                "{name}: reading from a server that closes at once: no end in {} s",
                limit.as_secs()
            )),
        }
    }

    // Idle WebSockets, each with one round trip done.
    let servers = [
        (
            "postino-relay",
            relay
                .as_ref()
                .map(|(child, at)| (Route::Relay(*at), child.id()))
                .map_err(Clone::clone),
            idle,
        ),
        (
            "websockify",
            match (&websockify_routes, &ws_echo) {
                (Ok(r), Some((child, _))) => Ok((r.echo, child.id())),
                _ => Err(NO_WEBSOCKIFY.to_string()),
            },
            idle_websockify,
        ),
    ];
    for (name, server, n) in servers {
        let result = match server {
            Ok((route, pid)) => timeout(limit, idle_memory(route, echo_at, pid, n))
                .await
                .unwrap_or_else(|_| Err(format!("not done in {} s", limit.as_secs()))),
            Err(e) => Err(e),
        };
        let result = result.map(|(per_connection, note)| {
            notes.push(format!("{name}: {note}"));
            per_connection
        });
        measures.push(measure(IDLE, name, result));
    }

    if let Ok((mut child, _)) = relay {
        drop(child.stdin.take());
        let _ = child.wait();
    }
    for (mut child, _) in [ws_bulk, ws_echo, ws_close].into_iter().flatten() {
        let _ = child.kill();
        let _ = child.wait();
    }
    (notes, warnings, measures)
}

/// The measures as a table, with each figure's ratio to direct TCP's.
fn print_table(notes: &[String], warnings: &[String], measures: &[Value]) {
    for note in notes {
        println!("{note}");
    }
    for warning in warnings {
        println!("WARNING: {warning}");
    }
    println!(
        "\n{:<36} {:<14} {:>14} {:>14}",
        "quantity", "route", "value", "× direct TCP"
    );
    for m in measures {
        let (quantity, contender) = (
            m["quantity"].as_str().unwrap_or(""),
            m["contender"].as_str().unwrap_or(""),
        );
        let Some(value) = m["value"].as_f64() else {
            println!(
                "{quantity:<36} {contender:<14} failed: {}",
                m["failed"].as_str().unwrap_or("?")
            );
            continue;
        };
        let direct = measures
            .iter()
            .find(|d| d["quantity"] == m["quantity"] && d["contender"] == "direct TCP")
            .and_then(|d| d["value"].as_f64());
        let ratio = direct.map_or(String::new(), |d| format!("{:.2}", value / d));
        println!(
            "{quantity:<36} {contender:<14} {:>14} {ratio:>14}",
            format!("{value:.1} {}", m["unit"].as_str().unwrap_or(""))
        );
    }
}
