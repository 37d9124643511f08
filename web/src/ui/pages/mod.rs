//! One module per page (or per form a page posts), plus the row views several pages share.

pub mod assets;
pub mod backfills;
pub mod instance;
pub mod jobs;
pub mod launch;
pub mod live;
pub mod login;
pub mod overview;
pub mod partitions;
pub mod run;
pub mod run_actions;
pub mod runs;
pub mod schedules;
pub mod sensors;

use chrono::Utc;
use orchestrator::domain::Run;

use super::format;

/// A run as a table row shows it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: String,
    pub short_id: String,
    pub job: String,
    pub status: &'static str,
    pub status_class: String,
    pub created: String,
    pub duration: String,
    pub tags: Vec<(String, String)>,
    /// "2 checks failed", when some did.
    pub checks_failed: Option<String>,
    /// Who started it (`—` when not recorded).
    pub launched_by: String,
}

impl From<&Run> for RunRow {
    fn from(run: &Run) -> Self {
        let id = run.id.to_string();
        // The tail of a UUIDv7 is its random part: what tells runs of one second apart.
        let short_id = id.rsplit('-').next().unwrap_or(&id).to_owned();
        let duration = match (run.started_at, run.ended_at) {
            (Some(start), Some(end)) => format::duration_ms((end - start).num_milliseconds()),
            (Some(start), None) => {
                format!(
                    "{} so far",
                    format::duration_ms((Utc::now() - start).num_milliseconds())
                )
            }
            _ => "—".to_owned(),
        };
        Self {
            short_id,
            id,
            job: run.job.to_string(),
            status: run.status.as_str(),
            status_class: format::status_class(run.status),
            created: format::instant(run.created_at),
            duration,
            launched_by: run.launched_by.clone().unwrap_or_else(|| "—".to_owned()),
            tags: run
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            checks_failed: format::checks_failed(run.checks_failed),
        }
    }
}

/// Rows of `runs`.
pub fn rows(runs: &[Run]) -> Vec<RunRow> {
    runs.iter().map(RunRow::from).collect()
}
