//! Typed identifiers: a run id, a job name, an asset key, a tag key and a schedule name, each
//! parsed once at the edge so the rest of the code never handles a raw string that might be
//! malformed.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// Why a name or id given by a user was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("'{0}' is not a run id (expected a UUID such as 0192f5c4-8a4e-7cc2-9d4e-2f7d3c1b6a10)")]
    RunId(String),
    #[error(
        "'{value}' is not a valid {what}: use 1 to 128 characters of letters, digits, '_', '-', '.' and '/', starting with a letter or digit"
    )]
    Name { what: &'static str, value: String },
}

/// Identifies one run. Runs ids are UUIDv7, so they sort by creation time: keyset pagination
/// on the id alone lists runs newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(Uuid);

impl RunId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    pub fn parse(value: &str) -> Result<Self, IdError> {
        Uuid::parse_str(value.trim())
            .map(Self)
            .map_err(|_| IdError::RunId(value.to_owned()))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RunId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn is_valid_name(value: &str) -> bool {
    let mut chars = value.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    value.len() <= 128
        && first.is_ascii_alphanumeric()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, IdError> {
                if is_valid_name(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(IdError::Name { what: $what, value: value.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        // Names are part of the stored event format, so they (de)serialize as validated strings.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of a job, e.g. `product_pipeline_job`.
    JobName,
    "job name"
);
name_type!(
    /// The key of an asset, e.g. `fetch_data`. In orch every asset is computed by exactly one
    /// step of the same name, so an asset key is also a step key.
    AssetKey,
    "asset key"
);
name_type!(
    /// The key of a run tag, e.g. `schedule` or `team`.
    TagKey,
    "tag key"
);
name_type!(
    /// The name of a schedule, e.g. `product_pipeline_schedule`.
    ScheduleName,
    "schedule name"
);
name_type!(
    /// The name of a run-status sensor, e.g. `product_pipeline_failure_sensor`.
    SensorName,
    "sensor name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_usual_shapes_and_refuse_the_rest() {
        for ok in ["product_pipeline_job", "a", "team/data-eng", "v1.2"] {
            assert!(JobName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", " x", "_x", "a b", "x;drop", &"a".repeat(129), "é"] {
            assert!(JobName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn run_ids_round_trip_and_sort_by_creation() {
        let a = RunId::new();
        let b = RunId::new();
        assert!(a < b);
        assert_eq!(RunId::parse(&a.to_string()), Ok(a));
        let err = RunId::parse("nope").unwrap_err().to_string();
        assert!(err.contains("'nope' is not a run id"), "{err}");
    }
}
