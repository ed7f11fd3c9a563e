//! Provider presets for account setup: the server, and the switch people miss at the provider
//! (REFERENCE.md, "Providers"), from the one provider table of `postino_providers`.

use postino_sync::Security;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    /// The value of the preset `<select>`.
    pub key: &'static str,
    pub name: &'static str,
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
    /// What to do at the provider first, shown at setup.
    pub note: &'static str,
    /// The provider takes no password for POP (Microsoft): only "Sign in with ...".
    pub oauth_only: bool,
    /// The name of the relay's OAuth provider that signs in to this one (`GET /v1/oauth/providers`),
    /// offered first at setup when the relay has it.
    pub oauth: Option<&'static str>,
}

/// A provider of the table as a preset: the same server, note and OAuth fields.
const fn preset(p: &postino_providers::Provider) -> Preset {
    Preset {
        key: p.key,
        name: p.name,
        host: p.host,
        port: p.port,
        security: match p.security {
            postino_providers::Security::Tls => Security::Tls,
            postino_providers::Security::Stls => Security::Stls,
        },
        note: p.note,
        oauth_only: p.oauth_only,
        oauth: p.oauth,
    }
}

/// The presets: every provider of `postino_providers`, in its order.
pub const PRESETS: &[Preset] = &{
    const N: usize = postino_providers::PROVIDERS.len();
    let mut presets = [preset(&postino_providers::PROVIDERS[0]); N];
    let mut i = 1;
    while i < N {
        presets[i] = preset(&postino_providers::PROVIDERS[i]);
        i += 1;
    }
    presets
};

pub fn find(key: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.key == key)
}

/// Whether `host` belongs to a preset or a well-known provider. A certificate for such a host
/// that does not verify is never the user's own self-signed one: someone in between presents
/// it, and the relay is exactly who could (DESIGN.md invariant 9). So pinning is never offered.
pub fn is_well_known_host(host: &str) -> bool {
    postino_providers::is_well_known_host(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_the_switch_people_miss() {
        let gmail = find("gmail").unwrap();
        assert_eq!((gmail.host, gmail.port), ("pop.gmail.com", 995));
        assert!(gmail.note.contains("enable POP") && gmail.note.contains("app password"));
        let outlook = find("outlook").unwrap();
        assert!(outlook.oauth_only && outlook.oauth == Some("microsoft"));
        assert!(outlook.note.contains("Let devices and apps use POP"));
        assert_eq!(find("webde").unwrap().host, "pop3.web.de");
        let mut keys: Vec<_> = PRESETS.iter().map(|p| p.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), PRESETS.len());
    }

    #[test]
    fn well_known_hosts_are_recognised_by_name_and_domain() {
        for host in [
            "pop.gmail.com",
            "POP.GMAIL.COM.",
            "outlook.office365.com",
            "pop3.web.de",
            "securepop.t-online.de",
            "pop.mail.yahoo.com",
        ] {
            assert!(is_well_known_host(host), "{host}");
        }
        for host in [
            "mail.example.org",
            "notgmail.com",
            "gmail.com.evil.org",
            "127.0.0.1",
        ] {
            assert!(!is_well_known_host(host), "{host}");
        }
    }
}
