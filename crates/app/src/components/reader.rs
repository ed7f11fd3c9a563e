//! The reader: headers and the plain-text body.

use yew::prelude::*;

use crate::message_view::format_date;
use crate::state::ReaderView;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub view: ReaderView,
    pub on_close: Callback<()>,
}

#[function_component(Reader)]
pub fn reader(props: &Props) -> Html {
    let v = &props.view;
    html! {
        <article id="reader" aria-label="Message">
            <header>
                <button class="close" onclick={props.on_close.reform(|_| ())} aria-label="Close message">{"×"}</button>
                <h2 class="subject">{ if v.subject.is_empty() { "(no subject)" } else { v.subject.as_str() } }</h2>
                <dl>
                    <dt>{"From"}</dt><dd class="from">{ &v.from }</dd>
                    <dt>{"To"}</dt><dd class="to">{ &v.to }</dd>
                    <dt>{"Date"}</dt><dd class="date">{ format_date(v.date) }</dd>
                </dl>
            </header>
            <pre class="body">{ &v.body }</pre>
        </article>
    }
}
