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
    /// Postino cannot log in to this provider yet.
    pub unsupported: bool,
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
        unsupported: false,
    }
}

pub const PRESETS: &[Preset] = &[
    tls(
        "gmail",
        "Gmail",
        "pop.gmail.com",
        "First enable POP in Gmail's settings (Forwarding and POP/IMAP), then create an app \
         password in your Google account (2-Step Verification must be on) and use it here.",
    ),
    Preset {
        unsupported: true,
        ..tls(
            "outlook",
            "Outlook.com / Microsoft 365",
            "outlook.office365.com",
            "Microsoft allows only OAuth2 sign-in for POP, which Postino does not support yet. \
             POP must also be switched on (\"Let devices and apps use POP\").",
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn presets_name_the_switch_people_miss() {
        let gmail = find("gmail").unwrap();
        assert_eq!((gmail.host, gmail.port), ("pop.gmail.com", 995));
        assert!(gmail.note.contains("enable POP") && gmail.note.contains("app password"));
        assert!(find("outlook").unwrap().unsupported);
        assert_eq!(find("webde").unwrap().host, "pop3.web.de");
        let mut keys: Vec<_> = PRESETS.iter().map(|p| p.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), PRESETS.len());
    }
}
