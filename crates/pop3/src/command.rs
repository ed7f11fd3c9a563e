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
