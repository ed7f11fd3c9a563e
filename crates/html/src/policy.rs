//! Which elements and attributes survive: ammonia's allow-lists (inert tags, no `on*`
//! attribute, no `<svg>`/`<math>`, no `<form>`, `<iframe>`, `<object>`, `<base>`, `<meta>`),
//! widened for the HTML mail people send: `<style>`, `<center>`, `<font>`, presentational
//! attributes. What URLs and CSS may say is decided afterwards, in `rewrite.rs`.

/// The ammonia configuration. [`crate::audit`] checks the output against these same lists.
pub fn builder() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["style", "center", "font"])
        .rm_clean_content_tags(["style"])
        .add_generic_attributes([
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
        ])
        .add_tag_attributes("img", ["srcset"])
        .add_tag_attributes("table", ["cellpadding", "cellspacing", "width"])
        .add_tag_attributes("font", ["face", "size"])
        // Kept here so that the rewrite sees them: `cid:` and `data:image/` only on images.
        .add_url_schemes(["cid", "data"])
        // Relative URLs would resolve against the app's own address.
        .url_relative(ammonia::UrlRelative::Deny)
        .set_tag_attribute_value("a", "target", "_blank");
    builder
}
