//! How a `verify seq` report reads for people and JUnit.

use std::collections::BTreeMap;

use super::{AuditView, Case, FindingRow, kind_note, short_list, short_list_of};
use crate::audit::ranges;
use crate::findings::{FailOn, Kind};
use crate::report::PathError;
use crate::report::seq::{SeqKind, SeqReport, StudentFindings, StudentRef};
use common::exit::Outcome;

/// A seq report together with the `--fail-on` set that judged it.
#[derive(Debug)]
pub struct SeqView<'a> {
    /// The report.
    pub report: &'a SeqReport,
    /// Which kinds fail.
    pub fail_on: &'a FailOn<SeqKind>,
}

const LIST_KEEP: usize = 3;

fn exam_name(exam: &Option<String>) -> String {
    exam.clone().unwrap_or_default()
}

/// Per-kind detail texts for one student, in kind order.
pub fn details(s: &StudentFindings) -> Vec<(SeqKind, String)> {
    let mut d = Vec::new();
    // What the client's ledger explains is told by the ledger's rows, once.
    let explained = ranges::normalize(s.explained.clone());
    let gaps = ranges::subtract(&ranges::normalize(s.gaps.clone()), &explained);
    if !gaps.is_empty() {
        let n = ranges::count(&gaps);
        d.push((
            SeqKind::Gap,
            // The count first: a cell cut to the terminal's width keeps it.
            format!("{n} seq{} missing: {}", plural(n), ranges::format(&gaps)),
        ));
    }
    if let Some(g) = s.leading_gap {
        let left = ranges::subtract(&[g], &explained);
        if !left.is_empty() {
            d.push((
                SeqKind::LeadingGap,
                format!(
                    "starts at seq {}: missing {}",
                    g[1].saturating_add(1),
                    ranges::format(&left)
                ),
            ));
        }
    }
    for dup in s.duplicates.iter().filter(|d| !d.explained) {
        d.push((
            SeqKind::Duplicate,
            format!(
                "seq {} in {} files: {}",
                dup.seq,
                dup.files.len(),
                short_list(&dup.files, LIST_KEEP)
            ),
        ));
    }
    if !s.unsequenced.is_empty() {
        d.push((
            SeqKind::Unsequenced,
            format!(
                "{} file(s) without _seq_N: {}",
                s.unsequenced.len(),
                short_list(&s.unsequenced, LIST_KEEP)
            ),
        ));
    }
    if !s.foreign.is_empty() {
        let items = s.foreign.iter().map(|f| format!("{} (ID {})", f.file, f.id));
        d.push((
            SeqKind::Foreign,
            format!(
                "{} file(s) of other students: {}",
                s.foreign.len(),
                short_list_of(s.foreign.len(), items, LIST_KEEP)
            ),
        ));
    }
    if !s.empty.is_empty() {
        let items = s.empty.iter().map(|f| format!("{f} ({} B)", f.size));
        d.push((
            SeqKind::Empty,
            format!(
                "{} file(s): {}",
                s.empty.len(),
                short_list_of(s.empty.len(), items, LIST_KEEP)
            ),
        ));
    }
    for o in &s.out_of_order {
        d.push((
            SeqKind::OutOfOrder,
            format!(
                "seq {} ({}) is stamped before seq {} ({})",
                o.seq, o.file, o.after_seq, o.after_file
            ),
        ));
    }
    for st in &s.stalls {
        d.push((
            SeqKind::Stall,
            format!(
                "{} s between seq {} and {} (usual {:.0} s)",
                st.seconds, st.after_seq, st.seq, st.median_seconds
            ),
        ));
    }
    if !s.unparseable.is_empty() {
        d.push((
            SeqKind::Unparseable,
            format!(
                "{} entr{}: {}",
                s.unparseable.len(),
                if s.unparseable.len() == 1 { "y" } else { "ies" },
                short_list(&s.unparseable, LIST_KEEP)
            ),
        ));
    }
    if let Some(sh) = s.short.as_ref().filter(|s| !s.explained) {
        d.push((
            SeqKind::Short,
            format!("last seq {} of {} expected", sh.last_seq, sh.expected),
        ));
    }
    d
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn ref_detail(r: &StudentRef) -> String {
    match r.reason.as_str() {
        "no_folder" => "no folder".to_string(),
        "no_segments" => "folder without segments".to_string(),
        _ => "not in --expect".to_string(),
    }
}

impl AuditView for SeqView<'_> {
    fn name(&self) -> &'static str {
        "verify seq"
    }

    fn title(&self) -> String {
        let r = self.report;
        let layout = serde_json::to_value(r.scanned.layout)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let names: Vec<String> = r.scanned.exams.iter().filter_map(|e| e.exam.clone()).collect();
        let exams = match names.len() {
            0 => format!("{} exam(s)", r.scanned.exams.len()),
            1 => format!("exam {}", short_list(&names, LIST_KEEP)),
            n => format!("{n} exams: {}", short_list(&names, LIST_KEEP)),
        };
        format!(
            "verify seq: {} ({layout}, {exams}, {} students)",
            r.scanned.root, r.summary.students
        )
    }

    fn outcome(&self) -> Outcome {
        self.report.outcome()
    }

    fn failed_on(&self) -> Vec<String> {
        self.report.failed_on.iter().map(|k| k.name().to_string()).collect()
    }

    fn summary_rows(&self) -> Vec<[String; 3]> {
        let s = &self.report.summary;
        let mut rows = vec![
            [
                "students".into(),
                s.students.to_string(),
                format!("{} with findings", s.students_with_findings),
            ],
            [
                "files".into(),
                s.files.to_string(),
                format!("{} segments, {} in flight", s.segments, s.in_flight),
            ],
        ];
        let exams = &self.report.scanned.exams;
        if exams.len() > 1 {
            let each = exams
                .iter()
                .map(|e| format!("{}: {} student(s)", e.exam.as_deref().unwrap_or("-"), e.students));
            rows.push([
                "exams".into(),
                exams.len().to_string(),
                short_list_of(exams.len(), each, 5),
            ]);
        }
        if s.expected_students > 0 {
            let note = if exams.len() > 1 {
                "in each exam (--exam ID audits one)".to_string()
            } else {
                String::new()
            };
            rows.push(["expected".into(), s.expected_students.to_string(), note]);
        }
        if !self.report.stray_files.is_empty() {
            let note = short_list(&self.report.stray_files, LIST_KEEP);
            rows.push(["stray files".into(), self.report.stray_files.len().to_string(), note]);
        }
        if s.skipped_links > 0 {
            rows.push([
                "links skipped".into(),
                s.skipped_links.to_string(),
                "--follow-links follows them".into(),
            ]);
        }
        for (&kind, &n) in &s.findings {
            let explained = s.explained.get(&kind).copied().unwrap_or(0);
            let note = match (explained, kind_note(self.fail_on, kind, n.saturating_sub(explained))) {
                (0, note) => note,
                (e, note) if note.is_empty() => format!("{e} explained by the ledger"),
                (e, note) => format!("{note} ({e} explained by the ledger)"),
            };
            rows.push([kind.name().to_string(), n.to_string(), note]);
        }
        if s.errors > 0 {
            rows.push(["errors".into(), s.errors.to_string(), "unreadable paths".into()]);
        }
        rows
    }

    fn finding_rows(&self) -> Vec<FindingRow> {
        let r = self.report;
        let row = |exam: &Option<String>, student: &str, kind: SeqKind, detail: String| FindingRow {
            check: "",
            exam: exam_name(exam),
            student: student.to_string(),
            kind: kind.name(),
            detail,
            fails: self.fail_on.fails(kind),
            explained: false,
        };
        // A missing student the ledger explains is told by the ledger's rows.
        let mut rows: Vec<FindingRow> = r
            .missing_students
            .iter()
            .filter(|m| !m.explained)
            .map(|m| row(&m.exam, &m.id, SeqKind::MissingStudent, ref_detail(m)))
            .collect();
        rows.extend(
            r.unexpected_students
                .iter()
                .map(|u| row(&u.exam, &u.id, SeqKind::UnexpectedStudent, ref_detail(u))),
        );
        for s in &r.students {
            rows.extend(details(s).into_iter().map(|(k, d)| row(&s.exam, &s.id, k, d)));
        }
        rows
    }

    fn errors(&self) -> Vec<PathError> {
        self.report.errors.clone()
    }

    fn junit_cases(&self) -> Vec<Case> {
        let r = self.report;
        let class = |exam: &Option<String>| match exam {
            Some(e) => format!("verify.seq.{e}"),
            None => "verify.seq".to_string(),
        };
        // One case per student: findings of folders and of the expectation merge.
        let mut cases: BTreeMap<(String, String), Case> = BTreeMap::new();
        let mut add = |exam: &Option<String>, id: &str, kind: SeqKind, detail: String| {
            let case = cases.entry((class(exam), id.to_string())).or_insert_with(|| Case {
                name: id.to_string(),
                classname: class(exam),
                failures: vec![],
                notes: vec![],
                error: None,
            });
            let text = format!("{}: {detail}", kind.name());
            if self.fail_on.fails(kind) {
                case.failures.push(text);
            } else {
                case.notes.push(text);
            }
        };
        for s in &r.students {
            for (kind, detail) in details(s) {
                add(&s.exam, &s.id, kind, detail);
            }
        }
        for m in r.missing_students.iter().filter(|m| !m.explained) {
            add(&m.exam, &m.id, SeqKind::MissingStudent, ref_detail(m));
        }
        for u in &r.unexpected_students {
            add(&u.exam, &u.id, SeqKind::UnexpectedStudent, ref_detail(u));
        }
        for (exam, id) in &r.clean {
            cases.entry((class(exam), id.clone())).or_insert_with(|| Case {
                name: id.clone(),
                classname: class(exam),
                failures: vec![],
                notes: vec![],
                error: None,
            });
        }
        let mut out: Vec<Case> = cases.into_values().collect();
        out.extend(r.errors.iter().map(|e| Case {
            name: e.path.clone(),
            classname: "verify.seq.errors".into(),
            failures: vec![],
            notes: vec![],
            error: Some(e.error.clone()),
        }));
        out
    }
}
