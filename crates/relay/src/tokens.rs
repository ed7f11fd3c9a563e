//! Access tokens (`--tokens-file`): when configured, a client must offer one as the WebSocket
//! subprotocol `postino.token.<base64url of the token>` next to `postino.v1`. Never in the query
//! string, which ends up in access logs.
//!
//! The file holds one token per line; blank lines and lines starting with `#` are ignored, and
//! surrounding whitespace is trimmed. Only SHA-256 digests are kept in memory, and an offered
//! token is compared with every one of them in constant time.

use std::path::Path;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use postino_contract::{token_subprotocol, TOKEN_SUBPROTOCOL_PREFIX};
use postino_pop3::secret::Secret;
use ring::digest::{digest, SHA256};
use subtle::{Choice, ConstantTimeEq};

/// Shorter tokens are refused when the file is read: they could be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// base64url, with or without padding (`=` is not allowed in a subprotocol, but be lenient).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone)]
pub struct AccessTokens {
    digests: Vec<[u8; 32]>,
}

impl AccessTokens {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not read the tokens file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut digests = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let token = line.trim();
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            if token.len() < MIN_TOKEN_LEN {
                return Err(format!(
                    "line {}: a token must be at least {MIN_TOKEN_LEN} characters",
                    n + 1
                ));
            }
            digests.push(sha256(token.as_bytes()));
        }
        if digests.is_empty() {
            return Err("no token in the file".into());
        }
        Ok(AccessTokens { digests })
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether the offered subprotocol value (`postino.token.…`, or none) carries a known token.
    /// Takes the same time whichever token matches, and compares digests, so the time does not
    /// depend on the token's length or content either.
    pub fn accepts(&self, offered: Option<&Secret<String>>) -> bool {
        let Some(token) = offered
            .and_then(|p| p.expose().strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
            .and_then(|b64| BASE64URL.decode(b64).ok())
        else {
            return false;
        };
        let offered = sha256(&token);
        let mut found = Choice::from(0);
        for known in &self.digests {
            found |= known.ct_eq(&offered);
        }
        found.into()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// The subprotocol a client offers for `token`: what the app sends.
pub fn token_protocol(token: &str) -> String {
    token_subprotocol(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_format_skips_comments_and_blank_lines() {
        let tokens =
            AccessTokens::parse("# team\n\n  alice-0123456789abcdef  \nbob-0123456789abcdef\n")
                .unwrap();
        assert_eq!(tokens.len(), 2);
        let offer = |t: &str| Secret::new(token_protocol(t));
        assert!(tokens.accepts(Some(&offer("alice-0123456789abcdef"))));
        assert!(tokens.accepts(Some(&offer("bob-0123456789abcdef"))));
        assert!(!tokens.accepts(Some(&offer("bob-0123456789abcdeF"))));
        assert!(!tokens.accepts(Some(&Secret::new("postino.token.!!".into()))));
        assert!(!tokens.accepts(Some(&Secret::new("postino.v1".into()))));
        assert!(!tokens.accepts(None));
    }

    #[test]
    fn short_tokens_and_empty_files_are_refused() {
        assert_eq!(
            AccessTokens::parse("# c\nshort\n").unwrap_err(),
            "line 2: a token must be at least 16 characters"
        );
        assert_eq!(
            AccessTokens::parse("# only\n").unwrap_err(),
            "no token in the file"
        );
    }
}
