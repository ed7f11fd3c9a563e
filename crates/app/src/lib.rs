//! Postino's browser app: the Yew UI. It reads the stored mail from IndexedDB and renders;
//! the mail engine (crates/engine: relay WebSocket, TLS, POP3, the sync runner, the writes of
//! downloads) runs in a Web Worker, reached through `engine`.
#![forbid(unsafe_code)]

pub mod app;
pub mod components;
pub mod connectivity;
pub mod demo;
pub mod download;
pub mod effects;
pub mod engine;
pub mod html_mail;
pub mod message_view;
pub mod persistence;
pub mod remote_senders;
pub mod service_worker;
pub mod shortcuts;
pub mod state;
pub mod transfer;

pub use app::App;

// The unit tests run in headless Chromium, like the app, not in Node.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
