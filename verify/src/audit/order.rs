//! Putting a folder's segments in seq order. A folder lists its files in
//! hash order, and its seqs are nearly always a dense run (1..=N with a few
//! gaps): a counting sort places each in one pass where a comparison sort
//! compares each seven times. Wide or sparse seqs fall back to the sort.

/// One sequenced segment: (seq, name time, index into the folder's segments).
pub type SeqEntry = (u64, i64, usize);

/// The counting sort is used while the seq span is at most this many times
/// the number of segments (plus a little for tiny folders): the count array
/// stays about the size of the input.
const SPAN_FACTOR: usize = 4;
const SPAN_SLACK: usize = 64;

/// Sorts by (seq, time, name): `name(i)` is the name of segment `i`. Names in
/// a folder are unique, so this order is total and every way of reaching it
/// gives the same result.
pub fn sort_seqs<'a>(seqs: &mut Vec<SeqEntry>, name: impl Fn(usize) -> &'a str) {
    let full = |a: &SeqEntry, b: &SeqEntry| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| name(a.2).cmp(name(b.2)));
    let (Some(lo), Some(hi)) = (seqs.iter().map(|s| s.0).min(), seqs.iter().map(|s| s.0).max()) else {
        return;
    };
    let limit = seqs.len().saturating_mul(SPAN_FACTOR).saturating_add(SPAN_SLACK);
    let span = match usize::try_from(hi - lo) {
        Ok(s) if s < limit => s + 1,
        _ => {
            seqs.sort_unstable_by(full);
            return;
        }
    };
    // Counts per seq, then (a running sum) where each seq's run starts.
    let mut starts = vec![0usize; span];
    for s in seqs.iter() {
        if let Some(c) = starts.get_mut(slot(s.0, lo)) {
            *c += 1;
        }
    }
    let mut sum = 0usize;
    for c in starts.iter_mut() {
        (*c, sum) = (sum, sum + *c);
    }
    let mut out: Vec<SeqEntry> = vec![(0, 0, 0); seqs.len()];
    for s in seqs.iter() {
        if let Some(at) = starts.get_mut(slot(s.0, lo))
            && let Some(dst) = out.get_mut(*at)
        {
            *dst = *s;
            *at += 1;
        }
    }
    // Equal seqs (duplicates: rare) still need their (time, name) order.
    for run in out.chunk_by_mut(|a, b| a.0 == b.0) {
        if run.len() > 1 {
            run.sort_unstable_by(full);
        }
    }
    *seqs = out;
}

/// Where `seq` falls in the count array (it is at least `lo`, and within
/// the span checked before).
fn slot(seq: u64, lo: u64) -> usize {
    usize::try_from(seq.saturating_sub(lo)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_counting_sort_is_the_comparison_sort(
            raw in proptest::collection::vec((0u64..40, 0i64..5), 0..80),
            wide in proptest::bool::ANY,
        ) {
            // Unique names; seqs dense, duplicated, or (wide) spread out to force the fallback.
            let names: Vec<String> = (0..raw.len()).map(|i| format!("n{:03}", (i * 37) % 101)).collect();
            let mut seqs: Vec<SeqEntry> = raw
                .iter()
                .enumerate()
                .map(|(i, &(s, t))| (if wide { s * 1_000_000_007 } else { s + 5 }, t, i))
                .collect();
            let mut expected = seqs.clone();
            let name = |i: usize| names[i].as_str();
            expected.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| name(a.2).cmp(name(b.2))));
            sort_seqs(&mut seqs, name);
            prop_assert_eq!(seqs, expected);
        }
    }

    #[test]
    fn extreme_seqs_take_the_fallback() {
        let mut seqs = vec![(u64::MAX, 0, 0), (0, 0, 1), (u64::MAX - 1, 0, 2)];
        sort_seqs(&mut seqs, |i| ["a", "b", "c"][i]);
        assert_eq!(seqs, [(0, 0, 1), (u64::MAX - 1, 0, 2), (u64::MAX, 0, 0)]);
    }
}
