//! Caps on open connections, in total and per client address, and on new connections per minute
//! per client address, so that one client cannot use up the relay (DESIGN.md, "Relay contract");
//! and [`SocketLimits`], the cap on sockets per peer address from the moment they are accepted,
//! before any request is read.
//!
//! A client address is an IPv4 address or an IPv6 /64: one IPv6 subscriber usually holds a whole
//! /64, so counting single IPv6 addresses would not limit anyone.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Past this many remembered addresses, buckets that have refilled are forgotten. The next sweep
/// waits until the map has doubled, so that sweeping costs O(1) per connection on average
/// however many addresses are still within their minute.
const FORGET_ABOVE: usize = 4096;

#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    /// 0: no limit.
    new_per_minute: u32,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Token buckets of new connections: `new_per_minute` tokens, refilled evenly over a minute.
    recent: HashMap<IpAddr, Bucket>,
    /// `recent` is swept when it grows past this.
    sweep_above: usize,
    /// Sweeps so far (tests check that they stay rare).
    sweeps: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Why a connection may not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitHit {
    /// Open connections, in total or from the client's address.
    Open(String),
    /// New connections per minute from the client's address.
    Rate(String),
}

/// The address limits apply to: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 cut to its /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize, new_per_minute: u32) -> Self {
        ConnectionLimits {
            max_total,
            max_per_ip,
            new_per_minute,
            open: Mutex::new(Open {
                sweep_above: FORGET_ABOVE,
                ..Open::default()
            }),
        }
    }

    /// How many times the rate buckets were swept.
    pub fn sweeps(&self) -> u64 {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).sweeps
    }

    /// A slot for a connection from `ip` at `now`, held until the permit is dropped; or why not.
    /// Every attempt counts towards the rate, refused ones included (token guessing).
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<Permit, LimitHit> {
        let key = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if self.new_per_minute > 0 {
            let capacity = f64::from(self.new_per_minute);
            let refill = |b: &mut Bucket| {
                let minutes = now.saturating_duration_since(b.updated).as_secs_f64() / 60.0;
                b.tokens = (b.tokens + minutes * capacity).min(capacity);
                b.updated = now;
            };
            if open.recent.len() > open.sweep_above {
                open.recent.retain(|_, b| {
                    refill(b);
                    b.tokens < capacity
                });
                open.sweep_above = FORGET_ABOVE.max(2 * open.recent.len());
                open.sweeps += 1;
            }
            let bucket = open.recent.entry(key).or_insert(Bucket {
                tokens: capacity,
                updated: now,
            });
            refill(bucket);
            if bucket.tokens < 1.0 {
                return Err(LimitHit::Rate(format!(
                    "too many new connections from your address (at most {} a minute); \
                     try again in a minute",
                    self.new_per_minute
                )));
            }
            bucket.tokens -= 1.0;
        }
        if open.total >= self.max_total {
            return Err(LimitHit::Open(format!(
                "the relay is full ({} connections); try again later",
                self.max_total
            )));
        }
        let mine = open.per_ip.entry(key).or_insert(0);
        if *mine >= self.max_per_ip {
            return Err(LimitHit::Open(format!(
                "too many connections from your address (at most {})",
                self.max_per_ip
            )));
        }
        *mine += 1;
        open.total += 1;
        Ok(Permit {
            limits: Arc::clone(self),
            key,
        })
    }
}

#[derive(Debug)]
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    key: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_ip.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.key);
            }
        }
    }
}

/// Sockets per peer address, counted from `accept` until the connection ends or is upgraded to
/// a WebSocket (which [`ConnectionLimits`] counts from then on): one address cannot hold every
/// socket with idle or slow request heads, or slow downloads. Trusted proxies are not counted
/// here, since they carry everyone's connections.
#[derive(Debug)]
pub struct SocketLimits {
    max_per_ip: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl SocketLimits {
    pub fn new(max_per_ip: usize) -> Self {
        SocketLimits {
            max_per_ip,
            open: Mutex::default(),
        }
    }

    /// A slot for a socket from `ip`, or `None` when that address holds `max_per_ip` already.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<SocketPermit> {
        let key = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.entry(key).or_insert(0);
        if *mine >= self.max_per_ip {
            return None;
        }
        *mine += 1;
        Some(SocketPermit {
            limits: Arc::clone(self),
            key,
        })
    }
}

#[derive(Debug)]
pub struct SocketPermit {
    limits: Arc<SocketLimits>,
    key: IpAddr,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn reason(hit: LimitHit) -> String {
        match hit {
            LimitHit::Open(r) | LimitHit::Rate(r) => r,
        }
    }

    #[test]
    fn caps_per_ip_and_in_total() {
        let limits = Arc::new(ConnectionLimits::new(3, 2, 0));
        let now = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = limits.acquire(a, now).unwrap();
        let _a2 = limits.acquire(a, now).unwrap();
        assert!(reason(limits.acquire(a, now).unwrap_err()).contains("at most 2"));
        let _b1 = limits.acquire(b, now).unwrap();
        assert!(reason(limits.acquire(b, now).unwrap_err()).contains("full"));
        drop(a1);
        assert!(limits.acquire(b, now).is_ok());
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_count_together() {
        let limits = Arc::new(ConnectionLimits::new(10, 1, 0));
        let now = Instant::now();
        let _one = limits
            .acquire("2001:db8:1:2::1".parse().unwrap(), now)
            .unwrap();
        assert!(limits
            .acquire("2001:db8:1:2:ffff::9".parse().unwrap(), now)
            .is_err());
        assert!(limits
            .acquire("2001:db8:1:3::1".parse().unwrap(), now)
            .is_ok());
        // An IPv4-mapped address counts as the IPv4 address.
        let _v4 = limits.acquire("192.0.2.7".parse().unwrap(), now).unwrap();
        assert!(limits
            .acquire("::ffff:192.0.2.7".parse().unwrap(), now)
            .is_err());
    }

    #[test]
    fn new_connections_per_minute_refill_over_the_minute() {
        let limits = Arc::new(ConnectionLimits::new(100, 100, 2));
        let start = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        drop(limits.acquire(ip, start).unwrap());
        drop(limits.acquire(ip, start).unwrap());
        let hit = limits.acquire(ip, start).unwrap_err();
        assert!(matches!(hit, LimitHit::Rate(_)));
        assert!(reason(hit).contains("at most 2 a minute"));
        // Another address has its own budget.
        assert!(limits.acquire("192.0.2.2".parse().unwrap(), start).is_ok());
        // Half a minute later one connection is allowed again, not two.
        let later = start + Duration::from_secs(30);
        drop(limits.acquire(ip, later).unwrap());
        assert!(limits.acquire(ip, later).is_err());
    }

    /// Many addresses, each still within its minute: the map is swept when it has doubled, not
    /// on every connection (which made each connection cost O(addresses)).
    #[test]
    fn rate_buckets_are_swept_rarely() {
        let limits = Arc::new(ConnectionLimits::new(usize::MAX, 1, 1));
        let now = Instant::now();
        for n in 0..20_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            drop(limits.acquire(ip, now).unwrap());
        }
        // 4096 -> 8192 -> 16384: at most a handful, instead of one per connection past 4096.
        assert!(limits.sweeps() <= 3, "{} sweeps", limits.sweeps());
        // A minute later every bucket is full again, and the next sweep forgets them all.
        let later = now + Duration::from_secs(61);
        for n in 0..20_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + n));
            drop(limits.acquire(ip, later).unwrap());
        }
        let open = limits.open.lock().unwrap();
        assert!(open.recent.len() < 40_000, "{}", open.recent.len());
    }

    #[test]
    fn sockets_are_capped_per_address() {
        let sockets = Arc::new(SocketLimits::new(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let one = sockets.acquire(a).unwrap();
        let _two = sockets.acquire(a).unwrap();
        assert!(sockets.acquire(a).is_none());
        assert!(sockets.acquire("192.0.2.2".parse().unwrap()).is_some());
        drop(one);
        assert!(sockets.acquire(a).is_some());
        assert!(sockets.open.lock().unwrap().len() <= 2);
    }
}
