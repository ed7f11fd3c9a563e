//! The accounts file: TOML, one `[[account]]` table per POP3 account.
//!
//! ```toml
//! [[account]]
//! name = "work"
//! host = "pop.example.org"
//! port = 995                      # default: 995 for tls, 110 otherwise
//! security = "tls"                # tls | stls | none (none: localhost only)
//! user = "me@example.org"
//! password_command = "pass show mail/work"   # or password_env = "VAR", or password_file = "path"
//! pinned_cert = "AB:CD:..."       # optional: trust exactly this self-signed certificate
//! auth = "automatic"              # or scram-sha-256, scram-sha-1, cram-md5, plain, login,
//!                                 # user-pass, apop: only that method; or "oauth2" (see
//!                                 # `oauth/`): then no password, but token_command = "..."
//!                                 # (argv or a line split like mda; token_timeout = 60) or an
//!                                 # [account.oauth] table and `postino login NAME`
//! maildir = "/home/me/Mail/work"  # or mbox = "/home/me/Mail/work.mbox",
//!                                 # or mda = "/usr/bin/procmail -d me" (see `mda.rs`)
//! mda_timeout = 300               # seconds one delivery by the MDA may take (default 300)
//! connect_timeout = 30            # seconds to connect (default 30)
//! timeout = 120                   # seconds the server may stay silent (default 120)
//! [account.policy]
//! delete = { kind = "after_days", days = 14 }  # default: leave on server
//! size_limit = 10000000
//! max_per_session = 500
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use postino_pop3::{AuthChoice, Secret, Security};
use postino_sync::{Account, OAuthClient, Policy};
use serde::Deserialize;

use postino_sync::tcp::Timeouts;

use crate::mda::{self, Mda};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(rename = "account", default)]
    pub accounts: Vec<AccountConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub name: String,
    pub host: String,
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    pub user: String,
    pub password_env: Option<String>,
    /// Every account's `password_env` in the file: kept out of an MDA's environment.
    #[serde(skip)]
    pub secret_env: Vec<String>,
    pub password_command: Option<String>,
    pub password_file: Option<PathBuf>,
    pub pinned_cert: Option<String>,
    /// How to log in (`auth = "plain"`, `auth = "oauth2"`); automatic by default.
    #[serde(default)]
    pub auth: Auth,
    /// With `auth = "oauth2"`: a command whose standard output's first line is the access
    /// token, as one line split like `mda` (no shell) or as an argv.
    pub token_command: Option<MdaCommand>,
    /// Seconds `token_command` may take (default 60).
    pub token_timeout: Option<u64>,
    /// With `auth = "oauth2"`: the OAuth 2.0 client `postino login` signs in with.
    pub oauth: Option<OAuthSettings>,
    pub maildir: Option<PathBuf>,
    pub mbox: Option<PathBuf>,
    /// A delivery agent, as one line split like `sh` would (no shell runs it) or as an argv.
    pub mda: Option<MdaCommand>,
    /// Seconds one delivery may take; see [`crate::mda`].
    pub mda_timeout: Option<u64>,
    /// Seconds to wait for the connection; see [`crate::tcp`].
    pub connect_timeout: Option<u64>,
    /// Seconds a read or write may wait without progress; see [`crate::tcp`].
    pub timeout: Option<u64>,
    #[serde(default)]
    pub policy: Policy,
}

/// How an account logs in: a password method, or an OAuth 2.0 access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Password(AuthChoice),
    OAuth2,
}

impl Default for Auth {
    fn default() -> Auth {
        Auth::Password(AuthChoice::Automatic)
    }
}

impl<'de> Deserialize<'de> for Auth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Auth, D::Error> {
        use serde::de::{Error, IntoDeserializer};
        let text = String::deserialize(d)?;
        if text.eq_ignore_ascii_case("oauth2") {
            return Ok(Auth::OAuth2);
        }
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            text.as_str().into_deserializer();
        AuthChoice::deserialize(de)
            .map(Auth::Password)
            .map_err(|e| D::Error::custom(format!("{e}, or oauth2 (OAuth 2.0 sign-in)")))
    }
}

/// `[account.oauth]`: an OAuth 2.0 client registered with the provider, for `postino login`
/// (authorization code with PKCE, loopback redirect) and for refreshing its tokens.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    pub authorize_url: String,
    pub token_url: String,
    pub client_id: String,
    /// A file whose first line is the client secret (Google wants one even with PKCE).
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Where an `auth = "oauth2"` account's access token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `token_command`: run at each login; its argv, deadline, and the variables it does not
    /// inherit (every account's `password_env`).
    Command {
        argv: Vec<String>,
        timeout: Duration,
        hidden_env: Vec<String>,
    },
    /// `[account.oauth]`: tokens from `postino login`, refreshed by postino.
    Client(OAuthSettings),
}

/// How long a token command may take unless `token_timeout` says otherwise.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// `mda = "procmail -d me"` or `mda = ["procmail", "-d", "me"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MdaCommand {
    Line(String),
    Argv(Vec<String>),
}

/// Where an account's mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Maildir(PathBuf),
    Mbox(PathBuf),
    /// Each message to a delivery agent; the ledger and the lock live in `state`.
    Mda {
        mda: Mda,
        state: PathBuf,
    },
}

/// Where postino keeps what is not mail for `account` (the ledger and lock of an MDA
/// destination): `$XDG_STATE_HOME/postino/<account>`, by default
/// `~/.local/state/postino/<account>`.
pub fn state_dir(account: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        // The XDG specification: a relative path is invalid and ignored.
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("postino").join(account)
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let secret_env: Vec<String> = config
            .accounts
            .iter()
            .filter_map(|a| a.password_env.clone())
            .collect();
        for a in &mut config.accounts {
            a.secret_env = secret_env.clone();
        }
        if config.accounts.is_empty() {
            return Err(format!("{}: no [[account]] in it", path.display()));
        }
        for a in &config.accounts {
            a.destination()?;
            a.token_source()?;
            if a.mda_timeout.is_some() && a.mda.is_none() {
                return Err(format!(
                    "account {}: mda_timeout is for an mda destination",
                    a.name
                ));
            }
            a.timeouts()?;
            if a.name.is_empty() || a.name.contains('/') || a.name == "." || a.name == ".." {
                return Err(format!(
                    "account name {:?} must be non-empty, without '/', not . or ..",
                    a.name
                ));
            }
        }
        Ok(config)
    }
}

/// A warning if `path` can be read by its group or by others, with the command that fixes it;
/// `None` if it cannot, or does not exist (reading it says so).
pub fn readable_by_others(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} holds secrets and is readable by group or others (mode {:03o}): run chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

impl AccountConfig {
    pub fn destination(&self) -> Result<Destination, String> {
        match (&self.maildir, &self.mbox, &self.mda) {
            (Some(d), None, None) => Ok(Destination::Maildir(d.clone())),
            (None, Some(m), None) => Ok(Destination::Mbox(m.clone())),
            (None, None, Some(command)) => {
                let argv = match command {
                    MdaCommand::Line(line) => mda::split_command(line)
                        .map_err(|e| format!("account {}: mda: {e}", self.name))?,
                    MdaCommand::Argv(argv) if argv.first().is_some_and(|p| !p.is_empty()) => {
                        argv.clone()
                    }
                    MdaCommand::Argv(_) => {
                        return Err(format!("account {}: mda: the command is empty", self.name))
                    }
                };
                let timeout = match self.mda_timeout {
                    None => mda::DEFAULT_TIMEOUT,
                    Some(s) if (1..=Timeouts::MAX.as_secs()).contains(&s) => Duration::from_secs(s),
                    Some(s) => {
                        return Err(format!(
                            "account {}: mda_timeout = {s}: give seconds from 1 to {}",
                            self.name,
                            Timeouts::MAX.as_secs()
                        ))
                    }
                };
                Ok(Destination::Mda {
                    mda: Mda {
                        argv,
                        timeout,
                        hidden_env: self.secret_env.clone(),
                    },
                    state: state_dir(&self.name),
                })
            }
            _ => Err(format!(
                "account {}: give exactly one of maildir, mbox or mda",
                self.name
            )),
        }
    }

    /// Where the access token of an `auth = "oauth2"` account comes from; `None` for a
    /// password account. Settings that do not go together are an error.
    pub fn token_source(&self) -> Result<Option<TokenSource>, String> {
        let name = &self.name;
        if self.auth != Auth::OAuth2 {
            if self.token_command.is_some() || self.oauth.is_some() || self.token_timeout.is_some()
            {
                return Err(format!(
                    "account {name}: token_command, token_timeout and [account.oauth] are for \
                     auth = \"oauth2\""
                ));
            }
            return Ok(None);
        }
        if self.password_env.is_some()
            || self.password_command.is_some()
            || self.password_file.is_some()
        {
            return Err(format!(
                "account {name}: auth = \"oauth2\" logs in with an access token, not a password: \
                 remove password_env, password_command and password_file"
            ));
        }
        match (&self.token_command, &self.oauth) {
            (Some(command), None) => {
                let argv = match command {
                    MdaCommand::Line(line) => mda::split_command(line)
                        .map_err(|e| format!("account {name}: token_command: {e}"))?,
                    MdaCommand::Argv(argv) if argv.first().is_some_and(|p| !p.is_empty()) => {
                        argv.clone()
                    }
                    MdaCommand::Argv(_) => {
                        return Err(format!(
                            "account {name}: token_command: the command is empty"
                        ))
                    }
                };
                let timeout = match self.token_timeout {
                    None => DEFAULT_TOKEN_TIMEOUT,
                    Some(s) if (1..=3600).contains(&s) => Duration::from_secs(s),
                    Some(s) => {
                        return Err(format!(
                            "account {name}: token_timeout = {s}: give seconds from 1 to 3600"
                        ))
                    }
                };
                Ok(Some(TokenSource::Command {
                    argv,
                    timeout,
                    hidden_env: self.secret_env.clone(),
                }))
            }
            (None, Some(oauth)) => {
                if self.token_timeout.is_some() {
                    return Err(format!(
                        "account {name}: token_timeout is for token_command"
                    ));
                }
                for (key, url) in [
                    ("authorize_url", &oauth.authorize_url),
                    ("token_url", &oauth.token_url),
                ] {
                    crate::oauth::check_endpoint(url)
                        .map_err(|e| format!("account {name}: oauth.{key}: {e}"))?;
                }
                if oauth.client_id.is_empty() {
                    return Err(format!("account {name}: oauth.client_id is empty"));
                }
                Ok(Some(TokenSource::Client(oauth.clone())))
            }
            _ => Err(format!(
                "account {name}: auth = \"oauth2\" needs exactly one of token_command or an \
                 [account.oauth] table"
            )),
        }
    }

    /// The connect and idle deadlines: the defaults of [`Timeouts`] unless given, 1 s to a day.
    pub fn timeouts(&self) -> Result<Timeouts, String> {
        let seconds = |key: &str, value: Option<u64>, default: Duration| match value {
            None => Ok(default),
            Some(s) if (1..=Timeouts::MAX.as_secs()).contains(&s) => Ok(Duration::from_secs(s)),
            Some(s) => Err(format!(
                "account {}: {key} = {s}: give seconds from 1 to {}",
                self.name,
                Timeouts::MAX.as_secs()
            )),
        };
        let default = Timeouts::default();
        Ok(Timeouts {
            connect: seconds("connect_timeout", self.connect_timeout, default.connect)?,
            idle: seconds("timeout", self.timeout, default.idle)?,
        })
    }

    pub fn account(&self) -> Account {
        let port = self.port.unwrap_or(match self.security {
            Security::Tls => 995,
            _ => 110,
        });
        Account {
            id: self.name.clone(),
            name: self.name.clone(),
            relay: String::new(),
            host: self.host.clone(),
            port,
            security: self.security,
            user: self.user.clone(),
            pinned_cert: self.pinned_cert.clone(),
            policy: self.policy.clone(),
            relay_token: None,
            remember_password: false,
            auth: match self.auth {
                Auth::Password(choice) => choice,
                Auth::OAuth2 => AuthChoice::Automatic,
            },
            auth_learned: None,
            // What the runner needs is that the secret is an access token; the token
            // endpoint is postino's business (`oauth/`), never the runner's.
            oauth: (self.auth == Auth::OAuth2).then(|| {
                let client = self.oauth.clone().unwrap_or_default();
                OAuthClient {
                    provider: "postino-cli".into(),
                    label: self.name.clone(),
                    authorize_url: client.authorize_url,
                    token_url: Some(client.token_url),
                    client_id: client.client_id,
                    scopes: client.scopes,
                }
            }),
        }
    }

    /// The password, from the environment, a command's first line, or a file's first line.
    pub fn password(&self) -> Result<Secret<String>, String> {
        let first_line = |s: String| s.lines().next().unwrap_or_default().to_string();
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map(Secret::new)
                .map_err(|_| format!("account {}: ${var} is not set", self.name));
        }
        if let Some(cmd) = &self.password_command {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .output()
                .map_err(|e| format!("account {}: password_command: {e}", self.name))?;
            if !out.status.success() {
                return Err(format!(
                    "account {}: password_command failed ({})",
                    self.name, out.status
                ));
            }
            return Ok(Secret::new(first_line(
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )));
        }
        if let Some(file) = &self.password_file {
            return std::fs::read_to_string(file)
                .map(|s| Secret::new(first_line(s)))
                .map_err(|e| format!("account {}: {}: {e}", self.name, file.display()));
        }
        Err(format!(
            "account {}: give password_env, password_command or password_file",
            self.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_account_with_policy() {
        let c: Config = toml::from_str(
            r#"
            [[account]]
            name = "work"
            host = "pop.example.org"
            user = "me"
            password_env = "X"
            mbox = "/tmp/work.mbox"
            [account.policy]
            delete = { kind = "after_days", days = 14 }
            size_limit = 1000
            "#,
        )
        .unwrap();
        let a = &c.accounts[0];
        assert_eq!(a.account().port, 995);
        assert_eq!(
            a.account().policy.delete,
            postino_sync::DeletePolicy::AfterDays(14)
        );
        assert_eq!(
            a.destination().unwrap(),
            Destination::Mbox("/tmp/work.mbox".into())
        );
    }

    #[test]
    fn auth_picks_one_method_and_a_wrong_one_says_which_are_known() {
        let base = "[[account]]\nname='a'\nhost='h'\nuser='u'\npassword_env='X'\nmbox='m'\n";
        let c: Config = toml::from_str(&format!("{base}auth = 'apop'\n")).unwrap();
        assert_eq!(
            c.accounts[0].account().auth,
            AuthChoice::Only(postino_pop3::AuthMethod::Apop)
        );
        let c: Config = toml::from_str(&format!("{base}auth = 'CRAM-MD5'\n")).unwrap();
        assert_eq!(c.accounts[0].account().auth.to_string(), "CRAM-MD5");
        let c: Config = toml::from_str(base).unwrap();
        assert_eq!(c.accounts[0].account().auth, AuthChoice::Automatic);
        let err = toml::from_str::<Config>(&format!("{base}auth = 'digest-md5'\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "unknown login method \"digest-md5\": use one of automatic, scram-sha-256, \
                 scram-sha-1, cram-md5, plain, login, user-pass or apop"
            ),
            "{err}"
        );
    }

    #[test]
    fn timeouts_default_and_refuse_zero() {
        let base = "[[account]]\nname='a'\nhost='h'\nuser='u'\npassword_env='X'\nmbox='m'\n";
        let timeouts = |extra: &str| {
            toml::from_str::<Config>(&format!("{base}{extra}"))
                .unwrap()
                .accounts[0]
                .timeouts()
        };
        assert_eq!(timeouts(""), Ok(Timeouts::default()));
        assert_eq!(
            timeouts("timeout = 60\nconnect_timeout = 5\n"),
            Ok(Timeouts {
                connect: Duration::from_secs(5),
                idle: Duration::from_secs(60)
            })
        );
        assert_eq!(
            timeouts("timeout = 0\n"),
            Err("account a: timeout = 0: give seconds from 1 to 86400".into())
        );
        assert!(timeouts("connect_timeout = 86401\n").is_err());
    }

    #[test]
    fn an_mda_is_a_line_or_an_argv_and_one_destination_only() {
        let base = "[[account]]\nname='a'\nhost='h'\nuser='u'\npassword_env='X'\n";
        let destination = |extra: &str| {
            toml::from_str::<Config>(&format!("{base}{extra}"))
                .unwrap()
                .accounts[0]
                .destination()
        };
        let mda = |argv: &[&str], secs: u64| Destination::Mda {
            mda: Mda {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                timeout: Duration::from_secs(secs),
                hidden_env: Vec::new(),
            },
            state: state_dir("a"),
        };
        assert_eq!(
            destination("mda = \"/usr/bin/procmail -d 'me too'\"\n"),
            Ok(mda(&["/usr/bin/procmail", "-d", "me too"], 300))
        );
        assert_eq!(
            destination("mda = ['maildrop', '-d', '$x']\nmda_timeout = 20\n"),
            Ok(mda(&["maildrop", "-d", "$x"], 20))
        );
        assert!(destination("mda = 'procmail -d %T'\n")
            .unwrap_err()
            .starts_with("account a: mda: \"%T\": %T and %F are fetchmail's"));
        assert!(destination("mda = []\n").is_err());
        assert!(destination("mda = 'x'\nmda_timeout = 0\n").is_err());
        assert_eq!(
            destination("mda = 'x'\nmaildir = 'm'\n"),
            Err("account a: give exactly one of maildir, mbox or mda".into())
        );
        assert!(state_dir("a").ends_with("postino/a"));
    }

    #[test]
    fn unknown_keys_are_errors_not_silence() {
        let r: Result<Config, _> = toml::from_str(
            "[[account]]\nname='a'\nhost='h'\nuser='u'\npasword_env='X'\nmbox='m'\n",
        );
        assert!(r.is_err());
    }
}
