//! A stand-in for Slack's incoming webhooks: a real axum server on 127.0.0.1 that accepts
//! `POST /services/<team>/<bot>/<secret>` with a JSON body and answers as Slack does (`200 ok`;
//! `404 no_service` for a path it does not know), or with scripted answers (a 503 outage, a
//! 429 with `Retry-After`, a slow answer). It records every request with its arrival time, so
//! tests can check payloads, counts and pacing. Slack itself cannot be reached from tests; this
//! keeps its answer codes and headers, which is all the sender looks at.
// A test helper: a failed bind or a poisoned lock is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// The secret part of the stand-in's webhook path.
pub const SECRET_PATH: &str = "/services/T0000TEST/B0000TEST/s3cr3tT0k3n";

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            delay: Duration::ZERO,
        }
    }

    pub fn too_many(retry_after: &str) -> Self {
        Self {
            retry_after: Some(retry_after.into()),
            ..Self::status(429)
        }
    }

    pub fn slow(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::status(200)
        }
    }
}

/// A request the stand-in received, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub body: Value,
    pub status: u16,
}

impl Received {
    /// The run ids the message links to (`…/runs/<id>`), each once, in order.
    pub fn run_ids(&self) -> Vec<String> {
        let text = self.body.to_string();
        let mut ids: Vec<String> = Vec::new();
        for part in text.split("/runs/").skip(1) {
            let id: String = part.chars().take(36).collect();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

#[derive(Debug, Default)]
struct Inner {
    script: VecDeque<Reply>,
    received: Vec<Received>,
}

/// The running stand-in; it stops when dropped.
#[derive(Debug)]
pub struct SlackStandIn {
    base: String,
    inner: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl SlackStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/services/{*path}", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            base,
            inner,
            server,
        }
    }

    /// The webhook URL (a secret in production).
    pub fn url(&self) -> String {
        format!("{}{SECRET_PATH}", self.base)
    }

    /// A URL of this server that Slack would not know (a revoked webhook).
    pub fn revoked_url(&self) -> String {
        format!("{}/services/T0000TEST/B0000TEST/revoked", self.base)
    }

    /// The next answers, in order; after them, `200 ok`.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// The requests answered 200.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 200)
            .collect()
    }

    /// Waits until `done` holds for the requests received, or panics after `within`.
    pub async fn wait_for(&self, within: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if done(&self.received()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the Slack stand-in did not get what was expected within {within:?}: {:#?}",
                self.received().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SlackStandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(path): Path<String>,
    body: String,
) -> (StatusCode, HeaderMap, &'static str) {
    let at = Instant::now();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if format!("/services/{path}") != SECRET_PATH {
        inner.lock().unwrap().received.push(Received {
            at,
            body,
            status: 404,
        });
        return (StatusCode::NOT_FOUND, HeaderMap::new(), "no_service");
    }
    let reply = inner
        .lock()
        .unwrap()
        .script
        .pop_front()
        .unwrap_or(Reply::status(200));
    tokio::time::sleep(reply.delay).await;
    let mut headers = HeaderMap::new();
    if let Some(after) = &reply.retry_after {
        headers.insert("retry-after", HeaderValue::from_str(after).unwrap());
    }
    inner.lock().unwrap().received.push(Received {
        at,
        body,
        status: reply.status,
    });
    let status = StatusCode::from_u16(reply.status).unwrap();
    let text = match reply.status {
        200 => "ok",
        429 => "rate_limited",
        _ => "service_unavailable",
    };
    (status, headers, text)
}
