//! The relay's HTTP routes: the WebSocket endpoint, health, metrics, the demo mailbox's
//! settings, and the built app.

use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Request, State, WebSocketUpgrade};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::services::ServeDir;

use crate::bridge::{self, BridgeRequest, PROTOCOL};
use crate::RelayState;

pub fn router(state: Arc<RelayState>, dist: &FsPath) -> Router {
    let app = ServeDir::new(dist).append_index_html_on_directories(true);
    Router::new()
        .route("/v1/tcp/{host}/{port}", get(tcp))
        .route("/v1/demo", get(demo))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback_service(app)
        .layer(middleware::from_fn(cache_control))
        .with_state(state)
}

async fn tcp(
    ws: WebSocketUpgrade,
    Path((host, port)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    State(state): State<Arc<RelayState>>,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let request = BridgeRequest {
        peer,
        origin: header(ORIGIN),
        host_header: header(HOST),
        host,
        port,
    };
    let max = state.limits.max_message_size;
    ws.protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| bridge::run(socket, request, state))
}

async fn demo(State(state): State<Arc<RelayState>>) -> Response {
    match &state.demo {
        Some(info) => Json(info.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "the demo mailbox is not enabled").into_response(),
    }
}

async fn metrics(State(state): State<Arc<RelayState>>) -> Response {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// The page is checked on every visit (`no-cache`); Trunk's hashed assets never change under
/// their name, so they are cached for a year.
async fn cache_control(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let is_api = path.starts_with("/v1/") || path == "/healthz" || path == "/metrics";
    if is_api || response.headers().contains_key(CACHE_CONTROL) {
        return response;
    }
    let value = if response.status().is_success() && is_hashed_asset(&path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// Whether a file name carries a content hash, as Trunk writes them: `app-0123456789abcdef.js`,
/// `app-0123456789abcdef_bg.wasm`.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    name.split(['-', '_', '.']).any(|part| {
        part.len() == 16
            && part.bytes().all(|b| b.is_ascii_hexdigit())
            && part.bytes().any(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_assets_are_immutable() {
        assert!(is_hashed_asset("/postino-app-8a9b1c2d3e4f5a6b.js"));
        assert!(is_hashed_asset("/postino-app-8a9b1c2d3e4f5a6b_bg.wasm"));
        assert!(is_hashed_asset("/style-0123456789abcdef.css"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
        assert!(!is_hashed_asset("/icons/icon-192.png"));
    }
}
