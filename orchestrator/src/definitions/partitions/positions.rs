//! A definition's keys at one instant as positions `0..len` in the definition's order, so a
//! reader joins stored rows to keys without listing every key: evenly spaced time windows
//! (hourly, daily, weekly in UTC) map a key to its position and back arithmetically; the other
//! definitions are listed once and indexed.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::time_window::TimeWindowPartitions;
use super::{PartitionKeys, PartitionsDef, PartitionsError};

/// Keys ↔ positions (see the module doc); built by [`PartitionKeys::positions`].
#[derive(Debug)]
pub enum KeyPositions<'a> {
    /// Evenly spaced windows: position `p` starts at `first + p × step`.
    Fixed {
        tw: &'a TimeWindowPartitions,
        first: DateTime<Utc>,
        step: TimeDelta,
        len: u64,
    },
    /// Every key, listed.
    Listed {
        keys: Vec<String>,
        index: HashMap<String, u64>,
    },
}

impl KeyPositions<'_> {
    /// How many keys exist.
    pub fn len(&self) -> u64 {
        match self {
            Self::Fixed { len, .. } => *len,
            Self::Listed { keys, .. } => keys.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position of `key`; `None` when it is not a key at this instant.
    pub fn position(&self, key: &str) -> Option<u64> {
        match self {
            Self::Fixed {
                tw,
                first,
                step,
                len,
            } => {
                let offset = (tw.fixed_instant(key)? - *first).num_seconds();
                let step = step.num_seconds();
                if offset < 0 || offset % step != 0 {
                    return None;
                }
                let position = (offset / step) as u64;
                (position < *len).then_some(position)
            }
            Self::Listed { index, .. } => index.get(key).copied(),
        }
    }

    /// The key at `position`; `None` past the last.
    pub fn key_at(&self, position: u64) -> Option<String> {
        match self {
            Self::Fixed {
                tw,
                first,
                step,
                len,
            } => {
                if position >= *len {
                    return None;
                }
                let t = *first + *step * i32::try_from(position).ok()?;
                Some(tw.fixed_key(t))
            }
            Self::Listed { keys, .. } => keys.get(usize::try_from(position).ok()?).cloned(),
        }
    }
}

impl PartitionKeys<'_> {
    /// The keys as positions (see [`KeyPositions`]).
    pub fn positions(&self) -> Result<KeyPositions<'_>, PartitionsError> {
        if let PartitionsDef::TimeWindow(tw) = self.def
            && let Some((step, len)) = tw.fixed(self.now)
        {
            return Ok(KeyPositions::Fixed {
                tw,
                first: tw.first(),
                step,
                len,
            });
        }
        let keys = match self.def {
            PartitionsDef::Static(list) => list.clone(),
            PartitionsDef::Dynamic(_) => self.dynamic_keys.to_vec(),
            PartitionsDef::TimeWindow(_) => self.page(None, usize::MAX)?.keys,
        };
        let index = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u64))
            .collect();
        Ok(KeyPositions::Listed { keys, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::{Cadence, TimeWindowSpec};

    /// Every key the definition lists maps to its index and back, nothing else maps.
    #[track_caller]
    fn agrees(def: &PartitionsDef, fixed: bool) {
        let now = DateTime::parse_from_rfc3339("2026-03-10T05:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let keys = def.at(now, &[]);
        let listed = keys.page(None, usize::MAX).unwrap().keys;
        let positions = keys.positions().unwrap();
        assert_eq!(matches!(positions, KeyPositions::Fixed { .. }), fixed);
        assert_eq!(positions.len(), listed.len() as u64);
        for (i, key) in listed.iter().enumerate() {
            assert_eq!(positions.position(key), Some(i as u64), "{key}");
            assert_eq!(positions.key_at(i as u64).as_deref(), Some(key.as_str()));
        }
        assert_eq!(positions.key_at(listed.len() as u64), None);
        for wrong in ["2026-3-01", "2025-12-31-00:30", "2026-03-10-06:00", "x", ""] {
            assert_eq!(positions.position(wrong), None, "{wrong}");
        }
    }

    fn def(cadence: Cadence, start: &str, timezone: &str) -> PartitionsDef {
        PartitionsDef::time_window(TimeWindowSpec {
            timezone: timezone.to_owned(),
            ..TimeWindowSpec::new(cadence, start)
        })
        .unwrap()
    }

    #[test]
    fn positions_match_the_listed_keys() {
        agrees(&def(Cadence::Hourly, "2026-01-01-00:00", "UTC"), true);
        agrees(&def(Cadence::Daily, "2025-01-01", "UTC"), true);
        agrees(&def(Cadence::Weekly, "2024-01-01", "UTC"), true);
        agrees(&def(Cadence::Monthly, "2020-01-01", "UTC"), false);
        agrees(
            &def(Cadence::Hourly, "2026-01-01-00:00", "America/New_York"),
            false,
        );
        agrees(
            &PartitionsDef::static_keys(&["b", "a", "c"]).unwrap(),
            false,
        );
    }
}
