//! Access with the real binary: `orch auth hash-token` makes the hashes of a tokens file that
//! `orch web` serves roles from; the file rotates on SIGHUP; a malformed file stops the server
//! at start naming the line; runs record who launched them (`--launched-by`) and mutations are
//! in `orch audit`.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::support::{JOB, Orch, eventually, init, orch_bin, served_at};

/// `printf %s TOKEN | orch auth hash-token`.
async fn hash(token: &str) -> String {
    let mut child = tokio::process::Command::new(orch_bin())
        .args(["auth", "hash-token"])
        .env("ORCH_HOME", std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(token.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn tokens_file(entries: &[(&str, &str, &str)]) -> String {
    let mut text = String::new();
    for (name, role, token) in entries {
        text.push_str(&format!(
            "[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n\n",
            hash(token).await
        ));
    }
    text
}

async fn launch(client: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let reply = client
        .post(format!("{base}/api/v1/jobs/{JOB}/launch"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn named_tokens_rotate_on_sighup_and_runs_and_audit_say_who() {
    init();
    // A known vector: SHA-256 of "abc".
    assert_eq!(
        hash("abc").await,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let orch = Orch::local().env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let path = orch.home().join("tokens.toml");
    std::fs::write(
        &path,
        tokens_file(&[
            ("ops-bot", "operator", "ops-1"),
            ("watcher", "viewer", "view-1"),
        ])
        .await,
    )
    .unwrap();
    let orch = orch.env("ORCH_AUTH_TOKENS_FILE", path.display().to_string());
    let server = orch.spawn(&["web"], "web.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "web.log", "listening on http://").await
    );
    let client = reqwest::Client::new();

    let (status, body) = launch(&client, &base, "view-1").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("needs the operator role"),
        "{body}"
    );
    let (status, body) = launch(&client, &base, "ops-1").await;
    assert_eq!(status, 201, "{body}");
    let by_ops = body["id"].as_str().unwrap().to_owned();

    // Rotate with SIGHUP: ops-1 goes, ops-2 comes.
    std::fs::write(
        &path,
        tokens_file(&[("ops-bot", "operator", "ops-2")]).await,
    )
    .unwrap();
    let pid = server.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually(
        "the SIGHUP to be handled",
        Duration::from_secs(10),
        || async { orch.log("web.log").contains("SIGHUP: 1 tokens read") },
    )
    .await;
    assert_eq!(launch(&client, &base, "ops-1").await.0, 401);
    assert_eq!(launch(&client, &base, "ops-2").await.0, 201);

    // The CLI records itself.
    let launched = orch.run(&["launch", JOB]).await;
    launched.assert_exit(0);
    let cli_run = launched
        .stdout
        .trim()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(orch.show(&cli_run).await["launched_by"], "cli");
    let by_ops_listed = orch.list_ids(&["--launched-by", "ops-bot"]).await;
    assert_eq!(by_ops_listed.len(), 2);
    assert!(by_ops_listed.contains(&by_ops));
    assert_eq!(
        orch.list_ids(&["--launched-by", "cli"]).await,
        vec![cli_run.clone()]
    );

    orch.run(&["runs", "cancel", &cli_run]).await.assert_exit(0);
    let audit = orch.run(&["audit", "--json"]).await.assert_exit(0).json();
    let seen: Vec<(String, String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["who"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
                r["client"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("cli", "cancel", "cli"),
        ("ops-bot", "launch", "127.0.0.1"),
        ("ops-bot", "launch", "127.0.0.1"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_malformed_tokens_file_stops_the_server_naming_the_line() {
    init();
    let orch = Orch::local().env("ORCH_WEB_ADDR", "127.0.0.1:0");
    let path = orch.home().join("tokens.toml");
    std::fs::write(
        &path,
        "[[tokens]]\nname = \"a\"\nrole = \"root\"\nsha256 = \"00\"\n",
    )
    .unwrap();
    let orch = orch.env("ORCH_AUTH_TOKENS_FILE", path.display().to_string());
    let out = orch.run(&["web"]).await;
    assert_ne!(out.code, Some(0), "{out}");
    out.assert_says(&["tokens.toml is malformed: line 3: unknown role `root`"]);
}
