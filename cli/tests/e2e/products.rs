//! `orch products list | download | summary` (the bastion's commands) and `orch web`'s
//! `/api/v1/products`, against a bucket on the S3 API server (moto), through the standard AWS
//! credential chain (keys in the environment here; an instance role on the bastion).

use std::time::Duration;

use serde_json::json;

use crate::support::{Orch, TestBucket, eventually, init};

const OLD: &str = "weather-products/2026/11/20/000000.jsonl";
const MID: &str = "weather-products/2026/11/21/060000.jsonl";
const NEW: &str = "weather-products/2026/11/21/120000.jsonl";

fn lines(n: usize, tag: &str) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{{\"location\":\"{tag}{i}\",\"temperature\":{i}}}\n"))
        .collect::<String>()
        .into_bytes()
}

/// A bucket with three products (2, 1 and 3 records) and an object that is not a product.
async fn bucket_with_products() -> TestBucket {
    let bucket = TestBucket::create().await;
    bucket.put(MID, &lines(1, "m")).await;
    bucket.put(OLD, &lines(2, "o")).await;
    bucket.put(NEW, &lines(3, "n")).await;
    bucket.put("data_20261121_120000.json", b"{}").await;
    bucket
}

fn products_orch(bucket: &TestBucket) -> Orch {
    Orch::local()
        .on_bucket(bucket)
        .env("S3_BUCKET_NAME", "")
        .env("WEATHER_RESULTS_BUCKET", bucket.name.clone())
}

#[tokio::test]
async fn products_list_download_and_summary_read_the_bucket() {
    init();
    let bucket = bucket_with_products().await;
    let orch = products_orch(&bucket);

    let listed = orch
        .run(&["products", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [NEW, MID, OLD], "products only, newest first");
    assert_eq!(listed[0]["size_bytes"], lines(3, "n").len());
    let text = orch.run(&["products", "list"]).await;
    text.assert_exit(0);
    let first = text.stdout.lines().next().unwrap();
    assert!(
        first.ends_with(&format!("{}  {NEW}", lines(3, "n").len())),
        "{first}"
    );

    let out = orch.run(&["products", "download", "--to", "dl"]).await;
    out.assert_exit(0)
        .assert_says(&["downloaded 3 product(s), skipped 0"]);
    for (key, body) in [
        (OLD, lines(2, "o")),
        (MID, lines(1, "m")),
        (NEW, lines(3, "n")),
    ] {
        let got = std::fs::read(orch.home().join("dl").join(key)).unwrap();
        assert_eq!(got, body, "{key}");
    }
    bucket
        .put("weather-products/2026/11/22/000000.jsonl", &lines(1, "x"))
        .await;
    let again = orch.run(&["products", "download", "--to", "dl"]).await;
    again
        .assert_exit(0)
        .assert_says(&["downloaded 1 product(s), skipped 3"]);

    let summary = orch
        .run(&["products", "summary", "--json"])
        .await
        .assert_exit(0)
        .json();
    let total = [lines(2, "o"), lines(1, "m"), lines(3, "n"), lines(1, "x")]
        .iter()
        .map(Vec::len)
        .sum::<usize>();
    assert_eq!(summary["files"], 4);
    assert_eq!(summary["total_bytes"], total);
    assert_eq!(summary["total_records"], 7);
    assert_eq!(
        summary["latest"]["key"],
        "weather-products/2026/11/22/000000.jsonl"
    );
    assert_eq!(
        summary["location"],
        format!("s3://{}/weather-products/", bucket.name)
    );
    let text = orch.run(&["products", "summary"]).await;
    text.assert_exit(0)
        .assert_says(&["files:         4", "total records: 7"]);
    bucket.delete().await;
}

#[tokio::test]
async fn products_commands_on_a_missing_bucket_fail_naming_it() {
    init();
    let bucket = TestBucket::missing().await;
    let orch = products_orch(&bucket);
    let out = orch.run(&["products", "summary"]).await;
    out.assert_exit(1)
        .assert_says(&[&bucket.name, "NoSuchBucket"]);
}

#[tokio::test]
async fn orch_web_serves_the_products_of_the_bucket() {
    init();
    let bucket = bucket_with_products().await;
    let orch = products_orch(&bucket).env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let mut server = orch.spawn(&["web"], "web.log");
    eventually("orch web listening", Duration::from_secs(30), || async {
        orch.log("web.log").contains("listening on http://")
    })
    .await;
    let log = orch.log("web.log");
    let addr = log.split("listening on http://").nth(1).unwrap();
    let base = format!(
        "http://{}/api/v1/products",
        addr.split_whitespace().next().unwrap()
    );
    let client = reqwest::Client::new();

    let list: serde_json::Value = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["products"][0]["key"], NEW);
    assert_eq!(list["products"].as_array().unwrap().len(), 3);
    let latest = client.get(format!("{base}/latest")).send().await.unwrap();
    assert_eq!(latest.status(), 200);
    let latest: serde_json::Value = latest.json().await.unwrap();
    assert_eq!(latest["key"], NEW);
    assert_eq!(
        latest["records"][2],
        json!({"location": "n2", "temperature": 2})
    );
    let missing = client
        .get(format!("{base}/weather-products/2020/01/01/000000.jsonl"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.kill().await.unwrap();
    bucket.delete().await;
}
