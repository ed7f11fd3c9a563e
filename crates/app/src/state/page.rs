//! The page's slice of the state: what the browser says around it (the stored mail's space and
//! persistence, the service worker's news), whether the mail engine has loaded, and whether the
//! settings are shown. Its own actions and reducer; [`super::State`] routes to it. (The network
//! is the check's: a check waits for it, see [`super::Checking`].)

use postino_i18n::{fill, t};

/// What the browser says about the stored mail: kept until the user deletes it, or cleared when
/// space runs low (`navigator.storage`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageStatus {
    /// `None`: not known yet, or the browser cannot tell.
    pub persistent: Option<bool>,
    /// Bytes used by this site and the quota, when the browser says.
    pub usage: Option<(u64, u64)>,
}

impl StorageStatus {
    /// A warning once less than a tenth of the quota (or 200 MB) is left, so the user can make
    /// room before a download fails.
    pub fn low_space_warning(&self) -> Option<String> {
        let (used, quota) = self.usage?;
        let left = quota.saturating_sub(used);
        (quota > 0 && (left < quota / 10 || left < 200_000_000))
            .then(|| fill(t().low_space, &[("mb", &(left / 1_000_000))]))
    }
}

/// The service worker's news for the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerNews {
    /// A service worker controls the page: the app starts without the network.
    OfflineReady,
    /// A new version is installed and waits for the user's go-ahead.
    UpdateReady,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// A service worker controls the page: it opens without the network.
    pub offline_ready: bool,
    /// A new version waits for the user's go-ahead (the update banner).
    pub update_ready: bool,
    pub storage: StorageStatus,
    pub show_settings: bool,
    /// Whether the mail engine (the worker that checks mail) has loaded.
    pub engine: crate::engine::Status,
}

pub enum PageAction {
    Worker(WorkerNews),
    Storage(StorageStatus),
    ShowSettings(bool),
    /// The mail engine loaded, is loading, or did not load.
    Engine(crate::engine::Status),
}

impl Page {
    pub fn reduce(&mut self, action: PageAction) {
        match action {
            PageAction::Worker(WorkerNews::OfflineReady) => self.offline_ready = true,
            PageAction::Worker(WorkerNews::UpdateReady) => self.update_ready = true,
            PageAction::Storage(status) => self.storage = status,
            PageAction::ShowSettings(show) => self.show_settings = show,
            PageAction::Engine(status) => self.engine = status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;

    #[test]
    fn the_service_workers_news_stays() {
        let mut page = Page::default();
        page.reduce(PageAction::Worker(WorkerNews::OfflineReady));
        assert!(page.offline_ready && !page.update_ready);
        page.reduce(PageAction::Worker(WorkerNews::UpdateReady));
        assert!(page.offline_ready && page.update_ready);
    }

    #[test]
    fn the_settings_storage_and_engine_follow_their_news() {
        let mut page = Page::default();
        assert_eq!(page.engine, Status::Loading);
        page.reduce(PageAction::Engine(Status::Ready));
        page.reduce(PageAction::ShowSettings(true));
        let status = StorageStatus {
            persistent: Some(true),
            usage: Some((1, 2)),
        };
        page.reduce(PageAction::Storage(status.clone()));
        assert_eq!(
            page,
            Page {
                offline_ready: false,
                update_ready: false,
                storage: status,
                show_settings: true,
                engine: Status::Ready,
            }
        );
        page.reduce(PageAction::ShowSettings(false));
        assert!(!page.show_settings);
    }

    #[test]
    fn low_storage_is_warned_before_it_runs_out() {
        let status = |used, quota| StorageStatus {
            persistent: None,
            usage: Some((used, quota)),
        };
        assert!(status(1_000_000_000, 10_000_000_000)
            .low_space_warning()
            .is_none());
        assert!(status(9_500_000_000, 10_000_000_000)
            .low_space_warning()
            .unwrap()
            .contains("500 MB left"));
        assert!(
            status(100, 150_000_000).low_space_warning().is_some(),
            "a small quota"
        );
        assert!(StorageStatus::default().low_space_warning().is_none());
    }
}
