//! Cross-checks between the audits: what the server said against what the
//! disk holds and what the log shows. Pure: reports in, rows out.

use std::collections::{BTreeMap, BTreeSet};

use crate::findings::FailOn;
use crate::report::gate::{CollisionRow, CrossKind, CrossReport, GapRow};
use crate::report::ids::{IdsKind, IdsReport};
use crate::report::merge::MergeReport;
use crate::report::seq::SeqReport;

use super::ranges::{intersect, normalize, subtract};

/// Compares the audits that ran (any may be missing).
pub fn cross_check(
    ids: Option<&IdsReport>,
    seq: Option<&SeqReport>,
    merge: Option<&MergeReport>,
    fail_on: &FailOn<CrossKind>,
) -> CrossReport {
    let mut out = CrossReport::default();
    if let (Some(seq), Some(merge)) = (seq, merge) {
        out.gaps = gaps(seq, merge);
    }
    if let (Some(ids), Some(seq)) = (ids, seq) {
        let logged: BTreeSet<&str> = ids.logins.iter().map(|l| l.id.as_str()).collect();
        let recorded: BTreeSet<&str> = seq
            .present
            .iter()
            .filter(|p| p.segments > 0)
            .map(|p| p.id.as_str())
            .collect();
        out.logins_without_recordings = logged.difference(&recorded).map(|s| s.to_string()).collect();
        out.recordings_without_login = recorded.difference(&logged).map(|s| s.to_string()).collect();
        out.collisions = collisions(ids, seq);
    }
    let mut kinds: BTreeSet<CrossKind> = out
        .gaps
        .iter()
        .map(|g| g.kind)
        .chain(out.collisions.iter().map(|c| c.kind))
        .collect();
    if !out.logins_without_recordings.is_empty() {
        kinds.insert(CrossKind::LoginWithoutRecordings);
    }
    if !out.recordings_without_login.is_empty() {
        kinds.insert(CrossKind::RecordingsWithoutLogin);
    }
    out.failed_on = kinds.into_iter().filter(|k| fail_on.fails(*k)).collect();
    out
}

/// Server-reported gaps against disk gaps, per student and seq. Compared as
/// ranges: a gap of 10^14 seqs costs one range, not 10^14 set entries.
fn gaps(seq: &SeqReport, merge: &MergeReport) -> Vec<GapRow> {
    let mut server: BTreeMap<&str, Vec<[u64; 2]>> = BTreeMap::new();
    for g in &merge.server_gaps {
        server.entry(&g.id).or_default().extend_from_slice(&g.missing);
    }
    let mut disk: BTreeMap<&str, Vec<[u64; 2]>> = BTreeMap::new();
    for s in &seq.students {
        let ranges: Vec<[u64; 2]> = s.gaps.iter().copied().chain(s.leading_gap).collect();
        if !ranges.is_empty() {
            disk.entry(&s.id).or_default().extend(ranges);
        }
    }
    let ids: BTreeSet<&str> = server.keys().chain(disk.keys()).copied().collect();
    let mut rows = Vec::new();
    for id in ids {
        let sv = normalize(server.get(id).cloned().unwrap_or_default());
        let dk = normalize(disk.get(id).cloned().unwrap_or_default());
        for (kind, seqs) in [
            (CrossKind::GapBoth, intersect(&sv, &dk)),
            (CrossKind::GapServerOnly, subtract(&sv, &dk)),
            (CrossKind::GapDiskOnly, subtract(&dk, &sv)),
        ] {
            if !seqs.is_empty() {
                rows.push(GapRow {
                    id: id.to_string(),
                    seqs,
                    kind,
                });
            }
        }
    }
    rows
}

/// Log collisions against disk duplicates and foreign files.
fn collisions(ids: &IdsReport, seq: &SeqReport) -> Vec<CollisionRow> {
    let log: BTreeMap<&str, &str> = ids
        .duplicates
        .iter()
        .filter(|d| d.kind == IdsKind::Collision)
        .map(|d| (d.id.as_str(), d.evidence.as_str()))
        .collect();
    let disk: BTreeMap<&str, String> = seq
        .students
        .iter()
        .filter(|s| !s.duplicates.is_empty() || !s.foreign.is_empty())
        .map(|s| {
            let seqs: Vec<String> = s.duplicates.iter().map(|d| d.seq.to_string()).collect();
            (
                s.id.as_str(),
                format!(
                    "disk: seq {} in several files, {} foreign file(s)",
                    seqs.join(","),
                    s.foreign.len()
                ),
            )
        })
        .collect();
    let ids_all: BTreeSet<&str> = log.keys().chain(disk.keys()).copied().collect();
    ids_all
        .into_iter()
        .map(|id| {
            let (kind, evidence) = match (log.get(id), disk.get(id)) {
                (Some(l), Some(d)) => (CrossKind::CollisionConfirmed, format!("log: {l}; {d}")),
                (Some(l), None) => (
                    CrossKind::CollisionLogOnly,
                    format!("log: {l}; disk shows no duplicate"),
                ),
                (None, Some(d)) => (CrossKind::DuplicateDiskOnly, format!("{d}; no collision in the log")),
                (None, None) => unreachable!("id came from one of the maps"),
            };
            CollisionRow {
                id: id.to_string(),
                kind,
                evidence,
            }
        })
        .collect()
}
