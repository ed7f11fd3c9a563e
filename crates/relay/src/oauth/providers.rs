//! The relay-held OAuth clients: the `--oauth-file` TOML file.
//!
//! ```toml
//! # 32 random bytes that seal refresh tokens; made (mode 0600) when missing. Keep it: tokens
//! # sealed under a lost key need a new sign-in.
//! key_file = "/var/lib/postino-relay/oauth.key"
//! timeout = 15              # seconds for each call to a token endpoint [default: 15]
//! requests_per_minute = 20  # exchanges and refreshes per client address [default: 20]
//!
//! [[provider]]
//! name = "google"
//! label = "Google"
//! authorize_url = "https://accounts.google.com/o/oauth2/v2/auth"
//! token_url = "https://oauth2.googleapis.com/token"
//! client_id = "1234-abc.apps.googleusercontent.com"
//! client_secret_file = "/etc/postino-relay/google.secret"
//! redirect_uris = ["https://mail.example.org/"]
//! scopes = ["https://mail.google.com/", "openid", "email"]
//!
//! # A public client (no client_secret_file): Microsoft registers single-page apps so, and
//! # their token endpoint answers the page itself. The relay only tells the app the client's
//! # settings; it redeems and refreshes nothing, and never sees a token.
//! [[provider]]
//! name = "microsoft"
//! label = "Microsoft"
//! authorize_url = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
//! token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
//! client_id = "00000000-0000-0000-0000-000000000000"
//! redirect_uris = ["https://mail.example.org/oauth-return.html"]
//! scopes = ["https://outlook.office.com/POP.AccessAsUser.All", "offline_access", "openid", "email"]
//! ```
//!
//! The secret is read from its own file, never from the command line or this file (which is
//! often world-readable); relative paths are relative to this file's folder. Endpoints must be
//! `https://`, except on this machine (`http://localhost`, `127.0.0.1`, `[::1]`: tests).

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::Uri;
use postino_pop3::secret::Secret;

/// The file as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthFile {
    key_file: PathBuf,
    timeout: Option<u64>,
    requests_per_minute: Option<u32>,
    #[serde(default)]
    provider: Vec<ProviderEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderEntry {
    name: String,
    label: Option<String>,
    authorize_url: String,
    token_url: String,
    client_id: String,
    client_secret_file: Option<PathBuf>,
    redirect_uris: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// The OAuth settings, loaded and checked.
#[derive(Debug)]
pub struct OAuthSettings {
    pub key_file: PathBuf,
    pub timeout: Duration,
    pub requests_per_minute: u32,
    pub providers: Vec<Provider>,
}

/// One provider the relay holds a client for.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub label: String,
    pub authorize_url: String,
    pub token_url: Uri,
    pub client_id: String,
    /// `None`: a public client, whose codes and refreshes the app redeems itself.
    pub client_secret: Option<Secret<String>>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

/// What `GET /v1/oauth/providers` shows of a provider: nothing secret.
#[derive(Debug, serde::Serialize)]
pub struct PublicProvider<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub authorize_url: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub redirect_uris: &'a [String],
    /// A public client's token endpoint, which the app calls itself; absent for a client the
    /// relay holds (the app then goes through `/v1/oauth/exchange` and `/v1/oauth/refresh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
}

impl Provider {
    pub fn public(&self) -> PublicProvider<'_> {
        PublicProvider {
            name: &self.name,
            label: &self.label,
            authorize_url: &self.authorize_url,
            client_id: &self.client_id,
            scopes: &self.scopes,
            redirect_uris: &self.redirect_uris,
            token_url: self
                .client_secret
                .is_none()
                .then(|| self.token_url.to_string()),
        }
    }

    /// The origin (`https://host[:port]`) of a public client's token endpoint, which the app's
    /// page must be allowed to call (its Content-Security-Policy `connect-src`).
    pub fn public_token_origin(&self) -> Option<String> {
        if self.client_secret.is_some() {
            return None;
        }
        let scheme = self.token_url.scheme_str()?;
        let authority = self.token_url.authority()?;
        Some(format!("{scheme}://{authority}"))
    }
}

impl OAuthSettings {
    /// Read and check `path` and each provider's secret file.
    pub fn load(path: &Path) -> Result<OAuthSettings, String> {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("could not read {shown}: {e}"))?;
        let file: OAuthFile = toml::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut providers: Vec<Provider> = Vec::new();
        for entry in file.provider {
            let provider = Provider::check(entry, base).map_err(|e| format!("{shown}: {e}"))?;
            if providers.iter().any(|p| p.name == provider.name) {
                return Err(format!("{shown}: provider {:?} twice", provider.name));
            }
            providers.push(provider);
        }
        let timeout = file.timeout.unwrap_or(15);
        if !(1..=120).contains(&timeout) {
            return Err(format!("{shown}: timeout is 1 to 120 seconds"));
        }
        Ok(OAuthSettings {
            key_file: base.join(file.key_file),
            timeout: Duration::from_secs(timeout),
            requests_per_minute: file.requests_per_minute.unwrap_or(20),
            providers,
        })
    }
}

impl Provider {
    fn check(entry: ProviderEntry, base: &Path) -> Result<Provider, String> {
        let name = entry.name;
        let valid_name = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            return Err(format!(
                "provider name {name:?}: 1 to 40 of a-z, 0-9 and '-'"
            ));
        }
        let at = |what: &str| format!("provider {name}: {what}");
        endpoint(&entry.authorize_url).map_err(|e| at(&format!("authorize_url: {e}")))?;
        let token_url = endpoint(&entry.token_url).map_err(|e| at(&format!("token_url: {e}")))?;
        if entry.client_id.is_empty() {
            return Err(at("client_id is empty"));
        }
        if entry.redirect_uris.is_empty() {
            return Err(at("redirect_uris: at least one, the app's address"));
        }
        let secret = match &entry.client_secret_file {
            Some(file) => Some(Secret::new(
                read_secret(&base.join(file)).map_err(|e| at(&e))?,
            )),
            None => None,
        };
        Ok(Provider {
            label: entry.label.unwrap_or_else(|| name.clone()),
            name,
            authorize_url: entry.authorize_url,
            token_url,
            client_id: entry.client_id,
            client_secret: secret,
            redirect_uris: entry.redirect_uris,
            scopes: entry.scopes,
        })
    }
}

/// A client secret from its own file, trimmed.
fn read_secret(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let secret =
        std::fs::read_to_string(path).map_err(|e| format!("client_secret_file {shown}: {e}"))?;
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(format!("client_secret_file {shown} is empty"));
    }
    Ok(secret)
}

/// An endpoint URL: `https://`, or `http://` on this machine only.
pub fn endpoint(url: &str) -> Result<Uri, String> {
    let uri: Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
    let local = ["localhost", "127.0.0.1", "[::1]", "::1"]
        .iter()
        .any(|h| host.eq_ignore_ascii_case(h));
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if local => Ok(uri),
        _ => Err(format!(
            "{url:?} must be https:// (http:// only on this machine)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_local() {
        assert!(endpoint("https://oauth2.googleapis.com/token").is_ok());
        assert!(endpoint("http://localhost:8080/token").is_ok());
        assert!(endpoint("http://127.0.0.1:1/token").is_ok());
        assert!(endpoint("http://oauth2.googleapis.com/token").is_err());
        assert!(endpoint("ftp://x/").is_err());
        assert!(endpoint("not a url").is_err());
    }

    #[test]
    fn the_file_loads_with_its_secret_and_errors_name_the_provider() {
        let dir = std::env::temp_dir().join(format!("postino-oauth-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("g.secret"), "s3cret\n").unwrap();
        let good = r#"
key_file = "oauth.key"
[[provider]]
name = "google"
authorize_url = "https://accounts.google.com/o/oauth2/v2/auth"
token_url = "https://oauth2.googleapis.com/token"
client_id = "id"
client_secret_file = "g.secret"
redirect_uris = ["https://mail.example.org/"]
scopes = ["https://mail.google.com/"]
"#;
        std::fs::write(dir.join("oauth.toml"), good).unwrap();
        let s = OAuthSettings::load(&dir.join("oauth.toml")).unwrap();
        assert_eq!(s.key_file, dir.join("oauth.key"));
        assert_eq!(
            s.providers[0]
                .client_secret
                .as_ref()
                .map(|s| s.expose().as_str()),
            Some("s3cret")
        );
        assert_eq!(s.providers[0].public_token_origin(), None);
        assert_eq!(s.providers[0].label, "google");
        assert!(!format!("{s:?}").contains("s3cret"));
        let public = serde_json::to_string(&s.providers[0].public()).unwrap();
        assert!(!public.contains("s3cret") && public.contains("\"client_id\":\"id\""));
        assert!(
            !public.contains("token_url"),
            "a relay-held client's endpoint is its own"
        );

        // Without a secret file: a public client, whose token endpoint the app calls.
        std::fs::write(
            dir.join("oauth.toml"),
            good.replace("client_secret_file = \"g.secret\"\n", ""),
        )
        .unwrap();
        let s = OAuthSettings::load(&dir.join("oauth.toml")).unwrap();
        assert!(s.providers[0].client_secret.is_none());
        assert_eq!(
            s.providers[0].public_token_origin().as_deref(),
            Some("https://oauth2.googleapis.com")
        );
        let public = serde_json::to_string(&s.providers[0].public()).unwrap();
        assert!(public.contains("\"token_url\":\"https://oauth2.googleapis.com/token\""));

        for (change, expected) in [
            (
                ("g.secret", "missing.secret"),
                "provider google: client_secret_file",
            ),
            (
                ("https://oauth2", "http://oauth2"),
                "provider google: token_url",
            ),
            (("name = \"google\"", "name = \"Goo gle\""), "provider name"),
            (
                (
                    "client_id = \"id\"",
                    "client_id = \"id\"\nclient_secret = \"x\"",
                ),
                "unknown field",
            ),
        ] {
            std::fs::write(dir.join("oauth.toml"), good.replace(change.0, change.1)).unwrap();
            let err = OAuthSettings::load(&dir.join("oauth.toml")).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
