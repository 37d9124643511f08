//! Checks of a run's tags made before the run exists: whoever may launch a run must not be able
//! to pick, through a tag a launcher reads (the Kubernetes launcher's `orch/k8s_config`), what
//! only the operator should decide (the image, the service account, the secrets).
//!
//! A [`RunTagCheck`] is built by the binary from the operator's config (the Kubernetes one is
//! `launcher_k8s::guard::RunOverridable`) and called by every front door that creates a run from
//! a user's request: the API and the form of `web`, `orch launch` and `orch run`. Runs the
//! operator's own config starts (schedules) are not checked; launchers check again at launch, so
//! a run that got in another way is still refused then.

use std::fmt::Debug;
use std::sync::Arc;

use crate::domain::Tags;

/// Why a run's tags are refused: the tag, and what in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tag {tag}: {message}")]
pub struct TagRefused {
    /// The tag's key, e.g. `orch/k8s_config`.
    pub tag: String,
    /// What is wrong, naming the offending key, e.g. "`image` may not be set by a run …".
    pub message: String,
}

/// A check of a new run's tags.
pub trait RunTagCheck: Debug + Send + Sync {
    fn check(&self, tags: &Tags) -> Result<(), TagRefused>;
}

/// Several checks; the first refusal wins.
#[derive(Debug, Clone, Default)]
pub struct TagChecks(Vec<Arc<dyn RunTagCheck>>);

impl TagChecks {
    /// No checks: every tag passes.
    pub fn none() -> Self {
        Self::default()
    }

    /// These checks and `check`.
    pub fn with(mut self, check: Arc<dyn RunTagCheck>) -> Self {
        self.0.push(check);
        self
    }
}

impl RunTagCheck for TagChecks {
    fn check(&self, tags: &Tags) -> Result<(), TagRefused> {
        self.0.iter().try_for_each(|check| check.check(tags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TagKey;

    #[derive(Debug)]
    struct NoTag(&'static str);

    impl RunTagCheck for NoTag {
        fn check(&self, tags: &Tags) -> Result<(), TagRefused> {
            match tags.keys().find(|k| k.as_str() == self.0) {
                Some(k) => Err(TagRefused {
                    tag: k.as_str().to_owned(),
                    message: "not allowed".to_owned(),
                }),
                None => Ok(()),
            }
        }
    }

    #[test]
    fn the_first_refusal_wins_and_no_checks_pass_everything() {
        let mut tags = Tags::new();
        tags.insert(TagKey::parse("b").unwrap(), "1".into());
        assert_eq!(TagChecks::none().check(&tags), Ok(()));
        let checks = TagChecks::none()
            .with(Arc::new(NoTag("a")))
            .with(Arc::new(NoTag("b")));
        let refused = checks.check(&tags).unwrap_err();
        assert_eq!(refused.to_string(), "tag b: not allowed");
    }
}
