//! The sync plan: from the server's listing, the ledger, the policy and the time, what to
//! download whole, what headers only, and what to delete. Pure: no I/O, time passed in.

use std::collections::{HashMap, HashSet};

use crate::{DeletePolicy, EntryState, LedgerEntry, Policy};

/// One message to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    /// Message number in this session (RFC 1939: valid only until QUIT).
    pub number: u32,
    pub uidl: String,
    /// Size from LIST, for progress; the stored size is what arrives.
    pub size: u64,
    /// Over the size limit: headers only (TOP n 0).
    pub headers_only: bool,
}

/// One message to delete from the server. Its bytes are already committed in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete {
    pub number: u32,
    pub uidl: String,
}

/// Something the user should know about the plan.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Warning {
    /// "Delete right after download" was not applied: the store may be evicted by the browser,
    /// so the server copy could be the only one left.
    DeleteRefusedNotPersistent,
}

/// What the planner reads.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// UIDL listing: (message number, unique id).
    pub uidls: &'a [(u32, String)],
    /// LIST: (message number, size).
    pub sizes: &'a [(u32, u64)],
    pub ledger: &'a [LedgerEntry],
    pub policy: &'a Policy,
    /// Unix seconds.
    pub now: i64,
    /// Whether the store is safe from eviction (`navigator.storage.persist()` granted, or a disk).
    pub store_persistent: bool,
    /// Headers-only messages the user asked to download whole.
    pub want_full: &'a HashSet<String>,
    /// New messages still allowed this session (`None`: no limit).
    pub budget: Option<usize>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub fetch: Vec<Fetch>,
    /// Already stored messages the policy removes from the server now.
    pub delete: Vec<Delete>,
    /// Delete each fetched message once it is committed (policy "after download").
    pub delete_after_fetch: bool,
    /// Messages on the server that the ledger already holds.
    pub already_stored: usize,
    /// Messages the user chose to skip in server triage: left on the server, neither fetched
    /// nor deleted, nor counted in `already_stored`.
    pub skipped: usize,
    /// New messages left for a later session by `max_per_session`.
    pub deferred: usize,
    pub warnings: Vec<Warning>,
}

impl SyncPlan {
    /// Plan a session. Cost: O(n) hashing over the listing and the ledger.
    pub fn new(input: &PlanInput<'_>) -> SyncPlan {
        let sizes: HashMap<u32, u64> = input.sizes.iter().copied().collect();
        let ledger: HashMap<&str, &LedgerEntry> =
            input.ledger.iter().map(|e| (e.uidl.as_str(), e)).collect();
        let policy = input.policy;
        let mut plan = SyncPlan::default();

        let after_download = policy.delete == DeletePolicy::AfterDownload;
        let may_delete_after_download = after_download && input.store_persistent;
        if after_download && !input.store_persistent {
            plan.warnings.push(Warning::DeleteRefusedNotPersistent);
        }
        plan.delete_after_fetch = may_delete_after_download;

        let mut budget = input.budget;
        // Messages named by their headers (a server without UIDL) that have a twin, same
        // headers and size: their `#n` follows listing order, so once one of them leaves the
        // server another takes its name. The ledger cannot tell them apart: none is deleted.
        let twins: HashSet<&str> = {
            let mut count: std::collections::HashMap<&str, usize> = Default::default();
            for (_, uidl) in input.uidls {
                if uidl.starts_with(crate::runner::HEADER_ID_PREFIX) {
                    *count
                        .entry(uidl.split('#').next().unwrap_or(uidl))
                        .or_default() += 1;
                }
            }
            count
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(b, _)| b)
                .collect()
        };
        let mut seen = HashSet::with_capacity(input.uidls.len());
        for (number, uidl) in input.uidls {
            // A UIDL listed twice (a broken server) is handled once.
            if !seen.insert(uidl.as_str()) {
                continue;
            }
            let size = sizes.get(number).copied().unwrap_or(0);
            if let Some(entry) = ledger.get(uidl.as_str()) {
                // Skipped in triage: never stored, so never fetched and never deleted here.
                if entry.state == EntryState::Skipped {
                    plan.skipped += 1;
                    continue;
                }
                if entry.state == EntryState::HeadersOnly && input.want_full.contains(uidl) {
                    plan.fetch.push(Fetch {
                        number: *number,
                        uidl: uidl.clone(),
                        size,
                        headers_only: false,
                    });
                    continue;
                }
                plan.already_stored += 1;
                let twin = twins.contains(uidl.split('#').next().unwrap_or(uidl));
                if !twin && deletes_now(entry, policy, input.now, may_delete_after_download) {
                    plan.delete.push(Delete {
                        number: *number,
                        uidl: uidl.clone(),
                    });
                }
                continue;
            }
            if budget == Some(0) {
                plan.deferred += 1;
                continue;
            }
            if let Some(b) = budget.as_mut() {
                *b -= 1;
            }
            plan.fetch.push(Fetch {
                number: *number,
                uidl: uidl.clone(),
                size,
                headers_only: policy.size_limit.is_some_and(|limit| size > limit),
            });
        }
        plan
    }

    pub fn total_bytes(&self) -> u64 {
        self.fetch.iter().map(|f| f.size).sum()
    }
}

/// Whether an already stored message leaves the server in this session.
fn deletes_now(entry: &LedgerEntry, policy: &Policy, now: i64, after_download: bool) -> bool {
    match entry.state {
        // Skipped in triage: nothing was stored, so the server copy is the only one, whatever
        // the policy.
        EntryState::Skipped => return false,
        EntryState::DeletedLocally => return policy.delete == DeletePolicy::WhenDeletedLocally,
        // Only a whole message may leave the server: a headers-only copy is not the mail.
        EntryState::HeadersOnly => return false,
        EntryState::Stored => {}
    }
    match policy.delete {
        DeletePolicy::LeaveOnServer | DeletePolicy::WhenDeletedLocally => false,
        DeletePolicy::AfterDays(days) => now - entry.downloaded_at >= i64::from(days) * 86_400,
        // A message stored in a session that broke before QUIT.
        DeletePolicy::AfterDownload => after_download,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(uidl: &str, downloaded_at: i64) -> LedgerEntry {
        LedgerEntry::stored("a", uidl, b"x", false, downloaded_at)
    }

    fn skipped(uidl: &str, downloaded_at: i64) -> LedgerEntry {
        LedgerEntry::skipped("a", uidl, 1, downloaded_at)
    }

    type Listing = (Vec<(u32, String)>, Vec<(u32, u64)>);

    fn listing(n: u32) -> Listing {
        (
            (1..=n).map(|i| (i, format!("u{i}"))).collect(),
            (1..=n).map(|i| (i, u64::from(i) * 100)).collect(),
        )
    }

    fn plan(
        ledger: &[LedgerEntry],
        policy: &Policy,
        persistent: bool,
        want_full: &HashSet<String>,
    ) -> SyncPlan {
        let (uidls, sizes) = listing(3);
        SyncPlan::new(&PlanInput {
            uidls: &uidls,
            sizes: &sizes,
            ledger,
            policy,
            now: 100 * 86_400,
            store_persistent: persistent,
            want_full,
            budget: policy.max_per_session,
        })
    }

    fn numbers(f: &[Fetch]) -> Vec<u32> {
        f.iter().map(|f| f.number).collect()
    }

    #[test]
    fn header_named_twins_are_never_deleted_from_the_ledger() {
        let prefix = crate::runner::HEADER_ID_PREFIX;
        let (a, a2, b) = (
            format!("{prefix}aa-10"),
            format!("{prefix}aa-10#2"),
            format!("{prefix}bb-10"),
        );
        let policy = Policy {
            delete: DeletePolicy::AfterDays(0),
            ..Policy::default()
        };
        let uidls = vec![(1, a.clone()), (2, a2.clone()), (3, b.clone())];
        let sizes = vec![(1, 10), (2, 10), (3, 10)];
        let ledger: Vec<LedgerEntry> = [&a, &a2, &b].iter().map(|u| entry(u, 0)).collect();
        let p = SyncPlan::new(&PlanInput {
            uidls: &uidls,
            sizes: &sizes,
            ledger: &ledger,
            policy: &policy,
            now: 1_000_000,
            store_persistent: true,
            want_full: &HashSet::new(),
            budget: None,
        });
        assert_eq!(p.already_stored, 3);
        let deleted: Vec<&str> = p.delete.iter().map(|d| d.uidl.as_str()).collect();
        assert_eq!(deleted, [b.as_str()], "only the message without a twin");
    }

    #[test]
    fn default_policy_fetches_what_the_ledger_lacks_and_deletes_nothing() {
        let p = plan(&[entry("u2", 0)], &Policy::default(), true, &HashSet::new());
        assert_eq!(numbers(&p.fetch), [1, 3]);
        assert_eq!(p.already_stored, 1);
        assert!(p.delete.is_empty() && !p.delete_after_fetch);
        assert_eq!(p.total_bytes(), 400);
    }

    #[test]
    fn after_days_deletes_only_old_enough_messages() {
        let policy = Policy {
            delete: DeletePolicy::AfterDays(30),
            ..Default::default()
        };
        let ledger = [entry("u1", 60 * 86_400), entry("u2", 80 * 86_400)];
        let p = plan(&ledger, &policy, true, &HashSet::new());
        assert_eq!(
            p.delete,
            [Delete {
                number: 1,
                uidl: "u1".into()
            }]
        );
    }

    #[test]
    fn after_download_needs_a_persistent_store() {
        let policy = Policy {
            delete: DeletePolicy::AfterDownload,
            ..Default::default()
        };
        let ledger = [entry("u1", 0)];
        let p = plan(&ledger, &policy, false, &HashSet::new());
        assert!(!p.delete_after_fetch && p.delete.is_empty());
        assert_eq!(p.warnings, [Warning::DeleteRefusedNotPersistent]);

        // Persistent: new ones go after commit, and one stored before a broken QUIT goes now.
        let p = plan(&ledger, &policy, true, &HashSet::new());
        assert!(p.delete_after_fetch);
        assert_eq!(
            p.delete,
            [Delete {
                number: 1,
                uidl: "u1".into()
            }]
        );
    }

    #[test]
    fn deleted_locally_leaves_the_server_only_with_that_policy() {
        let e = entry("u1", 0).into_deleted_locally();
        let p = plan(
            std::slice::from_ref(&e),
            &Policy::default(),
            true,
            &HashSet::new(),
        );
        assert!(p.delete.is_empty());
        assert_eq!(numbers(&p.fetch), [2, 3], "never downloaded again");
        let policy = Policy {
            delete: DeletePolicy::WhenDeletedLocally,
            ..Default::default()
        };
        let p = plan(&[e], &policy, true, &HashSet::new());
        assert_eq!(p.delete.len(), 1);
    }

    #[test]
    fn size_limit_fetches_headers_only_and_never_deletes_them() {
        let policy = Policy {
            size_limit: Some(150),
            delete: DeletePolicy::AfterDays(0),
            ..Default::default()
        };
        let p = plan(&[], &policy, true, &HashSet::new());
        let headers: Vec<bool> = p.fetch.iter().map(|f| f.headers_only).collect();
        assert_eq!(headers, [false, true, true]);

        let e = LedgerEntry::stored("a", "u2", b"x", true, 0);
        let p = plan(std::slice::from_ref(&e), &policy, true, &HashSet::new());
        assert!(p.delete.is_empty());
        // "Download the rest": asked for, it is fetched whole.
        let want: HashSet<String> = ["u2".to_string()].into();
        let p = plan(&[e], &policy, true, &want);
        assert!(p.fetch.iter().any(|f| f.uidl == "u2" && !f.headers_only));
    }

    /// A skipped message under `policy`: not fetched, not deleted, whatever else holds.
    fn assert_skipped_stays(policy: &Policy, ledger: &[LedgerEntry]) {
        let want: HashSet<String> = ["u2".to_string()].into();
        for persistent in [false, true] {
            for want_full in [&HashSet::new(), &want] {
                let p = plan(ledger, policy, persistent, want_full);
                assert!(
                    !p.fetch.iter().any(|f| f.uidl == "u2"),
                    "{policy:?}: skipped message fetched"
                );
                assert!(
                    !p.delete.iter().any(|d| d.uidl == "u2"),
                    "{policy:?}: skipped message deleted from the server"
                );
                assert_eq!(p.skipped, 1, "{policy:?}");
            }
        }
    }

    #[test]
    fn skipped_is_never_fetched_nor_deleted_when_leaving_on_server() {
        assert_skipped_stays(&Policy::default(), &[skipped("u2", 0)]);
        let p = plan(
            &[skipped("u2", 0)],
            &Policy::default(),
            true,
            &HashSet::new(),
        );
        assert_eq!(numbers(&p.fetch), [1, 3]);
        assert_eq!(p.already_stored, 0, "a skipped message is not stored");
    }

    #[test]
    fn skipped_is_never_deleted_after_days() {
        let policy = Policy {
            delete: DeletePolicy::AfterDays(0),
            ..Default::default()
        };
        // Stored ones that old do go: the policy is in force, only the skipped one stays.
        let ledger = [entry("u1", 0), skipped("u2", 0)];
        assert_skipped_stays(&policy, &ledger);
        let p = plan(&ledger, &policy, true, &HashSet::new());
        assert_eq!(
            p.delete,
            [Delete {
                number: 1,
                uidl: "u1".into()
            }]
        );
    }

    #[test]
    fn skipped_is_never_deleted_after_download() {
        let policy = Policy {
            delete: DeletePolicy::AfterDownload,
            ..Default::default()
        };
        let ledger = [entry("u1", 0), skipped("u2", 0)];
        assert_skipped_stays(&policy, &ledger);
        let p = plan(&ledger, &policy, true, &HashSet::new());
        assert!(p.delete_after_fetch);
        assert_eq!(numbers(&p.fetch), [3]);
        assert_eq!(p.delete.len(), 1);
    }

    #[test]
    fn skipped_is_never_deleted_when_deleted_locally() {
        let policy = Policy {
            delete: DeletePolicy::WhenDeletedLocally,
            ..Default::default()
        };
        assert_skipped_stays(&policy, &[skipped("u2", 0)]);
    }

    #[test]
    fn skipped_with_a_size_limit_is_neither_fetched_nor_deleted() {
        let policy = Policy {
            size_limit: Some(150),
            delete: DeletePolicy::AfterDays(0),
            ..Default::default()
        };
        assert_skipped_stays(&policy, &[skipped("u2", 0)]);
    }

    #[test]
    fn max_per_session_defers_the_rest() {
        let policy = Policy {
            max_per_session: Some(2),
            ..Default::default()
        };
        let p = plan(&[], &policy, true, &HashSet::new());
        assert_eq!(numbers(&p.fetch), [1, 2]);
        assert_eq!(p.deferred, 1);
    }

    #[test]
    fn duplicate_uidl_is_handled_once() {
        let uidls = vec![(1, "a".to_string()), (2, "a".to_string())];
        let p = SyncPlan::new(&PlanInput {
            uidls: &uidls,
            sizes: &[],
            ledger: &[],
            policy: &Policy::default(),
            now: 0,
            store_persistent: true,
            want_full: &HashSet::new(),
            budget: None,
        });
        assert_eq!(p.fetch.len(), 1);
    }

    #[test]
    fn large_mailbox_plans_in_linear_time() {
        let (uidls, sizes) = listing(100_000);
        let ledger: Vec<LedgerEntry> = (1..=50_000).map(|i| entry(&format!("u{i}"), 0)).collect();
        let policy = Policy {
            delete: DeletePolicy::AfterDays(1),
            ..Default::default()
        };
        let p = SyncPlan::new(&PlanInput {
            uidls: &uidls,
            sizes: &sizes,
            ledger: &ledger,
            policy: &policy,
            now: 10 * 86_400,
            store_persistent: true,
            want_full: &HashSet::new(),
            budget: None,
        });
        assert_eq!(p.fetch.len(), 50_000);
        assert_eq!(p.already_stored, 50_000);
        assert_eq!(p.delete.len(), 50_000);
    }
}
