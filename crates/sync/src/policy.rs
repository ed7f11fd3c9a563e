//! What the user chose for an account: when mail leaves the server, how much to download.
//! The default leaves everything on the server (DESIGN.md invariant 4).

use serde::{Deserialize, Serialize};

/// When Postino deletes a downloaded message from the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "days")]
pub enum DeletePolicy {
    /// Never: the server keeps everything (the default).
    #[default]
    LeaveOnServer,
    /// Once the message has been stored for this many days.
    AfterDays(u32),
    /// When the user deletes it in Postino.
    WhenDeletedLocally,
    /// Right after it is stored. Only when the store is persistent, else refused (the browser
    /// could evict the only copy).
    AfterDownload,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    pub delete: DeletePolicy,
    /// Messages larger than this many octets are downloaded headers only (TOP n 0); the rest
    /// can be fetched later.
    pub size_limit: Option<u64>,
    /// At most this many new messages per check (the rest come next time).
    pub max_per_session: Option<usize>,
    /// Minutes between automatic checks; the server's LOGIN-DELAY can make it longer.
    pub poll_minutes: Option<u32>,
}

impl Policy {
    /// Seconds until the next automatic check, honouring the server's LOGIN-DELAY.
    pub fn next_check_after(&self, login_delay: Option<u64>) -> Option<u64> {
        let poll = self.poll_minutes.map(|m| u64::from(m) * 60)?;
        Some(poll.max(login_delay.unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_leaves_mail_on_the_server() {
        assert_eq!(Policy::default().delete, DeletePolicy::LeaveOnServer);
    }

    #[test]
    fn login_delay_stretches_the_poll_interval() {
        let p = Policy {
            poll_minutes: Some(2),
            ..Default::default()
        };
        assert_eq!(p.next_check_after(Some(300)), Some(300));
        assert_eq!(p.next_check_after(Some(60)), Some(120));
        assert_eq!(Policy::default().next_check_after(Some(60)), None);
    }

    #[test]
    fn serialises_readably() {
        let p = Policy {
            delete: DeletePolicy::AfterDays(14),
            ..Default::default()
        };
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            json.contains(r#""delete":{"kind":"after_days","days":14}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
        assert_eq!(
            serde_json::from_str::<Policy>("{}").unwrap(),
            Policy::default()
        );
    }
}
