//! Golden files: each `tests/golden/NAME.html` is sanitised (remote content blocked, one inline
//! part `logo@x`) and compared with `NAME.expected.html`: the blocked count, then the body. The
//! hostile corpus `tests/fixtures/html/*.eml` (the e2e test's messages) is parsed with
//! mail-parser and compared with `tests/golden/hostile/NAME.expected.html`, and held to what
//! `tests/e2e/hostile.test.mjs` checks in the browser: no script, nothing remote while blocked.
//!
//! A mismatch writes `NAME.failed.html` beside the expected file, to diff. To accept new
//! output, run with `POSTINO_BLESS=1` and review the diff.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use mail_parser::MimeHeaders;
use postino_html::{audit, clean, render, sanitize_body};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/html")
}

/// Compares `actual` with the expected file, collecting a mismatch in `failures`.
fn compare(expected: &Path, actual: &str, failures: &mut Vec<String>) {
    let failed = expected.with_extension("failed.html");
    if std::env::var_os("POSTINO_BLESS").is_some() {
        fs::write(expected, actual).unwrap();
    }
    match fs::read_to_string(expected) {
        Ok(text) if text == actual => {
            let _ = fs::remove_file(&failed);
        }
        _ => {
            fs::write(&failed, actual).unwrap();
            failures.push(format!("{} (see {})", expected.display(), failed.display()));
        }
    }
}

/// The body as the frame reads it (after the fixed head, in the body) sanitises to itself: the
/// tree the frame builds from the output is the tree that was checked.
fn fixed_point(
    body: &str,
    inline: &HashMap<String, String>,
    allow_remote: bool,
) -> Result<(), String> {
    let frame =
        postino_html::parse::document(&format!("<!DOCTYPE html><html><head></head><body>{body}"));
    let again = sanitize_body(&frame, inline, allow_remote).document;
    if again == body {
        Ok(())
    } else {
        Err(format!(
            "not a fixed point:\n{body}\n--- read again and sanitised:\n{again}"
        ))
    }
}

fn sorted(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(suffix)
                && !name.ends_with(".expected.html")
                && !name.ends_with(".failed.html")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn html_goldens() {
    let inline = HashMap::from([(
        "logo@x".to_string(),
        "data:image/png;base64,iVBORw0KGgo=".to_string(),
    )]);
    let mut failures = Vec::new();
    let inputs = sorted(&golden_dir(), ".html");
    assert!(inputs.len() >= 5, "golden inputs missing");
    for input in inputs {
        let html = fs::read_to_string(&input).unwrap();
        let safe = clean(&html, &inline, false);
        let document = render(&html, &inline, false).document;
        if let Err(v) = audit(&document, false) {
            failures.push(format!("{}: {v}", input.display()));
        }
        if let Err(v) = fixed_point(&safe.document, &inline, false) {
            failures.push(format!("{}: {v}", input.display()));
        }
        let actual = format!("<!-- blocked: {} -->\n{}\n", safe.blocked, safe.document);
        compare(
            &input.with_extension("expected.html"),
            &actual,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

/// A hostile message: its HTML body, its inline images, its marker word.
struct Hostile {
    name: String,
    html: String,
    inline: HashMap<String, String>,
    marker: String,
}

fn hostile_corpus() -> Vec<Hostile> {
    sorted(&corpus_dir(), ".eml")
        .into_iter()
        .map(|path| {
            let raw = fs::read(&path).unwrap();
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let html = message.body_html(0).unwrap().into_owned();
            let inline = message
                .parts
                .iter()
                .filter_map(|p| {
                    let id = p.content_id()?.to_string();
                    let data = base64::engine::general_purpose::STANDARD.encode(p.contents());
                    Some((id, format!("data:image/png;base64,{data}")))
                })
                .collect();
            let marker = html
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .find(|w| w.starts_with("marker-"))
                .unwrap()
                .to_string();
            Hostile {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                html,
                inline,
                marker,
            }
        })
        .collect()
}

#[test]
fn hostile_corpus_runs_natively() {
    let corpus = hostile_corpus();
    assert_eq!(corpus.len(), 9, "tests/fixtures/html holds nine messages");
    let mut failures = Vec::new();
    for message in &corpus {
        let safe = render(&message.html, &message.inline, false);
        let doc = &safe.document;
        if let Err(v) = audit(doc, false) {
            failures.push(format!("{}: {v}", message.name));
        }
        assert!(
            doc.contains(&message.marker),
            "{}: marker missing\n{doc}",
            message.name
        );
        // The audit found no remote URL in an attribute or in CSS (a payload may remain as
        // text, escaped: `<scr<script>ipt>` in h01).
        let lower = doc.to_lowercase();
        for bad in [
            "<script",
            "<iframe",
            "<form",
            "<svg",
            "<math",
            "<object",
            "<embed",
            "<link",
            "<meta http-equiv=\"refresh",
        ] {
            let body = &lower[lower.find("<body>").unwrap()..];
            assert!(!body.contains(bad), "{}: {bad:?} in\n{doc}", message.name);
        }
        let allowed = render(&message.html, &message.inline, true);
        if let Err(v) = audit(&allowed.document, true) {
            failures.push(format!("{} (remote allowed): {v}", message.name));
        }
        assert_eq!(allowed.blocked, 0, "{}", message.name);
        for (safe, allow) in [(&safe, false), (&allowed, true)] {
            let body = &safe.document[safe.document.find("<body>").unwrap() + 6..];
            let body = body.strip_suffix("</body></html>").unwrap();
            if let Err(v) = fixed_point(body, &message.inline, allow) {
                failures.push(format!("{} (remote allowed: {allow}): {v}", message.name));
            }
        }
        let body = &safe.document[safe.document.find("<body>").unwrap() + 6..];
        let actual = format!(
            "<!-- blocked: {} -->\n{}\n",
            safe.blocked,
            body.strip_suffix("</body></html>").unwrap()
        );
        compare(
            &golden_dir()
                .join("hostile")
                .join(format!("{}.expected.html", message.name)),
            &actual,
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // What the e2e test's last step counts in the app.
    let newsletter = corpus.iter().find(|m| m.name == "h09-tracking").unwrap();
    let safe = render(&newsletter.html, &newsletter.inline, false);
    assert_eq!(safe.blocked, 2);
    let allowed = render(&newsletter.html, &newsletter.inline, true);
    assert!(allowed
        .document
        .contains("src=\"https://remote.postino.invalid/h09-image.png\""));
}
