//! Test harness for Postino: a real Dovecot POP3 server started from a config written into a
//! fresh temp folder, a front before it that is as strict as Microsoft's POP3 servers
//! ([`MicrosoftFront`]), the OAuth stand-in ([`OAuthMock`]), and the shared mail fixtures in
//! `tests/fixtures/mail`.
//!
//! Used by the native tests of the other crates (as a dev-dependency) and, through the
//! `postino-testkit` binary, by the end-to-end browser tests in `tests/e2e`.
//!
//! ```no_run
//! use postino_testkit::{fixtures, workspace_root, Dovecot, DovecotOptions};
//!
//! let mail = fixtures(workspace_root().join("tests/fixtures/mail"));
//! let dovecot = Dovecot::start(&DovecotOptions {
//!     user: "alice".into(),
//!     password: "secret".into(),
//!     fixtures: mail.into_iter().map(|(_, raw)| raw).collect(),
//! })?;
//! println!("pop3s on 127.0.0.1:{}", dovecot.pop3s_port());
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]

mod certificate;
mod dovecot;
mod fixtures;
mod microsoft_front;
pub mod oauth_mock;

pub use certificate::{fingerprint, SelfSignedCertificate};
pub use dovecot::{Dovecot, DovecotExtras, DovecotOAuth2, DovecotOptions};
pub use fixtures::{fixtures, generated_mailbox, workspace_root};
pub use microsoft_front::{MicrosoftFront, MAX_COMMAND_LINE};
pub use oauth_mock::{OAuthMock, OAuthMockOptions};
