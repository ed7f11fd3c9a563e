//! Postino's download engine: accounts, the download ledger, the sync plan and the runner that
//! carries it out, and the storage trait. No browser code: the app supplies an IndexedDB store
//! and a WebSocket stream, the tests a memory store and TCP.
//!
//! Invariants (DESIGN.md): a message and its ledger entry are committed in one store
//! transaction; the ledger is the only record of what was downloaded; the default is to leave
//! mail on the server.
#![forbid(unsafe_code)]

pub mod account;
pub mod auth_results;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod digest;
pub mod import;
pub mod ledger;
pub mod mbox;
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

pub use account::{Account, Security};
pub use auth_results::AuthResults;
pub use ledger::{message_id, EntryState, LedgerEntry};
pub use memory::MemoryStore;
pub use plan::{Delete, Fetch, PlanInput, SyncPlan, Warning};
pub use policy::{DeletePolicy, Policy};
pub use runner::{
    open_session, sync_account, Cancel, ConnectError, Connector, Progress, SyncError, SyncOptions,
    SyncReport,
};
pub use store::{Incoming, Store, StoreError};
pub use summary::Summary;
pub use triage::{
    apply_triage, server_listing, Choice, ServerMessage, ServerState, TriageReport,
    MAX_HEADER_BYTES,
};
