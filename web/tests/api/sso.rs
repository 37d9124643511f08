//! Single sign-on behind a trusted proxy, over real TCP on loopback: the proxy's user and groups
//! headers are believed from 127.0.0.1 (listed in the trusted proxies) and refused from
//! 127.0.0.2 (not listed), whatever they say; groups map to roles; a missing groups header
//! gives no role; runs record `sso:<user>`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use orchestrator::domain::RunFilter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use web::AuthPolicy;
use web::sso::ProxyAuth;

use crate::support::{TestApp, api_tests};

api_tests!(proxy_headers_count_only_from_a_trusted_address);

/// Serves `app` on 127.0.0.1 with the peer address known to handlers, as `orch web` does.
async fn serve(app: &TestApp) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    addr
}

/// Sends one HTTP/1.1 request from the local address `from`; returns the status and the body.
async fn send(
    from: &str,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {reply:?}"));
    let body = reply
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

async fn proxy_headers_count_only_from_a_trusted_address(app: TestApp) {
    let roles: BTreeMap<String, String> = [
        ("data-eng".to_owned(), "operator".to_owned()),
        ("platform".to_owned(), "admin".to_owned()),
    ]
    .into();
    let proxy = ProxyAuth::parse(
        "X-Forwarded-Email",
        Some("X-Forwarded-Groups"),
        "127.0.0.1/32",
        &roles,
    )
    .unwrap();
    let app = app.with_auth(AuthPolicy {
        proxy: Some(Arc::new(proxy)),
        ..AuthPolicy::default()
    });
    let server = serve(&app).await;
    let launch = "/api/v1/jobs/etl/launch";
    let ann = [
        ("X-Forwarded-Email", "ann@example.com"),
        ("X-Forwarded-Groups", "staff,data-eng"),
    ];

    // From the trusted proxy: ann is an operator.
    let (status, body) = send("127.0.0.1", server, "POST", launch, &ann).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        "127.0.0.1",
        server,
        "POST",
        "/api/v1/schedules/nightly/on",
        &ann,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("needs the admin role; `sso:ann@example.com` is an operator"),
        "{body}"
    );

    // The same headers from an address that is not a trusted proxy: refused, nothing launched.
    let (status, body) = send("127.0.0.2", server, "POST", launch, &ann).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("only from a trusted proxy; 127.0.0.2 is not one"),
        "{body}"
    );
    let platform = [
        ("X-Forwarded-Email", "mallory@example.com"),
        ("X-Forwarded-Groups", "platform"),
    ];
    let (status, _) = send(
        "127.0.0.2",
        server,
        "POST",
        "/api/v1/schedules/nightly/on",
        &platform,
    )
    .await;
    assert_eq!(status, 403);
    // Without headers, from anywhere: no credentials, 401.
    let (status, _) = send("127.0.0.2", server, "POST", launch, &[]).await;
    assert_eq!(status, 401);

    // A missing groups header: signed in, but no role.
    let (status, body) = send(
        "127.0.0.1",
        server,
        "POST",
        launch,
        &[("X-Forwarded-Email", "bob@example.com")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains(
            "`bob@example.com` signed in through the proxy, but none of their groups has a role"
        ),
        "{body}"
    );

    let runs = app.store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1, "only the trusted operator launched");
    assert_eq!(runs[0].launched_by.as_deref(), Some("sso:ann@example.com"));
    // The page shows who is signed in through the proxy.
    let (status, page) = send("127.0.0.1", server, "GET", "/jobs/etl", &ann).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Signed in as sso:ann@example.com (operator)"),
        "{page}"
    );
}
