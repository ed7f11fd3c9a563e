//! `auth = "oauth2"`: the access token an account logs in with (XOAUTH2 or OAUTHBEARER, picked
//! by `postino_pop3::Client::login_oauth`), from one of two places:
//!
//! - `token_command`: a command the user gives (oama, mutt_oauth2.py, a password manager...),
//!   run without a shell at each login under a deadline; the first line of its standard output
//!   is the token. Like an MDA it does not inherit the variables the accounts' `password_env`
//!   name.
//! - `[account.oauth]`: an OAuth 2.0 client. `postino login NAME` signs in once
//!   ([`login`]: authorization code with PKCE, loopback redirect, RFC 8252) and keeps the
//!   tokens in [`store`]; each run refreshes the access token when it ends within
//!   [`REFRESH_AHEAD`], and once more when the server refuses it. A refresh the provider
//!   refuses (revoked, expired) ends the account's run for good (exit 3), saying to run
//!   `postino login NAME`.
//!
//! Tokens are [`Secret`]s: never in `Debug`, logs, argv or a URL postino makes.

pub mod login;
pub mod store;
pub mod token_endpoint;

use std::process::Stdio;

use postino_pop3::Secret;
use tokio::io::AsyncReadExt as _;
use tokio::process::Command;

use crate::config::{OAuthSettings, TokenSource};
use token_endpoint::TokenError;

/// An access token that ends within this many seconds is refreshed before logging in.
pub const REFRESH_AHEAD: i64 = 300;
/// The longest token command output read (a token is a few KB).
const MAX_TOKEN_OUTPUT: u64 = 64 * 1024;

/// Why there is no token to log in with, and whether another run may get one.
#[derive(Debug)]
pub struct NoToken {
    pub text: String,
    pub temporary: bool,
}

impl NoToken {
    fn permanent(text: String) -> NoToken {
        NoToken {
            text,
            temporary: false,
        }
    }
}

/// The sentence that tells the user what to do when the tokens are gone or refused.
pub fn sign_in_again(account: &str) -> String {
    format!("run `postino login {account}` to sign in again")
}

/// An endpoint must be HTTPS; plain HTTP only on this machine (a test's provider, or a local
/// one), never across a network.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url:?}: {e}"))?;
    let host = uri.host().unwrap_or_default();
    let loopback = ["127.0.0.1", "localhost", "[::1]", "::1"].contains(&host);
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(format!(
            "{url:?} must be an https:// address (http:// only for 127.0.0.1 or localhost)"
        )),
    }
}

/// The access token for a login of `account` now (`now`: Unix seconds). `refused`: the server
/// refused the last one, so get a fresh one whatever its expiry says.
pub async fn access_token(
    account: &str,
    source: &TokenSource,
    now: i64,
    refused: bool,
) -> Result<Secret<String>, NoToken> {
    match source {
        TokenSource::Command {
            argv,
            timeout,
            hidden_env,
        } => run_token_command(argv, *timeout, hidden_env)
            .await
            .map_err(|e| NoToken {
                text: format!("token_command: {}", e.text),
                temporary: e.temporary,
            }),
        TokenSource::Client(settings) => {
            let path = store::path(account);
            let tokens = store::load(&path)
                .map_err(NoToken::permanent)?
                .ok_or_else(|| {
                    NoToken::permanent(format!("not signed in yet: run `postino login {account}`"))
                })?;
            if !refused && tokens.expires_at - now > REFRESH_AHEAD {
                return Ok(tokens.access_token);
            }
            let refreshed = refresh(settings, &tokens, now).await.map_err(|e| match e {
                TokenError::Refused(why) => NoToken::permanent(format!(
                    "the provider refused to renew the sign-in ({why}): {}",
                    sign_in_again(account)
                )),
                TokenError::Unreachable(why) => NoToken {
                    text: format!("cannot renew the access token: {why}"),
                    temporary: true,
                },
            })?;
            store::save(&path, &refreshed).map_err(|e| {
                NoToken::permanent(format!("cannot save the tokens in {}: {e}", path.display()))
            })?;
            Ok(refreshed.access_token)
        }
    }
}

/// The client's own settings for the token endpoint: id, and secret if it has one.
pub fn client_form(
    settings: &OAuthSettings,
) -> Result<Vec<(&'static str, Secret<String>)>, String> {
    let mut form = vec![("client_id", Secret::new(settings.client_id.clone()))];
    if let Some(file) = &settings.client_secret_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("oauth.client_secret_file {}: {e}", file.display()))?;
        let secret = text.lines().next().unwrap_or_default().trim().to_owned();
        form.push(("client_secret", Secret::new(secret)));
    }
    Ok(form)
}

/// RFC 6749 section 6: a new access token (and maybe a new refresh token) for the refresh
/// token.
async fn refresh(
    settings: &OAuthSettings,
    tokens: &store::Tokens,
    now: i64,
) -> Result<store::Tokens, TokenError> {
    let client = client_form(settings).map_err(TokenError::Unreachable)?;
    let grant_type = Secret::new("refresh_token".to_owned());
    let mut form: Vec<(&str, &Secret<String>)> = vec![
        ("grant_type", &grant_type),
        ("refresh_token", &tokens.refresh_token),
    ];
    form.extend(client.iter().map(|(k, v)| (*k, v)));
    let grant = token_endpoint::request(&settings.token_url, &form).await?;
    Ok(store::Tokens {
        refresh_token: grant
            .refresh_token
            .unwrap_or_else(|| tokens.refresh_token.clone()),
        access_token: grant.access_token,
        expires_at: now + grant.expires_in.unwrap_or(3600),
    })
}

/// Run `argv` (no shell) with standard input closed, without `hidden_env`, within `timeout`;
/// the first line of its standard output.
async fn run_token_command(
    argv: &[String],
    timeout: std::time::Duration,
    hidden_env: &[String],
) -> Result<Secret<String>, NoToken> {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for name in hidden_env {
        command.env_remove(name);
    }
    let mut child = command
        .spawn()
        .map_err(|e| NoToken::permanent(format!("cannot run {:?}: {e}", argv[0])))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| NoToken::permanent("no standard output".into()))?;
    let run = async {
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_TOKEN_OUTPUT)
            .read_to_end(&mut out)
            .await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, out))
    };
    let (status, out) = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(NoToken::permanent(format!("{:?}: {e}", argv[0]))),
        Err(_) => {
            // kill_on_drop ends it when `child` goes.
            return Err(NoToken {
                text: format!("{:?} did not finish within {timeout:?}", argv[0]),
                temporary: true,
            });
        }
    };
    if !status.success() {
        return Err(NoToken::permanent(format!(
            "{:?} failed ({status})",
            argv[0]
        )));
    }
    let text = String::from_utf8_lossy(&out);
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        return Err(NoToken::permanent(format!(
            "{:?} printed no token on its first line",
            argv[0]
        )));
    }
    Ok(Secret::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_this_machine() {
        assert!(
            check_endpoint("https://login.microsoftonline.com/common/oauth2/v2.0/token").is_ok()
        );
        assert!(check_endpoint("http://127.0.0.1:8080/token").is_ok());
        assert!(check_endpoint("http://localhost:8080/token").is_ok());
        assert!(check_endpoint("http://oauth2.googleapis.com/token").is_err());
        assert!(check_endpoint("http://127.0.0.1.example.org/token").is_err());
        assert!(check_endpoint("ftp://127.0.0.1/").is_err());
        assert!(check_endpoint("not a url").is_err());
    }

    #[tokio::test]
    async fn a_token_command_gives_its_first_line_and_keeps_secrets_out_of_its_environment() {
        std::env::set_var("POSTINO_UNIT_HIDDEN", "the password");
        let argv = |script: &str| vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        let second = std::time::Duration::from_secs(5);
        let token = run_token_command(
            &argv("echo \"tok-${POSTINO_UNIT_HIDDEN:-unset}\"; echo second line"),
            second,
            &["POSTINO_UNIT_HIDDEN".into()],
        )
        .await
        .unwrap();
        assert_eq!(token.expose(), "tok-unset");
        let failed = run_token_command(&argv("exit 4"), second, &[])
            .await
            .unwrap_err();
        assert!(
            !failed.temporary && failed.text.contains("failed"),
            "{failed:?}"
        );
        let empty = run_token_command(&argv("true"), second, &[])
            .await
            .unwrap_err();
        assert!(empty.text.contains("no token"), "{empty:?}");
        let slow = run_token_command(&argv("sleep 5"), std::time::Duration::from_millis(200), &[])
            .await
            .unwrap_err();
        assert!(slow.temporary && slow.text.contains("within"), "{slow:?}");
    }
}
