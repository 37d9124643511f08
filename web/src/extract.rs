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

/// An optional `u32` from a JSON number written either way: `4` or `4.0` (both are the integer
/// 4 to JSON Schema, and clients such as Python's `json` may send the second). A fraction, a
/// negative number or one past `u32::MAX` is refused naming the value.
pub fn integral_u32<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
            .map(|f| f as u64)
    });
    whole
        .and_then(|n| u32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "{number} is not a whole number from 0 to {}",
                u32::MAX
            ))
        })
}

#[cfg(test)]
mod integral_tests {
    #![allow(clippy::unwrap_used)]

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::integral_u32")]
        n: Option<u32>,
    }

    fn parse(json: &str) -> Result<Option<u32>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_either_way_and_nothing_else() {
        assert_eq!(parse(r#"{"n": 4}"#), Ok(Some(4)));
        assert_eq!(parse(r#"{"n": 400182544.0}"#), Ok(Some(400_182_544)));
        assert_eq!(parse(r#"{"n": null}"#), Ok(None));
        assert_eq!(parse("{}"), Ok(None));
        for bad in ["1.5", "-1", "4294967296", "\"3\""] {
            assert!(parse(&format!(r#"{{"n": {bad}}}"#)).is_err(), "{bad}");
        }
        assert!(parse(r#"{"n": 1.5}"#).unwrap_err().contains("1.5"));
    }
}
