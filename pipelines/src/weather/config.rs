//! The run config of `weather_product_job`, parsed: the API URL, the named locations, the units,
//! the timeout and the all-or-nothing switch. Pure: no IO, every refusal names the key and what
//! is wrong with it.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::body::MAX_BODY_KEY;

/// OpenWeather's current-weather endpoint, the default of `OPENWEATHER_API_URL`.
pub const DEFAULT_OPENWEATHER_API_URL: &str = "https://api.openweathermap.org/data/2.5/weather";

/// The units OpenWeather knows.
pub const UNITS: [&str; 3] = ["standard", "metric", "imperial"];

pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// A place to fetch the weather of, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

/// What one run of the job fetches, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherConfig {
    pub api_url: url::Url,
    pub locations: Vec<Location>,
    pub units: String,
    pub timeout: Duration,
    /// Fail the run when any location fails (default: only when all do).
    pub all_or_nothing: bool,
    /// The largest response body read (`max_body_bytes`, `crate::body`).
    pub max_body_bytes: u64,
}

/// The job's default run config: Luxembourg and Chicago in metric units.
pub fn default_config(api_url: &str) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("api_url".into(), Value::String(api_url.to_owned()));
    config.insert(
        "locations".into(),
        json!([
            {"name": "Luxembourg", "lat": 49.6116, "lon": 6.1319},
            {"name": "Chicago", "lat": 41.8781, "lon": -87.6298},
        ]),
    );
    config.insert("units".into(), Value::String("metric".into()));
    config.insert("timeout_seconds".into(), json!(DEFAULT_TIMEOUT_SECS));
    config.insert("all_or_nothing".into(), Value::Bool(false));
    config.insert(
        MAX_BODY_KEY.into(),
        json!(crate::body::DEFAULT_MAX_BODY_BYTES),
    );
    config
}

impl WeatherConfig {
    /// Parses a resolved run config (the job's defaults overlaid with the launch's values).
    pub fn parse(config: &Value) -> Result<Self, String> {
        let api_url = parse_api_url(config.get("api_url"))?;
        let locations = parse_locations(config.get("locations"))?;
        let units = match config.get("units") {
            None => "metric".to_owned(),
            Some(Value::String(u)) if UNITS.contains(&u.as_str()) => u.clone(),
            Some(other) => {
                return Err(format!(
                    "run config 'units' must be one of {}, not {other}",
                    UNITS.join(", ")
                ));
            }
        };
        let timeout = match config.get("timeout_seconds") {
            None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            Some(v) => match v.as_f64() {
                Some(secs) if secs > 0.0 && secs.is_finite() && secs <= 3600.0 => {
                    Duration::from_secs_f64(secs)
                }
                _ => {
                    return Err(format!(
                        "run config 'timeout_seconds' must be a number of seconds in (0, 3600], not {v}"
                    ));
                }
            },
        };
        let all_or_nothing = match config.get("all_or_nothing") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "run config 'all_or_nothing' must be true or false, not {other}"
                ));
            }
        };
        Ok(Self {
            api_url,
            locations,
            units,
            timeout,
            all_or_nothing,
            max_body_bytes: crate::body::max_body_bytes(config)?,
        })
    }
}

fn parse_api_url(value: Option<&Value>) -> Result<url::Url, String> {
    let raw = value
        .and_then(Value::as_str)
        .ok_or("run config 'api_url' is missing or not a string")?;
    let url = url::Url::parse(raw)
        .map_err(|e| format!("run config 'api_url' is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "run config 'api_url' has scheme '{}'; use http or https",
            url.scheme()
        ));
    }
    // The key is added by the job from OPENWEATHER_API_KEY(_FILE); one in the URL would be
    // stored with the run config for anyone to read.
    if url
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("appid"))
    {
        return Err(
            "run config 'api_url' carries an 'appid': give the key in OPENWEATHER_API_KEY or \
             OPENWEATHER_API_KEY_FILE instead"
                .to_owned(),
        );
    }
    Ok(url)
}

fn parse_locations(value: Option<&Value>) -> Result<Vec<Location>, String> {
    let items = value
        .and_then(Value::as_array)
        .ok_or("run config 'locations' must be an array of {name, lat, lon}")?;
    if items.is_empty() {
        return Err("run config 'locations' is empty; give at least one {name, lat, lon}".into());
    }
    let mut locations: Vec<Location> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |what: &str| format!("run config 'locations'[{i}]: {what}");
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| at("'name' must be a non-empty string"))?;
        let coordinate = |key: &str, bound: f64| -> Result<f64, String> {
            match item.get(key).and_then(Value::as_f64) {
                Some(v) if (-bound..=bound).contains(&v) => Ok(v),
                _ => Err(at(&format!(
                    "'{key}' must be a number in [-{bound}, {bound}] (location '{name}')"
                ))),
            }
        };
        let lat = coordinate("lat", 90.0)?;
        let lon = coordinate("lon", 180.0)?;
        if locations.iter().any(|l| l.name == name) {
            return Err(at(&format!("the name '{name}' is used twice")));
        }
        locations.push(Location {
            name: name.to_owned(),
            lat,
            lon,
        });
    }
    Ok(locations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(key: &str, value: Value) -> Value {
        let mut config = default_config(DEFAULT_OPENWEATHER_API_URL);
        config.insert(key.to_owned(), value);
        Value::Object(config)
    }

    #[test]
    fn defaults_are_luxembourg_and_chicago_in_metric() {
        let c = WeatherConfig::parse(&Value::Object(default_config(DEFAULT_OPENWEATHER_API_URL)))
            .unwrap();
        assert_eq!(c.units, "metric");
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert!(!c.all_or_nothing);
        assert_eq!(
            c.locations,
            vec![
                Location {
                    name: "Luxembourg".into(),
                    lat: 49.6116,
                    lon: 6.1319
                },
                Location {
                    name: "Chicago".into(),
                    lat: 41.8781,
                    lon: -87.6298
                },
            ]
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_key_named() {
        let check = |key: &str, value: Value, needle: &str| {
            let e = WeatherConfig::parse(&config_with(key, value)).unwrap_err();
            assert!(e.contains(needle), "{key}: {e:?} lacks {needle:?}");
        };
        check(
            "units",
            json!("kelvin"),
            "'units' must be one of standard, metric, imperial",
        );
        check("locations", json!([]), "'locations' is empty");
        check("locations", json!({"name": "x"}), "must be an array");
        check(
            "locations",
            json!([{"lat": 1, "lon": 2}]),
            "[0]: 'name' must be",
        );
        check(
            "locations",
            json!([{"name": "X", "lat": 91, "lon": 2}]),
            "[0]: 'lat' must be a number in [-90, 90] (location 'X')",
        );
        check(
            "locations",
            json!([{"name": "X", "lat": 1, "lon": 2}, {"name": "X", "lat": 1, "lon": 2}]),
            "[1]: the name 'X' is used twice",
        );
        check("timeout_seconds", json!(0), "'timeout_seconds' must be");
        check(
            "all_or_nothing",
            json!("yes"),
            "'all_or_nothing' must be true or false",
        );
        check("api_url", json!("ftp://x/"), "scheme 'ftp'");
        check(
            "api_url",
            json!("http://h/weather?appid=k"),
            "carries an 'appid'",
        );
    }
}
