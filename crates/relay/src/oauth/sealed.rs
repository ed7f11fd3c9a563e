//! Refresh tokens sealed under the relay's own key, so that the relay stores nothing per user:
//! the app keeps the sealed token and hands it back to refresh.
//!
//! ChaCha20-Poly1305 (ring), a random 96-bit nonce per sealing, and as associated data the
//! provider and the account: a sealed token opens only on the relay that sealed it, for the
//! same provider and account. The form is `v1.` then base64url (no padding) of nonce and
//! ciphertext with its tag.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use postino_pop3::secret::Secret;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// The key file holds exactly this many random bytes.
pub const KEY_LEN: usize = 32;
/// The longest sealed token accepted: refresh tokens are a few hundred bytes.
pub const MAX_SEALED: usize = 8 * 1024;
const PREFIX: &str = "v1.";

/// The relay's sealing key.
pub struct SealingKey {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// The key in `path`; a new random one written there (mode 0600, never replacing a file)
    /// when the file does not exist. A key file that others may read is refused.
    pub fn load_or_create(path: &Path) -> Result<SealingKey, String> {
        let shown = path.display();
        let rng = SystemRandom::new();
        let bytes = match fs::File::open(path) {
            Ok(file) => {
                let mode = file
                    .metadata()
                    .map_err(|e| format!("{shown}: {e}"))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "{shown}: the OAuth sealing key may be read by others (mode {:o}); \
                         run chmod 600 {shown}",
                        mode & 0o777
                    ));
                }
                let mut bytes = Vec::with_capacity(KEY_LEN);
                file.take(KEY_LEN as u64 + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("{shown}: {e}"))?;
                bytes
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut bytes = vec![0; KEY_LEN];
                rng.fill(&mut bytes)
                    .map_err(|_| "no random numbers for the OAuth sealing key".to_string())?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| format!("could not create {shown}: {e}"))?;
                file.write_all(&bytes)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| format!("could not write {shown}: {e}"))?;
                tracing::info!(path = %shown, "created a new OAuth sealing key");
                bytes
            }
            Err(e) => return Err(format!("could not read {shown}: {e}")),
        };
        if bytes.len() != KEY_LEN {
            return Err(format!(
                "{shown}: an OAuth sealing key is exactly {KEY_LEN} bytes (delete the file to \
                 have a new one made; refresh tokens sealed under the old one stop working)"
            ));
        }
        SealingKey::from_bytes(&bytes, rng)
    }

    fn from_bytes(bytes: &[u8], rng: SystemRandom) -> Result<SealingKey, String> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| "the OAuth sealing key is unusable".to_string())?;
        Ok(SealingKey {
            key: LessSafeKey::new(key),
            rng,
        })
    }

    /// `refresh` sealed for `provider` and `account`.
    pub fn seal(
        &self,
        provider: &str,
        account: &str,
        refresh: &Secret<String>,
    ) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| "no random numbers for a nonce".to_string())?;
        let mut sealed = refresh.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(provider, account)),
                &mut sealed,
            )
            .map_err(|_| "sealing failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// The refresh token in `sealed`, if it was sealed by this key for `provider` and
    /// `account`; `None` for anything else (another relay's, another account's, altered,
    /// not a sealed token at all).
    pub fn open(&self, provider: &str, account: &str, sealed: &str) -> Option<Secret<String>> {
        if sealed.len() > MAX_SEALED {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(
                nonce,
                Aad::from(associated_data(provider, account)),
                &mut buffer,
            )
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(Secret::new)
    }
}

/// What the seal is bound to. Lengths first, so that no two (provider, account) pairs give the
/// same bytes.
fn associated_data(provider: &str, account: &str) -> Vec<u8> {
    let mut aad = b"postino.oauth.refresh.v1".to_vec();
    for part in [provider, account] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealingKey {
        SealingKey::from_bytes(&[byte; KEY_LEN], SystemRandom::new()).unwrap()
    }

    #[test]
    fn opens_only_for_the_same_key_provider_and_account() {
        let k = key(1);
        let token = Secret::new("1//refresh-token".to_string());
        let sealed = k.seal("google", "a@gmail.com", &token).unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("refresh-token"));
        assert_eq!(
            k.open("google", "a@gmail.com", &sealed).unwrap().expose(),
            token.expose()
        );
        // Random nonces: sealing twice gives two different strings.
        assert_ne!(sealed, k.seal("google", "a@gmail.com", &token).unwrap());
        assert!(k.open("google", "b@gmail.com", &sealed).is_none());
        assert!(k.open("microsoft", "a@gmail.com", &sealed).is_none());
        // The boundary between provider and account is part of the binding.
        assert!(k.open("googlea", "@gmail.com", &sealed).is_none());
        assert!(key(2).open("google", "a@gmail.com", &sealed).is_none());
        // Altered, truncated or junk: None, never a panic.
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for junk in [
            altered.as_str(),
            &sealed[..sealed.len() - 4],
            "v1.",
            "v1.AAAA",
            "v2.AAAA",
            "",
            "v1.!!!!",
        ] {
            assert!(k.open("google", "a@gmail.com", junk).is_none(), "{junk}");
        }
        assert!(k
            .open("google", "a@gmail.com", &"A".repeat(MAX_SEALED + 1))
            .is_none());
    }

    #[test]
    fn the_key_file_is_made_0600_once_and_refused_when_others_may_read_it() {
        let dir = std::env::temp_dir().join(format!("postino-seal-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("oauth.key");
        let _ = fs::remove_file(&path);
        let first = SealingKey::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read(&path).unwrap().len(), KEY_LEN);
        let sealed = first.seal("p", "a", &Secret::new("t".into())).unwrap();
        // Loaded again: the same key.
        let again = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("p", "a", &sealed).unwrap().expose(), "t");
        assert_eq!(format!("{again:?}"), "SealingKey([redacted])");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = SealingKey::load_or_create(&path).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, b"short").unwrap();
        assert!(SealingKey::load_or_create(&path)
            .unwrap_err()
            .contains("exactly 32 bytes"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
