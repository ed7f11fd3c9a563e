//! A stored message as the reader shows it: its summary, and its parts read through the layout
//! found when it was stored ([`postino_sync::layout`]). The page has no MIME parser: it slices
//! each part out of the bytes, undoes its transfer encoding, and lets the browser decode its
//! charset.

use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine;
use postino_sync::layout::{Layout, Part};
use postino_sync::Summary;

use crate::state::{Attachment, ReaderView};

/// The reader's view of message `id`: its bytes `raw`, its `summary` (if it is still stored) and
/// its `layout`.
pub fn reader_view(
    id: &str,
    raw: Vec<u8>,
    summary: Option<&Summary>,
    layout: &Layout,
) -> ReaderView {
    let shared: Rc<[u8]> = Rc::from(raw);
    let raw = &shared[..];
    let text_of = |part: &Part| part.bytes(raw).map(|bytes| decode_text(&bytes, part));
    let html = layout.html.as_ref().and_then(text_of).map(Rc::from);
    let body = layout.text.as_ref().and_then(text_of).unwrap_or_default();
    // A message that did not parse has no layout: its bytes are all there is to show.
    let unparsed = layout == &Layout::default();
    ReaderView {
        id: id.to_string(),
        from: match layout.from.is_empty() {
            true => summary.map(|s| s.from.clone()).unwrap_or_default(),
            false => layout.from.clone(),
        },
        sender: layout.sender.clone(),
        sender_verified: layout.sender_verified,
        to: layout.to.clone(),
        subject: summary.map(|s| s.subject.clone()).unwrap_or_default(),
        date: summary.and_then(|s| s.date),
        body: match unparsed {
            true => String::from_utf8_lossy(raw).into_owned(),
            false => body,
        },
        html,
        inline: Rc::new(
            layout
                .inline
                .iter()
                .filter_map(|p| Some((p.name.clone(), image_data_url(raw, p)?)))
                .collect::<HashMap<_, _>>(),
        ),
        attachments: layout
            .attachments
            .iter()
            .map(|p| Attachment {
                name: p.name.clone(),
                content_type: p.content_type.clone(),
                size: p.size as usize,
                part: p.clone(),
            })
            .collect(),
        remote_allowed: false,
        raw: shared,
    }
}

/// A text part's bytes as text: UTF-8 here, any other charset by the browser's `TextDecoder`
/// (every charset of the Encoding Standard). A charset it does not know reads as UTF-8.
fn decode_text(bytes: &[u8], part: &Part) -> String {
    if !part.is_utf8() {
        let label = part.charset.as_deref().unwrap_or_default().trim();
        let decoded = web_sys::TextDecoder::new_with_label(label)
            .and_then(|decoder| decoder.decode_with_u8_array(bytes));
        if let Ok(text) = decoded {
            return text;
        }
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stored message `id` as the reader shows it; `None` if it is no longer stored. `pack`: where
/// the list's summary says its bytes are. A message stored before layouts were kept gets its
/// layout from the engine, once.
pub async fn open_stored(
    store: &postino_engine::idb::IdbStore,
    id: &str,
    pack: Option<&str>,
) -> Result<Option<ReaderView>, String> {
    let opened = store.open_message(id, pack).await;
    let Some(opened) = opened.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let layout = match opened.layout {
        Some(layout) => layout,
        None => match crate::engine::layout(id).await? {
            Some(layout) => *layout,
            None => return Ok(None),
        },
    };
    Ok(Some(reader_view(
        id,
        opened.raw,
        opened.summary.as_ref(),
        &layout,
    )))
}

/// A `data:` URL of an inline image part, for `cid:` references. The layout keeps only image
/// types made of safe characters.
fn image_data_url(raw: &[u8], part: &Part) -> Option<String> {
    let bytes = part.bytes(raw)?;
    Some(format!(
        "data:{};base64,{}",
        part.content_type,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A size for people, in the UI's language: `812 B`, `14 KB`, `3.2 MB` (`3,2 MB` in Italian).
pub fn format_size(bytes: u64) -> String {
    postino_i18n::lang().format_size(bytes)
}

/// How a date is written: each style is one set of `Intl.DateTimeFormat` options.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DateStyle {
    /// The reader's, and a list row's title: the full date and the time.
    Full,
    /// A list row of today's mail: the time.
    Time,
    /// A list row of this year's mail: day and month.
    DayMonth,
    /// A list row of older mail: day, month and year.
    Date,
}

impl DateStyle {
    fn options(self) -> &'static [(&'static str, &'static str)] {
        match self {
            DateStyle::Full => &[("dateStyle", "full"), ("timeStyle", "short")],
            DateStyle::Time => &[("hour", "numeric"), ("minute", "2-digit")],
            DateStyle::DayMonth => &[("month", "short"), ("day", "numeric")],
            DateStyle::Date => &[("year", "numeric"), ("month", "short"), ("day", "numeric")],
        }
    }
}

/// `date` as `Intl.DateTimeFormat` writes it in the UI's language in `style`. The formatters
/// are made once per language and style: making one costs far more than formatting with it, and
/// a list render formats two dates a row (a profile of the page at a check's end, when the list
/// is read again and rendered: `new Intl.DateTimeFormat` was 28% of the page's time).
fn intl_date(date: &js_sys::Date, style: DateStyle) -> String {
    formatter(style)
        .call1(&wasm_bindgen::JsValue::UNDEFINED, date)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The `format` function of the UI language's `Intl.DateTimeFormat` for `style`, made once.
fn formatter(style: DateStyle) -> js_sys::Function {
    thread_local! {
        static FORMATS: std::cell::RefCell<Vec<(&'static str, DateStyle, js_sys::Function)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let lang = postino_i18n::lang().code();
    FORMATS.with(|formats| {
        let mut formats = formats.borrow_mut();
        if let Some((_, _, f)) = formats.iter().find(|(l, s, _)| *l == lang && *s == style) {
            return f.clone();
        }
        let object = js_sys::Object::new();
        for (k, v) in style.options() {
            let _ = js_sys::Reflect::set(&object, &(*k).into(), &(*v).into());
        }
        let locales = js_sys::Array::of1(&lang.into());
        let f = js_sys::Intl::DateTimeFormat::new(&locales, &object).format();
        formats.push((lang, style, f.clone()));
        f
    })
}

/// Makes the date formatters of the UI's language that the list has not made yet, each in a
/// task of its own; called once the first rows are painted, so that it never delays them. The
/// page's first `Intl.DateTimeFormat` costs 25-30 ms (its locale data): made by the list's
/// first render of new mail during a download, it made that render one of the page's longest
/// tasks (a profile of the page during a 3,000-message download).
pub fn warm_date_formats() {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else {
        return;
    };
    let styles = [
        DateStyle::Time,
        DateStyle::DayMonth,
        DateStyle::Date,
        DateStyle::Full,
    ];
    for (i, style) in styles.into_iter().enumerate() {
        let make = wasm_bindgen::closure::Closure::once_into_js(move || {
            formatter(style);
        });
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            make.unchecked_ref(),
            20 * i as i32,
        );
    }
}

/// A date for the reader, in the UI's language.
pub fn format_date(unix: Option<i64>) -> String {
    match unix {
        Some(t) => {
            let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t as f64 * 1000.0));
            intl_date(&d, DateStyle::Full)
        }
        None => String::new(),
    }
}

/// The list's short date: the time for today's mail, day and month for this year's, the full
/// date for older mail, in the UI's language.
pub fn format_list_date(unix: Option<i64>) -> String {
    use wasm_bindgen::JsValue;
    let Some(t) = unix else {
        return String::new();
    };
    let d = js_sys::Date::new(&JsValue::from_f64(t as f64 * 1000.0));
    let now = js_sys::Date::new_0();
    let style = if d.get_full_year() == now.get_full_year()
        && d.get_month() == now.get_month()
        && d.get_date() == now.get_date()
    {
        DateStyle::Time
    } else if d.get_full_year() == now.get_full_year() {
        DateStyle::DayMonth
    } else {
        DateStyle::Date
    };
    intl_date(&d, style)
}

/// The sender's name for the list, or the address when there is no name (`Name <addr>`).
pub fn sender_name(from: &str) -> &str {
    match from.rsplit_once(" <") {
        Some((name, _)) if !name.trim().is_empty() => name.trim().trim_matches('"'),
        _ => from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Message `raw` as the reader shows it after the engine stored it.
    fn view(id: &str, raw: &[u8]) -> ReaderView {
        let summary = Summary::from_raw("acct", id, raw);
        let layout = Layout::parse(raw).unwrap_or_default();
        reader_view(id, raw.to_vec(), Some(&summary), &layout)
    }

    fn message(auth: &str, attachment_name: &str) -> Vec<u8> {
        format!(
            "Authentication-Results: mx.example.net; {auth}\r\n\
             From: Shop <news@shop.example>\r\nSubject: hi\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nhello\r\n--b\r\n\
             Content-Type: application/pdf\r\n\
             Content-Disposition: attachment; filename*=UTF-8''{attachment_name}\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn attachment_names_lose_bidi_overrides_and_paths() {
        // invoice<U+202E>fdp.exe, percent-encoded as RFC 2231 allows.
        let v = view(
            "m",
            &message("dmarc=pass", "..%2F..%2Finvoice%E2%80%AEfdp.exe"),
        );
        assert_eq!(v.attachments.len(), 1);
        let name = &v.attachments[0].name;
        assert!(
            !name.contains('\u{202E}') && !name.contains('/'),
            "{name:?}"
        );
        assert!(name.ends_with("invoicefdp.exe"), "{name:?}");
    }

    #[test]
    fn a_sender_is_verified_only_by_dmarc_or_aligned_dkim_at_the_receiving_server() {
        let verified = |auth: &str| view("m", &message(auth, "a.pdf")).sender_verified;
        assert!(verified("dmarc=pass header.from=shop.example"));
        assert!(verified("dkim=pass header.d=shop.example"));
        assert!(!verified("spf=pass smtp.mailfrom=shop.example"));
        assert!(!verified("dkim=pass header.d=elsewhere.example"));
        assert!(!verified("dmarc=fail header.from=shop.example"));
    }

    // Dates are formatted by the browser (Intl): this one runs in Chromium only.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn list_shows_names_and_short_dates() {
        assert_eq!(
            sender_name("Ada Lovelace <ada@example.org>"),
            "Ada Lovelace"
        );
        assert_eq!(sender_name("ada@example.org"), "ada@example.org");
        assert_eq!(sender_name(" <ada@example.org>"), " <ada@example.org>");
        let now = (js_sys::Date::now() / 1000.0) as i64;
        assert!(format_list_date(Some(now)).contains(':'), "today: the time");
        assert!(
            format_list_date(Some(40_000_000)).contains("1971"),
            "long ago: the year"
        );
        assert_eq!(format_list_date(None), "");
    }

    // The formatters are kept per language: a change of language writes dates in the new one.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn dates_follow_a_change_of_language() {
        let before = postino_i18n::lang();
        // Thursday 1 January 1970, noon UTC: the same weekday in every time zone.
        let noon = Some(12 * 3600);
        postino_i18n::set(postino_i18n::Lang::En);
        let english = format_date(noon);
        assert!(english.contains("Thursday"), "{english}");
        assert_eq!(
            format_date(noon),
            english,
            "the kept formatter writes the same"
        );
        postino_i18n::set(postino_i18n::Lang::De);
        let german = format_date(noon);
        assert!(german.contains("Donnerstag"), "{german}");
        assert!(format_list_date(Some(40_000_000)).contains("1971"));
        postino_i18n::set(before);
    }

    #[test]
    fn plain_text_message() {
        let v = view(
            "a/1",
            b"From: A <a@x.org>\r\nTo: b@y.org, C <c@z.org>\r\nSubject: Hi\r\n\r\nBody text\r\n",
        );
        assert_eq!(v.from, "A <a@x.org>");
        assert_eq!(v.to, "b@y.org, C <c@z.org>");
        assert_eq!(v.subject, "Hi");
        assert!(v.body.contains("Body text"));
        assert!(v.html.is_none(), "a text body is not HTML");
    }

    #[test]
    fn a_message_that_does_not_parse_shows_its_bytes() {
        let raw = b"\xff\xfe not a message";
        let v = reader_view("a/3", raw.to_vec(), None, &Layout::default());
        assert_eq!(v.body, String::from_utf8_lossy(raw));
        assert!(v.html.is_none() && v.attachments.is_empty());
    }

    #[test]
    fn html_inline_image_and_attachment() {
        let raw = b"From: a@x.org\r\nSubject: H\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\
Content-Type: multipart/related; boundary=b2\r\n\r\n--b2\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hi <img src=\"cid:logo@x\"></p>\r\n--b2\r\n\
Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0=\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n\
Content-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b1--\r\n";
        let v = view("a/2", raw);
        assert!(v.html.as_deref().unwrap_or_default().contains("cid:logo@x"));
        assert_eq!(
            v.inline.get("logo@x").map(String::as_str),
            Some("data:image/png;base64,iVBORw0=")
        );
        let pdf = v
            .attachments
            .iter()
            .find(|a| a.name == "r.pdf")
            .expect("listed");
        assert_eq!(pdf.content_type, "application/pdf");
        assert_eq!(pdf.part.bytes(raw).as_deref(), Some(&b"%PDF-"[..]));
    }
}
