//! `/api/v1/products`: the weather products (`weather-products/YYYY/MM/DD/HHMMSS.jsonl` in
//! `WEATHER_RESULTS_BUCKET`, or the local objects directory) read back: the listing, the latest
//! product and one product by key, through the TTL cache of `cache.rs`. The key layout and the
//! reading rules are `crate::weather::products`'s; this module only speaks HTTP, with the API's
//! error shape and extractors from `web`. The seeds' extension serves [`routes`] under
//! `/api/v1` (`orch_extension::Extension::api_routes`), each handler documented by its
//! `#[utoipa::path]`, so the products are in orch's OpenAPI document too.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use orch_extension::ApiRoutes;
use orchestrator::definitions::{ObjectInfo, ObjectStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;
use web::{ApiError, ApiQuery, ErrorJson, page_size};

use super::cache::ProductsCache;
pub use super::cache::{CACHE_METRIC, CacheStats, DEFAULT_TTL};
use crate::weather::products::{self as catalog, ProductError, ProductKey};

/// `/products`, `/products/latest` and `/products/{key}` over `products`, to be served under
/// `/api/v1`.
pub fn routes(products: Arc<Products>) -> ApiRoutes {
    utoipa_axum::router::OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(latest))
        .routes(routes!(get_one))
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

    /// The product `key` with its records.
    async fn product(
        &self,
        key: &ProductKey,
        info: Option<&ObjectInfo>,
    ) -> Result<ProductJson, ApiError> {
        let body = self.body(key).await?;
        let records = parse_records(key, &body)?;
        Ok(ProductJson {
            key: key.as_str().to_owned(),
            size_bytes: body.len() as u64,
            last_modified: info.map(|i| i.last_modified),
            records,
        })
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

/// One product with its records (`records`: the JSON Lines of the object, one value each).
#[derive(Debug, Serialize, ToSchema)]
struct ProductJson {
    /// `weather-products/YYYY/MM/DD/HHMMSS.jsonl`.
    key: String,
    size_bytes: u64,
    /// When it was written; `null` when asked by key and not listed (yet).
    #[schema(value_type = Option<String>, format = DateTime)]
    last_modified: Option<DateTime<Utc>>,
    records: Vec<Value>,
}

/// A product as listed.
#[derive(Debug, Serialize, ToSchema)]
struct ProductInfoJson {
    key: String,
    size_bytes: u64,
    #[schema(value_type = String, format = DateTime)]
    last_modified: DateTime<Utc>,
}

/// A page of products, newest first.
#[derive(Debug, Serialize, ToSchema)]
struct ProductsPage {
    products: Vec<ProductInfoJson>,
    /// Pass as `before` for the next page; `null` on the last one.
    next: Option<String>,
}

/// Query of `GET /products`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Products with keys below this (the `next` of the previous page).
    before: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The weather products, newest first, a page at a time.
#[utoipa::path(get, path = "/products", operation_id = "list_products", tag = "products", params(ListQuery),
    responses(
        (status = 200, description = "A page of products", body = ProductsPage),
        (status = 400, description = "A malformed query", body = ErrorJson),
        (status = 500, description = "The object store failed", body = ErrorJson),
    ))]
async fn list(
    State(products): State<Arc<Products>>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ProductsPage>, ApiError> {
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
    let items: Vec<ProductInfoJson> = page
        .iter()
        .map(|p| ProductInfoJson {
            key: p.key.clone(),
            size_bytes: p.size_bytes,
            last_modified: p.last_modified,
        })
        .collect();
    Ok(Json(ProductsPage {
        products: items,
        next,
    }))
}

/// The newest product with its records.
#[utoipa::path(get, path = "/products/latest", operation_id = "get_latest_product", tag = "products",
    responses(
        (status = 200, description = "The newest product", body = ProductJson),
        (status = 404, description = "There is no product yet", body = ErrorJson),
        (status = 500, description = "The object store failed, or the product is not JSON Lines", body = ErrorJson),
    ))]
async fn latest(State(products): State<Arc<Products>>) -> Result<Json<ProductJson>, ApiError> {
    let listing = products.listing().await?;
    let newest =
        catalog::latest(&listing, products.store.as_ref()).map_err(|e| products.error(e))?;
    let key = ProductKey::parse(&newest.key).map_err(|e| products.error(e))?;
    Ok(Json(products.product(&key, Some(newest)).await?))
}

/// One product with its records.
#[utoipa::path(get, path = "/products/{*key}", operation_id = "get_product", tag = "products",
    params(("key" = String, Path, description = "The product's key, `weather-products/YYYY/MM/DD/HHMMSS.jsonl`")),
    responses(
        (status = 200, description = "The product", body = ProductJson),
        (status = 404, description = "Not a product key, or no such product", body = ErrorJson),
        (status = 500, description = "The object store failed, or the product is not JSON Lines", body = ErrorJson),
    ))]
async fn get_one(
    State(products): State<Arc<Products>>,
    Path(raw): Path<String>,
) -> Result<Json<ProductJson>, ApiError> {
    let key = ProductKey::parse(&raw).map_err(|e| products.error(e))?;
    let listing = products.listing().await?;
    let info = listing.iter().find(|p| p.key == key.as_str());
    Ok(Json(products.product(&key, info).await?))
}
