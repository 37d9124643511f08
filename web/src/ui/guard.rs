//! The browser's side of auth, a middleware around the pages (the JSON API keeps its bearer
//! token, `auth.rs`). It reads the session cookie and then:
//! - reads (GET/HEAD) pass, unless `protect_reads` and nobody is logged in: 303 to
//!   `/login?next=<this page>`;
//! - a mutation (POST) without a login, while a token is configured, is sent to
//!   `/login?next=<the page the form was on>` and nothing happens;
//! - every form POST must carry the session's CSRF token (field `csrf`, or header
//!   `x-csrf-token`), else a 403 page. `/login` itself needs none (it has no session yet, and
//!   forging it would need the token). A request with the bearer token needs neither.
//!
//! - a signed-in user below the role a form needs (`roles::required_role`) gets a 403 page
//!   naming the role, and nothing happens.
//!
//! Without a token, visitors get an anonymous session on their first page, so forms still carry
//! CSRF tokens. Handlers learn who is looking through the [`Viewer`] extractor (which buttons to
//! show, who is signed in) and who acts through `auth::Caller`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::page::{ErrorPage, PageError};
use super::paths::{login_redirect, return_page};
use super::session::{COOKIE, Session, SessionKeys, SessionKind};
use crate::auth::{AuthPolicy, below_role};
use crate::layers::BODY_LIMIT;
use crate::roles::{Identity, Role, required_role};
use crate::throttle::{Throttle, Throttled, client_of};

/// What the page middleware needs: the policy and the cookie keys.
#[derive(Debug, Clone)]
pub struct BrowserAuth {
    pub policy: AuthPolicy,
    pub keys: SessionKeys,
    /// Wrong tokens at the login form, counted with the API's (`throttle.rs`).
    pub throttle: Arc<Throttle>,
}

impl BrowserAuth {
    pub fn new(
        policy: AuthPolicy,
        throttle: Arc<Throttle>,
    ) -> Result<Arc<Self>, super::session::RandomFailed> {
        let keys = SessionKeys::new(policy.token.as_ref())?;
        Ok(Arc::new(Self {
            policy,
            keys,
            throttle,
        }))
    }

    fn auth_on(&self) -> bool {
        self.policy.auth_on()
    }

    /// Builds the `Set-Cookie` value of `session` (or of its removal with `None`).
    pub fn cookie(&self, session: Option<&Session>, headers: &HeaderMap) -> HeaderValue {
        // Behind a TLS-terminating proxy the cookie must not travel over plain HTTP.
        let secure = headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        let secure = if secure { "; Secure" } else { "" };
        let value = match session {
            Some(s) => format!(
                "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                self.keys.encode(s),
                (s.expires - Utc::now()).num_seconds().max(0)
            ),
            None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
        };
        // Only hex, digits and fixed ASCII: always a valid header value.
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Who is looking at a page: what the navigation shows and the CSRF token forms carry.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The session's CSRF token; empty without a session (its forms then lead to the login).
    pub csrf: String,
    /// A token is configured.
    pub auth_on: bool,
    /// Logged in with a token.
    pub logged_in: bool,
    /// Who is signed in.
    pub identity: Option<Identity>,
}

impl Viewer {
    /// Whether the forms that need `role` are shown: to anyone without auth, to a visitor not
    /// signed in (they lead to the login), and to a signed-in identity with the role.
    fn may(&self, role: Role) -> bool {
        self.identity.as_ref().is_none_or(|i| i.may(role))
    }

    /// Launch, cancel and re-execute buttons are shown.
    pub fn may_operate(&self) -> bool {
        self.may(Role::Operator)
    }

    /// Schedule and sensor switches and Reload are shown.
    pub fn may_admin(&self) -> bool {
        self.may(Role::Admin)
    }

    /// Who is signed in, as the navigation shows it (`name (role)`), or empty.
    pub fn signed_in_as(&self) -> String {
        self.identity
            .as_ref()
            .map(|i| format!("{} ({})", i.name, i.role))
            .unwrap_or_default()
    }

    /// The stylesheet's URL (versioned by content).
    pub fn css_url(&self) -> String {
        super::assets::css_url()
    }

    /// The live-update script's URL (versioned by content).
    pub fn js_url(&self) -> String {
        super::assets::js_url()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default())
    }
}

fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/static/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics")
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The CSRF field of a form body.
#[derive(Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// The middleware (see the module doc).
pub async fn guard(State(auth): State<Arc<BrowserAuth>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if !is_page_path(&path) {
        return next.run(request).await;
    }
    let now = Utc::now();
    let from_proxy = match auth
        .policy
        .from_proxy(request.headers(), client_of(&request))
    {
        Ok(identity) => identity,
        Err(refused) => {
            tracing::warn!(%refused, "proxy identity headers refused");
            return ErrorPage::forbidden(&refused.to_string());
        }
    };
    // A user signed in through the proxy keeps an anonymous session, for CSRF tokens only.
    let anonymous_ok = !auth.auth_on() || from_proxy.is_some();
    let session = session_cookie(request.headers())
        .and_then(|c| auth.keys.decode(c, now))
        // A cookie of the other kind (auth switched on or off since) is no session.
        .filter(|s| match s.kind {
            SessionKind::User => auth.auth_on(),
            SessionKind::Anonymous => anonymous_ok,
        });
    let bearer = match bearer_check(&auth, &request) {
        Ok(bearer) => bearer,
        Err(throttled) => return too_many(throttled),
    };
    // A session's owner is looked up now: a token rotated out of the file loses its sessions.
    let from_session = session
        .as_ref()
        .filter(|s| s.kind == SessionKind::User)
        .and_then(|s| auth.policy.named(&s.user));
    let session = session.filter(|s| s.kind == SessionKind::Anonymous || from_session.is_some());
    let identity = from_proxy.or_else(|| bearer.clone()).or(from_session);
    let logged_in = auth.auth_on() && identity.is_some();
    let is_read = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if is_read {
        if auth.policy.protect_reads && auth.auth_on() && !logged_in && path != "/login" {
            let target = request
                .uri()
                .path_and_query()
                .map_or(path.clone(), |pq| pq.as_str().to_owned());
            return Redirect::to(&login_redirect(&target)).into_response();
        }
        return serve_read(&auth, session, identity, anonymous_ok, request, next).await;
    }
    if path == "/login" {
        return next
            .run(with_viewer(&auth, request, session.as_ref(), identity))
            .await;
    }
    if auth.auth_on() && !logged_in {
        return Redirect::to(&login_redirect(&return_page(&path))).into_response();
    }
    if let Some(identity) = &identity {
        let needed = required_role(request.method(), &path);
        if !identity.may(needed) {
            tracing::warn!(%path, user = %identity.name, "form refused: below its role");
            return ErrorPage::forbidden(&below_role(identity, needed));
        }
    }
    if bearer.is_some() {
        return next.run(with_viewer(&auth, request, None, identity)).await;
    }
    match check_csrf(&auth, session.as_ref(), request).await {
        Ok(request) => {
            next.run(with_viewer(&auth, request, session.as_ref(), identity))
                .await
        }
        Err(response) => response,
    }
}

/// Who the request's bearer token identifies. A wrong one counts against the client's
/// throttle (so pages cannot be used to guess it); a throttled client gets 429.
fn bearer_check(auth: &BrowserAuth, request: &Request) -> Result<Option<Identity>, Throttled> {
    if !auth.auth_on() {
        return Ok(None);
    }
    let Some(given) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Ok(None);
    };
    let client = client_of(request);
    auth.throttle.admit(client)?;
    if let Some(identity) = auth.policy.authenticate(given) {
        return Ok(Some(identity));
    }
    auth.throttle.failed(client)?;
    Ok(None)
}

/// The 429 page of a throttled client.
fn too_many(throttled: Throttled) -> Response {
    throttled.stamp(
        PageError::status(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too many wrong tokens from this address; wait a little and try again",
        )
        .into_response(),
    )
}

/// A read: passes with the viewer; without auth, a visitor without a session gets one.
async fn serve_read(
    auth: &BrowserAuth,
    session: Option<Session>,
    identity: Option<Identity>,
    anonymous_ok: bool,
    request: Request,
    next: Next,
) -> Response {
    let fresh = match (&session, anonymous_ok) {
        (None, true) => match auth.keys.create(SessionKind::Anonymous, Utc::now()) {
            Ok(s) => Some(s),
            Err(e) => return PageError::internal(e.to_string()).into_response(),
        },
        _ => None,
    };
    let set_cookie = fresh
        .as_ref()
        .map(|s| auth.cookie(Some(s), request.headers()));
    let session = session.or(fresh);
    let mut response = next
        .run(with_viewer(auth, request, session.as_ref(), identity))
        .await;
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn with_viewer(
    auth: &BrowserAuth,
    mut request: Request,
    session: Option<&Session>,
    identity: Option<Identity>,
) -> Request {
    let viewer = Viewer {
        csrf: session.map(|s| auth.keys.csrf_token(s)).unwrap_or_default(),
        auth_on: auth.auth_on(),
        logged_in: auth.auth_on() && identity.is_some(),
        identity: identity.clone(),
    };
    request.extensions_mut().insert(viewer);
    if let Some(identity) = identity {
        request.extensions_mut().insert(identity);
    }
    request
}

/// Reads the body (within the body limit) to find the CSRF token, then hands the request on
/// with the same body.
async fn check_csrf(
    auth: &BrowserAuth,
    session: Option<&Session>,
    request: Request,
) -> Result<Request, Response> {
    let path = request.uri().path().to_owned();
    let refused = || {
        tracing::warn!(%path, "form refused: no session or a wrong CSRF token");
        ErrorPage::forbidden(
            "This form has expired or did not come from this site. Reload the page and try again.",
        )
        .into_response()
    };
    let Some(session) = session else {
        return Err(refused());
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        PageError::status(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "the form is larger than the server accepts",
        )
        .into_response()
    })?;
    let from_header = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let given = from_header.or_else(|| {
        serde_urlencoded::from_bytes::<CsrfField>(&bytes)
            .ok()
            .and_then(|f| f.csrf)
    });
    match given {
        Some(token) if auth.keys.csrf_matches(session, &token) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_probes_static_files_and_metrics_are_not_pages() {
        for path in [
            "/api/v1/runs",
            "/static/orch.css",
            "/healthz",
            "/readyz",
            "/metrics",
        ] {
            assert!(!is_page_path(path), "{path}");
        }
        for path in ["/", "/runs", "/login", "/apiary", "/jobs/etl/launch"] {
            assert!(is_page_path(path), "{path}");
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; orch_session=abc.1.u.ff"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(session_cookie(&headers), Some("abc.1.u.ff"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
        let mut other = HeaderMap::new();
        other.append(
            header::COOKIE,
            HeaderValue::from_static("orch_session_old=x"),
        );
        assert_eq!(session_cookie(&other), None);
    }
}
