//! POP3 commands (RFC 1939 section 5-7, RFC 2449, RFC 2595) and their encoding.

use crate::secret::Secret;

/// A command the client sends. Arguments that are secrets stay wrapped until encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Capa,
    Stls,
    User(String),
    Pass(Secret<String>),
    Stat,
    /// `LIST [n]`
    List(Option<u32>),
    /// `UIDL [n]`
    Uidl(Option<u32>),
    Retr(u32),
    /// `TOP n lines`
    Top(u32, u32),
    Dele(u32),
    Noop,
    Rset,
    Quit,
    /// `UTF8` (RFC 6856 section 2): UTF-8 mode, in the AUTHORIZATION state only.
    Utf8,
    /// `APOP name digest` (RFC 1939 section 7): the digest is MD5 of the greeting's timestamp
    /// and the secret, lower-case hex. Opt-in only: MD5 is weak.
    Apop {
        user: String,
        digest: String,
    },
    /// `AUTH mechanism [initial-response]` (RFC 5034 section 4). The initial response is
    /// base64 already (`=` for an empty one); it holds credentials, so it stays a secret.
    Auth {
        mechanism: String,
        initial: Option<Secret<String>>,
    },
}

impl Command {
    /// The command line with its CRLF. Refuses arguments holding CR or LF, which would smuggle a
    /// second command.
    pub fn encode(&self) -> Result<Vec<u8>, crate::Error> {
        let line = match self {
            Command::Capa => "CAPA".to_string(),
            Command::Stls => "STLS".to_string(),
            Command::User(u) => format!("USER {}", checked(u)?),
            Command::Pass(p) => format!("PASS {}", checked(p.expose())?),
            Command::Stat => "STAT".to_string(),
            Command::List(None) => "LIST".to_string(),
            Command::List(Some(n)) => format!("LIST {n}"),
            Command::Uidl(None) => "UIDL".to_string(),
            Command::Uidl(Some(n)) => format!("UIDL {n}"),
            Command::Retr(n) => format!("RETR {n}"),
            Command::Top(n, l) => format!("TOP {n} {l}"),
            Command::Dele(n) => format!("DELE {n}"),
            Command::Noop => "NOOP".to_string(),
            Command::Rset => "RSET".to_string(),
            Command::Quit => "QUIT".to_string(),
            Command::Utf8 => "UTF8".to_string(),
            Command::Apop { user, digest } => format!("APOP {} {}", word(user)?, word(digest)?),
            Command::Auth {
                mechanism,
                initial: None,
            } => format!("AUTH {}", word(mechanism)?),
            Command::Auth {
                mechanism,
                initial: Some(ir),
            } => format!("AUTH {} {}", word(mechanism)?, word(ir.expose())?),
        };
        let mut bytes = line.into_bytes();
        bytes.extend_from_slice(b"\r\n");
        Ok(bytes)
    }

    /// Whether the server answers with a multi-line response.
    pub fn is_multiline(&self) -> bool {
        matches!(
            self,
            Command::Capa
                | Command::List(None)
                | Command::Uidl(None)
                | Command::Retr(_)
                | Command::Top(..)
        )
    }
}

/// An argument that must be one non-empty word: no spaces either.
fn word(arg: &str) -> Result<&str, crate::Error> {
    if arg.is_empty() || arg.contains(' ') {
        return Err(crate::Error::Protocol(format!(
            "the argument {:?} must be one word",
            arg.chars().take(40).collect::<String>()
        )));
    }
    checked(arg)
}

impl Command {
    /// The command in `line` (with or without its CRLF), as a server reads it; `None` when it
    /// is not a command of this crate or its arguments are malformed. The inverse of
    /// [`Command::encode`]: `parse(encode(c)) == c` for every command that encodes.
    ///
    /// ```text
    /// command = keyword *(SP argument) CRLF     (RFC 1939 section 3; keywords case-insensitive)
    /// ```
    pub fn parse(line: &[u8]) -> Option<Command> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line).ok()?;
        if line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return None;
        }
        let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
        let args: Vec<&str> = rest.split(' ').filter(|a| !a.is_empty()).collect();
        let keyword = keyword.to_ascii_uppercase();
        let command = match (keyword.as_str(), args.as_slice()) {
            ("CAPA", []) => Command::Capa,
            ("STLS", []) => Command::Stls,
            ("USER", [name]) => Command::User(name.to_string()),
            // RFC 1939 section 7: the password is the rest of the line and may hold spaces.
            ("PASS", _) if !rest.is_empty() => Command::Pass(Secret::new(rest.to_string())),
            ("STAT", []) => Command::Stat,
            ("LIST", []) => Command::List(None),
            ("LIST", [n]) => Command::List(Some(number(n)?)),
            ("UIDL", []) => Command::Uidl(None),
            ("UIDL", [n]) => Command::Uidl(Some(number(n)?)),
            ("RETR", [n]) => Command::Retr(number(n)?),
            ("TOP", [n, l]) => Command::Top(number(n)?, number(l)?),
            ("DELE", [n]) => Command::Dele(number(n)?),
            ("NOOP", []) => Command::Noop,
            ("RSET", []) => Command::Rset,
            ("QUIT", []) => Command::Quit,
            ("UTF8", []) => Command::Utf8,
            ("APOP", [user, digest]) => Command::Apop {
                user: user.to_string(),
                digest: digest.to_string(),
            },
            ("AUTH", [mechanism]) => Command::Auth {
                mechanism: mechanism.to_string(),
                initial: None,
            },
            ("AUTH", [mechanism, ir]) => Command::Auth {
                mechanism: mechanism.to_string(),
                initial: Some(Secret::new(ir.to_string())),
            },
            _ => return None,
        };
        Some(command)
    }
}

/// A message number or line count: decimal digits only, at most 9 (RFC 1939 section 3).
fn number(arg: &str) -> Option<u32> {
    if arg.is_empty() || arg.len() > 9 || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    arg.parse().ok()
}

fn checked(arg: &str) -> Result<&str, crate::Error> {
    if arg.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(crate::Error::Protocol(
            "an argument contains a line break".into(),
        ));
    }
    Ok(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands() {
        assert_eq!(Command::Retr(7).encode().unwrap(), b"RETR 7\r\n");
        assert_eq!(Command::Top(2, 0).encode().unwrap(), b"TOP 2 0\r\n");
        assert_eq!(Command::Uidl(None).encode().unwrap(), b"UIDL\r\n");
        assert_eq!(
            Command::Pass(Secret::new("p w".into())).encode().unwrap(),
            b"PASS p w\r\n"
        );
    }

    #[test]
    fn refuses_injected_line_breaks() {
        assert!(Command::User("a\r\nDELE 1".into()).encode().is_err());
    }

    #[test]
    fn debug_hides_password() {
        let c = Command::Pass(Secret::new("hunter2".into()));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
