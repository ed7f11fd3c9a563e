//! Address-first setup: where the POP3 server of an address is, asked of the relay
//! (`GET /v1/autoconfig/{domain}`: its provider table, DNS SRV per RFC 6186, MX records that
//! point at a known provider, else guesses the app tries with Test connection).

use postino_sync::Security;
use serde::{Deserialize, Serialize};

/// One place the server may be, in the order to try them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// `provider`, `srv`, `mx` or `guess`.
    pub source: String,
    /// The provider table's key, when the candidate is a known provider's server.
    #[serde(default)]
    pub provider: Option<String>,
}

impl Candidate {
    /// A guess is untested: it is tried with Test connection before it is used.
    pub fn is_guess(&self) -> bool {
        self.source == "guess"
    }

    /// Where it was found, for the sentence under the address.
    pub fn found_in(&self, domain: &str) -> String {
        match self.source.as_str() {
            "provider" => format!("Postino knows {domain}'s mail provider"),
            "srv" => format!("{domain} publishes its POP3 server in DNS (SRV records)"),
            "mx" => format!("{domain}'s mail goes to a provider Postino knows (MX records)"),
            _ => format!("a usual name for {domain}'s server"),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    candidates: Vec<Candidate>,
}

/// The domain of `address` (after the last `@`), lower case, if it looks like one.
pub fn domain_of(address: &str) -> Option<String> {
    let (_, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let valid = domain.contains('.')
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    valid.then_some(domain)
}

/// The candidates the relay at `relay` finds for `domain`.
pub async fn find(relay: &str, domain: &str) -> Result<Vec<Candidate>, String> {
    let url = format!(
        "{}{}",
        crate::oauth::relay_base(relay),
        postino_contract::autoconfig_path(domain)
    );
    let json = crate::oauth::get_json(&url).await?;
    let answer: Answer = serde_json::from_value(json)
        .map_err(|e| format!("the relay's answer was not understood ({e})"))?;
    Ok(answer.candidates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn domains_of_addresses() {
        assert_eq!(
            domain_of("Alice@Example.ORG").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            domain_of("a@b@mail.example.org.").as_deref(),
            Some("mail.example.org")
        );
        for bad in [
            "alice",
            "alice@",
            "a@localhost",
            "a@exa mple.org",
            "a@-..org",
            "a@[127.0.0.1]",
        ] {
            assert_eq!(domain_of(bad), None, "{bad}");
        }
    }

    #[wasm_bindgen_test]
    fn the_relays_answer_is_read() {
        let json = serde_json::json!({"domain": "example.org", "candidates": [
            {"host": "pop.example.org", "port": 995, "security": "tls", "source": "srv"},
            {"host": "pop.gmx.net", "port": 995, "security": "tls", "source": "mx", "provider": "gmx"}
        ], "no_service": [], "refused": []});
        let answer: Answer = serde_json::from_value(json).unwrap();
        assert_eq!(answer.candidates.len(), 2);
        assert_eq!(answer.candidates[0].security, Security::Tls);
        assert_eq!(answer.candidates[1].provider.as_deref(), Some("gmx"));
        assert!(!answer.candidates[0].is_guess());
    }
}
