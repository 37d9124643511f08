//! A stand-in for OpenWeather's current-weather API on 127.0.0.1 (`GET /data/2.5/weather`). It
//! checks what the real one checks that matters here — `appid` (401 with OpenWeather's error
//! body when it is not the expected key) and `units` (400 when missing or unknown) — and answers
//! per location, keyed by the `lat` query value: a fixed current-weather body, a 500, a body
//! without `main.temp`, or a body that is not JSON. Every request is recorded for assertions.

use super::*;

/// The key the fixture accepts.
pub const WEATHER_KEY: &str = "owm-test-key-7f3a9c1e5b";

/// How the fixture answers a location.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this body.
    Weather(Value),
    /// Always 500.
    ServerError,
    /// 200 with a current-weather body lacking `main.temp`.
    MissingTemp,
    /// 200 with an HTML page.
    NotJson,
}

/// One request the fixture received (query parameters by name).
#[derive(Debug, Clone)]
pub struct WeatherRequest {
    pub query: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct FixtureState {
    answers: HashMap<String, Answer>,
    requests: Mutex<Vec<WeatherRequest>>,
}

/// The fixture server; stops when dropped.
#[derive(Debug)]
pub struct OpenWeather {
    addr: SocketAddr,
    state: Arc<FixtureState>,
    server: tokio::task::JoinHandle<()>,
}

/// A current-weather body as OpenWeather sends it (trimmed to realistic fields).
pub fn weather_body(name: &str, temp: f64, humidity: i64, description: &str, dt: i64) -> Value {
    serde_json::json!({
        "coord": {"lon": 0.0, "lat": 0.0},
        "weather": [{"id": 500, "main": "Rain", "description": description, "icon": "10d"}],
        "base": "stations",
        "main": {"temp": temp, "feels_like": temp - 2.5, "temp_min": temp - 1.0,
                 "temp_max": temp + 1.0, "pressure": 1012, "humidity": humidity},
        "visibility": 10000,
        "wind": {"speed": 4.63, "deg": 240},
        "clouds": {"all": 75},
        "dt": dt,
        "sys": {"country": "XX"},
        "timezone": 0,
        "id": 1,
        "name": name,
        "cod": 200
    })
}

async fn answer(
    State(state): State<Arc<FixtureState>>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    state
        .requests
        .lock()
        .expect("requests lock")
        .push(WeatherRequest {
            query: query.clone(),
        });
    if query.get("appid").map(String::as_str) != Some(WEATHER_KEY) {
        let body = r#"{"cod":401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}"#;
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    if !matches!(
        query.get("units").map(String::as_str),
        Some("standard" | "metric" | "imperial")
    ) {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"cod":"400","message":"bad units"}"#,
        )
            .into_response();
    }
    let lat = query.get("lat").cloned().unwrap_or_default();
    match state.answers.get(&lat) {
        Some(Answer::Weather(body)) => (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        Some(Answer::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
        Some(Answer::MissingTemp) => {
            let mut body = weather_body("Broken", 1.0, 50, "fog", 1_763_900_000);
            body["main"]
                .as_object_mut()
                .expect("main is an object")
                .remove("temp");
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Some(Answer::NotJson) => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html>rate limit page</html>",
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            r#"{"cod":"404","message":"city not found"}"#,
        )
            .into_response(),
    }
}

impl OpenWeather {
    /// Starts the fixture with `answers` keyed by the `lat` value the job sends.
    pub async fn start(answers: &[(&str, Answer)]) -> Self {
        let state = Arc::new(FixtureState {
            answers: answers
                .iter()
                .map(|(lat, a)| ((*lat).to_owned(), a.clone()))
                .collect(),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/data/2.5/weather", get(answer))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the OpenWeather fixture");
        let addr = listener.local_addr().expect("fixture address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the OpenWeather fixture serves");
        });
        Self {
            addr,
            state,
            server,
        }
    }

    /// The endpoint to give as OPENWEATHER_API_URL.
    pub fn url(&self) -> String {
        format!("http://{}/data/2.5/weather", self.addr)
    }

    pub fn requests(&self) -> Vec<WeatherRequest> {
        self.state.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for OpenWeather {
    fn drop(&mut self) {
        self.server.abort();
    }
}
