//! Weather products: the JSON Lines objects `weather_product_job` writes, and how they are read
//! back. The key layout lives here, shared by the pipeline that writes the objects and the
//! readers (`/api/v1/products` and `orch products`, in `crate::seeds::products`), so they cannot
//! drift apart.
//!
//! Keys are `weather-products/YYYY/MM/DD/HHMMSS.jsonl` (UTC): key order is time order, so the
//! latest product is the greatest key, whatever the store reports as modification times.

use chrono::{DateTime, Utc};

use orchestrator::definitions::{ObjectInfo, ObjectStore, ObjectStoreError};

/// Every product key starts with this.
pub const PRODUCTS_PREFIX: &str = "weather-products/";

/// The key of a product written at `at`.
pub fn product_key(at: DateTime<Utc>) -> String {
    at.format("weather-products/%Y/%m/%d/%H%M%S.jsonl")
        .to_string()
}

/// A key a client may ask for: under [`PRODUCTS_PREFIX`], no empty, `.` or `..` segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductKey(String);

impl ProductKey {
    pub fn parse(raw: &str) -> Result<Self, ProductError> {
        let refuse = || ProductError::NotAProductKey(raw.to_owned());
        let rest = raw.strip_prefix(PRODUCTS_PREFIX).ok_or_else(refuse)?;
        let segments_ok = rest
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
        if rest.is_empty() || !segments_ok || raw.len() > 1024 {
            return Err(refuse());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProductKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a product cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("'{0}' is not a product key (keys look like {PRODUCTS_PREFIX}YYYY/MM/DD/HHMMSS.jsonl)")]
    NotAProductKey(String),
    #[error("product '{0}' not found")]
    NotFound(String),
    #[error("there are no products yet under {0}")]
    NoProducts(String),
    #[error(transparent)]
    Store(ObjectStoreError),
}

/// Every product in `store`, newest first.
pub async fn list_products(store: &dyn ObjectStore) -> Result<Vec<ObjectInfo>, ProductError> {
    let mut products = store
        .list(PRODUCTS_PREFIX)
        .await
        .map_err(ProductError::Store)?;
    products.sort_by(|a, b| b.key.cmp(&a.key));
    Ok(products)
}

/// The body of product `key`.
pub async fn read_product(
    store: &dyn ObjectStore,
    key: &ProductKey,
) -> Result<Vec<u8>, ProductError> {
    store.get(key.as_str()).await.map_err(|e| match e {
        ObjectStoreError::NotFound(_) => ProductError::NotFound(key.to_string()),
        other => ProductError::Store(other),
    })
}

/// The newest of `products` (as [`list_products`] orders them), or the error saying where
/// there are none.
pub fn latest<'a>(
    products: &'a [ObjectInfo],
    store: &dyn ObjectStore,
) -> Result<&'a ObjectInfo, ProductError> {
    products
        .iter()
        .max_by(|a, b| a.key.cmp(&b.key))
        .ok_or_else(|| ProductError::NoProducts(store.uri_of(PRODUCTS_PREFIX)))
}

/// The records of a JSON Lines body: one per non-blank line.
pub fn count_records(body: &[u8]) -> usize {
    body.split(|b| *b == b'\n')
        .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
        .count()
}

/// The bastion's summary of a product set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSummary {
    pub files: usize,
    pub total_bytes: u64,
    /// The newest product.
    pub latest: Option<ObjectInfo>,
    /// Records (JSON lines) across all products.
    pub total_records: usize,
}

impl ProductSummary {
    /// The summary of `products` whose bodies hold `records[i]` records each.
    pub fn of(products: &[ObjectInfo], records: &[usize]) -> Self {
        Self {
            files: products.len(),
            total_bytes: products.iter().map(|p| p.size_bytes).sum(),
            latest: products.iter().max_by(|a, b| a.key.cmp(&b.key)).cloned(),
            total_records: records.iter().sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn key_layout_is_utc_date_then_time() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
        assert_eq!(product_key(at), "weather-products/2026/03/04/050607.jsonl");
        assert!(ProductKey::parse(&product_key(at)).is_ok());
    }

    #[test]
    fn only_keys_under_the_prefix_parse() {
        for bad in [
            "",
            "weather-products/",
            "data_20260101_000000.json",
            "weather-products/../secret",
            "weather-products/2026//x.jsonl",
            "weather-products/./x",
            "other/weather-products/x.jsonl",
        ] {
            let e = ProductKey::parse(bad).unwrap_err();
            assert_eq!(e, ProductError::NotAProductKey(bad.to_owned()), "{bad}");
        }
    }

    #[test]
    fn records_are_non_blank_lines() {
        assert_eq!(count_records(b""), 0);
        assert_eq!(count_records(b"{}\n{}\n"), 2);
        assert_eq!(count_records(b"{}\n\n  \n{}"), 2);
    }

    #[test]
    fn summary_sums_sizes_and_records_and_finds_the_newest() {
        let info = |key: &str, size| ObjectInfo {
            key: key.to_owned(),
            size_bytes: size,
            last_modified: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        };
        let products = [
            info("weather-products/2026/01/01/000000.jsonl", 10),
            info("weather-products/2026/01/02/060000.jsonl", 20),
            info("weather-products/2025/12/31/180000.jsonl", 5),
        ];
        let s = ProductSummary::of(&products, &[2, 2, 1]);
        assert_eq!(s.files, 3);
        assert_eq!(s.total_bytes, 35);
        assert_eq!(s.total_records, 5);
        assert_eq!(
            s.latest.map(|l| l.key),
            Some("weather-products/2026/01/02/060000.jsonl".to_owned())
        );
        assert_eq!(ProductSummary::of(&[], &[]).latest, None);
    }
}
