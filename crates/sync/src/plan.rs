//! The sync plan: what to download, from the server's listing and the ledger. Pure.

use std::collections::{HashMap, HashSet};

/// One message to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    /// Message number in this session (RFC 1939: valid only until QUIT).
    pub number: u32,
    pub uidl: String,
    /// Size from LIST, for progress; the stored size is what arrives.
    pub size: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub fetch: Vec<Fetch>,
    /// Messages on the server that the ledger already holds.
    pub already_stored: usize,
}

impl SyncPlan {
    /// Plan a leave-on-server sync: fetch what the ledger lacks, in server order. A UIDL listed
    /// twice (a broken server) is fetched once. Cost: O(n) with hashing.
    pub fn new(
        uidls: &[(u32, String)],
        sizes: &[(u32, u64)],
        ledger: &HashSet<String>,
    ) -> SyncPlan {
        let sizes: HashMap<u32, u64> = sizes.iter().copied().collect();
        let mut seen = HashSet::with_capacity(uidls.len());
        let mut plan = SyncPlan::default();
        for (number, uidl) in uidls {
            if !seen.insert(uidl.as_str()) {
                continue;
            }
            if ledger.contains(uidl) {
                plan.already_stored += 1;
                continue;
            }
            plan.fetch.push(Fetch {
                number: *number,
                uidl: uidl.clone(),
                size: sizes.get(number).copied().unwrap_or(0),
            });
        }
        plan
    }

    pub fn total_bytes(&self) -> u64 {
        self.fetch.iter().map(|f| f.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_only_what_the_ledger_lacks() {
        let uidls = vec![
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string()),
        ];
        let sizes = vec![(1, 10), (2, 20), (3, 30)];
        let ledger: HashSet<String> = ["b".to_string()].into();
        let plan = SyncPlan::new(&uidls, &sizes, &ledger);
        assert_eq!(plan.already_stored, 1);
        assert_eq!(
            plan.fetch
                .iter()
                .map(|f| (f.number, f.size))
                .collect::<Vec<_>>(),
            [(1, 10), (3, 30)]
        );
        assert_eq!(plan.total_bytes(), 40);
    }

    #[test]
    fn duplicate_uidl_is_fetched_once() {
        let uidls = vec![(1, "a".to_string()), (2, "a".to_string())];
        let plan = SyncPlan::new(&uidls, &[], &HashSet::new());
        assert_eq!(plan.fetch.len(), 1);
    }

    #[test]
    fn large_mailbox_plans_quickly() {
        let uidls: Vec<(u32, String)> = (1..=100_000).map(|i| (i, format!("uid{i}"))).collect();
        let ledger: HashSet<String> = (1..=50_000).map(|i| format!("uid{i}")).collect();
        let plan = SyncPlan::new(&uidls, &[], &ledger);
        assert_eq!(plan.fetch.len(), 50_000);
        assert_eq!(plan.already_stored, 50_000);
    }
}
