//! The status line, the progress bar, and the two questions: trust a certificate, give a password.

use postino_pop3::Secret;
use postino_sync::Progress;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::message_list::format_size;
use crate::state::{CertPrompt, Notice};
use postino_i18n::{fill, t};

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    pub notice: Notice,
    pub progress: Option<Progress>,
    /// Offered while a check runs: stop it (what was stored stays).
    #[prop_or_default]
    pub on_cancel: Option<Callback<()>>,
}

#[function_component(StatusLine)]
pub fn status_line(props: &StatusProps) -> Html {
    // When the download started and how many bytes had arrived then, for the rate.
    let start = use_mut_ref(|| None::<(f64, u64)>);
    let bar = match &props.progress {
        Some(Progress::Downloading {
            done,
            total,
            bytes_done,
            bytes_total,
        }) if *total > 0 => {
            let now = js_sys::Date::now();
            let (t0, b0) = *start.borrow_mut().get_or_insert((now, *bytes_done));
            let seconds = (now - t0) / 1000.0;
            let rate = (seconds >= 1.0).then(|| {
                format!(
                    ", {}/s",
                    format_size((bytes_done.saturating_sub(b0) as f64 / seconds) as u64)
                )
            });
            html! {
                <>
                <progress max={bytes_total.max(&1).to_string()} value={bytes_done.to_string()}
                    aria-label={t().download_progress.fill(*total as u64, &[("done", done)])}></progress>
                <span class="bytes">{ fill(t().bytes_progress, &[("done", &format_size(*bytes_done)), ("total", &format_size(*bytes_total))]) }{ rate.unwrap_or_default() }</span>
                </>
            }
        }
        Some(_) => html! {},
        None => {
            *start.borrow_mut() = None;
            html! {}
        }
    };
    let line = match &props.notice {
        Notice::None => html! {},
        Notice::Info(t) => html! { <span class="info">{t}</span> },
        Notice::Busy(t) => html! { <span class="busy">{t}</span> },
        Notice::Error { text, detail } => html! {
            <span class="error" role="alert">{text}
                if let Some(d) = detail { <span class="detail">{" "}{d}</span> }
            </span>
        },
    };
    let stop = props.on_cancel.as_ref().map(|cancel| {
        html! {
            <button id="cancel-check" onclick={cancel.reform(|_| ())}
                title={t().stop_title}>{t().stop}</button>
        }
    });
    html! { <div id="status" aria-live="polite">{line}{bar}{stop}</div> }
}

#[derive(Properties, PartialEq)]
pub struct CertProps {
    pub prompt: CertPrompt,
    pub on_trust: Callback<CertPrompt>,
    pub on_dismiss: Callback<()>,
}

#[function_component(CertQuestion)]
pub fn cert_question(props: &CertProps) -> Html {
    let p = props.prompt.clone();
    let on_trust = props.on_trust.clone();
    // "Don't trust" is the default: it has the focus, so Enter does not pin.
    let distrust = use_node_ref();
    {
        let distrust = distrust.clone();
        use_effect_with(p.fingerprint.clone(), move |_| {
            if let Some(b) = distrust.cast::<web_sys::HtmlElement>() {
                let _ = b.focus();
            }
        });
    }
    let s = t();
    html! {
        <section id="cert-prompt" class="card" role="alertdialog" aria-labelledby="cert-title">
            <h2 id="cert-title">{s.trust_title}</h2>
            <p>{fill(s.cert_unverified, &[("host", &p.host), ("problem", &p.problem)])}</p>
            <p class="warning">{s.trust_warning}</p>
            <p>{s.compare_fingerprint}</p>
            <code class="fingerprint">{&p.fingerprint}</code>
            <p class="hint">{s.pin_hint}</p>
            <div class="actions">
                <button id="distrust-cert" class="primary" ref={distrust} onclick={props.on_dismiss.reform(|_| ())}>{s.distrust}</button>
                <button id="trust-cert" onclick={Callback::from(move |_| on_trust.emit(p.clone()))}>{s.trust_and_check}</button>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct PasswordProps {
    pub account_name: String,
    pub on_password: Callback<Secret<String>>,
}

#[function_component(PasswordQuestion)]
pub fn password_question(props: &PasswordProps) -> Html {
    let input = use_node_ref();
    let onsubmit = {
        let input = input.clone();
        let on_password = props.on_password.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(i) = input.cast::<HtmlInputElement>() {
                if !i.value().is_empty() {
                    on_password.emit(Secret::new(i.value()));
                }
            }
        })
    };
    html! {
        <form id="password-prompt" class="card" {onsubmit}>
            <label for="prompt-password">{fill(t().password_for, &[("name", &props.account_name)])}</label>
            <input id="prompt-password" ref={input} type="password" autocomplete="current-password" />
            <button id="password-ok" type="submit" class="primary">{t().check_mail}</button>
        </form>
    }
}

#[derive(Properties, PartialEq)]
pub struct SignInProps {
    pub account_name: String,
    /// The provider, as its button names it.
    pub label: String,
    pub on_sign_in: Callback<()>,
}

/// The password question of an account that signs in with a provider: one click opens the
/// provider's sign-in again (the notice above says why it is needed).
#[function_component(SignInQuestion)]
pub fn sign_in_question(props: &SignInProps) -> Html {
    let on_sign_in = props.on_sign_in.clone();
    html! {
        <section id="sign-in-prompt" class="card" aria-labelledby="sign-in-title">
            <h2 id="sign-in-title">{fill(t().sign_in_to, &[("name", &props.account_name)])}</h2>
            <p class="hint">{fill(t().sign_in_opens, &[("label", &props.label)])}</p>
            <button id="sign-in-again" type="button" class="primary"
                onclick={Callback::from(move |_| on_sign_in.emit(()))}>
                {fill(t().sign_in_with, &[("label", &props.label)])}</button>
        </section>
    }
}
