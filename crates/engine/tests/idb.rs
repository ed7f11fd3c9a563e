//! `IdbStore` in headless Chromium: the suite every `Store` must pass, and data that outlives the
//! connection that wrote it (a reload).
#![cfg(target_arch = "wasm32")]

use postino_engine::idb::{delete_database, IdbStore};
use postino_sync::conformance::{check_store, sample_account, sample_message};
use postino_sync::store::Store;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Each test its own database, deleted before (a previous run may have left it) and after.
async fn fresh(name: &str) -> IdbStore {
    delete_database(name).await.unwrap();
    IdbStore::open(name).await.unwrap()
}

#[wasm_bindgen_test]
async fn idb_store_passes_the_store_suite() {
    let name = "postino-test-suite";
    let store = fresh(name).await;
    check_store(&store).await;
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_second_connection_sees_what_the_first_committed() {
    let name = "postino-test-reload";
    let first = fresh(name).await;
    let account = sample_account("acct-1");
    first.put_account(&account).await.unwrap();
    let message = sample_message("acct-1", "u1", vec![0x00, 0xFF, b'\r', b'\n']);
    first.commit_message(&message).await.unwrap();
    let (entry, raw, summary) = (message.entry, message.raw, message.summary);
    drop(first);

    let second = IdbStore::open(name).await.unwrap();
    assert_eq!(second.accounts().await.unwrap(), vec![account]);
    let mut summaries = second.summaries().await.unwrap();
    // A small message: in a pack, which its summary names.
    assert!(summaries[0].pack.take().is_some());
    assert_eq!(summaries, vec![summary]);
    assert_eq!(
        second.raw_message(&entry.message_id).await.unwrap(),
        Some(raw)
    );
    let uidls = second.ledger_uidls("acct-1").await.unwrap();
    assert_eq!(uidls.into_iter().collect::<Vec<_>>(), vec!["u1".to_owned()]);
    drop(second);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn two_open_connections_see_each_others_commits() {
    let name = "postino-test-two";
    let first = fresh(name).await;
    let second = IdbStore::open(name).await.unwrap();
    let message = sample_message("acct-1", "u9", b"hello".to_vec());
    first.commit_message(&message).await.unwrap();
    let (entry, raw) = (message.entry, message.raw);
    assert_eq!(
        second.raw_message(&entry.message_id).await.unwrap(),
        Some(raw)
    );
    drop(first);
    drop(second);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn removing_an_account_with_its_mail_leaves_other_accounts_alone() {
    let name = "postino-test-remove-account";
    let store = fresh(name).await;
    for id in ["acct", "acct2"] {
        store.put_account(&sample_account(id)).await.unwrap();
        let message = sample_message(id, "u1", b"Subject: s\r\n\r\nb\r\n".to_vec());
        store.commit_message(&message).await.unwrap();
    }
    store.delete_account("acct2", false).await.unwrap();
    assert_eq!(store.accounts().await.unwrap().len(), 1);
    assert_eq!(store.summaries().await.unwrap().len(), 2, "mail kept");

    store.delete_account("acct", true).await.unwrap();
    assert!(store.accounts().await.unwrap().is_empty());
    let left: Vec<_> = store
        .summaries()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.account)
        .collect();
    assert_eq!(left, ["acct2"]);
    assert!(store.ledger("acct").await.unwrap().is_empty());
    assert_eq!(store.ledger("acct2").await.unwrap().len(), 1);
    assert!(store.raw_message("acct/u1").await.unwrap().is_none());
    assert!(store.raw_message("acct2/u1").await.unwrap().is_some());
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_search_index_finds_words_through_the_index_and_forgets_deleted_mail() {
    use postino_sync::search::Query;
    use std::collections::HashSet;

    let name = "postino-test-search";
    let store = fresh(name).await;
    let bodies = [
        ("u1", "From: Ada <ada@example.org>\r\nSubject: Quarterly report\r\n\r\nThe engine works.\r\n"),
        ("u2", "From: Bob <bob@example.org>\r\nSubject: Lunch\r\n\r\nReport at noon, near the engine room.\r\n"),
        ("u3", "From: Eve <eve@example.org>\r\nSubject: Grüße\r\n\r\nnothing here\r\n"),
    ];
    let batch: Vec<_> = bodies
        .iter()
        .map(|(uidl, raw)| {
            // No terms: as mail stored before commits carried them, read back by the indexer.
            let mut message = sample_message("acct", uidl, raw.as_bytes().to_vec());
            message.terms.clear();
            message
        })
        .collect();
    store.commit_messages(&batch).await.unwrap();
    let mut waiting = store.unindexed().await.unwrap();
    waiting.sort();
    assert_eq!(
        waiting,
        ["acct/u1", "acct/u2", "acct/u3"],
        "indexed after the commit"
    );
    let records = store.index_records(&waiting).await.unwrap();
    store.put_index(records).await.unwrap();
    assert!(store.unindexed().await.unwrap().is_empty());

    let ids = |list: &[&str]| -> HashSet<String> { list.iter().map(|s| s.to_string()).collect() };
    let find = |text: &'static str| {
        let store = &store;
        async move { store.search(&Query::parse(text)).await.unwrap() }
    };
    assert_eq!(find("report ").await, ids(&["acct/u1", "acct/u2"]));
    assert_eq!(find("report engine").await, ids(&["acct/u1", "acct/u2"]));
    assert_eq!(find("report ada").await, ids(&["acct/u1"]));
    assert_eq!(
        find("quart").await,
        ids(&["acct/u1"]),
        "the last word as a prefix"
    );
    assert_eq!(
        find("GRÜSSE ").await,
        ids(&["acct/u3"]),
        "ß folds to ss, ü to u: Grüße, GRÜSSE and grusse are one word"
    );
    assert_eq!(find("grü").await, ids(&["acct/u3"]));
    assert_eq!(find("zebra").await, ids(&[]));

    // A second batch, committed with the terms parsed with its summary (as a download does):
    // its terms are held in memory until the download ends (or enough are held), then written
    // from memory, nothing read back. Ordinals continue, a term's postings span both batches.
    let raw = b"Subject: Engine report, again\r\n\r\nmore\r\n".to_vec();
    let mut later = sample_message("acct", "u4", raw.clone());
    later.terms = postino_sync::search::message_terms(&raw);
    store.commit_messages(&[later]).await.unwrap();
    assert_eq!(
        store.unindexed().await.unwrap().len(),
        1,
        "held until the flush"
    );
    store.flush_index().await.unwrap();
    assert!(store.unindexed().await.unwrap().is_empty());
    assert_eq!(
        find("engine report ").await,
        ids(&["acct/u1", "acct/u2", "acct/u4"])
    );
    // A second connection (another tab) finds what the first indexed.
    let other = IdbStore::open(name).await.unwrap();
    assert_eq!(
        other.search(&Query::parse("again")).await.unwrap(),
        ids(&["acct/u4"])
    );
    drop(other);

    let entry = &batch[0].entry;
    store.delete_message(entry).await.unwrap();
    assert_eq!(find("report ").await, ids(&["acct/u2", "acct/u4"]));
    store.delete_account("acct", true).await.unwrap();
    assert_eq!(find("engine").await, ids(&[]));
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_first_screen_is_the_newest_mail_by_date() {
    let name = "postino-test-newest";
    let store = fresh(name).await;
    let batch: Vec<_> = [("old", 10), ("newest", 30), ("middle", 20)]
        .iter()
        .map(|(uidl, date)| {
            let mut message = sample_message("acct", uidl, b"x\r\n".to_vec());
            message.summary.date = Some(*date);
            message
        })
        .collect();
    store.commit_messages(&batch).await.unwrap();
    let newest: Vec<String> = store
        .newest_summaries(2)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.uidl)
        .collect();
    assert_eq!(newest, ["newest", "middle"]);
    assert_eq!(store.newest_summaries(10).await.unwrap().len(), 3);
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_remembered_password_opens_only_for_the_server_it_was_remembered_for() {
    use postino_engine::vault;
    use postino_pop3::Secret;
    let name = "postino-test-vault-binding";
    let store = fresh(name).await;
    let account = sample_account("acct-v");
    let password = Secret::new("hunter2 ✉".to_string());
    vault::remember(&store, &account, &password).await.unwrap();
    let recalled = vault::recall(&store, &account).await.unwrap();
    assert_eq!(
        recalled.map(|p| p.expose().clone()).as_deref(),
        Some("hunter2 ✉")
    );

    // Each of these sends the password somewhere else: it must not open, and is forgotten.
    let elsewhere = [
        postino_sync::Account {
            host: "pop.attacker.example".into(),
            ..account.clone()
        },
        postino_sync::Account {
            port: 110,
            ..account.clone()
        },
        postino_sync::Account {
            user: "other".into(),
            ..account.clone()
        },
        postino_sync::Account {
            relay: "https://relay.attacker.example".into(),
            ..account.clone()
        },
        postino_sync::Account {
            security: postino_sync::Security::Stls,
            ..account.clone()
        },
    ];
    for changed in &elsewhere {
        vault::remember(&store, &account, &password).await.unwrap();
        assert!(
            vault::recall(&store, changed).await.unwrap().is_none(),
            "{:?}",
            changed.host
        );
        // Forgotten, not only refused: the original account no longer finds it either.
        assert!(vault::recall(&store, &account).await.unwrap().is_none());
    }
    drop(store);
    delete_database(name).await.unwrap();
}

/// Reads the database as it is on disk, around the `IdbStore`: what a later version (or a
/// reader in another tab) finds.
#[wasm_bindgen(inline_js = r#"
function open(name) {
    return new Promise((ok, fail) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => ok(request.result);
        request.onerror = () => fail(request.error);
    });
}
function done(request) {
    return new Promise((ok, fail) => {
        request.onsuccess = () => ok(request.result);
        request.onerror = () => fail(request.error);
    });
}
export async function record_keys(name, store) {
    const db = await open(name);
    try {
        return await done(db.transaction(store).objectStore(store).getAllKeys());
    } finally {
        db.close();
    }
}
export async function record(name, store, key) {
    const db = await open(name);
    try {
        return await done(db.transaction(store).objectStore(store).get(key));
    } finally {
        db.close();
    }
}
export async function put_record(name, store, value) {
    const db = await open(name);
    try {
        const tx = db.transaction(store, 'readwrite');
        tx.objectStore(store).put(value);
        await new Promise((ok, fail) => { tx.oncomplete = ok; tx.onabort = () => fail(tx.error); });
    } finally {
        db.close();
    }
}
"#)]
extern "C" {
    async fn record_keys(name: &str, store: &str) -> JsValue;
    async fn record(name: &str, store: &str, key: &str) -> JsValue;
    async fn put_record(name: &str, store: &str, value: JsValue);
}

fn keys(value: JsValue) -> Vec<String> {
    js_sys::Array::from(&value)
        .iter()
        .filter_map(|k| k.as_string())
        .collect()
}

/// A message of `size` bytes whose body tells where each byte came from.
fn sized_message(uidl: &str, size: usize) -> postino_sync::Incoming {
    let mut raw = format!("Subject: {uidl}\r\n\r\n").into_bytes();
    let fill = format!("{uidl} ");
    while raw.len() < size {
        raw.extend_from_slice(fill.as_bytes());
    }
    raw.truncate(size);
    sample_message("acct", uidl, raw)
}

#[wasm_bindgen_test]
async fn small_messages_go_in_packs_large_ones_alone_and_all_read_back() {
    let name = "postino-test-packs";
    let store = fresh(name).await;
    // Ten of 40 KB (seven fill a pack of 256 KiB, three start the next) and one of 100 KB.
    let mut batch: Vec<_> = (0..10)
        .map(|i| sized_message(&format!("s{i}"), 40_000))
        .collect();
    batch.insert(4, sized_message("large", 100_000));
    store.commit_messages(&batch).await.unwrap();

    assert_eq!(keys(record_keys(name, "messages").await), ["acct/large"]);
    // A pack's id is its first message's, `#`, and a random number.
    let packs = keys(record_keys(name, "packs").await);
    let firsts: Vec<&str> = packs.iter().filter_map(|k| k.split('#').next()).collect();
    assert_eq!(firsts, ["acct/s0", "acct/s7"], "{packs:?}");
    let ids: Vec<String> = batch.iter().map(|m| m.entry.message_id.clone()).collect();
    for message in &batch {
        let id = &message.entry.message_id;
        assert_eq!(
            store.raw_message(id).await.unwrap().as_ref(),
            Some(&message.raw),
            "{id}"
        );
    }
    let all = store.raw_messages(&ids).await.unwrap();
    assert_eq!(all.len(), batch.len());
    for ((id, raw), message) in all.iter().zip(&batch) {
        assert_eq!((id, raw), (&message.entry.message_id, &message.raw));
    }
    let mut waiting = store.unindexed().await.unwrap();
    waiting.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        waiting, expected,
        "packed messages are found for the indexer"
    );

    // The read mark keeps the place in the pack.
    let mut summary = store
        .summaries()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == "acct/s8")
        .unwrap();
    summary.read = true;
    store.put_summary(&summary).await.unwrap();
    assert_eq!(
        store.raw_message("acct/s8").await.unwrap(),
        Some(batch[9].raw.clone())
    );

    // Deleting a packed message zeroes its bytes in the pack; the others still read.
    store.delete_message(&batch[1].entry).await.unwrap();
    assert_eq!(store.raw_message("acct/s1").await.unwrap(), None);
    let pack = record(name, "packs", &packs[0]).await;
    let bytes = js_sys::Uint8Array::new(&js_sys::Reflect::get(&pack, &"raw".into()).unwrap());
    let kept = bytes.to_vec();
    assert!(
        kept[40_000..80_000].iter().all(|&b| b == 0),
        "the deleted bytes are gone"
    );
    assert_eq!(&kept[..40_000], &batch[0].raw[..]);
    assert_eq!(
        js_sys::Reflect::get(&pack, &"live".into())
            .unwrap()
            .as_f64(),
        Some(6.0)
    );
    for message in batch.iter().filter(|m| m.entry.message_id != "acct/s1") {
        let id = &message.entry.message_id;
        assert_eq!(
            store.raw_message(id).await.unwrap().as_ref(),
            Some(&message.raw),
            "{id}"
        );
    }
    // The pack goes with its last message.
    for message in &batch[8..] {
        store.delete_message(&message.entry).await.unwrap();
    }
    assert_eq!(keys(record_keys(name, "packs").await), [packs[0].clone()]);
    store.delete_account("acct", true).await.unwrap();
    assert!(keys(record_keys(name, "packs").await).is_empty());
    assert!(keys(record_keys(name, "messages").await).is_empty());
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn mail_stored_before_packs_still_reads() {
    let name = "postino-test-unpacked";
    let store = fresh(name).await;
    // As version 3 stored a small message: its bytes in `messages`, no place in its summary.
    let old = sample_message(
        "acct",
        "old",
        b"Subject: old\r\n\r\nfrom before packs\r\n".to_vec(),
    );
    let record = js_sys::Object::new();
    js_sys::Reflect::set(&record, &"id".into(), &"acct/old".into()).unwrap();
    let bytes = js_sys::Uint8Array::from(old.raw.as_slice());
    js_sys::Reflect::set(&record, &"raw".into(), &bytes).unwrap();
    put_record(name, "messages", record.into()).await;
    let summary = serde_wasm_bindgen::to_value(&old.summary).unwrap();
    put_record(name, "summaries", summary).await;

    assert_eq!(
        store.raw_message("acct/old").await.unwrap(),
        Some(old.raw.clone())
    );
    store.delete_message(&old.entry).await.unwrap();
    assert_eq!(store.raw_message("acct/old").await.unwrap(), None);
    assert!(keys(record_keys(name, "messages").await).is_empty());
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_message_stored_again_replaces_its_copy_and_not_its_neighbours() {
    let name = "postino-test-restore";
    let store = fresh(name).await;
    // Its headers first (as a size limit stores it), in a pack with a neighbour...
    let headers = sample_message("acct", "x", b"Subject: x\r\n\r\n".to_vec());
    let neighbour = sized_message("y", 30_000);
    store
        .commit_messages(&[headers, neighbour.clone()])
        .await
        .unwrap();
    // ...then whole, small (a new pack), and then large (in `messages`).
    let whole = sized_message("x", 20_000);
    store
        .commit_messages(std::slice::from_ref(&whole))
        .await
        .unwrap();
    assert_eq!(store.raw_message("acct/x").await.unwrap(), Some(whole.raw));
    assert_eq!(
        store.raw_message("acct/y").await.unwrap(),
        Some(neighbour.raw.clone())
    );
    let large = sized_message("x", 100_000);
    store
        .commit_messages(std::slice::from_ref(&large))
        .await
        .unwrap();
    assert_eq!(store.raw_message("acct/x").await.unwrap(), Some(large.raw));
    assert_eq!(
        store.raw_message("acct/y").await.unwrap(),
        Some(neighbour.raw)
    );
    drop(store);
    delete_database(name).await.unwrap();
}

/// A message with a text body and an attachment of `attachment` bytes, as a server sends it.
fn message_with_attachment(uidl: &str, attachment: usize) -> postino_sync::Incoming {
    use base64::Engine;
    let data: Vec<u8> = (0..attachment).map(|i| (i % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let raw = format!(
        "From: Ada <ada@example.org>\r\nTo: b@example.org\r\nSubject: {uidl}\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nbody of {uidl}\r\n--b\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"{uidl}.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    );
    postino_sync::Incoming::new("acct", uidl, false, raw.into_bytes(), 1_700_000_000)
}

#[wasm_bindgen_test]
async fn layouts_are_kept_beside_the_bytes_and_go_with_them() {
    let name = "postino-test-layouts";
    let store = fresh(name).await;
    // Two packed, one alone in `messages`.
    let batch = [
        message_with_attachment("p1", 1_000),
        message_with_attachment("p2", 2_000),
        message_with_attachment("big", 80_000),
    ];
    store.commit_messages(&batch).await.unwrap();
    assert_eq!(keys(record_keys(name, "messages").await), ["acct/big"]);
    for message in &batch {
        let id = &message.entry.message_id;
        let opened = store.open_message(id, None).await.unwrap().unwrap();
        assert_eq!(opened.raw, message.raw, "{id}");
        let summary = opened.summary.clone().expect("a summary");
        // Packed messages' summaries name their pack; the large one's does not.
        assert_eq!(summary.pack.is_some(), message.raw.len() < 65_536, "{id}");
        let placed = postino_sync::Summary {
            pack: summary.pack.clone(),
            ..message.summary.clone()
        };
        assert_eq!(summary, placed, "{id}");
        let layout = opened.layout.expect("a layout");
        assert_eq!(Some(&layout), message.layout.as_ref(), "{id}");
        let attachment = &layout.attachments[0];
        assert_eq!(
            attachment.bytes(&opened.raw).unwrap().len() as u64,
            attachment.size
        );
        assert!(attachment.size >= 1_000, "{id}: {attachment:?}");
        // Not in the summary's record, which the list reads at start-up.
        let summary = record(name, "summaries", id).await;
        assert!(
            js_sys::Reflect::get(&summary, &"layout".into())
                .unwrap()
                .is_undefined(),
            "{id}"
        );
    }
    assert_eq!(
        store.summaries().await.unwrap().len(),
        3,
        "the list reads the summaries as before"
    );

    // The read mark keeps the layout.
    let summary = postino_sync::Summary {
        read: true,
        ..batch[1].summary.clone()
    };
    store.put_summary(&summary).await.unwrap();
    let opened = store.open_message("acct/p2", None).await.unwrap().unwrap();
    assert_eq!(opened.layout.as_ref(), batch[1].layout.as_ref());
    assert!(opened.summary.unwrap().read);

    // A deleted packed message's layout (its sender, its file names) goes with its bytes.
    store.delete_message(&batch[0].entry).await.unwrap();
    assert!(store.open_message("acct/p1", None).await.unwrap().is_none());
    let pack = keys(record_keys(name, "packs").await).remove(0);
    let layouts =
        js_sys::Reflect::get(&record(name, "packs", &pack).await, &"layouts".into()).unwrap();
    let offsets = js_sys::Object::keys(layouts.unchecked_ref::<js_sys::Object>());
    assert_eq!(offsets.length(), 1, "only the neighbour's layout is left");
    let opened = store.open_message("acct/p2", None).await.unwrap().unwrap();
    assert_eq!(opened.layout.as_ref(), batch[1].layout.as_ref());
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_list_s_pack_hint_is_read_with_the_summary_and_never_trusted() {
    let name = "postino-test-pack-hint";
    let store = fresh(name).await;
    // Two commits, two packs; one large message apart.
    let first = [sized_message("p1", 3_000), sized_message("p2", 4_000)];
    let second = [sized_message("q1", 5_000), sized_message("big", 90_000)];
    store.commit_messages(&first).await.unwrap();
    store.commit_messages(&second).await.unwrap();

    // What the engine tells the page is what the list reads at start-up, places included.
    let mut told = store.take_stored();
    let mut listed = store.summaries().await.unwrap();
    told.sort_by(|a, b| a.id.cmp(&b.id));
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(told, listed);
    let place = |id: &str| listed.iter().find(|s| s.id == id).unwrap().pack.clone();
    let (p1, q1) = (place("acct/p1").unwrap(), place("acct/q1").unwrap());
    assert_eq!(place("acct/p2").as_ref(), Some(&p1), "one commit, one pack");
    assert_ne!(p1, q1);
    assert_eq!(place("acct/big"), None, "a large message is stored apart");

    // The right pack, another one, one that does not exist, none: the same bytes.
    for message in first.iter().chain(&second) {
        let id = &message.entry.message_id;
        for hint in [
            place(id).as_deref(),
            Some(p1.as_str()),
            Some(q1.as_str()),
            Some("acct/x#0"),
            None,
        ] {
            let opened = store.open_message(id, hint).await.unwrap().unwrap();
            assert!(opened.raw == message.raw, "{id} with hint {hint:?}");
        }
    }

    // The page's copy of a summary never moves the record's place: a read mark with a stale one.
    let stale = postino_sync::Summary {
        read: true,
        pack: Some(q1.clone()),
        ..listed.iter().find(|s| s.id == "acct/p1").unwrap().clone()
    };
    store.put_summary(&stale).await.unwrap();
    let after = store.summaries().await.unwrap();
    let p1_now = after.iter().find(|s| s.id == "acct/p1").unwrap();
    assert!(p1_now.read);
    assert_eq!(p1_now.pack.as_ref(), Some(&p1));
    let opened = store
        .open_message("acct/p1", Some(&q1))
        .await
        .unwrap()
        .unwrap();
    assert!(opened.raw == first[0].raw);
    drop(store);
    delete_database(name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_message_stored_without_a_layout_gets_one_later() {
    let name = "postino-test-no-layout";
    let store = fresh(name).await;
    // As the engine stored mail before it kept layouts: one packed, one alone.
    let small = sample_message(
        "acct",
        "old",
        b"From: a@example.org\r\nSubject: old\r\n\r\nbefore layouts\r\n".to_vec(),
    );
    let large = sized_message("older", 100_000);
    store
        .commit_messages(&[small.clone(), large.clone()])
        .await
        .unwrap();
    for message in [&small, &large] {
        let id = &message.entry.message_id;
        let opened = store.open_message(id, None).await.unwrap().unwrap();
        assert_eq!(opened.layout, None, "{id}");
        let layout = postino_sync::layout::Layout::parse(&message.raw).unwrap();
        store.set_layout(id, &layout).await.unwrap();
        let opened = store.open_message(id, None).await.unwrap().unwrap();
        assert_eq!(opened.layout, Some(layout), "{id}");
        assert_eq!(opened.raw, message.raw, "{id}");
    }
    let text = store
        .open_message("acct/old", None)
        .await
        .unwrap()
        .unwrap()
        .layout
        .unwrap()
        .text
        .unwrap();
    assert_eq!(
        text.utf8_text(&small.raw).unwrap().trim_end(),
        "before layouts"
    );
    // A message no longer stored gets none.
    store
        .set_layout("acct/gone", &Default::default())
        .await
        .unwrap();
    assert!(store
        .open_message("acct/gone", None)
        .await
        .unwrap()
        .is_none());
    drop(store);
    delete_database(name).await.unwrap();
}
