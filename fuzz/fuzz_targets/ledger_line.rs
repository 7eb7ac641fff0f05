//! `verify gate --ledger`: hostile ledger lines (cut, wrong types, huge seqs,
//! unknown kinds) are read through the shared format (`common::ledger`): the
//! lean reading agrees with the full decode on every line, the fold counts
//! or folds each line and never panics, and the reconciliation of whatever
//! it read against a disk derived from it holds every finding to a ledger kind.
#![no_main]
use common::ledger::{Decoded, View, Viewed, decode, decode_view};
use libfuzzer_sys::fuzz_target;
use verify::audit::fold::ledger::LedgerPart;
use verify::audit::reconcile::{Disk, SegRef, reconcile};
use verify::report::gate::CrossKind;

fuzz_target!(|data: &[u8]| {
    let mut part = LedgerPart::default();
    let f = part.add_file("fuzz.ndjson".into());
    // A valid opening first, so the lines after it are folded, not refused.
    part.observe_line(
        f,
        br#"{"kind":"run","v":2,"tool":"t","host":"h","scenario":"s","task":null,"started_unix_ms":1}"#,
    );
    for line in data.split(|&b| b == b'\n') {
        let want = match decode(line) {
            Decoded::Blank => Viewed::Blank,
            Decoded::Record(r) => Viewed::Record(View::of(&r)),
            Decoded::UnknownKind(k) => Viewed::UnknownKind(k),
            Decoded::Malformed(e) => Viewed::Malformed(e),
        };
        assert_eq!(decode_view(line), want);
        if line.first() == Some(&b'#') {
            part.observe_overlong(f);
        } else {
            part.observe_line(f, line);
        }
    }
    let st = &part.files[0];
    assert_eq!(st.lines, data.split(|&b| b == b'\n').count() as u64 + 1);
    // A disk that holds every other seq the ledger names, with gaps between,
    // under the exam each student's records name.
    let mut disk = Disk::default();
    for (exam, id, s) in part.students() {
        let key = (exam.map(str::to_string), id.to_string());
        let segs: Vec<SegRef> = s
            .seqs
            .keys()
            .filter(|q| *q % 2 == 0)
            .map(|&seq| SegRef {
                seq,
                size: Some(seq % 7),
                name: format!("{id}_{seq}"),
            })
            .collect();
        let gaps = s.seqs.keys().filter(|q| *q % 2 == 1).map(|&q| [q, q]).collect();
        let unseq = s
            .unsequenced
            .iter()
            .skip(1)
            .map(|u| (Some(u.1), format!("{id}_u")))
            .collect();
        disk.segments.insert(key.clone(), segs.into());
        disk.gaps.insert(key.clone(), gaps);
        disk.unsequenced.insert(key, unseq);
    }
    let logins = part.students().take(3).map(|s| s.1.to_string()).collect();
    let r = reconcile(&part, Some(&disk), Some(&logins));
    assert!(r.rows.iter().all(|row| CrossKind::LEDGER.contains(&row.kind)));
});
