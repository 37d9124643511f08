//! The data-quality checks of `fetch_data`: posts were fetched (`has_posts`, ERROR) and each has
//! a non-empty string title (`titles_present`, WARN, with the count missing). Neither is
//! blocking, so the job writes the same object as the seed whatever the posts hold; a run whose
//! checks failed ends SUCCESS and says so.

use std::sync::Arc;

use orchestrator::definitions::{AssetCheckDef, DefinitionError};
use orchestrator::domain::{CheckResult, CheckSeverity};
use serde_json::Value;

/// `has_posts`: the upstream answered at least one post.
pub fn has_posts() -> Result<AssetCheckDef, DefinitionError> {
    Ok(AssetCheckDef::builder("has_posts")
        .description("The product API returned at least one post.")
        .severity(CheckSeverity::Error)
        .compute(|_ctx, posts: Arc<Value>| async move {
            let count = posts.as_array().map_or(0, Vec::len);
            Ok(CheckResult::from_bool(count > 0, CheckSeverity::Error)
                .with_metadata("count", count))
        })?)
}

/// `titles_present`: every post has a non-empty string title.
pub fn titles_present() -> Result<AssetCheckDef, DefinitionError> {
    Ok(AssetCheckDef::builder("titles_present")
        .description("Every post has a non-empty title.")
        .severity(CheckSeverity::Warn)
        .compute(|_ctx, posts: Arc<Value>| async move {
            let missing = missing_titles(&posts);
            Ok(CheckResult::from_bool(missing == 0, CheckSeverity::Warn)
                .with_metadata("missing_titles", missing))
        })?)
}

/// How many posts lack a non-empty string title.
pub fn missing_titles(posts: &Value) -> usize {
    posts.as_array().map_or(0, |posts| {
        posts
            .iter()
            .filter(|p| {
                p.get("title")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            })
            .count()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_titles_counts_absent_empty_and_non_string_titles() {
        assert_eq!(
            missing_titles(&json!([{"title": "a"}, {"title": ""}, {}, {"title": 3}])),
            3
        );
        assert_eq!(missing_titles(&json!([{"title": "a"}])), 0);
        assert_eq!(missing_titles(&json!([])), 0);
    }
}
