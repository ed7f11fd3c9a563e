//! `$XDG_STATE_HOME/postino/<account>/oauth.json`: the refresh token, the access token and
//! when it expires, readable by the user only (0600, in a 0700 folder), replaced atomically
//! (a new file, synced, renamed over the old one), so a crash leaves the old tokens or the
//! new ones, never half of either.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use postino_pop3::Secret;
use serde::{Deserialize, Serialize};

use crate::config::state_dir;
use crate::disk::{create_private_dir, private_file};

/// An account's tokens. `Debug` shows no token ([`Secret`]).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub refresh_token: Secret<String>,
    pub access_token: Secret<String>,
    /// Unix seconds when the access token ends.
    pub expires_at: i64,
}

/// The file's layout (the secrets in clear: the file itself is the protection).
#[derive(Serialize, Deserialize)]
struct OnDisk {
    refresh_token: String,
    access_token: String,
    expires_at: i64,
}

/// Where `account`'s tokens are kept.
pub fn path(account: &str) -> PathBuf {
    state_dir(account).join("oauth.json")
}

/// The tokens in `path`; `None` if there is no such file (nobody signed in).
pub fn load(path: &Path) -> Result<Option<Tokens>, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    // serde_json's error names a line and column, never the file's content.
    let on_disk: OnDisk =
        serde_json::from_str(&text).map_err(|e| format!("{} is damaged ({e})", path.display()))?;
    Ok(Some(Tokens {
        refresh_token: Secret::new(on_disk.refresh_token),
        access_token: Secret::new(on_disk.access_token),
        expires_at: on_disk.expires_at,
    }))
}

/// Replace the tokens in `path` atomically, the file 0600.
pub fn save(path: &Path, tokens: &Tokens) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("the tokens file has no folder"))?;
    create_private_dir(dir)?;
    let json = serde_json::to_vec_pretty(&OnDisk {
        refresh_token: tokens.refresh_token.expose().clone(),
        access_token: tokens.access_token.expose().clone(),
        expires_at: tokens.expires_at,
    })
    .map_err(io::Error::other)?;
    let temp = dir.join(format!(".oauth.json.{}.tmp", std::process::id()));
    // A file left by a run that died here is ours to replace; create_new then refuses a link
    // someone else placed there.
    let _ = fs::remove_file(&temp);
    let written = (|| {
        let mut file = private_file().write(true).create_new(true).open(&temp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saved_tokens_come_back_private_and_debug_shows_none() {
        let dir = std::env::temp_dir().join(format!("postino-oauth-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("acct/oauth.json");
        assert!(load(&path).unwrap().is_none());
        let tokens = Tokens {
            refresh_token: Secret::new("refresh-1".into()),
            access_token: Secret::new("access-1".into()),
            expires_at: 1_700_000_000,
        };
        save(&path, &tokens).unwrap();
        // Replaced, not appended.
        save(&path, &tokens).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back.refresh_token.expose(), "refresh-1");
        assert_eq!(back.access_token.expose(), "access-1");
        assert_eq!(back.expires_at, 1_700_000_000);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let shown = format!("{back:?}");
        assert!(
            !shown.contains("refresh-1") && !shown.contains("access-1"),
            "{shown}"
        );
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        fs::write(&path, "{not json").unwrap();
        assert!(load(&path).unwrap_err().contains("damaged"));
        let _ = fs::remove_dir_all(&dir);
    }
}
