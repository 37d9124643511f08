//! The HTTP side: the routes of the API subset, list and watch semantics, and Status errors.
//!
//! A watch answers `200` with a long-lived body of newline-delimited events
//! (`{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`). Without a resourceVersion (or
//! with `0`) it starts with a synthetic `ADDED` per existing object; with one, it replays every
//! kept change after it, or sends one `ERROR` event with a `410 Expired` Status when that is
//! older than the kept history. Bookmarks come every `bookmark_interval` when asked for;
//! `timeoutSeconds` ends the stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::cluster::Cluster;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Change, Kind};

/// The router of the stand-in API server.
pub fn router(cluster: Arc<Cluster>) -> Router {
    Router::new()
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs",
            get(list_jobs).post(create_job),
        )
        .route(
            "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
            get(get_job).delete(delete_job),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods",
            get(list_pods).post(create_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(get_pod).delete(delete_pod),
        )
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pod_log))
        .fallback(|| async { ApiError::no_route() })
        .with_state(cluster)
}

/// Query parameters of list and watch.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    label_selector: Option<String>,
    field_selector: Option<String>,
    watch: Option<String>,
    resource_version: Option<String>,
    allow_watch_bookmarks: Option<bool>,
    timeout_seconds: Option<u64>,
}

async fn list_jobs(
    State(c): State<Arc<Cluster>>,
    Path(ns): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    list_or_watch(c, Kind::Job, ns, q)
}

async fn list_pods(
    State(c): State<Arc<Cluster>>,
    Path(ns): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    list_or_watch(c, Kind::Pod, ns, q)
}

/// Matches objects of one kind in one namespace.
#[derive(Debug, Clone)]
struct Filter {
    kind: Kind,
    namespace: String,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn object(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    fn change(&self, change: &Change) -> bool {
        change.kind == self.kind
            && change.namespace == self.namespace
            && self.object(&change.object)
    }
}

fn list_or_watch(
    c: Arc<Cluster>,
    kind: Kind,
    ns: String,
    q: ListQuery,
) -> Result<Response, ApiError> {
    let filter = Filter {
        kind,
        namespace: ns,
        labels: LabelSelector::parse(q.label_selector.as_deref().unwrap_or(""))
            .map_err(ApiError::bad_request)?,
        fields: FieldSelector::parse(q.field_selector.as_deref().unwrap_or(""))
            .map_err(ApiError::bad_request)?,
    };
    let watching = matches!(q.watch.as_deref(), Some("true" | "1"));
    if !watching {
        let (items, revision) = c.store.list(kind, Some(&filter.namespace));
        let items: Vec<Value> = items.into_iter().filter(|o| filter.object(o)).collect();
        return Ok(Json(json!({
            "kind": format!("{}List", kind.name()), "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": revision.to_string()}, "items": items,
        }))
        .into_response());
    }
    let from = match q.resource_version.as_deref() {
        None | Some("" | "0") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {text:?}")))?,
        ),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let options = WatchOptions {
        bookmarks: q.allow_watch_bookmarks.unwrap_or(false),
        timeout: q.timeout_seconds.map(std::time::Duration::from_secs),
    };
    tokio::spawn(serve_watch(c, filter, from, options, tx));
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }));
    Ok((StatusCode::OK, [("content-type", "application/json")], body).into_response())
}

#[derive(Debug, Clone, Copy)]
struct WatchOptions {
    bookmarks: bool,
    timeout: Option<std::time::Duration>,
}

fn line(event: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": event, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

/// Writes a watch's events until the client goes, the timeout passes or it lags behind.
async fn serve_watch(
    c: Arc<Cluster>,
    filter: Filter,
    from: Option<u64>,
    options: WatchOptions,
    tx: mpsc::Sender<Bytes>,
) {
    let mut pending: VecDeque<Bytes> = VecDeque::new();
    let start = match from {
        Some(rv) => rv,
        None => {
            let (items, revision) = c.store.list(filter.kind, Some(&filter.namespace));
            pending.extend(
                items
                    .iter()
                    .filter(|o| filter.object(o))
                    .map(|o| line("ADDED", o)),
            );
            revision
        }
    };
    let (replay, mut changes) = match c.store.watch_from(start) {
        Ok(parts) => parts,
        Err(oldest) => {
            c.expired_watches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = tx
                .send(line("ERROR", &ApiError::expired(start, oldest).status()))
                .await;
            return;
        }
    };
    pending.extend(
        replay
            .iter()
            .filter(|ch| filter.change(ch))
            .map(|ch| line(ch.event, &ch.object)),
    );
    for bytes in pending {
        if tx.send(bytes).await.is_err() {
            return;
        }
    }
    let limit = match (options.timeout, c.options.max_watch) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let deadline = limit.map(|t| tokio::time::Instant::now() + t);
    let mut bookmark = tokio::time::interval(c.options.bookmark_interval);
    bookmark.tick().await;
    loop {
        let out = tokio::select! {
            () = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => return,
            () = tx.closed() => return,
            change = changes.recv() => match change {
                Ok(ch) if filter.change(&ch) => line(ch.event, &ch.object),
                Ok(_) => continue,
                // Too slow a reader: end the stream; the client watches again from its last version.
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
            },
            _ = bookmark.tick() => {
                if !options.bookmarks { continue; }
                let object = json!({"kind": filter.kind.name(), "apiVersion": filter.kind.api_version(),
                    "metadata": {"resourceVersion": c.store.revision().to_string()}});
                line("BOOKMARK", &object)
            }
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}

async fn create_job(
    State(c): State<Arc<Cluster>>,
    Path(ns): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let created = c.create_job(&ns, body)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn create_pod(
    State(c): State<Arc<Cluster>>,
    Path(ns): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let created = c.create_pod(&ns, body)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn get_job(
    State(c): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    c.store
        .get(Kind::Job, &ns, &name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(Kind::Job, &name))
}

async fn get_pod(
    State(c): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    c.store
        .get(Kind::Pod, &ns, &name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(Kind::Pod, &name))
}

/// `DeleteOptions`, from the body or the query.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    pub propagation_policy: Option<String>,
    pub grace_period_seconds: Option<u64>,
}

fn delete_options(query: DeleteOptions, body: &Bytes) -> Result<DeleteOptions, ApiError> {
    if body.is_empty() {
        return Ok(query);
    }
    let from_body: DeleteOptions = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    Ok(DeleteOptions {
        propagation_policy: from_body.propagation_policy.or(query.propagation_policy),
        grace_period_seconds: from_body
            .grace_period_seconds
            .or(query.grace_period_seconds),
    })
}

async fn delete_job(
    State(c): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<DeleteOptions>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let options = delete_options(query, &body)?;
    c.delete_job(&ns, &name, options.propagation_policy.as_deref())
        .map(Json)
}

async fn delete_pod(
    State(c): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<DeleteOptions>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let options = delete_options(query, &body)?;
    c.delete_pod(&ns, &name, options.grace_period_seconds)
        .map(Json)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogQuery {
    tail_lines: Option<usize>,
}

async fn pod_log(
    State(c): State<Arc<Cluster>>,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<LogQuery>,
) -> Result<Response, ApiError> {
    if c.store.get(Kind::Pod, &ns, &name).is_none() {
        return Err(ApiError::not_found(Kind::Pod, &name));
    }
    let text = c.pod_log(&ns, &name).unwrap_or_default();
    let text = match q.tail_lines {
        Some(n) => {
            let lines: Vec<&str> = text.lines().collect();
            let mut tail = lines[lines.len().saturating_sub(n)..].join("\n");
            if !tail.is_empty() {
                tail.push('\n');
            }
            tail
        }
        None => text,
    };
    Ok(([("content-type", "text/plain")], text).into_response())
}
