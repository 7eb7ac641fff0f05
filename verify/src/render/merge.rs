//! How a `verify merge` report reads for people and JUnit.

use super::{AuditView, Case, FindingRow, kind_note, short_list};
use crate::audit::ranges;
use crate::findings::{FailOn, Kind};
use crate::report::PathError;
use crate::report::merge::{MergeKind, MergeReport};
use common::exit::Outcome;

/// A merge report together with the `--fail-on` set that judged it.
#[derive(Debug)]
pub struct MergeView<'a> {
    pub report: &'a MergeReport,
    pub fail_on: &'a FailOn<MergeKind>,
}

impl AuditView for MergeView<'_> {
    fn name(&self) -> &'static str {
        "verify merge"
    }

    fn title(&self) -> String {
        let s = &self.report.summary;
        format!(
            "verify merge: {} file(s), {} lines, {} tasks",
            s.files, s.lines, s.tasks
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
        let note = |k: MergeKind, n: u64| kind_note(self.fail_on, k, n);
        let mut rows = vec![
            [
                "lines".into(),
                s.lines.to_string(),
                format!("{} celery, {} continuation", s.celery_lines, s.continuation_lines),
            ],
            [
                "students with gaps".into(),
                s.students_with_gaps.to_string(),
                format!(
                    "{} missing seqs; {}",
                    s.missing_seqs,
                    note(MergeKind::ServerGap, s.students_with_gaps)
                ),
            ],
            [
                "merges skipped".into(),
                s.students_skipped.to_string(),
                [
                    format!("students never merged; {} skipped run(s) in all", s.skipped),
                    note(MergeKind::MergeSkipped, s.students_skipped),
                ]
                .iter()
                .filter(|t| !t.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
            ],
            [
                "ffmpeg failures".into(),
                s.ffmpeg_failures.to_string(),
                "[FFmpeg] 合并失败 lines".into(),
            ],
            [
                "tasks failed".into(),
                s.failed.to_string(),
                note(MergeKind::TaskFailed, s.failed),
            ],
            [
                "never finished".into(),
                s.never_finished.to_string(),
                note(MergeKind::NeverFinished, s.never_finished),
            ],
            [
                "retries".into(),
                s.retries.to_string(),
                note(MergeKind::Retried, s.retries),
            ],
            [
                "warnings".into(),
                s.warnings.to_string(),
                note(MergeKind::Warning, s.warnings),
            ],
        ];
        if s.no_tasks() > 0 {
            rows.push(["tasks".into(), "0".into(), note(MergeKind::NoTasks, s.no_tasks())]);
        }
        if s.mixed_encoding_lines > 0 {
            rows.push([
                "mixed-encoding lines".into(),
                s.mixed_encoding_lines.to_string(),
                "warning: the logs mix UTF-8 and GB18030 (a server restarted under another locale?); \
                 each line was read in the one it is valid in"
                    .into(),
            ]);
        }
        if s.other_exam_tasks > 0 {
            rows.push([
                "other exams".into(),
                s.other_exam_tasks.to_string(),
                "tasks left out (--exam)".into(),
            ]);
        }
        for f in &self.report.files {
            rows.push([
                format!("file {}", f.path),
                format!("{} lines", f.lines),
                if f.mixed_encoding_lines > 0 {
                    format!(
                        "{}; mixes encodings: {} line(s) in {}",
                        f.encoding,
                        f.mixed_encoding_lines,
                        if f.encoding == "utf-8" { "gb18030" } else { "utf-8" }
                    )
                } else {
                    f.encoding.clone()
                },
            ]);
        }
        for t in &self.report.tasks {
            let d = t.duration_ms.map_or(String::new(), |d| {
                format!("; ms p50 {:.1} p99 {:.1} max {:.1}", d.p50, d.p99, d.max)
            });
            rows.push([
                format!("task {}", t.name),
                format!("{} received", t.received),
                format!(
                    "{} ok, {} skipped, {} failed, {} retried, {} unfinished{d}",
                    t.succeeded, t.skipped, t.failed, t.retried, t.never_finished
                ),
            ]);
        }
        rows
    }

    fn finding_rows(&self) -> Vec<FindingRow> {
        let r = self.report;
        let row = |student: &str, kind: MergeKind, detail: String| FindingRow::of(self.fail_on, kind, student, detail);
        let in_exam = |mut row: FindingRow, exam: &Option<String>| {
            row.exam = exam.clone().unwrap_or_default();
            row
        };
        let mut rows: Vec<FindingRow> = r
            .server_gaps
            .iter()
            .map(|g| {
                let again = if g.times > 1 {
                    format!(", reported {} times", g.times)
                } else {
                    String::new()
                };
                let detail = format!(
                    "server reports missing {} ({}:{}{again})",
                    ranges::format(&g.missing),
                    g.file,
                    g.line
                );
                in_exam(row(&g.id, MergeKind::ServerGap, detail), &g.exam)
            })
            .collect();
        rows.extend(r.merge_skipped.iter().map(|m| {
            let detail = format!(
                "merge skipped, video never merged: missing {}; {} run(s), re-queued {} time(s) ({}:{})",
                ranges::format(&m.missing),
                m.runs,
                m.requeued,
                m.file,
                m.line
            );
            in_exam(row(&m.id, MergeKind::MergeSkipped, detail), &m.exam)
        }));
        // Retries and ffmpeg failures per student (a skipped student's
        // re-queues are in its merge_skipped row).
        rows.extend(
            r.students
                .iter()
                .filter(|s| s.retries > 0 || s.ffmpeg_failures > 0)
                .map(|s| {
                    let outcome = if s.merged { "merged in the end" } else { "not merged" };
                    let detail = format!(
                        "{} retries, {} ffmpeg failure(s), {} task(s) ({} re-queued); {outcome}",
                        s.retries, s.ffmpeg_failures, s.tasks, s.requeued
                    );
                    in_exam(row(&s.id, MergeKind::Retried, detail), &s.exam)
                }),
        );
        for f in &r.failures {
            let at: Vec<String> = f
                .samples
                .iter()
                .map(|s| format!("{}:{} {}", s.file, s.line, s.text))
                .collect();
            rows.push(row(
                "",
                MergeKind::TaskFailed,
                format!("{} × {} in {}: {}", f.count, f.exception, f.name, short_list(&at, 2)),
            ));
        }
        rows.extend(r.never_finished.iter().map(|t| {
            row(
                "",
                MergeKind::NeverFinished,
                format!("{}[{}] received at {}:{}, never finished", t.name, t.id, t.file, t.line),
            )
        }));
        if r.summary.no_tasks() > 0 {
            rows.push(row(
                "",
                MergeKind::NoTasks,
                if r.summary.other_exam_tasks > 0 {
                    format!(
                        "no task of the exam(s) asked for: {} task(s) of other exams left out (--exam)",
                        r.summary.other_exam_tasks
                    )
                } else {
                    format!(
                        "{} lines in {} file(s), not one task line: the wrong log or the wrong --encoding? \
                         (--allow-empty accepts a log without tasks)",
                        r.summary.lines, r.summary.files
                    )
                },
            ));
        }
        rows.extend(
            r.warnings
                .iter()
                .map(|w| row(&w.id, MergeKind::Warning, format!("{} ({}:{})", w.text, w.file, w.line))),
        );
        rows
    }

    fn errors(&self) -> Vec<PathError> {
        self.report.errors.clone()
    }

    fn junit_cases(&self) -> Vec<Case> {
        let mut cases = Vec::new();
        for (kind, rows) in MergeKind::ALL.iter().map(|k| {
            (
                *k,
                self.finding_rows()
                    .into_iter()
                    .filter(|r| r.kind == k.name())
                    .collect::<Vec<_>>(),
            )
        }) {
            let texts: Vec<String> = rows
                .iter()
                .map(|r| {
                    if r.student.is_empty() {
                        r.detail.clone()
                    } else {
                        format!("{}: {}", r.student, r.detail)
                    }
                })
                .collect();
            let fails = self.fail_on.fails(kind) && !texts.is_empty();
            cases.push(Case::finding(
                kind.name().to_string(),
                "verify.merge".into(),
                texts,
                fails,
            ));
        }
        cases.extend(
            self.report
                .errors
                .iter()
                .map(|e| Case::read_error(e, "verify.merge.errors")),
        );
        cases
    }
}
