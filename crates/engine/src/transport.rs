//! A byte stream over a browser WebSocket to the relay (DESIGN.md, Relay contract): binary frames
//! carry raw bytes both ways, so TLS and POP3 run on top as over a TCP socket.
//!
//! Reads come from a queue that the `message` handler fills. The browser's WebSocket API has no
//! way to stop reading, so the queue holds whatever the relay sent and the reader has not taken
//! yet; the POP3 client reads continuously, and its own limits bound what it keeps. The queue
//! itself is bounded ([`MAX_QUEUED`]): a relay that sends faster than Postino can ever store
//! ends the connection rather than the tab's memory. Nothing waits forever: the socket must open
//! within [`CONNECT_MS`], and a read that gets no byte for [`READ_IDLE_MS`] fails.
//! Writes hand a copy of the bytes to the browser; above `MAX_BUFFERED` unsent bytes, a write
//! waits (the browser has no "drained" event, so it checks again after `BACKPRESSURE_POLL_MS`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_channel::oneshot;
use futures_io::{AsyncRead, AsyncWrite};
use js_sys::{Array, ArrayBuffer, Function, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// Unsent bytes above which a write waits.
pub const MAX_BUFFERED: u32 = 1024 * 1024;
/// Received bytes not yet read above which the connection ends. The queue only grows while the
/// engine waits on something else (an IndexedDB commit) and the network is much faster than
/// storage; a POP3 server never needs this much in flight, a hostile relay could send without end.
pub const MAX_QUEUED: usize = 128 * 1024 * 1024;
/// The WebSocket must open within this (the relay itself gives up connecting after 10 s).
pub const CONNECT_MS: i32 = 30_000;
/// A read that receives nothing for this long fails: the server or the relay went silent.
pub const READ_IDLE_MS: i32 = 120_000;
/// How often a waiting write checks whether the browser sent enough.
const BACKPRESSURE_POLL_MS: i32 = 10;
/// The close code of a normal close (RFC 6455 section 7.4.1).
const NORMAL_CLOSURE: u16 = 1000;
/// The close code recorded when the relay breaks the contract by sending text (RFC 6455 7.4.1:
/// 1003, data of a type the endpoint cannot accept).
const UNSUPPORTED_DATA: u16 = 1003;

#[wasm_bindgen]
extern "C" {
    // The global functions, so that this works in a page and in a worker alike.
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(handler: &Function, timeout_ms: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Resolves after `ms` milliseconds (the global `setTimeout`, in a page or a worker).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        // Without timers nothing would wake it: resolve at once rather than never.
        if set_timeout(&resolve, ms).is_err() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// How the WebSocket closed: the relay's code and reason (4401, 4403, 4429, 4502, 4504 and the
/// reason to show the user), or what the browser reports (1006: the connection dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
    pub was_clean: bool,
}

impl fmt::Display for CloseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "connection closed (code {})", self.code)
        } else {
            write!(f, "{} (code {})", self.reason, self.code)
        }
    }
}

impl std::error::Error for CloseInfo {}

/// Why `WsStream::connect` failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsError {
    /// The browser refused to create the socket (a bad URL or subprotocol): its message.
    Refused(String),
    /// The socket closed before it opened.
    Closed(CloseInfo),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Refused(message) => write!(f, "cannot connect to the relay: {message}"),
            WsError::Closed(info) => write!(f, "the relay closed the connection: {info}"),
        }
    }
}

impl std::error::Error for WsError {}

/// What the event handlers and the stream share.
#[derive(Default)]
struct Shared {
    incoming: VecDeque<u8>,
    close: Option<CloseInfo>,
    opened: Option<oneshot::Sender<Result<(), CloseInfo>>>,
    read_waker: Option<Waker>,
    /// A write waiting for the buffer to drain, or a close waiting for the `close` event.
    write_waker: Option<Waker>,
    /// The id of the pending `setTimeout`, if any.
    timer: Option<JsValue>,
    /// The id of the pending connect or read deadline `setTimeout`, if any.
    deadline: Option<JsValue>,
    /// Since when (`Date.now()`, ms) a read has waited with nothing to read.
    waiting_since: Option<f64>,
    /// Why the stream failed on its own side: too much unread, or a deadline passed.
    failed: Option<(io::ErrorKind, String)>,
}

impl Shared {
    fn wake_all(shared: &RefCell<Shared>) {
        let (read, write) = {
            let mut s = shared.borrow_mut();
            (s.read_waker.take(), s.write_waker.take())
        };
        read.into_iter().chain(write).for_each(Waker::wake);
    }
}

/// Lets the caller see how the socket closed after the stream moved into the TLS layer.
#[derive(Clone)]
pub struct CloseHandle {
    shared: Rc<RefCell<Shared>>,
}

impl CloseHandle {
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.shared.borrow().close.clone()
    }
}

/// A WebSocket as a `futures-io` byte stream. Dropping it closes the socket.
pub struct WsStream {
    socket: WebSocket,
    shared: Rc<RefCell<Shared>>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    on_timer: Closure<dyn FnMut()>,
    on_deadline: Closure<dyn FnMut()>,
}

impl WsStream {
    /// Opens a WebSocket to `url` offering `protocols`, and waits until it is open. Fails with the
    /// close code and reason if it closes first.
    pub async fn connect(url: &str, protocols: &[&str]) -> Result<WsStream, WsError> {
        let socket = if protocols.is_empty() {
            WebSocket::new(url)
        } else {
            let protocols: Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
            WebSocket::new_with_str_sequence(url, &protocols)
        }
        .map_err(|e| WsError::Refused(js_message(&e)))?;
        socket.set_binary_type(BinaryType::Arraybuffer);

        let (opened, is_open) = oneshot::channel();
        let shared = Rc::new(RefCell::new(Shared {
            opened: Some(opened),
            ..Shared::default()
        }));

        let on_open = {
            let shared = shared.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if let Some(opened) = shared.borrow_mut().opened.take() {
                    let _ = opened.send(Ok(()));
                }
            })
        };
        let on_message = {
            let shared = shared.clone();
            let socket = socket.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                match event.data().dyn_into::<ArrayBuffer>() {
                    Ok(buffer) => {
                        let bytes = Uint8Array::new(&buffer);
                        let mut s = shared.borrow_mut();
                        if s.failed.is_some() {
                            // Ended already: a later frame must not fill a gap in the stream.
                        } else if s.incoming.len() + bytes.length() as usize > MAX_QUEUED {
                            s.failed.get_or_insert((
                                io::ErrorKind::OutOfMemory,
                                format!(
                                    "the relay sent more than {} MiB that Postino could not read \
                                     yet; the connection was ended to protect this tab's memory",
                                    MAX_QUEUED >> 20
                                ),
                            ));
                            drop(s);
                            let _ = socket.close_with_code(NORMAL_CLOSURE);
                        } else {
                            s.incoming.extend(bytes.to_vec());
                        }
                    }
                    Err(_) => {
                        // Text: the relay sends binary frames only. Treat as a broken stream.
                        shared.borrow_mut().close.get_or_insert(CloseInfo {
                            code: UNSUPPORTED_DATA,
                            reason: "the relay sent text instead of bytes".into(),
                            was_clean: false,
                        });
                        // Scripts may close with 1000 or 3000-4999 only, so not with 1003.
                        let _ = socket.close_with_code(NORMAL_CLOSURE);
                    }
                }
                Shared::wake_all(&shared);
            })
        };
        let on_close = {
            let shared = shared.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                let info = CloseInfo {
                    code: event.code(),
                    reason: event.reason(),
                    was_clean: event.was_clean(),
                };
                let opened = {
                    let mut s = shared.borrow_mut();
                    // A close we decided on (text from the relay) keeps its own reason.
                    let info = s.close.get_or_insert(info).clone();
                    s.opened.take().map(|opened| (opened, info))
                };
                if let Some((opened, info)) = opened {
                    let _ = opened.send(Err(info));
                }
                Shared::wake_all(&shared);
            })
        };
        let on_timer = {
            let shared = shared.clone();
            Closure::<dyn FnMut()>::new(move || {
                let waker = {
                    let mut s = shared.borrow_mut();
                    s.timer = None;
                    s.write_waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            })
        };
        // The connect deadline first; once open, the same timer watches reads that wait.
        let on_deadline = {
            let shared = shared.clone();
            let socket = socket.clone();
            Closure::<dyn FnMut()>::new(move || deadline_passed(&shared, &socket))
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        // Built before waiting, so that dropping this future closes the socket too.
        let stream = WsStream {
            socket,
            shared,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            on_timer,
            on_deadline,
        };
        stream.arm_deadline(CONNECT_MS)?;
        let opened = is_open.await;
        let timer = stream.shared.borrow_mut().deadline.take();
        if let Some(timer) = timer {
            clear_timeout(&timer);
        }
        match opened {
            Ok(Ok(())) => Ok(stream),
            Ok(Err(info)) => Err(WsError::Closed(info)),
            // Unreachable: the sender lives in `stream`'s handlers.
            Err(_) => Err(WsError::Refused(
                "the connection attempt was dropped".into(),
            )),
        }
    }

    /// How the socket closed, once it has.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.shared.borrow().close.clone()
    }

    /// A handle that outlives the stream's move into the TLS layer.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle {
            shared: self.shared.clone(),
        }
    }

    /// The subprotocol the relay accepted.
    pub fn protocol(&self) -> String {
        self.socket.protocol()
    }

    fn closed_error(&self) -> io::Error {
        match self.close_info() {
            Some(info) => io::Error::new(io::ErrorKind::ConnectionAborted, info),
            None => io::Error::new(io::ErrorKind::BrokenPipe, "the WebSocket is closing"),
        }
    }

    /// Calls `deadline_passed` after `ms`, unless a deadline timer is already pending.
    fn arm_deadline(&self, ms: i32) -> Result<(), WsError> {
        let mut s = self.shared.borrow_mut();
        if s.deadline.is_none() {
            let id = set_timeout(self.on_deadline.as_ref().unchecked_ref(), ms)
                .map_err(|e| WsError::Refused(js_message(&e)))?;
            s.deadline = Some(id);
        }
        Ok(())
    }

    /// Wakes `cx` after `BACKPRESSURE_POLL_MS`, unless a timer is already pending.
    fn wake_later(&self, cx: &Context<'_>) -> io::Result<()> {
        let mut s = self.shared.borrow_mut();
        s.write_waker = Some(cx.waker().clone());
        if s.timer.is_none() {
            let id = set_timeout(self.on_timer.as_ref().unchecked_ref(), BACKPRESSURE_POLL_MS)
                .map_err(|e| io::Error::other(js_message(&e)))?;
            s.timer = Some(id);
        }
        Ok(())
    }
}

impl AsyncRead for WsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut s = self.shared.borrow_mut();
        if !s.incoming.is_empty() {
            s.waiting_since = None;
            // Copy from the ring buffer's two halves at once, not byte by byte.
            let (front, back) = s.incoming.as_slices();
            let n = buf.len().min(front.len() + back.len());
            let first = n.min(front.len());
            buf[..first].copy_from_slice(&front[..first]);
            buf[first..n].copy_from_slice(&back[..n - first]);
            s.incoming.drain(..n);
            return Poll::Ready(Ok(n));
        }
        if let Some((kind, why)) = &s.failed {
            return Poll::Ready(Err(io::Error::new(*kind, why.clone())));
        }
        match &s.close {
            Some(info) if info.code == NORMAL_CLOSURE => Poll::Ready(Ok(0)),
            Some(info) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                info.clone(),
            ))),
            None => {
                s.read_waker = Some(cx.waker().clone());
                s.waiting_since.get_or_insert_with(js_sys::Date::now);
                drop(s);
                if let Err(e) = self.arm_deadline(READ_IDLE_MS) {
                    return Poll::Ready(Err(io::Error::other(e.to_string())));
                }
                Poll::Pending
            }
        }
    }
}

/// The connect or read deadline's timer fired: fail what has waited too long, or wait on.
fn deadline_passed(shared: &Rc<RefCell<Shared>>, socket: &WebSocket) {
    let mut s = shared.borrow_mut();
    s.deadline = None;
    if let Some(opened) = s.opened.take() {
        let info = CloseInfo {
            code: 1006,
            reason: format!("the relay did not answer within {} s", CONNECT_MS / 1000),
            was_clean: false,
        };
        s.close.get_or_insert(info.clone());
        drop(s);
        let _ = opened.send(Err(info));
        let _ = socket.close_with_code(NORMAL_CLOSURE);
        return;
    }
    let Some(since) = s.waiting_since.filter(|_| s.read_waker.is_some()) else {
        // No read waits (the engine is busy storing): the next one arms the timer again.
        return;
    };
    let waited = js_sys::Date::now() - since;
    if waited + 1.0 < f64::from(READ_IDLE_MS) {
        // Bytes came meanwhile and a later read waits: wake it, and its poll arms the timer
        // again (so a read waits less than twice the deadline, never forever).
        let waker = s.read_waker.take();
        drop(s);
        waker.into_iter().for_each(Waker::wake);
        return;
    }
    s.failed.get_or_insert((
        io::ErrorKind::TimedOut,
        format!("the server sent nothing for {} s", READ_IDLE_MS / 1000),
    ));
    drop(s);
    let _ = socket.close_with_code(NORMAL_CLOSURE);
    Shared::wake_all(shared);
}

impl AsyncWrite for WsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A socket that is closing drops what it is given without an error: refuse instead.
        if self.socket.ready_state() != WebSocket::OPEN || self.shared.borrow().close.is_some() {
            return Poll::Ready(Err(self.closed_error()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.socket.buffered_amount() > MAX_BUFFERED {
            return match self.wake_later(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            };
        }
        // A copy, in a buffer of its own: the browser sends it after this call returns.
        let bytes = Uint8Array::from(buf);
        match self.socket.send_with_array_buffer_view(&bytes) {
            Ok(()) => Poll::Ready(Ok(buf.len())),
            Err(e) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                js_message(&e),
            ))),
        }
    }

    /// The bytes are with the browser, which sends them in order: nothing to wait for.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes with 1000 and waits for the `close` event (the browser sends what is buffered
    /// first).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.shared.borrow().close.is_some() {
            return Poll::Ready(Ok(()));
        }
        let state = self.socket.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            if let Err(e) = self.socket.close_with_code(NORMAL_CLOSURE) {
                return Poll::Ready(Err(io::Error::other(js_message(&e))));
            }
        }
        self.shared.borrow_mut().write_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for WsStream {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        // One borrow: two `borrow_mut()` temporaries in one expression would both be alive.
        let timers = {
            let mut s = self.shared.borrow_mut();
            [s.timer.take(), s.deadline.take()]
        };
        for timer in timers.into_iter().flatten() {
            clear_timeout(&timer);
        }
        let state = self.socket.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = self.socket.close_with_code(NORMAL_CLOSURE);
        }
        // The handlers are detached: a `close_info` seen through a `CloseHandle` after this is
        // the one recorded before the drop, if any.
    }
}

/// The message of a thrown JS value.
fn js_message(error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    if let Some(e) = error.dyn_ref::<web_sys::DomException>() {
        return e.message();
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}
