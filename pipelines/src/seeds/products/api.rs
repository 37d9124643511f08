//! `/api/v1/products`: the weather products (`weather-products/YYYY/MM/DD/HHMMSS.jsonl` in
//! `WEATHER_RESULTS_BUCKET`, or the local objects directory) read back: the listing, the latest
//! product and one product by key, through the TTL cache of `cache.rs`. The key layout and the
//! reading rules are `crate::weather::products`'s; this module only speaks HTTP, with the API's
//! error shape and extractors from `web`. The seeds' extension serves [`routes`] under
//! `/api/v1` (`orch_extension::Extension::api_routes`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use orchestrator::definitions::{ObjectInfo, ObjectStore};
use serde::Deserialize;
use serde_json::{Value, json};
use web::{ApiError, ApiQuery, page_size};

use super::cache::ProductsCache;
pub use super::cache::{CACHE_METRIC, CacheStats, DEFAULT_TTL};
use crate::weather::products::{self as catalog, ProductError, ProductKey};

/// `/products`, `/products/latest` and `/products/{key}` over `products`, to be served under
/// `/api/v1`.
pub fn routes(products: Arc<Products>) -> Router {
    Router::new()
        .route("/products", get(list))
        .route("/products/latest", get(latest))
        .route("/products/{*key}", get(get_one))
        .with_state(products)
}

/// Where the products are and their cache: the state of [`routes`].
#[derive(Debug)]
pub struct Products {
    store: Arc<dyn ObjectStore>,
    cache: ProductsCache,
}

impl Products {
    /// The products in `store`, cached for `ttl` (zero: not cached).
    pub fn new(store: Arc<dyn ObjectStore>, ttl: Duration) -> Self {
        Self {
            store,
            cache: ProductsCache::new(ttl),
        }
    }

    /// Cache hits and misses so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Every product, newest first, from the cache when it is fresh.
    async fn listing(&self) -> Result<Arc<Vec<ObjectInfo>>, ApiError> {
        if let Some(listing) = self.cache.listing() {
            return Ok(listing);
        }
        let listing = catalog::list_products(self.store.as_ref())
            .await
            .map_err(|e| self.error(e))?;
        Ok(self.cache.store_listing(listing))
    }

    /// The body of `key`, from the cache when it is fresh.
    async fn body(&self, key: &ProductKey) -> Result<Arc<Vec<u8>>, ApiError> {
        if let Some(body) = self.cache.body(key.as_str()) {
            return Ok(body);
        }
        let body = catalog::read_product(self.store.as_ref(), key)
            .await
            .map_err(|e| self.error(e))?;
        Ok(self.cache.store_body(key.as_str(), body))
    }

    /// The product `key` as JSON: `key`, `size_bytes`, `last_modified` (when listed) and its
    /// `records`.
    async fn product(
        &self,
        key: &ProductKey,
        info: Option<&ObjectInfo>,
    ) -> Result<Value, ApiError> {
        let body = self.body(key).await?;
        let records = parse_records(key, &body)?;
        Ok(json!({
            "key": key.as_str(),
            "size_bytes": body.len(),
            "last_modified": info.map(|i| i.last_modified),
            "records": records,
        }))
    }

    fn error(&self, e: ProductError) -> ApiError {
        match e {
            ProductError::NotAProductKey(_)
            | ProductError::NotFound(_)
            | ProductError::NoProducts(_) => ApiError::NotFound(e.to_string()),
            ProductError::Store(e) => ApiError::Internal(format!(
                "reading products in {}: {e}",
                self.store.uri_of(catalog::PRODUCTS_PREFIX)
            )),
        }
    }
}

/// The records of a JSON Lines body; a line that is not JSON is a fault of the store's content.
fn parse_records(key: &ProductKey, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| line.iter().any(|b| !b.is_ascii_whitespace()))
        .map(|(i, line)| {
            serde_json::from_slice(line).map_err(|e| {
                ApiError::Internal(format!("product {key}: line {} is not JSON: {e}", i + 1))
            })
        })
        .collect()
}

/// Query of `GET /products`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Products with keys below this (the `next` of the previous page).
    before: Option<String>,
    limit: Option<u32>,
}

/// `GET /products`: `{"products": [{"key", "size_bytes", "last_modified"}], "next"}`, newest
/// first; pass `next` as `before` for the next page.
async fn list(
    State(products): State<Arc<Products>>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_size(query.limit)? as usize;
    let listing = products.listing().await?;
    let page: Vec<&ObjectInfo> = listing
        .iter()
        .filter(|p| query.before.as_deref().is_none_or(|b| p.key.as_str() < b))
        .take(limit)
        .collect();
    let next = (page.len() == limit)
        .then(|| page.last().map(|p| p.key.clone()))
        .flatten();
    let items: Vec<Value> = page
        .iter()
        .map(|p| json!({ "key": p.key, "size_bytes": p.size_bytes, "last_modified": p.last_modified }))
        .collect();
    Ok(Json(json!({ "products": items, "next": next })))
}

/// `GET /products/latest`: the newest product with its records; 404 when there is none.
async fn latest(State(products): State<Arc<Products>>) -> Result<Json<Value>, ApiError> {
    let listing = products.listing().await?;
    let newest =
        catalog::latest(&listing, products.store.as_ref()).map_err(|e| products.error(e))?;
    let key = ProductKey::parse(&newest.key).map_err(|e| products.error(e))?;
    Ok(Json(products.product(&key, Some(newest)).await?))
}

/// `GET /products/{key}`: one product with its records; 404 for a key that is not a product
/// key or not there.
async fn get_one(
    State(products): State<Arc<Products>>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = ProductKey::parse(&raw).map_err(|e| products.error(e))?;
    let listing = products.listing().await?;
    let info = listing.iter().find(|p| p.key == key.as_str());
    Ok(Json(products.product(&key, info).await?))
}
