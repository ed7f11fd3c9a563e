//! Which destinations the relay may connect to: ports, addresses and the allowlist (DESIGN.md,
//! "Relay contract"). Pure functions, so every refused form has its own unit test.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::Destination;

/// POP3 (RFC 1939) and POP3 over TLS (RFC 8314).
pub const POP3_PORTS: [u16; 2] = [110, 995];

/// SMTP ports: never relayed, even when allowlisted, so the relay cannot send spam.
pub const SMTP_PORTS: [u16; 3] = [25, 465, 587];

/// What kind of address an IP is, for the relay's purpose: only `Public` may be reached without
/// an allowlist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    /// 100.64.0.0/10, RFC 6598.
    SharedCgnat,
    /// 0.0.0.0/8 and `::`.
    Unspecified,
    Broadcast,
    Multicast,
    Documentation,
    Benchmarking,
    /// fc00::/7, RFC 4193.
    UniqueLocal,
    /// A public IPv4 address written as IPv6 (`::ffff:a.b.c.d` or `::a.b.c.d`): refused so that
    /// only one spelling of each address reaches the checks.
    Ipv4InIpv6,
    /// Other special-purpose ranges (240.0.0.0/4, 192.0.0.0/24, Teredo, discard-only...).
    Reserved,
}

impl AddressClass {
    /// "a loopback address", for refusal reasons.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::SharedCgnat => "a carrier-grade NAT address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Broadcast => "a broadcast address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::UniqueLocal => "a unique-local address",
            AddressClass::Ipv4InIpv6 => "an IPv4 address written as IPv6",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// Classify an address (IANA special-purpose registries, RFC 6890 and successors).
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Unspecified,
        (10, _, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::SharedCgnat,
        (127, _, _) => AddressClass::Loopback,
        (169, 254, _) => AddressClass::LinkLocal,
        (172, 16..=31, _) => AddressClass::Private,
        (192, 0, 0) => AddressClass::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (192, 88, 99) => AddressClass::Reserved,
        (192, 168, _) => AddressClass::Private,
        (198, 18..=19, _) => AddressClass::Benchmarking,
        (224..=239, _, _) => AddressClass::Multicast,
        (240..=255, _, _) => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (RFC 4291 section 2.5.5): name
    // the IPv4 form's class when it is refused anyway, so the reason says why.
    let embedded = match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
        // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) reaches the embedded IPv4 address.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            let inner = classify_v4(v4_from(hi, lo));
            return inner;
        }
        _ => None,
    };
    if let Some((hi, lo)) = embedded {
        return match classify_v4(v4_from(hi, lo)) {
            AddressClass::Public => AddressClass::Ipv4InIpv6,
            other => other,
        };
    }
    match s[0] {
        0xff00..=0xffff => AddressClass::Multicast,
        0xfe80..=0xfebf => AddressClass::LinkLocal,
        // Site-local (deprecated by RFC 3879), still private in practice.
        0xfec0..=0xfeff => AddressClass::Private,
        0xfc00..=0xfdff => AddressClass::UniqueLocal,
        0x2001 if s[1] == 0x0db8 => AddressClass::Documentation,
        0x3fff if s[1] <= 0x0fff => AddressClass::Documentation,
        0x2001 if s[1] == 0x0002 && s[2] == 0 => AddressClass::Benchmarking,
        // Teredo 2001::/32 hides an IPv4 address; ORCHID and other 2001::/23 assignments.
        0x2001 if s[1] < 0x0200 => AddressClass::Reserved,
        // 6to4 2002::/16 embeds an IPv4 address: judge that one.
        0x2002 => match classify_v4(v4_from(s[1], s[2])) {
            AddressClass::Public => AddressClass::Public,
            other => other,
        },
        // NAT64 local-use 64:ff9b:1::/48 and discard-only 100::/64.
        0x0064 if s[1] == 0xff9b => AddressClass::Reserved,
        0x0100 if s[1..4] == [0, 0, 0] => AddressClass::Reserved,
        // Everything outside 2000::/3 (global unicast) is not routable on the internet.
        0x2000..=0x3fff => AddressClass::Public,
        _ => AddressClass::Reserved,
    }
}

fn v4_from(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The reason given when `ip` is refused, e.g. "127.0.0.2 is a loopback address; ...".
pub fn address_refusal(ip: IpAddr) -> Option<String> {
    match classify(ip) {
        AddressClass::Public => None,
        class => Some(format!(
            "{ip} is {}; the relay only connects to public addresses",
            class.describe()
        )),
    }
}

/// The destinations the relay accepts and the origins it serves.
#[derive(Debug, Clone, Default)]
pub struct RelayPolicy {
    /// Destinations allowed even on a private address or another port (never SMTP ports).
    pub allow: Vec<Destination>,
    /// Allowed `Origin` values; empty means the relay's own origin.
    pub origins: Vec<String>,
    /// Without configured origins, the `Host` values the relay answers to: its listen address
    /// and `localhost` with its port ([`own_hosts`]).
    pub own_hosts: Vec<String>,
}

/// The `Host` values of a relay listening on `listen` (a loopback address): `127.0.0.1:8080`
/// and `localhost:8080`, and the bare names on port 80 or 443, where browsers omit the port.
pub fn own_hosts(listen: SocketAddr) -> Vec<String> {
    let ip = match listen.ip() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    let port = listen.port();
    let mut hosts = vec![format!("{ip}:{port}"), format!("localhost:{port}")];
    if port == 80 || port == 443 {
        hosts.extend([ip, "localhost".to_string()]);
    }
    hosts
}

impl RelayPolicy {
    /// Whether a request naming `host` (its `Host` header) is for this relay. With configured
    /// origins any host is (a reverse proxy chooses it). Without, the page's origin is compared
    /// with the Host header, and a DNS-rebinding page controls both (its name now points at
    /// 127.0.0.1): so the Host header must then be one of the relay's own.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        if !self.origins.is_empty() {
            return true;
        }
        host.is_some_and(|host| self.own_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
    }

    /// Whether a WebSocket request from `origin` may use the relay reached as `host` (the
    /// request's `Host` header). Without configured origins, only the relay's own origin is,
    /// under one of its own host names.
    pub fn origin_allowed(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin.map(|o| o.trim_end_matches('/')) else {
            return false;
        };
        if self.origins.is_empty() {
            let Some(host) = host.filter(|h| self.host_allowed(Some(h))) else {
                return false;
            };
            return ["http://", "https://"].iter().any(|scheme| {
                origin.len() == scheme.len() + host.len()
                    && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
                    && origin
                        .get(scheme.len()..)
                        .is_some_and(|h| h.eq_ignore_ascii_case(host))
            });
        }
        self.origins
            .iter()
            .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
    }

    /// Whether `host:port` is an `--allow` entry (SMTP ports excluded).
    pub fn is_allowlisted(&self, host: &str, port: u16) -> bool {
        !SMTP_PORTS.contains(&port)
            && self
                .allow
                .iter()
                .any(|d| d.port == port && d.host.eq_ignore_ascii_case(host))
    }

    /// Refuse ports other than POP3's, unless allowlisted; refuse SMTP ports always.
    pub fn check_port(&self, host: &str, port: u16) -> Result<(), String> {
        if POP3_PORTS.contains(&port) || self.is_allowlisted(host, port) {
            Ok(())
        } else {
            Err(format!(
                "port {port} is not allowed: only POP3 ports 110 and 995"
            ))
        }
    }

    /// A server name, before it is looked up: a valid DNS name ([`check_host_name`]), not an
    /// IPv4 address spelled as a number (`134744072`, `0x08080808`, `127.1`: resolvers read
    /// these as addresses, which would pass the rule that a raw IP needs an allow entry), and
    /// not `localhost` or a name under it (RFC 6761: this machine, whatever DNS says). An
    /// allowlisted `host:port` skips the last two rules.
    pub fn check_name(&self, host: &str, port: u16) -> Result<(), String> {
        check_host_name(host)?;
        if self.is_allowlisted(host, port) {
            return Ok(());
        }
        let name = host.strip_suffix('.').unwrap_or(host);
        if ends_in_a_number(name) {
            return Err(format!(
                "{host} is an IP address written as a number: give the server's name"
            ));
        }
        if name.eq_ignore_ascii_case("localhost")
            || name.to_ascii_lowercase().ends_with(".localhost")
        {
            return Err(format!(
                "{host} is this machine; the relay only connects to public addresses"
            ));
        }
        Ok(())
    }

    /// Refuse if any resolved address is not public, unless `host:port` is allowlisted. The
    /// caller must then connect to exactly these addresses (no second resolution).
    pub fn check_addresses(
        &self,
        host: &str,
        port: u16,
        addrs: &[SocketAddr],
    ) -> Result<(), String> {
        if self.is_allowlisted(host, port) {
            return Ok(());
        }
        addrs
            .iter()
            .find_map(|a| address_refusal(a.ip()))
            .map_or(Ok(()), Err)
    }

    /// A destination written as an IP address: refused unless allowlisted, saying what kind of
    /// address it is when it is not public. A POP3 server has a name, and its certificate names
    /// it; a raw address is how one probes a network.
    pub fn check_ip_literal(&self, ip: IpAddr, port: u16) -> Result<(), String> {
        if self.is_allowlisted(&ip.to_string(), port) {
            return Ok(());
        }
        match address_refusal(ip) {
            Some(reason) => Err(reason),
            None => Err(format!(
                "{ip} is an IP address: give the server's name (or allow it on the relay)"
            )),
        }
    }
}

/// Whether the last label of `name` is a number, decimal or `0x` hexadecimal: the WHATWG URL
/// parser and `inet_aton` then read the whole name as an IPv4 address (`1.2.3.0x4`, `0x7f.1`).
fn ends_in_a_number(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X"));
    match hex {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Whether `host` may be looked up: a DNS name of letters, digits, `-` and `_`, at most 253
/// characters in labels of 1 to 63. Anything else (spaces, `%`, `/`, empty labels) is refused
/// before it reaches the resolver.
pub fn check_host_name(host: &str) -> Result<(), String> {
    let name = host.strip_suffix('.').unwrap_or(host);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("{host:?} is not a valid server name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify(s.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2a00:1450:4001:80b::200e",
            "2606:4700::1111",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn loopback_is_refused() {
        assert_eq!(class("127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("127.255.0.2"), AddressClass::Loopback);
        assert_eq!(class("::1"), AddressClass::Loopback);
    }

    #[test]
    fn private_ranges_are_refused() {
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
        ] {
            assert_eq!(class(ip), AddressClass::Private, "{ip}");
        }
    }

    #[test]
    fn link_local_is_refused() {
        assert_eq!(class("169.254.169.254"), AddressClass::LinkLocal);
        assert_eq!(class("169.254.0.1"), AddressClass::LinkLocal);
        assert_eq!(class("fe80::1"), AddressClass::LinkLocal);
        assert_eq!(class("febf::1"), AddressClass::LinkLocal);
    }

    #[test]
    fn cgnat_is_refused() {
        assert_eq!(class("100.64.0.1"), AddressClass::SharedCgnat);
        assert_eq!(class("100.127.255.254"), AddressClass::SharedCgnat);
    }

    #[test]
    fn unspecified_and_this_network_are_refused() {
        assert_eq!(class("0.0.0.0"), AddressClass::Unspecified);
        assert_eq!(class("0.1.2.3"), AddressClass::Unspecified);
        assert_eq!(class("::"), AddressClass::Unspecified);
    }

    #[test]
    fn broadcast_is_refused() {
        assert_eq!(class("255.255.255.255"), AddressClass::Broadcast);
    }

    #[test]
    fn multicast_is_refused() {
        assert_eq!(class("224.0.0.1"), AddressClass::Multicast);
        assert_eq!(class("239.255.255.250"), AddressClass::Multicast);
        assert_eq!(class("ff02::1"), AddressClass::Multicast);
        assert_eq!(class("ff0e::1"), AddressClass::Multicast);
    }

    #[test]
    fn documentation_and_benchmark_ranges_are_refused() {
        for ip in [
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "2001:db8::1",
            "3fff::1",
        ] {
            assert_eq!(class(ip), AddressClass::Documentation, "{ip}");
        }
        for ip in ["198.18.0.1", "198.19.255.255", "2001:2::1"] {
            assert_eq!(class(ip), AddressClass::Benchmarking, "{ip}");
        }
    }

    #[test]
    fn reserved_ranges_are_refused() {
        for ip in [
            "240.0.0.1",
            "192.0.0.8",
            "192.88.99.1",
            "2001::1",
            "100::1",
            "64:ff9b:1::1",
        ] {
            assert_eq!(class(ip), AddressClass::Reserved, "{ip}");
        }
    }

    #[test]
    fn unique_local_is_refused() {
        assert_eq!(class("fc00::1"), AddressClass::UniqueLocal);
        assert_eq!(class("fd12:3456:789a::1"), AddressClass::UniqueLocal);
        assert_eq!(class("fec0::1"), AddressClass::Private);
    }

    /// Each refused IPv4 form, written as IPv4-mapped and as IPv4-compatible IPv6, keeps its
    /// class; a public one is refused as IPv4-in-IPv6.
    #[test]
    fn ipv4_mapped_and_compatible_forms_are_refused() {
        let forms = [
            ("127.0.0.1", AddressClass::Loopback),
            ("10.1.2.3", AddressClass::Private),
            ("172.16.5.4", AddressClass::Private),
            ("192.168.0.1", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("100.64.1.1", AddressClass::SharedCgnat),
            ("0.1.2.3", AddressClass::Unspecified),
            ("255.255.255.255", AddressClass::Broadcast),
            ("224.0.0.251", AddressClass::Multicast),
            ("192.0.2.1", AddressClass::Documentation),
            ("198.18.0.1", AddressClass::Benchmarking),
            ("8.8.8.8", AddressClass::Ipv4InIpv6),
        ];
        for (v4, expected) in forms {
            assert_eq!(class(&format!("::ffff:{v4}")), expected, "::ffff:{v4}");
            assert_eq!(class(&format!("::{v4}")), expected, "::{v4}");
        }
    }

    #[test]
    fn nat64_and_6to4_judge_the_embedded_ipv4_address() {
        assert_eq!(class("64:ff9b::127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("64:ff9b::10.0.0.1"), AddressClass::Private);
        assert_eq!(class("64:ff9b::8.8.8.8"), AddressClass::Public);
        assert_eq!(class("2002:7f00:1::1"), AddressClass::Loopback);
        assert_eq!(class("2002:a9fe:a9fe::1"), AddressClass::LinkLocal);
    }

    #[test]
    fn refusal_reason_names_the_address() {
        assert_eq!(
            address_refusal("127.0.0.2".parse().unwrap()).unwrap(),
            "127.0.0.2 is a loopback address; the relay only connects to public addresses"
        );
        assert!(address_refusal("8.8.8.8".parse().unwrap()).is_none());
    }

    fn policy() -> RelayPolicy {
        RelayPolicy {
            allow: vec![
                "127.0.0.1:2110".parse().unwrap(),
                "mail.lan:25".parse().unwrap(),
                "localhost:2110".parse().unwrap(),
            ],
            origins: vec![],
            own_hosts: own_hosts("127.0.0.1:8080".parse().unwrap()),
        }
    }

    #[test]
    fn ports_are_pop3_only_unless_allowlisted() {
        let p = policy();
        assert!(p.check_port("example.org", 110).is_ok());
        assert!(p.check_port("example.org", 995).is_ok());
        assert_eq!(
            p.check_port("example.org", 143).unwrap_err(),
            "port 143 is not allowed: only POP3 ports 110 and 995"
        );
        assert!(p.check_port("127.0.0.1", 2110).is_ok());
        assert!(p.check_port("127.0.0.1", 2111).is_err());
        // SMTP ports are refused even when allowlisted.
        for port in SMTP_PORTS {
            assert_eq!(
                p.check_port("mail.lan", port).unwrap_err(),
                format!("port {port} is not allowed: only POP3 ports 110 and 995")
            );
        }
    }

    #[test]
    fn allowlisted_destination_skips_address_checks() {
        let p = policy();
        let lo: SocketAddr = "127.0.0.1:2110".parse().unwrap();
        assert!(p.check_addresses("127.0.0.1", 2110, &[lo]).is_ok());
        let lo110: SocketAddr = "127.0.0.1:110".parse().unwrap();
        assert!(p.check_addresses("127.0.0.1", 110, &[lo110]).is_err());
        // One bad address among good ones is enough to refuse.
        let public: SocketAddr = "8.8.8.8:110".parse().unwrap();
        let bad: SocketAddr = "[fd00::1]:110".parse().unwrap();
        assert!(p
            .check_addresses("example.org", 110, &[public, bad])
            .unwrap_err()
            .starts_with("fd00::1 is a unique-local address"));
    }

    #[test]
    fn default_origin_is_the_relays_own() {
        let p = policy();
        let host = Some("127.0.0.1:8080");
        assert!(p.origin_allowed(Some("http://127.0.0.1:8080"), host));
        assert!(p.origin_allowed(Some("https://127.0.0.1:8080"), host));
        assert!(!p.origin_allowed(Some("http://evil.example"), host));
        assert!(!p.origin_allowed(Some("http://127.0.0.1:8081"), host));
        assert!(!p.origin_allowed(None, host));
        assert!(!p.origin_allowed(Some("http://127.0.0.1:8080"), None));
    }

    /// DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 sends
    /// `Origin: http://evil.example:8080` and `Host: evil.example:8080`; they match each other,
    /// but the Host is not the relay's own.
    #[test]
    fn without_origins_the_host_must_be_the_relays_own() {
        let p = policy();
        for host in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080"] {
            assert!(p.host_allowed(Some(host)), "{host}");
        }
        for host in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost",
        ] {
            assert!(!p.host_allowed(Some(host)), "{host}");
        }
        assert!(!p.host_allowed(None));
        let rebinding = Some("evil.example:8080");
        assert!(!p.origin_allowed(Some("http://evil.example:8080"), rebinding));
        assert!(p.origin_allowed(Some("http://localhost:8080"), Some("localhost:8080")));
        assert_eq!(
            own_hosts("[::1]:80".parse().unwrap()),
            ["[::1]:80", "localhost:80", "[::1]", "localhost"]
        );
    }

    #[test]
    fn configured_origins_replace_the_default() {
        let p = RelayPolicy {
            allow: vec![],
            origins: vec!["https://mail.example.org/".into()],
            own_hosts: vec![],
        };
        assert!(p.origin_allowed(Some("https://mail.example.org"), Some("relay:8080")));
        assert!(!p.origin_allowed(Some("http://relay:8080"), Some("relay:8080")));
        // Behind a reverse proxy the Host header is the proxy's business.
        assert!(p.host_allowed(Some("relay:8080")));
    }

    #[test]
    fn numbers_and_localhost_are_refused_by_name() {
        let p = policy();
        for number in [
            "134744072",
            "0x08080808",
            "0X7F000001",
            "127.1",
            "1.2.3.0x4",
            "8.8.8.8.",
            "0x",
        ] {
            let reason = p.check_name(number, 995).unwrap_err();
            assert!(reason.contains("written as a number"), "{number}: {reason}");
        }
        for local in ["localhost", "localhost.", "LocalHost", "db.localhost"] {
            let reason = p.check_name(local, 995).unwrap_err();
            assert!(reason.contains("is this machine"), "{local}: {reason}");
        }
        for ok in ["mail.example.org", "pop3.0x.example", "123.example", "x0x1"] {
            assert!(p.check_name(ok, 995).is_ok(), "{ok}");
        }
        // An allow entry is an operator's choice.
        assert!(p.check_name("localhost", 2110).is_ok());
    }

    #[test]
    fn ip_literals_need_an_allow_entry() {
        let p = policy();
        assert_eq!(
            p.check_ip_literal("8.8.8.8".parse().unwrap(), 995)
                .unwrap_err(),
            "8.8.8.8 is an IP address: give the server's name (or allow it on the relay)"
        );
        assert!(p
            .check_ip_literal("10.0.0.1".parse().unwrap(), 110)
            .unwrap_err()
            .starts_with("10.0.0.1 is a private address"));
        assert!(p
            .check_ip_literal("127.0.0.1".parse().unwrap(), 2110)
            .is_ok());
    }

    #[test]
    fn host_names_are_checked_before_lookup() {
        for ok in ["mail.example.org", "mail.example.org.", "pop_3.x-y.example"] {
            assert!(check_host_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a..b",
            "a b",
            "a%0a",
            "evil/x",
            &"a".repeat(64),
            "é.example",
        ] {
            assert!(check_host_name(bad).is_err(), "{bad}");
        }
    }
}
