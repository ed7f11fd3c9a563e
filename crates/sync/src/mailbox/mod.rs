//! Mail formats on disk and in files, together, as mail-parser keeps `src/mailbox/`:
//!
//! - [`mbox`]: mboxrd files and .eml files (what export writes and import reads, and the CLI's
//!   mbox destination), and the line-ending forms both formats share ([`mbox::lf_form`],
//!   [`mbox::normalize_eml`]);
//! - [`maildir`]: the CLI's Maildir destination: file names, the bytes of a file, and where a
//!   mail reader may have moved it.
//!
//! The stores that write them (durability, the ledger) live with their callers: the CLI's
//! `DiskStore`, the app's export.

pub mod maildir;
pub mod mbox;
