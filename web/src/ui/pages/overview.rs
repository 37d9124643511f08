//! `GET /`: the overview — queue depth and runs in progress per status, asset health counts
//! (each linking to the catalog filtered by it), overdue assets, running runs, recent failures,
//! recent runs whose checks failed, and the next tick of every schedule that is on. Each list is
//! one bounded query.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::Utc;
use orchestrator::domain::{FreshnessState, Health, RunFilter, RunStatus};

use super::{RunRow, rows};
use crate::json::ScheduleJson;
use crate::state::AppState;
use crate::ui::format;
use crate::ui::guard::Viewer;
use crate::ui::page::PageError;

/// How many running runs and failures the overview lists.
const LISTED: u32 = 10;

/// A schedule's next tick.
#[derive(Debug)]
pub struct NextTick {
    pub name: String,
    pub job: String,
    pub next: String,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    viewer: Viewer,
    /// (status, count, class) for QUEUED, STARTING, STARTED, CANCELING.
    counts: Vec<(&'static str, u64, String)>,
    running: Vec<RunRow>,
    failures: Vec<RunRow>,
    checks_failed: Vec<RunRow>,
    ticks: Vec<NextTick>,
    /// (health, count) for every health, worst first.
    health: Vec<(&'static str, usize)>,
    overdue: Vec<Overdue>,
}

/// An asset that missed its freshness policy.
#[derive(Debug)]
pub struct Overdue {
    pub key: String,
    pub href: String,
    pub since: String,
    pub reason: String,
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<OverviewPage, PageError> {
    let unfinished = state.store.count_unfinished().await?;
    let counts = [
        RunStatus::Queued,
        RunStatus::Starting,
        RunStatus::Started,
        RunStatus::Canceling,
    ]
    .into_iter()
    .map(|status| {
        let n = unfinished
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        (status.as_str(), n, format::status_class(status))
    })
    .collect();
    let latest = |status| RunFilter {
        status: Some(status),
        limit: LISTED,
        ..RunFilter::default()
    };
    let running = state.store.list_runs(&latest(RunStatus::Started)).await?;
    let failures = state.store.list_runs(&latest(RunStatus::Failure)).await?;
    let checks_failed = state
        .store
        .list_runs(&RunFilter {
            checks_failed: true,
            limit: LISTED,
            ..RunFilter::default()
        })
        .await?;
    let by_key = super::assets::health_by_key(&state).await?;
    let health = [
        Health::Degraded,
        Health::Warning,
        Health::Healthy,
        Health::Unknown,
    ]
    .into_iter()
    .map(|h| {
        (
            h.as_str(),
            by_key.values().filter(|a| a.health == h).count(),
        )
    })
    .collect();
    let overdue = state
        .store
        .list_freshness()
        .await?
        .into_iter()
        .filter(|f| f.state == FreshnessState::Overdue)
        .map(|f| Overdue {
            href: crate::ui::paths::asset(f.asset_key.as_str()),
            key: f.asset_key.to_string(),
            since: format::instant(f.changed_at),
            reason: f.reason,
        })
        .collect();
    let states = state.store.list_schedule_states().await?;
    let now = Utc::now();
    let mut upcoming: Vec<_> = state
        .schedules()
        .iter()
        .filter_map(|def| {
            let json = ScheduleJson::with_states(def, &states, now);
            let next = def.next_tick_after(now).filter(|_| json.enabled)?;
            Some((next, json))
        })
        .collect();
    upcoming.sort_by_key(|(next, _)| *next);
    let ticks = upcoming
        .into_iter()
        .take(LISTED as usize)
        .map(|(next, json)| NextTick {
            name: json.name,
            job: json.job,
            next: format::instant(next),
        })
        .collect();
    Ok(OverviewPage {
        viewer,
        counts,
        running: rows(&running),
        failures: rows(&failures),
        checks_failed: rows(&checks_failed),
        ticks,
        health,
        overdue,
    })
}
