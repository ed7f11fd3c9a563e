//! Caps on open connections, in total and per client IP, so that one client cannot use up the
//! relay (DESIGN.md, "Relay contract").

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        ConnectionLimits {
            max_total,
            max_per_ip,
            open: Mutex::default(),
        }
    }

    /// A slot for a connection from `ip`, held until the permit is dropped; or why not.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, String> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.max_total {
            return Err(format!(
                "the relay is full ({} connections); try again later",
                self.max_total
            ));
        }
        let mine = open.per_ip.entry(ip).or_insert(0);
        if *mine >= self.max_per_ip {
            return Err(format!(
                "too many connections from your address (at most {})",
                self.max_per_ip
            ));
        }
        *mine += 1;
        open.total += 1;
        Ok(Permit {
            limits: Arc::clone(self),
            ip,
        })
    }
}

#[derive(Debug)]
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_ip_and_in_total() {
        let limits = Arc::new(ConnectionLimits::new(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = limits.acquire(a).unwrap();
        let _a2 = limits.acquire(a).unwrap();
        assert!(limits.acquire(a).unwrap_err().contains("at most 2"));
        let _b1 = limits.acquire(b).unwrap();
        assert!(limits.acquire(b).unwrap_err().contains("full"));
        drop(a1);
        assert!(limits.acquire(b).is_ok());
    }
}
