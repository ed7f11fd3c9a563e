//! A stored message parsed for the reader. Tolerant: a malformed message shows what parsed.

use crate::state::ReaderView;

fn addresses(addr: Option<&mail_parser::Address>) -> String {
    let Some(addr) = addr else {
        return String::new();
    };
    addr.iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.to_string(),
            (None, Some(e)) => e.to_string(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn reader_view(id: &str, raw: &[u8]) -> ReaderView {
    let parsed = mail_parser::MessageParser::default().parse(raw);
    match parsed {
        Some(m) => ReaderView {
            id: id.to_string(),
            from: addresses(m.from()),
            to: addresses(m.to()),
            subject: m.subject().unwrap_or_default().to_string(),
            date: m.date().map(|d| d.to_timestamp()),
            body: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        },
        None => ReaderView {
            id: id.to_string(),
            from: String::new(),
            to: String::new(),
            subject: String::new(),
            date: None,
            body: String::from_utf8_lossy(raw).into_owned(),
        },
    }
}

/// A date for the list and the reader, in the browser's locale.
pub fn format_date(unix: Option<i64>) -> String {
    match unix {
        Some(t) => {
            let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t as f64 * 1000.0));
            d.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
                .as_string()
                .unwrap_or_default()
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn plain_text_message() {
        let v = reader_view(
            "a/1",
            b"From: A <a@x.org>\r\nTo: b@y.org, C <c@z.org>\r\nSubject: Hi\r\n\r\nBody text\r\n",
        );
        assert_eq!(v.from, "A <a@x.org>");
        assert_eq!(v.to, "b@y.org, C <c@z.org>");
        assert_eq!(v.subject, "Hi");
        assert!(v.body.contains("Body text"));
    }
}
