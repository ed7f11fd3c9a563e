//! Provider presets for account setup: the server, and the switch people miss at the provider
//! (REFERENCE.md, "Providers").

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

const fn tls(
    key: &'static str,
    name: &'static str,
    host: &'static str,
    note: &'static str,
) -> Preset {
    Preset {
        key,
        name,
        host,
        port: 995,
        security: Security::Tls,
        note,
        oauth_only: false,
        oauth: None,
    }
}

pub const PRESETS: &[Preset] = &[
    Preset {
        oauth: Some("google"),
        ..tls(
            "gmail",
            "Gmail",
            "pop.gmail.com",
            "First enable POP in Gmail's settings (Forwarding and POP/IMAP). Then sign in with \
             Google, or create an app password in your Google account (2-Step Verification must \
             be on) and use it here.",
        )
    },
    Preset {
        oauth_only: true,
        oauth: Some("microsoft"),
        ..tls(
            "outlook",
            "Outlook.com / Microsoft 365",
            "outlook.office365.com",
            "Microsoft takes no password for POP: sign in with Microsoft. POP must be switched on \
             first (Outlook.com: Settings, Mail, Forwarding and IMAP, \"Let devices and apps use \
             POP\"; Microsoft 365: your administrator).",
        )
    },
    tls(
        "yahoo",
        "Yahoo / AOL",
        "pop.mail.yahoo.com",
        "Create an app password in your Yahoo account security settings and use it here.",
    ),
    tls(
        "gmx",
        "GMX",
        "pop.gmx.net",
        "First enable POP3 access in GMX's settings (E-Mail, POP3/IMAP access).",
    ),
    tls(
        "webde",
        "WEB.DE",
        "pop3.web.de",
        "First enable POP3 access in WEB.DE's settings (E-Mail, POP3/IMAP access).",
    ),
    tls(
        "fastmail",
        "Fastmail",
        "pop.fastmail.com",
        "Create an app password (Settings, Privacy & Security) and use it here.",
    ),
    tls(
        "tonline",
        "T-Online",
        "securepop.t-online.de",
        "Set an e-mail password (not your login password) in the T-Online e-mail settings.",
    ),
    tls(
        "posteo",
        "Posteo",
        "posteo.de",
        "Use your Posteo address as the user name and your account password.",
    ),
    tls(
        "mailboxorg",
        "mailbox.org",
        "pop3.mailbox.org",
        "Use your full address as the user name.",
    ),
    tls(
        "ionos",
        "IONOS (1&1)",
        "pop.ionos.de",
        "Use your full address as the user name.",
    ),
    tls(
        "orange",
        "Orange (France)",
        "pop.orange.fr",
        "Use your full Orange address as the user name.",
    ),
    tls(
        "free",
        "Free (France)",
        "pop.free.fr",
        "Enable external access in your Free mail settings first.",
    ),
    tls(
        "libero",
        "Libero (Italy)",
        "popmail.libero.it",
        "Use your full address as the user name.",
    ),
];

pub fn find(key: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.key == key)
}

/// Mail domains of providers whose servers always present a publicly trusted certificate.
const PROVIDER_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "google.com",
    "outlook.com",
    "office365.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "microsoft.com",
    "yahoo.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "gmx.net",
    "gmx.de",
    "gmx.com",
    "web.de",
    "fastmail.com",
    "t-online.de",
    "posteo.de",
    "mailbox.org",
    "ionos.de",
    "ionos.com",
    "1und1.de",
    "orange.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "libero.it",
    "virgilio.it",
    "tiscali.it",
    "aruba.it",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "proton.me",
    "comcast.net",
];

/// Whether `host` belongs to a preset or a well-known provider. A certificate for such a host
/// that does not verify is never the user's own self-signed one: someone in between presents
/// it, and the relay is exactly who could (DESIGN.md invariant 9). So pinning is never offered.
pub fn is_well_known_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    PRESETS.iter().any(|p| p.host == host)
        || PROVIDER_DOMAINS
            .iter()
            .any(|d| host == *d || host.strip_suffix(d).is_some_and(|h| h.ends_with('.')))
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
