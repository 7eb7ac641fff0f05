//! Why a seq is missing or doubled on disk, from what the client's ledger
//! says it did: given up, skipped, still queued at exit, dropped at a
//! client restart or kill (and never recorded after a kill), or sent again
//! after a restart. Each gap seq gets exactly one cause; what the ledger
//! explains is the client's doing, not a server fault.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::fold::ledger::{LedgerPart, Loc, StudentLedger};
use crate::audit::ranges::{self, normalize, subtract};
use crate::audit::reconcile::SegRef;
use crate::report::gate::{CrossKind, LedgerRow};

/// The causes of one student's missing seqs (gaps and the short tail): each
/// seq of `gaps` in exactly one of the returned range lists (the property
/// test holds this).
pub fn gap_causes(gaps: &[[u64; 2]], s: Option<&StudentLedger>) -> Vec<(CrossKind, Vec<[u64; 2]>)> {
    let gaps = normalize(gaps.to_vec());
    let Some(s) = s else {
        return vec![(CrossKind::GapUnexplained, gaps)];
    };
    let set = |seqs: BTreeSet<u64>| ranges::compress(&seqs.into_iter().collect::<Vec<_>>());
    let acked = set(s
        .seqs
        .iter()
        .filter(|(_, l)| !l.acked.is_empty())
        .map(|(&q, _)| q)
        .collect());
    let lost = set(s.lost_at_exit.keys().copied().collect());
    let (restarted, killed) = fault_seqs(s);
    let tried = set(s
        .seqs
        .iter()
        .filter(|(_, l)| l.acked.is_empty())
        .map(|(&q, _)| q)
        .chain(s.gave_up.keys().copied())
        .collect());
    let skipped = set(s.skipped.keys().copied().collect());
    let mut rest = gaps;
    let mut out = Vec::new();
    for (kind, seqs) in [
        (CrossKind::AckedMissing, acked),
        (CrossKind::GapClientLostAtExit, lost),
        (CrossKind::GapClientRestarted, restarted),
        (CrossKind::GapClientKilled, killed),
        (CrossKind::GapClientGaveUp, tried),
        (CrossKind::GapClientSkipped, skipped),
    ] {
        let hit = ranges::intersect(&rest, &normalize(seqs));
        if !hit.is_empty() {
            rest = subtract(&rest, &hit);
            out.push((kind, hit));
        }
    }
    if !rest.is_empty() {
        out.push((CrossKind::GapUnexplained, rest));
    }
    out
}

/// Seqs a restart dropped (its queue, and seqs above its last one the
/// client never sent after it: counting started again at 1), and seqs a
/// kill dropped (its queue and every seq after its last one). One pass
/// over the faults: only the lowest `last_seq` of each kind bounds a tail.
///
/// A fault explains only in a file where the student's client was active
/// (logged in, or uploaded): a bare `killed` in another ledger file is no
/// client's. A kill bounds no tail when the same file holds uploads of the
/// student after it (a later run's section): that run was not killed.
fn fault_seqs(s: &StudentLedger) -> (Vec<[u64; 2]>, Vec<[u64; 2]>) {
    let attempts = || {
        s.seqs
            .values()
            .flat_map(|q| q.acked.iter().map(|a| a.0).chain(q.failed.iter().map(|f| f.0)))
    };
    let active: std::collections::BTreeSet<usize> = attempts().map(|l| l.0).chain(s.login_ok.map(|l| l.0)).collect();
    let uploads_after = |at: Loc| attempts().any(|l| l.0 == at.0 && l.1 > at.1);
    let (mut restarted, mut killed) = (Vec::new(), Vec::new());
    let (mut restart_from, mut kill_from) = (None::<u64>, None::<u64>);
    for f in s.faults.iter().filter(|f| active.contains(&f.at.0)) {
        if f.killed && uploads_after(f.at) {
            killed.extend(f.lost.iter().map(|&q| [q, q]));
            continue;
        }
        let (lost, from) = if f.killed {
            (&mut killed, &mut kill_from)
        } else {
            (&mut restarted, &mut restart_from)
        };
        lost.extend(f.lost.iter().map(|&q| [q, q]));
        *from = Some(from.map_or(f.last_seq, |m| m.min(f.last_seq)));
    }
    if let Some(a) = restart_from.and_then(|l| l.checked_add(1)) {
        let sent = ranges::compress(&s.seqs.keys().copied().collect::<Vec<_>>());
        restarted.extend(subtract(&[[a, u64::MAX]], &sent));
    }
    if let Some(a) = kill_from.and_then(|l| l.checked_add(1)) {
        killed.push([a, u64::MAX]);
    }
    (normalize(restarted), normalize(killed))
}

/// The row for a cause of missing seqs.
pub fn gap_row(
    ledger: &LedgerPart,
    id: &str,
    s: Option<&StudentLedger>,
    kind: CrossKind,
    seqs: Vec<[u64; 2]>,
) -> LedgerRow {
    let first_of = |m: &BTreeMap<u64, Loc>| seqs.iter().find_map(|&[a, b]| m.range(a..=b).next().map(|(_, l)| *l));
    let fault = |killed: bool| {
        s.and_then(|s| s.faults.iter().find(|f| f.killed == killed))
            .map(|f| (f.at, f.last_seq))
    };
    let (record, detail) = match (kind, s) {
        (CrossKind::GapClientGaveUp, Some(s)) => {
            let fail = seqs
                .iter()
                .find_map(|&[a, b]| s.seqs.range(a..=b).find_map(|(_, l)| l.failed.last().cloned()));
            let rec = first_of(&s.gave_up).or(fail.as_ref().map(|f| f.0));
            let why = fail.map_or_else(String::new, |f| format!(" (last failure: {})", f.1));
            (
                rec,
                format!("the client never got these acknowledged and gave up{why}: explained"),
            )
        }
        (CrossKind::GapClientSkipped, Some(s)) => (
            first_of(&s.skipped),
            "skipped on purpose by the client (--skip-seq): explained".into(),
        ),
        (CrossKind::GapClientLostAtExit, Some(s)) => (
            first_of(&s.lost_at_exit),
            "still queued when the client's exit passes ended, dropped by the client (lost_at_exit): explained".into(),
        ),
        (CrossKind::GapClientRestarted, Some(_)) => {
            let (at, last) = fault(false).unzip();
            (
                at,
                format!(
                    "the client restarted after seq {}: its queue was dropped and its seq counted again from 1: explained",
                    last.unwrap_or(0)
                ),
            )
        }
        (CrossKind::GapClientKilled, Some(_)) => {
            let (at, last) = fault(true).unzip();
            (
                at,
                format!(
                    "the client was killed after seq {}: its queue was lost, later seqs never recorded: explained",
                    last.unwrap_or(0)
                ),
            )
        }
        (_, None) => (
            None,
            "no ledger records this student (a client whose ledger was not given?)".into(),
        ),
        (_, Some(s)) => {
            let last = s.seqs.keys().next_back().copied();
            let why = match (&s.ended, ledger.complete()) {
                (Some((why, _)), _) => format!("the client ended abnormally ({why}) before trying them"),
                (None, false) if seqs.iter().all(|r| last.is_none_or(|l| r[0] > l)) => {
                    "the ledger ends before these seqs (run killed?): cannot know".into()
                }
                _ => "the client never tried these seqs".into(),
            };
            (Some(s.last), why)
        }
    };
    LedgerRow {
        kind,
        exam: None,
        id: id.to_string(),
        detail: format!("seq {}: {detail}", ranges::format_capped(&seqs, 5)),
        seqs,
        record: record.map(|l| ledger.at(l)),
        file: None,
    }
}

/// Duplicate seqs on disk the client explains: each file of the seq was
/// acknowledged by its own upload (the client sent the seq again after a
/// restart, or in another run section), or a restart after that seq
/// accounts for every extra file.
pub fn duplicate_rows(
    ledger: &LedgerPart,
    id: &str,
    s: &StudentLedger,
    dups: &[u64],
    segs: &[SegRef],
) -> Vec<LedgerRow> {
    // Files per duplicated seq, in one pass; restarts by their last seq, so
    // those after a seq are counted by a binary search, not a scan.
    let mut files: BTreeMap<u64, usize> = dups.iter().map(|&q| (q, 0)).collect();
    for g in segs {
        if let Some(n) = files.get_mut(&g.seq) {
            *n = n.saturating_add(1);
        }
    }
    let mut restarts: Vec<(u64, Loc)> = s
        .faults
        .iter()
        .filter(|f| !f.killed)
        .map(|f| (f.last_seq, f.at))
        .collect();
    restarts.sort_unstable();
    let mut explained = Vec::new();
    let mut at = None;
    for (&seq, &files) in &files {
        let acked = s.seqs.get(&seq).map_or(0, |l| l.acked.len());
        let first_after = restarts.partition_point(|r| r.0 < seq);
        let after = restarts.len().saturating_sub(first_after);
        if files < 2 || (acked < files && after.saturating_add(1) < files) {
            continue;
        }
        at = at.or(restarts.get(first_after).map(|r| r.1));
        explained.push(seq);
    }
    if explained.is_empty() {
        return Vec::new();
    }
    let seqs = ranges::compress(&explained);
    let how = match at {
        Some(_) => "sent again after the client restarted (seq counting again from 1)",
        None => "sent again by the client (another run section) and acknowledged each time",
    };
    vec![LedgerRow {
        kind: CrossKind::DuplicateClientRestarted,
        exam: None,
        id: id.to_string(),
        detail: format!(
            "seq {} on disk more than once: {how}: explained",
            ranges::format_capped(&seqs, 5)
        ),
        seqs,
        record: at.map(|l| ledger.at(l)),
        file: None,
    }]
}
