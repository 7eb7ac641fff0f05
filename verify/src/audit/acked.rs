//! Acknowledged uploads against the files on disk, seq by seq: each
//! acknowledgement must be matched by its own file of the size sent (a seq
//! acknowledged twice, after a client restart or in two run sections, needs
//! two files), and a failed attempt whose file is there anyway is named.

use std::cmp::Ordering;

use crate::audit::fold::ledger::{LedgerPart, Loc, SeqLedger, StudentLedger};
use crate::audit::reconcile::{SegRef, row};
use crate::report::gate::{CrossKind, LedgerRow};

/// Acknowledged uploads against the files; failed ones whose file exists.
/// The files are sorted by seq once and walked beside the ledger's seqs
/// (both ascending): a million seqs cost a sort, not a scan per seq.
pub fn uploads(ledger: &LedgerPart, id: &str, s: &StudentLedger, segs: &[SegRef], rows: &mut Vec<LedgerRow>) {
    let mut sorted: Vec<(u64, &SegRef)> = segs.iter().map(|g| (g.seq, g)).collect();
    if !sorted.is_sorted_by_key(|g| g.0) {
        sorted.sort_unstable_by_key(|g| g.0);
    }
    let mut rest = &sorted[..];
    for (&seq, l) in &s.seqs {
        let below = rest.iter().take_while(|g| g.0 < seq).count();
        rest = rest.get(below..).unwrap_or_default();
        let here = rest.iter().take_while(|g| g.0 == seq).count();
        let (files, after) = rest.split_at(here.min(rest.len()));
        rest = after;
        let files: Vec<&SegRef> = files.iter().map(|g| g.1).collect();
        acked(ledger, id, seq, l, &files, rows);
        unacked(ledger, id, seq, l, &files, rows);
    }
}

/// The acknowledged attempts of one seq matched to its files by size, as
/// multisets (sorted, walked together: no scan per pair). Files whose size
/// was not read match any attempt.
fn acked(ledger: &LedgerPart, id: &str, seq: u64, l: &SeqLedger, files: &[&SegRef], rows: &mut Vec<LedgerRow>) {
    if l.acked.is_empty() {
        return;
    }
    let mut sent: Vec<(u64, Loc)> = l.acked.iter().map(|&(loc, z)| (z, loc)).collect();
    sent.sort_unstable();
    let mut disk: Vec<(u64, &SegRef)> = files.iter().filter_map(|f| f.size.map(|z| (z, *f))).collect();
    disk.sort_unstable_by_key(|d| d.0);
    let unknown_size = files.len().saturating_sub(disk.len());
    let (mut unmatched, mut left) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (sent.iter().peekable(), disk.iter().peekable());
    while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
        match x.0.cmp(&y.0) {
            Ordering::Equal => {
                a.next();
                b.next();
            }
            Ordering::Less => {
                unmatched.push(x);
                a.next();
            }
            Ordering::Greater => {
                left.push(y);
                b.next();
            }
        }
    }
    unmatched.extend(a.copied());
    left.extend(b.copied());
    // Files of unknown size stand for any attempt.
    let unmatched = unmatched.get(unknown_size.min(unmatched.len())..).unwrap_or_default();
    let Some(&(sent_size, loc)) = unmatched.first() else {
        return;
    };
    let times = match l.acked.len() {
        1 => String::new(),
        n => format!(" ({n} attempts acknowledged)"),
    };
    match left.first() {
        None if files.is_empty() => rows.push(row(
            CrossKind::AckedMissing,
            id,
            vec![[seq, seq]],
            Some(ledger.at(loc)),
            format!(
                "the server answered 2xx for seq {seq} ({sent_size} B sent){times}; no file with that seq is on disk"
            ),
        )),
        None => rows.push(LedgerRow {
            file: files.first().map(|f| f.name.clone()),
            ..row(
                CrossKind::AckedMissing,
                id,
                vec![[seq, seq]],
                Some(ledger.at(loc)),
                format!(
                    "the server answered 2xx for seq {seq} {} time(s); {} file(s) with that seq are on disk: {} acknowledged upload(s) lost (overwritten?)",
                    l.acked.len(),
                    files.len(),
                    unmatched.len()
                ),
            )
        }),
        Some(&(_, first)) => {
            let sizes: Vec<String> = files.iter().filter_map(|f| f.size).map(|z| z.to_string()).collect();
            rows.push(LedgerRow {
                file: Some(first.name.clone()),
                ..row(
                    CrossKind::AckedSizeMismatch,
                    id,
                    vec![[seq, seq]],
                    Some(ledger.at(loc)),
                    format!("sent {sent_size} B, acknowledged{times}; on disk {} B", sizes.join(", ")),
                )
            });
        }
    }
}

/// Files beyond the acknowledged attempts of a seq with a failed attempt:
/// the server wrote what the client thought failed.
fn unacked(ledger: &LedgerPart, id: &str, seq: u64, l: &SeqLedger, files: &[&SegRef], rows: &mut Vec<LedgerRow>) {
    let Some((loc, why)) = l.failed.first() else { return };
    if files.len() <= l.acked.len() {
        return;
    }
    let Some(f) = files.first() else { return };
    let detail = if l.acked.is_empty() {
        format!(
            "every attempt failed ({why}, {} attempt(s)); the file is on disk: the server wrote it and the answer was lost",
            l.failed.len()
        )
    } else {
        format!(
            "attempt failed ({why}) and a retry succeeded; the server kept both: {} files with seq {seq} (a duplicate seq)",
            files.len()
        )
    };
    rows.push(LedgerRow {
        file: Some(f.name.clone()),
        ..row(
            CrossKind::UnackedPresent,
            id,
            vec![[seq, seq]],
            Some(ledger.at(*loc)),
            detail,
        )
    });
}
