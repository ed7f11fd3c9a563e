//! TLS with rustls: roots from webpki-roots, per-account pinning by SHA-256 (trust on first use),
//! and certificate errors that say what is wrong.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// SHA-256 of a DER certificate as upper-case hex bytes joined by `:`, as browsers show it.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = String::with_capacity(95);
    for (i, b) in digest.as_ref().iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// Parse a fingerprint written as hex, with or without `:` separators, in any case.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let pairs: Vec<&str> = (0..32).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(":"))
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// Not signed by a known authority: self-signed, a private CA, or a missing intermediate.
    UnknownIssuer,
    Expired,
    NotYetValid,
    /// Valid, but for another host name.
    WrongName,
    Revoked,
    /// The certificate is a certificate authority's, used as a server's: what
    /// `openssl req -x509` makes by default (basic constraints CA:TRUE). Common on self-hosted
    /// servers; pinning it is the way to trust it.
    AuthorityAsServer,
    /// The certificate's extended key usage does not include TLS server authentication.
    NotForServers,
    /// The certificate cannot be read (bad encoding, unsupported version or extension).
    Malformed,
    /// The account pins a certificate and the server showed another one.
    PinChanged {
        pinned: String,
    },
    Other(String),
}

/// A refused certificate: why, and the fingerprint the user may choose to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertError {
    pub problem: CertProblem,
    /// SHA-256 of the server's certificate, if the server sent one.
    pub fingerprint: Option<String>,
}

impl CertError {
    /// Why the certificate was refused, as a sentence without the fingerprint.
    pub fn problem_text(&self) -> String {
        match &self.problem {
            CertProblem::UnknownIssuer => "the server's certificate is not signed by a known \
                 authority (self-signed, a private authority, or the server omits an \
                 intermediate certificate)"
                .into(),
            CertProblem::Expired => "the server's certificate has expired".into(),
            CertProblem::NotYetValid => "the server's certificate is not valid yet".into(),
            CertProblem::WrongName => "the server's certificate is for another host name".into(),
            CertProblem::Revoked => "the server's certificate was revoked".into(),
            CertProblem::AuthorityAsServer => "the server's certificate is made for a \
                 certificate authority, not for a server (as `openssl req -x509` makes by \
                 default), so no authority vouches for it"
                .into(),
            CertProblem::NotForServers => {
                "the server's certificate is not made for servers (its key usage excludes \
                 TLS server authentication)"
                    .into()
            }
            CertProblem::Malformed => "the server's certificate cannot be read".into(),
            CertProblem::PinChanged { .. } => "the server's certificate changed since you \
                 trusted it: this may be an attack, or the server renewed its certificate"
                .into(),
            CertProblem::Other(e) => format!("the server's certificate was refused ({e})"),
        }
    }

    /// The fingerprint to offer for pinning: every refusal that saw a certificate. Pinning
    /// trusts exactly that certificate, whatever its issuer, dates or extensions.
    pub fn fingerprint_to_pin(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }
}

impl std::fmt::Display for CertError {
    /// The problem, then the certificate's SHA-256 fingerprint: the value to pin if the user
    /// checked it is the server's own (`pinned_cert`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem_text())?;
        if let Some(fp) = &self.fingerprint {
            write!(
                f,
                "; its SHA-256 fingerprint is {fp}: pin it only if it is the one your server \
                 shows"
            )?;
        }
        Ok(())
    }
}

/// What the verifier saw, read after a failed handshake to explain it.
#[derive(Debug, Default)]
struct Seen {
    fingerprint: Option<String>,
    pin_changed: Option<String>,
}

/// Verifies against webpki roots, or accepts exactly the pinned certificate.
#[derive(Debug)]
struct PinningVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    pinned: Option<String>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = fingerprint_sha256(end_entity.as_ref());
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.fingerprint = Some(fingerprint.clone());
        if let Some(pinned) = &self.pinned {
            // Trust on first use: the user accepted this exact certificate for this account.
            if *pinned == fingerprint {
                return Ok(ServerCertVerified::assertion());
            }
            seen.pin_changed = Some(pinned.clone());
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        drop(seen);
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// ring's provider. In wasm there is no AES instruction, and ChaCha20-Poly1305 in portable code
/// is several times faster than AES-GCM in portable code: offer it first there (servers such as
/// OpenSSL honour the client's order when both sides offer it). Native code keeps AES-GCM first.
fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    if cfg!(target_arch = "wasm32") {
        provider.cipher_suites.sort_by_key(|s| {
            !matches!(
                s.suite(),
                rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                    | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                    | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            )
        });
    }
    provider
}

/// A client configuration for one connection, and what explains its failure.
pub struct TlsSetup {
    pub config: Arc<ClientConfig>,
    seen: Arc<Mutex<Seen>>,
}

impl TlsSetup {
    /// Roots from webpki-roots, or only `pinned` (a fingerprint as [`fingerprint_sha256`] prints)
    /// when the user trusted a certificate for this account.
    pub fn new(pinned: Option<&str>) -> Result<TlsSetup, crate::Error> {
        let provider = Arc::new(provider());
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| crate::Error::Tls(e.to_string()))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let verifier = PinningVerifier {
            webpki,
            provider: provider.clone(),
            pinned: pinned.and_then(normalize_fingerprint),
            seen: seen.clone(),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| crate::Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(TlsSetup {
            config: Arc::new(config),
            seen,
        })
    }

    /// Turn a failed handshake into an error that names its cause.
    pub fn explain(&self, err: std::io::Error) -> crate::Error {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let fingerprint = seen.fingerprint.clone();
        let rustls_err = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .cloned();
        let problem = if let Some(pinned) = seen.pin_changed.clone() {
            CertProblem::PinChanged { pinned }
        } else {
            match rustls_err {
                Some(rustls::Error::InvalidCertificate(c)) => match c {
                    CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                        CertProblem::UnknownIssuer
                    }
                    CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                        CertProblem::Expired
                    }
                    CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                        CertProblem::NotYetValid
                    }
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => CertProblem::WrongName,
                    CertificateError::Revoked => CertProblem::Revoked,
                    CertificateError::InvalidPurpose => CertProblem::NotForServers,
                    CertificateError::BadEncoding => CertProblem::Malformed,
                    CertificateError::Other(other) => webpki_problem(&other.to_string()),
                    other => CertProblem::Other(format!("{other:?}")),
                },
                // The port answered in plain text (a POP3 greeting) where a TLS record was due.
                Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
                    return crate::Error::SecurityMismatch(crate::error::NOT_TLS_PORT)
                }
                Some(other) => return crate::Error::Tls(other.to_string()),
                None if err.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return crate::Error::Closed
                }
                None => return crate::Error::Io(err),
            }
        };
        crate::Error::Certificate(CertError {
            problem,
            fingerprint,
        })
    }
}

/// A webpki error that rustls passes on as `Other`, named by its `Display` (its variant name).
fn webpki_problem(name: &str) -> CertProblem {
    match name {
        "CaUsedAsEndEntity" => CertProblem::AuthorityAsServer,
        "EndEntityUsedAsCa" | "UnknownIssuer" => CertProblem::UnknownIssuer,
        n if n.starts_with("UnsupportedCertVersion")
            || n.starts_with("UnsupportedCriticalExtension")
            || n.starts_with("MalformedExtensions")
            || n.starts_with("ExtensionValueInvalid") =>
        {
            CertProblem::Malformed
        }
        n if n.starts_with("RequiredEkuNotFound") => CertProblem::NotForServers,
        other => CertProblem::Other(other.chars().take(80).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_format() {
        let f = fingerprint_sha256(b"");
        assert_eq!(f.len(), 95);
        assert!(f.starts_with("E3:B0:C4:42"));
        assert_eq!(
            normalize_fingerprint(&f.to_lowercase().replace(':', "")),
            Some(f)
        );
        assert_eq!(normalize_fingerprint("abc"), None);
    }
}
