//! Before an account's first check: how much of what waits on the server to download. What is
//! left out stays on the server, listed in "On the server…", downloadable later.

use postino_i18n::{fill, t};
use postino_sync::first_check::{FirstCheck, Scope};
use yew::prelude::*;

use crate::message_view::format_size;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub account_name: String,
    pub survey: FirstCheck,
    pub on_choose: Callback<Scope>,
}

fn messages(n: usize) -> String {
    t().count_messages.fill(n as u64, &[])
}

#[function_component(FirstCheckQuestion)]
pub fn first_check_question(props: &Props) -> Html {
    let chosen = use_state(|| props.survey.suggested);
    let recent = Scope::Recent {
        days: props.survey.days,
    };
    let option = |id: &'static str, scope: Scope, label: String| {
        let set = {
            let chosen = chosen.clone();
            Callback::from(move |_: Event| chosen.set(scope))
        };
        html! {
            <label class="check" for={id}>
                <input type="radio" name="first-check" {id} checked={*chosen == scope} onchange={set} />
                {" "}{label}
            </label>
        }
    };
    let (all, all_bytes) = props.survey.count(Scope::Everything);
    let (last, last_bytes) = props.survey.count(recent);
    let go = {
        let (chosen, on_choose) = (chosen.clone(), props.on_choose.clone());
        Callback::from(move |_: MouseEvent| on_choose.emit(*chosen))
    };
    let s = t();
    html! {
        <section id="first-check" class="card" role="dialog" aria-labelledby="first-check-title">
            <h2 id="first-check-title">{fill(s.first_check_title, &[("name", &props.account_name)])}</h2>
            <fieldset>
                <legend>{s.first_check_waiting.fill(all as u64, &[])}</legend>
                { option("first-check-everything", Scope::Everything,
                    fill(s.first_check_everything, &[("messages", &messages(all)), ("size", &format_size(all_bytes))])) }
                { option("first-check-recent", recent,
                    fill(s.first_check_recent, &[("days", &props.survey.days), ("messages", &messages(last)), ("size", &format_size(last_bytes))])) }
                { option("first-check-new", Scope::FromNowOn, s.first_check_new.to_string()) }
            </fieldset>
            <p class="hint">{s.first_check_hint}</p>
            <div class="actions">
                <button id="first-check-go" type="button" class="primary" onclick={go}>{s.download}</button>
            </div>
        </section>
    }
}
