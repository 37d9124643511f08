//! Limits on bad input from upstreams: an upstream on 127.0.0.1 that streams 200 MiB (more
//! than the default `max_body_bytes` of 64 MiB) fails `fetch_data` with a message naming the
//! cap, and orch stops reading long before the end; one that declares 200 MiB up front is
//! refused before its body is read; `fetch_weather` applies the same cap, here lowered through
//! the run config.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{JOB, Orch, assert_failed_at, events_of, init};

const MIB: u64 = 1024 * 1024;
const HUGE: u64 = 200 * MIB;

/// A raw HTTP/1.1 server answering every request with a 200 MiB JSON-ish body (`[` and then
/// spaces: valid JSON so far, never finished), counting the bytes it managed to send.
struct HugeUpstream {
    addr: SocketAddr,
    sent: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

impl HugeUpstream {
    /// `declared`: send `Content-Length` (else the body ends with the connection).
    async fn start(declared: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let counter = counter.clone();
                tokio::spawn(async move {
                    // The request head (small GETs: one read is enough to drain it).
                    let mut head = [0u8; 4096];
                    let _ = socket.read(&mut head).await;
                    let length = if declared {
                        format!("Content-Length: {HUGE}\r\n")
                    } else {
                        String::new()
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n["
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = vec![b' '; MIB as usize];
                    let mut total = 1;
                    while total < HUGE {
                        if socket.write_all(&chunk).await.is_err() {
                            return;
                        }
                        total += MIB;
                        counter.fetch_add(MIB, Ordering::SeqCst);
                    }
                });
            }
        });
        Self { addr, sent, server }
    }

    fn url(&self) -> String {
        format!("http://{}/posts", self.addr)
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

impl Drop for HugeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[tokio::test]
async fn fetch_data_stops_reading_a_200_mib_body_at_the_64_mib_cap() {
    init();
    let upstream = HugeUpstream::start(false).await;
    let orch = Orch::local();
    let out = orch
        .run(&[
            "run",
            JOB,
            "--config",
            &format!("source_url={}", upstream.url()),
        ])
        .await;
    out.assert_exit(1);
    out.assert_no_panic();
    let run = orch.show(&out.run_id()).await;
    assert_failed_at(
        &run,
        "fetch_data",
        &[
            &format!("GET {}", upstream.url()),
            "larger than max_body_bytes (67108864 bytes = 64 MiB)",
            "raise the run config 'max_body_bytes'",
        ],
    );
    // Not retried (a retry would read the same body), and the rest of the body never read.
    assert!(events_of(&run, "STEP_UP_RETRY", None).is_empty(), "{run:#}");
    let sent = upstream.sent();
    assert!(
        sent < 100 * MIB,
        "orch kept reading: the upstream sent {} MiB",
        sent / MIB
    );
}

#[tokio::test]
async fn a_declared_200_mib_body_is_refused_before_it_is_read() {
    init();
    let upstream = HugeUpstream::start(true).await;
    let orch = Orch::local();
    let out = orch
        .run(&[
            "run",
            JOB,
            "--config",
            &format!("source_url={}", upstream.url()),
        ])
        .await;
    out.assert_exit(1);
    let run = orch.show(&out.run_id()).await;
    assert_failed_at(&run, "fetch_data", &["larger than max_body_bytes"]);
    assert!(
        upstream.sent() < 64 * MIB,
        "the body was read although its length was declared: {} MiB",
        upstream.sent() / MIB
    );
}

#[tokio::test]
async fn fetch_weather_applies_the_cap_from_the_run_config() {
    init();
    let upstream = HugeUpstream::start(false).await;
    let orch = Orch::local()
        .env(
            "OPENWEATHER_API_URL",
            format!("http://{}/weather", upstream.addr),
        )
        .env("OPENWEATHER_API_KEY", "limits-test-key");
    let out = orch
        .run(&[
            "run",
            "weather_product_job",
            "--config",
            "max_body_bytes=1048576",
        ])
        .await;
    out.assert_exit(1);
    out.assert_no_panic();
    let run = orch.show(&out.run_id()).await;
    assert_eq!(run["status"], "FAILURE", "{run:#}");
    let failures = events_of(&run, "STEP_FAILURE", Some("fetch_weather"));
    assert_eq!(failures.len(), 1, "{run:#}");
    let error = failures[0]["error"].as_str().unwrap();
    for needle in [
        "all 2 location(s) failed",
        "Luxembourg: GET",
        "Chicago: GET",
        "larger than max_body_bytes (1048576 bytes = 1 MiB)",
    ] {
        assert!(error.contains(needle), "{needle:?} in {error:?}");
    }
    assert!(
        !error.contains("limits-test-key"),
        "the key is in {error:?}"
    );
    assert!(
        upstream.sent() < 100 * MIB,
        "orch kept reading: {} MiB sent",
        upstream.sent() / MIB
    );
}
