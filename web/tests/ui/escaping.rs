//! Nothing a user types reaches HTML unescaped or SQL unbound: tags, configs, filters and form
//! text full of markup, quotes and SQL come back as text.

use axum::http::StatusCode;
use orchestrator::domain::RunStatus;

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    markup_in_tags_config_and_filters_is_escaped,
    sql_looking_input_is_just_text,
);

const EVIL: &str = "<script>alert(\"x\")</script>'\"";

async fn markup_in_tags_config_and_filters_is_escaped(app: TestApp) {
    let run = app.queued(&[("note", EVIL)]).await;
    let browser = Browser::new(&app);

    let page = browser.get(&format!("/runs/{}", run.id)).await;
    page.assert_status(StatusCode::OK)
        .assert_lacks("<script>alert")
        .assert_contains("note=&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#39;&#34;");

    let filter = format!("/runs?tag=note%3D{}", crate::browser_encode(EVIL));
    let list = browser.get(&filter).await;
    list.assert_status(StatusCode::OK)
        .assert_lacks("<script>alert")
        // The filter matched the run, and the form shows the value escaped.
        .assert_contains(&run.id.to_string())
        .assert_contains("value=\"note=&#60;script&#62;");

    // A config with markup: refused (unknown key), echoed escaped; then accepted in a known key.
    let csrf = browser.get("/jobs/etl").await.csrf();
    let config = format!("{{\"{EVIL}\": 1}}");
    let refused = browser
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("config", &config)])
        .await;
    refused
        .assert_status(StatusCode::UNPROCESSABLE_ENTITY)
        .assert_lacks("<script>alert")
        .assert_lacks("</textarea><script>");
    let config = serde_json::json!({ "source": format!("</textarea>{EVIL}") }).to_string();
    let launched = browser
        .post("/jobs/etl/launch", &[("csrf", &csrf), ("config", &config)])
        .await;
    launched.assert_status(StatusCode::SEE_OTHER);
    browser
        .get(launched.location())
        .await
        .assert_lacks("<script>alert")
        .assert_lacks("</textarea><script>")
        .assert_contains("&#60;/textarea&#62;&#60;script&#62;");

    // Markup in a path is escaped on the 404 page too.
    browser
        .get("/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await
        .assert_status(StatusCode::NOT_FOUND)
        .assert_lacks("<script>alert");
}

async fn sql_looking_input_is_just_text(app: TestApp) {
    let run = app.finished(RunStatus::Success).await;
    let browser = Browser::new(&app);
    for uri in [
        "/runs?job=etl%27%3B%20DROP%20TABLE%20runs%3B%20--",
        "/runs?tag=a%3D1%27%20OR%20%271%27%3D%271",
        "/assets/x%27%20OR%201%3D1%20--",
    ] {
        let page = browser.get(uri).await;
        assert!(
            [
                StatusCode::OK,
                StatusCode::BAD_REQUEST,
                StatusCode::NOT_FOUND
            ]
            .contains(&page.status),
            "{uri}: {}",
            page.status
        );
        page.assert_lacks(&run.id.to_string());
    }
    // Everything is still there.
    browser
        .get("/runs")
        .await
        .assert_contains(&run.id.to_string());
}
