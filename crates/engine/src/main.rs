//! The engine worker's entry point (Trunk builds it with `data-type="worker"`).
fn main() {
    postino_engine::worker::start();
}
