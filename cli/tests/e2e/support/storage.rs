//! What a run leaves behind: the stored summary, a PostgreSQL database per test, S3 buckets and a private credential-checking moto.

use super::*;

// ---------------------------------------------------------------------------------------------
// The stored summary

/// Asserts `key` is `data_YYYYMMDD_HHMMSS.json`, a UTC second within [`from`, `to`].
#[track_caller]
pub fn assert_object_key(key: &str, from: DateTime<Utc>, to: DateTime<Utc>) {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shape = key.len() == "data_YYYYMMDD_HHMMSS.json".len()
        && key.starts_with("data_")
        && key.ends_with(".json")
        && digits(&key[5..13])
        && &key[13..14] == "_"
        && digits(&key[14..20]);
    assert!(
        shape,
        "{key:?} does not match ^data_\\d{{8}}_\\d{{6}}\\.json$"
    );
    let at = NaiveDateTime::parse_from_str(key, "data_%Y%m%d_%H%M%S.json")
        .unwrap_or_else(|e| panic!("{key:?} is not a date: {e}"))
        .and_utc();
    let floor = |t: DateTime<Utc>| t.timestamp();
    assert!(
        floor(from) <= at.timestamp() && at.timestamp() <= floor(to),
        "{key:?} is not between {from} and {to}"
    );
}

/// Asserts `body` is exactly the seed's summary of the sample posts, and returns it parsed.
#[track_caller]
pub fn assert_summary(body: &[u8]) -> Value {
    let text = std::str::from_utf8(body).expect("the object is UTF-8");
    let stored: Value = serde_json::from_str(text).expect("the object is JSON");
    let object = stored.as_object().expect("the summary is an object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["count", "average_title_length", "timestamp", "sample_data"],
        "summary keys in the seed's order"
    );
    let stamp = stored["timestamp"].as_str().expect("timestamp is a string");
    let ts = DateTime::parse_from_rfc3339(stamp)
        .unwrap_or_else(|e| panic!("timestamp {stamp:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc);
    let posts = sample_posts();
    let expected = serde_json::to_string_pretty(&pipelines::product::summarize(&posts, ts))
        .expect("serialize the expected summary");
    assert_eq!(text, expected, "the stored object, byte for byte");
    // Independent of `summarize`: the sample has 100 posts, the sample is the first three with
    // their keys as received.
    assert_eq!(stored["count"], 100);
    let sample = stored["sample_data"].as_array().expect("sample_data");
    assert_eq!(sample.as_slice(), &posts[..3]);
    let post_keys: Vec<&str> = sample[0]
        .as_object()
        .expect("a post")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(post_keys, ["userId", "id", "title", "body"]);
    stored
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

pub use orch_test_support::services::TestDb;

/// Queues `n` runs of [`JOB`] reading `source` straight into `store`, as `orch launch` would.
// The daemon and chaos suites (which include this module) queue this way; e2e goes through the CLI.
#[allow(dead_code)]
pub async fn queue_runs(
    store: &Arc<dyn RunStorage>,
    n: usize,
    source: &str,
) -> Vec<orchestrator::domain::RunId> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let run = orchestrator::domain::NewRun::queued(
            orchestrator::domain::JobName::parse(JOB).expect("the job's name"),
            serde_json::json!({ "source_url": source }),
            Default::default(),
        );
        ids.push(store.create_run(&run).await.expect("create a run").id);
    }
    ids
}

// ---------------------------------------------------------------------------------------------
// S3

pub fn region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned())
}

/// A unique bucket name (S3 rules: lowercase, digits, dashes, at most 63 characters).
pub fn unique_bucket_name() -> String {
    format!("orch-e2e-{}", uuid::Uuid::now_v7().simple())
}

/// A bucket of its own on the shared moto server (ORCH_TEST_S3_ENDPOINT).
#[derive(Debug)]
pub struct TestBucket {
    pub endpoint: String,
    pub name: String,
    store: S3Store,
}

/// Details of a stored object.
#[derive(Debug)]
pub struct S3Object {
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl TestBucket {
    /// A client of the shared moto server (keys from the environment), not bound to a bucket.
    pub async fn client_for(endpoint: &str, bucket: &str) -> S3Store {
        required_env("AWS_ACCESS_KEY_ID");
        S3Store::connect(&S3Settings {
            bucket: bucket.to_owned(),
            prefix: String::new(),
            region: Some(region()),
            endpoint: Some(endpoint.to_owned()),
            force_path_style: true,
        })
        .await
    }

    /// Only the name: a bucket that is never created.
    pub async fn missing() -> Self {
        let endpoint = required_env("ORCH_TEST_S3_ENDPOINT");
        let name = unique_bucket_name();
        let store = Self::client_for(&endpoint, &name).await;
        Self {
            endpoint,
            name,
            store,
        }
    }

    pub async fn create() -> Self {
        let bucket = Self::missing().await;
        bucket.create_now().await;
        bucket
    }

    /// Creates the bucket (one made by [`TestBucket::missing`], later in a test).
    pub async fn create_now(&self) {
        self.store
            .client()
            .create_bucket()
            .bucket(&self.name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {}: {e:?}", self.name));
    }

    /// Whether the bucket exists.
    pub async fn exists(&self) -> bool {
        self.store
            .client()
            .head_bucket()
            .bucket(&self.name)
            .send()
            .await
            .is_ok()
    }

    /// Every key in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let out = self
            .store
            .client()
            .list_objects_v2()
            .bucket(&self.name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("list {}: {e:?}", self.name));
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    pub async fn get(&self, key: &str) -> S3Object {
        let out = self
            .store
            .client()
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get s3://{}/{key}: {e:?}", self.name));
        let content_type = out.content_type().map(str::to_owned);
        let body = out
            .body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("read s3://{}/{key}: {e}", self.name))
            .into_bytes()
            .to_vec();
        S3Object { content_type, body }
    }

    /// Puts `body` at `key`, as another writer of the bucket would.
    pub async fn put(&self, key: &str, body: &[u8]) {
        use orchestrator::definitions::ObjectStore;
        self.store
            .put(key, body.to_vec(), "application/x-ndjson")
            .await
            .unwrap_or_else(|e| panic!("put s3://{}/{key}: {e}", self.name));
    }

    /// Deletes the objects and the bucket (end of a passing test).
    pub async fn delete(self) {
        for key in self.keys().await {
            let _ = self
                .store
                .client()
                .delete_object()
                .bucket(&self.name)
                .key(key)
                .send()
                .await;
        }
        let _ = self
            .store
            .client()
            .delete_bucket()
            .bucket(&self.name)
            .send()
            .await;
    }
}

/// A private moto server on a free loopback port that checks credentials
/// (`INITIAL_NO_AUTH_ACTION_COUNT=0`: every request must carry keys moto knows, and it knows
/// none). Killed when dropped.
#[derive(Debug)]
pub struct AuthMoto {
    pub endpoint: String,
    child: std::process::Child,
    _log: TempDir,
}

impl AuthMoto {
    pub async fn start() -> Self {
        let bin = PathBuf::from(required_env("ORCH_TEST_MOTO_SERVER"));
        let port = {
            let probe = StdTcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address").port()
        };
        let log = tempfile::tempdir().expect("moto log dir");
        let log_file = std::fs::File::create(log.path().join("moto.log")).expect("moto log");
        let child = std::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "0")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("moto log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let mut moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            _log: log,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited with {status} before answering");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not answer on port {port} within 20 s");
    }
}

impl Drop for AuthMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
