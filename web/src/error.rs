//! `ApiError`: every failure of a request as a status code and a JSON body
//! `{"error": "...", "status": 404}`. Client mistakes carry a message that says what was wrong;
//! server faults are logged in full and answered with an opaque message, so database details
//! never leak to a client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orchestrator::run_control::{CancelError, ReexecuteError};
use orchestrator::storage::StorageError;
use serde::Serialize;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: a bad id, query, or body (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Refused whoever asks: e.g. a cross-site mutation (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts, e.g. wrong tokens; the response carries `Retry-After` (429).
    #[error("{0}")]
    TooManyRequests(String),
    /// Nothing is there (404).
    #[error("{0}")]
    NotFound(String),
    /// The path exists, the method does not (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A request body over the limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// A request body that is not JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed, but refused by the rules: bad run config, a run that cannot be re-executed
    /// (422).
    #[error("{0}")]
    Unprocessable(String),
    /// The run's state forbids it: e.g. canceling a finished run (409).
    #[error("{0}")]
    Conflict(String),
    /// A fault on our side (500); the detail goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
    /// The store does not answer (503).
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The JSON body of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorJson {
    /// What went wrong, and on what.
    pub error: String,
    /// The HTTP status, repeated.
    pub status: u16,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "internal server error; the server log has the details".to_owned()
            }
            Self::Unavailable(detail) => {
                tracing::warn!(error = %detail, "store unavailable");
                UNAVAILABLE.to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorJson {
            error: message,
            status: status.as_u16(),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// What a client is told while the database is away (no detail of the fault).
pub const UNAVAILABLE: &str =
    "the run store does not answer; orch reconnects by itself, try again in a few seconds";

/// `Retry-After` of a 503: orch's reconnect backoff tops out at 5 s.
pub const RETRY_AFTER_SECS: &str = "5";

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::RunNotFound(_) => Self::NotFound(e.to_string()),
            StorageError::IllegalTransition { .. } | StorageError::NotTerminal(_) => {
                Self::Conflict(e.to_string())
            }
            // The database is away (a restart, a network cut): 503, not a fault of ours.
            other if other.is_unavailable() => Self::Unavailable(other.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<orchestrator::partition_status::StatusError> for ApiError {
    fn from(e: orchestrator::partition_status::StatusError) -> Self {
        use orchestrator::partition_status::StatusError;
        match e {
            StatusError::Storage(e) => e.into(),
            StatusError::UnknownAsset { .. } => Self::NotFound(e.to_string()),
            refused => Self::Unprocessable(refused.to_string()),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::AlreadyEnded { .. } => Self::Conflict(e.to_string()),
            CancelError::Storage(e) => e.into(),
        }
    }
}

impl From<ReexecuteError> for ApiError {
    fn from(e: ReexecuteError) -> Self {
        match e {
            ReexecuteError::NotFinished { .. } => Self::Conflict(e.to_string()),
            ReexecuteError::NoFailure { .. }
            | ReexecuteError::NothingFailed { .. }
            | ReexecuteError::JobGone { .. } => Self::Unprocessable(e.to_string()),
            ReexecuteError::Tag(e) => Self::Internal(e.to_string()),
            ReexecuteError::Storage(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_are_opaque_server_errors() {
        let e: ApiError = StorageError::Corrupt("bad row".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn finished_run_cancel_is_a_conflict() {
        let run = orchestrator::domain::RunId::new();
        let e: ApiError = CancelError::AlreadyEnded {
            run,
            status: orchestrator::domain::RunStatus::Success,
        }
        .into();
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert!(e.to_string().contains(&run.to_string()), "{e}");
    }
}
