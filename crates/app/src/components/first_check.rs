//! Before an account's first check: how much of what waits on the server to download. What is
//! left out stays on the server, listed in "On the server…", downloadable later.

use postino_sync::first_check::{FirstCheck, Scope};
use postino_sync::summary::format_size;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub account_name: String,
    pub survey: FirstCheck,
    pub on_choose: Callback<Scope>,
}

fn messages(n: usize) -> String {
    match n {
        1 => "1 message".to_string(),
        n => format!("{n} messages"),
    }
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
    html! {
        <section id="first-check" class="card" role="dialog" aria-labelledby="first-check-title">
            <h2 id="first-check-title">{format!("How much mail to download for {}?", props.account_name)}</h2>
            <fieldset>
                <legend>{format!("{} wait on the server.", messages(all))}</legend>
                { option("first-check-everything", Scope::Everything,
                    format!("Everything ({}, {})", messages(all), format_size(all_bytes))) }
                { option("first-check-recent", recent,
                    format!("The last {} days ({}, {})", props.survey.days, messages(last), format_size(last_bytes))) }
                { option("first-check-new", Scope::FromNowOn, "From now on (only new mail)".to_string()) }
            </fieldset>
            <p class="hint">{"What you leave out stays on the server: \"On the server…\" in Settings lists it, and you can download any of it later."}</p>
            <div class="actions">
                <button id="first-check-go" type="button" class="primary" onclick={go}>{"Download"}</button>
            </div>
        </section>
    }
}
