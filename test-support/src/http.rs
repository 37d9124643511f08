//! Requests through an axum `Router` without a network (`oneshot`), and what came back: the
//! API suites of `web` and of the seed pipelines' products routes send theirs through here.
//! A failure to build, send or decode is a failed test, hence the panics.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

/// What a request got back, its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a JSON error with `status`, whose message contains `needle`.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, needle: &str) {
        self.assert_status(status);
        assert_eq!(self.body["status"], json!(status.as_u16()), "{}", self.body);
        let message = self.body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "expected {needle:?} in {message:?}"
        );
    }
}

/// Sends `request` through `router`; the body must be JSON or empty.
pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let (status, headers, bytes) = raw(router, request).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET uri` through `router`.
pub async fn get(router: &Router, uri: &str) -> Reply {
    send(router, empty(uri)).await
}

/// `GET uri` through `router`: the status, the content type and the body as text (pages).
pub async fn get_text(router: &Router, uri: &str) -> (StatusCode, String, String) {
    let (status, headers, bytes) = raw(router, empty(uri)).await;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("not UTF-8: {e}"));
    (status, content_type, text)
}

fn empty(uri: &str) -> Request<Body> {
    Request::get(uri)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("GET {uri}: {e}"))
}

async fn raw(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("read the body: {e}"));
    (status, headers, bytes.to_vec())
}
