//! The relay's HTTP routes: the WebSocket endpoint, health, metrics, the demo mailbox's
//! settings, autoconfig (crate::autoconfig), and the built app.

use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State, WebSocketUpgrade};
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, HOST, ORIGIN, REFERRER_POLICY, SEC_WEBSOCKET_PROTOCOL, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::services::ServeDir;

use base64::Engine as _;
use postino_pop3::secret::Secret;
use ring::digest::{digest, SHA256};

use postino_contract::{AUTOCONFIG, ROUTE, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};

use crate::bridge::{self, BridgeRequest, READ_BUFFER};
use crate::RelayState;

/// Pages larger than this are served without inline-script hashes (Trunk's is ~2 KiB).
const MAX_PAGE_FOR_CSP: usize = 1 << 20;

/// HSTS for a relay that terminates TLS itself: a year, this host only.
const HSTS: &str = "max-age=31536000";

/// The main listener's routes; `/metrics` among them when `with_metrics`.
pub fn router(state: Arc<RelayState>, dist: &FsPath, with_metrics: bool) -> Router {
    // The build writes `.br` and `.gz` beside each large file (web/sw-stamp.mjs): a phone on a
    // slow link gets the smallest its browser accepts, compressed once at build time.
    let app = ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip();
    let mut routes = Router::new()
        .route(ROUTE, get(tcp))
        .route("/v1/demo", get(demo))
        .route(AUTOCONFIG, get(crate::autoconfig::autoconfig))
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::oauth::routes());
    if with_metrics {
        routes = routes.route("/metrics", get(metrics));
    }
    routes
        .fallback_service(app)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            app_headers,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            own_host_only,
        ))
        .with_state(state)
}

/// The routes of `--metrics-listen`: `/metrics` and `/healthz`.
pub fn metrics_router(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Without `--origin`, a request whose Host header is not the relay's own is refused with 421
/// Misdirected Request before any route runs: that is a DNS-rebinding page (its name now
/// points at 127.0.0.1), or a name the operator has not told the relay about.
async fn own_host_only(
    State(state): State<Arc<RelayState>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(HOST).and_then(|v| v.to_str().ok());
    if state.policy.host_allowed(host) {
        return next.run(request).await;
    }
    tracing::warn!(host = ?host, path = ?request.uri().path(), "refused: Host is not the relay's own");
    (
        StatusCode::MISDIRECTED_REQUEST,
        "this relay answers to its listen address and localhost only; \
         to use another name, start it with --origin\n",
    )
        .into_response()
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
    // The token rides in the subprotocol list (never the URL); only `postino.v1` is selected,
    // so the token is not echoed back.
    let token = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.starts_with(TOKEN_SUBPROTOCOL_PREFIX))
        .map(|p| Secret::new(p.to_owned()));
    let client = state.trusted_proxies.client_address(peer.ip(), &headers);
    // The session's slot is taken before the upgrade: a refused client holds none, and its
    // refusal is sent and the socket closed at once (bridge::refuse).
    let permit = state.connections.acquire(client, Instant::now());
    let request = BridgeRequest {
        peer,
        client,
        origin: header(ORIGIN),
        host_header: header(HOST),
        host,
        port,
        token,
    };
    let max = state.limits.max_message_size;
    ws.protocols([SUBPROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        // Small buffers: an idle connection costs little, and with one frame in flight per
        // direction a slow reader cannot make the relay hold more.
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * READ_BUFFER)
        .on_upgrade(move |socket| bridge::run(socket, request, permit, state))
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

/// Headers of the app's files. Caching: the page, `sw.js` and the manifest are checked on every
/// visit (`no-cache`); Trunk's hashed assets never change under their name, so they are cached
/// for a year. Every HTML page gets the Content-Security-Policy of [`content_security_policy`].
async fn app_headers(
    State(state): State<Arc<RelayState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    // A page is read below to hash its inline scripts into the CSP: always the plain file.
    if path.ends_with('/') || path.ends_with(".html") {
        request.headers_mut().remove(ACCEPT_ENCODING);
    }
    let mut response = next.run(request).await;
    if state.tls {
        response
            .headers_mut()
            .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    let is_api = path.starts_with("/v1/") || path == "/healthz" || path == "/metrics";
    if is_api {
        return response;
    }
    // A page must be read to hash its inline scripts: one that still came compressed (reached
    // by another path than above) would have no hash and not run; it is refused, not served
    // broken.
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html && response.headers().contains_key(CONTENT_ENCODING) {
        tracing::warn!(path = ?path, "refused: a compressed page (.br/.gz beside it) is not served");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut response = if is_html {
        let token_origins = state
            .oauth
            .as_ref()
            .map(|o| o.public_token_origins())
            .unwrap_or_default();
        with_csp(response, &token_origins).await
    } else {
        response
    };
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(CACHE_CONTROL) {
        let value = if response.status().is_success() && is_hashed_asset(&path) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// The page with its CSP: the hashes of its inline scripts (Trunk's loader is one) are computed
/// from the page as served, so a rebuilt `dist/` needs no restart.
async fn with_csp(response: Response, connect: &[String]) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_FOR_CSP).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response();
    };
    let page = String::from_utf8_lossy(&bytes);
    let csp = content_security_policy(&inline_script_hashes(&page), connect);
    if let Ok(value) = HeaderValue::from_str(&csp) {
        parts.headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// The app's policy. WebAssembly needs `'wasm-unsafe-eval'`; Yew sets `style` attributes, hence
/// `'unsafe-inline'` for styles (not for scripts). `connect-src` allows `ws:`/`wss:` so the app
/// can use a relay on another origin; `connect` adds the token endpoints of the public OAuth
/// clients the relay lists (the page redeems their codes itself). Mail is shown in a sandboxed `srcdoc` iframe, which
/// inherits this policy: its images come as `data:`/`blob:` (cid: parts) or, once the user allows
/// remote content, over `https:`.
pub fn content_security_policy(script_hashes: &[String], connect: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push_str(&format!(" '{hash}'"));
    }
    let mut connect_src = String::from("'self' ws: wss:");
    for origin in connect {
        connect_src.push(' ');
        connect_src.push_str(origin);
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob: https: http:; font-src 'self' data:; \
         connect-src {connect_src}; worker-src 'self'; manifest-src 'self'; \
         frame-src 'self' blob:; child-src 'self' blob:; object-src 'none'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// `sha256-…` of the text of each `<script>` without `src` in `page`.
pub fn inline_script_hashes(page: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let open_tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script") else {
            break;
        };
        if !open_tag.contains("src=") {
            let sum = digest(&SHA256, &body.as_bytes()[..close]);
            hashes.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(sum.as_ref())
            ));
        }
        rest = &body[close..];
    }
    hashes
}

/// Whether a file name carries a content hash, as Trunk writes them: `app-0123456789abcdef.js`,
/// `app-0123456789abcdef_bg.wasm`.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    // Trunk's hashes are 16 hex digits, or 15 when the hash's leading digit was a zero.
    name.split(['-', '_', '.']).any(|part| {
        (15..=16).contains(&part.len())
            && part.bytes().all(|b| b.is_ascii_hexdigit())
            && part.bytes().any(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_skipped() {
        let page = "<script type=\"module\">init()</script><script src=\"/a.js\"></script>\
                    <script>\nx\n</script>";
        let hashes = inline_script_hashes(page);
        assert_eq!(hashes.len(), 2);
        // echo -n 'init()' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            hashes[0],
            "sha256-w4ujnOpjBoH2vcasx+reJRUwYivG8Q3afx/XevGJod8="
        );
        let csp = content_security_policy(&hashes, &[]);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert!(csp.contains("connect-src 'self' ws: wss:;"));
        let csp = content_security_policy(&hashes, &["https://login.example".into()]);
        assert!(csp.contains("connect-src 'self' ws: wss: https://login.example;"));
    }

    #[test]
    fn only_hashed_assets_are_immutable() {
        assert!(is_hashed_asset("/postino-app-8a9b1c2d3e4f5a6b.js"));
        assert!(is_hashed_asset("/postino-app-8a9b1c2d3e4f5a6b_bg.wasm"));
        assert!(is_hashed_asset("/style-0123456789abcdef.css"));
        assert!(is_hashed_asset("/style-c9701c76d036488.css"));
        assert!(!is_hashed_asset("/"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/manifest.webmanifest"));
        assert!(!is_hashed_asset("/icons/icon-192.png"));
    }
}
