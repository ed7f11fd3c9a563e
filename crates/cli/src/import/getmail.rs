//! getmail's rc file (getmail6 documentation, "Configuring getmail"): an INI file (Python's
//! configparser: `key = value` or `key: value`, `#` and `;` comment lines, indented lines
//! continue a value) with `[retriever]`, `[destination]` and `[options]`, one account per
//! file. Lists such as MDA_external's `arguments` are Python tuples of strings.

use std::path::{Path, PathBuf};

use postino_pop3::{Secret, Security};

use super::{mda_destination, sha256_fingerprint, Account, Delete, Destination, Env};

/// `(section, key, value, line)`, in file order.
type Entries = Vec<(String, String, String, usize)>;

fn entries(text: &str) -> Result<Entries, String> {
    let mut out: Entries = Vec::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            // A continuation of the last value.
            match out.last_mut() {
                Some(last) if section.is_some() => {
                    last.2.push('\n');
                    last.2.push_str(trimmed);
                    continue;
                }
                _ => {
                    return Err(format!(
                        "line {line}: an indented line with nothing before it"
                    ))
                }
            }
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| format!("line {line}: a section header without its ]"))?;
            section = Some(name.trim().to_owned());
            continue;
        }
        let Some(section) = &section else {
            return Err(format!("line {line}: a setting before any [section]"));
        };
        let at = trimmed
            .find(['=', ':'])
            .ok_or_else(|| format!("line {line}: not `key = value`: {trimmed:?}"))?;
        out.push((
            section.clone(),
            trimmed[..at].trim().to_ascii_lowercase(),
            trimmed[at + 1..].trim().to_owned(),
            line,
        ));
    }
    Ok(out)
}

/// A Python tuple or list of string literals: `("-d", 'me',)`.
fn strings(value: &str, line: usize) -> Result<Vec<String>, String> {
    let inner = value.trim();
    let inner = inner
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .or_else(|| inner.strip_prefix('[').and_then(|v| v.strip_suffix(']')))
        .ok_or_else(|| format!("line {line}: not a tuple of strings: {value:?}"))?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(quote) = chars.next() else { break };
        if quote != '"' && quote != '\'' {
            return Err(format!("line {line}: not a tuple of strings: {value:?}"));
        }
        let mut s = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("line {line}: a {quote} is not closed")),
                Some('\\') => s.extend(chars.next()),
                Some(c) if c == quote => break,
                Some(c) => s.push(c),
            }
        }
        out.push(s);
    }
    Ok(out)
}

fn boolean(value: &str, line: usize) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => Err(format!("line {line}: {value:?} is not true or false")),
    }
}

/// `~` and `$HOME` as getmail expands them in paths.
fn path(value: &str, env: &Env) -> PathBuf {
    let home = env.home.to_string_lossy();
    let expanded = if let Some(rest) = value.strip_prefix("~/") {
        format!("{home}/{rest}")
    } else {
        value.replace("${HOME}", &home).replace("$HOME", &home)
    };
    PathBuf::from(expanded)
}

pub(super) fn parse(
    text: &str,
    source: &Path,
    env: &Env,
    notes: &mut Vec<String>,
) -> Result<Vec<Account>, String> {
    let entries = entries(text)?;
    let get = |section: &str, key: &str| {
        entries
            .iter()
            .rev()
            .find(|(s, k, _, _)| s == section && k == key)
            .map(|(_, _, v, l)| (v.as_str(), *l))
    };
    let (kind, _) = get("retriever", "type").ok_or("no [retriever] type: is this a getmailrc?")?;
    let file = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let server = get("retriever", "server").map(|(v, _)| v.to_owned());
    let name = file
        .strip_prefix("getmailrc-")
        .or(file.strip_prefix("getmailrc."))
        .map(str::to_owned)
        .filter(|n| !n.is_empty())
        .or(server.clone())
        .unwrap_or_else(|| "getmail".to_owned());
    let mut n: Vec<String> = Vec::new();
    let result = account(&name, kind, server, &entries, env, &mut n);
    let at = format!("{name} ({})", source.display());
    match result {
        Ok(a) => {
            notes.extend(n.into_iter().map(|s| format!("{at}: {s}")));
            Ok(vec![a])
        }
        Err(why) => {
            notes.push(format!("{at}: left out: {why}"));
            Ok(Vec::new())
        }
    }
}

fn account(
    name: &str,
    kind: &str,
    server: Option<String>,
    entries: &Entries,
    env: &Env,
    n: &mut Vec<String>,
) -> Result<Account, String> {
    let security = match kind {
        "SimplePOP3SSLRetriever" | "BrokenUIDLPOP3SSLRetriever" => Security::Tls,
        "SimplePOP3Retriever" | "BrokenUIDLPOP3Retriever" => Security::Stls,
        k if k.contains("IMAP") => return Err(format!("{k}: postino speaks POP3 only")),
        k if k.starts_with("Multidrop") => {
            return Err(format!(
                "{k}: a multidrop mailbox: postino delivers a mailbox to one place"
            ))
        }
        k => return Err(format!("retriever type {k:?}: not one postino knows")),
    };
    let mut a = Account {
        name: name.to_owned(),
        host: server.ok_or("[retriever] has no server")?,
        security,
        ..Account::default()
    };
    if kind.starts_with("BrokenUIDL") {
        n.push(format!(
            "{kind}: postino uses UIDL where the server has it and tells messages apart by \
             their headers where it has not"
        ));
    }
    if security == Security::Stls && matches!(a.host.as_str(), "localhost" | "127.0.0.1" | "::1") {
        // Plain, as before: on this machine the password crosses no network.
        a.security = Security::None;
    } else if security == Security::Stls {
        n.push(
            "SimplePOP3Retriever sends the password in clear: postino uses STARTTLS, and \
             refuses a server without it"
                .into(),
        );
    }
    let mut delete = false;
    let mut delete_after = None;
    let mut destination_kind = None;
    let mut mda_path = None;
    let mut mda_args: Vec<String> = Vec::new();
    let mut adds_headers = true;
    for (section, key, value, line) in entries {
        let line = *line;
        match (section.as_str(), key.as_str()) {
            ("retriever", "type" | "server") => {}
            ("retriever", "port") => {
                let port: u16 = value
                    .parse()
                    .map_err(|_| format!("line {line}: port {value:?} is not a port number"))?;
                let default = if security == Security::Tls { 995 } else { 110 };
                a.port = (port != default).then_some(port);
            }
            ("retriever", "username") => a.user = value.clone(),
            ("retriever", "password") => a.password = Some(Secret::new(value.clone())),
            ("retriever", "password_command") => {
                let argv = strings(value, line)?;
                a.password_command = Some(
                    argv.iter()
                        .map(|w| shell_quote(w))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
            ("retriever", "use_apop") => {
                if boolean(value, line)? {
                    a.auth = Some("apop");
                }
            }
            ("retriever", "timeout") => a.timeout = value.parse().ok(),
            ("retriever", "ssl_fingerprints") => {
                let prints = strings(value, line).unwrap_or_else(|_| vec![value.clone()]);
                match prints.iter().find_map(|p| sha256_fingerprint(p)) {
                    Some(pin) => a.pinned_cert = Some(pin),
                    None => n.push(format!(
                        "line {line}: ssl_fingerprints: not translated: no SHA-256 fingerprint"
                    )),
                }
                if prints.len() > 1 {
                    n.push(format!(
                        "line {line}: ssl_fingerprints: postino pins one certificate: the first"
                    ));
                }
            }
            ("destination", "type") => destination_kind = Some(value.clone()),
            ("destination", "path") => mda_path = Some(value.clone()),
            ("destination", "arguments") => mda_args = strings(value, line)?,
            ("destination", "unixfrom") => {
                if boolean(value, line)? {
                    n.push(format!(
                        "line {line}: unixfrom: not translated: postino gives the MDA no From_ \
                         line (procmail -d and maildrop write their own)"
                    ));
                }
            }
            ("options", "delete") => delete = boolean(value, line)?,
            ("options", "delete_after") => {
                delete_after = Some(value.parse::<u32>().map_err(|_| {
                    format!("line {line}: delete_after {value:?} is not a number of days")
                })?)
            }
            ("options", "max_messages_per_session") => {
                a.max_per_session = value.parse().ok().filter(|m| *m > 0)
            }
            ("options", "read_all") => {
                if !boolean(value, line)? {
                    n.push(format!(
                        "line {line}: read_all = false: postino's ledger starts empty, so the \
                         mail getmail left on the server is downloaded once more at the first \
                         run"
                    ));
                }
            }
            ("options", "delivered_to" | "received") => {
                adds_headers &= boolean(value, line)?;
            }
            ("options", "verbose") if value == "0" => {}
            (
                "options",
                "verbose" | "message_log" | "message_log_syslog" | "message_log_verbose",
            ) => n.push(format!(
                "line {line}: {key}: not translated: postino reports on standard output \
                     and error"
            )),
            (s, _) if s.starts_with("filter") => {}
            (s, k) => n.push(format!("line {line}: [{s}] {k}: not translated")),
        }
    }
    if entries.iter().any(|(s, ..)| s.starts_with("filter")) {
        n.push(
            "filters: not translated: postino runs no filters; run them from an MDA \
             (procmail, maildrop)"
                .into(),
        );
    }
    if adds_headers {
        n.push(
            "getmail added Delivered-To: and Received: headers; postino delivers each message \
             as the server sent it"
                .into(),
        );
    }
    a.delete = match (delete, delete_after) {
        (true, _) => Delete::AfterDownload,
        (false, Some(0) | None) => Delete::Leave,
        (false, Some(d)) => Delete::AfterDays(d),
    };
    let path_value = mda_path.clone().unwrap_or_default();
    a.destination = match destination_kind.as_deref() {
        Some("Maildir") => Destination::Maildir(path(&path_value, env)),
        Some("Mboxrd") => Destination::Mbox(path(&path_value, env)),
        Some("MDA_external") => {
            if let Some(arg) = mda_args.iter().find(|a| a.contains("%(")) {
                return Err(format!(
                    "MDA_external argument {arg:?}: getmail fills %(...) in per message; \
                     postino substitutes nothing"
                ));
            }
            let program = path(&path_value, env).to_string_lossy().into_owned();
            if mda_args.is_empty() {
                mda_destination(&program, n)
            } else {
                Destination::MdaArgv(std::iter::once(program).chain(mda_args).collect())
            }
        }
        Some(t) => {
            return Err(format!(
                "destination type {t}: postino delivers to one Maildir, mbox or MDA"
            ))
        }
        None => return Err("no [destination] type".into()),
    };
    if mda_path.is_none() {
        return Err("[destination] has no path".into());
    }
    Ok(a)
}

/// `word` as one word for `sh` (password_command runs through `sh -c`).
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_of_python_strings() {
        assert_eq!(strings("(\"-d\", 'me',)", 1).unwrap(), ["-d", "me"]);
        assert_eq!(strings("[]", 1).unwrap(), Vec::<String>::new());
        assert_eq!(strings(r#"("a\"b")"#, 1).unwrap(), [r#"a"b"#]);
        assert!(strings("(-d)", 3).unwrap_err().starts_with("line 3"));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("/usr/bin/pass"), "/usr/bin/pass");
    }

    #[test]
    fn ini_lines_with_continuations_and_comments() {
        let e = entries("# c\n[retriever]\ntype = X\nserver: a\n  b\n; c\n").unwrap();
        assert_eq!(
            e[1],
            ("retriever".into(), "server".into(), "a\nb".into(), 4)
        );
        assert!(entries("type = X\n")
            .unwrap_err()
            .contains("before any [section]"));
    }
}
