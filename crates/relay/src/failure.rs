//! The refusal of a JSON route (`/v1/oauth/*`, `/v1/autoconfig/*`): an HTTP status, a stable
//! code for the app, and a sentence for the user, answered as `{"error", "message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    /// The stable code (`limit`, `origin`, `sign_in_again`...), also what logs name.
    pub error: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            error,
            message: message.into(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}
