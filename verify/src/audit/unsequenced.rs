//! Uploads sent without a seq (`loadgen --no-seq`) against the files that
//! landed without one: no seq ties an upload to a file, so they are held by
//! count and by size, per exam and student. Fewer files than acknowledged
//! uploads is data lost; a size no file has is a size mismatch; more files
//! than acknowledged uploads after failures is an answer lost.

use crate::audit::fold::ledger::{LedgerPart, StudentLedger};
use crate::audit::reconcile::row;
use crate::report::gate::{CrossKind, LedgerRow};

/// Holds one student's unsequenced uploads against its unsequenced files
/// (size, name).
pub fn unsequenced(
    ledger: &LedgerPart,
    id: &str,
    s: &StudentLedger,
    files: &[(Option<u64>, String)],
    rows: &mut Vec<LedgerRow>,
) {
    let Some(&(first, _)) = s.unsequenced.first() else {
        if let Some((loc, why, n)) = &s.unsequenced_failed
            && let Some((_, name)) = files.first()
        {
            rows.push(LedgerRow {
                file: Some(name.clone()),
                ..row(
                    CrossKind::UnackedPresent,
                    id,
                    Vec::new(),
                    Some(ledger.at(*loc)),
                    format!(
                        "{n} upload(s) without a seq failed ({why}) and none was acknowledged; {} file(s) without a seq are on disk: the server wrote them and the answers were lost",
                        files.len()
                    ),
                )
            });
        }
        return;
    };
    let (acked, on_disk) = (s.unsequenced.len(), files.len());
    let missing = acked.saturating_sub(on_disk);
    if missing > 0 {
        rows.push(row(
            CrossKind::AckedMissing,
            id,
            Vec::new(),
            Some(ledger.at(first)),
            format!(
                "the server answered 2xx for {acked} upload(s) without a seq (--no-seq); {on_disk} file(s) without a seq are on disk: {missing} lost"
            ),
        ));
    }
    // Sizes: every acknowledged size matched to a file of that size, once.
    let mut have: Vec<u64> = files.iter().filter_map(|f| f.0).collect();
    if have.len() == on_disk {
        have.sort_unstable();
        let mut sent: Vec<u64> = s.unsequenced.iter().map(|u| u.1).collect();
        sent.sort_unstable();
        let (mut i, mut unmatched) = (0usize, Vec::new());
        for q in sent {
            while have.get(i).is_some_and(|&h| h < q) {
                i += 1;
            }
            if have.get(i) == Some(&q) {
                i += 1;
            } else {
                unmatched.push(q);
            }
        }
        if unmatched.len() > missing {
            let shown: Vec<String> = unmatched.iter().take(5).map(u64::to_string).collect();
            rows.push(row(
                CrossKind::AckedSizeMismatch,
                id,
                Vec::new(),
                Some(ledger.at(first)),
                format!(
                    "{} upload(s) without a seq were acknowledged at a size no file without a seq has on disk (sent: {} B{})",
                    unmatched.len() - missing,
                    shown.join(" B, "),
                    if unmatched.len() > 5 { ", …" } else { "" }
                ),
            ));
        }
    }
    if let Some((loc, why, n)) = &s.unsequenced_failed
        && on_disk > acked
    {
        rows.push(row(
            CrossKind::UnackedPresent,
            id,
            Vec::new(),
            Some(ledger.at(*loc)),
            format!(
                "{n} upload(s) without a seq failed ({why}); {} more file(s) without a seq are on disk than uploads acknowledged: the server wrote them and the answers were lost",
                on_disk - acked
            ),
        ));
    }
}
