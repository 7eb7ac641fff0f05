//! `verify gate --ledger`: hostile ledger lines (cut, wrong types, huge seqs)
//! are counted or folded, never a panic; the reconciliation of whatever they
//! say against a disk derived from them holds every finding to a ledger kind.
#![no_main]
use libfuzzer_sys::fuzz_target;
use verify::audit::fold::ledger::LedgerPart;
use verify::audit::reconcile::{Disk, SegRef, reconcile};
use verify::report::gate::CrossKind;

fuzz_target!(|data: &[u8]| {
    let mut part = LedgerPart::default();
    let f = part.add_file("fuzz.ndjson".into());
    for line in data.split(|&b| b == b'\n') {
        part.observe_line(f, line);
    }
    // A disk that holds every other seq the ledger names, with gaps between.
    let mut disk = Disk::default();
    for (id, s) in &part.students {
        let segs: Vec<SegRef> = s
            .seqs
            .keys()
            .filter(|q| *q % 2 == 0)
            .map(|&seq| SegRef { seq, size: Some(seq % 7), name: format!("{id}_{seq}") })
            .collect();
        let gaps = s.seqs.keys().filter(|q| *q % 2 == 1).map(|&q| [q, q]).collect();
        disk.segments.insert(id.clone(), segs);
        disk.gaps.insert(id.clone(), gaps);
    }
    let logins = part.students.keys().take(3).cloned().collect();
    let r = reconcile(&part, Some(&disk), Some(&logins));
    assert!(r.rows.iter().all(|row| CrossKind::LEDGER.contains(&row.kind)));
});
