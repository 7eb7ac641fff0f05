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

/// `5-7, 12` for people.
pub fn format(ranges: &[[u64; 2]]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|[a, b]| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect();
    parts.join(", ")
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

    proptest! {
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
}
