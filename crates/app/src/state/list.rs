//! The list's slice of the state: the stored summaries, which of them the list shows and in
//! what order (mailbox, search, sort), and the search index's news. Its own actions and
//! reducer; [`super::State`] routes to it.

use std::collections::HashSet;
use std::rc::Rc;

use postino_sync::search::Query;
use postino_sync::Summary;

use super::{SearchHits, SortKey};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailList {
    /// Newest first. Shared: an action that does not change the messages does not copy them.
    pub messages: Rc<Vec<Summary>>,
    /// What the list shows, in order: positions in `messages`. Recomputed when the messages,
    /// the mailbox, the search results or the order change.
    pub view: Rc<Vec<u32>>,
    /// The account whose mailbox is shown; `None` is the unified inbox.
    pub mailbox: Option<String>,
    /// Some of `messages` were imported (kept with `messages`, not scanned at each render).
    imported: bool,
    /// The search as typed.
    pub search: String,
    /// What the search index found for `search` (or for an earlier text, until the answer for
    /// the current one arrives).
    pub hits: Option<SearchHits>,
    /// Stored messages the search index does not hold yet.
    pub index_pending: usize,
    pub sort: SortKey,
}

pub enum ListAction {
    /// The stored messages, read again (at start, after a check, after an import).
    Messages(Vec<Summary>),
    /// The user deleted message `id` in Postino.
    Deleted(String),
    /// An account was removed with its stored mail.
    AccountRemoved(String),
    /// Show the mailbox of one account, or of all (`None`).
    Mailbox(Option<String>),
    Search(String),
    /// The index answered the search `query`.
    SearchResults {
        query: String,
        ids: HashSet<String>,
    },
    IndexPending(usize),
    /// Message `id` was opened: it is read now.
    MarkedRead(String),
    Sort(SortKey),
}

impl MailList {
    /// Applies `action`. False when nothing changed (an answer to a search text that is no
    /// longer the one typed).
    pub fn reduce(&mut self, action: ListAction) -> bool {
        let before = (
            self.messages.clone(),
            self.shown_search().cloned(),
            self.mailbox.clone(),
            self.sort,
        );
        match action {
            ListAction::Messages(mut messages) => {
                sort_messages(&mut messages);
                self.messages = Rc::new(messages);
            }
            ListAction::Deleted(id) => Rc::make_mut(&mut self.messages).retain(|m| m.id != id),
            ListAction::AccountRemoved(id) => {
                Rc::make_mut(&mut self.messages).retain(|m| m.account != id);
                if self.mailbox.as_deref() == Some(id.as_str()) {
                    self.mailbox = None;
                }
            }
            ListAction::Mailbox(account) => self.mailbox = account,
            ListAction::Search(text) => self.search = text,
            ListAction::SearchResults { query, ids } => {
                // An answer to an earlier text is stale: a newer one is on its way.
                if query != self.search {
                    return false;
                }
                self.hits = Some(SearchHits {
                    query,
                    ids: Rc::new(ids),
                });
            }
            ListAction::IndexPending(n) => {
                self.index_pending = n;
                return true;
            }
            ListAction::MarkedRead(id) => {
                let messages = Rc::make_mut(&mut self.messages);
                if let Some(m) = messages.iter_mut().find(|m| m.id == id) {
                    m.read = true;
                }
            }
            ListAction::Sort(key) => self.sort = key,
        }
        if !Rc::ptr_eq(&self.messages, &before.0)
            || self.shown_search() != before.1.as_ref()
            || self.mailbox != before.2
            || self.sort != before.3
        {
            self.refresh_view();
        }
        true
    }

    /// The search whose results the list shows: `None` shows every message.
    pub fn shown_search(&self) -> Option<&SearchHits> {
        if Query::parse(&self.search).is_empty() {
            None
        } else {
            self.hits.as_ref()
        }
    }

    /// The messages the list shows, in order.
    pub fn visible(&self) -> impl Iterator<Item = &Summary> + '_ {
        self.view.iter().map(|&i| &self.messages[i as usize])
    }

    /// Some stored mail was imported (it has no account).
    pub fn has_imported(&self) -> bool {
        self.imported
    }

    fn refresh_view(&mut self) {
        self.imported = self
            .messages
            .iter()
            .any(|m| m.account == postino_sync::import::IMPORTED_ACCOUNT);
        let hits = self.shown_search().map(|h| h.ids.clone());
        let mailbox = self.mailbox.as_deref();
        let mut view: Vec<u32> = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| mailbox.is_none_or(|a| m.account == a))
            .filter(|(_, m)| hits.as_ref().is_none_or(|h| h.contains(&m.id)))
            .map(|(i, _)| i as u32)
            .collect();
        // `messages` is kept newest first; a stable sort keeps that order among equals.
        let m = &self.messages;
        match self.sort {
            SortKey::Date => {}
            SortKey::Sender => {
                crate::sort::by_cached_key(&mut view, |&i| m[i as usize].from.to_lowercase())
            }
            SortKey::Size => crate::sort::indices(&mut view, &|a, b| {
                m[b as usize].size.cmp(&m[a as usize].size)
            }),
        }
        self.view = Rc::new(view);
    }
}

/// Newest first; messages without a date last, then by id for a stable order.
pub fn sort_messages(messages: &mut [Summary]) {
    crate::sort::by(messages, |a, b| {
        b.date
            .unwrap_or(i64::MIN)
            .cmp(&a.date.unwrap_or(i64::MIN))
            .then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, account: &str, date: i64) -> Summary {
        Summary {
            id: id.into(),
            account: account.into(),
            date: Some(date),
            ..Default::default()
        }
    }

    fn shown(list: &MailList) -> Vec<&str> {
        list.visible().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn the_slice_alone_keeps_its_view_in_step() {
        let mut list = MailList::default();
        assert!(list.reduce(ListAction::Messages(vec![
            summary("a/1", "a", 1),
            summary("b/2", "b", 2),
            summary("a/3", "a", 3),
        ])));
        assert_eq!(shown(&list), ["a/3", "b/2", "a/1"]);
        list.reduce(ListAction::Mailbox(Some("b".into())));
        assert_eq!(shown(&list), ["b/2"]);
        // Removing the shown account's mail goes back to every account.
        list.reduce(ListAction::AccountRemoved("b".into()));
        assert_eq!(list.mailbox, None);
        assert_eq!(shown(&list), ["a/3", "a/1"]);
        list.reduce(ListAction::Deleted("a/3".into()));
        assert_eq!(shown(&list), ["a/1"]);
    }

    #[test]
    fn an_answer_to_an_older_search_changes_nothing() {
        let mut list = MailList::default();
        list.reduce(ListAction::Messages(vec![summary("a/1", "a", 1)]));
        list.reduce(ListAction::Search("newer".into()));
        let before = list.clone();
        let changed = list.reduce(ListAction::SearchResults {
            query: "older".into(),
            ids: HashSet::new(),
        });
        assert!(!changed);
        assert_eq!(list, before);
        assert!(list.reduce(ListAction::SearchResults {
            query: "newer".into(),
            ids: HashSet::new(),
        }));
        assert!(shown(&list).is_empty(), "the search found nothing");
    }
}
