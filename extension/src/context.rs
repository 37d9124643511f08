//! [`Context`]: what orch hands an extension's hooks — the extension's settings, orch's home
//! directory and [`ObjectStores`], which opens buckets with orch's S3 settings (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `ORCH_S3_FORCE_PATH_STYLE`) or directories under `ORCH_HOME`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use orchestrator::definitions::ObjectStore;
use worker::object_store::{LocalStore, S3Settings, S3Store};

/// What a hook of an [`Extension`](crate::Extension) can use.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a, S> {
    /// The extension's own settings, parsed from flags and the environment.
    pub settings: &'a S,
    /// orch's home directory (`ORCH_HOME`).
    pub orch_home: &'a Path,
    /// Object stores with orch's S3 settings.
    pub stores: &'a ObjectStores,
}

/// How orch reaches S3: the same for every bucket it opens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Connection {
    /// `AWS_REGION`; unset, the AWS SDK's usual resolution.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL`: an S3-compatible endpoint such as MinIO.
    pub endpoint: Option<String>,
    /// Path-style addressing (`ORCH_S3_FORCE_PATH_STYLE`, on by default with an endpoint).
    pub force_path_style: bool,
}

/// Opens object stores: S3 buckets through one [`S3Connection`] (standard AWS credential
/// chain), or directories under orch's home.
#[derive(Debug, Clone)]
pub struct ObjectStores {
    orch_home: PathBuf,
    s3: S3Connection,
}

impl ObjectStores {
    pub fn new(orch_home: impl Into<PathBuf>, s3: S3Connection) -> Self {
        Self {
            orch_home: orch_home.into(),
            s3,
        }
    }

    /// The bucket `bucket`, every key under `prefix` (empty: the bucket's root).
    pub async fn s3(&self, bucket: &str, prefix: &str) -> S3Store {
        S3Store::connect(&S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            region: self.s3.region.clone(),
            endpoint: self.s3.endpoint.clone(),
            force_path_style: self.s3.force_path_style,
        })
        .await
    }

    /// The directory `ORCH_HOME/<dir>`.
    pub fn local(&self, dir: &str) -> LocalStore {
        LocalStore::new(self.orch_home.join(dir))
    }

    /// The root of `bucket` when it is set and not empty, else `ORCH_HOME/<dir>`: how a
    /// setting such as `S3_BUCKET_NAME` (unset on a laptop) picks its store.
    pub async fn bucket_or_local(&self, bucket: Option<&str>, dir: &str) -> Arc<dyn ObjectStore> {
        match bucket {
            Some(bucket) if !bucket.is_empty() => Arc::new(self.s3(bucket, "").await),
            _ => Arc::new(self.local(dir)),
        }
    }
}
