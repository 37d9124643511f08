//! The seeds' `/api/v1/products` routes served by `web` as an extension's routes
//! (`web::router_with_extensions`), through the router with `oneshot`; `products.rs` came from
//! the web API suite when the products API moved here.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

mod products;
mod support;
