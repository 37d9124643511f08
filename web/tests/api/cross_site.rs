//! Cross-site protection (`origin.rs`): a mutation whose `Origin` is another site's, or whose
//! `Sec-Fetch-Site` is `cross-site`, is refused with 403 and changes nothing — with no token
//! configured (the default of `orch dev`) and with one, even when the right token comes along.
//! Clients without those headers, pages of the server itself and origins listed in
//! `ORCH_ALLOWED_ORIGINS` keep working.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use web::{AllowedOrigins, AuthPolicy, AuthToken};

use crate::support::{TestApp, api_tests};

api_tests!(
    cross_site_launches_and_switches_are_refused_without_a_token,
    cross_site_requests_are_refused_even_with_the_right_token,
    own_origin_plain_clients_and_listed_origins_still_work,
);

const HOST: &str = "127.0.0.1:3000";
const TOKEN: &str = "correct-horse-battery-staple";

/// A POST with an empty body (which skips the JSON content-type check) and these headers.
fn post(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("host", HOST);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

async fn nightly_enabled(app: &TestApp) -> bool {
    app.store
        .list_schedule_states()
        .await
        .unwrap()
        .iter()
        .any(|s| s.name.as_str() == "nightly" && s.enabled)
}

async fn cross_site_launches_and_switches_are_refused_without_a_token(app: TestApp) {
    let evil = [("origin", "http://evil.example")];
    let launch = app.request(post("/api/v1/jobs/etl/launch", &evil)).await;
    launch.assert_error(StatusCode::FORBIDDEN, "Origin: http://evil.example");
    let fetch = [("sec-fetch-site", "cross-site")];
    app.request(post("/api/v1/jobs/etl/launch", &fetch))
        .await
        .assert_error(StatusCode::FORBIDDEN, "Sec-Fetch-Site: cross-site");
    app.request(post("/api/v1/schedules/nightly/on", &evil))
        .await
        .assert_error(StatusCode::FORBIDDEN, "ORCH_ALLOWED_ORIGINS");
    app.request(post("/api/v1/sensors/etl_failures/off", &fetch))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let opaque = [("origin", "null")];
    app.request(post("/api/v1/jobs/etl/launch", &opaque))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    assert!(
        app.runs().await.is_empty(),
        "a refused launch created a run"
    );
    assert!(!nightly_enabled(&app).await, "a refused switch took effect");
    assert!(
        app.store.list_sensor_states().await.unwrap().is_empty(),
        "a refused sensor switch was recorded"
    );
    // Reads are not mutations: another site's page may still not read them (CORS), but a GET
    // with its Origin is answered.
    let read = Request::get("/api/v1/runs")
        .header("host", HOST)
        .header("origin", "http://evil.example")
        .body(Body::empty())
        .unwrap();
    app.request(read).await.assert_status(StatusCode::OK);
}

async fn cross_site_requests_are_refused_even_with_the_right_token(app: TestApp) {
    let app = app.with_auth(AuthPolicy {
        token: AuthToken::new(TOKEN),
        ..AuthPolicy::default()
    });
    let bearer = format!("Bearer {TOKEN}");
    let headers = [
        ("origin", "http://127.0.0.2:8000"),
        ("authorization", bearer.as_str()),
    ];
    app.request(post("/api/v1/jobs/etl/launch", &headers))
        .await
        .assert_error(StatusCode::FORBIDDEN, "Origin: http://127.0.0.2:8000");
    assert!(app.runs().await.is_empty());
    // The same request from no browser at all passes the token check.
    app.request(post(
        "/api/v1/jobs/etl/launch",
        &[("authorization", bearer.as_str())],
    ))
    .await
    .assert_status(StatusCode::CREATED);
    assert_eq!(app.runs().await.len(), 1);
}

async fn own_origin_plain_clients_and_listed_origins_still_work(app: TestApp) {
    app.request(post("/api/v1/jobs/etl/launch", &[]))
        .await
        .assert_status(StatusCode::CREATED);
    let own = [
        ("origin", "http://127.0.0.1:3000"),
        ("sec-fetch-site", "same-origin"),
    ];
    app.request(post("/api/v1/jobs/etl/launch", &own))
        .await
        .assert_status(StatusCode::CREATED);
    // Our own pages' forms: `Origin: null` (Referrer-Policy: no-referrer), vouched for by the
    // browser's Sec-Fetch-Site.
    let own_form = [("origin", "null"), ("sec-fetch-site", "same-origin")];
    app.request(post("/api/v1/jobs/etl/launch", &own_form))
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(app.runs().await.len(), 3);

    let proxied = [("origin", "https://orch.example.com")];
    app.request(post("/api/v1/schedules/nightly/on", &proxied))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let app = app.with_auth(AuthPolicy {
        allowed_origins: AllowedOrigins::parse("https://orch.example.com").unwrap(),
        ..AuthPolicy::default()
    });
    app.request(post("/api/v1/schedules/nightly/on", &proxied))
        .await
        .assert_status(StatusCode::OK);
    assert!(nightly_enabled(&app).await);
}
