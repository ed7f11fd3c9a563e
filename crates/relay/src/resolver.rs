//! Name resolution, behind a trait so that tests can answer with any address (a name that
//! resolves to a private address, a name whose answer changes between calls).

use std::fmt;
use std::io;
use std::net::SocketAddr;

use futures_util::future::BoxFuture;

/// Resolves a server name to addresses. The relay calls it once per connection and connects
/// only to addresses from that one answer.
pub trait Resolver: fmt::Debug + Send + Sync {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>>;
}

/// The system resolver, through tokio (`getaddrinfo` on a blocking thread).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}
