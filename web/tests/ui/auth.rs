//! Browser auth with a token configured: the login form and its signed cookie, mutations
//! without a login sent to the login page (nothing done), reads open or protected per
//! `protect_reads`, `next` kept local, logout; and the API's bearer token unchanged.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use web::{AuthPolicy, AuthToken};

use crate::browser::Browser;
use crate::support::{TestApp, api_tests};

api_tests!(
    launch_without_login_goes_to_the_login_page_and_creates_nothing,
    login_sets_a_signed_cookie_and_returns_to_next,
    protected_reads_need_a_login_or_the_bearer_token,
    next_never_leaves_the_site,
    logout_forgets_the_session,
);

const TOKEN: &str = "correct-horse-battery-staple";

fn secured(app: TestApp, protect_reads: bool) -> TestApp {
    app.with_auth(AuthPolicy {
        token: AuthToken::new(TOKEN),
        protect_reads,
        ..AuthPolicy::default()
    })
}

/// Logs `browser` in through the form and returns where it was sent.
async fn log_in(browser: &Browser, next: &str) -> String {
    browser
        .get(&format!("/login?next={next}"))
        .await
        .assert_status(StatusCode::OK)
        .assert_contains("<form id=\"login-form\" method=\"post\" action=\"/login\">")
        .assert_contains("<input id=\"token\" name=\"token\" type=\"password\"");
    let reply = browser
        .post("/login", &[("token", TOKEN), ("next", next)])
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    reply.location().to_owned()
}

async fn launch_without_login_goes_to_the_login_page_and_creates_nothing(app: TestApp) {
    let app = secured(app, false);
    let browser = Browser::new(&app);
    // Reads are open: the job page renders, with a form that leads to the login.
    let page = browser.get("/jobs/etl").await;
    page.assert_status(StatusCode::OK)
        .assert_contains("href=\"/login\"");
    assert!(browser.cookie().is_none(), "no session before logging in");
    let reply = browser
        .post(
            "/jobs/etl/launch",
            &[("csrf", &page.csrf()), ("config", "{}")],
        )
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login?next=/jobs/etl");
    let run = app.queued(&[]).await;
    browser
        .post(&format!("/runs/{}/cancel", run.id), &[])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(app.runs().await.len(), 1, "a refused launch created a run");
    assert_eq!(
        app.store.get_run(run.id).await.unwrap().status,
        orchestrator::domain::RunStatus::Queued
    );
    // A wrong token is the form again, 401.
    browser
        .post("/login", &[("token", "guess"), ("next", "/jobs/etl")])
        .await
        .assert_status(StatusCode::UNAUTHORIZED)
        .assert_contains("id=\"login-error\"")
        .assert_lacks(TOKEN);
    assert!(browser.cookie().is_none());
}

async fn login_sets_a_signed_cookie_and_returns_to_next(app: TestApp) {
    let app = secured(app, false);
    let browser = Browser::new(&app);
    let reply = browser
        .post("/login", &[("token", TOKEN), ("next", "/jobs/etl")])
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/jobs/etl");
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    // Expires in 12 hours (whole seconds, so 43 199 or 43 200 from now).
    let max_age: i64 = set_cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((43_190..=43_200).contains(&max_age), "{set_cookie}");
    assert!(!set_cookie.contains(TOKEN), "the cookie carries the token");
    // Logged in: the job page's form now carries a CSRF token and launches.
    let page = browser.get("/jobs/etl").await;
    page.assert_contains("Log out");
    let launched = browser
        .post(
            "/jobs/etl/launch",
            &[("csrf", &page.csrf()), ("config", "{}")],
        )
        .await;
    launched.assert_status(StatusCode::SEE_OTHER);
    assert!(launched.location().starts_with("/runs/"));
    assert_eq!(app.runs().await.len(), 1);
    // Still refused without the CSRF token, logged in or not.
    browser
        .post("/jobs/etl/launch", &[("config", "{}")])
        .await
        .assert_status(StatusCode::FORBIDDEN);
    // A tampered cookie is no session.
    let forged = Browser::new(&app);
    let cookie = browser.cookie().unwrap();
    // Flip the last hex digit of the MAC.
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &cookie[..cookie.len() - 1]);
    let reply = forged
        .send(
            Request::post("/jobs/etl/launch")
                .header("cookie", tampered)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={}&config=%7B%7D", page.csrf())))
                .unwrap(),
        )
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert!(reply.location().starts_with("/login"));
    assert_eq!(app.runs().await.len(), 1);
}

async fn protected_reads_need_a_login_or_the_bearer_token(app: TestApp) {
    let app = secured(app, true);
    let browser = Browser::new(&app);
    let reply = browser.get("/runs?status=FAILURE").await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login?next=/runs%3Fstatus%3DFAILURE");
    browser.get("/login").await.assert_status(StatusCode::OK);
    browser.get("/healthz").await.assert_status(StatusCode::OK);
    let with_bearer = browser
        .send(
            Request::get("/runs")
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    with_bearer.assert_status(StatusCode::OK);
    assert_eq!(
        log_in(&browser, "/runs?status=FAILURE").await,
        "/runs?status=FAILURE"
    );
    browser.get("/runs").await.assert_status(StatusCode::OK);
    // The API keeps its bearer token: the cookie does not open it.
    let api = browser.get("/api/v1/runs").await;
    api.assert_status(StatusCode::UNAUTHORIZED);
}

async fn next_never_leaves_the_site(app: TestApp) {
    let app = secured(app, false);
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let browser = Browser::new(&app);
        let location = log_in(&browser, &next.replace('/', "%2F")).await;
        assert_eq!(location, "/", "next {next}");
    }
    let page = Browser::new(&app)
        .get("/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    page.assert_lacks("<script>alert(1)");
}

async fn logout_forgets_the_session(app: TestApp) {
    let app = secured(app, false);
    let browser = Browser::new(&app);
    log_in(&browser, "/").await;
    let page = browser.get("/").await;
    let reply = browser.post("/logout", &[("csrf", &page.csrf())]).await;
    reply.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), "/login");
    assert!(
        reply.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(browser.cookie().is_none());
    let page = browser.get("/jobs/etl").await;
    page.assert_contains("href=\"/login\"");
}
