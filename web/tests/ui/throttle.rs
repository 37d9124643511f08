//! Throttling of wrong tokens (`throttle.rs`): the login form and the API's bearer token share
//! per-address and overall limits; past them every attempt — the right token included — is 429
//! with `Retry-After`, while other addresses (under the overall limit) still get in.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use web::{AuthPolicy, AuthToken, Limit, LoginLimits};

use crate::browser::{Browser, Page};
use crate::support::{TestApp, api_tests};

api_tests!(
    wrong_logins_from_one_address_are_throttled_and_others_still_log_in,
    the_overall_limit_throttles_every_address,
    wrong_bearer_tokens_are_throttled_like_logins,
);

const TOKEN: &str = "correct-horse-battery-staple";

fn secured(app: TestApp, limits: LoginLimits) -> TestApp {
    app.with_auth(AuthPolicy {
        token: AuthToken::new(TOKEN),
        login_limits: limits,
        ..AuthPolicy::default()
    })
}

fn from(mut request: Request<Body>, client: &str) -> Request<Body> {
    let addr: SocketAddr = format!("{client}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

async fn login(app: &TestApp, client: &str, token: &str) -> Page {
    let body = serde_urlencoded::to_string([("token", token), ("next", "/runs")]).unwrap();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    Browser::new(app).send(from(request, client)).await
}

#[track_caller]
fn assert_throttled(page: &Page) {
    page.assert_status(StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        page.headers.get("set-cookie").is_none(),
        "a throttled login got a session"
    );
}

async fn wrong_logins_from_one_address_are_throttled_and_others_still_log_in(app: TestApp) {
    let app = secured(app, LoginLimits::default());
    for _ in 0..10 {
        login(&app, "10.0.0.1", "guess")
            .await
            .assert_status(StatusCode::UNAUTHORIZED)
            .assert_contains("That is not this server");
    }
    let page = login(&app, "10.0.0.1", "guess").await;
    assert_throttled(&page);
    page.assert_contains("Too many wrong tokens");
    // Even the right token: otherwise the guesser would learn which guess was right.
    assert_throttled(&login(&app, "10.0.0.1", TOKEN).await);
    let other = login(&app, "10.0.0.2", TOKEN).await;
    other.assert_status(StatusCode::SEE_OTHER);
    assert!(
        other.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("orch_session=")
    );
}

async fn the_overall_limit_throttles_every_address(app: TestApp) {
    let limits = LoginLimits {
        overall: Limit {
            burst: NonZeroU32::new(3).unwrap(),
            period: Duration::from_secs(60),
        },
        ..LoginLimits::default()
    };
    let app = secured(app, limits);
    for client in ["10.0.1.1", "10.0.1.2", "10.0.1.3"] {
        login(&app, client, "guess")
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&login(&app, "10.0.1.4", "guess").await);
    assert_throttled(&login(&app, "10.0.1.5", TOKEN).await);
}

async fn wrong_bearer_tokens_are_throttled_like_logins(app: TestApp) {
    let app = secured(app, LoginLimits::default());
    let launch = |client: &str, token: &str| {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/jobs/etl/launch")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        from(request, client)
    };
    for _ in 0..10 {
        app.request(launch("10.0.2.1", "guess"))
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    let throttled = app.request(launch("10.0.2.1", "guess")).await;
    throttled.assert_error(StatusCode::TOO_MANY_REQUESTS, "too many wrong tokens");
    assert!(throttled.headers.contains_key("retry-after"));
    app.request(launch("10.0.2.1", TOKEN))
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(
        app.runs().await.is_empty(),
        "a throttled request launched a run"
    );
    // The login form shares the counters.
    assert_throttled(&login(&app, "10.0.2.1", TOKEN).await);
    app.request(launch("10.0.2.2", TOKEN))
        .await
        .assert_status(StatusCode::CREATED);
    assert_eq!(app.runs().await.len(), 1);
}
