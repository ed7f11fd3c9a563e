//! Loopback benchmark: bulk transfer and round-trip latency directly over TCP, through
//! postino-relay and through websockify (Debian's `websockify`), and the relay's resident memory
//! per idle WebSocket.
//!
//! ```sh
//! cargo run --release -p postino-relay --example relay_bench -- [--bytes N] [--round-trips N] [--idle N]
//! ```
//!
//! The relay runs in a child process (this program again, with `--serve-relay`), so that its
//! VmRSS is its own. `--idle` defaults to 9,000: each idle session costs the relay two file
//! descriptors and this process two more, under a 20,000 limit.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use postino_relay::{start, Destination, Limits, RelayConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const MESSAGE: usize = 64;

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
        runtime.block_on(bench());
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

/// A server that sends `total` bytes to each client, then closes.
async fn bulk_server(total: u64) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let chunk = vec![0x5au8; 256 * 1024];
                let mut sent = 0;
                while sent < total {
                    let n = chunk.len().min((total - sent) as usize);
                    if tcp.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    sent += n as u64;
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

async fn connect(route: Route, dest: SocketAddr) -> Conn {
    match route {
        Route::Direct => {
            let tcp = TcpStream::connect(dest).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            Conn::Tcp(tcp)
        }
        Route::Relay(relay) => {
            let url = format!("ws://{relay}/v1/tcp/127.0.0.1/{}", dest.port());
            let mut request = url.into_client_request().unwrap();
            let headers = request.headers_mut();
            headers.insert("Origin", format!("http://{relay}").parse().unwrap());
            headers.insert("Sec-WebSocket-Protocol", "postino.v1".parse().unwrap());
            Conn::Ws(Box::new(connect_async(request).await.unwrap().0))
        }
        Route::Websockify(at) => {
            let request = format!("ws://{at}/").into_client_request().unwrap();
            Conn::Ws(Box::new(connect_async(request).await.unwrap().0))
        }
    }
}

/// Receive `total` bytes (or until the end, or `limit`); bytes per second.
async fn bulk(route: Route, dest: SocketAddr, total: u64, limit: Duration) -> (f64, u64) {
    let conn = connect(route, dest).await;
    let started = Instant::now();
    let mut got = 0u64;
    match conn {
        Conn::Tcp(mut tcp) => {
            let mut buf = vec![0u8; 256 * 1024];
            while got < total && started.elapsed() < limit {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n as u64,
                }
            }
        }
        Conn::Ws(mut ws) => {
            while got < total && started.elapsed() < limit {
                match ws.next().await {
                    Some(Ok(Message::Binary(b))) => got += b.len() as u64,
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        }
    }
    (got as f64 / started.elapsed().as_secs_f64(), got)
}

/// Round trips of a 64-byte message; sorted latencies in microseconds.
async fn round_trips(route: Route, dest: SocketAddr, n: usize) -> Vec<f64> {
    let mut conn = connect(route, dest).await;
    let message = [0x42u8; MESSAGE];
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let started = Instant::now();
        match &mut conn {
            Conn::Tcp(tcp) => {
                tcp.write_all(&message).await.unwrap();
                let mut back = [0u8; MESSAGE];
                tcp.read_exact(&mut back).await.unwrap();
            }
            Conn::Ws(ws) => {
                ws.send(Message::binary(message.to_vec())).await.unwrap();
                let mut got = 0;
                while got < MESSAGE {
                    if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
                        got += b.len();
                    }
                }
            }
        }
        if i >= 200 {
            times.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
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
    let child = Command::new("websockify")
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
    None
}

async fn bench() {
    let total = arg("--bytes", 1 << 30);
    let trips = arg("--round-trips", 5000) as usize;
    let idle = arg("--idle", 9000) as usize;
    let bulk_at = bulk_server(total).await;
    let echo_at = echo_server().await;

    let mut relay = Command::new(std::env::current_exe().unwrap())
        .args(["--serve-relay", &bulk_at.to_string(), &echo_at.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(relay.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let relay_at: SocketAddr = line.trim().parse().unwrap();
    let ws_bulk = websockify(bulk_at).await;
    let ws_echo = websockify(echo_at).await;

    let mut routes = vec![
        ("direct TCP", Route::Direct, Route::Direct),
        (
            "postino-relay",
            Route::Relay(relay_at),
            Route::Relay(relay_at),
        ),
    ];
    if let (Some((_, b)), Some((_, e))) = (&ws_bulk, &ws_echo) {
        routes.push(("websockify", Route::Websockify(*b), Route::Websockify(*e)));
    } else {
        println!("websockify not found: skipped");
    }

    println!(
        "loopback, {} MiB bulk (server to client), {trips} round trips of {MESSAGE} bytes\n",
        total >> 20
    );
    println!(
        "{:<14} {:>12} {:>10} {:>10} {:>12} {:>12}",
        "route", "MiB/s", "p50 µs", "p99 µs", "+p50 µs", "+p99 µs"
    );
    let mut direct = (0.0, 0.0);
    for (name, bulk_route, echo_route) in routes {
        let (rate, got) = bulk(bulk_route, bulk_at, total, Duration::from_secs(120)).await;
        let times = round_trips(echo_route, echo_at, trips).await;
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        if matches!(bulk_route, Route::Direct) {
            direct = (p50, p99);
        }
        let partial = if got < total {
            format!(" (only {} MiB in the time limit)", got >> 20)
        } else {
            String::new()
        };
        println!(
            "{name:<14} {:>12.0} {p50:>10.1} {p99:>10.1} {:>12.1} {:>12.1}{partial}",
            rate / (1 << 20) as f64,
            p50 - direct.0,
            p99 - direct.1,
        );
    }

    // Idle WebSockets through the relay, each with one round trip done.
    let pid = relay.id();
    let before = vm_rss_kib(pid);
    let mut sockets = Vec::with_capacity(idle);
    let started = Instant::now();
    for chunk in (0..idle).collect::<Vec<_>>().chunks(500) {
        let opened = futures_util::future::join_all(chunk.iter().map(|_| async {
            let mut conn = connect(Route::Relay(relay_at), echo_at).await;
            if let Conn::Ws(ws) = &mut conn {
                ws.send(Message::binary(vec![1u8; 8])).await.unwrap();
                ws.next().await.unwrap().unwrap();
            }
            conn
        }))
        .await;
        sockets.extend(opened);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = vm_rss_kib(pid);
    println!(
        "\npostino-relay resident memory: {} MiB before, {} MiB with {idle} idle WebSockets \
         (opened in {:.1} s): {:.1} KiB per idle connection",
        before / 1024,
        after / 1024,
        started.elapsed().as_secs_f64(),
        (after - before) as f64 / idle as f64
    );
    drop(sockets);
    drop(relay.stdin.take());
    let _ = relay.wait();
    for (mut child, _) in [ws_bulk, ws_echo].into_iter().flatten() {
        let _ = child.kill();
        let _ = child.wait();
    }
}
