//! `GET /v1/autoconfig/{domain}` ([`postino_contract::AUTOCONFIG`]): where the POP3 server of
//! an address at `domain` may be, for the app's address-first account setup (issue 18). DNS
//! only: the relay fetches no URL for this and connects to nothing.
//!
//! The candidates, in the order the app should try them, each saying where it came from:
//!
//! 1. `provider`: the provider table ([`postino_providers`]) knows the domain (`gmail.com`);
//!    then nothing is looked up.
//! 2. `srv`: DNS SRV records (RFC 6186 section 3.1): `_pop3s._tcp.DOMAIN` (TLS), then
//!    `_pop3._tcp.DOMAIN` (STLS), each by priority, then weight (heaviest first: a fixed
//!    order instead of RFC 2782's weighted draw, so the app's list does not shuffle). A
//!    target of "." means the service is decidedly not offered (RFC 2782): that service is
//!    named in `no_service` and adds no candidate.
//! 3. `mx`: MX records that point at a provider of the table (`aspmx.l.google.com`): that
//!    provider's server.
//! 4. `guess`: when nothing above was found, `pop.DOMAIN`, `pop3.DOMAIN` and `mail.DOMAIN`,
//!    each on 995 (TLS) then 110 (STLS), if the name has an address. The relay does not probe
//!    them: the app tries them with Test connection.
//!
//! A server name that came from DNS (SRV targets, guesses) is checked the way the TCP path
//! checks a destination (crate::bridge): port, name, then every address it resolves to must
//! be public unless `--allow` lists it. What fails is left out and counted in `refused` with
//! the TCP path's reason, never with the name or the address (which would map the relay's
//! own network for whoever asks).
//!
//! Requests are limited per client address like connections (at most
//! `new_connections_per_minute`, and a few at a time), every DNS query has a deadline, the
//! domain is checked before any lookup, and a page of another origin gets 403 and no CORS
//! headers. A browser sends no `Origin` on a same-origin GET, so a request without one is
//! served (limits still apply; a tool can set any header anyway).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, HOST, ORIGIN, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, ResolveHosts, ResolverConfig,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;
use serde::Serialize;

use crate::bridge::{NAME_NOT_PUBLIC, NAME_UNRESOLVED};
use crate::failure::Failure;
use crate::limits::{ConnectionLimits, LimitHit};
use crate::policy::RelayPolicy;
use crate::RelayState;

/// Each DNS query's deadline, whatever the resolver's own retries.
pub const QUERY_DEADLINE: Duration = Duration::from_secs(5);
/// Lookups in progress, in total and per client address.
const MAX_IN_PROGRESS: usize = 64;
const MAX_IN_PROGRESS_PER_IP: usize = 4;
/// SRV records considered per service: a domain cannot make one request cost many lookups
/// (at most 2 SRV, 1 MX, 2 × 4 targets and 3 guesses, each address lookup an A and an AAAA).
const MAX_SRV_RECORDS: usize = 4;
/// The guessed names, in order.
const GUESSES: [&str; 3] = ["pop", "pop3", "mail"];

/// The resolver and the limits of autoconfig.
#[derive(Debug)]
pub struct Autoconfig {
    /// Or why there is none (no usable system DNS configuration).
    resolver: Result<TokioResolver, String>,
    limits: Arc<ConnectionLimits>,
}

impl Autoconfig {
    /// Queries go to `dns_server` when given (tests, or an operator's choice), else to the
    /// system's resolvers (`/etc/resolv.conf`). `per_minute` is the relay's
    /// `new_connections_per_minute` (0: no rate limit).
    pub fn new(dns_server: Option<SocketAddr>, per_minute: u32) -> Autoconfig {
        Autoconfig {
            resolver: resolver(dns_server),
            limits: Arc::new(ConnectionLimits::new(
                MAX_IN_PROGRESS,
                MAX_IN_PROGRESS_PER_IP,
                per_minute,
            )),
        }
    }
}

fn resolver(dns_server: Option<SocketAddr>) -> Result<TokioResolver, String> {
    let mut builder = match dns_server {
        Some(addr) => {
            let servers = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], servers),
                TokioConnectionProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("no DNS configuration for autoconfig: {e}"))?,
    };
    let options = builder.options_mut();
    options.timeout = Duration::from_secs(2);
    options.attempts = 2;
    // Names are queried fully qualified: no search domains, no /etc/hosts (this machine's
    // names are not the user's mail servers).
    options.ndots = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    options.cache_size = 1024;
    Ok(builder.build())
}

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Provider,
    Srv,
    Mx,
    Guess,
}

/// A server to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub host: String,
    pub port: u16,
    /// `"tls"` (port 995 style) or `"stls"`, as `postino_pop3::Security` spells them.
    pub security: &'static str,
    pub source: Source,
    /// The provider table's key, for `provider` and `mx` candidates: the app shows that
    /// provider's name and the switch to turn on.
    pub provider: Option<&'static str>,
}

/// A name from DNS that was left out, and why (never the name itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub source: Source,
    pub reason: String,
}

/// The answer of the endpoint.
#[derive(Debug, Default, Serialize)]
pub struct Answer {
    pub domain: String,
    pub candidates: Vec<Candidate>,
    /// SRV services whose record says "not offered" (target "."): `_pop3s._tcp`, `_pop3._tcp`.
    pub no_service: Vec<&'static str>,
    pub refused: Vec<Refused>,
}

/// The route's handler.
pub async fn autoconfig(
    State(state): State<Arc<RelayState>>,
    Path(domain): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let origin = headers.get(ORIGIN).cloned();
    let allowed = match &origin {
        None => true,
        Some(o) => state.policy.origin_allowed(
            o.to_str().ok(),
            headers.get(HOST).and_then(|v| v.to_str().ok()),
        ),
    };
    let client = state.trusted_proxies.client_address(peer.ip(), &headers);
    let result = if allowed {
        serve(&state, client, &domain).await
    } else {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            "origin",
            "this page may not use the relay",
        ))
    };
    match &result {
        Ok(answer) => {
            let count = |s| answer.candidates.iter().filter(|c| c.source == s).count();
            tracing::info!(
                %client,
                // Debug-formatted: it comes from the request path (a line break is escaped).
                domain = ?domain,
                provider = count(Source::Provider),
                srv = count(Source::Srv),
                mx = count(Source::Mx),
                guess = count(Source::Guess),
                refused = answer.refused.len(),
                ms = started.elapsed().as_millis() as u64,
                "autoconfig"
            );
        }
        Err(f) => {
            tracing::info!(%client, domain = ?domain, outcome = f.error, "autoconfig refused")
        }
    }
    let mut response = match result {
        Ok(answer) => Json(answer).into_response(),
        Err(f) => f.into_response(),
    };
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let (true, Some(origin)) = (allowed, origin) {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(VARY, HeaderValue::from_static("Origin"));
    }
    response
}

async fn serve(state: &RelayState, client: IpAddr, domain: &str) -> Result<Answer, Failure> {
    let autoconfig = &state.autoconfig;
    // Every request counts towards the rate, refused ones included.
    let _permit = autoconfig
        .limits
        .acquire(client, Instant::now())
        .map_err(|hit| {
            let (LimitHit::Open(why) | LimitHit::Rate(why)) = hit;
            Failure::new(StatusCode::TOO_MANY_REQUESTS, "limit", why)
        })?;
    let domain = check_domain(&state.policy, domain)
        .map_err(|why| Failure::new(StatusCode::BAD_REQUEST, "domain", why))?;
    let mut answer = Answer {
        domain: domain.clone(),
        ..Answer::default()
    };
    if let Some(p) = postino_providers::by_domain(&domain) {
        answer.candidates.push(Candidate {
            host: p.host.to_string(),
            port: p.port,
            security: p.security.as_str(),
            source: Source::Provider,
            provider: Some(p.key),
        });
        return Ok(answer);
    }
    let resolver = autoconfig.resolver.as_ref().map_err(|why| {
        tracing::warn!(error = %why, "autoconfig without DNS");
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dns",
            "this relay cannot look up DNS records",
        )
    })?;
    let lookups = Lookups {
        resolver,
        policy: &state.policy,
    };
    let (pop3s, pop3, mx) = tokio::join!(
        lookups.srv("_pop3s._tcp", &domain),
        lookups.srv("_pop3._tcp", &domain),
        lookups.mx(&domain),
    );
    for (service, security, records) in [
        ("_pop3s._tcp", postino_providers::Security::Tls, pop3s),
        ("_pop3._tcp", postino_providers::Security::Stls, pop3),
    ] {
        match records {
            Srv::NotOffered => answer.no_service.push(service),
            Srv::Records(records) => {
                let checked = futures_util::future::join_all(
                    records
                        .iter()
                        .map(|(host, port)| lookups.check(host, *port)),
                )
                .await;
                for ((host, port), check) in records.into_iter().zip(checked) {
                    match check {
                        Ok(()) => answer.push(Candidate {
                            host,
                            port,
                            security: security.as_str(),
                            source: Source::Srv,
                            provider: None,
                        }),
                        Err(reason) => answer.refused.push(Refused {
                            source: Source::Srv,
                            reason,
                        }),
                    }
                }
            }
        }
    }
    for p in mx {
        answer.push(Candidate {
            host: p.host.to_string(),
            port: p.port,
            security: p.security.as_str(),
            source: Source::Mx,
            provider: Some(p.key),
        });
    }
    if answer.candidates.is_empty() {
        let names: Vec<String> = GUESSES.iter().map(|g| format!("{g}.{domain}")).collect();
        let checked = futures_util::future::join_all(names.iter().map(|n| lookups.guess(n))).await;
        for (host, check) in names.into_iter().zip(checked) {
            match check {
                Guess::Usable => {
                    for (port, security) in [
                        (995, postino_providers::Security::Tls),
                        (110, postino_providers::Security::Stls),
                    ] {
                        answer.push(Candidate {
                            host: host.clone(),
                            port,
                            security: security.as_str(),
                            source: Source::Guess,
                            provider: None,
                        });
                    }
                }
                Guess::Refused(reason) => answer.refused.push(Refused {
                    source: Source::Guess,
                    reason,
                }),
                Guess::NoAddress => {}
            }
        }
    }
    Ok(answer)
}

impl Answer {
    /// Add `candidate` unless the same server is listed already.
    fn push(&mut self, candidate: Candidate) {
        let seen = self
            .candidates
            .iter()
            .any(|c| c.host == candidate.host && c.port == candidate.port);
        if !seen {
            self.candidates.push(candidate);
        }
    }
}

/// The domain, lower case without a final dot, if it may be looked up: a DNS name of at least
/// two labels ([`crate::policy::check_host_name`]: length, labels, characters), not an IP
/// address in any spelling, not `localhost` ([`RelayPolicy::check_name`]).
pub fn check_domain(policy: &RelayPolicy, domain: &str) -> Result<String, String> {
    let name = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    if name.parse::<IpAddr>().is_ok() || name.starts_with('[') {
        return Err(format!(
            "{domain:?} is an IP address: give the domain of the address"
        ));
    }
    // Port 0 is never allowlisted: the allowlist's exceptions do not apply to a domain.
    policy.check_name(&name, 0)?;
    if !name.contains('.') {
        return Err(format!("{domain:?} is not a mail domain"));
    }
    Ok(name)
}

/// What the SRV records of one service say.
enum Srv {
    /// `host`, `port` in the order to try, at most [`MAX_SRV_RECORDS`].
    Records(Vec<(String, u16)>),
    /// A single record with target ".": the service is decidedly not offered.
    NotOffered,
}

/// What a guessed name turned out to be.
enum Guess {
    Usable,
    NoAddress,
    Refused(String),
}

struct Lookups<'a> {
    resolver: &'a TokioResolver,
    policy: &'a RelayPolicy,
}

impl Lookups<'_> {
    async fn srv(&self, service: &str, domain: &str) -> Srv {
        let name = format!("{service}.{domain}.");
        let lookup = tokio::time::timeout(QUERY_DEADLINE, self.resolver.srv_lookup(name)).await;
        let records: Vec<_> = match lookup {
            Ok(Ok(lookup)) => lookup.iter().cloned().collect(),
            Ok(Err(e)) => {
                if !e.is_no_records_found() {
                    tracing::debug!(error = %e, service, "SRV lookup failed");
                }
                return Srv::Records(Vec::new());
            }
            Err(_) => {
                tracing::debug!(service, "SRV lookup timed out");
                return Srv::Records(Vec::new());
            }
        };
        if records.iter().any(|r| r.target().is_root()) {
            // RFC 2782: "." as the only target means "not offered"; beside other records it
            // is meaningless and left out.
            if records.len() == 1 {
                return Srv::NotOffered;
            }
        }
        let mut records: Vec<_> = records
            .into_iter()
            .filter(|r| !r.target().is_root())
            .collect();
        records.sort_by_key(|r| (r.priority(), std::cmp::Reverse(r.weight())));
        Srv::Records(
            records
                .iter()
                .take(MAX_SRV_RECORDS)
                .map(|r| (dns_name(&r.target().to_ascii()), r.port()))
                .collect(),
        )
    }

    /// The providers the domain's MX records point at, by preference, each once.
    async fn mx(&self, domain: &str) -> Vec<&'static postino_providers::Provider> {
        let name = format!("{domain}.");
        let lookup = tokio::time::timeout(QUERY_DEADLINE, self.resolver.mx_lookup(name)).await;
        let mut records: Vec<_> = match lookup {
            Ok(Ok(lookup)) => lookup.iter().cloned().collect(),
            Ok(Err(e)) => {
                if !e.is_no_records_found() {
                    tracing::debug!(error = %e, "MX lookup failed");
                }
                return Vec::new();
            }
            Err(_) => {
                tracing::debug!("MX lookup timed out");
                return Vec::new();
            }
        };
        records.sort_by_key(|r| r.preference());
        let mut providers: Vec<&'static postino_providers::Provider> = Vec::new();
        for r in &records {
            if let Some(p) = postino_providers::by_mx_host(&r.exchange().to_ascii()) {
                if !providers.iter().any(|q| q.key == p.key) {
                    providers.push(p);
                }
            }
        }
        providers
    }

    /// The TCP path's checks of `host:port` (crate::bridge), with this resolver: the port,
    /// the name, then every address of the name. The reason is the TCP path's.
    async fn check(&self, host: &str, port: u16) -> Result<(), String> {
        self.policy.check_port(host, port)?;
        // Its reasons repeat the name (`localhost`, a number): here it came from DNS, not from
        // the client, so the client gets the TCP path's reason for a name it did not send.
        self.policy
            .check_name(host, port)
            .map_err(|_| NAME_NOT_PUBLIC.to_string())?;
        match self.addresses(host).await {
            Ok(ips) if !ips.is_empty() => {
                let addrs: Vec<SocketAddr> = ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect();
                self.policy
                    .check_addresses(host, port, &addrs)
                    .map_err(|_| NAME_NOT_PUBLIC.to_string())
            }
            _ => Err(NAME_UNRESOLVED.to_string()),
        }
    }

    /// A guessed name: usable on both POP3 ports, refused on either, or without an address.
    async fn guess(&self, host: &str) -> Guess {
        if self.policy.check_name(host, 995).is_err() {
            return Guess::Refused(NAME_NOT_PUBLIC.to_string());
        }
        let ips = match self.addresses(host).await {
            Ok(ips) if !ips.is_empty() => ips,
            _ => return Guess::NoAddress,
        };
        for port in [995, 110] {
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
            if self.policy.check_addresses(host, port, &addrs).is_err() {
                return Guess::Refused(NAME_NOT_PUBLIC.to_string());
            }
        }
        Guess::Usable
    }

    /// The addresses of `host` (A and AAAA), within the deadline; empty when it has none.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, ()> {
        let name = format!("{host}.");
        match tokio::time::timeout(QUERY_DEADLINE, self.resolver.lookup_ip(name)).await {
            Ok(Ok(lookup)) => Ok(lookup.iter().collect()),
            Ok(Err(e)) if e.is_no_records_found() => Ok(Vec::new()),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "address lookup failed");
                Err(())
            }
            Err(_) => {
                tracing::debug!("address lookup timed out");
                Err(())
            }
        }
    }
}

/// A name from a DNS answer as the app will use it: lower case, no final dot.
fn dns_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked_before_any_lookup() {
        let policy = RelayPolicy::default();
        assert_eq!(
            check_domain(&policy, "Example.ORG.").unwrap(),
            "example.org"
        );
        for bad in [
            "",
            "localhost",
            "mail.localhost",
            "127.0.0.1",
            "::1",
            "[::1]",
            "0x7f000001",
            "1.2.3.0x4",
            "com",
            "a..b",
            "exa mple.org",
            "example.org/x",
            &format!("{}.org", "a".repeat(64)),
            &format!("{}org", "a.".repeat(130)),
        ] {
            assert!(check_domain(&policy, bad).is_err(), "{bad:?}");
        }
    }
}
