//! Postino's browser app: the Yew UI over postino-sync, with the IndexedDB store and the
//! WebSocket transport to the relay.
#![forbid(unsafe_code)]

pub mod app;
pub mod check;
pub mod components;
pub mod connectivity;
pub mod demo;
pub mod download;
pub mod explain;
pub mod html_mail;
pub mod idb;
pub mod message_view;
pub mod persistence;
pub mod presets;
pub mod service_worker;
pub mod state;
pub mod transfer;
pub mod transport;
pub mod vault;

pub use app::App;

// The unit tests run in headless Chromium, like the app, not in Node.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
