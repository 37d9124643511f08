//! schemathesis (PyPI, `ORCH_SCHEMATHESIS` from `scripts/py-tools.sh`) fuzzes the JSON API of a
//! real `orch dev` — the daemon launching the runs it creates, with a token and protected reads —
//! against the OpenAPI document the server serves, on SQLite and on PostgreSQL.
//!
//! Two passes over every operation: with the token, every check schemathesis has (no 5xx, every
//! status documented, every body, header and content type as documented, schema-valid requests
//! accepted and invalid ones refused, unsupported methods answered 405 with `Allow`, auth
//! enforced on mutations; `schemathesis.toml` beside this file says what it relaxes and why);
//! then as another site with a wrong token, so the layers' answers (403 for mutations, 401 then
//! 429 for reads) are checked against the document too. The examples per operation are bounded:
//! the suite stays well under two minutes.
//!
//! The runs schemathesis launches fail fast: their upstreams are a closed port on loopback.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Orch, TestDb, init, served_at};

const TOKEN: &str = "schemathesis-token";
/// Examples per operation and phase in the main pass.
const EXAMPLES: &str = "12";
/// The most a pass may take before the test gives up on it.
const PASS_DEADLINE: Duration = Duration::from_secs(240);
/// Where the runs' upstreams are: a closed port, so a launched run fails at once and nothing
/// leaves the machine.
const NOWHERE: &str = "http://127.0.0.1:9/";

fn schemathesis() -> PathBuf {
    std::env::var_os("ORCH_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "ORCH_SCHEMATHESIS is not set: run the suite through scripts/test.sh, or eval \"$(scripts/test-services.sh)\" first"
            )
        })
}

#[tokio::test]
async fn schemathesis_finds_nothing_on_sqlite() {
    init();
    fuzz(Orch::local()).await;
}

#[tokio::test]
async fn schemathesis_finds_nothing_on_postgres() {
    init();
    let db = TestDb::create().await;
    fuzz(Orch::local().on_postgres(&db)).await;
    db.drop_database().await;
}

/// A product for the `/products` routes to find (see `schemathesis.toml`).
const PRODUCT: &str = "weather-products/2026/11/21/120000.jsonl";

/// A partitioned job for the partition status and backfill routes (see `schemathesis.toml`).
const PARTITIONED: &str = r#"name = "fuzz_regions"
partitions = { static = ["eu", "us"] }

[[assets]]
name = "region"
command = ["true"]
"#;

/// Operations whose success needs state a fuzzer cannot make up: a backfill's id (created only
/// with keys of the job's definition), and a run still in flight when cancel comes (the fuzzed
/// runs fail at once). Their 2xx answers are checked by `web/tests/api/backfills.rs` and the
/// e2e `control` and `backfills` suites; here they must still answer as documented.
const SUCCESS_NEEDS_STATE: [(&str, &str); 6] = [
    ("POST", "/api/v1/jobs/{job}/backfills"),
    ("GET", "/api/v1/backfills/{id}"),
    ("POST", "/api/v1/backfills/{id}/cancel"),
    ("POST", "/api/v1/backfills/{id}/resume"),
    ("POST", "/api/v1/backfills/{id}/retry"),
    ("POST", "/api/v1/runs/{id}/cancel"),
];

async fn fuzz(orch: Orch) {
    let product = orch.home().join("objects").join(PRODUCT);
    std::fs::create_dir_all(product.parent().unwrap()).unwrap();
    std::fs::write(
        &product,
        "{\"city\":\"Paris\",\"temp\":3.5}\n{\"city\":\"Oslo\",\"temp\":-2}\n",
    )
    .unwrap();
    std::fs::create_dir_all(orch.home().join("jobs")).unwrap();
    std::fs::write(orch.home().join("jobs/fuzz_regions.toml"), PARTITIONED).unwrap();
    let orch = orch
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_AUTH_TOKEN", TOKEN)
        .env("ORCH_AUTH_READS", "true")
        .env("PRODUCT_API_URL", NOWHERE)
        .env("OPENWEATHER_API_URL", NOWHERE)
        .env("ORCH_LOG", "warn");
    let mut dev = orch.spawn(&["dev"], "dev.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "dev.log", "orch dev: http://").await
    );

    // The document as served (reads need the token) is the one committed.
    let served: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        served == crate::openapi::committed_document(),
        "orch dev serves another document than docs/openapi.json"
    );
    let schema = orch.home().join("openapi.json");
    std::fs::write(&schema, served.to_string()).unwrap();

    let auth = format!("Authorization: Bearer {TOKEN}");
    let main = run_pass(
        &orch,
        "main",
        &["--checks", "all", "--max-examples", EXAMPLES, "-H", &auth],
        &schema,
        &base,
    )
    .await;
    // After the main pass: wrong tokens get the client address throttled, the right one too.
    let layers = run_pass(
        &orch,
        "layers",
        &[
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            "--phases",
            "fuzzing",
            "--max-examples",
            "3",
            "-H",
            "Authorization: Bearer not-the-token",
            "-H",
            "Origin: http://evil.example",
        ],
        &schema,
        &base,
    )
    .await;

    // The passes reached past the layers into every kind of answer, so a green run means
    // something: every operation answered with success at least once, runs created and
    // refused, conflicts, and the layers' refusals.
    let unreached: Vec<String> = operations(&served)
        .into_iter()
        .filter(|op| {
            !SUCCESS_NEEDS_STATE
                .iter()
                .any(|(method, path)| op.0 == *method && op.1 == *path)
        })
        .filter(|op| {
            !main
                .iter()
                .any(|a| a.operation.as_ref() == Some(op) && a.status < 300)
        })
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert!(unreached.is_empty(), "never answered 2xx: {unreached:?}");
    let seen: BTreeSet<u16> = main.iter().chain(&layers).map(|a| a.status).collect();
    for status in [200, 201, 400, 401, 403, 404, 405, 409, 415, 422, 429] {
        assert!(
            seen.contains(&status),
            "no {status} in any answer; statuses seen: {seen:?}"
        );
    }
    let log = orch.log("dev.log");
    assert!(!log.contains("panicked"), "orch dev panicked:\n{log}");
    let _ = dev.start_kill();
    let _ = dev.wait().await;
}

/// An operation of the document: method (upper case) and path template.
type Operation = (String, String);

/// Every operation of `document`.
fn operations(document: &Value) -> Vec<Operation> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("path item").keys();
            methods.map(move |m| (m.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// The operation `method path` is a call of: a template of as many segments (the fewest
/// parameters first: `/products/latest` before `/products/{key}`), else one whose last
/// parameter takes the rest (an asset key or product key with slashes).
fn operation_of(operations: &[Operation], method: &str, path: &str) -> Option<Operation> {
    let segments: Vec<&str> = path.split('/').collect();
    let matches = |template: &str, greedy: bool| {
        let parts: Vec<&str> = template.split('/').collect();
        let fits = |(part, segment): (&&str, &&str)| part.starts_with('{') || part == segment;
        if parts.len() == segments.len() {
            parts.iter().zip(&segments).all(fits)
        } else {
            greedy
                && parts.len() < segments.len()
                && parts.last().is_some_and(|p| p.starts_with('{'))
                && parts.iter().zip(&segments).all(fits)
        }
    };
    let params = |template: &str| template.matches('{').count();
    let mut candidates: Vec<&Operation> = operations.iter().filter(|(m, _)| m == method).collect();
    candidates.sort_by_key(|(_, template)| params(template));
    [false, true].into_iter().find_map(|greedy| {
        candidates
            .iter()
            .find(|(_, template)| matches(template, greedy))
            .map(|op| (*op).clone())
    })
}

/// One answer schemathesis got.
#[derive(Debug)]
struct Answer {
    operation: Option<Operation>,
    status: u16,
}

/// Runs `st run` with `args` against `base`; fails the test with schemathesis's report unless
/// it passes. Returns every answer it got (from its HAR report).
async fn run_pass(
    orch: &Orch,
    name: &str,
    args: &[&str],
    schema: &Path,
    base: &str,
) -> Vec<Answer> {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/schemathesis.toml");
    let har = orch.home().join(format!("{name}.har"));
    let mut command = tokio::process::Command::new(schemathesis());
    command
        .arg("--config-file")
        .arg(&config)
        .args([
            "run",
            "--no-color",
            "--seed",
            "1",
            "--generation-database",
            "none",
        ])
        .args(["--url", base, "--report", "har", "--report-har-path"])
        .arg(&har)
        .args(args)
        .arg(schema)
        // A clean environment: no proxy settings may send loopback requests elsewhere.
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", orch.home())
        .current_dir(orch.home())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(PASS_DEADLINE, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ({name}) did not end within {PASS_DEADLINE:?}"))
        .expect("start schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis ({name}) found problems ({}):\n{report}\n{}\n--- orch dev log\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        orch.log("dev.log")
    );
    let har: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap())
        .unwrap_or_else(|e| panic!("schemathesis's HAR report is not JSON: {e}"));
    let document: Value = serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
    let operations = operations(&document);
    let answers: Vec<Answer> = har["log"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in schemathesis's HAR report:\n{report}"))
        .iter()
        .map(|entry| {
            let request = &entry["request"];
            let url = request["url"].as_str().unwrap_or_default();
            let path = url.strip_prefix(base).unwrap_or(url);
            let path = path.split('?').next().unwrap_or_default();
            let method = request["method"].as_str().unwrap_or_default();
            Answer {
                operation: operation_of(&operations, method, path),
                status: entry["response"]["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or_default(),
            }
        })
        .collect();
    assert!(!answers.is_empty(), "schemathesis sent nothing:\n{report}");
    answers
}

#[test]
fn calls_are_matched_to_their_operation() {
    let ops: Vec<Operation> = [
        ("GET", "/api/v1/runs/{id}"),
        ("GET", "/api/v1/runs/{id}/events"),
        ("GET", "/api/v1/products/latest"),
        ("GET", "/api/v1/products/{key}"),
        ("POST", "/api/v1/runs/{id}/cancel"),
    ]
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .into();
    let of = |method: &str, path: &str| operation_of(&ops, method, path).map(|(_, p)| p);
    assert_eq!(
        of("GET", "/api/v1/runs/x").as_deref(),
        Some("/api/v1/runs/{id}")
    );
    assert_eq!(
        of("GET", "/api/v1/runs/x/events").as_deref(),
        Some("/api/v1/runs/{id}/events")
    );
    assert_eq!(
        of("GET", "/api/v1/products/latest").as_deref(),
        Some("/api/v1/products/latest")
    );
    assert_eq!(
        of("GET", "/api/v1/products/a/b/c.jsonl").as_deref(),
        Some("/api/v1/products/{key}")
    );
    assert_eq!(of("DELETE", "/api/v1/runs/x"), None);
}
