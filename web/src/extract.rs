//! Extractors whose rejections are `ApiError`s, so a malformed query or body gets the same JSON
//! error shape as everything else, and the parsers of path segments into typed ids.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use orchestrator::domain::RunId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A query string deserialized into `T`; a malformed one is a 400 naming the problem.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// An optional JSON body: an empty body, or `null`, is `T::default()`; otherwise it must be sent
/// as `application/json` (which also keeps plain HTML forms of other sites from posting here) and
/// parse as `T`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        let bytes = match Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            // Too large (413) or unreadable: keep axum's status, answer in our shape.
            Err(e) => {
                let status = e.status();
                let message = e.body_text();
                return Err(if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(message)
                } else {
                    ApiError::BadRequest(message)
                });
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "the request body must be JSON sent with Content-Type: application/json".into(),
            ));
        }
        // `null` is "no body" too: the OpenAPI document's optional body is `T` or `null`.
        serde_json::from_slice::<Option<T>>(&bytes)
            .map(|body| Self(body.unwrap_or_default()))
            .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))
    }
}

/// A run id from a path or query, or a 400 naming it.
pub fn run_id(raw: &str) -> Result<RunId, ApiError> {
    RunId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))
}
