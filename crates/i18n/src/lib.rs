//! Every sentence Postino shows, in English, Italian, German, French and Spanish.
//!
//! The catalog is Rust: [`Strings`] (the page's) and [`EngineStrings`] (the engine worker's,
//! apart so that each bundle links only its own) have one field per sentence, and each language
//! is one `const` value of each (`en::EN`, `it::IT`, ..., `it::IT_ENGINE`, ...). A sentence
//! missing in a language is a missing field, so the build fails; an empty one, or one whose
//! placeholders differ from the English, fails `cargo test -p postino-i18n`. Nothing is parsed
//! or loaded at run time: the page and the engine worker each link only the text they use.
//!
//! - Placeholders are names in braces (`{name}`, `{host}`), put in with [`fill`].
//! - A sentence that depends on a number is a [`Plural`]: `one` and `other`, chosen by the
//!   language's rule ([`Lang::is_one`]), with the number as `{n}`.
//! - The language in use is one per thread (the page, the worker): [`set`], [`t`] and [`te`].
//!
//! To add a sentence: a field in `en.rs` with its English text, then the same field in every
//! other language's file (the compiler lists the ones missing). To add a language: a variant of
//! [`Lang`] with its code and name, and a file like `it.rs` with a full [`Strings`] and
//! [`EngineStrings`] value, named in [`Lang::strings`] and [`Lang::engine_strings`].
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt::Display;

mod de;
mod en;
mod es;
mod fr;
mod it;

pub use en::{EngineStrings, Strings};

/// A sentence that depends on a number `{n}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plural {
    pub one: &'static str,
    pub other: &'static str,
}

/// A [`Plural`] in a catalog.
pub const fn p(one: &'static str, other: &'static str) -> Plural {
    Plural { one, other }
}

/// The languages of the UI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    It,
    De,
    Fr,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::En, Lang::It, Lang::De, Lang::Fr, Lang::Es];

    /// The BCP 47 tag: `<html lang>`, `Intl`, and the value kept in settings.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::It => "it",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// The language's own name for itself, as a language menu shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::It => "Italiano",
            Lang::De => "Deutsch",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    /// The language of a tag by its primary subtag (`it-IT`, `de`, `fr-CA`), if supported.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The first supported language among the user's, in their order (`navigator.languages`);
    /// English when none is.
    pub fn negotiate<S: AsRef<str>>(tags: &[S]) -> Lang {
        tags.iter()
            .find_map(|t| Lang::parse(t.as_ref()))
            .unwrap_or_default()
    }

    /// The page's sentences.
    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &en::EN,
            Lang::It => &it::IT,
            Lang::De => &de::DE,
            Lang::Fr => &fr::FR,
            Lang::Es => &es::ES,
        }
    }

    /// The engine worker's sentences.
    pub fn engine_strings(self) -> &'static EngineStrings {
        match self {
            Lang::En => &en::EN_ENGINE,
            Lang::It => &it::IT_ENGINE,
            Lang::De => &de::DE_ENGINE,
            Lang::Fr => &fr::FR_ENGINE,
            Lang::Es => &es::ES_ENGINE,
        }
    }

    /// Whether `n` takes the singular (CLDR: French counts 0 and 1 as one; the others 1 alone).
    pub fn is_one(self, n: u64) -> bool {
        match self {
            Lang::Fr => n <= 1,
            _ => n == 1,
        }
    }

    /// The decimal separator.
    pub fn decimal(self) -> char {
        match self {
            Lang::En => '.',
            _ => ',',
        }
    }

    /// A size for people with the language's decimal separator and units, by the rules of
    /// `postino_sync::summary::format_size` (decimal units): `812 B`, `14 KB`, `3,2 MB`,
    /// `45 MB`; French counts octets (`3,2 Mo`).
    pub fn format_size(self, bytes: u64) -> String {
        let (b, kb, mb) = match self {
            Lang::Fr => ("o", "ko", "Mo"),
            _ => ("B", "KB", "MB"),
        };
        if bytes < 1_000 {
            format!("{bytes} {b}")
        } else if bytes < 999_500 {
            format!("{} {kb}", (bytes + 500) / 1_000)
        } else if bytes < 9_950_000 {
            let tenths = (bytes + 50_000) / 100_000;
            format!("{}{}{} {mb}", tenths / 10, self.decimal(), tenths % 10)
        } else {
            format!("{} {mb}", (bytes + 500_000) / 1_000_000)
        }
    }
}

thread_local! {
    static LANG: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// The language this thread (the page, or the engine worker) speaks from now on.
pub fn set(lang: Lang) {
    LANG.with(|l| l.set(lang));
}

/// The language in use.
pub fn lang() -> Lang {
    LANG.with(Cell::get)
}

/// The page's sentences in the language in use.
pub fn t() -> &'static Strings {
    lang().strings()
}

/// The engine worker's sentences in the language in use.
pub fn te() -> &'static EngineStrings {
    lang().engine_strings()
}

/// `template` with each `{name}` replaced by the value of `name` in `args`; a name not in
/// `args` stays as it is.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, args.iter().find(|(k, _)| *k == &after[..close])?)))
        {
            Some((close, (_, value))) => {
                out.push_str(&value.to_string());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Plural {
    /// The form for `n` in `lang`.
    pub fn form(&self, lang: Lang, n: u64) -> &'static str {
        if lang.is_one(n) {
            self.one
        } else {
            self.other
        }
    }

    /// The form for `n` in the language in use, with `{n}` and `args` put in.
    pub fn fill(&self, n: u64, args: &[(&str, &dyn Display)]) -> String {
        let mut all: Vec<(&str, &dyn Display)> = vec![("n", &n)];
        all.extend_from_slice(args);
        fill(self.form(lang(), n), &all)
    }
}

/// The hint shown for provider `key` (a key of `postino_providers`), in the language in use;
/// `None` for a provider this catalog does not know (the table's English note is shown).
pub fn provider_note(key: &str) -> Option<&'static str> {
    t().provider_notes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
}

/// The sentence for a relay close `code` (`postino_contract::CLOSE_CODES`), with `{reason}`,
/// `{dest}` and `{code}` to fill; `None` for a code that is not a refusal the user sees.
pub fn close_sentence(code: u16) -> Option<&'static str> {
    let t = te();
    Some(match code {
        4401 => t.close_token,
        4403 => t.close_forbidden,
        4429 => t.close_limit,
        4502 => t.close_connect_failed,
        4504 => t.close_connect_timeout,
        4000..=4999 => t.close_other,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
