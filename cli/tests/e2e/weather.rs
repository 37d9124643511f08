//! `weather_product_job` end to end against the OpenWeather fixture: the exact JSON Lines and
//! key layout on S3 (moto) and on local files, one location failing, all-or-nothing, a refused
//! key, malformed answers, a missing key; and the key never in what orch prints or stores.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::support::{
    Answer, OpenWeather, Orch, TestBucket, TestDb, WEATHER_KEY, events_of, init, weather_body,
};

const JOB: &str = "weather_product_job";
const LUX_LAT: &str = "49.6116";
const CHI_LAT: &str = "41.8781";
const OBSERVED: i64 = 1_763_900_000; // 2025-11-23T12:13:20Z

/// The fixture answering Luxembourg and Chicago, plus `extra` answers.
async fn fixture(extra: &[(&str, Answer)]) -> OpenWeather {
    let mut answers = vec![
        (
            LUX_LAT,
            Answer::Weather(weather_body("Luxembourg", 7.25, 87, "light rain", OBSERVED)),
        ),
        (
            CHI_LAT,
            Answer::Weather(weather_body(
                "Chicago",
                -3.5,
                64,
                "clear sky",
                OBSERVED + 60,
            )),
        ),
    ];
    answers.extend(extra.iter().cloned());
    OpenWeather::start(&answers).await
}

/// `orch` pointed at the fixture, with the key in a file (as Vault Agent writes it).
fn weather_orch(api: &OpenWeather) -> Orch {
    let orch = Orch::local();
    let key_file = orch.home().join("openweather.key");
    std::fs::write(&key_file, format!("{WEATHER_KEY}\n")).unwrap();
    orch.env("OPENWEATHER_API_URL", api.url())
        .env("OPENWEATHER_API_KEY_FILE", key_file.display().to_string())
}

/// A fixture location as the job should record it.
struct Expected {
    name: &'static str,
    lat: f64,
    lon: f64,
    temp: f64,
    humidity: i64,
    description: &'static str,
    dt: i64,
}

/// The line `transform_weather` writes for `e`, fetched at `fetched_at`. Built by hand, not by
/// the job's code: the field order, number forms and time formats are the contract.
fn expected_line(e: &Expected, fetched_at: &str) -> String {
    let observed = DateTime::<Utc>::from_timestamp(e.dt, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ");
    let num = |x: f64| serde_json::to_string(&serde_json::json!(x)).unwrap();
    format!(
        r#"{{"location":"{}","lat":{},"lon":{},"temperature":{},"feels_like":{},"humidity":{},"pressure":1012,"wind_speed":4.63,"description":"{}","observed_at":"{observed}","fetched_at":"{fetched_at}","units":"metric"}}"#,
        e.name,
        e.lat,
        e.lon,
        num(e.temp),
        num(e.temp - 2.5),
        e.humidity,
        e.description,
    )
}

/// Asserts `key` is `weather-products/YYYY/MM/DD/HHMMSS.jsonl` at a UTC second in [from, to].
#[track_caller]
fn assert_product_key(key: &str, from: DateTime<Utc>, to: DateTime<Utc>) {
    let at = NaiveDateTime::parse_from_str(key, "weather-products/%Y/%m/%d/%H%M%S.jsonl")
        .unwrap_or_else(|e| panic!("{key:?} does not follow the layout: {e}"))
        .and_utc();
    assert_eq!(
        key.len(),
        "weather-products/2026/01/02/030405.jsonl".len(),
        "{key}"
    );
    assert!(
        from.timestamp() <= at.timestamp() && at.timestamp() <= to.timestamp(),
        "{key} is not between {from} and {to}"
    );
}

/// The `fetched_at` of each line, checked to lie in [from, to].
#[track_caller]
fn fetched_ats(body: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    body.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            let at = v["fetched_at"].as_str().expect("fetched_at").to_owned();
            let t = DateTime::parse_from_rfc3339(&at)
                .expect("RFC 3339")
                .timestamp();
            assert!(
                from.timestamp() <= t && t <= to.timestamp(),
                "fetched_at {at}"
            );
            at
        })
        .collect()
}

/// Every file under `dir`, read as bytes, that contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|n| n != "openweather.key") {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(path.display().to_string());
                }
            }
        }
    }
    hits
}

#[tokio::test]
async fn weather_job_on_postgres_and_s3_writes_one_json_line_per_location() {
    init();
    let api = fixture(&[]).await;
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let orch = weather_orch(&api)
        .on_postgres(&db)
        .on_bucket(&bucket)
        .env("WEATHER_RESULTS_BUCKET", bucket.name.clone())
        .env("S3_BUCKET_NAME", "")
        .env("ORCH_LOG", "debug");

    let before = Utc::now();
    let out = orch.run(&["run", JOB]).await;
    let after = Utc::now();
    out.assert_exit(0);
    let run_id = out.run_id();

    // The fixture saw the key and the units for each location, in order of the config.
    let requests = api.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let mut lats: Vec<&str> = requests.iter().map(|r| r.query["lat"].as_str()).collect();
    lats.sort();
    assert_eq!(lats, [CHI_LAT, LUX_LAT]);
    for r in &requests {
        assert_eq!(r.query["appid"], WEATHER_KEY);
        assert_eq!(r.query["units"], "metric");
    }

    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_product_key(&keys[0], before, after);
    let object = bucket.get(&keys[0]).await;
    assert_eq!(object.content_type.as_deref(), Some("application/x-ndjson"));
    let body = String::from_utf8(object.body).unwrap();
    let at = fetched_ats(&body, before, after);
    let expected = format!(
        "{}\n{}\n",
        expected_line(
            &Expected {
                name: "Luxembourg",
                lat: 49.6116,
                lon: 6.1319,
                temp: 7.25,
                humidity: 87,
                description: "light rain",
                dt: OBSERVED
            },
            &at[0],
        ),
        expected_line(
            &Expected {
                name: "Chicago",
                lat: 41.8781,
                lon: -87.6298,
                temp: -3.5,
                humidity: 64,
                description: "clear sky",
                dt: OBSERVED + 60
            },
            &at[1],
        ),
    );
    assert_eq!(body, expected, "the stored JSON Lines, byte for byte");

    let run = orch.show(&run_id).await;
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    let upload = &events_of(&run, "ASSET_MATERIALIZATION", Some("upload_to_s3"))[0]["metadata"];
    assert_eq!(upload["uri"], format!("s3://{}/{}", bucket.name, keys[0]));
    assert_eq!(upload["records"], 2);
    let fetch = &events_of(&run, "ASSET_MATERIALIZATION", Some("fetch_weather"))[0]["metadata"];
    assert_eq!(fetch["fetched"], 2);
    assert_eq!(fetch["failed_locations"], serde_json::json!([]));
    let check = &events_of(&run, "ASSET_CHECK_EVALUATION", Some("transform_weather"))[0];
    assert_eq!(
        (&check["check"], &check["passed"]),
        (&"all_locations".into(), &true.into())
    );
    assert_eq!(run["checks_failed"], 0);

    // The key is nowhere: not in what orch printed (debug logs included), not in the run as
    // shown, not in any stored event, run config or step output.
    assert!(
        !out.stdout.contains(WEATHER_KEY) && !out.stderr.contains(WEATHER_KEY),
        "{out}"
    );
    assert!(!run.to_string().contains(WEATHER_KEY));
    let mut conn = db.connect().await;
    let stored: String = sqlx::query_scalar(
        "SELECT COALESCE(string_agg(payload::text, ' '), '') || \
         (SELECT COALESCE(string_agg(config::text, ' '), '') FROM runs) FROM events",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(
        stored.contains("fetch_weather"),
        "the query reads the events"
    );
    assert!(!stored.contains(WEATHER_KEY), "the key is in the database");
    assert!(files_containing(orch.home(), WEATHER_KEY).is_empty());
    drop(conn);
    bucket.delete().await;
    db.drop_database().await;
}

#[tokio::test]
async fn a_failing_location_is_recorded_and_the_others_kept_unless_all_or_nothing() {
    init();
    let api = fixture(&[("10", Answer::ServerError)]).await;
    let orch = weather_orch(&api);
    let locations = format!(
        r#"locations=[{{"name":"Luxembourg","lat":{LUX_LAT},"lon":6.1319}},{{"name":"Nowhere","lat":10,"lon":10}},{{"name":"Chicago","lat":{CHI_LAT},"lon":-87.6298}}]"#
    );
    let out = orch.run(&["run", JOB, "--config", &locations]).await;
    out.assert_exit(0);
    let run = orch.show(&out.run_id()).await;
    let fetch = &events_of(&run, "ASSET_MATERIALIZATION", Some("fetch_weather"))[0]["metadata"];
    assert_eq!(fetch["failed_locations"], serde_json::json!(["Nowhere"]));
    assert_eq!(fetch["fetched"], 2);
    // The check names the location that produced no record; the run still succeeds.
    let check = &events_of(&run, "ASSET_CHECK_EVALUATION", Some("transform_weather"))[0];
    assert_eq!(check["check"], "all_locations");
    assert_eq!(check["passed"], false);
    assert_eq!(
        check["metadata"]["missing_locations"],
        serde_json::json!(["Nowhere"])
    );
    assert_eq!(run["checks_failed"], 1);
    let nowhere = api
        .requests()
        .iter()
        .filter(|r| r.query["lat"] == "10")
        .count();
    assert_eq!(nowhere, 3, "three attempts at the failing location");
    let warnings: Vec<String> = events_of(&run, "LOG", Some("fetch_weather"))
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|m| m.starts_with("Nowhere: no weather: GET http://")
                && m.contains("appid=****")
                && m.contains("returned 500 Internal Server Error")
                && m.ends_with("(attempt 3 of 3)")),
        "{warnings:#?}"
    );
    let objects = orch.home().join("objects/weather-products");
    let stored = files_containing(&objects, "\"location\"");
    assert_eq!(stored.len(), 1, "one product on local files");
    let body = std::fs::read_to_string(&stored[0]).unwrap();
    let names: Vec<String> = body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["location"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["Luxembourg", "Chicago"]);

    // All or nothing: the same failure fails the step, and nothing is written.
    let out = orch
        .run(&[
            "run",
            JOB,
            "--config",
            &locations,
            "--config",
            "all_or_nothing=true",
        ])
        .await;
    out.assert_exit(1);
    let run = orch.show(&out.run_id()).await;
    assert_eq!(run["status"], "FAILURE");
    let failure = events_of(&run, "STEP_FAILURE", Some("fetch_weather"))[0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        failure.starts_with("fetch_weather: 1 of 3 location(s) failed and all_or_nothing is set: Nowhere: GET http://"),
        "{failure}"
    );
    assert_eq!(
        files_containing(&objects, "\"location\"").len(),
        1,
        "no second product"
    );
    assert!(files_containing(orch.home(), WEATHER_KEY).is_empty());
}

#[tokio::test]
async fn a_refused_key_fails_the_run_clearly_and_the_key_never_shows() {
    init();
    let api = fixture(&[]).await;
    let wrong = "wrong-key-55aa11";
    let orch = Orch::local()
        .env("OPENWEATHER_API_URL", api.url())
        .env("OPENWEATHER_API_KEY", wrong)
        .env("ORCH_LOG", "debug");
    let out = orch.run(&["run", JOB]).await;
    out.assert_exit(1);
    out.assert_says(&[
        "401 Unauthorized",
        "check OPENWEATHER_API_KEY",
        "appid=****",
    ]);
    let run = orch.show(&out.run_id()).await;
    let failure = events_of(&run, "STEP_FAILURE", Some("fetch_weather"))[0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        failure.starts_with("fetch_weather: all 2 location(s) failed: Luxembourg: GET http://"),
        "{failure}"
    );
    assert!(
        failure.contains("Invalid API key"),
        "the upstream's reason is quoted: {failure}"
    );
    assert_eq!(api.requests().len(), 2, "a 401 is not retried");
    for text in [&out.stdout, &out.stderr, &run.to_string()] {
        assert!(!text.contains(wrong), "the key was printed: {text}");
    }
    assert!(
        files_containing(orch.home(), wrong).is_empty(),
        "the key is stored"
    );
}

#[tokio::test]
async fn malformed_answers_are_rejected_with_their_reason() {
    init();
    let api = fixture(&[("1", Answer::MissingTemp), ("2", Answer::NotJson)]).await;
    let orch = weather_orch(&api);
    let locations = format!(
        r#"locations=[{{"name":"Luxembourg","lat":{LUX_LAT},"lon":6.1319}},{{"name":"Broken","lat":1,"lon":1}},{{"name":"Html","lat":2,"lon":2}}]"#
    );
    let out = orch.run(&["run", JOB, "--config", &locations]).await;
    out.assert_exit(0);
    let run = orch.show(&out.run_id()).await;
    let fetch = &events_of(&run, "ASSET_MATERIALIZATION", Some("fetch_weather"))[0]["metadata"];
    assert_eq!(fetch["failed_locations"], serde_json::json!(["Html"]));
    let transform =
        &events_of(&run, "ASSET_MATERIALIZATION", Some("transform_weather"))[0]["metadata"];
    assert_eq!(
        transform["rejected_locations"],
        serde_json::json!(["Broken"])
    );
    assert_eq!(transform["records"], 1);
    let logs: Vec<&str> = events_of(&run, "LOG", None)
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        logs.contains(&"Broken: rejected: main.temp is missing"),
        "{logs:#?}"
    );
    assert!(
        logs.iter()
            .any(|m| m.starts_with("Html: no weather: GET http://")
                && m.contains("did not return JSON")),
        "{logs:#?}"
    );

    // Only malformed answers: the run fails and says why for each.
    let only_broken = r#"locations=[{"name":"Broken","lat":1,"lon":1}]"#;
    let out = orch.run(&["run", JOB, "--config", only_broken]).await;
    out.assert_exit(1);
    out.assert_says(&["transform_weather: 1 of 1 fetched location(s) gave a malformed answer, none is usable: Broken: main.temp is missing"]);
}

#[tokio::test]
async fn a_missing_or_doubly_given_key_fails_fetch_weather_naming_the_variables() {
    init();
    let api = fixture(&[]).await;
    let orch = Orch::local().env("OPENWEATHER_API_URL", api.url());
    let out = orch.run(&["run", JOB]).await;
    out.assert_exit(1);
    out.assert_says(&[
        "no OpenWeather API key: set OPENWEATHER_API_KEY or OPENWEATHER_API_KEY_FILE",
    ]);

    let key_file = orch.home().join("key");
    std::fs::write(&key_file, "from-file\n").unwrap();
    let orch = orch
        .env("OPENWEATHER_API_KEY", "from-env")
        .env("OPENWEATHER_API_KEY_FILE", key_file.display().to_string());
    let out = orch.run(&["run", JOB]).await;
    out.assert_exit(1);
    out.assert_says(&["OPENWEATHER_API_KEY and OPENWEATHER_API_KEY_FILE are both set"]);
    assert!(
        api.requests().is_empty(),
        "nothing was sent without a usable key"
    );
}
