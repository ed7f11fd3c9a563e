//! Storage persistence (`navigator.storage`): ask the browser to keep the stored mail when space
//! runs low, once, when the first messages are downloaded; and report what it decided.

use std::cell::Cell;

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::state::StorageStatus;

thread_local! {
    static ASKED: Cell<bool> = const { Cell::new(false) };
}

fn storage() -> Option<web_sys::StorageManager> {
    let navigator = web_sys::window()?.navigator();
    // Older browsers and insecure origins have no `navigator.storage`.
    Reflect::has(&navigator, &"storage".into())
        .unwrap_or(false)
        .then(|| navigator.storage())
}

async fn call(promise: Result<Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(promise.ok()?).await.ok()
}

/// What the browser says now.
pub async fn status() -> StorageStatus {
    let Some(storage) = storage() else {
        return StorageStatus::default();
    };
    let persistent = call(storage.persisted()).await.and_then(|v| v.as_bool());
    let usage = call(storage.estimate()).await.and_then(|estimate| {
        let field = |name: &str| {
            Reflect::get(&estimate, &name.into())
                .ok()
                .and_then(|v| v.as_f64())
        };
        Some((field("usage")? as u64, field("quota")? as u64))
    });
    StorageStatus { persistent, usage }
}

/// Asks for persistent storage unless it was asked already in this page (some browsers ask the
/// user; once is enough), then returns the new status. `force` asks again (the settings button).
pub async fn ask(force: bool) -> Option<StorageStatus> {
    if ASKED.replace(true) && !force {
        return None;
    }
    let storage = storage()?;
    if call(storage.persisted()).await.and_then(|v| v.as_bool()) != Some(true) {
        call(storage.persist()).await;
    }
    Some(status().await)
}
