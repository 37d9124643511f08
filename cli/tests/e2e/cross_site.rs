//! Cross-site protection against a real `orch dev` (embedded store, local launcher): in headless
//! Chromium, a page served from another origin (127.0.0.2) sends `no-cors` fetches and submits
//! forms at orch's API and form routes — with no token configured, and with one and the user
//! logged in — and every request is refused (403), no run is created and no schedule switched.
//! Over plain HTTP: clients without browser headers keep working, `ORCH_ALLOWED_ORIGINS` lets a
//! listed origin through, and wrong bearer tokens are throttled per client address (the
//! binary hands the peer address to the server).

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::support::{JOB, Orch, init, served_at};

const SCHEDULE: &str = "product_pipeline_schedule";
const TOKEN: &str = "cross-site-test-token";

/// How many POSTs the attacking page sends (see [`evil_page`]).
const ATTACKS: usize = 5;

/// The attacker's page: three forms posted into frames and two `no-cors` fetches, all at
/// `base`, none with a CSRF token of orch's (one with a made-up one).
fn evil_page(base: &str) -> String {
    format!(
        r#"<!doctype html><html><body><p id="status">sending</p>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<form id="api-launch" method="post" action="{base}/api/v1/jobs/{JOB}/launch" target="f1"></form>
<form id="ui-launch" method="post" action="{base}/jobs/{JOB}/launch" target="f2">
  <input name="config" value="{{}}"><input name="csrf" value="forged"></form>
<form id="ui-switch" method="post" action="{base}/schedules/{SCHEDULE}/on" target="f3">
  <input name="csrf" value="forged"></form>
<script>
  const post = (path) => fetch('{base}' + path, {{
    method: 'POST', mode: 'no-cors', credentials: 'include',
    headers: {{ 'Authorization': 'Bearer {TOKEN}' }}, body: '',
  }}).catch(() => null);
  Promise.all([
    post('/api/v1/jobs/{JOB}/launch'),
    post('/api/v1/schedules/{SCHEDULE}/on'),
  ]).then(() => {{ document.getElementById('status').textContent = 'sent'; }});
  for (const id of ['api-launch', 'ui-launch', 'ui-switch']) document.getElementById(id).submit();
</script></body></html>"#
    )
}

/// Serves the attacker's page on 127.0.0.2 (another origin, another site); returns its URL.
async fn serve_evil_page(base: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = evil_page(base);
    let app = Router::new().route("/", get(move || async move { Html(page) }));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/"), server)
}

fn browser_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite through scripts/test.sh, or eval \"$(scripts/browser.sh)\" first")
    })
}

/// Runs the attack in Chromium and returns what the browser saw.
async fn attack(base: &str, evil: &str, token: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/cross_site.cjs");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(browser_env("ORCH_NODE"))
            .arg(&script)
            .env("NODE_PATH", browser_env("ORCH_BROWSER_NODE_PATH"))
            .env("ORCH_CHROMIUM", browser_env("ORCH_CHROMIUM"))
            .env("ORCH_BASE_URL", base)
            .env("ORCH_EVIL_URL", evil)
            .env("ORCH_TOKEN", token)
            .env("ORCH_EXPECTED", ATTACKS.to_string())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser script ends within 2 minutes")
    .expect("start node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser script failed ({}):\n{}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("browser script output is not JSON ({e}): {stdout}"))
}

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Nothing changed: no run, the schedule still off.
async fn assert_untouched(base: &str) {
    let client = reqwest::Client::new();
    let runs = get_json(&client, format!("{base}/api/v1/runs")).await;
    assert_eq!(
        runs["runs"],
        Value::Array(Vec::new()),
        "a run was created: {runs}"
    );
    let schedules = get_json(&client, format!("{base}/api/v1/schedules")).await;
    let schedule = schedules["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == SCHEDULE)
        .unwrap();
    assert_eq!(
        schedule["enabled"], false,
        "the schedule was switched: {schedule}"
    );
}

/// `orch dev` (with `token`, the browser logged in first) attacked by the page; nothing changes.
async fn cross_site_attack_is_refused(token: Option<&str>) {
    init();
    let mut orch = Orch::local()
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_LOG", "info");
    if let Some(token) = token {
        orch = orch.env("ORCH_AUTH_TOKEN", token);
    }
    let mut dev = orch.spawn(&["dev"], "dev.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "dev.log", "orch dev: http://").await
    );
    let (evil, server) = serve_evil_page(&base).await;
    let seen = attack(&base, &evil, token.unwrap_or_default()).await;
    assert_eq!(seen["logged_in"], token.is_some(), "{seen}");
    let responses = seen["responses"].as_array().unwrap();
    assert_eq!(responses.len(), ATTACKS, "{seen}");
    let evil_origin = evil.trim_end_matches('/');
    for response in responses {
        assert_eq!(response["status"], 403, "not refused: {response}\n{seen}");
        // A no-cors fetch's headers are opaque to the driver; the forms' are shown.
        if response["kind"] == "document" {
            assert_eq!(response["origin"], evil_origin, "{response}");
            assert_eq!(response["fetch_site"], "cross-site", "{response}");
        }
    }
    let kinds = |kind: &str| responses.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!((kinds("fetch"), kinds("document")), (2, 3), "{seen}");
    let paths: Vec<&str> = responses
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    for path in [
        format!("/api/v1/jobs/{JOB}/launch"),
        format!("/api/v1/schedules/{SCHEDULE}/on"),
        format!("/jobs/{JOB}/launch"),
        format!("/schedules/{SCHEDULE}/on"),
    ] {
        assert!(
            paths.contains(&path.as_str()),
            "{path} not attempted: {paths:?}"
        );
    }
    assert_untouched(&base).await;
    // The server saw every one of them as cross-site (the fetches included).
    let log = orch.log("dev.log");
    let refusals = log
        .lines()
        .filter(|l| {
            l.contains("cross-site request refused") && l.contains("Sec-Fetch-Site: cross-site")
        })
        .count();
    assert_eq!(refusals, ATTACKS, "{log}");
    server.abort();
    dev.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_cannot_launch_or_switch_without_a_token() {
    cross_site_attack_is_refused(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_cannot_ride_a_logged_in_session() {
    cross_site_attack_is_refused(Some(TOKEN)).await;
}

#[tokio::test]
async fn plain_clients_and_listed_origins_pass_and_wrong_tokens_are_throttled() {
    init();
    let orch = Orch::local()
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_AUTH_TOKEN", TOKEN)
        .env("ORCH_ALLOWED_ORIGINS", "https://orch.example.com");
    let mut web = orch.spawn(&["web"], "web.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "web.log", "listening on http://").await
    );
    let client = reqwest::Client::new();
    let launch = format!("{base}/api/v1/jobs/{JOB}/launch");
    let bearer = format!("Bearer {TOKEN}");
    let refused = client
        .post(&launch)
        .header("authorization", &bearer)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Origin: http://evil.example"),
        "{body}"
    );
    for origin in [None, Some("https://orch.example.com")] {
        let mut request = client.post(&launch).header("authorization", &bearer);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        assert_eq!(request.send().await.unwrap().status(), 201, "{origin:?}");
    }

    // Ten wrong tokens from this address are 401, the eleventh 429 with Retry-After — and then
    // the right one too, until the wait is over.
    for _ in 0..10 {
        let wrong = client
            .post(&launch)
            .header("authorization", "Bearer guess")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    }
    let throttled = client
        .post(&launch)
        .header("authorization", "Bearer guess")
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), 429);
    let retry: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    let right = client
        .post(&launch)
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
    let runs = orch.list_ids(&[]).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    web.kill().await.unwrap();
}
