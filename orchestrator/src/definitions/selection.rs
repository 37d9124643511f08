//! Asset selections in Dagster's syntax, resolved against a job's asset graph: `name` alone,
//! `+name` (and its direct upstream; `++name` two levels), `*name` (all its upstream), `name+`,
//! `name*` (downstream the same way), `*` (every asset). Clauses are separated by commas or
//! spaces and add up: `fetch_data+ store_to_s3`. Pure: parsing and graph walks, no IO.

use std::collections::BTreeSet;
use std::fmt;

use super::AssetGraph;
use crate::domain::AssetKey;

/// How far a clause reaches from its asset, one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// `n` levels (`+` is 1, `++` is 2); 0 is the asset alone.
    Levels(u32),
    /// Every asset that way (`*`).
    All,
}

/// One clause of a selection: an asset and how far up and down it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionClause {
    pub asset: String,
    pub upstream: Reach,
    pub downstream: Reach,
}

/// A parsed selection: every asset (`*`) or the union of its clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetSelection {
    All,
    Clauses(Vec<SelectionClause>),
}

/// A selection that cannot be parsed or does not fit the job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("the asset selection is empty; name assets, e.g. 'fetch_data+'")]
    Empty,
    #[error(
        "asset selection clause '{clause}' is not valid: write NAME with an optional '+'/'*' before or after (e.g. '*store_to_s3', 'fetch_data+')"
    )]
    Syntax { clause: String },
    #[error("asset selection names unknown assets: {} (known assets: {})", unknown.join(", "), known.join(", "))]
    UnknownAssets {
        unknown: Vec<String>,
        known: Vec<String>,
    },
}

impl AssetSelection {
    /// Parses `text`; asset names are checked only by [`AssetSelection::resolve`].
    pub fn parse(text: &str) -> Result<Self, SelectionError> {
        let clauses: Vec<&str> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|c| !c.is_empty())
            .collect();
        if clauses.is_empty() {
            return Err(SelectionError::Empty);
        }
        if clauses.contains(&"*") {
            return Ok(Self::All);
        }
        clauses
            .into_iter()
            .map(parse_clause)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Clauses)
    }

    /// The selected assets of `graph`, in the graph's dependency order. Every unknown name is
    /// refused at once, with the known ones.
    pub fn resolve(&self, graph: &AssetGraph) -> Result<Vec<AssetKey>, SelectionError> {
        let clauses = match self {
            Self::All => return Ok(graph.order().to_vec()),
            Self::Clauses(clauses) => clauses,
        };
        let unknown: Vec<String> = clauses
            .iter()
            .filter(|c| !graph.order().iter().any(|k| k.as_str() == c.asset))
            .map(|c| c.asset.clone())
            .collect();
        if !unknown.is_empty() {
            return Err(SelectionError::UnknownAssets {
                unknown,
                known: graph.order().iter().map(|k| k.to_string()).collect(),
            });
        }
        let mut selected = BTreeSet::new();
        for clause in clauses {
            let Some(start) = graph.order().iter().find(|k| k.as_str() == clause.asset) else {
                continue;
            };
            selected.insert(start.clone());
            selected.extend(walk(graph, start, clause.upstream, Direction::Up));
            selected.extend(walk(graph, start, clause.downstream, Direction::Down));
        }
        Ok(graph
            .order()
            .iter()
            .filter(|k| selected.contains(*k))
            .cloned()
            .collect())
    }
}

impl fmt::Display for AssetSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Clauses(clauses) => {
                for (i, c) in clauses.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}{}{}", reach(c.upstream), c.asset, reach(c.downstream))?;
                }
                Ok(())
            }
        }
    }
}

fn reach(r: Reach) -> String {
    match r {
        Reach::All => "*".to_owned(),
        Reach::Levels(n) => "+".repeat(usize::try_from(n).unwrap_or(0)),
    }
}

fn parse_clause(clause: &str) -> Result<SelectionClause, SelectionError> {
    let syntax = || SelectionError::Syntax {
        clause: clause.to_owned(),
    };
    let name_start = clause
        .find(|c: char| c != '+' && c != '*')
        .ok_or_else(syntax)?;
    // The end of the last such character: it may be several bytes long (`Z¥m¿`).
    let name_end = clause
        .char_indices()
        .rfind(|(_, c)| *c != '+' && *c != '*')
        .map(|(i, c)| i + c.len_utf8())
        .ok_or_else(syntax)?;
    let (prefix, rest) = clause.split_at(name_start);
    let (name, suffix) = rest.split_at(name_end - name_start);
    if name.contains(['+', '*']) || AssetKey::parse(name).is_err() {
        return Err(syntax());
    }
    Ok(SelectionClause {
        asset: name.to_owned(),
        upstream: parse_reach(prefix).ok_or_else(syntax)?,
        downstream: parse_reach(suffix).ok_or_else(syntax)?,
    })
}

/// `""` → 0 levels, `"++"` → 2, `"*"` → all; a mix (`"+*"`) is refused.
fn parse_reach(marks: &str) -> Option<Reach> {
    if marks == "*" {
        return Some(Reach::All);
    }
    if marks.chars().all(|c| c == '+') {
        return u32::try_from(marks.len()).ok().map(Reach::Levels);
    }
    None
}

#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

/// The assets within `reach` of `start`, one way, `start` excluded.
fn walk(graph: &AssetGraph, start: &AssetKey, reach: Reach, direction: Direction) -> Vec<AssetKey> {
    let max = match reach {
        Reach::Levels(0) => return Vec::new(),
        Reach::Levels(n) => Some(n),
        Reach::All => None,
    };
    let neighbours = |key: &AssetKey| -> Vec<AssetKey> {
        match direction {
            Direction::Up => graph.upstream_of(key).to_vec(),
            Direction::Down => graph
                .order()
                .iter()
                .filter(|k| graph.upstream_of(k).contains(key))
                .cloned()
                .collect(),
        }
    };
    let mut found = BTreeSet::new();
    let mut frontier = vec![start.clone()];
    let mut level = 0;
    while !frontier.is_empty() && max.is_none_or(|m| level < m) {
        let mut next = Vec::new();
        for key in &frontier {
            for n in neighbours(key) {
                if found.insert(n.clone()) {
                    next.push(n);
                }
            }
        }
        frontier = next;
        level += 1;
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobName;

    /// a → b → c → d, and a → e.
    fn graph() -> AssetGraph {
        let k = |s: &str| AssetKey::parse(s).expect("key");
        let nodes = vec![
            (k("a"), vec![]),
            (k("b"), vec![k("a")]),
            (k("c"), vec![k("b")]),
            (k("d"), vec![k("c")]),
            (k("e"), vec![k("a")]),
        ];
        AssetGraph::new(&JobName::parse("j").expect("job"), &nodes).expect("graph")
    }

    fn check(selection: &str, expected: &[&str]) {
        let got = AssetSelection::parse(selection)
            .and_then(|s| s.resolve(&graph()))
            .unwrap_or_else(|e| panic!("{selection}: {e}"));
        let got: Vec<&str> = got.iter().map(AssetKey::as_str).collect();
        assert_eq!(got, expected, "selection {selection}");
    }

    #[test]
    fn clauses_reach_up_and_down_as_dagster_does() {
        check("c", &["c"]);
        check("c+", &["c", "d"]);
        check("b++", &["b", "c", "d"]);
        check("b+", &["b", "c"]);
        check("+c", &["b", "c"]);
        check("*c", &["a", "b", "c"]);
        check("a*", &["a", "b", "c", "d", "e"]);
        check("a+", &["a", "b", "e"]);
        check("*", &["a", "b", "c", "d", "e"]);
        check("d, e", &["d", "e"]);
        check("e +c", &["b", "c", "e"]);
        check("+b+", &["a", "b", "c"]);
    }

    #[test]
    fn bad_selections_are_refused_with_the_reason() {
        let parse = |s: &str| AssetSelection::parse(s).expect_err(s).to_string();
        assert!(parse("").contains("empty"));
        assert!(parse(" , ").contains("empty"));
        assert!(parse("+*a").contains("'+*a' is not valid"));
        assert!(parse("a+b").contains("'a+b' is not valid"));
        assert!(parse("++").contains("'++' is not valid"));
        // Found by schemathesis: a name ending in a multi-byte character panicked.
        assert!(parse("Z¥m¿").contains("'Z¥m¿' is not valid"));
        assert!(parse("+\u{80}+").contains("is not valid"));
        let unknown = AssetSelection::parse("a, nope+, zip")
            .expect("parses")
            .resolve(&graph())
            .expect_err("unknown")
            .to_string();
        assert_eq!(
            unknown,
            "asset selection names unknown assets: nope, zip (known assets: a, b, c, d, e)"
        );
    }

    #[test]
    fn display_round_trips() {
        for text in ["*a,b+", "++c*", "*"] {
            let parsed = AssetSelection::parse(text).expect(text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(AssetSelection::parse(&parsed.to_string()), Ok(parsed));
        }
    }
}
