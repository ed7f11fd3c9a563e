//! Caps on open connections, in total and per client address, and on new connections per minute
//! per client address, so that one client cannot use up the relay (DESIGN.md, "Relay contract").
//!
//! A client address is an IPv4 address or an IPv6 /64: one IPv6 subscriber usually holds a whole
//! /64, so counting single IPv6 addresses would not limit anyone.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Past this many remembered addresses, buckets that have refilled are forgotten.
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
            open: Mutex::default(),
        }
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
            if open.recent.len() > FORGET_ABOVE {
                open.recent.retain(|_, b| {
                    refill(b);
                    b.tokens < capacity
                });
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
}
