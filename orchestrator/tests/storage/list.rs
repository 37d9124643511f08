//! Listing runs: newest first, filters that combine, keyset pages that neither skip nor repeat,
//! and a page size that defaults and is bounded.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use orchestrator::domain::{NewRun, Run, RunFilter, RunId, RunStatus, Tags};
use orchestrator::storage::RunStorage;
use serde_json::json;

use crate::support::{self, job, queued, tag};

support::storage_tests!(
    runs_are_listed_newest_first,
    filters_by_status_job_and_tag_combine,
    keyset_pages_cover_every_run_exactly_once,
    limit_zero_means_the_default_and_large_limits_are_clamped,
    filters_by_who_launched,
);

async fn filters_by_who_launched(store: Arc<dyn RunStorage>) {
    let mut by_ci = Vec::new();
    for i in 0..6 {
        let who = ["ci-bot", "schedule:nightly", "sso:ann@example.com"][i % 3];
        let run = store
            .create_run(&NewRun::queued(job("ingest"), json!({}), Tags::new()).launched_by(who))
            .await
            .unwrap();
        if who == "ci-bot" {
            by_ci.push(run.id);
        }
    }
    store.create_run(&queued("ingest")).await.unwrap();
    let listed = |who: &str| {
        let filter = RunFilter {
            launched_by: Some(who.to_owned()),
            ..RunFilter::default()
        };
        let store = store.clone();
        async move {
            store
                .list_runs(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    by_ci.reverse();
    assert_eq!(listed("ci-bot").await, by_ci);
    assert_eq!(listed("sso:ann@example.com").await.len(), 2);
    assert!(listed("ci").await.is_empty(), "a prefix is not a match");
    assert_eq!(
        store.list_runs(&RunFilter::default()).await.unwrap().len(),
        7
    );
}

fn ids(runs: &[Run]) -> Vec<RunId> {
    runs.iter().map(|r| r.id).collect()
}

async fn runs_are_listed_newest_first(store: Arc<dyn RunStorage>) {
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(store.create_run(&queued("nightly")).await.unwrap().id);
    }
    // A run created later but moved along the lifecycle still sorts by creation.
    store
        .transition_run(created[0], RunStatus::Starting, None)
        .await
        .unwrap();
    created.reverse();
    let listed = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(ids(&listed), created);
}

/// What `list_runs` must return for `filter`, computed from the runs themselves.
fn expected(all: &[Run], filter: &RunFilter) -> Vec<RunId> {
    let mut ids: Vec<RunId> = all
        .iter()
        .filter(|r| filter.status.is_none_or(|s| r.status == s))
        .filter(|r| filter.job.as_ref().is_none_or(|j| &r.job == j))
        .filter(|r| {
            filter
                .tag
                .as_ref()
                .is_none_or(|(k, v)| r.tags.get(k) == Some(v))
        })
        .filter(|r| filter.before.is_none_or(|b| r.id < b))
        .map(|r| r.id)
        .collect();
    ids.sort_by(|a, b| b.cmp(a));
    ids
}

async fn filters_by_status_job_and_tag_combine(store: Arc<dyn RunStorage>) {
    let mut all = Vec::new();
    for i in 0..24 {
        let mut tags = Tags::new();
        match i % 3 {
            0 => tags.insert(tag("team"), "data".to_owned()),
            1 => tags.insert(tag("team"), "ml".to_owned()),
            // Same value under another key: must not match `team=data`.
            _ => tags.insert(tag("owner"), "data".to_owned()),
        };
        if i % 4 == 0 {
            tags.insert(tag("env"), "prod".to_owned());
        }
        let name = if i % 2 == 0 { "ingest" } else { "report" };
        let new = NewRun::queued(job(name), json!({"i": i}), tags);
        let run = store.create_run(&new).await.unwrap();
        let path: &[RunStatus] = match i % 5 {
            0 => &[],
            1 => &[RunStatus::Starting],
            2 => &[RunStatus::Starting, RunStatus::Started],
            3 => &[RunStatus::Starting, RunStatus::Started, RunStatus::Success],
            _ => &[RunStatus::Failure],
        };
        for &to in path {
            store.transition_run(run.id, to, None).await.unwrap();
        }
        all.push(store.get_run(run.id).await.unwrap());
    }
    let team = |v: &str| Some((tag("team"), v.to_owned()));
    let filters = [
        RunFilter {
            status: Some(RunStatus::Queued),
            ..Default::default()
        },
        RunFilter {
            status: Some(RunStatus::Success),
            ..Default::default()
        },
        RunFilter {
            status: Some(RunStatus::Canceled),
            ..Default::default()
        },
        RunFilter {
            job: Some(job("ingest")),
            ..Default::default()
        },
        RunFilter {
            job: Some(job("no_such_job")),
            ..Default::default()
        },
        RunFilter {
            tag: team("data"),
            ..Default::default()
        },
        RunFilter {
            tag: team("ml"),
            ..Default::default()
        },
        RunFilter {
            tag: team("nobody"),
            ..Default::default()
        },
        RunFilter {
            tag: Some((tag("owner"), "data".to_owned())),
            ..Default::default()
        },
        RunFilter {
            tag: Some((tag("env"), "prod".to_owned())),
            ..Default::default()
        },
        RunFilter {
            status: Some(RunStatus::Failure),
            job: Some(job("report")),
            ..Default::default()
        },
        RunFilter {
            job: Some(job("ingest")),
            tag: team("data"),
            ..Default::default()
        },
        RunFilter {
            status: Some(RunStatus::Queued),
            job: Some(job("ingest")),
            tag: team("data"),
            ..Default::default()
        },
        RunFilter {
            tag: team("ml"),
            before: Some(all[13].id),
            ..Default::default()
        },
    ];
    for filter in &filters {
        let listed = store.list_runs(filter).await.unwrap();
        assert_eq!(ids(&listed), expected(&all, filter), "{filter:?}");
        assert!(
            listed.iter().all(|r| all.contains(r)),
            "{filter:?}: rows differ from get_run"
        );
    }
    // The fixture is rich enough that the filters above select something and differ.
    let count = |f: &RunFilter| expected(&all, f).len();
    assert_eq!(count(&filters[0]), 5);
    assert_eq!(count(&filters[5]), 8);
    assert_eq!(count(&filters[11]), 4);
    assert_eq!(count(&filters[12]), 1);
    assert_eq!(count(&filters[10]), 2);
}

/// Follows `before` cursors from the newest run until a page comes back empty.
async fn walk(store: &dyn RunStorage, filter: &RunFilter) -> (Vec<RunId>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let page = RunFilter {
            before: cursor,
            ..filter.clone()
        };
        let runs = store.list_runs(&page).await.unwrap();
        sizes.push(runs.len());
        let Some(last) = runs.last() else { break };
        cursor = Some(last.id);
        seen.extend(ids(&runs));
        assert!(sizes.len() < 100, "pagination does not end");
    }
    (seen, sizes)
}

async fn keyset_pages_cover_every_run_exactly_once(store: Arc<dyn RunStorage>) {
    let mut created = Vec::new();
    for i in 0..25 {
        let name = if i % 3 == 0 { "ingest" } else { "report" };
        created.push(store.create_run(&queued(name)).await.unwrap());
    }
    let newest_first: Vec<RunId> = created.iter().rev().map(|r| r.id).collect();

    let (seen, sizes) = walk(
        store.as_ref(),
        &RunFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(sizes, vec![10, 10, 5, 0]);
    assert_eq!(seen, newest_first);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);

    let ingest = RunFilter {
        job: Some(job("ingest")),
        limit: 4,
        ..Default::default()
    };
    let (seen, sizes) = walk(store.as_ref(), &ingest).await;
    assert_eq!(sizes, vec![4, 4, 1, 0]);
    let expected: Vec<RunId> = created
        .iter()
        .rev()
        .filter(|r| r.job.as_str() == "ingest")
        .map(|r| r.id)
        .collect();
    assert_eq!(seen, expected);
}

async fn limit_zero_means_the_default_and_large_limits_are_clamped(store: Arc<dyn RunStorage>) {
    let news: Vec<NewRun> = (0..1001).map(|_| queued("bulk")).collect();
    let results: Vec<_> = futures::stream::iter(&news)
        .map(|new| store.create_run(new))
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    let newest_first: Vec<RunId> = news.iter().rev().map(|n| n.id).collect();

    let page = |limit| {
        let store = store.clone();
        async move {
            ids(&store
                .list_runs(&RunFilter {
                    limit,
                    ..Default::default()
                })
                .await
                .unwrap())
        }
    };
    assert_eq!(
        page(0).await,
        newest_first[..RunFilter::DEFAULT_LIMIT as usize]
    );
    assert_eq!(page(1).await, newest_first[..1]);
    assert_eq!(page(1000).await, newest_first[..1000]);
    assert_eq!(page(1001).await, newest_first[..1000]);
    assert_eq!(page(u32::MAX).await, newest_first[..1000]);
    assert_eq!(RunFilter::MAX_LIMIT, 1000);
}
