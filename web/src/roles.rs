//! Who may do what: the three roles, an authenticated [`Identity`], and the role each request
//! needs ([`required_role`]). Pure: no IO, no HTTP types beyond the method and path.
//!
//! - `viewer`: reads (pages and `GET` endpoints);
//! - `operator`: launch, cancel, re-execute, backfills;
//! - `admin`: everything else that changes state (schedules, sensors, prune, reload, and any
//!   mutation not listed above: the safe default for an endpoint added later).

use std::fmt;
use std::str::FromStr;

use axum::http::Method;

/// A role; ordered, each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; use viewer, operator or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// Someone the server recognised: a named token, or a user signed in through the trusted
/// proxy (`sso:<user>`). `name` is what runs record as `launched_by` and audit records as who.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

impl Identity {
    /// Whether this identity may do what needs `needed`.
    pub fn may(&self, needed: Role) -> bool {
        self.role >= needed
    }
}

/// The role a request needs: reads need `viewer`; launching, canceling and re-executing runs
/// and backfills need `operator`; every other mutation needs `admin`. `path` is the request's
/// path, API (`/api/v1/...`) or page.
pub fn required_role(method: &Method, path: &str) -> Role {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Role::Viewer;
    }
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["jobs", _, "launch"]
        | ["runs", _, "cancel" | "reexecute"]
        | ["backfills", ..]
        | ["jobs", _, "backfills", ..]
        | ["jobs", _, "backfill"] => Role::Operator,
        // Signing out is for anyone signed in.
        ["logout"] => Role::Viewer,
        _ => Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mutation_needs_its_role() {
        let check = |method: Method, path: &str, role: Role| {
            assert_eq!(required_role(&method, path), role, "{method} {path}");
        };
        check(Method::GET, "/api/v1/runs", Role::Viewer);
        check(Method::HEAD, "/runs/x", Role::Viewer);
        check(Method::POST, "/api/v1/jobs/etl/launch", Role::Operator);
        check(Method::POST, "/jobs/etl/launch", Role::Operator);
        check(Method::POST, "/api/v1/runs/abc/cancel", Role::Operator);
        check(Method::POST, "/runs/abc/reexecute", Role::Operator);
        check(Method::POST, "/api/v1/backfills", Role::Operator);
        check(Method::POST, "/api/v1/backfills/b1/cancel", Role::Operator);
        check(Method::POST, "/api/v1/schedules/nightly/on", Role::Admin);
        check(Method::POST, "/sensors/s/off", Role::Admin);
        check(Method::POST, "/api/v1/reload", Role::Admin);
        check(Method::DELETE, "/api/v1/runs", Role::Admin);
        check(Method::POST, "/api/v1/something/new", Role::Admin);
        check(Method::POST, "/logout", Role::Viewer);
        // A launch path with extra segments is not a launch.
        check(Method::POST, "/api/v1/jobs/etl/launch/x", Role::Admin);
    }

    #[test]
    fn roles_include_the_ones_below_and_parse_by_name() {
        let op = Identity {
            name: "ci".into(),
            role: "operator".parse().unwrap(),
        };
        assert!(op.may(Role::Viewer) && op.may(Role::Operator) && !op.may(Role::Admin));
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "unknown role `root`; use viewer, operator or admin"
        );
    }
}
