//! POP3 for Postino: the protocol core, an async client over any byte stream, and the server side.
//!
//! - [`response`]: the sans-IO response decoder. Bytes go in with
//!   [`ResponseDecoder::enqueue_input`], lines and dot-unstuffed multi-line chunks come out. No
//!   socket, no clock (DESIGN.md invariants 6 and 7): every size has a limit and going past it
//!   is an [`Error`], never a panic or unbounded growth. Beside it, the encoder of the other
//!   direction ([`response::encode_status`], [`response::encode_multiline`]), which the server
//!   writes with.
//! - [`command`]: commands of RFC 1939 and RFC 2449, their encoding and their parsing (the
//!   server reads commands with [`Command::parse`]).
//! - [`client`]: the async client, generic over futures-io `AsyncRead + AsyncWrite`, so the same
//!   code runs over a browser WebSocket and over native TCP.
//! - [`auth`]: how to log in: the methods, the user's choice, the order of fallbacks.
//! - [`sasl`]: SASL mechanisms (RFC 5034), sans-IO.
//! - [`tls`]: rustls configuration with certificate pinning and errors that name their cause.
//! - [`server`]: the server side, for the demo mailbox and for tests, with faults to play.
//! - [`error`], [`secret`], [`types`]: the error enum, `Secret<T>` (no password in `Debug`), and
//!   the data types (status lines, response codes, capabilities).
#![forbid(unsafe_code)]

pub mod auth;
pub mod client;
pub mod command;
pub mod error;
pub mod response;
pub mod sasl;
pub mod secret;
pub mod server;
pub mod tls;
pub mod types;

pub use auth::{AuthChoice, AuthMethod};
pub use client::{connect, Client, ConnectOptions, MaybeTls, PipelinedResponse};
pub use command::Command;
pub use error::Error;
pub use response::{Limits, ResponseDecoder};
pub use sasl::Mechanism;
pub use secret::Secret;
pub use types::{Capabilities, ResponseCode, Security, Stat, StatusLine};
