//! Postino's browser app: the Yew UI. It reads the stored mail from IndexedDB and renders;
//! the mail engine (crates/engine: relay WebSocket, TLS, POP3, the sync runner, the writes of
//! downloads) runs in a Web Worker, reached through `engine`.
//!
//! - [`app`]: the root component: wires the user's actions to the effects, lays out the page.
//! - [`state`]: the state, its `Action`s and the pure reducers (tested natively), one slice per
//!   concern (`state::accounts`, `list`, `reading`, `check`, `page`); `State`'s reducer routes
//!   to them and handles the actions that cross slices.
//! - [`effects`]: start-up, checks, saves and deletes; failures turned into actions.
//! - [`engine`]: the page's side of the engine worker.
//! - [`components`]: one component per file (list, reader, forms, notices, triage, settings).
//! - [`message_view`]: a stored message as the reader shows it, read through the layout the
//!   engine kept when it stored it (no MIME parser in the page); [`html_mail`]: its HTML, made
//!   safe by the browser's own parser and an allow-list.
//! - [`sign_in`]: "Sign in with Microsoft / Google" in the provider's own window.
//! - [`download`]: attachments and mbox exports (made by the engine) saved as files.
//! - [`language`]: the UI's language (postino-i18n), from the browser or Settings.
//! - [`persistence`], [`connectivity`], [`service_worker`]: what the browser says about storage,
//!   the network and updates; [`remote_senders`], [`shortcuts`], [`demo`]: small parts.
#![forbid(unsafe_code)]

pub mod app;
pub mod components;
pub mod connectivity;
pub mod demo;
pub mod download;
pub mod effects;
pub mod engine;
pub mod html_mail;
pub mod language;
pub mod message_view;
pub mod persistence;
pub mod remote_senders;
pub mod service_worker;
pub mod shortcuts;
pub mod sign_in;
pub mod sort;
pub mod state;

pub use app::App;

// The unit tests run in headless Chromium, like the app, not in Node.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
