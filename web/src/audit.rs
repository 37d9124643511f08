//! The audit log's web side: a middleware that records every mutation that went through — API
//! or form — as who (the identity `auth.rs` or `ui/guard.rs` recognised, `anonymous` without
//! authentication), what and on what (from the path, [`action_of`]), and from where (the
//! client's address); and `GET /api/v1/audit`, the log newest first (under the read policy of
//! the rest of `/api/v1`: open unless `ORCH_AUTH_READS`).
//!
//! Refused requests (401, 403, 4xx answers of the handlers) changed nothing and are not
//! recorded; a failure to record is logged and does not fail the request, which is done.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use orchestrator::storage::NewAuditRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::ANONYMOUS;
use crate::error::{ApiError, ErrorJson};
use crate::extract::ApiQuery;
use crate::roles::Identity;
use crate::state::AppState;
use crate::throttle::client_of;

/// What a mutation of `path` (API or page) is, and on what; `None` for the login and logout
/// forms, which change no state.
pub fn action_of(method: &Method, path: &str) -> Option<(String, String)> {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (action, target) = match segments.as_slice() {
        ["login" | "logout"] => return None,
        ["jobs", job, "launch"] => ("launch".to_owned(), (*job).to_owned()),
        ["runs", id, action @ ("cancel" | "reexecute")] => ((*action).to_owned(), (*id).to_owned()),
        [
            kind @ ("schedules" | "sensors"),
            name,
            switch @ ("on" | "off"),
        ] => (
            format!("{}.{switch}", kind.trim_end_matches('s')),
            (*name).to_owned(),
        ),
        ["reload"] => ("reload".to_owned(), String::new()),
        ["jobs", job, "backfills"] => ("backfill.create".to_owned(), (*job).to_owned()),
        ["backfills", id, action] => (format!("backfill.{action}"), (*id).to_owned()),
        _ => (method.as_str().to_owned(), path.to_owned()),
    };
    Some((action, target))
}

/// The middleware: records a mutation that succeeded (a status below 400: 2xx from the API,
/// 303 from a form).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let Some((action, target)) = action_of(&method, request.uri().path()) else {
        return next.run(request).await;
    };
    let who = request
        .extensions()
        .get::<Identity>()
        .map_or_else(|| ANONYMOUS.to_owned(), |i| i.name.clone());
    let client = client_of(&request).to_string();
    let response = next.run(request).await;
    if response.status().as_u16() < 400 {
        let record = NewAuditRecord {
            who,
            action,
            target,
            client,
        };
        if let Err(e) = state.store.record_audit(&record).await {
            tracing::error!(error = %e, ?record, "cannot record a mutation in the audit log");
        }
    }
    response
}

/// `GET /api/v1/audit`'s query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next` cursor of the previous page (a record id).
    before: Option<i64>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One recorded mutation.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecordJson {
    pub id: i64,
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
    /// Who: a token's name, `sso:<user>`, `cli` or `anonymous`.
    pub who: String,
    /// What: `launch`, `cancel`, `reexecute`, `schedule.on|off`, `sensor.on|off`, `reload`,
    /// `backfill.create|cancel|resume|retry`, `prune`.
    pub action: String,
    /// On what: a job, a run id, a schedule or sensor name (empty when none).
    pub target: String,
    /// From where: the client's address, or `cli`.
    pub client: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub records: Vec<AuditRecordJson>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next: Option<i64>,
}

/// The audit log: every mutation (launch, cancel, re-execute, switches, reload, prune), newest
/// first, a page at a time.
#[utoipa::path(get, path = "/audit", operation_id = "list_audit", tag = "instance",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of the audit log", body = AuditPage),
        (status = 400, description = "A malformed cursor or limit", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = crate::api::page_size(query.limit)?;
    let mut records = state.store.list_audit(query.before, limit + 1).await?;
    let more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next = more.then(|| records.last().map(|r| r.id)).flatten();
    Ok(Json(AuditPage {
        records: records
            .into_iter()
            .map(|r| AuditRecordJson {
                id: r.id,
                at: r.at.to_rfc3339(),
                who: r.who,
                action: r.action,
                target: r.target,
                client: r.client,
            })
            .collect(),
        next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_named_by_their_path() {
        let post = |path: &str| action_of(&Method::POST, path);
        let pair = |a: &str, t: &str| Some((a.to_owned(), t.to_owned()));
        assert_eq!(post("/api/v1/jobs/etl/launch"), pair("launch", "etl"));
        assert_eq!(post("/jobs/etl/launch"), pair("launch", "etl"));
        assert_eq!(post("/runs/r1/cancel"), pair("cancel", "r1"));
        assert_eq!(post("/api/v1/runs/r1/reexecute"), pair("reexecute", "r1"));
        assert_eq!(
            post("/api/v1/schedules/nightly/off"),
            pair("schedule.off", "nightly")
        );
        assert_eq!(post("/sensors/s/on"), pair("sensor.on", "s"));
        assert_eq!(post("/reload"), pair("reload", ""));
        assert_eq!(
            post("/api/v1/jobs/etl/backfills"),
            pair("backfill.create", "etl")
        );
        assert_eq!(
            post("/api/v1/backfills/b1/cancel"),
            pair("backfill.cancel", "b1")
        );
        assert_eq!(post("/login"), None);
        assert_eq!(post("/logout"), None);
        assert_eq!(post("/api/v1/other"), pair("POST", "/other"));
    }
}
