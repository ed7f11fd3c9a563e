//! Service-worker glue: register `/sw.js`, tell the app when it works offline and when a new
//! version waits, and hand over to that version only when the user says so (web/sw.js).

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

use crate::state::WorkerNews;

const SCRIPT: &str = "/sw.js";
/// A mail client stays open for days: look for a new version this often.
const UPDATE_CHECK_MS: i32 = 60 * 60 * 1000;

thread_local! {
    /// The user accepted the update: the next change of controller reloads the page.
    static ACCEPTED: Cell<bool> = const { Cell::new(false) };
    /// `register` ran: it does its work once per page.
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
}

fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    // No service workers: an old browser, or a page not served over https or from localhost.
    Reflect::has(&navigator, &"serviceWorker".into())
        .unwrap_or(false)
        .then(|| navigator.service_worker())
}

/// This page's build (`<meta name="postino-build">`, written by web/sw-stamp.mjs).
pub fn build_id() -> Option<String> {
    web_sys::window()?
        .document()?
        .query_selector("meta[name=postino-build]")
        .ok()??
        .get_attribute("content")
}

/// Registers the service worker and calls `notify` with its news for the life of the page.
pub fn register(notify: impl Fn(WorkerNews) + 'static) {
    if REGISTERED.replace(true) {
        return;
    }
    let Some(container) = container() else {
        return;
    };
    let notify: Rc<dyn Fn(WorkerNews)> = Rc::new(notify);
    let on_controller = {
        let notify = notify.clone();
        Closure::<dyn Fn()>::new(move || {
            if ACCEPTED.get() {
                reload();
            } else {
                // The first install took control of this page.
                notify(WorkerNews::OfflineReady);
            }
        })
    };
    container.set_oncontrollerchange(Some(on_controller.as_ref().unchecked_ref()));
    on_controller.forget();

    spawn_local(async move {
        let Ok(registration) = JsFuture::from(container.register(SCRIPT)).await else {
            return;
        };
        let registration: ServiceWorkerRegistration = registration.unchecked_into();
        let controlled = container.controller().is_some();
        if controlled {
            notify(WorkerNews::OfflineReady);
        }
        if controlled && registration.waiting().is_some() {
            notify(WorkerNews::UpdateReady);
        }
        watch_installs(&registration, &container, notify);
        let update = Closure::<dyn Fn()>::new(move || look_for_update(&registration));
        if let Some(window) = web_sys::window() {
            let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
                update.as_ref().unchecked_ref(),
                UPDATE_CHECK_MS,
            );
        }
        update.forget();
    });
}

/// A worker that finishes installing while another controls the page is a new version.
fn watch_installs(
    registration: &ServiceWorkerRegistration,
    container: &ServiceWorkerContainer,
    notify: Rc<dyn Fn(WorkerNews)>,
) {
    let (reg, container) = (registration.clone(), container.clone());
    let on_found = Closure::<dyn Fn()>::new(move || {
        let Some(worker) = reg.installing() else {
            return;
        };
        let (notify, container, watched) = (notify.clone(), container.clone(), worker.clone());
        let on_state = Closure::<dyn Fn()>::new(move || {
            if watched.state() == ServiceWorkerState::Installed && container.controller().is_some()
            {
                notify(WorkerNews::UpdateReady);
            }
        });
        worker.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
        on_state.forget();
    });
    registration.set_onupdatefound(Some(on_found.as_ref().unchecked_ref()));
    on_found.forget();
}

fn look_for_update(registration: &ServiceWorkerRegistration) {
    if let Ok(promise) = registration.update() {
        // Offline or a server error: the next try will do.
        spawn_local(async move {
            let _ = JsFuture::from(promise).await;
        });
    }
}

/// Asks the browser for a new version now (the network just came back).
pub fn check_for_update() {
    let Some(container) = container() else {
        return;
    };
    spawn_local(async move {
        if let Ok(registration) = JsFuture::from(container.get_registration()).await {
            if let Ok(registration) = registration.dyn_into::<ServiceWorkerRegistration>() {
                look_for_update(&registration);
            }
        }
    });
}

/// The user accepted the update: the waiting worker takes over, then the page reloads into the
/// new version (on `controllerchange`).
pub fn accept_update() {
    ACCEPTED.set(true);
    let Some(container) = container() else {
        reload();
        return;
    };
    spawn_local(async move {
        let waiting: Option<ServiceWorker> = JsFuture::from(container.get_registration())
            .await
            .ok()
            .and_then(|r| r.dyn_into::<ServiceWorkerRegistration>().ok())
            .and_then(|r| r.waiting());
        let Some(waiting) = waiting else {
            // Another tab already switched to it.
            reload();
            return;
        };
        let message = Object::new();
        let _ = Reflect::set(&message, &"type".into(), &JsValue::from_str("skip-waiting"));
        if waiting.post_message(&message).is_err() {
            reload();
        }
    });
}

fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
