//! The UI's static files, embedded in the binary (the UI works offline, with no CDN). Their
//! URLs carry a hash of their content (`/static/orch.css?v=…`), so browsers may cache them for
//! a year and still see a new build's files at once.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../static/orch.css");
const JS: &str = include_str!("../../static/run.js");

/// FNV-1a, at compile time: a cache-busting version, not a security measure.
const fn fnv(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const CSS_VERSION: u64 = fnv(CSS.as_bytes());
const JS_VERSION: u64 = fnv(JS.as_bytes());

/// The stylesheet's URL, for templates.
pub fn css_url() -> String {
    format!("/static/orch.css?v={CSS_VERSION:x}")
}

/// The live-update script's URL, for templates.
pub fn js_url() -> String {
    format!("/static/run.js?v={JS_VERSION:x}")
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, mime) = match file.as_str() {
        "orch.css" => (CSS, "text/css; charset=utf-8"),
        "run.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
