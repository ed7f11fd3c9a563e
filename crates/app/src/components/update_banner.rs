//! "Update available": a new version is installed and waits for the user's go-ahead.

use postino_i18n::t;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub on_reload: Callback<()>,
}

#[function_component(UpdateBanner)]
pub fn update_banner(props: &Props) -> Html {
    html! {
        <div id="update-banner" class="banner" role="status">
            <span>{t().update_available}</span>
            <button id="update-reload" class="primary" onclick={props.on_reload.reform(|_| ())}>{t().reload}</button>
        </div>
    }
}
