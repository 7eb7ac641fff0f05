//! Sequence audit of one student folder: gaps, duplicates, ordering, stalls.

pub use super::obs::{FolderObs, SegmentObs};
use crate::report::files::sort_by_name;
use crate::report::seq::{Duplicate, EmptyFiles, Foreign, OutOfOrder, Short, Stall, StudentFindings};
use common::text::{escape_str, push_escaped};

/// The per-student checks' settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqRules {
    /// The seq a student starts at (default 1).
    pub first_seq: u64,
    /// Files below this size are reported as empty (0: only zero-byte files).
    pub min_size: u64,
    /// A pause longer than this many times the median interval is a stall.
    pub stall_factor: f64,
    /// Students whose last seq is below this are short.
    pub expect_segments: Option<u64>,
    /// Seqs above this are no seqs a client sends: reported as unparseable,
    /// kept out of the range arithmetic.
    pub max_seq: u64,
}

/// The default `--max-seq`.
pub const MAX_SEQ: u64 = 1_000_000_000;

impl Default for SeqRules {
    fn default() -> Self {
        SeqRules {
            first_seq: 1,
            min_size: 0,
            stall_factor: 3.0,
            expect_segments: None,
            max_seq: MAX_SEQ,
        }
    }
}

/// A stall must also exceed the median by this much: name timestamps have a
/// one-second resolution, so short intervals would otherwise flag jitter.
const STALL_MIN_EXTRA_SECS: f64 = 2.0;
/// Fewer intervals than this give no meaningful median.
const STALL_MIN_INTERVALS: usize = 3;

/// Audits one folder. Foreign files are reported and left out of the seq checks.
pub fn audit_student(obs: &FolderObs, rules: &SeqRules) -> StudentFindings {
    let mut out = StudentFindings {
        exam: obs.exam.clone(),
        id: obs.id.clone(),
        unparseable: obs.others.clone(),
        in_flight: obs.in_flight,
        ..StudentFindings::default()
    };
    // (seq, time, index into obs.segments), sorted so equal seqs sit together.
    let mut seqs: Vec<(u64, i64, usize)> = Vec::with_capacity(obs.segments.len());
    // Empty files as (index, size): their list is then allocated once, to
    // size. Those with a seq are taken in seq order below (names usually
    // sort as their seqs do); here only the others.
    let too_small = |i: usize| {
        obs.segments
            .get(i)
            .and_then(|s| s.size)
            .filter(|&s| s == 0 || s < rules.min_size)
    };
    let mut empty: Vec<(usize, u64)> = Vec::new();
    for (i, seg) in obs.segments.iter().enumerate() {
        if let Some(id) = &seg.foreign_id {
            out.foreign.push(Foreign {
                file: escape_str(obs.name(seg)),
                id: id.clone(),
            });
            continue;
        }
        out.segments += 1;
        let seqd = matches!(seg.seq, Some(s) if s <= rules.max_seq);
        if let Some(size) = too_small(i).filter(|_| !seqd) {
            empty.push((i, size));
        }
        match seg.seq {
            Some(s) if s > rules.max_seq => out.unparseable.push(format!(
                "{} (seq {s} is above --max-seq {})",
                escape_str(obs.name(seg)),
                rules.max_seq
            )),
            Some(s) => seqs.push((s, seg.time, i)),
            None => out.unsequenced.push(escape_str(obs.name(seg))),
        }
    }
    super::order::sort_seqs(&mut seqs, |i| obs.segments.get(i).map_or("", |s| obs.name(s)));
    let name = |i: usize| escape_str(obs.name(&obs.segments[i]));

    // Earliest file of each distinct seq, in seq order.
    let mut firsts: Vec<(u64, i64, usize)> = Vec::with_capacity(seqs.len());
    for group in seqs.chunk_by(|a, b| a.0 == b.0) {
        if group.len() > 1 {
            out.duplicates.push(Duplicate {
                seq: group[0].0,
                files: sorted(group.iter().map(|g| name(g.2)).collect()),
                explained: false,
            });
        }
        firsts.push(group[0]);
    }
    let distinct: Vec<u64> = firsts.iter().map(|f| f.0).collect();
    out.first_seq = distinct.first().copied();
    out.last_seq = distinct.last().copied();
    out.gaps = super::ranges::gaps(&distinct);
    if let Some(first) = out.first_seq.filter(|&f| f > rules.first_seq) {
        out.leading_gap = Some([rules.first_seq, first - 1]);
    }
    out.out_of_order = out_of_order(&firsts, &name);
    out.stalls = stalls(&firsts, rules.stall_factor);
    if let (Some(expected), Some(last)) = (rules.expect_segments, out.last_seq) {
        let needed_last = rules.first_seq + expected.saturating_sub(1);
        if expected > 0 && last < needed_last {
            out.short = Some(Short {
                last_seq: last,
                expected,
                explained: false,
            });
        }
    }
    // Names in one folder are unique, so an unstable sort gives the one order
    // (without the stable sort's scratch buffer per list).
    out.unsequenced.sort_unstable();
    let mut empties: Vec<(usize, u64)> = seqs.iter().filter_map(|s| too_small(s.2).map(|z| (s.2, z))).collect();
    empties.append(&mut empty);
    match empty_files(obs, &mut empties) {
        Ok(list) => out.empty = list,
        // Not from a real file system (names are at most 255 bytes): said, not hidden.
        Err(e) => out
            .unparseable
            .push(format!("{} empty file(s) not listed: {e}", empties.len())),
    }
    out.foreign.sort_unstable_by(|a, b| a.file.cmp(&b.file));
    out.unparseable.sort_unstable();
    out
}

/// The empty files' list, sorted by name: sorted by raw name unless
/// already so (taken in seq order, they usually are), built, and sorted
/// again only if escaping changed the order.
fn empty_files(obs: &FolderObs, empty: &mut [(usize, u64)]) -> Result<EmptyFiles, String> {
    let name = |i: usize| obs.segments.get(i).map_or("", |s| obs.name(s));
    if !empty.windows(2).all(|w| matches!(w, [a, b] if name(a.0) < name(b.0))) {
        sort_by_name(empty, |e| name(e.0));
    }
    let files: Vec<(&str, u64)> = empty.iter().map(|&(i, size)| (name(i), size)).collect();
    let mut out = EmptyFiles::build(&files, push_escaped)?;
    if !out.is_sorted() {
        out.sort()?;
    }
    Ok(out)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Seqs whose earliest timestamp is before the latest timestamp of a lower seq.
fn out_of_order(firsts: &[(u64, i64, usize)], name: &dyn Fn(usize) -> String) -> Vec<OutOfOrder> {
    let mut found = Vec::new();
    let mut latest: Option<(u64, i64, usize)> = None;
    for &(seq, time, idx) in firsts {
        match latest {
            Some((lseq, ltime, lidx)) if time < ltime => found.push(OutOfOrder {
                seq,
                file: name(idx),
                after_seq: lseq,
                after_file: name(lidx),
            }),
            Some((_, ltime, _)) if time == ltime => {}
            _ => latest = Some((seq, time, idx)),
        }
    }
    found
}

/// The median (mean of the middle two for an even count; 0 for none), by
/// selection rather than a full sort: it runs once per student folder.
fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let odd = v.len() % 2 == 1;
    let mid = v.len() / 2;
    let (lower, &mut pivot, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if odd {
        pivot
    } else {
        (lower.iter().copied().max_by(f64::total_cmp).unwrap_or(pivot) + pivot) / 2.0
    }
}

/// Pauses well above the median interval per seq step.
fn stalls(firsts: &[(u64, i64, usize)], factor: f64) -> Vec<Stall> {
    let steps: Vec<(u64, u64, i64, f64)> = firsts
        .windows(2)
        .map(|w| {
            let secs = w[1].1 - w[0].1;
            (w[0].0, w[1].0, secs, secs as f64 / (w[1].0 - w[0].0) as f64)
        })
        .collect();
    if steps.len() < STALL_MIN_INTERVALS {
        return Vec::new();
    }
    let mut per_step: Vec<f64> = steps.iter().map(|s| s.3).collect();
    let median = median(&mut per_step);
    if median <= 0.0 {
        return Vec::new();
    }
    // From `iter()`, not `into_iter()`: collecting in place would reuse the
    // steps' allocation, and every folder's (mostly empty) stall list would
    // keep 32 bytes per segment alive until the report (54 MB at a million files).
    steps
        .iter()
        .filter(|s| s.3 > factor * median && s.3 >= median + STALL_MIN_EXTRA_SECS)
        .map(|&(after_seq, seq, seconds, _)| Stall {
            after_seq,
            seq,
            seconds,
            median_seconds: median,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment before it is added to a folder (tests change its fields).
    struct Seg {
        name: String,
        seq: Option<u64>,
        time: i64,
        size: Option<u64>,
        foreign_id: Option<String>,
    }

    fn seg(seq: Option<u64>, time: i64) -> Seg {
        let name = match seq {
            Some(s) => format!("s_1_t{time}_seq_{s:04}.mp4"),
            None => format!("s_1_t{time}.mp4"),
        };
        Seg {
            name,
            seq,
            time,
            size: Some(10),
            foreign_id: None,
        }
    }

    fn folder(segs: Vec<Seg>) -> FolderObs {
        let mut f = FolderObs::new(None, "s_1".into());
        for s in segs {
            f.push_segment(&s.name, s.seq, s.time, s.size, s.foreign_id);
        }
        f
    }

    fn paced(seqs: &[u64]) -> Vec<Seg> {
        seqs.iter().map(|&s| seg(Some(s), s as i64 * 30)).collect()
    }

    #[test]
    fn clean_folder_has_no_findings() {
        let f = audit_student(&folder(paced(&[1, 2, 3, 4, 5])), &SeqRules::default());
        assert!(!f.has_findings(), "{f:?}");
        assert_eq!((f.first_seq, f.last_seq, f.segments), (Some(1), Some(5), 5));
    }

    #[test]
    fn finds_gaps_leading_gap_and_duplicates() {
        let mut segs = paced(&[3, 4, 7, 8, 10]);
        segs.push(seg(Some(4), 125));
        let f = audit_student(&folder(segs), &SeqRules::default());
        assert_eq!(f.gaps, [[5, 6], [9, 9]]);
        assert_eq!(f.leading_gap, Some([1, 2]));
        assert_eq!(f.duplicates.len(), 1);
        assert_eq!(f.duplicates[0].seq, 4);
        assert_eq!(
            f.duplicates[0].files,
            ["s_1_t120_seq_0004.mp4", "s_1_t125_seq_0004.mp4"]
        );
        assert!(f.out_of_order.is_empty());
    }

    #[test]
    fn unsequenced_foreign_and_empty_files() {
        let mut segs = paced(&[1, 2]);
        segs.push(seg(None, 90));
        segs[0].size = Some(0);
        let mut other = seg(Some(3), 90);
        other.foreign_id = Some("s_2".into());
        segs.push(other);
        let rules = SeqRules {
            min_size: 5,
            ..SeqRules::default()
        };
        let f = audit_student(&folder(segs), &rules);
        assert_eq!(f.unsequenced, ["s_1_t90.mp4"]);
        assert_eq!(f.foreign[0].id, "s_2");
        assert_eq!(
            f.empty.iter().map(|e| (e.file(), e.size)).collect::<Vec<_>>(),
            [("s_1_t30_seq_0001.mp4".to_string(), 0)]
        );
        assert_eq!(f.last_seq, Some(2), "foreign files stay out of the seq checks");
        assert_eq!(f.segments, 3);
    }

    /// The empty-file list of `segs` renamed to `names`, every one empty.
    fn empty_names(mut segs: Vec<Seg>, names: &[&str]) -> Vec<String> {
        for (s, name) in segs.iter_mut().zip(names) {
            s.name = (*name).into();
            s.size = Some(0);
        }
        let f = audit_student(&folder(segs), &SeqRules::default());
        f.empty.iter().map(|e| e.file()).collect()
    }

    #[test]
    fn empty_files_sort_by_their_escaped_names() {
        // Raw, `~` (0x7E) sorts before DEL (0x7F); escaped, `\u{7f}` sorts first.
        let names = empty_names(paced(&[1, 2, 3]), &["x~.mp4", "x\u{7f}.mp4", "w.mp4"]);
        assert_eq!(names, ["w.mp4", "x\\u{7f}.mp4", "x~.mp4"]);
    }

    #[test]
    fn empty_files_sort_by_name_not_by_seq() {
        let mut segs = paced(&[9, 10]);
        segs.push(seg(None, 500));
        let names = empty_names(segs, &["s_1_seq_9.mp4", "s_1_seq_10.mp4", "a.mp4"]);
        assert_eq!(names, ["a.mp4", "s_1_seq_10.mp4", "s_1_seq_9.mp4"]);
    }

    #[test]
    fn out_of_order_names_both_files() {
        let mut segs = paced(&[1, 2, 3, 4]);
        segs[2].time = 45; // seq 3 stamped before seq 2 (60)
        segs[2].name = "s_1_t45_seq_0003.mp4".into();
        let f = audit_student(&folder(segs), &SeqRules::default());
        assert_eq!(f.out_of_order.len(), 1);
        let o = &f.out_of_order[0];
        assert_eq!((o.seq, o.after_seq), (3, 2));
        assert_eq!(o.after_file, "s_1_t60_seq_0002.mp4");
    }

    proptest::proptest! {
        #[test]
        fn the_selected_median_is_the_sorted_one(mut v in proptest::collection::vec(-1e6f64..1e6, 1..60)) {
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let m = sorted.len() / 2;
            let expected = if sorted.len() % 2 == 0 { (sorted[m - 1] + sorted[m]) / 2.0 } else { sorted[m] };
            proptest::prop_assert_eq!(median(&mut v), expected);
        }
    }

    #[test]
    fn stalls_are_relative_to_the_students_own_pace() {
        let mut segs = paced(&[1, 2, 3, 4, 5]);
        for s in segs.iter_mut().skip(3) {
            s.time += 300; // a five-minute pause before seq 4
        }
        let f = audit_student(&folder(segs), &SeqRules::default());
        assert_eq!(f.stalls.len(), 1);
        assert_eq!(
            (f.stalls[0].after_seq, f.stalls[0].seq, f.stalls[0].seconds),
            (3, 4, 330)
        );
        assert_eq!(f.stalls[0].median_seconds, 30.0);
        // A gap doubles the raw interval but not the per-step pace.
        let g = audit_student(&folder(paced(&[1, 2, 3, 5, 6])), &SeqRules::default());
        assert!(g.stalls.is_empty());
    }

    #[test]
    fn short_students_against_expected_segments() {
        let rules = SeqRules {
            expect_segments: Some(6),
            ..SeqRules::default()
        };
        let f = audit_student(&folder(paced(&[1, 2, 3, 4])), &rules);
        assert_eq!(
            f.short,
            Some(Short {
                last_seq: 4,
                expected: 6,
                explained: false
            })
        );
        let full = audit_student(&folder(paced(&[1, 2, 3, 4, 5, 6])), &rules);
        assert_eq!(full.short, None);
    }
}
