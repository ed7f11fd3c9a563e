//! Data types of POP3 responses (RFC 1939, RFC 2449, RFC 3206).

use serde::{Deserialize, Serialize};

/// How the connection to the POP3 server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (RFC 8314), usually port 995.
    #[default]
    Tls,
    /// Plain connection upgraded with STLS (RFC 2595), usually port 110.
    Stls,
    /// No encryption: only for a server on the user's own machine.
    None,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Stls => "stls",
            Security::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "tls" => Some(Security::Tls),
            "stls" => Some(Security::Stls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

/// An extended response code (RFC 2449 section 8, RFC 3206), the bracketed word after `-ERR`.
///
/// ```text
/// resp-code = "[" resp-level *("/" resp-level) "]"
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseCode {
    /// `[IN-USE]`: another session holds the mailbox. Try later.
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently. Try later.
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary server problem. Try later.
    SysTemp,
    /// `[SYS/PERM]`: a permanent server problem. Stop.
    SysPerm,
    /// `[AUTH]`: the credentials are wrong. Stop and ask the user.
    Auth,
    /// Any other code, kept as sent.
    Other(String),
}

impl ResponseCode {
    pub fn parse(code: &str) -> ResponseCode {
        match code.to_ascii_uppercase().as_str() {
            "IN-USE" => ResponseCode::InUse,
            "LOGIN-DELAY" => ResponseCode::LoginDelay,
            "SYS/TEMP" => ResponseCode::SysTemp,
            "SYS/PERM" => ResponseCode::SysPerm,
            "AUTH" => ResponseCode::Auth,
            _ => ResponseCode::Other(code.to_string()),
        }
    }

    /// The code as sent, without its brackets.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::InUse => "IN-USE",
            ResponseCode::LoginDelay => "LOGIN-DELAY",
            ResponseCode::SysTemp => "SYS/TEMP",
            ResponseCode::SysPerm => "SYS/PERM",
            ResponseCode::Auth => "AUTH",
            ResponseCode::Other(code) => code,
        }
    }

    /// Whether the condition is temporary: the same request may succeed later.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ResponseCode::InUse | ResponseCode::LoginDelay | ResponseCode::SysTemp
        )
    }
}

/// A status line: `+OK` or `-ERR`, an optional response code, and the server's text.
///
/// ```text
/// single-line = status [SP text] CRLF      (RFC 2449 section 9)
/// status      = "+OK" / "-ERR"
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub ok: bool,
    pub code: Option<ResponseCode>,
    pub text: String,
}

/// The answer to STAT: `+OK nn mm` (RFC 1939 section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub count: u32,
    pub size: u64,
}

/// What the server announced with CAPA (RFC 2449 section 6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub top: bool,
    pub user: bool,
    pub uidl: bool,
    pub pipelining: bool,
    pub resp_codes: bool,
    pub stls: bool,
    /// `UTF8` (RFC 6856): the server takes the `UTF8` command, after which it sends messages with
    /// UTF-8 headers as they are. Without it Courier replaces such a message by a "Cannot
    /// display Unicode content" notice.
    pub utf8: bool,
    /// `UTF8 USER`: user names and passwords may be UTF-8 (RFC 6856 section 2).
    pub utf8_user: bool,
    /// SASL mechanisms, upper case.
    pub sasl: Vec<String>,
    /// `LOGIN-DELAY n`: seconds between logins; `LOGIN-DELAY 0` (no delay) is `None`.
    pub login_delay: Option<u64>,
    /// `EXPIRE n|NEVER`: `Some(None)` is NEVER, `Some(Some(0))` means mail may go once retrieved.
    pub expire: Option<Option<u64>>,
    pub implementation: Option<String>,
    /// Every line as sent, for `--serverinfo` and diagnostics.
    pub raw: Vec<String>,
}

impl Capabilities {
    /// Add one line of the CAPA response. Unknown capabilities are kept in `raw` only.
    pub fn add_line(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        self.raw.push(line.to_string());
        let mut words = line.split_ascii_whitespace();
        let name = words.next().unwrap_or_default().to_ascii_uppercase();
        let arg = words.next();
        match name.as_str() {
            "TOP" => self.top = true,
            "USER" => self.user = true,
            "UIDL" => self.uidl = true,
            "PIPELINING" => self.pipelining = true,
            "RESP-CODES" => self.resp_codes = true,
            "STLS" => self.stls = true,
            "UTF8" => {
                self.utf8 = true;
                self.utf8_user = line
                    .split_ascii_whitespace()
                    .skip(1)
                    .any(|a| a.eq_ignore_ascii_case("USER"));
            }
            "SASL" => {
                self.sasl = line
                    .split_ascii_whitespace()
                    .skip(1)
                    .map(|m| m.to_ascii_uppercase())
                    .collect()
            }
            "LOGIN-DELAY" => self.login_delay = arg.and_then(|a| a.parse().ok()).filter(|&d| d > 0),
            "EXPIRE" => {
                self.expire = match arg {
                    Some(a) if a.eq_ignore_ascii_case("NEVER") => Some(None),
                    Some(a) => a.parse().ok().map(Some),
                    None => None,
                }
            }
            "IMPLEMENTATION" => {
                self.implementation = Some(line[name.len()..].trim().to_string());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_capa_lines_parse() {
        let mut caps = Capabilities::default();
        for line in [
            "USER",
            "RESP-CODES",
            "EXPIRE 0",
            "LOGIN-DELAY 300",
            "TOP",
            "UIDL",
            "SASL PLAIN XOAUTH2 OAUTHBEARER",
        ] {
            caps.add_line(line);
        }
        assert!(caps.user && caps.resp_codes && caps.top && caps.uidl);
        assert!(!caps.pipelining && !caps.stls);
        assert_eq!(caps.expire, Some(Some(0)));
        assert_eq!(caps.login_delay, Some(300));
        assert_eq!(caps.sasl, ["PLAIN", "XOAUTH2", "OAUTHBEARER"]);
    }

    #[test]
    fn expire_never_and_implementation() {
        let mut caps = Capabilities::default();
        caps.add_line("EXPIRE NEVER");
        caps.add_line("IMPLEMENTATION Dovecot (Debian)");
        assert_eq!(caps.expire, Some(None));
        assert_eq!(caps.implementation.as_deref(), Some("Dovecot (Debian)"));
    }

    #[test]
    fn utf8_and_its_user_argument_courier() {
        let mut caps = Capabilities::default();
        caps.add_line("UTF8 USER");
        assert!(caps.utf8 && caps.utf8_user);
        let mut caps = Capabilities::default();
        caps.add_line("utf8");
        assert!(caps.utf8 && !caps.utf8_user);
    }

    #[test]
    fn login_delay_zero_is_no_delay() {
        let mut caps = Capabilities::default();
        caps.add_line("LOGIN-DELAY 0");
        assert_eq!(caps.login_delay, None);
    }

    #[test]
    fn temporary_codes() {
        assert!(ResponseCode::parse("in-use").is_temporary());
        assert!(ResponseCode::parse("SYS/TEMP").is_temporary());
        assert!(!ResponseCode::parse("AUTH").is_temporary());
        assert_eq!(
            ResponseCode::parse("X-FOO"),
            ResponseCode::Other("X-FOO".into())
        );
    }
}
