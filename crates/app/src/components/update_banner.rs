//! "Update available": a new version is installed and waits for the user's go-ahead.

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub on_reload: Callback<()>,
}

#[function_component(UpdateBanner)]
pub fn update_banner(props: &Props) -> Html {
    html! {
        <div id="update-banner" class="banner" role="status">
            <span>{"Update available: a new version of Postino is ready."}</span>
            <button id="update-reload" class="primary" onclick={props.on_reload.reform(|_| ())}>{"Reload"}</button>
        </div>
    }
}
