//! The run queue's rules: which queued runs may start now, given the runs in progress and the
//! concurrency limits. Pure: the storage layer gathers the counts and applies the plan.

use std::collections::BTreeMap;

use super::{Run, RunId, TagKey};

/// A limit on runs in progress that carry a tag, like Dagster's `tag_concurrency_limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagLimit {
    pub key: TagKey,
    /// `Some(v)`: at most `limit` runs with `key=v`. `None`: at most `limit` runs per distinct
    /// value of `key`.
    pub value: Option<String>,
    pub limit: u32,
}

/// Concurrency limits of the run queue. Runs in progress are those STARTING, STARTED or
/// CANCELING: a slot is taken from the claim until the run ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueLimits {
    /// At most this many runs in progress at once; `None` is unlimited.
    pub max_concurrent_runs: Option<u32>,
    pub tag_limits: Vec<TagLimit>,
}

/// What is in progress now: the total and, per limited tag key, the count per value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InProgress {
    pub total: u64,
    pub by_tag: BTreeMap<(TagKey, String), u64>,
}

impl QueueLimits {
    /// The tag keys some limit names (what the store must count).
    pub fn limited_keys(&self) -> Vec<TagKey> {
        let mut keys: Vec<TagKey> = self.tag_limits.iter().map(|l| l.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The queued runs (oldest first) that may start now, in order. A run blocked by a tag limit
    /// is passed over, so it does not hold back runs behind it that no limit blocks.
    pub fn plan(&self, queued: &[Run], in_progress: &InProgress) -> Vec<RunId> {
        let mut total = in_progress.total;
        let mut by_tag = in_progress.by_tag.clone();
        let mut claims = Vec::new();
        for run in queued {
            if self
                .max_concurrent_runs
                .is_some_and(|max| total >= u64::from(max))
            {
                break;
            }
            let blocked = self.tag_limits.iter().any(|limit| {
                run.tags.get(&limit.key).is_some_and(|value| {
                    limit.value.as_ref().is_none_or(|v| v == value)
                        && by_tag
                            .get(&(limit.key.clone(), value.clone()))
                            .copied()
                            .unwrap_or(0)
                            >= u64::from(limit.limit)
                })
            });
            if blocked {
                continue;
            }
            total += 1;
            for key in self.limited_keys() {
                if let Some(value) = run.tags.get(&key) {
                    *by_tag.entry((key, value.clone())).or_default() += 1;
                }
            }
            claims.push(run.id);
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::domain::{JobName, RunStatus};

    fn run(tags: &[(&str, &str)]) -> Run {
        let now = Utc::now();
        Run {
            id: RunId::new(),
            job: JobName::parse("j").unwrap(),
            status: RunStatus::Queued,
            config: json!({}),
            tags: tags
                .iter()
                .map(|(k, v)| (TagKey::parse(k).unwrap(), (*v).to_owned()))
                .collect(),
            parent_run_id: None,
            step_selection: None,
            created_at: now,
            started_at: None,
            ended_at: None,
            updated_at: now,
            heartbeat_at: None,
            worker: None,
            checks_failed: 0,
            definition_version: None,
            partition: None,
            launched_by: None,
        }
    }

    fn tag_limit(key: &str, value: Option<&str>, limit: u32) -> TagLimit {
        TagLimit {
            key: TagKey::parse(key).unwrap(),
            value: value.map(str::to_owned),
            limit,
        }
    }

    #[test]
    fn global_limit_counts_runs_in_progress() {
        let limits = QueueLimits {
            max_concurrent_runs: Some(4),
            tag_limits: vec![],
        };
        let queued: Vec<Run> = (0..10).map(|_| run(&[])).collect();
        let busy = InProgress {
            total: 3,
            ..InProgress::default()
        };
        assert_eq!(limits.plan(&queued, &busy), vec![queued[0].id]);
        let full = InProgress {
            total: 4,
            ..InProgress::default()
        };
        assert!(limits.plan(&queued, &full).is_empty());
        assert_eq!(QueueLimits::default().plan(&queued, &full).len(), 10);
    }

    #[test]
    fn a_tag_limit_passes_over_blocked_runs_only() {
        let limits = QueueLimits {
            max_concurrent_runs: Some(10),
            tag_limits: vec![tag_limit("pipeline", Some("weather"), 1)],
        };
        let queued = vec![
            run(&[("pipeline", "weather")]),
            run(&[("pipeline", "weather")]),
            run(&[("pipeline", "product")]),
            run(&[]),
        ];
        let plan = limits.plan(&queued, &InProgress::default());
        assert_eq!(plan, vec![queued[0].id, queued[2].id, queued[3].id]);
    }

    #[test]
    fn a_per_value_limit_applies_to_each_value() {
        let limits = QueueLimits {
            max_concurrent_runs: None,
            tag_limits: vec![tag_limit("team", None, 1)],
        };
        let queued = vec![
            run(&[("team", "a")]),
            run(&[("team", "a")]),
            run(&[("team", "b")]),
        ];
        let mut busy = InProgress::default();
        busy.by_tag
            .insert((TagKey::parse("team").unwrap(), "b".into()), 1);
        assert_eq!(limits.plan(&queued, &busy), vec![queued[0].id]);
    }
}
