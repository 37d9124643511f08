//! Optional authentication of the API by a bearer token (`ORCH_AUTH_TOKEN` or
//! `ORCH_AUTH_TOKEN_FILE`). When a token is set, every mutation (any method but GET, HEAD and
//! OPTIONS) needs `Authorization: Bearer <token>`; with `protect_reads`, reads do too. Health
//! checks stay open for probes. Without a token the API is open: keep it on loopback.
//!
//! Wrong tokens are throttled per client address and overall (`throttle.rs`).
//!
//! This middleware guards `/api/` only; the HTML pages' login form, session cookie and CSRF
//! tokens are `ui/guard.rs`.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::origin::AllowedOrigins;
use crate::throttle::{LoginLimits, Throttle, client_of};

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
    /// `None`: no authentication.
    pub token: Option<AuthToken>,
    /// Reads need the token too.
    pub protect_reads: bool,
    /// Origins besides the server's own whose pages may send mutations (`origin.rs`).
    pub allowed_origins: AllowedOrigins,
    /// How many wrong tokens (login form or bearer) are answered before 429 (`throttle.rs`).
    pub login_limits: LoginLimits,
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
    request: Request,
    next: Next,
) -> Response {
    let policy = &check.policy;
    let Some(token) = &policy.token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    // Pages have their own check (session cookie, CSRF): `ui/guard.rs`. Probes and Prometheus
    // scrapes (`/healthz`, `/readyz`, `/metrics`) stay open, like a kubelet's and a scraper's.
    if !path.starts_with("/api/") {
        return next.run(request).await;
    }
    let is_read = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if is_read && !policy.protect_reads {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return unauthorized("this server needs `Authorization: Bearer <ORCH_AUTH_TOKEN>`");
    };
    let client = client_of(&request);
    if let Err(throttled) = check.throttle.admit(client) {
        return too_many(throttled);
    }
    if token.matches(given.trim()) {
        return next.run(request).await;
    }
    tracing::warn!(%client, "a request with a wrong bearer token was refused");
    match check.throttle.failed(client) {
        Ok(()) => unauthorized("the bearer token is not the one this server expects"),
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
