//! Optional authentication of the API by bearer tokens: the single admin token
//! (`ORCH_AUTH_TOKEN` or `ORCH_AUTH_TOKEN_FILE`, identity `admin`) and the named tokens of
//! `ORCH_AUTH_TOKENS_FILE` (`tokens.rs`), each with a role (`roles.rs`). With either set, every
//! mutation (any method but GET, HEAD and OPTIONS) needs `Authorization: Bearer <token>` of a
//! role that may do it (else 403 naming the role it needs); with `protect_reads`, reads need a
//! token too. Health checks stay open for probes. Without tokens the API is open: keep it on
//! loopback.
//!
//! The identity that passed is put in the request's extensions ([`Caller`]) for handlers to
//! record (a run's `launched_by`, the audit log).
//!
//! Wrong tokens are throttled per client address and overall (`throttle.rs`).
//!
//! This middleware guards `/api/` only; the HTML pages' login form, session cookie and CSRF
//! tokens are `ui/guard.rs`.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::origin::AllowedOrigins;
use crate::roles::{Identity, Role, required_role};
use crate::sso::{ProxyAuth, ProxyRefusal};
use crate::throttle::{LoginLimits, Throttle, client_of};
use crate::tokens::TokensFile;

/// The identity of the single token `ORCH_AUTH_TOKEN`.
pub const ADMIN_TOKEN_NAME: &str = "admin";

/// The API's secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct AuthToken(Arc<str>);

impl AuthToken {
    /// A token; `None` for an empty one (an empty secret would let anyone in).
    pub fn new(secret: &str) -> Option<Self> {
        let secret = secret.trim();
        (!secret.is_empty()).then(|| Self(secret.into()))
    }

    /// The secret itself, to derive the session key from (`ui/session.rs`).
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the strings differ.
    pub(crate) fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(****)")
    }
}

/// Who may do what.
#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    /// The single admin token; with `tokens` also `None`: no authentication.
    pub token: Option<AuthToken>,
    /// Named tokens with roles (`ORCH_AUTH_TOKENS_FILE`).
    pub tokens: Option<Arc<TokensFile>>,
    /// Single sign-on through a trusted proxy's headers (`sso.rs`).
    pub proxy: Option<Arc<ProxyAuth>>,
    /// Reads need the token too.
    pub protect_reads: bool,
    /// Origins besides the server's own whose pages may send mutations (`origin.rs`).
    pub allowed_origins: AllowedOrigins,
    /// How many wrong tokens (login form or bearer) are answered before 429 (`throttle.rs`).
    pub login_limits: LoginLimits,
}

impl AuthPolicy {
    /// Whether requests are authenticated at all.
    pub fn auth_on(&self) -> bool {
        self.token.is_some() || self.tokens.is_some() || self.proxy.is_some()
    }

    /// Who the trusted proxy says sent the request (`None` without SSO or its user header).
    pub fn from_proxy(
        &self,
        headers: &axum::http::HeaderMap,
        peer: std::net::IpAddr,
    ) -> Result<Option<Identity>, ProxyRefusal> {
        match &self.proxy {
            Some(proxy) => proxy.identify(headers, peer),
            None => Ok(None),
        }
    }

    /// Who `given` (a bearer token or the login form's) identifies.
    pub fn authenticate(&self, given: &str) -> Option<Identity> {
        let given = given.trim();
        if self.token.as_ref().is_some_and(|t| t.matches(given)) {
            return Some(admin());
        }
        self.tokens.as_ref().and_then(|t| t.authenticate(given))
    }

    /// The identity named `name` now (a session's owner), if it still exists.
    pub fn named(&self, name: &str) -> Option<Identity> {
        if name == ADMIN_TOKEN_NAME && self.token.is_some() {
            return Some(admin());
        }
        self.tokens.as_ref().and_then(|t| t.named(name))
    }
}

fn admin() -> Identity {
    Identity {
        name: ADMIN_TOKEN_NAME.to_owned(),
        role: Role::Admin,
    }
}

/// Who sent a request, for handlers: `None` when the server has no authentication (or the
/// request is an open read).
#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<Identity>);

impl Caller {
    /// What a run launched by this caller records as `launched_by`.
    pub fn launched_by(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(|| ANONYMOUS.to_owned(), |i| i.name.clone())
    }
}

/// `launched_by` of a run launched through a server without authentication.
pub const ANONYMOUS: &str = "anonymous";

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Identity>().cloned()))
    }
}

/// The 403 of an identity below the role a request needs.
pub fn below_role(identity: &Identity, needed: Role) -> String {
    format!(
        "this needs the {needed} role; `{}` is {} {}",
        identity.name,
        if identity.role == Role::Viewer {
            "a"
        } else {
            "an"
        },
        identity.role
    )
}

/// The API middleware's state: the policy and the wrong-token counters it shares with the
/// login form.
#[derive(Debug, Clone)]
pub struct TokenCheck {
    pub policy: AuthPolicy,
    pub throttle: Arc<Throttle>,
}

/// The middleware: refuses a request the policy does not let through with 401 and
/// `WWW-Authenticate: Bearer`; a client that sent too many wrong tokens gets 429 with
/// `Retry-After`, whatever it sends.
pub async fn require_token(
    State(check): State<TokenCheck>,
    mut request: Request,
    next: Next,
) -> Response {
    let policy = &check.policy;
    // Pages have their own check (session cookie, CSRF): `ui/guard.rs`. Probes and Prometheus
    // scrapes (`/healthz`, `/readyz`, `/metrics`) stay open, like a kubelet's and a scraper's.
    let path = request.uri().path();
    if !policy.auth_on() || !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let needed = required_role(request.method(), path);
    let client = client_of(&request);
    match policy.from_proxy(request.headers(), client) {
        Err(refused) => {
            tracing::warn!(%client, %refused, "proxy identity headers refused");
            return ApiError::Forbidden(refused.to_string()).into_response();
        }
        Ok(Some(identity)) => {
            if !identity.may(needed) {
                return ApiError::Forbidden(below_role(&identity, needed)).into_response();
            }
            request.extensions_mut().insert(identity);
            return next.run(request).await;
        }
        Ok(None) => {}
    }
    if needed == Role::Viewer && !policy.protect_reads {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return unauthorized("this server needs `Authorization: Bearer <token>`");
    };
    if let Err(throttled) = check.throttle.admit(client) {
        return too_many(throttled);
    }
    if let Some(identity) = policy.authenticate(given) {
        if !identity.may(needed) {
            return ApiError::Forbidden(below_role(&identity, needed)).into_response();
        }
        request.extensions_mut().insert(identity);
        return next.run(request).await;
    }
    tracing::warn!(%client, "a request with a wrong bearer token was refused");
    match check.throttle.failed(client) {
        Ok(()) => unauthorized("the bearer token is not one this server knows"),
        Err(throttled) => too_many(throttled),
    }
}

fn too_many(throttled: crate::throttle::Throttled) -> Response {
    let message = format!(
        "too many wrong tokens from this address; try again in {} s",
        throttled.retry_after_secs()
    );
    throttled.stamp(ApiError::TooManyRequests(message).into_response())
}

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::Unauthorized(message.to_owned()).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::AuthToken;

    #[test]
    fn tokens_compare_exactly_and_never_print() {
        let token = AuthToken::new(" s3cret \n").unwrap();
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches("s3cret2"));
        assert!(!token.matches(""));
        assert!(AuthToken::new("  ").is_none());
        assert_eq!(format!("{token:?}"), "AuthToken(****)");
    }
}
