//! The chunking of a backfill's keys under the job's policy.

use super::chunk;

fn check(keys: &[(usize, &str)], per_run: usize, expected: &[(&str, &str, u32)]) {
    let owned: Vec<(usize, String)> = keys.iter().map(|(i, k)| (*i, (*k).to_owned())).collect();
    let refs: Vec<(usize, &String)> = owned.iter().map(|(i, k)| (*i, k)).collect();
    let got: Vec<(String, String, u32)> = chunk(&refs, per_run)
        .into_iter()
        .map(|c| (c.start, c.end, c.keys))
        .collect();
    let expected: Vec<(String, String, u32)> = expected
        .iter()
        .map(|(s, e, n)| ((*s).to_owned(), (*e).to_owned(), *n))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn one_run_per_partition_by_default() {
    check(&[(0, "a"), (1, "b")], 1, &[("a", "a", 1), ("b", "b", 1)]);
}

#[test]
fn consecutive_keys_share_a_run_up_to_the_policy() {
    check(
        &[(0, "a"), (1, "b"), (2, "c"), (3, "d"), (4, "e")],
        2,
        &[("a", "b", 2), ("c", "d", 2), ("e", "e", 1)],
    );
}

#[test]
fn a_gap_left_by_the_mode_starts_a_new_run() {
    check(
        &[(0, "a"), (2, "c"), (3, "d")],
        10,
        &[("a", "a", 1), ("c", "d", 2)],
    );
}
