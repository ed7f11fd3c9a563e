fn main() {
    yew::Renderer::<postino_app::App>::new().render();
}
