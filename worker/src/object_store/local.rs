//! Objects as files under a root directory. Writes go to a temporary file first and are renamed
//! into place, so a reader never sees half an object.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orchestrator::definitions::{ObjectInfo, ObjectStore, ObjectStoreError, StoredObject};

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

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || list_files(&root, &prefix))
            .await
            .map_err(|e| {
                ObjectStoreError::Permanent(format!("listing {}: {e}", self.root.display()))
            })?
    }
}

/// The files under `root` whose key (path relative to `root`, `/`-separated) starts with
/// `prefix`, by key. The walk starts at the deepest directory the prefix names; temporary files
/// of writes in progress are left out.
fn list_files(root: &Path, prefix: &str) -> Result<Vec<ObjectInfo>, ObjectStoreError> {
    let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
    let start = if dir_part.is_empty() {
        root.to_owned()
    } else {
        root.join(dir_part)
    };
    let mut found = Vec::new();
    let mut pending = vec![start];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ObjectStoreError::Permanent(format!(
                    "cannot list {}: {e}",
                    dir.display()
                )));
            }
        };
        for entry in entries {
            let entry = entry.map_err(|e| {
                ObjectStoreError::Permanent(format!("cannot list {}: {e}", dir.display()))
            })?;
            let path = entry.path();
            let meta = entry.metadata().map_err(|e| {
                ObjectStoreError::Permanent(format!("cannot stat {}: {e}", path.display()))
            })?;
            if meta.is_dir() {
                pending.push(path);
                continue;
            }
            let Some(key) = key_of(root, &path) else {
                continue;
            };
            if !key.starts_with(prefix) || key.contains(".tmp-") {
                continue;
            }
            let last_modified = meta
                .modified()
                .map(DateTime::<Utc>::from)
                .unwrap_or_default();
            found.push(ObjectInfo {
                key,
                size_bytes: meta.len(),
                last_modified,
            });
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

/// The key of the file at `path` under `root`: its relative path with `/` separators.
fn key_of(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    Some(parts?.join("/"))
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

    #[tokio::test]
    async fn list_finds_keys_under_a_prefix_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        for key in [
            "p/2026/02/x.jsonl",
            "p/2026/01/y.jsonl",
            "other.json",
            "pz.json",
        ] {
            store.put(key, b"abc".to_vec(), "x").await.unwrap();
        }
        std::fs::write(dir.path().join("p/2026/01/z.tmp-42"), b"partial").unwrap();
        let listed = store.list("p/").await.unwrap();
        let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["p/2026/01/y.jsonl", "p/2026/02/x.jsonl"]);
        assert!(listed.iter().all(|o| o.size_bytes == 3));
        let age = Utc::now() - listed[0].last_modified;
        assert!(age.num_seconds().abs() < 60, "{age}");
        assert_eq!(
            store.list("p").await.unwrap().len(),
            3,
            "a bare prefix matches pz.json"
        );
        assert!(store.list("nothing/").await.unwrap().is_empty());
    }
}
