//! A partitioned job's page section: the partition health bar (the status index's run-length
//! ranges as an SVG strip, each range coloured by status, titled with its keys and linking to
//! the key list of that status), the key list with its status filter (`/jobs/{job}?status=`),
//! and the backfill form (`POST /jobs/{job}/backfill`, operator role): it creates the backfill
//! through `orchestrator::backfill` like the API and sends the browser to its page (303); a
//! refusal (bad keys, mode) is the job page again, 422, with the reason and the form as typed.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orchestrator::backfill::{self, BackfillError, BackfillRequest, KeySpan};
use orchestrator::definitions::JobDef;
use orchestrator::domain::{BackfillMode, PartitionStatus};
use orchestrator::partition_status::{StatusQuery, read_status};
use serde::Deserialize;

use super::jobs::{find, page};
use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::guard::Viewer;
use crate::ui::page::PageError;
use crate::ui::paths::encode;

/// Width of the health bar's drawing, in SVG units.
const BAR_WIDTH: f64 = 1000.0;
/// Keys listed on the page.
const KEYS_SHOWN: usize = 200;

/// One range of the health bar.
#[derive(Debug)]
pub struct BarRange {
    pub x: String,
    pub width: String,
    pub status: &'static str,
    /// "2026-01-01 … 2026-01-05: materialized (5)".
    pub title: String,
    pub href: String,
}

/// The partition section of a job page.
#[derive(Debug, Default)]
pub struct PartitionView {
    /// (status, how many keys, selected in the filter).
    pub summary: Vec<(&'static str, u64, bool)>,
    pub total: u64,
    pub bar: Vec<BarRange>,
    /// (key, status) of the filtered list, at most `KEYS_SHOWN`.
    pub keys: Vec<(String, &'static str)>,
    /// More keys match than are listed.
    pub more: bool,
    /// The status filter in force ("" for all).
    pub filter: String,
}

/// The view of `job`'s partitions (`None` for an unpartitioned job), keys filtered by `status`.
pub async fn view(
    state: &AppState,
    job: &JobDef,
    status: Option<&str>,
) -> Result<Option<PartitionView>, PageError> {
    if job.partitions().is_none() {
        return Ok(None);
    }
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            raw.parse::<PartitionStatus>()
                .map_err(|e| PageError(ApiError::BadRequest(e.to_string())))?,
        ),
    };
    let report = read_status(
        state.store.as_ref(),
        job,
        &StatusQuery {
            asset: None,
            status,
            after: None,
            limit: KEYS_SHOWN,
        },
        chrono::Utc::now(),
    )
    .await
    .map_err(ApiError::from)?;
    let total = report.summary.total();
    let counts = report.summary;
    let summary = PartitionStatus::ALL
        .iter()
        .map(|s| {
            let n = match s {
                PartitionStatus::Materialized => counts.materialized,
                PartitionStatus::Failed => counts.failed,
                PartitionStatus::InProgress => counts.in_progress,
                PartitionStatus::Missing => counts.missing,
            };
            (s.as_str(), n, Some(*s) == status)
        })
        .collect();
    let name = encode(job.name.as_str(), false);
    let mut x = 0.0;
    let bar = report
        .ranges
        .iter()
        .map(|r| {
            #[allow(clippy::cast_precision_loss)]
            let width = BAR_WIDTH * r.count as f64 / total.max(1) as f64;
            let keys = if r.start == r.end {
                r.start.clone()
            } else {
                format!("{} … {}", r.start, r.end)
            };
            let range = BarRange {
                x: format!("{x:.2}"),
                width: format!("{width:.2}"),
                status: r.status.as_str(),
                title: format!("{keys}: {} ({})", r.status.as_str(), r.count),
                href: format!("/jobs/{name}?status={}#partition-keys", r.status.as_str()),
            };
            x += width;
            range
        })
        .collect();
    Ok(Some(PartitionView {
        summary,
        total,
        bar,
        more: report.next.is_some(),
        keys: report
            .partitions
            .into_iter()
            .map(|k| (k.key, k.status.as_str()))
            .collect(),
        filter: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
    }))
}

/// The backfill form's fields (`csrf` is the guard's), kept to re-show them as typed.
#[derive(Debug, Default, Deserialize)]
pub struct BackfillForm {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Keys separated by commas or new lines (instead of from and to).
    #[serde(default)]
    pub keys: String,
    #[serde(default)]
    pub mode: String,
    #[serde(default)]
    pub max_concurrent: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub reverse: Option<String>,
}

/// The request the form asks for, or why not.
fn request(form: &BackfillForm) -> Result<BackfillRequest, String> {
    let (from, to) = (form.from.trim(), form.to.trim());
    let keys: Vec<String> = form
        .keys
        .split([',', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    let keys = match (from.is_empty() && to.is_empty(), keys.is_empty()) {
        (false, true) if !from.is_empty() && !to.is_empty() => KeySpan::Range {
            from: from.to_owned(),
            to: to.to_owned(),
        },
        (true, false) => KeySpan::List(keys),
        _ => return Err("give either From and To, or a list of keys".to_owned()),
    };
    let mode = match form.mode.trim() {
        "" => BackfillMode::default(),
        raw => raw
            .parse()
            .map_err(|e: orchestrator::domain::UnknownBackfillMode| e.to_string())?,
    };
    let max_concurrent = match form.max_concurrent.trim() {
        "" => 0,
        raw => raw
            .parse()
            .map_err(|_| format!("max concurrent '{raw}' is not a whole number ≥ 0"))?,
    };
    Ok(BackfillRequest {
        keys,
        mode,
        reverse: form.reverse.is_some(),
        max_concurrent,
        step_selection: None,
    })
}

/// `POST /jobs/{job}/backfill` → 303 to the new backfill; 422 the job page with the reason.
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<BackfillForm>,
) -> Result<Response, PageError> {
    let job = &find(&state, &name)?;
    let refusal = match request(&form) {
        Err(reason) => reason,
        Ok(request) => {
            match backfill::plan(state.store.as_ref(), job, &request, chrono::Utc::now()).await {
                Ok(plan) => {
                    let created = state.store.create_backfill(&plan).await?;
                    tracing::info!(backfill = %created.id, job = %created.job, "backfill created from the web UI");
                    return Ok(Redirect::to(&format!("/backfills/{}", created.id)).into_response());
                }
                Err(BackfillError::Storage(e)) => return Err(e.into()),
                Err(refused) => refused.to_string(),
            }
        }
    };
    let mut body = page(&state, viewer, job, None).await?;
    body.backfill_error = Some(refusal);
    body.backfill_form = form;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
}
