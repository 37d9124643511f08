//! Asset graphs drawn as SVG: a job's graph and an asset's lineage. Pure layout: nodes in
//! columns by their longest distance from a root (so every edge points right), in input order
//! within a column; edges as curves from an upstream's right side to a downstream's left side.

use std::collections::BTreeMap;

use orchestrator::domain::AssetHealth;

use super::paths;

const NODE_WIDTH: f64 = 170.0;
const NODE_HEIGHT: f64 = 34.0;
const COLUMN_GAP: f64 = 70.0;
const ROW_GAP: f64 = 18.0;
const MARGIN: f64 = 10.0;

/// A drawn node.
#[derive(Debug, Clone)]
pub struct Node {
    pub key: String,
    pub label: String,
    pub href: String,
    pub x: String,
    pub y: String,
    pub text_x: String,
    pub text_y: String,
    /// The tooltip: the key, and its health with the reasons once coloured.
    pub title: String,
    /// `node` or `node node-focus` (the asset whose lineage this is), then `health-<health>`
    /// once [`colour`] knows it.
    pub class: String,
}

/// A drawn edge: an SVG path.
#[derive(Debug, Clone)]
pub struct Edge {
    pub d: String,
}

/// The drawing.
#[derive(Debug, Clone)]
pub struct Graph {
    pub width: String,
    pub height: String,
    pub node_width: String,
    pub node_height: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Colours each node by its asset's health (`health-healthy|warning|degraded|unknown`), the
/// reasons in its tooltip.
pub fn colour(graph: &mut Graph, health: &BTreeMap<String, AssetHealth>) {
    for node in &mut graph.nodes {
        if let Some(h) = health.get(&node.key) {
            node.class = format!("{} health-{}", node.class, h.health.as_str());
            node.title = if h.reasons.is_empty() {
                format!("{} · {}", node.key, h.health.as_str())
            } else {
                format!(
                    "{} · {}: {}",
                    node.key,
                    h.health.as_str(),
                    h.reasons.join("; ")
                )
            };
        }
    }
}

/// Lays out `nodes` (each key with its upstream keys; upstreams not in the list are ignored),
/// highlighting `focus`.
pub fn layout(nodes: &[(String, Vec<String>)], focus: Option<&str>) -> Graph {
    let index: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.as_str(), i))
        .collect();
    // Longest path from a root, relaxed at most n times: a cycle (which definitions refuse)
    // cannot loop forever.
    let mut depth = vec![0usize; nodes.len()];
    for _ in 0..nodes.len() {
        let mut changed = false;
        for (i, (_, upstream)) in nodes.iter().enumerate() {
            for up in upstream {
                if let Some(&u) = index.get(up.as_str())
                    && depth[u] + 1 > depth[i]
                    && depth[u] < nodes.len()
                {
                    depth[i] = depth[u] + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut per_column: BTreeMap<usize, usize> = BTreeMap::new();
    let position: Vec<(f64, f64)> = depth
        .iter()
        .map(|&d| {
            let row = per_column.entry(d).or_default();
            let at = (
                MARGIN + d as f64 * (NODE_WIDTH + COLUMN_GAP),
                MARGIN + *row as f64 * (NODE_HEIGHT + ROW_GAP),
            );
            *row += 1;
            at
        })
        .collect();
    let drawn = nodes
        .iter()
        .zip(&position)
        .map(|((key, _), &(x, y))| {
            let mut label: String = key.chars().take(22).collect();
            if key.chars().count() > 22 {
                label.push('…');
            }
            Node {
                key: key.clone(),
                label,
                href: paths::asset(key),
                x: px(x),
                y: px(y),
                text_x: px(x + 10.0),
                text_y: px(y + NODE_HEIGHT / 2.0 + 4.0),
                title: key.clone(),
                class: if focus == Some(key.as_str()) {
                    "node node-focus".to_owned()
                } else {
                    "node".to_owned()
                },
            }
        })
        .collect();
    let edges = nodes
        .iter()
        .enumerate()
        .flat_map(|(i, (_, upstream))| {
            let index = &index;
            let position = &position;
            upstream.iter().filter_map(move |up| {
                let (ux, uy) = position[*index.get(up.as_str())?];
                let (dx, dy) = position[i];
                let (x1, y1) = (ux + NODE_WIDTH, uy + NODE_HEIGHT / 2.0);
                let (x2, y2) = (dx, dy + NODE_HEIGHT / 2.0);
                let bend = (x2 - x1).abs() / 2.0;
                Some(Edge {
                    d: format!(
                        "M{} {} C{} {}, {} {}, {} {}",
                        px(x1),
                        px(y1),
                        px(x1 + bend),
                        px(y1),
                        px(x2 - bend),
                        px(y2),
                        px(x2),
                        px(y2)
                    ),
                })
            })
        })
        .collect();
    let columns = depth.iter().max().map_or(1, |d| d + 1);
    let rows = per_column.values().copied().max().unwrap_or(1);
    Graph {
        width: px(2.0 * MARGIN + columns as f64 * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP),
        height: px(2.0 * MARGIN + rows as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP),
        node_width: px(NODE_WIDTH),
        node_height: px(NODE_HEIGHT),
        nodes: drawn,
        edges,
    }
}

fn px(value: f64) -> String {
    format!("{value:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, upstream: &[&str]) -> (String, Vec<String>) {
        (
            key.to_owned(),
            upstream.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    #[test]
    fn every_edge_points_right_and_columns_follow_the_longest_path() {
        // a → b → c and a → c: c sits in column 2, not 1.
        let graph = layout(
            &[node("a", &[]), node("b", &["a"]), node("c", &["a", "b"])],
            Some("b"),
        );
        let xs: Vec<&str> = graph.nodes.iter().map(|n| n.x.as_str()).collect();
        assert_eq!(xs, ["10.0", "250.0", "490.0"]);
        assert_eq!(graph.edges.len(), 3);
        assert_eq!(graph.nodes[1].class, "node node-focus");
        assert_eq!(graph.width, "670.0");
    }

    #[test]
    fn unknown_upstreams_and_cycles_do_not_break_the_layout() {
        let graph = layout(&[node("a", &["b", "ghost"]), node("b", &["a"])], None);
        assert_eq!(graph.nodes.len(), 2);
        assert_eq!(graph.edges.len(), 2);
        let empty = layout(&[], None);
        assert!(empty.nodes.is_empty());
    }
}
