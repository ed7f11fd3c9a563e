//! The reader's slice of the state: the open message and whose remote content loads without
//! asking. Its own actions and reducer; [`super::State`] routes to it.

use std::collections::HashSet;
use std::rc::Rc;

use super::ReaderView;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// The open message.
    pub open: Option<ReaderView>,
    /// Senders whose remote images and styles load without asking (lowercase addresses).
    pub remote_senders: Rc<HashSet<String>>,
}

pub enum ReadAction {
    Open(ReaderView),
    Close,
    /// Load remote images and styles in the open message `id`.
    AllowRemote(String),
    /// Always load remote content from these senders (the saved list, or one more).
    RemoteSenders(HashSet<String>),
    /// The user deleted message `id`: the reader closes if it shows it.
    Deleted(String),
    /// Account `id` was removed with its mail: the reader closes if it shows one of its messages.
    AccountRemoved(String),
}

impl Reading {
    pub fn reduce(&mut self, action: ReadAction) {
        match action {
            ReadAction::Open(mut view) => {
                // Only a sender the receiving server vouched for (DMARC, aligned DKIM): an
                // unauthenticated From: can name anyone the user trusts.
                view.remote_allowed |=
                    view.sender_verified && self.remote_senders.contains(&view.sender);
                self.open = Some(view);
            }
            ReadAction::Close => self.open = None,
            ReadAction::AllowRemote(id) => {
                if let Some(view) = self.open.as_mut().filter(|v| v.id == id) {
                    view.remote_allowed = true;
                }
            }
            ReadAction::RemoteSenders(senders) => {
                if let Some(view) = self.open.as_mut() {
                    view.remote_allowed |= view.sender_verified && senders.contains(&view.sender);
                }
                self.remote_senders = Rc::new(senders);
            }
            ReadAction::Deleted(id) => {
                if self.open.as_ref().is_some_and(|v| v.id == id) {
                    self.open = None;
                }
            }
            ReadAction::AccountRemoved(account) => {
                // Message ids are `account/uidl`.
                let prefix = format!("{account}/");
                if self
                    .open
                    .as_ref()
                    .is_some_and(|v| v.id.starts_with(&prefix))
                {
                    self.open = None;
                }
            }
        }
    }
}
