//! Whether the browser has a network: `navigator.onLine` and its `online` / `offline` events.
//! Offline, stored mail stays readable and "Check mail" waits for the network.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// What the browser believes now; `true` when it cannot tell.
pub fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Calls `notify(online)` on every change, for the life of the page.
pub fn watch(notify: impl Fn(bool) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let notify = std::rc::Rc::new(notify);
    for (event, online) in [("online", true), ("offline", false)] {
        let notify = notify.clone();
        let listener = Closure::<dyn Fn()>::new(move || notify(online));
        let _ = window.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
        // Listens as long as the page lives.
        listener.forget();
    }
}
