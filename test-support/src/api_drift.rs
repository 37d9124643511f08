//! Drift between a router and its OpenAPI document: the operations (method and path) one has
//! and the other lacks.
//!
//! axum has no public way to list a router's routes, but its `Debug` output names every path
//! (`RouteId(n): "/path"`) and, per route, the methods it answers (`allow_header:
//! Bytes(b"GET,HEAD")`). [`served_operations`] reads that. If axum changes the format, it finds
//! no route and says so, so a drift test fails loudly rather than passing on nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// An operation: `METHOD /path`, with axum's catch-all `{*name}` written `{name}` as OpenAPI does.
pub type Operation = String;

/// What the two sides disagree on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Served by the router, missing from the document.
    pub undocumented: Vec<Operation>,
    /// In the document, not served by the router.
    pub unserved: Vec<Operation>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.undocumented.is_empty() && self.unserved.is_empty()
    }
}

/// The operations of `router_debug` (a router's `{:?}`) under `prefix` against those of
/// `document` (an OpenAPI document as JSON). HEAD, which axum answers for every GET, is left out.
pub fn drift(router_debug: &str, prefix: &str, document: &Value) -> Result<Drift, String> {
    let served: BTreeSet<Operation> = served_operations(router_debug)?
        .into_iter()
        .filter(|op| {
            op.split_once(' ')
                .is_some_and(|(_, path)| path.starts_with(prefix))
        })
        .collect();
    let documented = documented_operations(document)?;
    Ok(Drift {
        undocumented: served.difference(&documented).cloned().collect(),
        unserved: documented.difference(&served).cloned().collect(),
    })
}

/// Every `METHOD /path` of the router's own routes (not its fallbacks).
pub fn served_operations(router_debug: &str) -> Result<BTreeSet<Operation>, String> {
    // The fallback router comes after the path router and lists catch-alls only.
    let routes = router_debug
        .split("fallback_router:")
        .next()
        .unwrap_or_default();
    let (endpoints, paths) = routes
        .split_once("node: Node { paths: {")
        .ok_or("the router's Debug output has no `node: Node { paths:` (did axum change it?)")?;
    let mut path_of: BTreeMap<&str, String> = BTreeMap::new();
    for entry in paths.split("RouteId(").skip(1) {
        let (id, rest) = entry
            .split_once("): \"")
            .ok_or("a path entry without a path")?;
        let (path, _) = rest
            .split_once('"')
            .ok_or("a path without its closing quote")?;
        path_of.insert(id, path.replace("{*", "{"));
    }
    let mut operations = BTreeSet::new();
    for entry in endpoints.split("RouteId(").skip(1) {
        let (id, rest) = entry
            .split_once("): ")
            .ok_or("a route entry without an endpoint")?;
        let path = path_of
            .get(id)
            .ok_or_else(|| format!("route {id} has no path"))?;
        let methods = rest
            .split_once("allow_header: Bytes(b\"")
            .and_then(|(_, m)| m.split_once('"'))
            .map(|(methods, _)| methods)
            // A service mounted with `route_service` answers every method.
            .unwrap_or("ANY");
        for method in methods.split(',').filter(|m| *m != "HEAD") {
            operations.insert(format!("{method} {path}"));
        }
    }
    if operations.is_empty() {
        return Err("no route found in the router's Debug output (did axum change it?)".into());
    }
    Ok(operations)
}

/// Every `METHOD /path` of an OpenAPI document.
pub fn documented_operations(document: &Value) -> Result<BTreeSet<Operation>, String> {
    let paths = document["paths"]
        .as_object()
        .ok_or("the document has no `paths`")?;
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        let item = item
            .as_object()
            .ok_or_else(|| format!("{path} is not an object"))?;
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.contains_key(method) {
                operations.insert(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    Ok(operations)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBUG: &str = r#"Router { path_router: PathRouter { routes: {RouteId(2): MethodRouter(MethodRouter { get: Route, head: None, post: Route, allow_header: Bytes(b"GET,HEAD,POST") }), RouteId(1): MethodRouter(MethodRouter { get: Route, allow_header: Bytes(b"GET,HEAD") }), RouteId(3): Route(Route)}, node: Node { paths: {RouteId(1): "/api/v1/assets/{*key}", RouteId(2): "/api/v1/reload", RouteId(3): "/api/v1/raw"} } }, fallback_router: PathRouter { routes: {RouteId(1): MethodRouter(MethodRouter { allow_header: Skip })}, node: Node { paths: {RouteId(1): "/{*__private__axum_fallback}"} } } }"#;

    #[test]
    fn reads_paths_and_methods_from_the_debug_output() {
        let ops = served_operations(DEBUG).unwrap();
        let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
        assert_eq!(
            ops,
            [
                "ANY /api/v1/raw",
                "GET /api/v1/assets/{key}",
                "GET /api/v1/reload",
                "POST /api/v1/reload"
            ]
        );
    }

    #[test]
    fn an_unknown_format_is_an_error_not_an_empty_list() {
        assert!(served_operations("Router { something_else }").is_err());
        assert!(served_operations("node: Node { paths: {} }").is_err());
    }

    #[test]
    fn reports_both_directions() {
        let document = serde_json::json!({ "paths": {
            "/api/v1/reload": { "get": {} },
            "/api/v1/assets/{key}": { "get": {} },
            "/api/v1/gone": { "delete": {} },
        }});
        let drift = drift(DEBUG, "/api/v1", &document).unwrap();
        assert_eq!(
            drift.undocumented,
            ["ANY /api/v1/raw", "POST /api/v1/reload"]
        );
        assert_eq!(drift.unserved, ["DELETE /api/v1/gone"]);
    }
}
