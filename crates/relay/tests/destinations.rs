//! Every refused destination form, one test each, through the relay: the WebSocket closes with
//! 4403 and a reason the app shows, before any connection attempt. Names are answered by a fake
//! resolver, so no test depends on DNS.

mod common;

use std::sync::Arc;

use common::*;
use postino_relay::bridge::NAME_NOT_PUBLIC;
use postino_relay::{RelayConfig, Resolver};

async fn refusal_with(config: RelayConfig, host: &str) -> (u16, String) {
    let relay = relay(config).await;
    let mut ws = open(&relay, &format!("/v1/tcp/{host}/995")).await;
    let close = close_of(&mut ws).await;
    until_no_connection_is_open(&relay).await;
    close
}

async fn refusal(host: &str) -> (u16, String) {
    refusal_with(config(), host).await
}

fn public_only(ip: &str, class: &str) -> String {
    format!("{ip} is {class}; the relay only connects to public addresses")
}

macro_rules! refused_literal {
    ($($name:ident: $host:expr => $ip:expr, $class:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            assert_eq!(refusal($host).await, (4403, public_only($ip, $class)));
        }
    )*};
}

refused_literal! {
    loopback_ipv4: "127.0.0.1" => "127.0.0.1", "a loopback address";
    loopback_ipv4_other_than_1: "127.3.2.1" => "127.3.2.1", "a loopback address";
    loopback_ipv6: "[::1]" => "::1", "a loopback address";
    private_10: "10.1.2.3" => "10.1.2.3", "a private address";
    private_172_16: "172.16.0.1" => "172.16.0.1", "a private address";
    private_192_168: "192.168.1.1" => "192.168.1.1", "a private address";
    link_local_cloud_metadata: "169.254.169.254" => "169.254.169.254", "a link-local address";
    link_local_ipv6: "[fe80::1]" => "fe80::1", "a link-local address";
    cgnat: "100.64.0.1" => "100.64.0.1", "a carrier-grade NAT address";
    multicast_ipv4: "224.0.0.1" => "224.0.0.1", "a multicast address";
    multicast_ipv6: "[ff02::1]" => "ff02::1", "a multicast address";
    unspecified_ipv4: "0.0.0.0" => "0.0.0.0", "an unspecified address";
    unspecified_ipv6: "[::]" => "::", "an unspecified address";
    broadcast: "255.255.255.255" => "255.255.255.255", "a broadcast address";
    unique_local_ipv6: "[fd00::1]" => "fd00::1", "a unique-local address";
    ipv4_mapped_loopback: "[::ffff:127.0.0.1]" => "::ffff:127.0.0.1", "a loopback address";
    ipv4_mapped_private: "[::ffff:10.0.0.1]" => "::ffff:10.0.0.1", "a private address";
    ipv4_mapped_link_local: "[::ffff:169.254.169.254]" => "::ffff:169.254.169.254", "a link-local address";
    ipv4_mapped_public: "[::ffff:8.8.8.8]" => "::ffff:8.8.8.8", "an IPv4 address written as IPv6";
    ipv4_compatible_loopback: "[::127.0.0.1]" => "::7f00:1", "a loopback address";
    ipv4_compatible_private: "[::192.168.0.1]" => "::c0a8:1", "a private address";
    nat64_loopback: "[64:ff9b::7f00:1]" => "64:ff9b::7f00:1", "a loopback address";
    six_to_four_loopback: "[2002:7f00:1::1]" => "2002:7f00:1::1", "a loopback address";
    reserved_class_e: "240.0.0.1" => "240.0.0.1", "a reserved address";
}

#[tokio::test]
async fn raw_public_ip_is_refused_unless_allowlisted() {
    assert_eq!(
        refusal("8.8.8.8").await,
        (
            4403,
            "8.8.8.8 is an IP address: give the server's name (or allow it on the relay)".into()
        )
    );
}

/// Other spellings of an IPv4 address (the system resolver reads `2130706433` as 127.0.0.1)
/// are refused by their name, before any lookup.
#[tokio::test]
async fn ipv4_shorthand_and_decimal_spellings_are_refused() {
    for host in ["127.1", "2130706433", "0x7f000001"] {
        assert_eq!(
            refusal(host).await,
            (
                4403,
                format!("{host} is an IP address written as a number: give the server's name")
            ),
            "{host}"
        );
    }
}

#[tokio::test]
async fn invalid_host_name_is_refused() {
    assert_eq!(
        refusal("a%20b").await,
        (4403, "\"a b\" is not a valid server name".into())
    );
}

fn with_resolver(resolver: Arc<dyn Resolver>) -> RelayConfig {
    RelayConfig {
        resolver,
        ..config()
    }
}

#[tokio::test]
async fn name_resolving_to_a_private_address_is_refused() {
    let resolver = FakeResolver::new(&[&["10.0.0.5:995"]]);
    let reason = refusal_with(with_resolver(resolver.clone()), "mail.example.test").await;
    // The client is not told where the name leads (tests/abuse.rs: the log is).
    assert_eq!(reason, (4403, NAME_NOT_PUBLIC.into()));
    assert_eq!(resolver.calls(), 1);
}

#[tokio::test]
async fn name_with_one_private_address_among_public_ones_is_refused() {
    let resolver = FakeResolver::new(&[&["93.184.216.34:995", "[fd12::7]:995"]]);
    let reason = refusal_with(with_resolver(resolver), "mail.example.test").await;
    assert_eq!(reason, (4403, NAME_NOT_PUBLIC.into()));
}

/// DNS rebinding, first answer private: refused on that answer; the relay asks only once.
#[tokio::test]
async fn name_whose_answer_turns_public_is_judged_on_the_one_answer() {
    let resolver = FakeResolver::new(&[&["127.0.0.1:995"], &["93.184.216.34:995"]]);
    let reason = refusal_with(with_resolver(resolver.clone()), "rebind.example.test").await;
    assert_eq!(reason, (4403, NAME_NOT_PUBLIC.into()));
    assert_eq!(resolver.calls(), 1);
}

/// DNS rebinding, later answers elsewhere: the relay connects to an address of the one answer
/// it got and never asks again. (The name is allowlisted here, so that the first answer may be a
/// local server the test can watch.)
#[tokio::test]
async fn name_whose_answer_changes_is_never_asked_again() {
    let (first, first_accepted) = echo_server().await;
    let (later, later_accepted) = echo_server().await;
    let (first_s, later_s) = (first.to_string(), later.to_string());
    let resolver = FakeResolver::new(&[&[first_s.as_str()], &[later_s.as_str()]]);
    let mut config = with_resolver(resolver.clone());
    config.allow = vec!["rebind.example.test:995".parse().unwrap()];
    let relay = relay(config).await;
    let mut ws = open(&relay, "/v1/tcp/rebind.example.test/995").await;
    echo_round_trip(&mut ws, b"CAPA\r\n").await;
    let mut ws2 = open(&relay, "/v1/tcp/rebind.example.test/995").await;
    echo_round_trip(&mut ws2, b"CAPA\r\n").await;
    // One lookup per connection, and each connection went where its own answer said.
    assert_eq!(resolver.calls(), 2);
    assert_eq!(first_accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(later_accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}
