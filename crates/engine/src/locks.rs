//! Web Locks (`navigator.locks`), in the page or a worker: a lock is held until its
//! [`LockGuard`] drops, and is released by the browser when its holder's tab or worker goes.
//! The engine takes one per account for a check (two tabs never download or delete for the
//! same account at once) and one for its own life (the page learns that an engine died).

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// A held lock; dropping it releases the lock.
pub struct LockGuard {
    release: Option<Function>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::NULL);
        }
    }
}

fn lock_manager() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Whether this browser has Web Locks (every current one does, on a secure origin).
pub fn available() -> bool {
    lock_manager().is_some()
}

/// Takes lock `name` now if no one holds it; `None` if someone does. Without Web Locks (an
/// old browser), the lock is granted: one tab, as before locks existed.
pub async fn try_acquire(name: &str) -> Result<Option<LockGuard>, String> {
    acquire_with(name, true, None).await
}

/// Waits for lock `name`.
pub async fn acquire(name: &str) -> Result<LockGuard, String> {
    acquire_with(name, false, None)
        .await?
        .ok_or_else(|| "the browser did not grant the lock".to_string())
}

/// Waits for lock `name` until it is granted (`Some`) or `signal` aborts the wait (`None`).
pub async fn acquire_or_abort(
    name: &str,
    signal: &web_sys::AbortSignal,
) -> Result<Option<LockGuard>, String> {
    acquire_with(name, false, Some(signal)).await
}

async fn acquire_with(
    name: &str,
    if_available: bool,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<Option<LockGuard>, String> {
    let Some(locks) = lock_manager() else {
        return Ok(Some(LockGuard { release: None }));
    };
    let js = |e: JsValue| format!("{e:?}");
    // The lock is held until `held` settles: its resolve function is the guard's release.
    let release: Rc<RefCell<Option<Function>>> = Rc::default();
    let held = {
        let release = release.clone();
        Promise::new(&mut move |resolve, _reject| *release.borrow_mut() = Some(resolve))
    };
    // Granted or not (`ifAvailable`), the callback says; an aborted wait, the rejection does.
    let (granted_tx, granted_rx) = oneshot::channel::<bool>();
    let granted_tx = Rc::new(RefCell::new(Some(granted_tx)));
    let on_reject = granted_tx.clone();
    let callback = Closure::once_into_js(move |lock: JsValue| -> JsValue {
        let granted = !lock.is_null();
        if let Some(tx) = granted_tx.borrow_mut().take() {
            let _ = tx.send(granted);
        }
        if granted {
            held.into()
        } else {
            JsValue::UNDEFINED
        }
    });
    let options = Object::new();
    if if_available {
        Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE).map_err(js)?;
    }
    if let Some(signal) = signal {
        Reflect::set(&options, &"signal".into(), signal).map_err(js)?;
    }
    let request: Function = Reflect::get(&locks, &"request".into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "navigator.locks.request is not a function".to_string())?;
    let promise: Promise = request
        .call3(&locks, &name.into(), &options, &callback)
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "navigator.locks.request did not return a promise".to_string())?;
    // A rejection (an aborted wait, or the holder went away while the request was set up)
    // means not granted, and must not go unhandled.
    let rejected = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if let Some(tx) = on_reject.borrow_mut().take() {
            let _ = tx.send(false);
        }
    });
    let _ = promise.catch(&rejected);
    rejected.forget();
    let granted = granted_rx
        .await
        .map_err(|_| "the browser dropped the lock request".to_string())?;
    let release = release.borrow_mut().take();
    Ok(if granted {
        Some(LockGuard { release })
    } else {
        // Not granted: nothing is held; settle the promise anyway.
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
        None
    })
}
