//! Errors of the POP3 client. Each says what happened in words the app can show.

use crate::tls::CertError;
use crate::types::ResponseCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection failed or closed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection in the middle of a response.
    #[error("the server closed the connection unexpectedly")]
    Closed,
    /// The server answered `-ERR`. `code` tells whether to try later or stop.
    #[error("the server said: {text}")]
    Server {
        code: Option<ResponseCode>,
        text: String,
    },
    /// The server refused the login. With `[AUTH]` or no code the credentials are wrong; with
    /// `[IN-USE]`, `[LOGIN-DELAY]` or `[SYS/TEMP]` they may be right and the user should try later.
    #[error("the server refused the login: {text}")]
    LoginFailed {
        code: Option<ResponseCode>,
        text: String,
    },
    /// The server refused an OAuth 2.0 access token (XOAUTH2, OAUTHBEARER), with what its error
    /// challenge said: with [`crate::sasl::OAuthRefusal::should_refresh`] refresh the token once
    /// and try again, then ask the user to sign in again.
    #[error("the server refused the access token: {0}")]
    TokenRefused(Box<crate::sasl::OAuthRefusal>),
    /// The server's bytes do not follow the protocol.
    #[error("the server sent something that is not POP3: {0}")]
    Protocol(String),
    /// A line or a response went past its limit (`unit`: "bytes" or "lines").
    #[error("the server sent a {what} longer than {limit} {unit}; Postino stopped reading it")]
    TooLong {
        what: &'static str,
        limit: u64,
        unit: &'static str,
    },
    /// The security setting does not match what the port speaks: TLS on a plain port, or a
    /// plain connection to a port that expects TLS. A settings mistake, not a server fault.
    #[error("{0}")]
    SecurityMismatch(&'static str),
    /// The server's certificate was not accepted.
    #[error("{0}")]
    Certificate(CertError),
    /// The TLS handshake failed for another reason.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// "No encryption" was chosen for a server that is not on this machine.
    #[error("without encryption the password would cross the network in clear; choose TLS or STARTTLS (no encryption is only for a server on this machine)")]
    PlaintextRefused,
    /// Bytes followed the STLS `+OK` before the TLS handshake (RFC 2595 section 4): a possible
    /// injection attack.
    #[error("the server sent data after accepting STLS, before TLS began; refusing to continue")]
    DataAfterStls,
    /// The caller broke the [`crate::Client`] contract (for example a command sent while
    /// pipelined responses are still unread): a bug in the caller, not the server's fault.
    #[error("the POP3 client was used wrongly: {0}")]
    Usage(&'static str),
    /// The server does not support what the client needs.
    #[error("the server does not support {0}")]
    Unsupported(&'static str),
}

impl Error {
    /// Whether trying again later may succeed without the user changing anything.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Io(_) | Error::Closed => true,
            Error::Server { code: Some(c), .. } | Error::LoginFailed { code: Some(c), .. } => {
                c.is_temporary()
            }
            _ => false,
        }
    }
}

/// `TLS` chosen, and the port answered in plain text: the first bytes were not a TLS record.
pub const NOT_TLS_PORT: &str =
    "this port does not speak TLS: try STARTTLS on port 110, or check the port";

/// `STARTTLS` or no encryption chosen, and the port answered with a TLS record.
pub const TLS_ONLY_PORT: &str = "this port expects TLS from the first byte (usually port 995): \
     choose TLS for this account, or check the port";

impl Error {
    /// [`Error::TooLong`] in bytes.
    pub(crate) fn too_long(what: &'static str, limit: u64) -> Error {
        Error::TooLong {
            what,
            limit,
            unit: "bytes",
        }
    }
}
