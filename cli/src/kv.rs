//! `KEY=VALUE` arguments of `--config` and `--tag`.

use serde_json::{Map, Value};

use orchestrator::domain::{TagKey, Tags};

/// Splits `KEY=VALUE`; the key must not be empty.
fn split(arg: &str, flag: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("{flag} '{arg}' is not KEY=VALUE")),
    }
}

/// Run config overrides. A value that parses as JSON is taken as JSON (`limit=3`, `on=true`,
/// `ids=[1,2]`); anything else is a string (`source_url=file:///tmp/posts.json`).
pub fn parse_config(args: &[String]) -> Result<Map<String, Value>, String> {
    let mut map = Map::new();
    for arg in args {
        let (key, raw) = split(arg, "--config")?;
        let value = serde_json::from_str(&raw).unwrap_or(Value::String(raw));
        map.insert(key, value);
    }
    Ok(map)
}

/// Run tags; keys must be valid tag keys.
pub fn parse_tags(args: &[String]) -> Result<Tags, String> {
    let mut tags = Tags::new();
    for arg in args {
        let (key, value) = split(arg, "--tag")?;
        let key = TagKey::parse(&key).map_err(|e| format!("--tag '{arg}': {e}"))?;
        tags.insert(key, value);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_values_are_json_when_they_parse() {
        let args: Vec<String> = ["a=1", "b=true", "c=file:///x", "d=", "e=[1]", "f=x=y"]
            .map(String::from)
            .to_vec();
        let map = parse_config(&args).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"a": 1, "b": true, "c": "file:///x", "d": "", "e": [1], "f": "x=y"})
        );
    }

    #[test]
    fn malformed_pairs_are_refused_with_the_argument() {
        let err = parse_config(&["novalue".into()]).unwrap_err();
        assert_eq!(err, "--config 'novalue' is not KEY=VALUE");
        assert!(parse_config(&["=1".into()]).is_err());
        assert!(
            parse_tags(&["bad key=1".into()])
                .unwrap_err()
                .contains("not a valid tag key")
        );
    }
}
