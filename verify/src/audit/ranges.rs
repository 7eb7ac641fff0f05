//! Compact inclusive ranges of missing sequence numbers (`5-7, 12`).

/// The inclusive ranges missing between consecutive numbers of a sorted,
/// de-duplicated slice. Nothing before the first or after the last is missing.
pub fn gaps(sorted_unique: &[u64]) -> Vec<[u64; 2]> {
    sorted_unique
        .windows(2)
        .filter(|w| w[1] > w[0].saturating_add(1))
        .map(|w| [w[0].saturating_add(1), w[1].saturating_sub(1)])
        .collect()
}

/// Sorted, de-duplicated numbers as compact inclusive ranges: `3,4,5,9` -> `[3,5],[9,9]`.
pub fn compress(sorted_unique: &[u64]) -> Vec<[u64; 2]> {
    let mut out: Vec<[u64; 2]> = Vec::new();
    for &n in sorted_unique {
        match out.last_mut() {
            Some(r) if r[1].checked_add(1) == Some(n) => r[1] = n,
            _ => out.push([n, n]),
        }
    }
    out
}

/// Number of values covered by inclusive ranges.
/// Saturates at `u64::MAX`: a count that wrapped to 0 would turn a finding into a pass.
pub fn count(ranges: &[[u64; 2]]) -> u64 {
    ranges
        .iter()
        .map(|[a, b]| b.saturating_sub(*a).saturating_add(1))
        .fold(0, u64::saturating_add)
}

/// Sorted, merged ranges (overlapping or touching ones joined): the form
/// the set operations below take and give. Never expands a range.
pub fn normalize(mut ranges: Vec<[u64; 2]>) -> Vec<[u64; 2]> {
    ranges.retain(|[a, b]| a <= b);
    ranges.sort_unstable();
    let mut out: Vec<[u64; 2]> = Vec::with_capacity(ranges.len());
    for [a, b] in ranges {
        match out.last_mut() {
            Some(last) if a <= last[1].saturating_add(1) => last[1] = last[1].max(b),
            _ => out.push([a, b]),
        }
    }
    out
}

/// Values in both of two normalized range lists.
pub fn intersect(x: &[[u64; 2]], y: &[[u64; 2]]) -> Vec<[u64; 2]> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while let (Some(&[a1, b1]), Some(&[a2, b2])) = (x.get(i), y.get(j)) {
        let (lo, hi) = (a1.max(a2), b1.min(b2));
        if lo <= hi {
            out.push([lo, hi]);
        }
        if b1 < b2 { i += 1 } else { j += 1 }
    }
    out
}

/// Values of `x` not in `y` (both normalized).
pub fn subtract(x: &[[u64; 2]], y: &[[u64; 2]]) -> Vec<[u64; 2]> {
    let mut out = Vec::new();
    for &[a, b] in x {
        let mut start = a;
        let mut open = true;
        for &[c, d] in y.iter().filter(|[c, d]| *d >= a && *c <= b) {
            if c > start {
                out.push([start, c - 1]);
            }
            match d.checked_add(1) {
                Some(next) if next <= b => start = start.max(next),
                _ => {
                    open = false;
                    break;
                }
            }
        }
        if open && start <= b {
            out.push([start, b]);
        }
    }
    out
}

/// `5-7, 12` for people.
pub fn format(ranges: &[[u64; 2]]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|[a, b]| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect();
    parts.join(", ")
}

/// `format`, at most `keep` ranges, then how many more seqs: a cause
/// written after the list stays readable however many ranges there are.
pub fn format_capped(ranges: &[[u64; 2]], keep: usize) -> String {
    match ranges.get(keep..) {
        Some(rest) if !rest.is_empty() => format!(
            "{} and {} more ({} seqs)",
            format(ranges.get(..keep).unwrap_or_default()),
            count(rest),
            count(ranges)
        ),
        _ => format(ranges),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_compact_ranges() {
        let g = gaps(&[1, 2, 3, 4, 8, 9, 11]);
        assert_eq!(g, [[5, 7], [10, 10]]);
        assert_eq!(format(&g), "5-7, 10");
        assert_eq!(count(&g), 4);
        assert!(gaps(&[]).is_empty() && gaps(&[3]).is_empty());
        assert_eq!(compress(&[3, 4, 5, 9, 11, 12]), [[3, 5], [9, 9], [11, 12]]);
        assert_eq!(count(&[[0, u64::MAX], [1, 3]]), u64::MAX, "saturates, never wraps");
        assert_eq!(gaps(&[1, u64::MAX]), [[2, u64::MAX - 1]]);
    }

    #[test]
    fn set_operations_on_huge_ranges_stay_ranges() {
        let x = normalize(vec![[2, u64::MAX - 1], [1, 1]]);
        assert_eq!(x, [[1, u64::MAX - 1]]);
        let y = vec![[2, 4], [10, 20]];
        assert_eq!(intersect(&x, &y), [[2, 4], [10, 20]]);
        assert_eq!(subtract(&x, &y), [[1, 1], [5, 9], [21, u64::MAX - 1]]);
        assert_eq!(subtract(&y, &x), Vec::<[u64; 2]>::new());
        assert_eq!(subtract(&[[0, u64::MAX]], &[[5, u64::MAX]]), [[0, 4]]);
    }

    proptest! {
        /// The range operations agree with the same operations on expanded sets.
        #[test]
        fn range_operations_match_sets(
            xs in proptest::collection::vec((0u64..60, 0u64..8), 0..8),
            ys in proptest::collection::vec((0u64..60, 0u64..8), 0..8),
        ) {
            use std::collections::BTreeSet;
            let to_ranges = |v: &Vec<(u64, u64)>| normalize(v.iter().map(|(a, l)| [*a, a + l]).collect());
            let to_set = |r: &[[u64; 2]]| r.iter().flat_map(|[a, b]| *a..=*b).collect::<BTreeSet<u64>>();
            let (x, y) = (to_ranges(&xs), to_ranges(&ys));
            let (sx, sy) = (to_set(&x), to_set(&y));
            prop_assert_eq!(to_set(&intersect(&x, &y)), sx.intersection(&sy).copied().collect::<BTreeSet<_>>());
            prop_assert_eq!(to_set(&subtract(&x, &y)), sx.difference(&sy).copied().collect::<BTreeSet<_>>());
            let merged = normalize(intersect(&x, &y));
            prop_assert_eq!(merged.clone(), normalize(merged));
        }

        /// Gaps plus the numbers present cover the whole range exactly, and no
        /// two gap ranges overlap or touch.
        #[test]
        fn gaps_and_present_partition_the_range(set in proptest::collection::btree_set(0u64..400, 0..120)) {
            let present: Vec<u64> = set.into_iter().collect();
            let g = gaps(&present);
            for pair in g.windows(2) {
                prop_assert!(pair[0][1] + 1 < pair[1][0], "ranges touch: {:?}", pair);
            }
            if let (Some(&lo), Some(&hi)) = (present.first(), present.last()) {
                let mut covered: Vec<u64> = present.clone();
                for [a, b] in &g {
                    prop_assert!(a <= b);
                    covered.extend(*a..=*b);
                }
                covered.sort_unstable();
                prop_assert_eq!(covered, (lo..=hi).collect::<Vec<_>>());
            } else {
                prop_assert!(g.is_empty());
            }
        }
    }

    #[test]
    fn capped_lists_say_how_many_more() {
        assert_eq!(format_capped(&[[1, 2], [4, 4]], 5), "1-2, 4");
        assert_eq!(format_capped(&[[1, 1], [3, 3], [5, 9]], 2), "1, 3 and 5 more (7 seqs)");
    }
}
