//! The search indexer: puts the stored messages the index lacks into it (new mail, and mail
//! stored before the index existed), a chunk at a time: chunk k+1 is read and parsed while
//! chunk k is written. One indexer runs at a time; asked while it runs, it runs once more
//! when done (new mail arrived meanwhile).

use std::cell::Cell;
use std::rc::Rc;

use crate::idb::IdbStore;
use crate::protocol::Event;

/// Where the indexer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Idle,
    Running,
    /// Running, and asked to run again when done.
    RunningAgain,
}

thread_local! {
    static RUN: Cell<Run> = const { Cell::new(Run::Idle) };
}

/// Indexes in the background; `notify` hears how many messages are left.
pub fn request(store: Rc<IdbStore>, notify: Rc<dyn Fn(Event)>) {
    let running = RUN.with(|r| {
        let now = r.get();
        r.set(match now {
            Run::Idle => Run::Running,
            _ => Run::RunningAgain,
        });
        now != Run::Idle
    });
    if running {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            // First the terms a download or an import held back (`IdbStore::flush_index`):
            // what is written there is not read back below.
            if let Err(e) = store.flush_index().await {
                notify(Event::Failed(format!(
                    "The search index could not be written ({e})."
                )));
            }
            index_stored(&store, &*notify).await;
            let again = RUN.with(|r| {
                let again = r.get() == Run::RunningAgain;
                r.set(if again { Run::Running } else { Run::Idle });
                again
            });
            if !again {
                break;
            }
        }
    });
}

async fn index_stored(store: &IdbStore, notify: &dyn Fn(Event)) {
    const CHUNK: usize = 500;
    let failed = |e: postino_sync::StoreError| {
        notify(Event::Failed(format!(
            "Postino could not prepare search: {e}."
        )))
    };
    let ids = match store.unindexed().await {
        Ok(ids) => ids,
        Err(e) => return failed(e),
    };
    let mut left = ids.len();
    if left > 0 {
        notify(Event::IndexPending(left));
    }
    let mut writing = None;
    for chunk in ids.chunks(CHUNK) {
        let records = match store.index_records(chunk).await {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        if let Some(write) = writing.take() {
            if let Err(e) = write.await {
                return failed(e);
            }
            left -= CHUNK;
            notify(Event::IndexPending(left));
        }
        writing = Some(store.put_index(records));
    }
    if let Some(write) = writing {
        if let Err(e) = write.await {
            return failed(e);
        }
    }
    // Searching is ready once its table is loaded, not only its postings written.
    if let Err(e) = store.prepare_search().await {
        return failed(e);
    }
    // 0 only when no other run is waiting (mail arrived while this one ran).
    if RUN.with(|r| r.get()) != Run::RunningAgain {
        notify(Event::IndexPending(0));
    }
}
