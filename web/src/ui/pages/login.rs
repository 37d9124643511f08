//! `GET /login`, `POST /login`, `POST /logout`. The form takes the server's token
//! (`ORCH_AUTH_TOKEN`); the right one sets the signed session cookie (`session.rs`) and sends
//! the browser on to `next` — a path on this site only, never another host. A wrong one is the
//! form again, 401, with no hint of the token. Without a token configured there is nothing to
//! log in to, and the form says so. Wrong tokens are throttled per client address and overall
//! (`throttle.rs`): past the limits every attempt is 429 with `Retry-After`.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Utc;
use serde::Deserialize;

use crate::throttle::{ClientAddr, Throttled};
use crate::ui::guard::{BrowserAuth, Viewer};
use crate::ui::page::{PageError, PageQuery};
use crate::ui::paths::local_path;

#[derive(Debug, Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    viewer: Viewer,
    next: String,
    error: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn form(viewer: Viewer, PageQuery(query): PageQuery<NextQuery>) -> LoginPage {
    let next = query.next;
    LoginPage {
        viewer,
        next: local_path(next.as_deref()).to_owned(),
        error: None,
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

pub async fn submit(
    Extension(auth): Extension<Arc<BrowserAuth>>,
    client: ClientAddr,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = local_path(form.next.as_deref()).to_owned();
    if !auth.policy.auth_on() {
        return Ok(Redirect::to(&next).into_response());
    }
    let throttled = |throttled: Throttled, viewer: Viewer, next: String| {
        let page = LoginPage {
            viewer,
            next,
            error: Some("Too many wrong tokens from this address. Wait a little and try again."),
        };
        Ok(throttled.stamp((StatusCode::TOO_MANY_REQUESTS, page).into_response()))
    };
    if let Err(t) = auth.throttle.admit(client.0) {
        return throttled(t, viewer, next);
    }
    let Some(identity) = auth.policy.authenticate(&form.token) else {
        tracing::warn!(client = %client.0, "a login with a wrong token was refused");
        if let Err(t) = auth.throttle.failed(client.0) {
            return throttled(t, viewer, next);
        }
        let page = LoginPage {
            viewer,
            next,
            error: Some("That is not this server's token."),
        };
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let session = auth
        .keys
        .create_user(&identity.name, Utc::now())
        .map_err(|e| PageError::internal(e.to_string()))?;
    let cookie = auth.cookie(Some(&session), &headers);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

/// `POST /logout`: forgets the cookie (a signed cookie cannot be revoked before its expiry;
/// changing the token revokes them all).
pub async fn logout(Extension(auth): Extension<Arc<BrowserAuth>>, headers: HeaderMap) -> Response {
    let cookie = auth.cookie(None, &headers);
    let to = if auth.policy.auth_on() { "/login" } else { "/" };
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}
