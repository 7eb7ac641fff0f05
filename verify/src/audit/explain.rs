//! The seq check told what the client's ledger explains: gap, leading-gap
//! and short-tail seqs the client gave up, skipped, lost at exit or dropped
//! at a restart or kill, and duplicates it sent again after a restart, are
//! marked explained in the seq report and stop failing it. Everything else
//! is judged as before.

use std::collections::BTreeMap;

use crate::audit::fold::seq::short_tail;
use crate::audit::ranges::{intersect, normalize, subtract};
use crate::audit::seq::SeqRules;
use crate::findings::{FailOn, judge};
use crate::report::gate::{CrossKind, LedgerReport};
use crate::report::seq::{SeqKind, SeqReport};

/// Marks what `ledger` explains in `seq` and judges it again.
pub fn apply_explanations(seq: &mut SeqReport, ledger: &LedgerReport, rules: &SeqRules, fail_on: &FailOn<SeqKind>) {
    let mut by_student: BTreeMap<(Option<&str>, &str), Vec<[u64; 2]>> = BTreeMap::new();
    for r in ledger.rows.iter().filter(|r| CrossKind::EXPLAINS.contains(&r.kind)) {
        by_student
            .entry((r.exam.as_deref(), r.id.as_str()))
            .or_default()
            .extend(r.seqs.iter().copied());
    }
    let mut explained: BTreeMap<SeqKind, u64> = [
        SeqKind::Gap,
        SeqKind::LeadingGap,
        SeqKind::Duplicate,
        SeqKind::Short,
        SeqKind::MissingStudent,
    ]
    .into_iter()
    .map(|k| (k, 0))
    .collect();
    for s in &mut seq.students {
        let Some(ex) = by_student.get(&(s.exam.as_deref(), s.id.as_str())) else {
            continue;
        };
        let ex = normalize(ex.clone());
        let missing = normalize(s.gaps.iter().copied().chain(s.leading_gap).collect());
        s.explained = intersect(&missing, &ex);
        for d in &mut s.duplicates {
            d.explained = !intersect(&[[d.seq, d.seq]], &ex).is_empty();
        }
        if let Some(short) = s.short.as_mut() {
            short.explained = short_tail(short, rules).is_some_and(|t| subtract(&[t], &ex).is_empty());
        }
        for (k, n) in s.explained_counts() {
            let e = explained.entry(k).or_default();
            *e = e.saturating_add(n);
        }
    }
    for m in &mut seq.missing_students {
        let (Some(ex), Some(range)) = (by_student.get(&(m.exam.as_deref(), m.id.as_str())), absent_range(rules)) else {
            continue;
        };
        m.explained = subtract(&[range], &normalize(ex.clone())).is_empty();
        if m.explained {
            let e = explained.entry(SeqKind::MissingStudent).or_default();
            *e = e.saturating_add(1);
        }
    }
    seq.summary.explained = explained;
    rejudge(seq, fail_on);
}

/// The seqs an expected student without segments should have sent: from
/// `--first-seq` to `--expect-segments` (the first one without it).
fn absent_range(rules: &SeqRules) -> Option<[u64; 2]> {
    let n = rules.expect_segments.unwrap_or(1).max(1);
    Some([rules.first_seq, rules.first_seq.checked_add(n - 1)?])
}

/// Expected students without segments, and the seqs each lacks.
pub fn absent(seq: &SeqReport, rules: &SeqRules) -> BTreeMap<(Option<String>, String), [u64; 2]> {
    let Some(range) = absent_range(rules) else {
        return BTreeMap::new();
    };
    seq.missing_students
        .iter()
        .map(|m| ((m.exam.clone(), m.id.clone()), range))
        .collect()
}

/// The seq report judged on its findings less what is explained.
pub fn rejudge(seq: &mut SeqReport, fail_on: &FailOn<SeqKind>) {
    let counts = unexplained(seq);
    (seq.failed_on, seq.verdict) = judge(counts, fail_on, !seq.errors.is_empty());
}

/// Each kind's count less what the ledger explains.
pub fn unexplained(seq: &SeqReport) -> Vec<(SeqKind, u64)> {
    let s = &seq.summary;
    s.findings
        .iter()
        .map(|(&k, &n)| (k, n.saturating_sub(s.explained.get(&k).copied().unwrap_or(0))))
        .collect()
}
