//! Browser sessions: a signed cookie and the CSRF token tied to it.
//!
//! The cookie is `<id>.<expires>.<kind>.<mac>`: a random session id (hex), its expiry (Unix
//! seconds), `u:<name>` for a user who logged in with the token named `name` (`u` alone, from
//! before named tokens: the admin token) or `a` for an anonymous visitor of a server without
//! auth (who still needs CSRF tokens), and an HMAC-SHA256 over the rest. Nothing is stored
//! server side; the guard looks the name up on every request, so a token removed from the
//! tokens file (or demoted) loses its sessions (or rights) at once. The key is derived from
//! `ORCH_AUTH_TOKEN`, so every web replica sharing the token accepts the others' cookies, and
//! changing the token logs everyone out. Without that token the key is random per process
//! (a restarted server asks for a new login or a reload).
//!
//! The CSRF token of a session is HMAC(key, "csrf:" + id): checkable without storage, useless for
//! any other session.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::auth::AuthToken;

/// The cookie's name.
pub const COOKIE: &str = "orch_session";
/// How long a login lasts.
pub const USER_TTL: Duration = Duration::hours(12);
/// How long an anonymous session (server without auth) lasts.
pub const ANONYMOUS_TTL: Duration = Duration::days(30);

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Logged in with the server's token.
    User,
    /// A visitor of a server without auth.
    Anonymous,
}

impl SessionKind {
    fn code(self) -> &'static str {
        match self {
            Self::User => "u",
            Self::Anonymous => "a",
        }
    }
}

/// A verified (or freshly made) session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    id: String,
    pub kind: SessionKind,
    /// The token's name of a user session; empty for an anonymous one.
    pub user: String,
    pub expires: DateTime<Utc>,
}

/// The signing key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SessionKeys {
    key: hmac::Key,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKeys(****)")
    }
}

/// Why random bytes could not be drawn (the OS refused): no session can be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomFailed;

impl SessionKeys {
    /// Keys derived from `token` (the same on every replica), or random ones without a token.
    pub fn new(token: Option<&AuthToken>) -> Result<Self, RandomFailed> {
        let secret = match token {
            Some(token) => {
                let root = hmac::Key::new(hmac::HMAC_SHA256, token.secret().as_bytes());
                hmac::sign(&root, b"orch web session key v1")
                    .as_ref()
                    .to_vec()
            }
            None => random_bytes::<32>()?.to_vec(),
        };
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
        })
    }

    /// A new session of the user `name` (a token's name: no `.` or `:`).
    pub fn create_user(&self, name: &str, now: DateTime<Utc>) -> Result<Session, RandomFailed> {
        let mut session = self.create(SessionKind::User, now)?;
        session.user = name.to_owned();
        Ok(session)
    }

    /// A new session of `kind` that expires after its TTL.
    pub fn create(&self, kind: SessionKind, now: DateTime<Utc>) -> Result<Session, RandomFailed> {
        let ttl = match kind {
            SessionKind::User => USER_TTL,
            SessionKind::Anonymous => ANONYMOUS_TTL,
        };
        Ok(Session {
            id: hex(&random_bytes::<16>()?),
            kind,
            user: String::new(),
            // Whole seconds: the cookie carries Unix seconds.
            expires: DateTime::from_timestamp((now + ttl).timestamp(), 0).unwrap_or(now + ttl),
        })
    }

    /// The cookie value of `session`.
    pub fn encode(&self, session: &Session) -> String {
        let kind = match session.kind {
            SessionKind::User => format!("u:{}", session.user),
            SessionKind::Anonymous => SessionKind::Anonymous.code().to_owned(),
        };
        let body = format!("{}.{}.{kind}", session.id, session.expires.timestamp());
        let mac = hmac::sign(&self.key, body.as_bytes());
        format!("{body}.{}", hex(mac.as_ref()))
    }

    /// The session a cookie value holds, if it is signed by this key and not expired.
    pub fn decode(&self, value: &str, now: DateTime<Utc>) -> Option<Session> {
        let (body, mac) = value.rsplit_once('.')?;
        hmac::verify(&self.key, body.as_bytes(), &unhex(mac)?).ok()?;
        let mut parts = body.split('.');
        let (id, expires, kind) = (parts.next()?, parts.next()?, parts.next()?);
        let (kind, user) = match kind.split_once(':') {
            None if kind == "u" => (SessionKind::User, crate::auth::ADMIN_TOKEN_NAME),
            None if kind == "a" => (SessionKind::Anonymous, ""),
            Some(("u", user)) if !user.is_empty() => (SessionKind::User, user),
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        let expires = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        (expires > now).then(|| Session {
            id: id.to_owned(),
            kind,
            user: user.to_owned(),
            expires,
        })
    }

    /// The CSRF token forms of `session` carry.
    pub fn csrf_token(&self, session: &Session) -> String {
        hex(hmac::sign(&self.key, csrf_message(session).as_bytes()).as_ref())
    }

    /// Whether `given` is `session`'s CSRF token (compared in constant time).
    pub fn csrf_matches(&self, session: &Session, given: &str) -> bool {
        unhex(given).is_some_and(|tag| {
            hmac::verify(&self.key, csrf_message(session).as_bytes(), &tag).is_ok()
        })
    }
}

fn csrf_message(session: &Session) -> String {
    format!("csrf:{}", session.id)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], RandomFailed> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomFailed)?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(token: &str) -> SessionKeys {
        SessionKeys::new(AuthToken::new(token).as_ref()).unwrap()
    }

    #[test]
    fn replicas_sharing_the_token_accept_each_others_cookies() {
        let now = Utc::now();
        let session = keys("t0ken").create_user("ci-bot", now).unwrap();
        let cookie = keys("t0ken").encode(&session);
        assert_eq!(keys("t0ken").decode(&cookie, now), Some(session.clone()));
        assert_eq!(keys("other").decode(&cookie, now), None);
        let csrf = keys("t0ken").csrf_token(&session);
        assert!(keys("t0ken").csrf_matches(&session, &csrf));
    }

    #[test]
    fn tampered_expired_or_garbled_cookies_are_refused() {
        let keys = keys("t0ken");
        let now = Utc::now();
        let anonymous = keys.create(SessionKind::Anonymous, now).unwrap();
        let cookie = keys.encode(&anonymous);
        // Promote the anonymous session to a user: the MAC no longer matches.
        let forged = cookie.replacen(".a.", ".u.", 1);
        assert_eq!(keys.decode(&forged, now), None);
        assert_eq!(keys.decode(&cookie, now + ANONYMOUS_TTL), None);
        for garbage in ["", ".", "a.b.c.d", "zz", "x.1.u.zz", "é.1.u.00"] {
            assert_eq!(keys.decode(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn a_csrf_token_is_only_good_for_its_session() {
        let keys = keys("t0ken");
        let now = Utc::now();
        let a = keys.create(SessionKind::User, now).unwrap();
        let b = keys.create(SessionKind::User, now).unwrap();
        let token = keys.csrf_token(&a);
        assert!(keys.csrf_matches(&a, &token));
        assert!(!keys.csrf_matches(&b, &token));
        assert!(!keys.csrf_matches(&a, ""));
        assert!(!keys.csrf_matches(&a, &token[..10]));
    }

    #[test]
    fn keys_never_print() {
        assert_eq!(format!("{:?}", keys("secret")), "SessionKeys(****)");
    }
}
