//! fetchmail's run control file (fetchmail(1), "THE RUN CONTROL FILE"): `set` statements,
//! `defaults`, and `poll`/`skip` entries of server options, then one or more `user` sections
//! of user options. Keywords, quoted strings with backslash escapes, `#` comments; the words
//! `and`, `with`, `has`, `wants`, `options` and the characters `,` `:` `;` are noise.
//!
//! What fetchmail does by default and postino does not, the translation writes out: fetchmail
//! deletes mail it retrieved unless `keep` (so `delete = after_download` unless `keep`), and
//! forwards to the SMTP server of this machine unless `mda` (so `mda = "/usr/sbin/sendmail -oi
//! -- USER"`, the same MTA through its own door).

use postino_pop3::{Secret, Security};

use super::{mda_destination, sha256_fingerprint, Account, Delete, Destination, Env};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    quoted: bool,
    line: usize,
}

/// The words of the file, or where it cannot be read.
fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            ',' | ':' | ';' => {}
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '"' | '\'' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("line {start}: a {c} is not closed")),
                        Some(q) if q == c => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('\n') => line += 1,
                            Some(e) => s.push(e),
                            None => return Err(format!("line {start}: a {c} is not closed")),
                        },
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            s.push(ch);
                        }
                    }
                }
                out.push(Token {
                    text: s,
                    quoted: true,
                    line: start,
                });
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ',' | ':' | ';' | '#' | '"') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                if !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "and" | "with" | "has" | "wants" | "options"
                ) {
                    out.push(Token {
                        text: s,
                        quoted: false,
                        line,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Options without a value (each may follow `no`, or be spelt `noNAME`).
const FLAGS: &[&str] = &[
    "uidl",
    "dns",
    "checkalias",
    "ssl",
    "sslcertck",
    "keep",
    "flush",
    "limitflush",
    "fetchall",
    "rewrite",
    "stripcr",
    "forcecr",
    "pass8bits",
    "dropstatus",
    "dropdelivered",
    "mimedecode",
    "idle",
    "showdots",
    "lmtp",
    "tracepolls",
    "envelope",
    "bouncemail",
    "spambounce",
    "softbounce",
    "syslog",
    "invisible",
];

/// Options with one value.
const VALUED: &[&str] = &[
    "via",
    "proto",
    "protocol",
    "port",
    "service",
    "auth",
    "authenticate",
    "timeout",
    "qvirtual",
    "interval",
    "principal",
    "esmtpname",
    "esmtppassword",
    "interface",
    "monitor",
    "plugin",
    "plugout",
    "bad-header",
    "retrieve-error",
    "pass",
    "password",
    "sslproto",
    "sslcert",
    "sslkey",
    "sslcertfile",
    "sslcertpath",
    "sslfingerprint",
    "sslcommonname",
    "limit",
    "warnings",
    "batchlimit",
    "fetchlimit",
    "fetchsizelimit",
    "fastuidl",
    "expunge",
    "smtpaddress",
    "smtpname",
    "mda",
    "bsmtp",
    "preconnect",
    "postconnect",
    "user",
    "username",
    "daemon",
    "logfile",
    "idfile",
    "pidfile",
    "postmaster",
    "properties",
];

/// Options with a list of values (up to the next keyword).
const LISTS: &[&str] = &[
    "is",
    "to",
    "aka",
    "localdomains",
    "folder",
    "smtphost",
    "fetchdomains",
    "antispam",
];

/// Words that start something: a statement, an option, or `here`/`there`.
fn is_keyword(t: &Token) -> bool {
    if t.quoted {
        return false;
    }
    let w = t.text.to_ascii_lowercase();
    let w = w.as_str();
    matches!(
        w,
        "poll" | "skip" | "defaults" | "set" | "no" | "here" | "there"
    ) || FLAGS.contains(&w)
        || VALUED.contains(&w)
        || LISTS.contains(&w)
        || w.strip_prefix("no")
            .is_some_and(|rest| FLAGS.contains(&rest))
}

/// The options of a `defaults`, `poll` entry or `user` section, as given.
#[derive(Debug, Clone, Default)]
struct Options {
    /// `(keyword, values, line)`, in order; flags have `no` as their one value when negated.
    given: Vec<(String, Vec<String>, usize)>,
}

impl Options {
    fn last(&self, key: &str) -> Option<&(String, Vec<String>, usize)> {
        self.given.iter().rev().find(|(k, _, _)| k == key)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.last(key)
            .and_then(|(_, v, _)| v.first())
            .map(String::as_str)
    }

    /// A flag: `Some(true)` given, `Some(false)` given with `no`.
    fn flag(&self, key: &str) -> Option<bool> {
        self.last(key)
            .map(|(_, v, _)| v.first().map(String::as_str) != Some("no"))
    }
}

struct Poll {
    name: String,
    line: usize,
    skip: bool,
    server: Options,
    /// Remote user (or `None`: the local login), and its options.
    users: Vec<(Option<String>, Options)>,
}

pub(super) fn parse(
    text: &str,
    env: &Env,
    notes: &mut Vec<String>,
) -> Result<Vec<Account>, String> {
    let tokens = tokens(text)?;
    let mut defaults = Options::default();
    let mut polls: Vec<Poll> = Vec::new();
    // Where options go: the defaults, a poll's server part, or its last user.
    enum Target {
        Nothing,
        Defaults,
        Server,
        User,
    }
    let mut target = Target::Nothing;
    let mut i = 0;
    let next = |i: &mut usize, what: &str, after: &Token| -> Result<String, String> {
        *i += 1;
        tokens
            .get(*i)
            .map(|t| t.text.clone())
            .ok_or_else(|| format!("line {}: {what} needs a value", after.line))
    };
    while i < tokens.len() {
        let t = &tokens[i];
        let word = t.text.to_ascii_lowercase();
        match word.as_str() {
            "set" if !t.quoted => {
                let mut negated = false;
                i += 1;
                let Some(mut name) = tokens.get(i) else {
                    return Err(format!("line {}: set needs a name", t.line));
                };
                if name.text.eq_ignore_ascii_case("no") {
                    negated = true;
                    i += 1;
                    name = tokens
                        .get(i)
                        .ok_or_else(|| format!("line {}: set no needs a name", t.line))?;
                }
                let key = name.text.to_ascii_lowercase();
                let value = if VALUED.contains(&key.as_str()) {
                    Some(next(&mut i, &key, name)?)
                } else if FLAGS.contains(&key.as_str()) {
                    None
                } else {
                    return Err(format!(
                        "line {}: unknown setting {:?}",
                        name.line, name.text
                    ));
                };
                notes.push(set_note(t.line, &key, negated, value.as_deref()));
                i += 1;
                continue;
            }
            "defaults" if !t.quoted => {
                target = Target::Defaults;
                i += 1;
                continue;
            }
            "poll" | "skip" if !t.quoted => {
                let name = next(&mut i, &word, t)?;
                polls.push(Poll {
                    name,
                    line: t.line,
                    skip: word == "skip",
                    server: Options::default(),
                    users: Vec::new(),
                });
                target = Target::Server;
                i += 1;
                continue;
            }
            _ => {}
        }
        // An option.
        if matches!(target, Target::Nothing) {
            return Err(format!(
                "line {}: {:?} before any poll entry: is this a fetchmailrc?",
                t.line, t.text
            ));
        }
        let (key, values) = if t.quoted {
            return Err(format!("line {}: unexpected {:?}", t.line, t.text));
        } else if word == "no" {
            i += 1;
            let flag = tokens
                .get(i)
                .map(|t| t.text.to_ascii_lowercase())
                .filter(|w| FLAGS.contains(&w.as_str()))
                .ok_or_else(|| format!("line {}: no what?", t.line))?;
            (flag, vec!["no".to_owned()])
        } else if FLAGS.contains(&word.as_str()) {
            (word.clone(), Vec::new())
        } else if word == "here" || word == "there" {
            // Says which side the names before it are on (handled with `user` and `is`).
            i += 1;
            continue;
        } else if let Some(flag) = word.strip_prefix("no").filter(|r| FLAGS.contains(r)) {
            (flag.to_owned(), vec!["no".to_owned()])
        } else if VALUED.contains(&word.as_str()) {
            (word.clone(), vec![next(&mut i, &word, t)?])
        } else if LISTS.contains(&word.as_str()) {
            let mut values = Vec::new();
            while tokens.get(i + 1).is_some_and(|n| !is_keyword(n)) {
                i += 1;
                values.push(tokens[i].text.clone());
            }
            if values.is_empty() {
                return Err(format!("line {}: {word} needs a value", t.line));
            }
            (word.clone(), values)
        } else {
            return Err(format!(
                "line {}: {:?} is not a fetchmail keyword postino knows",
                t.line, t.text
            ));
        };
        let line = t.line;
        i += 1;
        if key == "user" || key == "username" {
            let Some(poll) = polls
                .last_mut()
                .filter(|_| !matches!(target, Target::Defaults))
            else {
                return Err(format!("line {line}: user outside a poll entry"));
            };
            // `user LOCAL here is REMOTE there` swaps the sides.
            let mut remote = values[0].clone();
            let mut options = Options::default();
            if tokens
                .get(i)
                .is_some_and(|n| !n.quoted && n.text.eq_ignore_ascii_case("here"))
            {
                options
                    .given
                    .push(("is".into(), vec![remote.clone()], line));
                if let Some(pos) = tokens[i..].iter().position(|n| {
                    !n.quoted
                        && (n.text.eq_ignore_ascii_case("is") || n.text.eq_ignore_ascii_case("to"))
                }) {
                    if let Some(r) = tokens.get(i + pos + 1) {
                        remote = r.text.clone();
                        i += pos + 2;
                    }
                }
            }
            poll.users.push((Some(remote), options));
            target = Target::User;
            continue;
        }
        let options = match target {
            Target::Defaults => &mut defaults,
            // Before any `user`: for every user of the entry (or the local login's, if the
            // entry names none).
            Target::Server => &mut polls.last_mut().ok_or("no poll")?.server,
            Target::User => {
                &mut polls
                    .last_mut()
                    .and_then(|p| p.users.last_mut())
                    .ok_or("no user")?
                    .1
            }
            Target::Nothing => return Err(format!("line {line}: an option outside any entry")),
        };
        options.given.push((key, values, line));
    }

    let mut accounts = Vec::new();
    for poll in polls {
        let users = if poll.users.is_empty() {
            vec![(None, Options::default())]
        } else {
            poll.users.clone()
        };
        let several = users.len() > 1;
        for (remote, user_options) in users {
            let mut all = defaults.clone();
            all.given.extend(poll.server.given.iter().cloned());
            all.given.extend(user_options.given);
            let user = remote.unwrap_or_else(|| env.user.clone());
            let name = if several {
                format!("{}-{user}", poll.name)
            } else {
                poll.name.clone()
            };
            let at = format!("{name} (line {})", poll.line);
            match account(&name, &poll, &user, &all, env) {
                Ok((a, said)) => {
                    notes.extend(said.into_iter().map(|s| format!("{at}: {s}")));
                    accounts.push(a);
                }
                Err(why) => notes.push(format!("{at}: left out: {why}")),
            }
        }
    }
    Ok(accounts)
}

fn set_note(line: usize, key: &str, negated: bool, value: Option<&str>) -> String {
    let what = format!("set {}{key}", if negated { "no " } else { "" });
    let why = match key {
        "daemon" => format!(
            "postino runs once per call: run it every {} s from a systemd timer or cron \
             (see the README)",
            value.unwrap_or("?")
        ),
        "logfile" | "syslog" => "postino writes to standard output and error (cron mails them, \
                                 systemd's journal keeps them)"
            .to_owned(),
        "idfile" => "postino keeps its own ledger; fetchmail's ids are not read, so mail left on \
                     the server is downloaded once more at the first run"
            .to_owned(),
        "postmaster" | "bouncemail" | "spambounce" | "softbounce" => {
            "postino sends no mail, bounces included".to_owned()
        }
        _ => "no counterpart in postino".to_owned(),
    };
    format!("line {line}: {what}: not translated: {why}")
}

/// The account of one user of `poll` and the notes on it, or why it was left out.
fn account(
    name: &str,
    poll: &Poll,
    user: &str,
    o: &Options,
    env: &Env,
) -> Result<(Account, Vec<String>), String> {
    let mut n: Vec<String> = Vec::new();
    let mut a = Account {
        name: name.to_owned(),
        host: o.value("via").unwrap_or(&poll.name).to_owned(),
        user: user.to_owned(),
        ..Account::default()
    };
    if poll.skip {
        n.push(
            "skip: imported all the same (postino fetches every account; pick some with \
              --account NAME)"
                .into(),
        );
    }
    match o
        .value("proto")
        .or(o.value("protocol"))
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("pop3") => {}
        Some("auto") => n.push("proto auto: taken as POP3, the one protocol postino speaks".into()),
        Some("apop") => a.auth = Some("apop"),
        Some(p) => return Err(format!("proto {p}: postino speaks POP3 only")),
    }
    match o.value("auth").or(o.value("authenticate")).map(str::to_ascii_lowercase).as_deref() {
        None | Some("any") | Some("password") => {}
        Some("cram-md5") => a.auth = Some("cram-md5"),
        Some("apop") => a.auth = Some("apop"),
        Some(m) => {
            return Err(format!("auth {m}: postino logs in with a password (SCRAM, CRAM-MD5, PLAIN, LOGIN, USER/PASS, APOP) only"))
        }
    }
    for (key, why) in [
        (
            "plugin",
            "the connection goes through a command, which postino cannot do",
        ),
        ("bsmtp", "postino does not write BSMTP"),
        (
            "smtphost",
            "postino does not forward over SMTP to another host; give it an mda",
        ),
    ] {
        if let Some((_, v, _)) = o.last(key) {
            if key != "smtphost" || v.iter().any(|h| !is_this_machine(h)) {
                return Err(format!("{key}: {why}"));
            }
        }
    }
    if o.flag("lmtp") == Some(true) {
        return Err("lmtp: postino does not deliver over LMTP; give it an mda".to_string());
    }
    let locals = o.last("is").or(o.last("to")).map(|(_, v, _)| v.clone());
    let local = match locals.as_deref() {
        None => env.user.clone(),
        Some([one]) if one != "*" => one.clone(),
        Some(_) => {
            return Err(
                "several local names (multidrop): postino delivers a mailbox to one place"
                    .to_string(),
            )
        }
    };
    if let Some(port) = o.value("port").or(o.value("service")) {
        match port.parse::<u16>() {
            Ok(p) => a.port = Some(p),
            Err(_) => match port {
                "pop3" => a.port = Some(110),
                "pop3s" => a.port = Some(995),
                _ => return Err(format!("port {port:?}: not a POP3 port number")),
            },
        }
    }
    a.security = if o.flag("ssl") == Some(true) {
        Security::Tls
    } else {
        if o.value("sslproto").is_some_and(|p| p.is_empty()) {
            n.push(
                "sslproto '': not translated: postino sends a password only over TLS \
                  (or to this machine): it uses STARTTLS"
                    .into(),
            );
        } else {
            n.push(
                "no ssl: postino uses STARTTLS (fetchmail used it when offered); a server \
                  without STLS is refused"
                    .into(),
            );
        }
        if is_this_machine(&a.host) && o.value("sslproto").is_some_and(|p| p.is_empty()) {
            Security::None
        } else {
            Security::Stls
        }
    };
    if a.security == Security::Tls && a.port == Some(995) {
        a.port = None;
    }
    if a.security != Security::Tls && a.port == Some(110) {
        a.port = None;
    }
    if o.flag("sslcertck") == Some(false) {
        n.push(
            "no sslcertck: refused: postino always checks the server's certificate; for a \
              self-signed one, set pinned_cert to its SHA-256 fingerprint"
                .into(),
        );
    }
    if let Some(fp) = o.value("sslfingerprint") {
        match sha256_fingerprint(fp) {
            Some(pin) => a.pinned_cert = Some(pin),
            None => n.push(
                "sslfingerprint: not translated: it is an MD5 fingerprint; set \
                          pinned_cert to the SHA-256 one"
                    .into(),
            ),
        }
    }
    for key in [
        "sslcertfile",
        "sslcertpath",
        "sslcert",
        "sslkey",
        "sslcommonname",
    ] {
        if o.last(key).is_some() {
            n.push(format!(
                "{key}: not translated: postino trusts the public roots, or exactly the \
                 certificate of pinned_cert"
            ));
        }
    }
    if let Some(p) = o.value("sslproto").filter(|p| !p.is_empty()) {
        n.push(format!(
            "sslproto {p}: not translated: postino speaks TLS 1.2 and 1.3"
        ));
    }
    a.password = o
        .value("pass")
        .or(o.value("password"))
        .map(|p| Secret::new(p.to_owned()));
    a.delete = match (o.flag("keep"), o.flag("flush")) {
        (Some(true), _) => Delete::Leave,
        _ => {
            n.push(
                "no keep: fetchmail deletes what it retrieved, so delete = after_download; \
                  remove that line to leave mail on the server"
                    .into(),
            );
            Delete::AfterDownload
        }
    };
    if o.flag("keep") == Some(true) {
        n.push(
            "keep: postino's ledger starts empty, so the mail left on the server is \
              downloaded once more at the first run"
                .into(),
        );
    }
    if o.flag("flush") == Some(true) {
        n.push("flush: not translated: postino deletes only what it downloaded itself".into());
    }
    if let Some(t) = o.value("timeout").and_then(|t| t.parse().ok()) {
        a.timeout = Some(t);
    }
    if let Some(n) = o.value("fetchlimit").and_then(|t| t.parse().ok()) {
        a.max_per_session = Some(n);
    }
    if let Some(limit) = o.value("limit") {
        n.push(format!(
            "limit {limit}: not translated: postino downloads messages of every size \
             (policy.size_limit takes only the headers of larger ones)"
        ));
    }
    a.destination = match o.value("mda") {
        Some(mda) if mda.contains("%F") => {
            return Err("mda with %F: postino does not know the envelope sender".to_string())
        }
        Some(mda) => mda_destination(&mda.replace("%T", &local), &mut n),
        None => {
            n.push(format!(
                "fetchmail forwarded to the SMTP server of this machine: written as mda \
                 \"/usr/sbin/sendmail -oi -- {local}\" (the same mail server)"
            ));
            Destination::MdaArgv(vec![
                "/usr/sbin/sendmail".into(),
                "-oi".into(),
                "--".into(),
                local.clone(),
            ])
        }
    };
    for (key, why) in [
        (
            "preconnect",
            "postino runs no command before connecting: run it before postino",
        ),
        (
            "postconnect",
            "postino runs no command after the session: run it after postino",
        ),
        ("interval", "postino fetches each account at each run"),
        ("expunge", "postino applies deletions every 50"),
        ("folder", "POP3 has one mailbox"),
        ("fetchsizelimit", "postino asks the sizes once per session"),
        ("batchlimit", "postino sends no SMTP"),
        ("warnings", "postino sends no warnings by mail"),
        ("antispam", "postino sends no SMTP"),
        (
            "envelope",
            "postino delivers to one place and reads no envelope header",
        ),
        ("qvirtual", "postino reads no envelope header"),
        ("aka", "postino delivers to one place"),
        ("localdomains", "postino delivers to one place"),
        ("interface", "postino does not watch interfaces"),
        ("monitor", "postino does not watch interfaces"),
        ("plugout", "postino delivers through its mda"),
        ("principal", "postino has no Kerberos"),
        ("esmtpname", "postino sends no SMTP"),
        ("esmtppassword", "postino sends no SMTP"),
        (
            "idle",
            "postino speaks POP3, which has no IDLE: run it from a timer",
        ),
        (
            "mimedecode",
            "postino delivers messages as the server sent them",
        ),
        ("forcecr", "postino delivers LF line endings"),
        (
            "dropdelivered",
            "postino delivers messages as the server sent them",
        ),
        (
            "dropstatus",
            "postino delivers messages as the server sent them",
        ),
        ("smtpaddress", "postino sends no SMTP"),
        ("smtpname", "postino sends no SMTP"),
        ("fetchdomains", "postino delivers to one place"),
        (
            "bad-header",
            "postino delivers messages as the server sent them",
        ),
        (
            "retrieve-error",
            "postino stops at an error and tries again at the next run",
        ),
    ] {
        if let Some((_, v, _)) = o.last(key) {
            // A negated flag asks for what postino does anyway.
            if v.first().map(String::as_str) != Some("no") {
                n.push(format!("{key}: not translated: {why}"));
            }
        }
    }
    Ok((a, n))
}

fn is_this_machine(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host.starts_with("localhost/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_skip_comments_and_noise_and_unescape_strings() {
        let t = tokens("poll a.example # comment\n  with user \"me\\\"x\", and 'p w';\n").unwrap();
        let words: Vec<(&str, bool, usize)> = t
            .iter()
            .map(|t| (t.text.as_str(), t.quoted, t.line))
            .collect();
        assert_eq!(
            words,
            [
                ("poll", false, 1),
                ("a.example", false, 1),
                ("user", false, 2),
                ("me\"x", true, 2),
                ("p w", true, 2)
            ]
        );
        assert_eq!(
            tokens("poll x pass \"open").unwrap_err(),
            "line 1: a \" is not closed"
        );
    }
}
