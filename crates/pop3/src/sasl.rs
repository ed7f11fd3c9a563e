//! SASL for POP3 (RFC 5034): the client side of PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195),
//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677; the server's signature is checked),
//! XOAUTH2 (Google, Microsoft) and OAUTHBEARER (RFC 7628).
//!
//! Sans-IO: [`SaslClient`] turns server challenges (already base64-decoded) into responses (not
//! yet encoded). [`crate::Client::authenticate`] does the base64 and the wire:
//!
//! ```text
//! auth-command = "AUTH" SP sasl-mech [SP initial-response] CRLF    (RFC 5034 section 4)
//! initial-response = base64 / "="
//! continue-req = "+" SP [base64] CRLF
//! ```
//!
//! Every credential stays in a [`Secret`]; no `Debug` output shows one.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use ring::{digest, hmac as ring_hmac, pbkdf2};

use crate::error::Error;
use crate::secret::Secret;
use crate::types::{ResponseCode, StatusLine};

/// The longest AUTH command line, CRLF included (RFC 2449 section 4, RFC 5034 section 4): a
/// longer initial response waits for the server's first `+ ` instead.
pub const MAX_AUTH_LINE: usize = 255;

/// The longest field of an OAuth error challenge kept (status, schemes, scope): they are shown.
const MAX_CHALLENGE_FIELD: usize = 200;

/// The most PBKDF2 iterations a SCRAM server may ask for: a hostile server must not make the
/// browser spin for minutes.
pub const MAX_SCRAM_ITERATIONS: u32 = 1_000_000;

/// A SASL mechanism this client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    CramMd5,
    ScramSha1,
    ScramSha256,
    /// Google's and Microsoft's OAuth 2.0 mechanism; the secret is an access token.
    XOAuth2,
    /// RFC 7628; the secret is an access token.
    OAuthBearer,
}

/// Password mechanisms, strongest first: [`Mechanism::strongest`] picks from this list.
pub(crate) const PASSWORD_PREFERENCE: [Mechanism; 5] = [
    Mechanism::ScramSha256,
    Mechanism::ScramSha1,
    Mechanism::CramMd5,
    Mechanism::Plain,
    Mechanism::Login,
];

/// Token mechanisms, preferred first.
const OAUTH_PREFERENCE: [Mechanism; 2] = [Mechanism::OAuthBearer, Mechanism::XOAuth2];

impl Mechanism {
    /// The name in CAPA's `SASL` line and in `AUTH`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism named `name`, in any case.
    pub fn parse(name: &str) -> Option<Mechanism> {
        PASSWORD_PREFERENCE
            .into_iter()
            .chain(OAUTH_PREFERENCE)
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the secret is an OAuth access token rather than a password.
    pub fn is_oauth(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }

    /// The strongest password mechanism in `offered` (CAPA's SASL list):
    /// SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN.
    pub fn strongest(offered: &[String]) -> Option<Mechanism> {
        pick(&PASSWORD_PREFERENCE, offered)
    }

    /// The token mechanism in `offered`: OAUTHBEARER, else XOAUTH2.
    pub fn strongest_oauth(offered: &[String]) -> Option<Mechanism> {
        pick(&OAUTH_PREFERENCE, offered)
    }
}

fn pick(preference: &[Mechanism], offered: &[String]) -> Option<Mechanism> {
    preference
        .iter()
        .copied()
        .find(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())))
}

/// The client side of one SASL exchange.
///
/// Call [`SaslClient::initial_response`] once, before anything else; then
/// [`SaslClient::respond`] for each server challenge; when the server says `+OK`, call
/// [`SaslClient::finish`], which fails if the server never proved itself (SCRAM).
pub struct SaslClient {
    mechanism: Mechanism,
    user: String,
    secret: Secret<String>,
    state: State,
    /// What an OAuth server explained in its error challenge (RFC 7628 section 3.2.2).
    error_detail: Option<String>,
    error_challenge: Option<OAuthErrorChallenge>,
}

impl std::fmt::Debug for SaslClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslClient")
            .field("mechanism", &self.mechanism)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

enum State {
    Start,
    /// PLAIN, XOAUTH2, OAUTHBEARER: the initial response was given.
    Sent,
    /// LOGIN: the user name was given, the password is next.
    LoginUserSent,
    LoginDone,
    CramDone,
    Scram(Scram),
    /// A failure challenge was answered; the server's `-ERR` comes next.
    Failed,
}

struct Scram {
    nonce: String,
    client_first_bare: String,
    /// The signature the server must show, once computed.
    server_signature: Option<Vec<u8>>,
    verified: bool,
}

impl SaslClient {
    /// An exchange for `user` with `secret` (a password, or an access token for the OAuth
    /// mechanisms). SCRAM gets a fresh random nonce.
    pub fn new(mechanism: Mechanism, user: &str, secret: &Secret<String>) -> Result<Self, Error> {
        let nonce = match mechanism {
            Mechanism::ScramSha1 | Mechanism::ScramSha256 => random_nonce()?,
            _ => String::new(),
        };
        Ok(Self::with_nonce(mechanism, user, secret, &nonce))
    }

    /// As [`SaslClient::new`] with a given SCRAM client nonce: for test vectors.
    pub fn with_nonce(
        mechanism: Mechanism,
        user: &str,
        secret: &Secret<String>,
        nonce: &str,
    ) -> Self {
        let state = match mechanism {
            Mechanism::ScramSha1 | Mechanism::ScramSha256 => State::Scram(Scram {
                nonce: nonce.to_string(),
                client_first_bare: format!("n={},r={nonce}", sasl_name(user)),
                server_signature: None,
                verified: false,
            }),
            _ => State::Start,
        };
        SaslClient {
            mechanism,
            user: user.to_string(),
            secret: secret.clone(),
            state,
            error_detail: None,
            error_challenge: None,
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// What the server explained in an OAuth error challenge, decoded (usually JSON).
    pub fn error_detail(&self) -> Option<&str> {
        self.error_detail.as_deref()
    }

    /// The OAuth error challenge, decoded, once the server sent one.
    pub fn error_challenge(&self) -> Option<&OAuthErrorChallenge> {
        self.error_challenge.as_ref()
    }

    /// The error for the server's final `-ERR` to this exchange. For XOAUTH2 and OAUTHBEARER
    /// it is [`Error::TokenRefused`], carrying the decoded error challenge, so that the caller
    /// can refresh the token once and try again; unless the code says "try later"
    /// (`[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]`), which says nothing about the token.
    pub fn refusal(&self, status: StatusLine) -> Error {
        let temporary = status.code.as_ref().is_some_and(ResponseCode::is_temporary);
        if self.mechanism.is_oauth() && !temporary {
            return Error::TokenRefused(Box::new(OAuthRefusal {
                mechanism: self.mechanism,
                challenge: self.error_challenge.clone(),
                code: status.code,
                text: status.text,
            }));
        }
        let text = match &self.error_detail {
            Some(detail) => format!("{} ({detail})", status.text),
            None => status.text,
        };
        Error::LoginFailed {
            code: status.code,
            text,
        }
    }

    /// The client's first message, for mechanisms that speak first; `None` for LOGIN and
    /// CRAM-MD5, where the server speaks first.
    pub fn initial_response(&mut self) -> Option<Secret<Vec<u8>>> {
        let user = &self.user;
        let secret = self.secret.expose();
        let out = match (&self.state, self.mechanism) {
            (State::Start, Mechanism::Plain) => {
                // RFC 4616: [authzid] NUL authcid NUL passwd
                format!("\0{user}\0{secret}").into_bytes()
            }
            (State::Start, Mechanism::XOAuth2) => {
                format!("user={user}\x01auth=Bearer {secret}\x01\x01").into_bytes()
            }
            (State::Start, Mechanism::OAuthBearer) => {
                // RFC 7628 section 3.1: gs2-header, then key=value pairs separated by ^A.
                format!("n,a={},\x01auth=Bearer {secret}\x01\x01", sasl_name(user)).into_bytes()
            }
            (State::Scram(scram), _) if scram.server_signature.is_none() => {
                // RFC 5802 section 7: gs2-header "n,," (no channel binding, no authzid).
                format!("n,,{}", scram.client_first_bare).into_bytes()
            }
            _ => return None,
        };
        if matches!(self.state, State::Start) {
            self.state = State::Sent;
        }
        Some(Secret::new(out))
    }

    /// The response to the server challenge `challenge` (base64-decoded).
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Secret<Vec<u8>>, Error> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        let (next, out) = match (state, self.mechanism) {
            (State::Start, Mechanism::Login) => (State::LoginUserSent, self.user.clone()),
            (State::LoginUserSent, Mechanism::Login) => {
                (State::LoginDone, self.secret.expose().clone())
            }
            (State::Start, Mechanism::CramMd5) => {
                // RFC 2195: user SP hex(HMAC-MD5(secret, challenge))
                let mut mac = Hmac::<md5::Md5>::new_from_slice(self.secret.expose().as_bytes())
                    .map_err(|_| Error::Protocol("HMAC-MD5 key".into()))?;
                mac.update(challenge);
                let digest = hex(&mac.finalize().into_bytes());
                (State::CramDone, format!("{} {digest}", self.user))
            }
            (State::Sent, Mechanism::XOAuth2 | Mechanism::OAuthBearer) => {
                // The token was refused: the challenge is a JSON error. Answer so that the
                // server sends its final -ERR: an empty response for XOAUTH2 (Google's and
                // Microsoft's documentation), ^A for OAUTHBEARER (RFC 7628 section 3.2.3).
                let shown: String = String::from_utf8_lossy(challenge)
                    .chars()
                    .take(300)
                    .collect();
                self.error_detail = Some(shown);
                self.error_challenge = Some(OAuthErrorChallenge::decode(challenge));
                let answer = if self.mechanism == Mechanism::OAuthBearer {
                    "\x01"
                } else {
                    ""
                };
                (State::Failed, answer.to_string())
            }
            (State::Scram(mut scram), mechanism) => {
                let out = if scram.server_signature.is_none() {
                    scram.client_final(mechanism, self.secret.expose(), challenge)?
                } else {
                    scram.check_server_final(challenge)?;
                    String::new()
                };
                (State::Scram(scram), out)
            }
            _ => {
                return Err(Error::Protocol(format!(
                    "unexpected {} challenge from the server",
                    self.mechanism.name()
                )))
            }
        };
        self.state = next;
        Ok(Secret::new(out.into_bytes()))
    }

    /// The server said `+OK`: check that the exchange really completed.
    pub fn finish(&self) -> Result<(), Error> {
        match &self.state {
            State::Scram(scram) if !scram.verified => Err(Error::Protocol(
                "the server accepted the login without proving it knows the password \
                 (no SCRAM server signature): it may be an impostor"
                    .into(),
            )),
            State::Scram(_) | State::Sent | State::LoginDone | State::CramDone => Ok(()),
            State::Start | State::LoginUserSent | State::Failed => Err(Error::Protocol(format!(
                "the server accepted an unfinished {} exchange",
                self.mechanism.name()
            ))),
        }
    }
}

/// Whether the AUTH line with an initial response of `encoded_len` base64 octets fits
/// `max_line` octets ([`MAX_AUTH_LINE`] by RFC 5034 section 4):
/// `"AUTH" SP mechanism SP initial-response CRLF`.
pub fn initial_response_fits(mechanism: Mechanism, encoded_len: usize, max_line: usize) -> bool {
    5 + mechanism.name().len() + 1 + encoded_len + 2 <= max_line
}

/// Whether `host` is one of Microsoft's POP servers (`outlook.office365.com`, `*.outlook.com`,
/// `*.office365.com`), which refuse an initial response on the AUTH line however short: the
/// response always follows the server's `+ ` there (RFC 5034's two steps). getmail6, mpop and
/// MailKit all met "AUTH XOAUTH2 <token>" refused by them.
pub fn always_two_step(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    ["outlook.com", "office365.com"]
        .iter()
        .any(|d| host == *d || host.strip_suffix(d).is_some_and(|h| h.ends_with('.')))
}

/// The error challenge of an OAuth server that refused a token: base64 JSON after `+ `
/// (RFC 7628 section 3.2.2 for OAUTHBEARER; Google and Microsoft send the same keys for
/// XOAUTH2):
///
/// ```text
/// {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}
/// ```
///
/// Decoded tolerantly: what is not JSON, or a key that is missing or not a string or number,
/// is `None`. Each field is cut to 200 characters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthErrorChallenge {
    /// An HTTP status (`"401"`, Google's and Microsoft's way) or an RFC 6750 error code
    /// (`"invalid_token"`, RFC 7628's way).
    pub status: Option<String>,
    pub schemes: Option<String>,
    pub scope: Option<String>,
}

impl OAuthErrorChallenge {
    /// The challenge's JSON, already base64-decoded.
    pub fn decode(json: &[u8]) -> OAuthErrorChallenge {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(json) else {
            return OAuthErrorChallenge::default();
        };
        let field = |key: &str| -> Option<String> {
            let text = match map.get(key)? {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some(text.chars().take(MAX_CHALLENGE_FIELD).collect())
        };
        OAuthErrorChallenge {
            status: field("status"),
            schemes: field("schemes"),
            scope: field("scope"),
        }
    }

    /// What the status means.
    pub fn problem(&self) -> TokenProblem {
        match self.status.as_deref().map(str::trim) {
            Some("401" | "invalid_token") => TokenProblem::ExpiredOrRevoked,
            Some("400" | "invalid_request") => TokenProblem::BadRequest,
            Some("403" | "insufficient_scope") => TokenProblem::InsufficientScope,
            _ => TokenProblem::Refused,
        }
    }
}

/// Why an OAuth server refused a token, from its error challenge's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    /// `401` / `invalid_token`: refresh the token and try once more.
    ExpiredOrRevoked,
    /// `400` / `invalid_request`: the login itself was malformed (often a wrong user name).
    BadRequest,
    /// `403` / `insufficient_scope`: the token was granted without the mail scope.
    InsufficientScope,
    /// No error challenge, or a status not known here.
    Refused,
}

impl TokenProblem {
    /// In words the app can show.
    pub fn describe(self) -> &'static str {
        match self {
            TokenProblem::ExpiredOrRevoked => "token expired or revoked",
            TokenProblem::BadRequest => "bad request",
            TokenProblem::InsufficientScope => "the token does not grant access to mail",
            TokenProblem::Refused => "token refused",
        }
    }
}

/// A token the server refused: [`Error::TokenRefused`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthRefusal {
    pub mechanism: Mechanism,
    /// The decoded error challenge, when the server sent one (Microsoft does not).
    pub challenge: Option<OAuthErrorChallenge>,
    /// The code of the final `-ERR`, usually `[AUTH]`.
    pub code: Option<ResponseCode>,
    /// The text of the final `-ERR`.
    pub text: String,
}

impl OAuthRefusal {
    pub fn problem(&self) -> TokenProblem {
        self.challenge
            .as_ref()
            .map_or(TokenProblem::Refused, OAuthErrorChallenge::problem)
    }

    /// Whether refreshing the token and trying once more may help: the server said the token
    /// expired or was revoked, or refused it without saying why (Microsoft's way).
    pub fn should_refresh(&self) -> bool {
        matches!(
            self.problem(),
            TokenProblem::ExpiredOrRevoked | TokenProblem::Refused
        )
    }
}

impl std::fmt::Display for OAuthRefusal {
    /// `token expired or revoked (status 401); the server said: Authentication failure`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.problem().describe())?;
        if let Some(status) = self.challenge.as_ref().and_then(|c| c.status.as_deref()) {
            write!(f, " (status {status})")?;
        }
        let text: String = self.text.chars().take(300).collect();
        write!(f, "; the server said: {text}")
    }
}

impl Scram {
    /// Read server-first and compute client-final (RFC 5802 section 3).
    fn client_final(
        &mut self,
        mechanism: Mechanism,
        password: &str,
        server_first: &[u8],
    ) -> Result<String, Error> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| Error::Protocol("SCRAM server-first is not UTF-8".into()))?;
        let bad = |what: &str| Error::Protocol(format!("SCRAM server-first message: {what}"));
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attribute in server_first.split(',') {
            match attribute.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("m", _)) => return Err(bad("asks for an unknown mandatory extension")),
                _ => {}
            }
        }
        let nonce = nonce.ok_or_else(|| bad("no nonce"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err(bad("the nonce does not extend ours"));
        }
        let salt = BASE64
            .decode(salt.ok_or_else(|| bad("no salt"))?)
            .map_err(|_| bad("the salt is not base64"))?;
        let iterations: u32 = iterations
            .and_then(|i| i.parse().ok())
            .filter(|&i| (1..=MAX_SCRAM_ITERATIONS).contains(&i))
            .ok_or_else(|| bad("missing or unreasonable iteration count"))?;
        let iterations = std::num::NonZeroU32::new(iterations).ok_or_else(|| bad("zero"))?;

        let hash = ScramHash::of(mechanism);
        let mut salted = vec![0u8; hash.len];
        pbkdf2::derive(
            hash.pbkdf2,
            iterations,
            &salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hash.hmac(&salted, b"Client Key");
        let stored_key = digest::digest(hash.digest, &client_key);
        // "biws" is base64 of the gs2-header "n,,".
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hash.hmac(stored_key.as_ref(), auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hash.hmac(&salted, b"Server Key");
        self.server_signature = Some(hash.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)))
    }

    /// Check server-final: `v=` the signature only the real server can compute.
    fn check_server_final(&mut self, server_final: &[u8]) -> Result<(), Error> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(Error::LoginFailed {
                code: None,
                text: format!("SCRAM: {e}"),
            });
        }
        let given = text
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .and_then(|v| BASE64.decode(v).ok());
        let expected = self.server_signature.as_deref().unwrap_or_default();
        match given {
            Some(given) if constant_time_eq(&given, expected) && !expected.is_empty() => {
                self.verified = true;
                Ok(())
            }
            _ => Err(Error::Protocol(
                "the server's SCRAM signature is wrong: it may be an impostor".into(),
            )),
        }
    }
}

struct ScramHash {
    len: usize,
    pbkdf2: pbkdf2::Algorithm,
    hmac: ring_hmac::Algorithm,
    digest: &'static digest::Algorithm,
}

impl ScramHash {
    fn of(mechanism: Mechanism) -> ScramHash {
        if mechanism == Mechanism::ScramSha1 {
            ScramHash {
                len: 20,
                pbkdf2: pbkdf2::PBKDF2_HMAC_SHA1,
                hmac: ring_hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                digest: &digest::SHA1_FOR_LEGACY_USE_ONLY,
            }
        } else {
            ScramHash {
                len: 32,
                pbkdf2: pbkdf2::PBKDF2_HMAC_SHA256,
                hmac: ring_hmac::HMAC_SHA256,
                digest: &digest::SHA256,
            }
        }
    }

    fn hmac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        ring_hmac::sign(&ring_hmac::Key::new(self.hmac, key), data)
            .as_ref()
            .to_vec()
    }
}

/// RFC 5802 section 5.1: `=` and `,` in a user name become `=3D` and `=2C`.
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

fn random_nonce() -> Result<String, Error> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 24];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| {
            Error::Io(std::io::Error::other(
                "no random numbers for the SCRAM nonce",
            ))
        })?;
    Ok(BASE64.encode(bytes))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Base64 for the wire; an empty response is `=` only as an initial response (RFC 5034).
pub(crate) fn encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// A challenge from the wire; tolerates surrounding spaces.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, Error> {
    BASE64
        .decode(text.trim())
        .map_err(|_| Error::Protocol("a SASL challenge is not base64".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_string())
    }

    fn text(s: Secret<Vec<u8>>) -> String {
        String::from_utf8(s.expose().clone()).unwrap()
    }

    /// RFC 5802 section 5: the SCRAM-SHA-1 example.
    #[test]
    fn scram_sha1_rfc5802_example() {
        let mut c = SaslClient::with_nonce(
            Mechanism::ScramSha1,
            "user",
            &secret("pencil"),
            "fyko+d2lbbFgONRv9qkxdawL",
        );
        assert_eq!(
            text(c.initial_response().unwrap()),
            "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
        );
        let reply = c
            .respond(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
            .unwrap();
        assert_eq!(
            text(reply),
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert!(c.finish().is_err(), "not verified yet");
        assert_eq!(
            text(c.respond(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").unwrap()),
            ""
        );
        c.finish().unwrap();
    }

    /// RFC 7677 section 3: the SCRAM-SHA-256 example.
    #[test]
    fn scram_sha256_rfc7677_example() {
        let mut c = SaslClient::with_nonce(
            Mechanism::ScramSha256,
            "user",
            &secret("pencil"),
            "rOprNGfwEbeRWgbNEkqO",
        );
        assert_eq!(
            text(c.initial_response().unwrap()),
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        let reply = c
            .respond(
                b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        assert_eq!(
            text(reply),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.respond(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        c.finish().unwrap();
    }

    #[test]
    fn scram_refuses_a_wrong_server_signature_and_a_foreign_nonce() {
        let mut c = SaslClient::with_nonce(Mechanism::ScramSha1, "user", &secret("pencil"), "abc");
        c.initial_response();
        assert!(c.respond(b"r=xyz123,s=QSXCR+Q6sek8bf92,i=4096").is_err());
        let mut c = SaslClient::with_nonce(Mechanism::ScramSha1, "user", &secret("pencil"), "abc");
        c.initial_response();
        c.respond(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        assert!(c.respond(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").is_err());
        assert!(c.finish().is_err());
        let mut c = SaslClient::with_nonce(Mechanism::ScramSha1, "user", &secret("pencil"), "abc");
        c.initial_response();
        assert!(c
            .respond(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999")
            .is_err());
    }

    /// RFC 2195 section 2: the CRAM-MD5 example.
    #[test]
    fn cram_md5_rfc2195_example() {
        let mut c =
            SaslClient::new(Mechanism::CramMd5, "tim", &secret("tanstaaftanstaaf")).unwrap();
        assert!(c.initial_response().is_none());
        let reply = c
            .respond(b"<1896.697170952@postoffice.reston.mci.net>")
            .unwrap();
        assert_eq!(text(reply), "tim b913a602c7eda7a495b4e6e7334d3890");
        assert!(c.respond(b"again").is_err());
    }

    #[test]
    fn plain_login_and_oauth_messages() {
        let mut c = SaslClient::new(Mechanism::Plain, "tim", &secret("pw")).unwrap();
        assert_eq!(text(c.initial_response().unwrap()), "\0tim\0pw");
        let mut c = SaslClient::new(Mechanism::Login, "tim", &secret("pw")).unwrap();
        assert!(c.initial_response().is_none());
        assert_eq!(text(c.respond(b"Username:").unwrap()), "tim");
        assert_eq!(text(c.respond(b"Password:").unwrap()), "pw");
        let mut c = SaslClient::new(Mechanism::XOAuth2, "a@b.c", &secret("tok")).unwrap();
        assert_eq!(
            text(c.initial_response().unwrap()),
            "user=a@b.c\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(text(c.respond(br#"{"status":"401"}"#).unwrap()), "");
        assert_eq!(c.error_detail(), Some(r#"{"status":"401"}"#));
        let mut c = SaslClient::new(Mechanism::OAuthBearer, "a,b=c", &secret("tok")).unwrap();
        assert_eq!(
            text(c.initial_response().unwrap()),
            "n,a=a=2Cb=3Dc,\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(text(c.respond(b"{}").unwrap()), "\x01");
    }

    #[test]
    fn initial_response_fits_the_255_octet_auth_line() {
        // "AUTH XOAUTH2 " is 13 octets, CRLF 2: 240 octets of response fit, 241 do not.
        assert!(initial_response_fits(
            Mechanism::XOAuth2,
            240,
            MAX_AUTH_LINE
        ));
        assert!(!initial_response_fits(
            Mechanism::XOAuth2,
            241,
            MAX_AUTH_LINE
        ));
        // "AUTH OAUTHBEARER " is 17.
        assert!(initial_response_fits(
            Mechanism::OAuthBearer,
            236,
            MAX_AUTH_LINE
        ));
        assert!(!initial_response_fits(
            Mechanism::OAuthBearer,
            237,
            MAX_AUTH_LINE
        ));
        assert!(initial_response_fits(Mechanism::OAuthBearer, 4000, 4096));
    }

    #[test]
    fn microsoft_hosts_always_take_two_steps() {
        for host in [
            "outlook.office365.com",
            "OUTLOOK.OFFICE365.COM.",
            "pop-mail.outlook.com",
            "outlook.com",
            "smtp.office365.com",
        ] {
            assert!(always_two_step(host), "{host}");
        }
        for host in [
            "pop.gmail.com",
            "notoutlook.com",
            "outlook.com.evil.example",
            "127.0.0.1",
        ] {
            assert!(!always_two_step(host), "{host}");
        }
    }

    #[test]
    fn error_challenges_decode_tolerantly() {
        // Google's XOAUTH2 challenge.
        let google = OAuthErrorChallenge::decode(
            br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#,
        );
        assert_eq!(google.status.as_deref(), Some("401"));
        assert_eq!(google.scope.as_deref(), Some("https://mail.google.com/"));
        assert_eq!(google.problem(), TokenProblem::ExpiredOrRevoked);
        // RFC 7628 section 3.2.2's example uses RFC 6750 error codes.
        let rfc = OAuthErrorChallenge::decode(
            br#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"x"}"#,
        );
        assert_eq!(rfc.problem(), TokenProblem::ExpiredOrRevoked);
        assert_eq!(
            OAuthErrorChallenge::decode(br#"{"status":400}"#).problem(),
            TokenProblem::BadRequest
        );
        assert_eq!(
            OAuthErrorChallenge::decode(br#"{"status":"insufficient_scope"}"#).problem(),
            TokenProblem::InsufficientScope
        );
        // Not JSON, not an object, wrong types, huge fields: no panic, nothing made up.
        for junk in [
            &b"not json"[..],
            b"[1,2]",
            b"{\"status\":[\"401\"]}",
            b"\xff\xfe",
            b"",
        ] {
            let c = OAuthErrorChallenge::decode(junk);
            assert_eq!(c, OAuthErrorChallenge::default());
            assert_eq!(c.problem(), TokenProblem::Refused);
        }
        let long = format!(r#"{{"scope":"{}"}}"#, "s".repeat(10_000));
        assert_eq!(
            OAuthErrorChallenge::decode(long.as_bytes())
                .scope
                .unwrap()
                .len(),
            MAX_CHALLENGE_FIELD
        );
    }

    #[test]
    fn a_refused_token_is_a_typed_error_without_the_token() {
        let status = |code: Option<ResponseCode>| StatusLine {
            ok: false,
            code,
            text: "Authentication failed".into(),
        };
        let mut c = SaslClient::new(Mechanism::XOAuth2, "a@b.c", &secret("sekrit-token")).unwrap();
        c.initial_response();
        c.respond(br#"{"status":"401","schemes":"bearer"}"#)
            .unwrap();
        let err = c.refusal(status(Some(ResponseCode::Auth)));
        let Error::TokenRefused(refusal) = &err else {
            panic!("{err:?}")
        };
        assert!(refusal.should_refresh());
        assert_eq!(refusal.problem().describe(), "token expired or revoked");
        assert!(!format!("{err:?} {err}").contains("sekrit-token"));
        assert!(!format!("{c:?}").contains("sekrit-token"));
        // No challenge at all (Microsoft's plain -ERR): refused, worth one refresh.
        let c = SaslClient::new(Mechanism::OAuthBearer, "a", &secret("t")).unwrap();
        let Error::TokenRefused(r) = c.refusal(status(None)) else {
            panic!()
        };
        assert_eq!(
            (r.problem(), r.should_refresh()),
            (TokenProblem::Refused, true)
        );
        // Passwords keep LoginFailed; so does a "try later" code for tokens.
        let c = SaslClient::new(Mechanism::Plain, "a", &secret("pw")).unwrap();
        assert!(matches!(
            c.refusal(status(Some(ResponseCode::Auth))),
            Error::LoginFailed { .. }
        ));
        let c = SaslClient::new(Mechanism::XOAuth2, "a", &secret("t")).unwrap();
        assert!(matches!(
            c.refusal(status(Some(ResponseCode::InUse))),
            Error::LoginFailed { .. }
        ));
    }

    #[test]
    fn strongest_mechanism_both_sides_offer() {
        let offered = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            Mechanism::strongest(&offered("PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256")),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(
            Mechanism::strongest(&offered("PLAIN cram-md5")),
            Some(Mechanism::CramMd5)
        );
        assert_eq!(
            Mechanism::strongest(&offered("PLAIN XOAUTH2 OAUTHBEARER")),
            Some(Mechanism::Plain)
        );
        assert_eq!(Mechanism::strongest(&offered("XOAUTH2 GSSAPI")), None);
        assert_eq!(
            Mechanism::strongest_oauth(&offered("PLAIN XOAUTH2")),
            Some(Mechanism::XOAuth2)
        );
        assert_eq!(Mechanism::parse("scram-sha-1"), Some(Mechanism::ScramSha1));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = SaslClient::new(Mechanism::Plain, "tim", &secret("hunter2")).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
