//! The self-signed certificate Dovecot serves for pop3s and STLS.

use std::io;

/// A fresh self-signed certificate for "localhost" and 127.0.0.1, made with rcgen.
pub struct SelfSignedCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
}

impl SelfSignedCertificate {
    /// Generates a new certificate with SANs DNS "localhost" and IP 127.0.0.1.
    pub fn generate() -> io::Result<Self> {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .map_err(|e| io::Error::other(format!("cannot make a certificate: {e}")))?;
        Ok(Self {
            der: certified.cert.der().to_vec(),
            cert_pem: certified.cert.pem(),
            key_pem: certified.key_pair.serialize_pem(),
        })
    }

    /// The SHA-256 fingerprint of the certificate, see [`fingerprint`].
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.der)
    }
}

/// SHA-256 of a DER certificate, as uppercase hex bytes joined with ':' (`AB:01:...`), the
/// format the app shows in its certificate prompt.
pub fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
