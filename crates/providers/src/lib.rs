//! The mail providers Postino knows (REFERENCE.md, "Providers"): for each one, the domains of
//! the addresses it serves, its POP3 server, the MX hosts that identify it when the address is
//! on the user's own domain, and the switch people miss at the provider. One table, used by the
//! app's account setup (through `postino_engine::presets`) and by the relay's autoconfig
//! (`GET /v1/autoconfig/{domain}`), so the two never disagree.
//!
//! Each entry names its source. An entry is in the table only when its server was checked
//! against the provider's own help page, or was already in REFERENCE.md; providers whose POP3
//! server could not be checked are left out rather than guessed (autoconfig's DNS lookups and
//! guesses still find many of them).
//!
//! No dependencies, so that the wasm app and the native relay both use it.
#![forbid(unsafe_code)]

/// How the connection to the provider's POP3 server is protected. The same names as
/// `postino_pop3::Security` (`"tls"`, `"stls"`), which this crate does not depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (RFC 8314), port 995.
    Tls,
    /// STLS on port 110 (RFC 2595).
    Stls,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Stls => "stls",
        }
    }
}

/// One provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provider {
    /// A stable identifier (the app's preset `<select>` value).
    pub key: &'static str,
    /// The name shown to the user.
    pub name: &'static str,
    /// The domains of the addresses the provider serves (`user@gmail.com`): lower case.
    pub domains: &'static [&'static str],
    /// The POP3 server.
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
    /// Suffixes of MX host names that are the provider's own (`google.com` for
    /// `aspmx.l.google.com`): a domain whose MX points there keeps its mail at the provider.
    pub mx_suffixes: &'static [&'static str],
    /// What to do at the provider first (the switch people miss), one or two English sentences.
    pub note: &'static str,
    /// The provider takes no password for POP (Microsoft): only "Sign in with ...".
    pub oauth_only: bool,
    /// The name of the relay's OAuth provider that signs in to this one
    /// (`GET /v1/oauth/providers`), offered first at setup when the relay has it.
    pub oauth: Option<&'static str>,
}

/// An entry on port 995 with TLS, without OAuth; the rest filled in per entry.
const fn tls(
    key: &'static str,
    name: &'static str,
    host: &'static str,
    note: &'static str,
) -> Provider {
    Provider {
        key,
        name,
        domains: &[],
        host,
        port: 995,
        security: Security::Tls,
        mx_suffixes: &[],
        note,
        oauth_only: false,
        oauth: None,
    }
}

pub const PROVIDERS: &[Provider] = &[
    // Google's help page was not in the search corpus; pop.gmail.com:995 with SSL, POP
    // enabled in "Forwarding and POP/IMAP", app passwords and XOAUTH2 are REFERENCE.md's.
    Provider {
        domains: &["gmail.com", "googlemail.com"],
        mx_suffixes: &["google.com", "googlemail.com"],
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
    // https://support.microsoft.com/en-us/office/pop-imap-and-smtp-settings-8361e398-8af4-4e97-b147-6c6c4ac95353
    // POP server outlook.office365.com, port 995, SSL/TLS, OAuth2/Modern Auth; "POP & IMAP
    // access is disabled by default": Settings, Mail, Forwarding and IMAP, "Let devices and
    // apps use POP". Microsoft 365 tenants' MX hosts are under mail.protection.outlook.com.
    Provider {
        domains: &[
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "outlook.it",
            "hotmail.it",
            "live.it",
            "outlook.de",
            "hotmail.de",
            "live.de",
            "outlook.fr",
            "hotmail.fr",
            "live.fr",
            "outlook.es",
            "hotmail.es",
            "live.com.es",
        ],
        mx_suffixes: &["protection.outlook.com"],
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
    // REFERENCE.md: pop.mail.yahoo.com:995, app password. Not re-checked (no Yahoo help page
    // in the search corpus); AOL's own server is not this one, so aol.com is not listed.
    Provider {
        domains: &[
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            "yahoo.it",
            "yahoo.de",
            "yahoo.fr",
            "yahoo.es",
        ],
        mx_suffixes: &["yahoodns.net"],
        ..tls(
            "yahoo",
            "Yahoo / AOL",
            "pop.mail.yahoo.com",
            "Create an app password in your Yahoo account security settings and use it here.",
        )
    },
    // REFERENCE.md: pop.gmx.net:995, POP off by default. GMX's own page confirms that POP3,
    // IMAP and SMTP are switched off by default and must be enabled in the e-mail settings:
    // https://www.gmx.net/mail/tipps/posts/pop3-imap/36/ . gmx.com (GMX international) has
    // its own server and is not listed.
    Provider {
        domains: &["gmx.net", "gmx.de", "gmx.at", "gmx.ch"],
        mx_suffixes: &["gmx.net"],
        ..tls(
            "gmx",
            "GMX",
            "pop.gmx.net",
            "First enable POP3 access in GMX's settings (E-Mail, POP3/IMAP access).",
        )
    },
    // REFERENCE.md: pop3.web.de:995, POP off by default.
    Provider {
        domains: &["web.de"],
        mx_suffixes: &["web.de"],
        ..tls(
            "webde",
            "WEB.DE",
            "pop3.web.de",
            "First enable POP3 access in WEB.DE's settings (E-Mail, POP3/IMAP access).",
        )
    },
    // REFERENCE.md: pop.fastmail.com:995, app password. Fastmail's MX hosts are under
    // messagingengine.com.
    Provider {
        domains: &["fastmail.com", "fastmail.fm"],
        mx_suffixes: &["messagingengine.com"],
        ..tls(
            "fastmail",
            "Fastmail",
            "pop.fastmail.com",
            "Create an app password (Settings, Privacy & Security) and use it here.",
        )
    },
    // Telekom's help confirms POP3 for @t-online.de mailboxes:
    // https://www.telekom.de/hilfe/festnetz-internet-tv/e-mail/e-mail-server-e-mail-protokolle-und-e-mail-einrichtung/pop3-und-smtp/unterschied-imap4-pop3
    // The server securepop.t-online.de (SSL only since March 2014) is from Telekom's
    // announcement as reported by dpa (wz.de), not from a Telekom page in the corpus.
    Provider {
        domains: &["t-online.de"],
        mx_suffixes: &["t-online.de"],
        ..tls(
            "tonline",
            "T-Online",
            "securepop.t-online.de",
            "Set an e-mail password (not your login password) in the T-Online e-mail settings.",
        )
    },
    // Kept from the earlier presets; not re-checked (no Posteo page in the corpus).
    Provider {
        domains: &["posteo.de", "posteo.net"],
        mx_suffixes: &["posteo.de"],
        ..tls(
            "posteo",
            "Posteo",
            "posteo.de",
            "Use your Posteo address as the user name and your account password.",
        )
    },
    // https://kb.mailbox.org/en/business/e-mail/e-mail-configuration/
    // "POP3 | pop3.mailbox.org | 995 | SSL/TLS", the main address as the user name, an
    // application password when two-factor authentication is on.
    Provider {
        domains: &["mailbox.org"],
        mx_suffixes: &["mailbox.org"],
        ..tls(
            "mailboxorg",
            "mailbox.org",
            "pop3.mailbox.org",
            "Use your full address as the user name.",
        )
    },
    // Kept from the earlier presets; not re-checked. IONOS hosts mail for its customers'
    // own domains, whose MX hosts are under ionos.de or (older contracts) kundenserver.de.
    Provider {
        mx_suffixes: &["ionos.de", "kundenserver.de"],
        ..tls(
            "ionos",
            "IONOS (1&1)",
            "pop.ionos.de",
            "Use your full address as the user name.",
        )
    },
    // Kept from the earlier presets; not re-checked (Orange's assistance pages in the corpus
    // do not give the POP server).
    Provider {
        domains: &["orange.fr", "wanadoo.fr"],
        mx_suffixes: &["orange.fr"],
        ..tls(
            "orange",
            "Orange (France)",
            "pop.orange.fr",
            "Use your full Orange address as the user name.",
        )
    },
    // Kept from the earlier presets; not re-checked (no assistance.free.fr page in the corpus).
    Provider {
        domains: &["free.fr"],
        mx_suffixes: &["free.fr"],
        ..tls(
            "free",
            "Free (France)",
            "pop.free.fr",
            "Enable external access in your Free mail settings first.",
        )
    },
    // Kept from the earlier presets: popmail.libero.it, port 995, SSL/TLS. Libero's own
    // help page was not in the corpus; iol.it and inwind.it are Libero's older domains on the
    // same server.
    Provider {
        domains: &["libero.it", "iol.it", "inwind.it"],
        mx_suffixes: &["libero.it"],
        ..tls(
            "libero",
            "Libero (Italy)",
            "popmail.libero.it",
            "Use your full address as the user name.",
        )
    },
    // https://guide.hosting.aruba.it/email/configurazione-email-pc-dispositivi-mobili/configurazione-casella-dominio-pc-mac-pop.aspx
    // "Posta in arrivo (POP3): pop3s.aruba.it", "Usa SSL: Attiva", "Porta Server: 995", the
    // full address as the account name. Aruba hosts mail for its customers' own domains
    // (no shared address domain), found by their MX hosts under aruba.it.
    Provider {
        mx_suffixes: &["aruba.it"],
        ..tls(
            "aruba",
            "Aruba (Italy)",
            "pop3s.aruba.it",
            "Use your full address as the user name and your mailbox password.",
        )
    },
];

/// Domains of other well-known providers (not in [`PROVIDERS`]) whose servers always present
/// a publicly trusted certificate: see [`is_well_known_host`].
const OTHER_WELL_KNOWN_DOMAINS: &[&str] = &[
    "office365.com",
    "microsoft.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "gmx.com",
    "ionos.com",
    "1und1.de",
    "sfr.fr",
    "laposte.net",
    "virgilio.it",
    "tiscali.it",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "proton.me",
    "comcast.net",
];

/// The provider with this key.
pub fn by_key(key: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.key == key)
}

/// The provider serving addresses at `domain` (`gmail.com`), case and a final dot ignored.
pub fn by_domain(domain: &str) -> Option<&'static Provider> {
    let domain = normalize(domain);
    PROVIDERS
        .iter()
        .find(|p| p.domains.iter().any(|d| *d == domain))
}

/// The provider whose MX hosts `mx` belongs to: `mx` is one of its suffixes or a name under
/// one (`alt1.aspmx.l.google.com`), never merely ending in the same letters
/// (`notgoogle.com`).
pub fn by_mx_host(mx: &str) -> Option<&'static Provider> {
    let mx = normalize(mx);
    PROVIDERS
        .iter()
        .find(|p| p.mx_suffixes.iter().any(|s| is_at_or_under(&mx, s)))
}

/// Whether `host` belongs to a provider of the table or another well-known provider. A
/// certificate for such a host that does not verify is never the user's own self-signed one:
/// someone in between presents it, and a relay is exactly who could (DESIGN.md invariant 9).
pub fn is_well_known_host(host: &str) -> bool {
    let host = normalize(host);
    PROVIDERS.iter().any(|p| {
        p.host == host
            || p.domains.iter().any(|d| is_at_or_under(&host, d))
            || p.mx_suffixes.iter().any(|s| is_at_or_under(&host, s))
    }) || OTHER_WELL_KNOWN_DOMAINS
        .iter()
        .any(|d| is_at_or_under(&host, d))
}

/// `name` is `domain` or a name under it (label boundary).
fn is_at_or_under(name: &str, domain: &str) -> bool {
    name == domain
        || name
            .strip_suffix(domain)
            .is_some_and(|head| head.ends_with('.'))
}

fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_entries_complete() {
        let mut keys: Vec<_> = PROVIDERS.iter().map(|p| p.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), PROVIDERS.len());
        for p in PROVIDERS {
            assert!(!p.note.is_empty() && !p.host.is_empty(), "{}", p.key);
            assert!(
                !p.domains.is_empty() || !p.mx_suffixes.is_empty(),
                "{} can be found neither by domain nor by MX",
                p.key
            );
            assert_eq!(
                p.port,
                match p.security {
                    Security::Tls => 995,
                    Security::Stls => 110,
                },
                "{}",
                p.key
            );
            for d in p.domains.iter().chain(p.mx_suffixes) {
                assert_eq!(*d, d.to_ascii_lowercase(), "{}", p.key);
            }
        }
    }

    #[test]
    fn no_domain_belongs_to_two_providers() {
        let mut all: Vec<&str> = PROVIDERS
            .iter()
            .flat_map(|p| p.domains.iter().copied())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn providers_are_found_by_address_domain() {
        assert_eq!(by_domain("GMAIL.com.").unwrap().key, "gmail");
        assert_eq!(by_domain("hotmail.it").unwrap().key, "outlook");
        assert_eq!(by_domain("iol.it").unwrap().host, "popmail.libero.it");
        assert!(by_domain("example.org").is_none());
        assert!(
            by_domain("mail.gmail.com").is_none(),
            "an address domain, not a suffix"
        );
    }

    #[test]
    fn providers_are_found_by_mx_host_on_a_label_boundary() {
        assert_eq!(by_mx_host("alt1.aspmx.l.google.com.").unwrap().key, "gmail");
        assert_eq!(
            by_mx_host("example-org.mail.protection.outlook.com")
                .unwrap()
                .key,
            "outlook"
        );
        assert_eq!(by_mx_host("mx.aruba.it").unwrap().host, "pop3s.aruba.it");
        assert_eq!(
            by_mx_host("in1-smtp.messagingengine.com").unwrap().key,
            "fastmail"
        );
        assert!(by_mx_host("notgoogle.com").is_none());
        assert!(by_mx_host("google.com.evil.example").is_none());
        assert!(by_mx_host("mx.example.org").is_none());
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
            "pop3s.aruba.it",
            "pop.tiscali.it",
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
