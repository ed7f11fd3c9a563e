//! Keyboard shortcuts outside text fields.

pub fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|doc| doc.get_element_by_id(id))
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// Keyboard shortcuts outside text fields: `/` searches, `j` and `k` move to the next and
/// previous message (Enter opens it, Delete deletes it: the row handles those).
pub fn on_shortcut(e: &web_sys::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    if e.ctrl_key() || e.meta_key() || e.alt_key() {
        return;
    }
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let active = doc.active_element();
    let typing = active
        .as_ref()
        .is_some_and(|a| matches!(a.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
    if typing {
        return;
    }
    let row = active.filter(|a| a.class_list().contains("message-row"));
    let target = match e.key().as_str() {
        "/" => {
            e.prevent_default();
            focus("search");
            return;
        }
        "j" => match &row {
            Some(r) => r.next_element_sibling(),
            None => doc.query_selector("#messages .message-row").ok().flatten(),
        },
        "k" => row.and_then(|r| r.previous_element_sibling()),
        _ => return,
    };
    if let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) {
        e.prevent_default();
        let _ = el.focus();
    }
}
