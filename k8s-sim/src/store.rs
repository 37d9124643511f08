//! The object store behind the stand-in API server: Jobs and Pods as JSON, one cluster-wide
//! `resourceVersion` counter (like etcd's revision), and a bounded history of changes so a
//! watch from an older resourceVersion replays what it missed — or gets `410 Expired` when
//! that is no longer kept, as from a compacted etcd.
//!
//! Every change is recorded and broadcast under the same lock, so a watcher that subscribes and
//! reads the history under that lock neither misses nor duplicates an event.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::status::ApiError;

/// The kinds of object served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Job,
    Pod,
}

impl Kind {
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Job => "batch/v1",
            Kind::Pod => "v1",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Job => "Job",
            Kind::Pod => "Pod",
        }
    }

    /// The resource as named in Status errors (`jobs.batch`, `pods`).
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Job => "jobs",
            Kind::Pod => "pods",
        }
    }

    pub fn group(self) -> &'static str {
        match self {
            Kind::Job => "batch",
            Kind::Pod => "",
        }
    }
}

/// One change, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Change {
    pub resource_version: u64,
    pub kind: Kind,
    pub namespace: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub event: &'static str,
    pub object: Value,
}

type Key = (Kind, String, String);

/// What a watch starts from: the kept changes to replay, and a receiver of the next ones.
pub type WatchStart = (Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>);

#[derive(Debug)]
struct Inner {
    revision: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Arc<Change>>,
    /// The oldest revision a watch can still start from.
    compacted: u64,
    uid_counter: u64,
}

/// Jobs and Pods with their history.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Arc<Change>>,
    history_limit: usize,
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                revision: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                compacted: 1,
                uid_counter: 0,
            }),
            changes: broadcast::channel(4096).0,
            history_limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current resourceVersion.
    pub fn revision(&self) -> u64 {
        self.lock().revision
    }

    fn record(&self, inner: &mut Inner, kind: Kind, ns: &str, event: &'static str, object: Value) {
        let change = Arc::new(Change {
            resource_version: inner.revision,
            kind,
            namespace: ns.to_owned(),
            event,
            object,
        });
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_limit {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted = old.resource_version;
            }
        }
        let _ = self.changes.send(change);
    }

    /// Creates an object: fills in uid, creationTimestamp, resourceVersion and generation.
    pub fn create(&self, kind: Kind, ns: &str, mut object: Value) -> Result<Value, ApiError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut inner = self.lock();
        let key = (kind, ns.to_owned(), name.clone());
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(kind, &name));
        }
        inner.revision += 1;
        inner.uid_counter += 1;
        let uid = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            inner.uid_counter
        );
        object["apiVersion"] = json!(kind.api_version());
        object["kind"] = json!(kind.name());
        let meta = &mut object["metadata"];
        meta["namespace"] = json!(ns);
        meta["uid"] = json!(uid);
        meta["resourceVersion"] = json!(inner.revision.to_string());
        meta["creationTimestamp"] = json!(crate::now());
        meta["generation"] = json!(1);
        inner.objects.insert(key, object.clone());
        self.record(&mut inner, kind, ns, "ADDED", object.clone());
        Ok(object)
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(kind, ns.to_owned(), name.to_owned()))
            .cloned()
    }

    /// Changes an object in place (a new resourceVersion, a `MODIFIED` event); `None` if absent.
    pub fn update(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        let mut inner = self.lock();
        let key = (kind, ns.to_owned(), name.to_owned());
        let mut object = inner.objects.get(&key)?.clone();
        change(&mut object);
        if Some(&object) == inner.objects.get(&key) {
            return Some(object);
        }
        inner.revision += 1;
        object["metadata"]["resourceVersion"] = json!(inner.revision.to_string());
        inner.objects.insert(key, object.clone());
        self.record(&mut inner, kind, ns, "MODIFIED", object.clone());
        Some(object)
    }

    /// Removes an object (a `DELETED` event carrying a new resourceVersion).
    pub fn remove(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        let mut inner = self.lock();
        let mut object = inner
            .objects
            .remove(&(kind, ns.to_owned(), name.to_owned()))?;
        inner.revision += 1;
        object["metadata"]["resourceVersion"] = json!(inner.revision.to_string());
        self.record(&mut inner, kind, ns, "DELETED", object.clone());
        Some(object)
    }

    /// The objects of a kind in a namespace (all namespaces for `None`), and the revision.
    pub fn list(&self, kind: Kind, ns: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|((k, n, _), _)| *k == kind && ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.revision)
    }

    /// For a watch from `from`: the changes after it still kept, and a receiver of the next
    /// ones. `Err` with the oldest resourceVersion kept when `from` is older than that.
    pub fn watch_from(&self, from: u64) -> Result<WatchStart, u64> {
        let inner = self.lock();
        if from < inner.compacted {
            return Err(inner.compacted);
        }
        let replay = inner
            .history
            .iter()
            .filter(|c| c.resource_version > from)
            .cloned()
            .collect();
        Ok((replay, self.changes.subscribe()))
    }

    /// Forgets the history, as etcd compaction does: a watch from an older resourceVersion than
    /// the current one gets `410 Expired` and must relist.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.compacted = inner.revision;
    }

    /// A receiver of every change from now on (for the simulated controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }
}
