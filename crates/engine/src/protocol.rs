//! The one message protocol between the page (the UI) and the engine worker. Both sides use
//! these types: the page sends [`Request`]s, each with an id; the engine answers each with one
//! [`Reply`] carrying that id, and sends [`Event`]s as they happen (progress, another tab
//! checking, search indexing). Values cross as structured clones of their serde form
//! (`serde-wasm-bindgen`), long lists as one JSON string ([`Json`]); files to import cross as
//! `File` objects beside the request, never copied into a message.

use postino_pop3::Secret;
use postino_sync::first_check::FirstCheck;
use postino_sync::import::ImportReport;
use postino_sync::triage::{Choice, ServerMessage, TriageReport};
use postino_sync::{Account, Progress, Summary, SyncReport};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::explain::Failure;

/// A value that crosses as one JSON string rather than as a JS object per field: for the long
/// lists the page receives during a download, and the listings of what is on the server.
/// Field by field, 700 summaries cost the page's thread about 15 ms to read, and as much again
/// to collect the garbage (a profile of the page during a 3,000-message download: its longest
/// tasks were these); a first check's survey of 3,000 messages, 25 ms. JSON is parsed once, in
/// wasm, from one string (the page links serde_json's reader only, not its writer).
#[derive(Clone, Debug, PartialEq)]
pub struct Json<T>(pub T);

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(&self.0).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Json<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text)
            .map(Json)
            .map_err(serde::de::Error::custom)
    }
}

/// A password crosses to the worker as its text (a structured clone within this origin), and
/// is wrapped again on arrival so that no `Debug` prints it.
mod secret_text {
    use postino_pop3::Secret;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Secret<String>, s: S) -> Result<S::Ok, S::Error> {
        v.expose().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret<String>, D::Error> {
        Ok(Secret::new(String::deserialize(d)?))
    }
}

/// An account to act on, with the password to log in with: for an account that signs in with
/// a provider, its tokens as [`crate::oauth::Tokens::to_secret`] keeps them (the engine logs in
/// with the access token alone).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Login {
    pub account: Account,
    #[serde(with = "secret_text")]
    pub password: Secret<String>,
}

/// Sign-in with a provider, done by the engine: the calls to token endpoints, the relay's lists,
/// and the parsing of what they answer stay out of the page (and its bundle).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum OAuthCall {
    /// Redeem the code the provider sent back, with the verifier the page kept.
    Redeem {
        client: postino_sync::OAuthClient,
        relay: String,
        #[serde(with = "secret_text")]
        code: Secret<String>,
        #[serde(with = "secret_text")]
        verifier: Secret<String>,
        redirect_uri: String,
    },
    /// The tokens to log in with: refreshed when the access token is about to expire, or
    /// whatever its expiry with `force` (the server refused it).
    Fresh {
        account: Account,
        #[serde(with = "secret_text")]
        tokens: Secret<String>,
        force: bool,
    },
    /// The sign-ins the relay offers (`GET /v1/oauth/providers`).
    RelayClients { relay: String },
    /// Where the POP3 server of an address at `domain` is (`GET /v1/autoconfig/{domain}`).
    Autoconfig { relay: String, domain: String },
}

/// A sign-in redeemed: the tokens to keep, and the address the provider says signed in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignedIn {
    #[serde(with = "secret_text")]
    pub tokens: Secret<String>,
    pub account: Option<String>,
}

/// Renewed tokens, if the old ones were about to expire.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Renewed(#[serde(with = "secret_text")] pub Secret<String>);

/// What the page asks of the engine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Download what the ledger lacks, delete what the account's policy says. Only one engine
    /// (one tab) checks an account at a time: the others wait ([`Event::Waiting`]).
    Check(Login),
    /// Stop the running check or triage after the message in hand; what was stored stays.
    Cancel,
    /// Log in, STAT, log out: nothing is downloaded or stored.
    TestConnection(Login),
    /// What the server holds: headers and sizes, nothing downloaded.
    ListServer(Login),
    /// Carry out the user's choices for messages on the server.
    ApplyTriage {
        login: Login,
        choices: Vec<(String, Choice)>,
    },
    /// Before an account's first check: what is on the server, and which of it is recent.
    Survey(Login),
    /// The user's answer to the first check's question: record the messages it leaves out
    /// (uidl, size; [`FirstCheck::left_out`]) as skipped: they stay on the server, listed in
    /// "On the server…". Only those cross, not the whole survey back: none for "everything".
    LeaveOut {
        account_id: String,
        left_out: Vec<(String, u64)>,
    },
    /// Sign-in with a provider, and the relay's lists.
    OAuth(OAuthCall),
    /// Import the `File`s sent beside this request (`.eml` or mbox).
    Import,
    /// Put whatever stored mail the search index lacks into it.
    Index,
    /// Stored messages (id, date) as one mbox file.
    Export(Vec<(String, Option<i64>)>),
    /// The layout of a stored message that has none (stored before layouts were kept): what
    /// the reader needs to show it without a MIME parser in the page.
    Layout(String),
}

/// The answer to one [`Request`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    Checked(Result<SyncReport, Failure>),
    Cancelled {
        was_running: bool,
    },
    Tested(Result<String, Failure>),
    Listed(Result<Json<Vec<ServerMessage>>, Failure>),
    Triaged(Result<TriageReport, Failure>),
    /// One entry per message on the server: tens of thousands for a large mailbox.
    Surveyed(Result<Json<FirstCheck>, Failure>),
    /// How many messages were recorded as skipped.
    LeftOut(Result<usize, String>),
    SignedIn(Result<SignedIn, crate::oauth::OAuthError>),
    /// `None`: the tokens given are still good.
    Fresh(Result<Option<Renewed>, crate::oauth::OAuthError>),
    Clients(Result<Vec<postino_sync::OAuthClient>, String>),
    Candidates(Result<Vec<crate::autoconfig::Candidate>, String>),
    Imported(Result<Imported, String>),
    Indexed,
    Exported(Result<Exported, String>),
    /// `None`: the message is no longer stored.
    Layout(Result<Option<Box<postino_sync::layout::Layout>>, String>),
}

/// An mbox export: how many messages it holds, and the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exported {
    pub count: usize,
    /// A `Blob`: it crosses to the page as itself, not copied into the message's serde form.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub file: wasm_bindgen::JsValue,
}

/// What an import did, for the sentence shown after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub report: ImportReport,
    /// Messages that could not be read (over the size limit), with the reason.
    pub unreadable: Vec<String>,
}

/// What the engine tells the page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Event {
    /// The worker's wasm is running and listens: the page may send its [`Hello`] (a message
    /// sent before this would be lost).
    Loaded,
    /// The engine opened the store and holds its life lock (see [`life_lock`]).
    Ready,
    /// The answer to request `id`.
    Reply { id: u32, reply: Reply },
    /// Request `id` (a check or a triage) made progress.
    Progress { id: u32, progress: Progress },
    /// Another tab is checking the account of request `id`: this one waits for it to finish.
    Waiting { id: u32 },
    /// Request `id` got the account's lock and starts (after [`Event::Waiting`]).
    Started { id: u32 },
    /// Messages just stored (by a check, a triage or an import): the list shows them as they
    /// arrive, not only when the request ends. Posted before the request's reply.
    Stored(Json<Vec<Summary>>),
    /// Stored messages the search index still lacks.
    IndexPending(usize),
    /// Something failed outside any request (the search index could not be written).
    Failed(String),
    /// The engine could not be loaded (its script or wasm did not arrive, or would not
    /// compile): posted by the worker's loader (`web/engine-loader.js`) as
    /// `{Unavailable: reason}`, before any wasm runs.
    Unavailable(String),
}

/// The Web Lock that only one check or triage of an account holds at a time, in any tab.
pub fn account_lock(account_id: &str) -> String {
    format!("postino.account.{account_id}")
}

/// The Web Lock one engine holds for its whole life: when the page is granted it, the engine
/// is gone (terminated, crashed), and the page starts another.
pub fn life_lock(engine: &str) -> String {
    format!("postino.engine.{engine}")
}

/// The first message to a new worker: the name of its life lock.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hello {
    pub engine: String,
    /// The page's language (`postino_i18n::Lang::code`), for what the engine says.
    #[serde(default)]
    pub lang: String,
}

/// Request `id` as it crosses to the worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub id: u32,
    pub request: Request,
    /// The page's language when it sent the request: a change in Settings reaches the engine
    /// with the next request.
    #[serde(default)]
    pub lang: String,
}

/// Values to and from JS for `postMessage`: plain objects (not `Map`s), so that either side
/// reads them the same way.
pub fn to_js<T: Serialize>(value: &T) -> Result<wasm_bindgen::JsValue, String> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .map_err(|e| e.to_string())
}

pub fn from_js<T: for<'de> Deserialize<'de>>(value: wasm_bindgen::JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_mail_crosses_as_one_json_string_and_reads_back() {
        let summary = Summary {
            id: "acct/u1".into(),
            subject: "Grüße \u{202E} \"quoted\"".into(),
            date: Some(1_700_000_000),
            ..Summary::default()
        };
        let event = Event::Stored(Json(vec![summary.clone(), Summary::default()]));
        let value = serde_json::to_value(&event).unwrap();
        let text = value["Stored"].as_str().expect("one string");
        assert!(text.starts_with('[') && text.contains("acct/u1"), "{text}");
        match serde_json::from_value::<Event>(value).unwrap() {
            Event::Stored(Json(back)) => assert_eq!(back, vec![summary, Summary::default()]),
            other => panic!("{other:?}"),
        }
        // Not JSON: an error, not a panic.
        let bad = serde_json::json!({ "Stored": "[{" });
        assert!(serde_json::from_value::<Event>(bad).is_err());
    }

    #[test]
    fn a_survey_crosses_as_one_json_string() {
        use postino_sync::first_check::Listed;
        let survey = FirstCheck {
            messages: (0..3)
                .map(|i| Listed {
                    uidl: format!("u{i}"),
                    size: 10 * i,
                    recent: i % 2 == 0,
                })
                .collect(),
            days: 30,
            suggested: postino_sync::first_check::Scope::Everything,
        };
        let reply = Reply::Surveyed(Ok(Json(survey.clone())));
        let value = serde_json::to_value(&reply).unwrap();
        assert!(value["Surveyed"]["Ok"].is_string(), "{value}");
        match serde_json::from_value::<Reply>(value).unwrap() {
            Reply::Surveyed(Ok(Json(back))) => assert_eq!(back, survey),
            other => panic!("{other:?}"),
        }
    }
}
