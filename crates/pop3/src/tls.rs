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

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.problem {
            CertProblem::UnknownIssuer => f.write_str(
                "the server's certificate is not signed by a known authority \
                 (self-signed, a private authority, or the server omits an intermediate certificate)",
            ),
            CertProblem::Expired => f.write_str("the server's certificate has expired"),
            CertProblem::NotYetValid => f.write_str("the server's certificate is not valid yet"),
            CertProblem::WrongName => {
                f.write_str("the server's certificate is for another host name")
            }
            CertProblem::Revoked => f.write_str("the server's certificate was revoked"),
            CertProblem::PinChanged { .. } => f.write_str(
                "the server's certificate changed since you trusted it: \
                 this may be an attack, or the server renewed its certificate",
            ),
            CertProblem::Other(e) => write!(f, "the server's certificate was refused: {e}"),
        }
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
                    other => CertProblem::Other(format!("{other:?}")),
                },
                Some(other) => return crate::Error::Tls(other.to_string()),
                None => return crate::Error::Io(err),
            }
        };
        crate::Error::Certificate(CertError {
            problem,
            fingerprint,
        })
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
