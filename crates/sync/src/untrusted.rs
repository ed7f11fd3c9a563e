//! Text from a server or a sender, made safe to show or to use as a file name.
//!
//! A POP3 server writes its greeting, CAPA lines and `-ERR` text; a sender writes subjects,
//! names and attachment file names. Printed raw to a terminal, an ESC sequence can retitle the
//! window, rewrite earlier lines, hide text or plant a link (OSC 8); in a file name, a bidi
//! override shows `invoice\u{202E}fdp.exe` as `invoiceexe.pdf`, and a `/` or a leading `..`
//! leaves the folder it was meant for. Both functions here are total: any string in, a safe one
//! out, never a panic.
//!
//! - [`display_text`]: for a terminal or a label. Removes the C0 controls but tab, DEL, the C1
//!   controls (U+0080 to U+009F; U+009B is CSI to some terminals) and the bidi embeddings,
//!   overrides and isolates (U+202A to U+202E, U+2066 to U+2069), which can reorder what
//!   follows them up to the end of the line. Line breaks (CR, LF, U+2028, U+2029) become a
//!   space, so that words do not run together and a one-line message stays one line. The marks
//!   U+200E, U+200F and U+061C stay: they only place punctuation and digits next to right-to-left
//!   text, which Arabic and Hebrew subjects need, and cannot reverse letters.
//! - [`file_name`]: for a file name from a sender. Everything [`display_text`] removes, the
//!   marks and other invisible format characters too (a file name needs none, and they make two
//!   names look the same), path separators and the characters Windows refuses become `_`,
//!   leading dots and trailing dots and spaces go, a reserved Windows device name (`CON`,
//!   `nul.txt`, `COM1`) gets a `_` before it, and the name is cut to [`MAX_FILE_NAME`] bytes,
//!   keeping its extension.

use std::borrow::Cow;

/// The longest name [`file_name`] returns, in UTF-8 bytes: under the 255-byte limit of common
/// file systems, with room for a ` (2)` a caller may add to avoid overwriting a file.
pub const MAX_FILE_NAME: usize = 200;

/// The name [`file_name`] returns when nothing of the given one is left.
pub const FALLBACK_FILE_NAME: &str = "attachment";

/// An extension longer than this (in bytes) is not kept whole when a name is cut: it is more
/// likely part of the name than a type.
const MAX_EXTENSION: usize = 16;

/// `s` without terminal controls and bidi overrides (see the module documentation), borrowed
/// when there is nothing to remove.
pub fn display_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_line_break(c) || is_display_hazard(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter_map(|c| {
                if is_line_break(c) {
                    Some(' ')
                } else if is_display_hazard(c) {
                    None
                } else {
                    Some(c)
                }
            })
            .collect(),
    )
}

/// A safe file name for the sender-given `name` (see the module documentation): never empty,
/// never `.` or `..`, no path separator, at most [`MAX_FILE_NAME`] bytes.
pub fn file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter_map(|c| {
            if is_line_break(c) || c == '\t' {
                Some(' ')
            } else if is_display_hazard(c) || is_invisible_format(c) {
                None
            } else if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                Some('_')
            } else {
                Some(c)
            }
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return FALLBACK_FILE_NAME.to_owned();
    }
    let mut out = trimmed.to_owned();
    // Cut first: a cut can leave a device name (`NUL` and spaces and more).
    if out.len() > MAX_FILE_NAME {
        out = shorten(&out);
    }
    if is_reserved_device_name(&out) {
        out.insert(0, '_');
        if out.len() > MAX_FILE_NAME {
            out = shorten(&out);
        }
    }
    out
}

/// `name` cut to [`MAX_FILE_NAME`] bytes at a character boundary, its extension kept when it
/// has a short one.
fn shorten(name: &str) -> String {
    let extension = name
        .rfind('.')
        .filter(|&dot| dot > 0 && name.len() - dot <= MAX_EXTENSION + 1)
        .map_or("", |dot| &name[dot..]);
    let stem = &name[..name.len() - extension.len()];
    let stem = prefix_within(stem, MAX_FILE_NAME - extension.len());
    // The cut may leave a space or a dot at the end of the stem, which Windows drops.
    let stem = stem.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let stem = if stem.is_empty() {
        FALLBACK_FILE_NAME
    } else {
        stem
    };
    format!("{stem}{extension}")
}

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
fn prefix_within(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{2028}' | '\u{2029}')
}

/// Controls a terminal acts on, and the bidi controls that reorder text up to the line's end.
fn is_display_hazard(c: char) -> bool {
    (c.is_control() && c != '\t') // C0, DEL, C1
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: bidi marks, zero-width spaces and joiners, word joiner and
/// invisible operators, the deprecated format controls, the byte order mark, the Mongolian
/// vowel separator and the interlinear annotation controls.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM0` to `COM9`, `LPT0` to `LPT9` (and their superscript-digit
/// forms), alone or before an extension, in any case: Windows opens the device, not a file.
fn is_reserved_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let Some(rest) = upper
                .strip_prefix("COM")
                .or_else(|| upper.strip_prefix("LPT"))
            else {
                return false;
            };
            let mut chars = rest.chars();
            matches!(
                (chars.next(), chars.next()),
                (Some('0'..='9' | '¹' | '²' | '³'), None)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_escapes_and_bidi_overrides_do_not_reach_the_screen() {
        let s =
            "\x1b]0;owned\x07+OK \x1b[2J\x1b[31mred\u{9b}31m\u{202E}txt.exe\u{2066}x\u{2069}\x7f";
        assert_eq!(display_text(s), "]0;owned+OK [2J[31mred31mtxt.exex");
    }

    #[test]
    fn line_breaks_become_spaces_and_tabs_stay() {
        assert_eq!(display_text("a\r\nb\nc\u{2028}d\te"), "a  b c d\te");
    }

    #[test]
    fn plain_and_right_to_left_text_is_borrowed_unchanged() {
        for s in [
            "Hello, world",
            "Grüße",
            "שלום\u{200F}!",
            "مرحبا\u{061C}1",
            "",
        ] {
            assert!(
                matches!(display_text(s), Cow::Borrowed(b) if b == s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_bidi_override_cannot_disguise_an_extension() {
        assert_eq!(file_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(file_name("a\u{200F}\u{200B}\u{FEFF}b.pdf"), "ab.pdf");
    }

    #[test]
    fn a_name_cannot_leave_its_folder() {
        assert_eq!(
            file_name("../../.ssh/authorized_keys"),
            "_.._.ssh_authorized_keys"
        );
        assert_eq!(file_name("..\\..\\boot.ini"), "_.._boot.ini");
        assert_eq!(file_name("/etc/passwd"), "_etc_passwd");
        assert_eq!(file_name(".."), FALLBACK_FILE_NAME);
        assert_eq!(file_name(" . "), FALLBACK_FILE_NAME);
        assert_eq!(file_name(""), FALLBACK_FILE_NAME);
        assert_eq!(file_name(".bashrc"), "bashrc");
        assert_eq!(file_name("C:report.doc"), "C_report.doc");
    }

    #[test]
    fn controls_go_and_trailing_dots_and_spaces_go() {
        assert_eq!(file_name("re\x1b[31mport\x00.pdf. . "), "re[31mport.pdf");
        assert_eq!(file_name("two\nlines.txt"), "two lines.txt");
    }

    #[test]
    fn reserved_device_names_are_prefixed() {
        for name in [
            "CON",
            "con.txt",
            "Nul",
            "aux.tar.gz",
            "COM1",
            "lpt9.log",
            "com²",
        ] {
            assert_eq!(file_name(name), format!("_{name}"));
        }
        for name in ["CONSOLE.txt", "COM10", "LPT", "icon.png", "com.txt.con"] {
            assert_eq!(file_name(name), name);
        }
        // A cut that leaves a device name.
        let name = format!("NUL{}x", " ".repeat(300));
        assert_eq!(file_name(&name), "_NUL");
        let name = format!("nul.{}", "x".repeat(300));
        let safe = file_name(&name);
        assert!(
            safe.starts_with("_nul.") && safe.len() == MAX_FILE_NAME,
            "{safe}"
        );
    }

    #[test]
    fn a_long_name_is_cut_and_keeps_its_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let short = file_name(&long);
        assert!(short.len() <= MAX_FILE_NAME, "{}", short.len());
        assert!(short.ends_with("é.pdf"), "{short}");
        // An "extension" too long to be one is cut like the rest.
        let long = format!("a.{}", "b".repeat(400));
        assert_eq!(file_name(&long).len(), MAX_FILE_NAME);
        // The cut leaves no trailing dot or space before the extension.
        let long = format!("{}x.pdf", "a .".repeat(100));
        let short = file_name(&long);
        assert!(short.ends_with("a.pdf"), "{short}");
    }

    proptest! {
        #[test]
        fn display_text_leaves_no_hazard(s in any::<String>()) {
            let shown = display_text(&s);
            prop_assert!(!shown.chars().any(|c| is_display_hazard(c) || is_line_break(c)));
            // Nothing to remove: nothing changes.
            if !s.chars().any(|c| is_display_hazard(c) || is_line_break(c)) {
                prop_assert_eq!(shown.as_ref(), s.as_str());
            }
        }

        #[test]
        fn file_name_is_always_safe(s in any::<String>()) {
            let name = file_name(&s);
            prop_assert!(!name.is_empty() && name.len() <= MAX_FILE_NAME);
            prop_assert!(!name.starts_with('.') && !name.ends_with('.') && !name.ends_with(' '));
            prop_assert!(!name.chars().any(|c| c.is_control()
                || is_display_hazard(c)
                || is_invisible_format(c)
                || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')));
            prop_assert!(!is_reserved_device_name(&name));
            // Already safe: unchanged.
            prop_assert_eq!(file_name(&name), name.clone());
        }

        #[test]
        fn file_name_keeps_a_safe_name(stem in "[a-zA-Z0-9_-][a-zA-Z0-9 _-]{0,40}[a-zA-Z0-9_-]", ext in "[a-z]{1,4}") {
            let name = format!("{stem}.{ext}");
            prop_assume!(!is_reserved_device_name(&name));
            prop_assert_eq!(file_name(&name), name);
        }
    }
}
