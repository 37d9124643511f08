//! Errors as the API server returns them: a `Status` object with the HTTP code, a `reason`
//! (`NotFound`, `AlreadyExists`, `Invalid`, `BadRequest`, `Expired`, …) and a message in the
//! API server's wording.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::Kind;

/// An API error, answered as a `Status` object.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn details(kind: Kind, name: &str) -> Option<Value> {
        Some(json!({"name": name, "group": kind.group(), "kind": kind.resource()}))
    }

    fn qualified(kind: Kind) -> String {
        match kind.group() {
            "" => kind.resource().to_owned(),
            group => format!("{}.{group}", kind.resource()),
        }
    }

    pub fn not_found(kind: Kind, name: &str) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{name}\" not found", Self::qualified(kind)),
            details: Self::details(kind, name),
        }
    }

    pub fn already_exists(kind: Kind, name: &str) -> Self {
        Self {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} \"{name}\" already exists", Self::qualified(kind)),
            details: Self::details(kind, name),
        }
    }

    pub fn invalid(kind: Kind, name: &str, problem: &str) -> Self {
        Self {
            code: 422,
            reason: "Invalid",
            message: format!("{} \"{name}\" is invalid: {problem}", kind.name()),
            details: Self::details(kind, name),
        }
    }

    pub fn bad_request(message: String) -> Self {
        Self {
            code: 400,
            reason: "BadRequest",
            message,
            details: None,
        }
    }

    pub fn no_route() -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".to_owned(),
            details: None,
        }
    }

    /// A watch from a resourceVersion no longer kept.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self {
            code: 410,
            reason: "Expired",
            message: format!("too old resource version: {requested} ({oldest})"),
            details: None,
        }
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(self.status())).into_response()
    }
}
