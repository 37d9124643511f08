//! The asset graph of a job: validation (duplicates, unknown upstreams, cycles) and a
//! dependency order.

use std::collections::{BTreeMap, BTreeSet};

use super::DefinitionError;
use crate::domain::{AssetKey, JobName};

/// A validated, acyclic asset graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetGraph {
    upstream: BTreeMap<AssetKey, Vec<AssetKey>>,
    order: Vec<AssetKey>,
}

impl AssetGraph {
    /// Validates `nodes` (each asset with its upstream assets) for job `job`.
    pub fn new(
        job: &JobName,
        nodes: &[(AssetKey, Vec<AssetKey>)],
    ) -> Result<Self, DefinitionError> {
        let mut upstream = BTreeMap::new();
        for (key, deps) in nodes {
            if upstream.insert(key.clone(), deps.clone()).is_some() {
                return Err(DefinitionError::DuplicateAsset {
                    job: job.clone(),
                    asset: key.clone(),
                });
            }
        }
        for (key, deps) in nodes {
            if let Some(unknown) = deps.iter().find(|d| !upstream.contains_key(*d)) {
                return Err(DefinitionError::UnknownUpstream {
                    job: job.clone(),
                    asset: key.clone(),
                    upstream: unknown.clone(),
                });
            }
        }
        let declared: Vec<AssetKey> = nodes.iter().map(|(k, _)| k.clone()).collect();
        let order =
            topological_order(&declared, &upstream).map_err(|cycle| DefinitionError::Cycle {
                job: job.clone(),
                cycle,
            })?;
        Ok(Self { upstream, order })
    }

    /// Every asset, each after all of its upstream assets; ties keep declaration order.
    pub fn order(&self) -> &[AssetKey] {
        &self.order
    }

    pub fn upstream_of(&self, key: &AssetKey) -> &[AssetKey] {
        self.upstream.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The assets that depend on `key`, directly or not.
    pub fn downstream_of(&self, key: &AssetKey) -> BTreeSet<AssetKey> {
        let mut found = BTreeSet::new();
        for candidate in &self.order {
            let depends = self
                .upstream_of(candidate)
                .iter()
                .any(|u| u == key || found.contains(u));
            if depends {
                found.insert(candidate.clone());
            }
        }
        found
    }

    pub fn contains(&self, key: &AssetKey) -> bool {
        self.upstream.contains_key(key)
    }
}

/// Kahn's algorithm; on a cycle, returns the assets on one cycle, first one repeated at the end.
fn topological_order(
    declared: &[AssetKey],
    upstream: &BTreeMap<AssetKey, Vec<AssetKey>>,
) -> Result<Vec<AssetKey>, Vec<AssetKey>> {
    let mut done: BTreeSet<&AssetKey> = BTreeSet::new();
    let mut order = Vec::with_capacity(declared.len());
    while order.len() < declared.len() {
        let ready = declared
            .iter()
            .find(|k| !done.contains(k) && upstream[*k].iter().all(|u| done.contains(u)));
        match ready {
            Some(key) => {
                done.insert(key);
                order.push(key.clone());
            }
            None => return Err(find_cycle(declared, upstream, &done)),
        }
    }
    Ok(order)
}

fn find_cycle(
    declared: &[AssetKey],
    upstream: &BTreeMap<AssetKey, Vec<AssetKey>>,
    done: &BTreeSet<&AssetKey>,
) -> Vec<AssetKey> {
    // Every asset left has an upstream that is not done; following those links must revisit one.
    let Some(mut current) = declared.iter().find(|k| !done.contains(k)) else {
        return Vec::new();
    };
    let mut path: Vec<&AssetKey> = Vec::new();
    loop {
        if let Some(pos) = path.iter().position(|k| *k == current) {
            let mut cycle: Vec<AssetKey> = path[pos..].iter().map(|k| (*k).clone()).collect();
            cycle.push(current.clone());
            return cycle;
        }
        path.push(current);
        match upstream[current].iter().find(|u| !done.contains(u)) {
            Some(next) => current = next,
            None => return path.into_iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> AssetKey {
        AssetKey::parse(s).unwrap()
    }

    fn check(nodes: &[(&str, &[&str])], expect: Result<&[&str], &str>) {
        let job = JobName::parse("j").unwrap();
        let nodes: Vec<_> = nodes
            .iter()
            .map(|(k, deps)| (key(k), deps.iter().map(|d| key(d)).collect()))
            .collect();
        match (AssetGraph::new(&job, &nodes), expect) {
            (Ok(graph), Ok(order)) => {
                let got: Vec<&str> = graph.order().iter().map(AssetKey::as_str).collect();
                assert_eq!(got, order);
            }
            (Err(err), Err(message)) => assert_eq!(err.to_string(), message),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn orders_by_dependency() {
        check(
            &[("c", &["b"]), ("b", &["a"]), ("a", &[])],
            Ok(&["a", "b", "c"]),
        );
        check(
            &[("x", &[]), ("y", &[]), ("z", &["x", "y"])],
            Ok(&["x", "y", "z"]),
        );
    }

    #[test]
    fn refuses_bad_graphs_naming_the_culprit() {
        check(
            &[("a", &[]), ("a", &[])],
            Err("job 'j': asset 'a' is defined twice"),
        );
        check(
            &[("a", &["ghost"])],
            Err("job 'j': asset 'a' depends on 'ghost', which is not an asset of this job"),
        );
        check(
            &[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &[])],
            Err("job 'j': the assets form a cycle (each depends on the next): a -> c -> b -> a"),
        );
        check(
            &[("a", &["a"])],
            Err("job 'j': the assets form a cycle (each depends on the next): a -> a"),
        );
    }

    #[test]
    fn downstream_is_transitive() {
        let job = JobName::parse("j").unwrap();
        let g = AssetGraph::new(
            &job,
            &[
                (key("a"), vec![]),
                (key("b"), vec![key("a")]),
                (key("c"), vec![key("b")]),
                (key("d"), vec![]),
            ],
        )
        .unwrap();
        let down: Vec<_> = g.downstream_of(&key("a")).into_iter().collect();
        assert_eq!(down, vec![key("b"), key("c")]);
    }
}
