//! Secrets from files (`NAME_FILE`, as Vault Agent and Kubernetes Secrets mount them) and never
//! printed: the database URL here (the auth token's file is in `web.rs`, the OpenWeather key's
//! in `weather.rs`).

use crate::support::{Orch, TestDb, init};

#[tokio::test]
async fn the_database_url_can_come_from_a_file_but_not_from_both() {
    init();
    let db = TestDb::create().await;
    let orch = Orch::local();
    let file = orch.home().join("database-url");
    std::fs::write(&file, format!("{}\n", db.url)).unwrap();
    let orch = orch.env("DATABASE_URL_FILE", file.display().to_string());
    orch.run(&["migrate"]).await.assert_exit(0);
    let runs = orch
        .run(&["runs", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    assert_eq!(runs, serde_json::json!([]));
    assert!(
        !orch.home().join("orch.db").exists(),
        "the URL of the file was used, not the embedded default"
    );
    let both = orch.env("DATABASE_URL", db.url.clone());
    both.run(&["runs", "list"])
        .await
        .assert_exit(2)
        .assert_says(&["DATABASE_URL and DATABASE_URL_FILE are both set"]);
    db.drop_database().await;
}

#[tokio::test]
async fn a_database_password_never_shows_in_errors() {
    init();
    let password = "hunter2-do-not-print";
    let orch = Orch::local().env(
        "DATABASE_URL",
        format!("postgres://orch:{password}@127.0.0.1:1/orch?sslmode=disable"),
    );
    let out = orch.run(&["runs", "list"]).await;
    out.assert_exit(1)
        .assert_says(&["cannot open the run store at postgres://orch:****@127.0.0.1:1/orch"]);
    assert!(
        !out.stdout.contains(password) && !out.stderr.contains(password),
        "{out}"
    );
}
