//! The senders whose remote content loads without asking, kept in `localStorage` (a list of
//! addresses, not mail): read at start, written when the user adds one.

use std::collections::HashSet;

const KEY: &str = "postino.remote-senders";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load() -> HashSet<String> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|json| serde_json::from_str::<Vec<String>>(&json).ok())
        .map(|list| list.into_iter().collect())
        .unwrap_or_default()
}

pub fn save(senders: &HashSet<String>) {
    let mut list: Vec<&String> = senders.iter().collect();
    crate::sort::by(&mut list, |a, b| a.cmp(b));
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&list)) {
        let _ = storage.set_item(KEY, &json);
    }
}
