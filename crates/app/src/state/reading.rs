//! The reader's slice of the state: the open message and whose remote content loads without
//! asking. Its own actions and reducer; [`super::State`] routes to it.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// An open message, parsed for display.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderView {
    pub id: String,
    pub from: String,
    /// The sender's address, lowercase: the key for "always load remote content from".
    pub sender: String,
    /// The receiving server vouched for the sender's domain (DMARC, or aligned DKIM, passed).
    /// Only then does "always load remote content from" this sender apply: an unauthenticated
    /// From: can name anyone the user trusts.
    pub sender_verified: bool,
    pub to: String,
    pub subject: String,
    pub date: Option<i64>,
    /// The plain-text body, shown when there is no HTML body.
    pub body: String,
    /// The HTML body as the sender wrote it; shown only through `html_mail::render`.
    pub html: Option<Rc<str>>,
    /// Content-ID (without brackets) to a `data:` URL of that image part.
    pub inline: Rc<HashMap<String, String>>,
    pub attachments: Vec<Attachment>,
    /// The user allowed remote images and styles for this message, or for its sender.
    pub remote_allowed: bool,
    /// The message as stored, for "View source" and for saving attachments.
    pub raw: Rc<[u8]>,
}

/// An attachment of the open message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
    /// Where it is in the message's bytes.
    pub part: postino_sync::layout::Part,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn open(id: &str, sender: &str, sender_verified: bool) -> ReadAction {
        ReadAction::Open(ReaderView {
            id: id.into(),
            sender: sender.into(),
            sender_verified,
            ..Default::default()
        })
    }

    fn remote_allowed(reading: &Reading) -> bool {
        reading.open.as_ref().unwrap().remote_allowed
    }

    #[test]
    fn remote_content_is_allowed_per_message() {
        let mut reading = Reading::default();
        reading.reduce(open("x", "a@b.example", true));
        reading.reduce(ReadAction::AllowRemote("other".into()));
        assert!(!remote_allowed(&reading));
        reading.reduce(ReadAction::AllowRemote("x".into()));
        assert!(remote_allowed(&reading));
        reading.reduce(ReadAction::Close);
        assert!(reading.open.is_none());
    }

    #[test]
    fn remote_content_from_a_trusted_sender_loads_without_asking() {
        let mut reading = Reading::default();
        reading.reduce(open("1", "news@shop.example", true));
        assert!(!remote_allowed(&reading));
        reading.reduce(ReadAction::RemoteSenders(HashSet::from([
            "news@shop.example".into(),
        ])));
        assert!(remote_allowed(&reading), "the open message too");
        reading.reduce(open("2", "news@shop.example", true));
        assert!(remote_allowed(&reading));
        reading.reduce(open("3", "other@shop.example", true));
        assert!(!remote_allowed(&reading));
    }

    #[test]
    fn an_unauthenticated_from_does_not_load_a_trusted_senders_remote_content() {
        let trusted = || ReadAction::RemoteSenders(HashSet::from(["news@shop.example".into()]));
        let mut reading = Reading::default();
        reading.reduce(trusted());
        reading.reduce(open("f", "news@shop.example", false));
        assert!(!remote_allowed(&reading));
        reading.reduce(trusted());
        assert!(!remote_allowed(&reading));
    }

    #[test]
    fn the_reader_closes_when_its_message_or_account_goes() {
        let mut reading = Reading::default();
        reading.reduce(open("a/1", "", false));
        reading.reduce(ReadAction::Deleted("a/2".into()));
        reading.reduce(ReadAction::AccountRemoved("ab".into()));
        assert!(reading.open.is_some(), "another message, another account");
        reading.reduce(ReadAction::Deleted("a/1".into()));
        assert!(reading.open.is_none());
        reading.reduce(open("a/1", "", false));
        reading.reduce(ReadAction::AccountRemoved("a".into()));
        assert!(reading.open.is_none());
    }
}
