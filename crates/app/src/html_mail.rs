//! HTML mail made safe to show. The sanitiser is the `postino-html` crate (crates/html): pure
//! Rust, tested and fuzzed natively; the reader uses it through this module.

pub use postino_html::{content_security_policy, render, SafeHtml};
