//! Objects as files under a root directory. Writes go to a temporary file first and are renamed
//! into place, so a reader never sees half an object.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use orchestrator::definitions::{ObjectStore, ObjectStoreError, StoredObject};

/// A directory used as an object store.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// `root` is made absolute so reported URIs are paths a user can open from anywhere.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = std::path::absolute(&root).unwrap_or(root);
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, ObjectStoreError> {
        let relative = Path::new(key);
        let safe = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if key.is_empty() || !safe {
            return Err(ObjectStoreError::Permanent(format!(
                "'{key}' is not a valid object key (no absolute paths or '..')"
            )));
        }
        Ok(self.root.join(relative))
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
    ) -> Result<StoredObject, ObjectStoreError> {
        let path = self.path_of(key)?;
        let size_bytes = body.len() as u64;
        // One blocking task for the directory, the write and the rename: each tokio::fs call
        // would be a thread hand-off of its own.
        let written = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&written, &body))
            .await
            .map_err(|e| ObjectStoreError::Permanent(format!("writing {}: {e}", path.display())))?
            .map_err(|e| {
                ObjectStoreError::Permanent(format!("cannot write {}: {e}", path.display()))
            })?;
        Ok(StoredObject {
            uri: path.display().to_string(),
            size_bytes,
        })
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(body) => Ok(body),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectStoreError::NotFound(path.display().to_string()))
            }
            Err(e) => Err(ObjectStoreError::Permanent(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    fn uri_of(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }
}

/// Writes `body` to a temporary file beside `path` and renames it into place. The directory is
/// created only when the first write finds it missing: a `mkdir` per object is a measurable
/// cost on slow disks.
fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    match std::fs::write(&tmp, body) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&tmp, body)?;
        }
        other => other?,
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_then_get_and_refuse_escaping_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let stored = store
            .put("a/b.json", b"{}".to_vec(), "application/json")
            .await
            .unwrap();
        assert_eq!(stored.size_bytes, 2);
        assert_eq!(
            stored.uri,
            dir.path().join("a/b.json").display().to_string()
        );
        assert_eq!(store.get("a/b.json").await.unwrap(), b"{}");
        assert!(matches!(
            store.get("missing").await,
            Err(ObjectStoreError::NotFound(_))
        ));
        for bad in ["../x", "/etc/passwd", ""] {
            assert!(store.put(bad, vec![], "x").await.is_err(), "{bad}");
        }
    }
}
