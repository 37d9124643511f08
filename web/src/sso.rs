//! Single sign-on behind a trusted proxy (oauth2-proxy, an ingress with OIDC): the proxy
//! authenticates the user and passes who they are in headers (names configurable, e.g.
//! `X-Forwarded-Email` and `X-Forwarded-Groups`); their groups map to roles (`[auth.roles]` of
//! orch.toml). The headers are believed only from a peer in `ORCH_TRUSTED_PROXIES`: from any
//! other address a request carrying the user header is refused (403), so a client cannot claim
//! to be someone by sending the header itself. A user whose groups (none when the groups
//! header is missing) map to no role is refused too (403 naming the user).

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use crate::roles::{Identity, Role};

/// How the proxy's headers are read.
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    pub user_header: HeaderName,
    /// `None`: the proxy sends no groups, so only the `*` mapping can give a role.
    pub groups_header: Option<HeaderName>,
    /// The proxies' addresses.
    pub trusted: Vec<IpNet>,
    /// Group → role; the group `*` applies to every signed-in user.
    pub roles: BTreeMap<String, Role>,
}

/// Why proxy settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyConfigError {
    #[error("`{0}` is not a header name")]
    Header(String),
    #[error("ORCH_TRUSTED_PROXIES: `{0}` is neither a CIDR (10.0.0.0/8) nor an address")]
    Cidr(String),
    #[error(
        "ORCH_AUTH_PROXY_USER_HEADER is set but ORCH_TRUSTED_PROXIES is empty: every request would be refused"
    )]
    NoProxies,
    #[error("[auth.roles] group `{group}`: {source}")]
    Role {
        group: String,
        source: crate::roles::UnknownRole,
    },
}

/// Why a request's proxy headers are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyRefusal {
    #[error("identity headers are accepted only from a trusted proxy; {0} is not one")]
    Untrusted(IpAddr),
    #[error("`{0}` signed in through the proxy, but none of their groups has a role here")]
    NoRole(String),
    #[error("the proxy's user header is not valid text")]
    BadHeader,
}

impl ProxyAuth {
    /// Settings from their raw forms: header names, comma-separated CIDRs (a bare address is
    /// one host) and the group → role names of `[auth.roles]`.
    pub fn parse(
        user_header: &str,
        groups_header: Option<&str>,
        trusted: &str,
        roles: &BTreeMap<String, String>,
    ) -> Result<Self, ProxyConfigError> {
        let header = |raw: &str| {
            HeaderName::from_bytes(raw.trim().as_bytes())
                .map_err(|_| ProxyConfigError::Header(raw.to_owned()))
        };
        let trusted = trusted
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|raw| {
                raw.parse::<IpNet>()
                    .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ProxyConfigError::Cidr(raw.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if trusted.is_empty() {
            return Err(ProxyConfigError::NoProxies);
        }
        let roles = roles
            .iter()
            .map(|(group, role)| {
                role.parse::<Role>()
                    .map(|r| (group.clone(), r))
                    .map_err(|source| ProxyConfigError::Role {
                        group: group.clone(),
                        source,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            user_header: header(user_header)?,
            groups_header: groups_header
                .filter(|h| !h.trim().is_empty())
                .map(header)
                .transpose()?,
            trusted,
            roles,
        })
    }

    /// Who the proxy says sent the request: `Ok(None)` without the user header (the request
    /// may still carry a token), an identity `sso:<user>` with the best role of their groups,
    /// or a refusal.
    pub fn identify(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Result<Option<Identity>, ProxyRefusal> {
        let Some(user) = headers.get(&self.user_header) else {
            return Ok(None);
        };
        // An IPv4 peer may come as an IPv4-mapped IPv6 address on a dual-stack socket.
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        if !self.trusted.iter().any(|net| net.contains(&peer)) {
            return Err(ProxyRefusal::Untrusted(peer));
        }
        let user = user
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or(ProxyRefusal::BadHeader)?;
        let groups = self
            .groups_header
            .as_ref()
            .map(|h| {
                headers
                    .get_all(h)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let role = groups
            .iter()
            .copied()
            .chain(["*"])
            .filter_map(|g| self.roles.get(g).copied())
            .max()
            .ok_or_else(|| ProxyRefusal::NoRole(user.to_owned()))?;
        Ok(Some(Identity {
            name: orchestrator::domain::launched_by::sso(user),
            role,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> ProxyAuth {
        let roles = [
            ("data-eng", "operator"),
            ("platform", "admin"),
            ("staff", "viewer"),
        ]
        .into_iter()
        .map(|(g, r)| (g.to_owned(), r.to_owned()))
        .collect();
        ProxyAuth::parse(
            "X-Forwarded-Email",
            Some("X-Forwarded-Groups"),
            "127.0.0.1/32, 10.0.0.0/8",
            &roles,
        )
        .unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn groups_map_to_the_best_role_only_from_trusted_peers() {
        let p = proxy();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let ann = headers(&[
            ("x-forwarded-email", "ann@example.com"),
            ("x-forwarded-groups", "staff, data-eng"),
        ]);
        assert_eq!(
            p.identify(&ann, local).unwrap(),
            Some(Identity {
                name: "sso:ann@example.com".into(),
                role: Role::Operator
            })
        );
        assert_eq!(
            p.identify(&ann, "10.1.2.3".parse().unwrap())
                .unwrap()
                .unwrap()
                .role,
            Role::Operator
        );
        assert_eq!(
            p.identify(&ann, "::ffff:127.0.0.1".parse().unwrap())
                .unwrap()
                .unwrap()
                .role,
            Role::Operator
        );
        assert_eq!(
            p.identify(&ann, "127.0.0.2".parse().unwrap()),
            Err(ProxyRefusal::Untrusted("127.0.0.2".parse().unwrap()))
        );
        // No groups header: no role.
        let bob = headers(&[("x-forwarded-email", "bob@example.com")]);
        assert_eq!(
            p.identify(&bob, local),
            Err(ProxyRefusal::NoRole("bob@example.com".into()))
        );
        // No user header: nobody (a token may follow), from anywhere.
        assert_eq!(
            p.identify(&HeaderMap::new(), "192.0.2.1".parse().unwrap()),
            Ok(None)
        );
    }

    #[test]
    fn bad_settings_are_refused_naming_them() {
        let none = BTreeMap::new();
        assert_eq!(
            ProxyAuth::parse("X-User", None, "10.0.0.0/33", &none).unwrap_err(),
            ProxyConfigError::Cidr("10.0.0.0/33".into())
        );
        assert_eq!(
            ProxyAuth::parse("X-User", None, "", &none).unwrap_err(),
            ProxyConfigError::NoProxies
        );
        let bad_role = [("ops".to_owned(), "root".to_owned())].into();
        assert!(
            ProxyAuth::parse("X-User", None, "10.0.0.1", &bad_role)
                .unwrap_err()
                .to_string()
                .starts_with("[auth.roles] group `ops`: unknown role `root`")
        );
        assert!(ProxyAuth::parse("bad header", None, "10.0.0.1", &none).is_err());
    }
}
