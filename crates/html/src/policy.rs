//! Which elements and attributes survive: ammonia's default allow-lists (inert tags, no `on*`
//! attribute, no `<svg>`/`<math>`, no `<form>`, `<iframe>`, `<object>`, `<base>`, `<meta>`),
//! widened for the HTML mail people send: `<style>`, `<center>`, `<font>`, presentational
//! attributes. What URLs and CSS may say is decided in `sanitize.rs`. An element not listed is
//! replaced by its children (its text stays, escaped); [`DROPPED`] ones go with their content.

/// The elements kept (HTML namespace only).
pub const TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "area",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "map",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements removed with everything inside them, in any namespace: their content is code.
pub const DROPPED: &[&str] = &["script", "style", "template"];

/// Elements that have no end tag.
pub const VOID: &[&str] = &["area", "br", "col", "hr", "img", "wbr"];

/// Attributes kept on any kept element.
pub const GENERIC: &[&str] = &[
    "lang",
    "title",
    "style",
    "align",
    "valign",
    "bgcolor",
    "background",
    "width",
    "height",
    "border",
    "dir",
    "color",
];

/// Attributes kept on one element besides [`GENERIC`].
pub fn tag_attributes(tag: &str) -> &'static [&'static str] {
    match tag {
        "a" => &["href", "hreflang"],
        "bdo" => &["dir"],
        "blockquote" | "q" => &["cite"],
        "col" | "colgroup" => &["align", "char", "charoff", "span"],
        "del" | "ins" => &["cite", "datetime"],
        "font" => &["face", "size"],
        "hr" => &["align", "size", "width"],
        "img" => &["align", "alt", "height", "src", "srcset", "width"],
        "ol" => &["start"],
        "table" => &[
            "align",
            "char",
            "charoff",
            "summary",
            "cellpadding",
            "cellspacing",
            "width",
        ],
        "tbody" | "tfoot" | "thead" | "tr" => &["align", "char", "charoff"],
        "td" => &["align", "char", "charoff", "colspan", "headers", "rowspan"],
        "th" => &[
            "align", "char", "charoff", "colspan", "headers", "rowspan", "scope",
        ],
        _ => &[],
    }
}

/// Attributes whose value is set, whatever the sender wrote: every link opens outside the
/// frame, and the page it opens learns nothing of the app.
pub fn fixed_attributes(tag: &str) -> &'static [(&'static str, &'static str)] {
    match tag {
        "a" => &[("target", "_blank"), ("rel", "noopener noreferrer")],
        _ => &[],
    }
}

/// Whether `attribute` may stay on `tag` (the fixed ones are written separately).
pub fn allowed(tag: &str, attribute: &str) -> bool {
    GENERIC.contains(&attribute) || tag_attributes(tag).contains(&attribute)
}

/// URL schemes a link (`href`, `cite`) may have; relative URLs are removed (they would resolve
/// against the app's own address). Images are decided by `url.rs`.
pub const URL_SCHEMES: &[&str] = &[
    "bitcoin",
    "ftp",
    "ftps",
    "geo",
    "http",
    "https",
    "im",
    "irc",
    "ircs",
    "magnet",
    "mailto",
    "mms",
    "mx",
    "news",
    "nntp",
    "openpgp4fpr",
    "sip",
    "sms",
    "smsto",
    "ssh",
    "tel",
    "url",
    "webcal",
    "wtai",
    "xmpp",
];
