//! The list's slice of the state: the stored summaries, which of them the list shows and in
//! what order (mailbox, search, sort), and the search index's news. Its own actions and
//! reducer; [`super::State`] routes to it.

use std::collections::HashSet;
use std::rc::Rc;

use postino_sync::search::Query;
use postino_sync::Summary;

/// The order of the message list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Newest first.
    #[default]
    Date,
    /// By sender, A to Z, then newest first.
    Sender,
    /// Largest first.
    Size,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Date => "date",
            SortKey::Sender => "sender",
            SortKey::Size => "size",
        }
    }

    pub fn parse(s: &str) -> SortKey {
        match s {
            "sender" => SortKey::Sender,
            "size" => SortKey::Size,
            _ => SortKey::Date,
        }
    }
}

/// The messages the search index found for `query`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchHits {
    pub query: String,
    pub ids: Rc<HashSet<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailList {
    /// Newest first. Shared, and each summary shared too: an action that does not change the
    /// messages does not copy them, and one that does (new mail, a read mark) copies pointers,
    /// not summaries. Copying 10,000 summaries for each post of new mail during a download took
    /// about 12 ms natively and was most of the page's longest tasks.
    pub messages: Rc<Vec<Rc<Summary>>>,
    /// What the list shows, in order: positions in `messages`. Recomputed when the messages,
    /// the mailbox, the search results or the order change.
    pub view: Rc<Vec<u32>>,
    /// The account whose mailbox is shown; `None` is the unified inbox.
    pub mailbox: Option<String>,
    /// Some of `messages` were imported (kept with `messages`, not scanned at each render or
    /// post of new mail).
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
    /// Messages the engine just stored: added to the list (those it shows already, from a
    /// reading of the store that crossed the news, are left as they are).
    Stored(Vec<Summary>),
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
                self.imported = messages.iter().any(is_imported);
                self.messages = Rc::new(messages.into_iter().map(Rc::new).collect());
            }
            ListAction::Stored(stored) => {
                // A post of new mail during a download, every 2 s: a few hundred messages into a
                // list that is already in order. The new mail is sorted alone and merged in,
                // reading of the listed summaries only what the merge compares (their dates,
                // mostly). Hashing every id in the list (each a read of memory far from the
                // last), sorting it all again and scanning every account for imported mail took
                // 46-59 ms natively for 100,000 stored messages (now 13-15 ms; 10,000: 4-5 ms, now
                // 2 ms).
                let mut new: Vec<Rc<Summary>> = stored.into_iter().map(Rc::new).collect();
                sort_messages(&mut new);
                new.dedup_by(|a, b| a.id == b.id);
                if !new.is_empty() {
                    self.imported |= new.iter().any(|m| is_imported(m));
                    self.messages = Rc::new(merge(&self.messages, new));
                }
            }
            ListAction::Deleted(id) => {
                Rc::make_mut(&mut self.messages).retain(|m| m.id != id);
                self.imported = self.messages.iter().any(|m| is_imported(m));
            }
            ListAction::AccountRemoved(id) => {
                Rc::make_mut(&mut self.messages).retain(|m| m.account != id);
                self.imported = self.messages.iter().any(|m| is_imported(m));
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
                    Rc::make_mut(m).read = true;
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
        self.view.iter().map(|&i| &*self.messages[i as usize])
    }

    /// Some stored mail was imported (it has no account).
    pub fn has_imported(&self) -> bool {
        self.imported
    }

    fn refresh_view(&mut self) {
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
pub fn sort_messages<S: std::borrow::Borrow<Summary>>(messages: &mut [S]) {
    crate::sort::by(messages, |a, b| order(a.borrow(), b.borrow()));
}

/// The list's order ([`sort_messages`]): a total order, as ids differ.
fn order(a: &Summary, b: &Summary) -> std::cmp::Ordering {
    b.date
        .unwrap_or(i64::MIN)
        .cmp(&a.date.unwrap_or(i64::MIN))
        .then_with(|| a.id.cmp(&b.id))
}

/// `list` and `new`, each in the list's order, in one list in that order: what sorting them
/// together gives, in one pass. A message of `new` that `list` has already (the same id, so the
/// same date: the same stored summary, read from the store as well) is left out, and `list`'s
/// copy kept.
fn merge(list: &[Rc<Summary>], new: Vec<Rc<Summary>>) -> Vec<Rc<Summary>> {
    let mut merged = Vec::with_capacity(list.len() + new.len());
    let mut new = new.into_iter().peekable();
    for m in list {
        while let Some(n) = new.next_if(|n| order(n, m).is_le()) {
            if n.id != m.id {
                merged.push(n);
            }
        }
        merged.push(m.clone());
    }
    merged.extend(new);
    merged
}

fn is_imported(m: &Summary) -> bool {
    m.account == postino_sync::import::IMPORTED_ACCOUNT
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
    fn new_mail_and_a_read_mark_share_the_summaries_they_do_not_change() {
        let mut list = MailList::default();
        list.reduce(ListAction::Messages(vec![
            summary("a/1", "a", 10),
            summary("a/2", "a", 20),
        ]));
        let before = list.messages.clone();
        list.reduce(ListAction::Stored(vec![summary("a/3", "a", 30)]));
        list.reduce(ListAction::MarkedRead("a/2".into()));
        assert_eq!(shown(&list), ["a/3", "a/2", "a/1"]);
        let now = |id: &str| list.messages.iter().find(|m| m.id == id).unwrap().clone();
        let then = |id: &str| before.iter().find(|m| m.id == id).unwrap().clone();
        assert!(Rc::ptr_eq(&now("a/1"), &then("a/1")), "not copied");
        assert!(
            now("a/2").read && !then("a/2").read,
            "the mark is a new summary"
        );
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
    fn mail_stored_during_a_check_joins_the_list_in_order_once() {
        let mut list = MailList::default();
        list.reduce(ListAction::Messages(vec![
            summary("a/1", "a", 10),
            summary("a/2", "a", 30),
        ]));
        list.reduce(ListAction::Mailbox(Some("a".into())));
        // A batch as the engine tells it: one newer, one older, one of another account, and one
        // the list already has (read from the store after it was stored).
        let mut known = summary("a/2", "a", 30);
        known.read = true;
        list.reduce(ListAction::Messages(vec![summary("a/1", "a", 10), known]));
        assert!(list.reduce(ListAction::Stored(vec![
            summary("a/4", "a", 40),
            summary("a/2", "a", 30),
            summary("a/0", "a", 5),
            summary("b/9", "b", 20),
        ])));
        assert_eq!(
            shown(&list),
            ["a/4", "a/2", "a/1", "a/0"],
            "newest first, in its mailbox"
        );
        assert!(
            list.visible().any(|m| m.id == "a/2" && m.read),
            "kept as the list had it"
        );
        list.reduce(ListAction::Mailbox(None));
        assert_eq!(shown(&list), ["a/4", "a/2", "b/9", "a/1", "a/0"]);
        assert_eq!(list.messages.len(), 5, "nothing twice");

        // Imported mail, known from the messages read or from new mail, and gone with them.
        let imported = postino_sync::import::IMPORTED_ACCOUNT;
        assert!(!list.has_imported());
        list.reduce(ListAction::Stored(vec![summary("i/1", imported, 1)]));
        assert!(list.has_imported());
        list.reduce(ListAction::Deleted("i/1".into()));
        assert!(!list.has_imported());
        list.reduce(ListAction::Messages(vec![summary("i/2", imported, 1)]));
        assert!(list.has_imported());
        list.reduce(ListAction::AccountRemoved(imported.into()));
        assert!(!list.has_imported());
    }

    #[test]
    fn new_mail_merged_in_is_what_sorting_it_all_gives() {
        let mut seed = 11u32;
        let mut next = move |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 8) % n
        };
        for (old, new) in [(0, 3), (5, 0), (1, 1), (40, 7), (300, 64), (64, 300)] {
            // Few distinct dates, some undated: equal dates are ordered by id.
            let mut all: Vec<Summary> = (0..old + new)
                .map(|_| Summary {
                    id: format!("a/{}", next(1_000_000)),
                    date: (next(9) > 0).then(|| i64::from(next(20))),
                    ..Default::default()
                })
                .collect();
            all.sort_by(|a, b| a.id.cmp(&b.id));
            all.dedup_by(|a, b| a.id == b.id);
            let mut shuffled = all.clone();
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, next(i as u32 + 1) as usize);
            }
            let split = (old as usize).min(shuffled.len());
            let mut list = MailList::default();
            list.reduce(ListAction::Messages(shuffled[..split].to_vec()));
            // With some the list has already, as a reading of the store may have crossed them.
            let mut batch = shuffled[split..].to_vec();
            batch.extend(shuffled[..split].iter().step_by(3).cloned());
            list.reduce(ListAction::Stored(batch));
            let mut expected = all;
            sort_messages(&mut expected);
            let got: Vec<&Summary> = list.messages.iter().map(|m| &**m).collect();
            assert_eq!(got, expected.iter().collect::<Vec<_>>(), "{old} + {new}");
        }
    }

    #[test]
    fn messages_sort_newest_first_undated_last() {
        let undated = |id: &str| Summary {
            id: id.into(),
            ..Default::default()
        };
        let mut m = vec![undated("x"), summary("old", "a", 1), summary("new", "a", 9)];
        sort_messages(&mut m);
        let ids: Vec<_> = m.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["new", "old", "x"]);
    }

    #[test]
    fn the_list_shows_the_index_answer_for_the_current_text_only() {
        let mut list = MailList::default();
        list.reduce(ListAction::Messages(vec![
            summary("a", "a", 1),
            summary("b", "a", 2),
        ]));
        list.reduce(ListAction::Search("rep".into()));
        assert_eq!(shown(&list), ["b", "a"], "no answer yet: everything");
        list.reduce(ListAction::Search("report".into()));
        let mut stale = list.clone();
        stale.reduce(ListAction::SearchResults {
            query: "rep".into(),
            ids: HashSet::from(["b".to_string()]),
        });
        assert!(
            stale.hits.is_none(),
            "an answer to an older text is dropped"
        );
        list.reduce(ListAction::SearchResults {
            query: "report".into(),
            ids: HashSet::from(["a".to_string()]),
        });
        assert_eq!(shown(&list), ["a"]);
        assert_eq!(
            list.shown_search().map(|h| h.query.as_str()),
            Some("report")
        );
        list.reduce(ListAction::Search(String::new()));
        assert_eq!(
            shown(&list),
            ["b", "a"],
            "an empty search shows everything again"
        );
        assert!(list.shown_search().is_none());
    }

    #[test]
    fn a_mailbox_shows_one_account_and_read_marks_stick() {
        let mut list = MailList::default();
        list.reduce(ListAction::Messages(vec![
            summary("a/1", "a", 1),
            summary("b/1", "b", 2),
        ]));
        list.reduce(ListAction::Mailbox(Some("a".into())));
        assert_eq!(shown(&list), ["a/1"]);
        list.reduce(ListAction::MarkedRead("a/1".into()));
        assert!(list.visible().next().unwrap().read);
        list.reduce(ListAction::Mailbox(None));
        assert_eq!(shown(&list), ["b/1", "a/1"]);
    }

    #[test]
    fn sort_by_sender_and_size() {
        let mut a = summary("a", "a", 1);
        (a.from, a.size) = ("zoe@x".into(), 10);
        let mut b = summary("b", "a", 2);
        (b.from, b.size) = ("Ada@x".into(), 5);
        let mut list = MailList::default();
        list.reduce(ListAction::Messages(vec![a, b]));
        assert_eq!(shown(&list), ["b", "a"]);
        list.reduce(ListAction::Sort(SortKey::Sender));
        assert_eq!(shown(&list), ["b", "a"]);
        list.reduce(ListAction::Sort(SortKey::Size));
        assert_eq!(shown(&list), ["a", "b"]);
        assert_eq!(SortKey::parse(SortKey::Size.as_str()), SortKey::Size);
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
