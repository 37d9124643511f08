//! The audit log: records come back newest first with every field, page by keyset cursor, and
//! are pruned by age in batches (what retention does with `[retention] ticks`).

use std::sync::Arc;

use chrono::Utc;
use orchestrator::storage::{NewAuditRecord, RunStorage};

use crate::support::storage_tests;

storage_tests!(audit_records_list_newest_first_page_and_prune_by_age);

fn record(i: usize) -> NewAuditRecord {
    NewAuditRecord {
        who: if i.is_multiple_of(2) {
            "ci-bot"
        } else {
            "sso:ann@example.com"
        }
        .to_owned(),
        action: "launch".to_owned(),
        target: format!("job_{i}"),
        client: "127.0.0.1".to_owned(),
    }
}

async fn audit_records_list_newest_first_page_and_prune_by_age(store: Arc<dyn RunStorage>) {
    let before = Utc::now() - chrono::Duration::milliseconds(1);
    for i in 0..5 {
        let made = store.record_audit(&record(i)).await.unwrap();
        assert_eq!(made.target, format!("job_{i}"));
        assert!(made.at >= before && made.at <= Utc::now());
    }
    let first = store.list_audit(None, 3).await.unwrap();
    let targets: Vec<&str> = first.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["job_4", "job_3", "job_2"]);
    assert_eq!(first[0].who, "ci-bot");
    assert_eq!(first[1].who, "sso:ann@example.com");
    assert_eq!(first[0].client, "127.0.0.1");
    let rest = store.list_audit(Some(first[2].id), 3).await.unwrap();
    let targets: Vec<&str> = rest.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["job_1", "job_0"]);

    // Nothing is older than `before`; everything is older than a moment from now.
    assert_eq!(store.prune_audit(before, 100).await.unwrap(), 0);
    let later = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.prune_audit(later, 2).await.unwrap(), 2, "one batch");
    assert_eq!(store.prune_audit(later, 100).await.unwrap(), 3);
    assert!(store.list_audit(None, 10).await.unwrap().is_empty());
}
