//! The client's real address behind a reverse proxy: `X-Forwarded-For` or `Forwarded`
//! (RFC 7239), believed only when the connection comes from a configured proxy
//! (`--trusted-proxy CIDR`). Anyone else could write any address in those headers.
//!
//! Exactly one header is read, the one chosen with `--forwarded-header` (default
//! `X-Forwarded-For`), and there is no fallback to the other: a proxy sets one of them and passes
//! the other through from the client, so believing both would let a client choose its address.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address range, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an address or ADDRESS/PREFIX"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr {
            addr: unmap(addr),
            prefix,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, unmap(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` -> `a.b.c.d` (a dual-stack listener sees IPv4 clients this way).
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The header a trusted proxy writes the client's address in (`--forwarded-header`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx: `$remote_addr` or
    /// `$proxy_add_x_forwarded_for`).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The proxies whose forwarded-for header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    pub proxies: Vec<Cidr>,
    pub header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(proxies: Vec<Cidr>, header: ForwardedHeader) -> Self {
        TrustedProxies { proxies, header }
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|c| c.contains(ip))
    }

    /// The address of the client: the TCP peer, unless it is a trusted proxy; then the nearest
    /// address in the chosen header's chain that is not a trusted proxy (read right to left,
    /// since each proxy appends). The other header is never read. An unreadable entry stops
    /// the walk at the last trusted hop; without the header, the client is the proxy.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = unmap(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_chain(headers, self.header);
        let mut client = peer;
        for entry in chain.iter().rev() {
            match entry {
                Some(ip) => {
                    client = unmap(*ip);
                    if !self.trusts(client) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }
}

/// The `for=` addresses of every `Forwarded` header, or the `X-Forwarded-For` entries, in
/// order; `None` for an entry that is not an address (`unknown`, `_hidden`, garbage).
fn forwarded_chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    if header == ForwardedHeader::Forwarded {
        return values("forwarded")
            .into_iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v.trim().trim_matches('"')))
            })
            .collect();
    }
    values("x-forwarded-for")
        .into_iter()
        .map(parse_node)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_match() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.9.8.7")));
        assert!(c.contains(ip("::ffff:10.9.8.7")));
        assert!(!c.contains(ip("11.0.0.1")));
        let host: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.5")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy.lan".parse::<Cidr>().is_err());
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies = TrustedProxies::new(
            vec!["127.0.0.1".parse().unwrap()],
            ForwardedHeader::XForwardedFor,
        );
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            proxies.client_address(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        assert_eq!(
            TrustedProxies::default().client_address(ip("127.0.0.1"), &h),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let cidrs = vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let proxies = TrustedProxies::new(cidrs.clone(), ForwardedHeader::XForwardedFor);
        let peer = ip("127.0.0.1");
        // A client can prepend anything; only what our proxies appended counts.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(proxies.client_address(peer, &h), ip("203.0.113.9"));
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9:5555"),
        ]);
        assert_eq!(proxies.client_address(peer, &h), ip("203.0.113.9"));
        assert_eq!(proxies.client_address(peer, &HeaderMap::new()), peer);

        let rfc7239 = TrustedProxies::new(cidrs, ForwardedHeader::Forwarded);
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        assert_eq!(rfc7239.client_address(peer, &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=unknown"), ("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(rfc7239.client_address(peer, &h), peer);
    }

    /// A proxy sets one header and passes the other through from the client: only the chosen
    /// one is read, and its absence makes the proxy the client (no fallback).
    #[test]
    fn only_the_chosen_header_is_read() {
        let cidrs = vec!["127.0.0.1".parse().unwrap()];
        let peer = ip("127.0.0.1");
        let h = headers(&[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let xff = TrustedProxies::new(cidrs.clone(), ForwardedHeader::XForwardedFor);
        assert_eq!(xff.client_address(peer, &h), ip("203.0.113.9"));
        let fwd = TrustedProxies::new(cidrs, ForwardedHeader::Forwarded);
        assert_eq!(fwd.client_address(peer, &h), ip("198.51.100.1"));
        let only_forwarded = headers(&[("forwarded", "for=198.51.100.1")]);
        assert_eq!(xff.client_address(peer, &only_forwarded), peer);
        let only_xff = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(fwd.client_address(peer, &only_xff), peer);
    }
}
