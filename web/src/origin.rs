//! Cross-site protection of every mutation, with or without a token: a browser visiting another
//! site must not be able to launch runs or switch schedules through the user's `orch dev`.
//!
//! A mutation (any method but GET, HEAD and OPTIONS) on any path — API, forms, login — is refused
//! with 403, before anything runs, when
//! - `Sec-Fetch-Site` is `cross-site` (browsers send it on every request since 2023), or
//! - `Sec-Fetch-Site` is not `same-origin` (nor `none`: typed by the user) and `Origin` is present
//!   and is neither this server's own origin (its host and port are the request's `Host`) nor one
//!   of [`AllowedOrigins`] (`ORCH_ALLOWED_ORIGINS`, for a proxy that rewrites `Host`, or a
//!   same-site page of the operator's). `Origin: null` (sandboxed frames, and every form of a
//!   page under `Referrer-Policy: no-referrer`, ours included) is never enough on its own:
//!   only the browser's `Sec-Fetch-Site: same-origin` vouches for such a request.
//!
//! Clients that send neither header (curl, the CLI, scripts) are not browsers driven by another
//! site and keep working; the pages' CSRF tokens (`ui/guard.rs`) stay as a second line.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::ui::ErrorPage;

/// The header browsers set to say where a request comes from relative to its target.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Origins (`scheme://host[:port]`, lowercase) whose pages may send mutations besides this
/// server's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Arc<[String]>);

/// An entry of `ORCH_ALLOWED_ORIGINS` that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ORCH_ALLOWED_ORIGINS: {entry:?} is not an origin; write scheme://host[:port] (e.g. https://orch.example.com), comma-separated"
)]
pub struct BadOrigin {
    pub entry: String,
}

impl AllowedOrigins {
    /// Parses a comma-separated list (blank entries ignored).
    pub fn parse(list: &str) -> Result<Self, BadOrigin> {
        let origins = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                normalize(entry).ok_or_else(|| BadOrigin {
                    entry: entry.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(origins.into()))
    }

    fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// `scheme://authority` in lowercase, or `None` if `text` is not an origin (no path, query,
/// user info; http or https).
fn normalize(text: &str) -> Option<String> {
    let uri: Uri = text.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?.as_str().to_ascii_lowercase();
    let bare = uri.path_and_query().is_none_or(|pq| pq.as_str() == "/");
    let plain = !authority.contains('@');
    (bare && plain && matches!(scheme.as_str(), "http" | "https"))
        .then(|| format!("{scheme}://{authority}"))
}

/// Why a mutation is refused, or `None` to let it through.
fn refusal(headers: &HeaderMap, uri: &Uri, allowed: &AllowedOrigins) -> Option<String> {
    let site = headers
        .get(SEC_FETCH_SITE)
        .map(|v| v.as_bytes().to_ascii_lowercase());
    match site.as_deref() {
        Some(b"cross-site") => return Some("Sec-Fetch-Site: cross-site".to_owned()),
        // The browser itself says the request comes from a page of this origin (or from the
        // user, typing or bookmarking): scripts cannot set Sec- headers. Our pages' own forms
        // carry `Origin: null` under `Referrer-Policy: no-referrer`, so Origin alone cannot tell.
        Some(b"same-origin" | b"none") => return None,
        _ => {}
    }
    let origin = headers.get(header::ORIGIN)?;
    let shown = String::from_utf8_lossy(origin.as_bytes()).into_owned();
    let Some(origin) = origin.to_str().ok().and_then(normalize) else {
        return Some(format!("Origin: {shown}"));
    };
    let own_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .map(|h| h.to_ascii_lowercase());
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    if own_host.is_some() && origin_host == own_host.as_deref() {
        return None;
    }
    if allowed.contains(&origin) {
        return None;
    }
    Some(format!("Origin: {shown}"))
}

/// The middleware (see the module doc).
pub async fn refuse_cross_site(
    State(allowed): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(reason) = refusal(request.headers(), request.uri(), &allowed) else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    tracing::warn!(%path, %reason, "cross-site request refused");
    let message = format!(
        "refused a cross-site request ({reason}): only pages of this server, or of an origin listed in ORCH_ALLOWED_ORIGINS, may change anything here"
    );
    if path.starts_with("/api/") {
        ApiError::Forbidden(message).into_response()
    } else {
        ErrorPage::forbidden(&message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn check(pairs: &[(&'static str, &'static str)], allowed: &str) -> Option<String> {
        let allowed = AllowedOrigins::parse(allowed).unwrap();
        refusal(&headers(pairs), &Uri::from_static("/api/v1/x"), &allowed)
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert_eq!(check(&[], ""), None);
        assert_eq!(check(&[("host", "127.0.0.1:3000")], ""), None);
    }

    #[test]
    fn own_origin_passes_and_others_are_refused() {
        let own = [
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ];
        assert_eq!(check(&own, ""), None);
        let upper = [
            ("host", "Orch.Example.com"),
            ("origin", "https://orch.example.COM"),
        ];
        assert_eq!(check(&upper, ""), None);
        let evil = [
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example"),
        ];
        assert_eq!(
            check(&evil, "").as_deref(),
            Some("Origin: http://evil.example")
        );
        let other_port = [
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3001"),
        ];
        assert!(check(&other_port, "").is_some());
        let null = [("host", "127.0.0.1:3000"), ("origin", "null")];
        assert_eq!(check(&null, "").as_deref(), Some("Origin: null"));
        let no_host = [("origin", "http://127.0.0.1:3000")];
        assert!(check(&no_host, "").is_some());
    }

    #[test]
    fn cross_site_fetches_are_refused_whatever_the_origin() {
        let cross = [
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "cross-site"),
        ];
        assert_eq!(
            check(&cross, "http://127.0.0.1:3000").as_deref(),
            Some("Sec-Fetch-Site: cross-site")
        );
        let same = [("host", "x:1"), ("sec-fetch-site", "same-origin")];
        assert_eq!(check(&same, ""), None);
        // Our own form under Referrer-Policy: no-referrer, as Chromium sends it.
        let own_form = [
            ("host", "127.0.0.1:3000"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ];
        assert_eq!(check(&own_form, ""), None);
        let same_site = [
            ("host", "orch.example.com"),
            ("origin", "https://evil.example.com"),
            ("sec-fetch-site", "same-site"),
        ];
        assert!(check(&same_site, "").is_some());
        assert_eq!(check(&same_site, "https://evil.example.com"), None);
    }

    #[test]
    fn listed_origins_pass() {
        let proxied = [
            ("host", "orch-web:3000"),
            ("origin", "https://orch.example.com"),
        ];
        assert!(check(&proxied, "").is_some());
        assert_eq!(
            check(&proxied, "http://a.example, https://orch.example.com"),
            None
        );
    }

    #[test]
    fn the_allowed_list_is_parsed_strictly() {
        let list = AllowedOrigins::parse(" https://A.example ,, http://b.example:8080 ").unwrap();
        assert_eq!(list.to_string(), "https://a.example,http://b.example:8080");
        assert!(AllowedOrigins::parse("").unwrap().is_empty());
        for bad in [
            "a.example",
            "https://a.example/path",
            "ftp://a",
            "https://u@a",
        ] {
            let err = AllowedOrigins::parse(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
