//! How a gate report reads: the checks' views side by side, plus the cross-checks.

use super::ids::IdsView;
use super::merge::MergeView;
use super::seq::SeqView;
use super::{AuditView, Case, FindingRow};
use crate::audit::ranges;
use crate::findings::FailOnSets;
use crate::findings::Kind;
use crate::report::PathError;
use crate::report::gate::{CrossKind, CrossReport, GateReport};
use common::exit::Outcome;

/// The cross-checks as an audit of their own (one JUnit suite).
#[derive(Debug)]
pub struct CrossView<'a> {
    pub report: &'a CrossReport,
    pub fail_on: &'a crate::findings::FailOn<CrossKind>,
}

impl AuditView for CrossView<'_> {
    fn name(&self) -> &'static str {
        "verify cross-checks"
    }

    fn title(&self) -> String {
        "cross-checks".into()
    }

    fn outcome(&self) -> Outcome {
        Outcome::judge(!self.errors().is_empty(), !self.report.failed_on.is_empty())
    }

    fn failed_on(&self) -> Vec<String> {
        self.report.failed_on.iter().map(|k| k.name().to_string()).collect()
    }

    fn summary_rows(&self) -> Vec<[String; 3]> {
        let r = self.report;
        let count = |k: CrossKind| {
            r.gaps.iter().filter(|g| g.kind == k).count() + r.collisions.iter().filter(|c| c.kind == k).count()
        };
        let mut rows: Vec<[String; 3]> = [
            CrossKind::GapBoth,
            CrossKind::GapServerOnly,
            CrossKind::GapDiskOnly,
            CrossKind::CollisionConfirmed,
            CrossKind::CollisionLogOnly,
            CrossKind::DuplicateDiskOnly,
        ]
        .iter()
        .map(|k| [format!("cross {}", k.name()), count(*k).to_string(), String::new()])
        .collect();
        rows.push([
            "cross login_without_recordings".into(),
            r.logins_without_recordings.len().to_string(),
            String::new(),
        ]);
        rows.push([
            "cross recordings_without_login".into(),
            r.recordings_without_login.len().to_string(),
            String::new(),
        ]);
        if let Some(l) = &r.ledger {
            let complete = l.files.iter().filter(|f| f.complete).count();
            rows.push([
                "ledger files (complete)".into(),
                format!("{} ({complete})", l.files.len()),
                if complete < l.files.len() {
                    "cut short".into()
                } else {
                    String::new()
                },
            ]);
            rows.push([
                "ledger uploads (acked seqs)".into(),
                if l.acked_unsequenced > 0 {
                    format!(
                        "{} ({}; {} without a seq)",
                        l.uploads, l.acked_seqs, l.acked_unsequenced
                    )
                } else {
                    format!("{} ({})", l.uploads, l.acked_seqs)
                },
                String::new(),
            ]);
            for k in CrossKind::LEDGER {
                let n = l.rows.iter().filter(|x| x.kind == *k).count() as u64;
                rows.push([
                    format!("cross {}", k.name()),
                    n.to_string(),
                    super::kind_note(self.fail_on, *k, n),
                ]);
            }
        }
        rows
    }

    fn finding_rows(&self) -> Vec<FindingRow> {
        let r = self.report;
        let row = |student: &str, kind: CrossKind, detail: String| FindingRow {
            check: "cross",
            ..FindingRow::of(self.fail_on, kind, student, detail)
        };
        let mut rows: Vec<FindingRow> = r
            .gaps
            .iter()
            .map(|g| {
                let who = match g.kind {
                    CrossKind::GapBoth => "server and disk agree",
                    CrossKind::GapServerOnly => "server reported it, the disk has the segments",
                    _ => "missing on disk, the server never reported it",
                };
                row(&g.id, g.kind, format!("seq {}: {who}", ranges::format(&g.seqs)))
            })
            .collect();
        rows.extend(r.collisions.iter().map(|c| row(&c.id, c.kind, c.evidence.clone())));
        rows.extend(
            r.logins_without_recordings
                .iter()
                .map(|id| row(id, CrossKind::LoginWithoutRecordings, "logged in, no recordings".into())),
        );
        rows.extend(r.recordings_without_login.iter().map(|id| {
            row(
                id,
                CrossKind::RecordingsWithoutLogin,
                "recordings, never logged in".into(),
            )
        }));
        if let Some(l) = &r.ledger {
            rows.extend(l.rows.iter().map(|x| {
                let mut detail = x.detail.clone();
                if let Some(rec) = &x.record {
                    detail.push_str(&format!(" [ledger {rec}]"));
                }
                if let Some(f) = &x.file {
                    detail.push_str(&format!(" [file {f}]"));
                }
                FindingRow {
                    exam: x.exam.clone().unwrap_or_default(),
                    explained: CrossKind::EXPLAINS.contains(&x.kind),
                    ..row(&x.id, x.kind, detail)
                }
            }));
            rows.extend(l.notes.iter().map(|n| FindingRow {
                check: "cross",
                kind: "ledger_note",
                fails: false,
                ..FindingRow::of(self.fail_on, CrossKind::GapUnexplained, "-", n.clone())
            }));
        }
        rows
    }

    fn errors(&self) -> Vec<PathError> {
        self.report
            .ledger
            .as_ref()
            .map(|l| l.errors.clone())
            .unwrap_or_default()
    }

    fn junit_cases(&self) -> Vec<Case> {
        let ledger = self.report.ledger.is_some();
        let mut cases: Vec<Case> = CrossKind::ALL
            .iter()
            .filter(|k| ledger || !CrossKind::LEDGER.contains(k))
            .map(|k| {
                let texts: Vec<String> = self
                    .finding_rows()
                    .into_iter()
                    .filter(|r| r.kind == k.name())
                    .map(|r| format!("{}: {}", r.student, r.detail))
                    .collect();
                let fails = self.fail_on.fails(*k) && !texts.is_empty();
                Case::finding(k.name().into(), "verify.cross".into(), texts, fails)
            })
            .collect();
        cases.extend(self.errors().iter().map(|e| Case::read_error(e, "verify.cross")));
        cases
    }
}

/// A gate report with the `--fail-on` sets that judged it.
#[derive(Debug)]
pub struct GateView<'a> {
    pub report: &'a GateReport,
    pub fail_on: &'a FailOnSets,
}

impl<'a> GateView<'a> {
    /// The views of the checks that ran, in order: ids, seq, merge, cross.
    pub fn parts(&self) -> Vec<Box<dyn AuditView + 'a>> {
        let (r, f) = (self.report, self.fail_on);
        let mut v: Vec<Box<dyn AuditView + 'a>> = Vec::new();
        if let Some(x) = &r.ids {
            v.push(Box::new(IdsView {
                report: x,
                fail_on: &f.ids,
            }));
        }
        if let Some(x) = &r.seq {
            v.push(Box::new(SeqView {
                report: x,
                fail_on: &f.seq,
            }));
        }
        if let Some(x) = &r.merge {
            v.push(Box::new(MergeView {
                report: x,
                fail_on: &f.merge,
            }));
        }
        if let Some(x) = &r.cross {
            v.push(Box::new(CrossView {
                report: x,
                fail_on: &f.cross,
            }));
        }
        v
    }
}

fn check_of(name: &str) -> &'static str {
    match name {
        "verify ids" => "ids",
        "verify seq" => "seq",
        "verify merge" => "merge",
        _ => "cross",
    }
}

impl AuditView for GateView<'_> {
    fn name(&self) -> &'static str {
        "verify gate"
    }

    fn title(&self) -> String {
        let checks: Vec<&str> = self.report.checks.iter().map(|c| c.check.as_str()).collect();
        let mut t = format!("verify gate: {}", checks.join(" + "));
        if !self.report.merged_from.is_empty() {
            t.push_str(&format!(" (combined from {})", self.report.merged_from.join(", ")));
        }
        t
    }

    fn outcome(&self) -> Outcome {
        self.report.outcome()
    }

    fn failed_on(&self) -> Vec<String> {
        self.report.failed_on.clone()
    }

    fn summary_rows(&self) -> Vec<[String; 3]> {
        let mut rows: Vec<[String; 3]> = self
            .report
            .checks
            .iter()
            .map(|c| {
                [
                    format!("check {}", c.check),
                    c.verdict.word().to_uppercase(),
                    c.failed_on.join(", "),
                ]
            })
            .collect();
        for part in self.parts() {
            if part.name() == "verify cross-checks" {
                rows.extend(part.summary_rows());
            } else {
                let prefix = check_of(part.name());
                rows.extend(
                    part.summary_rows()
                        .into_iter()
                        .map(|[a, b, c]| [format!("{prefix} {a}"), b, c]),
                );
            }
        }
        rows
    }

    fn finding_rows(&self) -> Vec<FindingRow> {
        self.parts()
            .iter()
            .flat_map(|p| {
                let check = check_of(p.name());
                p.finding_rows().into_iter().map(move |mut r| {
                    r.check = check;
                    r
                })
            })
            .collect()
    }

    fn errors(&self) -> Vec<PathError> {
        self.parts().iter().flat_map(|p| p.errors()).collect()
    }

    fn junit_cases(&self) -> Vec<Case> {
        self.parts().iter().flat_map(|p| p.junit_cases()).collect()
    }
}
