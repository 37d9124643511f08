//! The fixture upstream HTTP server.

use super::*;

// ---------------------------------------------------------------------------------------------
// Fixture upstream

/// The routes of the fixture upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// 200 with the sample posts.
    Posts,
    /// Always 500.
    ServerError,
    /// 200 with an HTML body.
    NotJson,
    /// 200 with a JSON object that wraps the posts.
    Object,
    /// The posts after [`SLOW_DELAY`].
    Slow,
    /// 503 on the first two requests, then the posts.
    Flaky,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Self::Posts => "/posts",
            Self::ServerError => "/error",
            Self::NotJson => "/not-json",
            Self::Object => "/object",
            Self::Slow => "/slow",
            Self::Flaky => "/flaky",
        }
    }
}

#[derive(Debug, Default)]
struct Hits(Mutex<HashMap<Route, usize>>);

impl Hits {
    /// Counts a request; returns how many came before it.
    fn record(&self, route: Route) -> usize {
        let mut hits = self.0.lock().expect("hits lock");
        let n = hits.entry(route).or_default();
        *n += 1;
        *n - 1
    }
}

fn posts_response() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        POSTS_JSON,
    )
        .into_response()
}

/// An HTTP server on 127.0.0.1 in the test process standing in for the product API.
#[derive(Debug)]
pub struct Upstream {
    addr: SocketAddr,
    hits: Arc<Hits>,
    server: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start() -> Self {
        let hits = Arc::new(Hits::default());
        let app = Router::new()
            .route(
                Route::Posts.path(),
                get(|State(h): State<Arc<Hits>>| async move {
                    h.record(Route::Posts);
                    posts_response()
                }),
            )
            .route(
                Route::ServerError.path(),
                get(|State(h): State<Arc<Hits>>| async move {
                    h.record(Route::ServerError);
                    (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
                }),
            )
            .route(
                Route::NotJson.path(),
                get(|State(h): State<Arc<Hits>>| async move {
                    h.record(Route::NotJson);
                    (
                        [(header::CONTENT_TYPE, "text/html")],
                        "<html><body>maintenance</body></html>",
                    )
                        .into_response()
                }),
            )
            .route(
                Route::Object.path(),
                get(|State(h): State<Arc<Hits>>| async move {
                    h.record(Route::Object);
                    let body = format!(r#"{{"posts": {POSTS_JSON}}}"#);
                    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                }),
            )
            .route(
                Route::Slow.path(),
                get(|State(h): State<Arc<Hits>>| async move {
                    h.record(Route::Slow);
                    tokio::time::sleep(SLOW_DELAY).await;
                    posts_response()
                }),
            )
            .route(
                Route::Flaky.path(),
                get(|State(h): State<Arc<Hits>>| async move {
                    if h.record(Route::Flaky) < 2 {
                        (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                    } else {
                        posts_response()
                    }
                }),
            )
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fixture upstream");
        let addr = listener.local_addr().expect("fixture upstream address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fixture upstream serves");
        });
        Self { addr, hits, server }
    }

    pub fn url(&self, route: Route) -> String {
        format!("http://{}{}", self.addr, route.path())
    }

    /// Requests `route` received so far.
    pub fn hits(&self, route: Route) -> usize {
        self.hits
            .0
            .lock()
            .expect("hits lock")
            .get(&route)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}
