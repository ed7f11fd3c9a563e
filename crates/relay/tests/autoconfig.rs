//! `GET /v1/autoconfig/{domain}` against a real DNS server: dnsmasq (Debian `dnsmasq-base`),
//! run unprivileged-style on 127.0.0.1 and a free port, authoritative for `.test`, with SRV, MX
//! and address records, and killed when the test ends. Covered: the provider table (no DNS at
//! all), SRV records in priority then weight order, a "." target, MX records pointing at a
//! known provider, nothing found (guesses only), private answers refused like the TCP path
//! refuses them (and allowed with `--allow`), bad domains, another origin, the rate limit.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postino_relay::{RelayConfig, RelayHandle};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The zone every test's DNS server answers (addresses: public ones are plain data, nothing
/// connects to them).
const RECORDS: &[&str] = &[
    // SRV, priority then weight: mail-c (10, 50), mail-a (10, 5), mail-b (20); then STLS.
    "srv-host=_pop3s._tcp.srv.test,mail-b.srv.test,995,20,90",
    "srv-host=_pop3s._tcp.srv.test,mail-a.srv.test,995,10,5",
    "srv-host=_pop3s._tcp.srv.test,mail-c.srv.test,995,10,50",
    "srv-host=_pop3._tcp.srv.test,mail-a.srv.test,110,0,0",
    "host-record=mail-a.srv.test,80.80.80.1",
    "host-record=mail-b.srv.test,80.80.80.2",
    "host-record=mail-c.srv.test,80.80.80.3,2a00:1450:4001::1",
    // "." for POP3S (service not offered), a real record for POP3 with STLS.
    "srv-host=_pop3s._tcp.dot.test",
    "srv-host=_pop3._tcp.dot.test,pop.dot.test,110,0,0",
    "host-record=pop.dot.test,80.80.80.4",
    // MX at Google (preferred) and at Aruba, and one unknown.
    "mx-host=mxhit.test,mx.aruba.it,20",
    "mx-host=mxhit.test,alt1.aspmx.l.google.com,10",
    "mx-host=mxhit.test,mx.unknown-isp.test,5",
    // Nothing but addresses for two of the guesses.
    "host-record=pop.plain.test,80.80.80.5",
    "host-record=mail.plain.test,80.80.80.6",
    // Private: an SRV target on 10/8, one on the SMTP port, one named localhost, a guess on
    // loopback.
    "srv-host=_pop3s._tcp.private.test,inside.private.test,995,0,0",
    "srv-host=_pop3._tcp.private.test,smtp.private.test,25,0,0",
    "srv-host=_pop3._tcp.private.test,localhost,110,10,0",
    "host-record=inside.private.test,10.1.2.3",
    "host-record=smtp.private.test,80.80.80.7",
    "host-record=pop.private.test,127.0.0.1",
    "host-record=mail.private.test,80.80.80.8",
];

/// dnsmasq on 127.0.0.1:`addr.port()`, killed on drop.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Dnsmasq {
    /// Start dnsmasq on a free port; another process may take the port between the choice
    /// and dnsmasq's bind (tests run in parallel), so a start that fails on it is retried.
    fn start() -> Dnsmasq {
        for _ in 0..5 {
            if let Some(dns) = Dnsmasq::try_start() {
                return dns;
            }
        }
        panic!("dnsmasq could not bind a free port in 5 tries");
    }

    fn try_start() -> Option<Dnsmasq> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "postino-autoconfig-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut conf = format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
             local=/test/\nlog-queries\n"
        );
        for line in RECORDS {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = dir.join("dnsmasq.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let binary = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect(
                "dnsmasq is installed (Debian: apt-get install dnsmasq-base; cargo xtask setup)",
            );
        let log = std::fs::File::create(dir.join("dnsmasq.log")).unwrap();
        let child = Command::new(binary)
            .arg("--keep-in-foreground")
            .arg(format!("--conf-file={}", conf_path.display()))
            .arg("--pid-file")
            .arg("--log-facility=-")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dnsmasq starts");
        let mut dns = Dnsmasq {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        // Ready when it answers a query over UDP, within 10 s (a TCP probe would make it fork
        // a child for the connection).
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        probe
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        // ID 1, recursion desired, one question: probe.test A IN.
        let query = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
                      \x05probe\x04test\x00\x00\x01\x00\x01";
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = dns.child.try_wait().unwrap() {
                let log = dns.log();
                if log.contains("Address already in use") {
                    return None;
                }
                panic!("dnsmasq exited ({status}):\n{log}");
            }
            let mut answer = [0u8; 512];
            if probe.send_to(query, dns.addr).is_ok() && probe.recv(&mut answer).is_ok() {
                return Some(dns);
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq not ready in 10 s:\n{}",
                dns.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default()
    }

    /// The queries it was asked, but the readiness probe.
    fn queries(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("query[") && !l.contains("probe.test"))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free on 127.0.0.1 for both TCP and UDP at the time of asking.
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

async fn relay_with(dns: SocketAddr, change: impl FnOnce(&mut RelayConfig)) -> RelayHandle {
    let mut config = RelayConfig {
        dns_server: Some(dns),
        ..common::config()
    };
    change(&mut config);
    common::relay(config).await
}

struct Answer {
    status: u16,
    headers: String,
    body: String,
    json: Value,
}

/// `GET /v1/autoconfig/{domain}` with extra headers, within 20 s.
async fn get_with(relay: &RelayHandle, domain: &str, headers: &[(&str, &str)]) -> Answer {
    let addr = relay.local_addr();
    let exchange = async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut request = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            postino_contract::autoconfig_path(domain)
        );
        for (n, v) in headers {
            request.push_str(&format!("{n}: {v}\r\n"));
        }
        request.push_str("\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    let answer = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("an answer within 20 s");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    Answer {
        status: head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
        json: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

async fn get(relay: &RelayHandle, domain: &str) -> Answer {
    get_with(relay, domain, &[]).await
}

/// `(host, port, security, source)` of each candidate, in order.
fn candidates(answer: &Answer) -> Vec<(String, u64, String, String)> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["host"].as_str().unwrap().to_string(),
                c["port"].as_u64().unwrap(),
                c["security"].as_str().unwrap().to_string(),
                c["source"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn c(host: &str, port: u64, security: &str, source: &str) -> (String, u64, String, String) {
    (host.into(), port, security.into(), source.into())
}

#[tokio::test]
async fn a_domain_of_the_provider_table_needs_no_dns() {
    // Nothing listens there: a DNS query would only time out.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = relay_with(closed, |_| {}).await;
    let started = Instant::now();
    let answer = get(&relay, "GMail.com").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        answer.json,
        json!({
            "domain": "gmail.com",
            "candidates": [{"host": "pop.gmail.com", "port": 995, "security": "tls",
                            "source": "provider", "provider": "gmail"}],
            "no_service": [],
            "refused": [],
        })
    );
    assert!(answer.headers.contains("cache-control: no-store"));
    assert!(answer.headers.contains("content-type: application/json"));
}

#[tokio::test]
async fn srv_records_come_in_priority_then_weight_order_pop3s_first() {
    let dns = Dnsmasq::start();
    let relay = relay_with(dns.addr, |_| {}).await;
    let answer = get(&relay, "srv.test").await;
    assert_eq!(
        candidates(&answer),
        [
            c("mail-c.srv.test", 995, "tls", "srv"),
            c("mail-a.srv.test", 995, "tls", "srv"),
            c("mail-b.srv.test", 995, "tls", "srv"),
            c("mail-a.srv.test", 110, "stls", "srv"),
        ],
        "{}",
        dns.log()
    );
    assert_eq!(answer.json["refused"], json!([]));
    assert_eq!(answer.json["candidates"][0]["provider"], Value::Null);
}

#[tokio::test]
async fn a_dot_target_says_the_service_is_not_offered() {
    let dns = Dnsmasq::start();
    let relay = relay_with(dns.addr, |_| {}).await;
    let answer = get(&relay, "dot.test").await;
    assert_eq!(
        candidates(&answer),
        [c("pop.dot.test", 110, "stls", "srv")],
        "{}",
        dns.log()
    );
    assert_eq!(answer.json["no_service"], json!(["_pop3s._tcp"]));
}

#[tokio::test]
async fn mx_records_pointing_at_known_providers_name_them_by_preference() {
    let dns = Dnsmasq::start();
    let relay = relay_with(dns.addr, |_| {}).await;
    let answer = get(&relay, "mxhit.test").await;
    assert_eq!(
        candidates(&answer),
        [
            c("pop.gmail.com", 995, "tls", "mx"),
            c("pop3s.aruba.it", 995, "tls", "mx"),
        ],
        "{}",
        dns.log()
    );
    let providers: Vec<_> = answer.json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["provider"].clone())
        .collect();
    assert_eq!(providers, [json!("gmail"), json!("aruba")]);
}

#[tokio::test]
async fn with_nothing_found_the_guesses_that_have_an_address_come_on_995_then_110() {
    let dns = Dnsmasq::start();
    let relay = relay_with(dns.addr, |_| {}).await;
    let answer = get(&relay, "plain.test").await;
    // pop3.plain.test has no address: left out, not refused.
    assert_eq!(
        candidates(&answer),
        [
            c("pop.plain.test", 995, "tls", "guess"),
            c("pop.plain.test", 110, "stls", "guess"),
            c("mail.plain.test", 995, "tls", "guess"),
            c("mail.plain.test", 110, "stls", "guess"),
        ],
        "{}",
        dns.log()
    );
    assert_eq!(answer.json["refused"], json!([]));
    assert_eq!(answer.json["no_service"], json!([]));

    let answer = get(&relay, "nothing-at-all.test").await;
    assert_eq!(candidates(&answer), []);
}

#[tokio::test]
async fn private_answers_are_refused_like_the_tcp_path_without_naming_them() {
    let dns = Dnsmasq::start();
    let relay = relay_with(dns.addr, |_| {}).await;
    let answer = get(&relay, "private.test").await;
    assert_eq!(
        candidates(&answer),
        [
            c("mail.private.test", 995, "tls", "guess"),
            c("mail.private.test", 110, "stls", "guess"),
        ],
        "{}",
        dns.log()
    );
    let not_public = postino_relay::bridge::NAME_NOT_PUBLIC;
    assert_eq!(
        answer.json["refused"],
        json!([
            {"source": "srv", "reason": not_public},
            {"source": "srv", "reason": "port 25 is not allowed: only POP3 ports 110 and 995"},
            {"source": "srv", "reason": not_public},
            {"source": "guess", "reason": not_public},
        ])
    );
    for secret in [
        "inside",
        "10.1.2.3",
        "127.0.0.1",
        "pop.private.test",
        "smtp.",
    ] {
        assert!(!answer.body.contains(secret), "{secret} in {}", answer.body);
    }

    // The relay's switch for local destinations (--allow) lets exactly that one through.
    let allowed = relay_with(dns.addr, |config| {
        config.allow = vec!["inside.private.test:995".parse().unwrap()];
    })
    .await;
    let answer = get(&allowed, "private.test").await;
    assert_eq!(
        candidates(&answer),
        [c("inside.private.test", 995, "tls", "srv")]
    );
}

#[tokio::test]
async fn bad_domains_are_refused_before_any_lookup() {
    let dns = Dnsmasq::start();
    let relay = relay_with(dns.addr, |_| {}).await;
    let long = format!("{}.test", "a".repeat(64));
    for domain in [
        "127.0.0.1",
        "::1",
        "2130706433",
        "localhost",
        "mail.localhost",
        "test",
        "exa%20mple.test",
        "a..test",
        "under%2Fscore.test",
        long.as_str(),
    ] {
        let answer = get(&relay, domain).await;
        assert_eq!(answer.status, 400, "{domain}: {}", answer.body);
        assert_eq!(answer.json["error"], "domain", "{domain}");
        assert!(answer.json["message"].as_str().is_some());
    }
    assert_eq!(
        dns.queries(),
        Vec::<String>::new(),
        "no query for a refused domain"
    );
    // The server was there to be asked: a good domain is looked up.
    assert_eq!(get(&relay, "nothing-at-all.test").await.status, 200);
    assert!(!dns.queries().is_empty(), "{}", dns.log());
}

#[tokio::test]
async fn another_origin_gets_403_and_no_cors_the_own_origin_gets_cors() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = relay_with(closed, |_| {}).await;
    let answer = get_with(&relay, "gmail.com", &[("Origin", "https://evil.example")]).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.json["error"], "origin");
    assert!(!answer.headers.contains("access-control-allow-origin"));

    let own = format!("http://{}", relay.local_addr());
    let answer = get_with(&relay, "gmail.com", &[("Origin", &own)]).await;
    assert_eq!(answer.status, 200);
    assert!(answer
        .headers
        .contains(&format!("access-control-allow-origin: {own}")));
}

#[tokio::test]
async fn lookups_are_rate_limited_per_client_address() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = relay_with(closed, |config| {
        config.limits.new_connections_per_minute = 2;
    })
    .await;
    assert_eq!(get(&relay, "gmail.com").await.status, 200);
    assert_eq!(get(&relay, "web.de").await.status, 200);
    let answer = get(&relay, "libero.it").await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(answer.json["error"], "limit");
    assert!(answer.json["message"]
        .as_str()
        .unwrap()
        .contains("at most 2 a minute"));
    // A refused domain counts too (no free guessing).
    assert_eq!(get(&relay, "127.0.0.1").await.status, 429);
}
