//! Postino's mail engine for the browser, run in a dedicated Web Worker so that a download
//! never freezes the page. The page (crates/app) talks to it only through [`protocol`].
//!
//! - [`protocol`]: the requests, replies and events between the page and the worker.
//! - [`worker`]: the worker's side: receives requests, runs them, posts events.
//! - [`check`]: "Check mail", test connection, server listing and triage over the relay.
//! - [`transport`]: the relay WebSocket as a byte stream, with deadlines.
//! - [`explain`]: every failure as a sentence for the user.
//! - [`idb`]: the IndexedDB store (the page reads it too: the list, the reader, search).
//! - [`indexer`]: the offline search index, filled in the background.
//! - [`import`]: `.eml` and mbox files into the "Imported" mailbox.
//! - [`vault`]: remembered passwords, under a key the page cannot read out.
//! - [`oauth`]: sign-in with a provider (OAuth 2.0, PKCE), and the tokens' refresh.
//! - [`locks`]: Web Locks: one check per account across tabs; the engine's life.
//! - [`presets`]: well-known providers and their servers; [`autoconfig`]: the server of an
//!   address, found by the relay.
#![forbid(unsafe_code)]

pub mod autoconfig;
pub mod check;
pub mod explain;
pub mod export;
pub mod idb;
pub mod import;
pub mod indexer;
pub mod locks;
pub mod oauth;
pub mod presets;
pub mod protocol;
pub mod transport;
pub mod vault;
mod webcrypto;
pub mod worker;

// The unit tests run in headless Chromium, like the engine, not in Node.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
