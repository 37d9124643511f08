//! A small browser over the router: remembers the session cookie, reads CSRF tokens out of
//! forms, posts URL-encoded forms, and keeps the HTML of each answer.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use tower::ServiceExt;

use crate::support::TestApp;

/// An HTML answer.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; page:\n{}",
            self.html
        );
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.html.contains(needle),
            "expected {needle:?} in the page:\n{}",
            self.html
        );
        self
    }

    #[track_caller]
    pub fn assert_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.html.contains(needle),
            "did not expect {needle:?} in the page:\n{}",
            self.html
        );
        self
    }

    /// The `Location` of a redirect.
    #[track_caller]
    pub fn location(&self) -> &str {
        self.headers["location"].to_str().unwrap()
    }

    /// The value of the first `name="csrf"` input.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.html.find(marker).expect("a form with a csrf field") + marker.len();
        let end = self.html[start..].find('"').unwrap();
        self.html[start..start + end].to_owned()
    }

    /// How many times `needle` occurs.
    pub fn count(&self, needle: &str) -> usize {
        self.html.matches(needle).count()
    }
}

/// A browser with a cookie jar of one cookie (the session).
#[derive(Debug, Clone)]
pub struct Browser {
    pub app: TestApp,
    cookie: Arc<Mutex<Option<String>>>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            app: app.clone(),
            cookie: Arc::default(),
        }
    }

    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().unwrap().clone()
    }

    pub async fn send(&self, mut request: Request<Body>) -> Page {
        if let Some(cookie) = self.cookie() {
            request
                .headers_mut()
                .insert("cookie", cookie.parse().unwrap());
        }
        let response = self.app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(set) = headers.get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            let removed = set.to_str().unwrap().contains("Max-Age=0");
            *self.cookie.lock().unwrap() = (!removed).then_some(pair);
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Page {
            status,
            headers,
            html: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, uri: &str) -> Page {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// POSTs `fields` URL-encoded, as a browser submits a form.
    pub async fn post(&self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}
