//! What every page shares: the error page (404, 403, 4xx with a message, an opaque 500) and
//! `PageError`, the HTML counterpart of `ApiError` that handlers return.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orchestrator::storage::StorageError;

use super::guard::Viewer;
use crate::error::ApiError;

/// The error page.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub viewer: Viewer,
    pub code: u16,
    pub title: &'static str,
    pub message: String,
}

impl ErrorPage {
    pub fn forbidden(message: &str) -> Response {
        PageError::status(StatusCode::FORBIDDEN, message).into_response()
    }
}

/// A page that could not be served: rendered as the error page with the status of the
/// underlying `ApiError` (server faults logged, opaque to the browser).
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl PageError {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self(ApiError::NotFound(message.into()))
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self(ApiError::Internal(detail.into()))
    }

    /// An error page with `status` and `message`, for statuses `ApiError` does not name.
    pub fn status(status: StatusCode, message: &str) -> ErrorResponse {
        ErrorResponse {
            status,
            message: message.to_owned(),
        }
    }
}

/// An error page with a chosen status.
#[derive(Debug)]
pub struct ErrorResponse {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        render_error(self.status, self.message)
    }
}

fn render_error(status: StatusCode, message: String) -> Response {
    let page = ErrorPage {
        viewer: Viewer::default(),
        code: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    (status, page).into_response()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match self.0 {
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                "Something went wrong on the server; its log has the details.".to_owned()
            }
            ApiError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "store unavailable");
                "The database does not answer. orch reconnects by itself: this page works \
                 again as soon as the database is back (it reloads every 5 seconds)."
                    .to_owned()
            }
            other => other.to_string(),
        };
        let mut response = render_error(status, message);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A browser left on the page retries by itself (`Refresh` is honoured by all).
            response.headers_mut().insert(
                "refresh",
                axum::http::HeaderValue::from_static(crate::error::RETRY_AFTER_SECS),
            );
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(crate::error::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<StorageError> for PageError {
    fn from(e: StorageError) -> Self {
        Self(e.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::internal(format!("template: {e}"))
    }
}

/// The fallback of the whole application: any path nobody serves. Under `/api/` it stays JSON.
pub async fn not_found(uri: axum::http::Uri, viewer: Viewer) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::api::not_found().await.into_response();
    }
    let page = ErrorPage {
        viewer,
        code: 404,
        title: "Not Found",
        message: format!("Nothing lives at {}.", uri.path()),
    };
    (StatusCode::NOT_FOUND, page).into_response()
}

/// A page's query string deserialized into `T`; a malformed one is a 400 page naming the
/// problem.
#[derive(Debug)]
pub struct PageQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for PageQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(e) => Err(PageError(ApiError::BadRequest(e.body_text()))),
        }
    }
}
