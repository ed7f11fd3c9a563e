use std::collections::BTreeSet;

use super::*;

/// The `{name}`s of a text.
fn placeholders(text: &str) -> BTreeSet<&str> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find('}') {
            names.insert(&rest[..close]);
            rest = &rest[close + 1..];
        }
    }
    names
}

/// Every text of `lang`, the page's and the engine's.
fn entries(lang: Lang) -> Vec<(String, &'static str)> {
    let mut all = lang.strings().entries();
    let engine = lang.engine_strings().entries();
    all.extend(engine.into_iter().map(|(k, v)| (format!("engine.{k}"), v)));
    all
}

#[test]
fn no_text_is_missing_or_empty_in_any_language() {
    let english: Vec<String> = entries(Lang::En).into_iter().map(|(k, _)| k).collect();
    for lang in Lang::ALL {
        let entries = entries(lang);
        let keys: Vec<&String> = entries.iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            english.iter().collect::<Vec<_>>(),
            "{lang:?}: keys differ"
        );
        for (key, text) in &entries {
            assert!(!text.trim().is_empty(), "{lang:?}: {key} is empty");
        }
    }
}

#[test]
fn placeholders_are_the_same_in_every_language() {
    let english = entries(Lang::En);
    for lang in Lang::ALL {
        for ((key, en), (_, text)) in english.iter().zip(entries(lang)) {
            let (mut want, mut got) = (placeholders(en), placeholders(text));
            // A singular may say "one" in words ("un messaggio") instead of `{n}`.
            if key.ends_with(".one") {
                want.remove("n");
                got.remove("n");
            }
            assert_eq!(got, want, "{lang:?}: {key}: {text}");
        }
    }
}

#[test]
fn every_provider_has_its_hint_in_every_language() {
    for lang in Lang::ALL {
        set(lang);
        for p in postino_providers::PROVIDERS {
            assert!(
                provider_note(p.key).is_some(),
                "{lang:?}: no hint for {}",
                p.key
            );
        }
    }
    set(Lang::En);
    for p in postino_providers::PROVIDERS {
        assert_eq!(
            provider_note(p.key),
            Some(p.note),
            "the English hint of {} is the table's",
            p.key
        );
    }
}

#[test]
fn plural_rules() {
    let one = |l: Lang| (0..=3).map(|n| l.is_one(n)).collect::<Vec<_>>();
    for l in [Lang::En, Lang::It, Lang::De, Lang::Es] {
        assert_eq!(one(l), [false, true, false, false], "{l:?}");
    }
    assert_eq!(one(Lang::Fr), [true, true, false, false]);
    set(Lang::Fr);
    assert_eq!(
        t().new_mail.fill(0, &[("name", &"a")]),
        "0 nouveau message pour a."
    );
    set(Lang::It);
    assert_eq!(t().attachments_count.fill(2, &[]), "2 allegati");
    assert_eq!(t().attachments_count.fill(1, &[]), "1 allegato");
    set(Lang::En);
    assert_eq!(
        t().new_mail.fill(0, &[("name", &"a")]),
        "0 new messages for a."
    );
}

#[test]
fn fill_puts_in_the_named_values_and_leaves_the_rest() {
    assert_eq!(
        fill("{a} and {b}, {c} {", &[("a", &1), ("b", &"two")]),
        "1 and two, {c} {"
    );
    assert_eq!(fill("no braces", &[]), "no braces");
    assert_eq!(
        fill("{host}:{port}", &[("host", &"h"), ("port", &995)]),
        "h:995"
    );
}

#[test]
fn languages_are_chosen_by_primary_subtag_in_the_users_order() {
    assert_eq!(Lang::negotiate(&["it-IT", "en-US"]), Lang::It);
    assert_eq!(Lang::negotiate(&["pt-BR", "de-AT", "fr"]), Lang::De);
    assert_eq!(Lang::negotiate(&["ja", "zh-CN"]), Lang::En);
    assert_eq!(Lang::negotiate::<&str>(&[]), Lang::En);
    assert_eq!(Lang::parse("ES_es"), Some(Lang::Es));
    for l in Lang::ALL {
        assert_eq!(Lang::parse(l.code()), Some(l));
    }
}

#[test]
fn sizes_follow_the_english_rules_with_the_languages_separator() {
    let cases = [
        (812, "812 B"),
        (14_400, "14 KB"),
        (3_240_000, "3.2 MB"),
        (45_000_000, "45 MB"),
    ];
    for (bytes, en) in cases {
        assert_eq!(Lang::En.format_size(bytes), en);
    }
    assert_eq!(Lang::It.format_size(3_240_000), "3,2 MB");
    assert_eq!(Lang::De.format_size(999_999), "1,0 MB");
    assert_eq!(Lang::Fr.format_size(3_240_000), "3,2 Mo");
    assert_eq!(Lang::Fr.format_size(512), "512 o");
    assert_eq!(Lang::Es.format_size(9_960_000), "10 MB");
}

#[test]
fn every_relay_refusal_has_its_sentence_with_the_contracts_placeholders() {
    for lang in Lang::ALL {
        set(lang);
        for c in postino_contract::CLOSE_CODES {
            let ours = close_sentence(c.code);
            assert_eq!(ours.is_some(), c.sentence.is_some(), "{lang:?}: {}", c.code);
            if let (Some(ours), Some(theirs)) = (ours, c.sentence) {
                assert_eq!(
                    placeholders(ours),
                    placeholders(theirs),
                    "{lang:?}: {}",
                    c.code
                );
            }
        }
        assert!(close_sentence(4999).is_some() && close_sentence(1006).is_none());
    }
    set(Lang::En);
    for c in postino_contract::CLOSE_CODES {
        assert_eq!(
            close_sentence(c.code),
            c.sentence,
            "the English of {} is the contract's",
            c.code
        );
    }
    assert_eq!(te().close_other, postino_contract::OTHER_RELAY_SENTENCE);
    assert_eq!(te().no_reason, postino_contract::NO_REASON);
}

#[test]
fn sentences_in_both_catalogs_are_the_same() {
    for lang in Lang::ALL {
        let (page, engine) = (lang.strings(), lang.engine_strings());
        assert_eq!(page.count_messages, engine.count_messages, "{lang:?}");
        assert_eq!(
            page.storage_open_failed, engine.storage_open_failed,
            "{lang:?}"
        );
        assert_eq!(
            page.not_logged_in_because, engine.not_logged_in_because,
            "{lang:?}"
        );
    }
}
