//! The instance's daemon replicas through the API and the UI's instance page: registered
//! replicas with their heartbeat age, alive while the lease holds, and what each last did.

use axum::http::StatusCode;
use orchestrator::domain::DaemonId;

use crate::support::{TestApp, api_tests};

api_tests!(daemons_are_listed_with_their_state_and_last_action,);

async fn daemons_are_listed_with_their_state_and_last_action(app: TestApp) {
    let empty = app.get("/api/v1/daemons").await;
    empty.assert_status(StatusCode::OK);
    assert_eq!(empty.body["daemons"], serde_json::json!([]));

    let id = DaemonId::new();
    app.store.register_daemon(id, "node-1", 4242).await.unwrap();
    app.store
        .record_daemon_action(id, "launched run 0192")
        .await
        .unwrap();
    let listed = app.get("/api/v1/daemons").await;
    listed.assert_status(StatusCode::OK);
    let daemon = &listed.body["daemons"][0];
    assert_eq!(daemon["id"], id.to_string());
    assert_eq!(daemon["host"], "node-1");
    assert_eq!(daemon["pid"], 4242);
    assert_eq!(daemon["state"], "alive");
    assert_eq!(daemon["last_action"], "launched run 0192");
    assert!(daemon["heartbeat_age_ms"].as_i64().unwrap() < 3_000);

    let (status, _, page) = app.get_text("/instance").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("id=\"daemon-{id}\"")), "{page}");
    assert!(
        page.contains("node-1") && page.contains("launched run 0192"),
        "{page}"
    );
}
