//! Where assets put objects and the IO manager persists step outputs: an interface with a local
//! directory and an S3 implementation (in the `worker` crate).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// An object put in a store, with where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// `s3://bucket/key` or an absolute file path.
    pub uri: String,
    pub size_bytes: u64,
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key, as `get` takes it.
    pub key: String,
    pub size_bytes: u64,
    pub last_modified: DateTime<Utc>,
}

/// Why a store operation failed. The message names the bucket or path and the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
    #[error("object '{0}' not found")]
    NotFound(String),
}

impl ObjectStoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// A flat key space of objects.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<StoredObject, ObjectStoreError>;

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError>;

    /// The URI `put` would report for `key`, without touching the store.
    fn uri_of(&self, key: &str) -> String;

    /// Every object whose key starts with `prefix`, in key order. The default refuses, so a
    /// store that cannot list (or a wrapper that does not forward) says so instead of
    /// answering an empty list.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        Err(ObjectStoreError::Permanent(format!(
            "{} cannot list objects (prefix '{prefix}')",
            self.uri_of("")
        )))
    }
}
