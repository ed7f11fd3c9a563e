//! Postino's download engine: accounts, the download ledger, the sync plan and the runner that
//! carries it out, and the storage trait. No browser code: the app supplies an IndexedDB store
//! and a WebSocket stream, the tests a memory store and TCP.
//!
//! Invariants (DESIGN.md): a message and its ledger entry are committed in one store
//! transaction; the ledger is the only record of what was downloaded; the default is to leave
//! mail on the server.
//!
//! - [`plan`]: from the listing, the ledger and the policy, what to fetch and delete (pure).
//! - [`session`]: one POP3 session's fetches and deletions as a sans-IO machine, and its
//!   driver: batches committed while the next responses are read, DELE after commit.
//! - [`runner`]: [`sync_account`]: connect, log in, list, plan, run sessions, QUIT.
//! - [`triage`]: what is on the server, and the user's download/skip/delete choices.
//! - [`first_check`]: the first check of an account asks how much: everything, the last 30
//!   days, or from now on; what is left out is recorded as skipped.
//! - [`store`], [`memory`]: the storage trait and [`Incoming`]; the memory store.
//! - [`ledger`]: the ledger entry and its [`EntryState`].
//! - [`account`], [`policy`]: what the user configured.
//! - [`summary`], [`search`], [`auth_results`], [`untrusted`]: what a message shows and is found
//!   by, parsed once; text from strangers made safe to show.
//! - [`mailbox`], [`import`]: mbox and Maildir; mail imported from files.
//! - [`digest`]: SHA-256 in hex, the one helper.
//! - `tcp` (feature `tcp`): the TCP connector of native callers; `conformance` (feature
//!   `conformance`): the suite every `Store` passes.
#![forbid(unsafe_code)]

pub mod account;
pub mod auth_results;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod digest;
pub mod first_check;
pub mod import;
pub mod layout;
pub mod ledger;
pub mod mailbox;
pub mod memory;
pub mod plan;
pub mod policy;
pub mod runner;
pub mod search;
pub mod session;
pub mod store;
pub mod summary;
#[cfg(feature = "tcp")]
pub mod tcp;
pub mod triage;
pub mod untrusted;

pub use account::{Account, OAuthClient, Security};
pub use auth_results::AuthResults;
pub use ledger::{message_id, EntryState, LedgerEntry};
pub use mailbox::mbox;
pub use memory::MemoryStore;
pub use plan::{Delete, Fetch, PlanInput, SyncPlan, Warning};
pub use policy::{DeletePolicy, Policy};
pub use runner::{
    open_session, sync_account, sync_account_carrying, Cancel, ConnectError, Connector, LoggedIn,
    Progress, SyncError, SyncOptions, SyncReport,
};
pub use store::{Incoming, Store, StoreError};
pub use summary::Summary;
pub use triage::{
    apply_triage, server_listing, Choice, ServerMessage, ServerState, TriageReport,
    MAX_HEADER_BYTES,
};
