//! The web UI's pages through the real router (`oneshot`, no network) on real stores: each test
//! runs on a fresh PostgreSQL database and on a SQLite file, except the 100 000-event run
//! (PostgreSQL only, the production store). The fixtures are the API suite's (`../api/support.rs`);
//! `browser.rs` adds what a browser does: cookies, CSRF tokens from forms, form posts.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod auth;
mod backfills;
mod browser;
mod escaping;
mod forms;
mod health;
mod pages;
mod partitions;
mod roles;
mod scale;
#[path = "../api/support.rs"]
#[allow(dead_code)]
mod support;
mod tag_check;
mod throttle;

/// Percent-encodes a query value.
pub fn browser_encode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}
