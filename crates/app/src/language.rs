//! The UI's language: the one chosen in Settings (kept in `localStorage`), else the first of the
//! browser's languages (`navigator.languages`) Postino speaks, else English. The page's
//! `<html lang>` follows it, and the engine worker gets it with each request.

use postino_i18n::Lang;

const KEY: &str = "postino.language";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The language to start in.
pub fn initial() -> Lang {
    if let Some(lang) = storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|code| Lang::parse(&code))
    {
        return lang;
    }
    let tags: Vec<String> = web_sys::window()
        .map(|w| {
            w.navigator()
                .languages()
                .iter()
                .filter_map(|t| t.as_string())
                .collect()
        })
        .unwrap_or_default();
    Lang::negotiate(&tags)
}

/// Speak `lang` from now on: the catalog and `<html lang>`.
pub fn apply(lang: Lang) {
    postino_i18n::set(lang);
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.code());
    }
}

/// The user chose `lang` in Settings: applied at once and kept for the next visits.
pub fn choose(lang: Lang) {
    apply(lang);
    if let Some(s) = storage() {
        let _ = s.set_item(KEY, lang.code());
    }
}
