//! How to log in: the methods of RFC 1939 (USER/PASS, APOP) and RFC 5034 (SASL), what the user
//! may choose for an account, and the order [`crate::Client::login_with`] tries them in.
//!
//! Servers list SASL mechanisms their password backend cannot check: Cyrus with saslauthd lists
//! SCRAM, DIGEST-MD5 and CRAM-MD5; Dovecot with hashed passwords lists CRAM-MD5 and SCRAM and
//! answers each with `-ERR [AUTH] Authentication failed.` while PLAIN with the same password
//! works. So a refusal of a challenge mechanism (CRAM-MD5, SCRAM) is not taken as "wrong
//! password": the next method is tried. A refusal of a method that hands the server the
//! password itself (PLAIN, LOGIN, USER/PASS) is conclusive.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::sasl::Mechanism;

/// A way to log in with a password.
///
/// As text (settings, TOML, serde): `user-pass`, `apop`, or a SASL mechanism name such as
/// `plain`, `login`, `cram-md5`, `scram-sha-1`, `scram-sha-256`, in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AuthMethod {
    /// `AUTH mechanism` (RFC 5034): a password mechanism, never XOAUTH2 or OAUTHBEARER.
    Sasl(Mechanism),
    /// `APOP` (RFC 1939 section 7): MD5 of the greeting's timestamp and the password. Only when
    /// the user chose it: MD5 is weak and the server must keep the password in clear.
    Apop,
    /// `USER` and `PASS` (RFC 1939 section 7).
    UserPass,
}

/// What the user chose for an account: let Postino find a method, or always use one.
///
/// As text: `automatic`, or an [`AuthMethod`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AuthChoice {
    /// The method that worked last time first, then the server's mechanisms strongest first,
    /// then USER/PASS.
    #[default]
    Automatic,
    /// Only this method; no other is tried.
    Only(AuthMethod),
}

/// The words [`AuthMethod::parse`] and [`AuthChoice::parse`] accept, for error messages.
pub const AUTH_CHOICES: &str =
    "automatic, scram-sha-256, scram-sha-1, cram-md5, plain, login, user-pass or apop";

impl AuthMethod {
    /// The name as settings write it: `user-pass`, `apop`, `cram-md5`...
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Sasl(Mechanism::Plain) => "plain",
            AuthMethod::Sasl(Mechanism::Login) => "login",
            AuthMethod::Sasl(Mechanism::CramMd5) => "cram-md5",
            AuthMethod::Sasl(Mechanism::ScramSha1) => "scram-sha-1",
            AuthMethod::Sasl(Mechanism::ScramSha256) => "scram-sha-256",
            AuthMethod::Sasl(Mechanism::XOAuth2) => "xoauth2",
            AuthMethod::Sasl(Mechanism::OAuthBearer) => "oauthbearer",
            AuthMethod::Apop => "apop",
            AuthMethod::UserPass => "user-pass",
        }
    }

    /// The method named `text`, in any case; `user`, `userpass` and `USER/PASS` name USER/PASS.
    /// OAuth mechanisms are not password methods: `None`.
    pub fn parse(text: &str) -> Option<AuthMethod> {
        let text = text.trim();
        if ["user-pass", "userpass", "user/pass", "user"]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(text))
        {
            return Some(AuthMethod::UserPass);
        }
        if text.eq_ignore_ascii_case("apop") {
            return Some(AuthMethod::Apop);
        }
        Mechanism::parse(text)
            .filter(|m| !m.is_oauth())
            .map(AuthMethod::Sasl)
    }

    /// Whether the server receives the password itself (PLAIN, LOGIN, USER/PASS): its refusal
    /// means the password is wrong. CRAM-MD5, SCRAM and APOP prove the password without sending
    /// it, and a server may refuse them because it cannot check them.
    pub fn sends_password(self) -> bool {
        matches!(
            self,
            AuthMethod::UserPass | AuthMethod::Sasl(Mechanism::Plain | Mechanism::Login)
        )
    }

    /// Whether the server's capabilities offer this method. APOP needs a timestamp in the
    /// greeting, which the caller checks.
    pub fn offered_in(self, caps: &crate::Capabilities) -> bool {
        match self {
            AuthMethod::Sasl(m) => caps.sasl.iter().any(|o| o.eq_ignore_ascii_case(m.name())),
            AuthMethod::Apop => true,
            // RFC 2449: USER in CAPA; a server without SASL (RFC 1939 only) has USER anyway.
            AuthMethod::UserPass => caps.user || caps.sasl.is_empty(),
        }
    }
}

impl fmt::Display for AuthMethod {
    /// As the protocol names it: `USER/PASS`, `APOP`, `CRAM-MD5`...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Sasl(m) => f.write_str(m.name()),
            AuthMethod::Apop => f.write_str("APOP"),
            AuthMethod::UserPass => f.write_str("USER/PASS"),
        }
    }
}

impl From<AuthMethod> for String {
    fn from(m: AuthMethod) -> String {
        m.as_str().to_string()
    }
}

impl TryFrom<String> for AuthMethod {
    type Error = String;
    fn try_from(text: String) -> Result<AuthMethod, String> {
        AuthMethod::parse(&text).ok_or_else(|| unknown(&text))
    }
}

impl AuthChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthChoice::Automatic => "automatic",
            AuthChoice::Only(m) => m.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<AuthChoice> {
        if text.trim().eq_ignore_ascii_case("automatic") {
            return Some(AuthChoice::Automatic);
        }
        AuthMethod::parse(text).map(AuthChoice::Only)
    }
}

impl fmt::Display for AuthChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthChoice::Automatic => f.write_str("automatic"),
            AuthChoice::Only(m) => m.fmt(f),
        }
    }
}

impl From<AuthChoice> for String {
    fn from(c: AuthChoice) -> String {
        c.as_str().to_string()
    }
}

impl TryFrom<String> for AuthChoice {
    type Error = String;
    fn try_from(text: String) -> Result<AuthChoice, String> {
        AuthChoice::parse(&text).ok_or_else(|| unknown(&text))
    }
}

fn unknown(text: &str) -> String {
    let shown: String = text.chars().take(40).collect();
    format!("unknown login method {shown:?}: use one of {AUTH_CHOICES}")
}

/// The methods to try, in order, for `choice` against a server with `caps`.
///
/// - [`AuthChoice::Only`]: that method alone, offered or not (the user knows best; the
///   server's answer will say).
/// - [`AuthChoice::Automatic`]: first `learned` (what worked last time) if still offered, else
///   the strongest SASL password mechanism offered (SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5,
///   PLAIN, LOGIN), else USER/PASS. Then, as fallbacks, PLAIN (or LOGIN when PLAIN is not
///   offered) and USER/PASS. A backend that cannot check one challenge mechanism cannot check
///   the others either (it lacks the clear password), so they are not tried in turn. APOP
///   only when chosen or learned.
///
/// [`crate::Client::login_with`] decides after each refusal whether to go on.
pub fn attempts(
    choice: AuthChoice,
    learned: Option<AuthMethod>,
    caps: &crate::Capabilities,
) -> Vec<AuthMethod> {
    if let AuthChoice::Only(method) = choice {
        return vec![method];
    }
    let offered = |m: &AuthMethod| m.offered_in(caps);
    let first = learned.filter(offered).or_else(|| {
        crate::sasl::PASSWORD_PREFERENCE
            .into_iter()
            .map(AuthMethod::Sasl)
            .chain([AuthMethod::UserPass])
            .find(offered)
    });
    let password_mechanism = [Mechanism::Plain, Mechanism::Login]
        .into_iter()
        .map(AuthMethod::Sasl)
        .find(offered);
    let mut out: Vec<AuthMethod> = Vec::with_capacity(3);
    for m in [first, password_mechanism, Some(AuthMethod::UserPass)]
        .into_iter()
        .flatten()
    {
        if offered(&m) && !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Capabilities;

    fn caps(lines: &[&str]) -> Capabilities {
        let mut c = Capabilities::default();
        for l in lines {
            c.add_line(l);
        }
        c
    }

    #[test]
    fn text_forms_round_trip() {
        for text in [
            "automatic",
            "user-pass",
            "apop",
            "plain",
            "login",
            "cram-md5",
            "scram-sha-1",
            "scram-sha-256",
        ] {
            let choice = AuthChoice::parse(text).unwrap();
            assert_eq!(choice.as_str(), text);
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<AuthChoice>(&json).unwrap(), choice);
        }
        assert_eq!(
            AuthChoice::parse("USER/PASS"),
            Some(AuthChoice::Only(AuthMethod::UserPass))
        );
        assert_eq!(
            AuthChoice::parse("CRAM-MD5"),
            Some(AuthChoice::Only(AuthMethod::Sasl(Mechanism::CramMd5)))
        );
        assert_eq!(AuthChoice::parse("xoauth2"), None);
        assert_eq!(
            serde_json::from_str::<AuthChoice>("\"digest-md5\"")
                .unwrap_err()
                .to_string(),
            "unknown login method \"digest-md5\": use one of automatic, scram-sha-256, \
             scram-sha-1, cram-md5, plain, login, user-pass or apop"
        );
        assert_eq!(AuthMethod::UserPass.to_string(), "USER/PASS");
        assert_eq!(AuthMethod::Sasl(Mechanism::CramMd5).to_string(), "CRAM-MD5");
    }

    #[test]
    fn automatic_order_strongest_then_plain_then_user_pass_and_learned_first() {
        let c = caps(&[
            "USER",
            "SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256",
        ]);
        let sasl = AuthMethod::Sasl;
        assert_eq!(
            attempts(AuthChoice::Automatic, None, &c),
            [
                sasl(Mechanism::ScramSha256),
                sasl(Mechanism::Plain),
                AuthMethod::UserPass
            ]
        );
        let learned = Some(sasl(Mechanism::Plain));
        assert_eq!(
            attempts(AuthChoice::Automatic, learned, &c),
            [sasl(Mechanism::Plain), AuthMethod::UserPass]
        );
        // Learned, but no longer offered: not tried.
        let c2 = caps(&["SASL LOGIN CRAM-MD5"]);
        assert_eq!(
            attempts(AuthChoice::Automatic, learned, &c2),
            [sasl(Mechanism::CramMd5), sasl(Mechanism::Login)]
        );
        // RFC 1939 only (no CAPA): USER/PASS.
        let old = Capabilities {
            user: true,
            ..Capabilities::default()
        };
        assert_eq!(
            attempts(AuthChoice::Automatic, None, &old),
            [AuthMethod::UserPass]
        );
        assert_eq!(
            attempts(AuthChoice::Only(AuthMethod::Apop), None, &c),
            [AuthMethod::Apop]
        );
    }
}
