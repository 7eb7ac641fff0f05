//! The `verify gate` engine: the three audits against one population, the
//! cross-checks, one verdict; and the exact combination of gate reports from
//! several servers (`--merge`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::audit::fold::{GateFold, apply_missing_ratio, assemble};
use crate::audit::ids::{LoginEvent, LoginFold, Observation};
use crate::findings::{FailOn, Kind, judge};
use crate::report::PathError;
use crate::report::gate::GateReport;
use crate::report::ids::{IdsKind, IdsReport};
use crate::report::merge::{MergeFile, MergeKind, MergeReport, TaskStats};
use crate::report::seq::{SeqKind, SeqReport, StudentRef};
pub use crate::settings::GateConfig;

/// Why the gate could not run.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Transparent: the scan's message once (not again as its source).
    #[error(transparent)]
    Seq(#[from] crate::engine::seq::ScanError),
    #[error("start worker threads: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
    /// The login source could not be read (`--db`).
    #[error(transparent)]
    Ids(#[from] crate::engine::ids::IdsError),
    /// A `--ledger` that is no ledger this build reads, or one that cannot
    /// be held against the tree given.
    #[error("{0}")]
    Ledger(String),
}

/// Runs the checks that have inputs.
pub fn run_gate(cfg: &GateConfig) -> Result<GateReport, GateError> {
    Ok(read_gate(cfg)?.report())
}

/// Reads every input into one fold (`verify watch` builds its own, live).
pub fn read_gate(cfg: &GateConfig) -> Result<GateFold, GateError> {
    // The ledgers are read on their own thread while the logs and the tree
    // are: a million-line ledger then costs little more than the tree alone.
    let (ledger, rest) = std::thread::scope(|s| {
        let ledger = (!cfg.ledgers.is_empty()).then(|| s.spawn(|| crate::engine::ledger::read_ledgers(&cfg.ledgers)));
        let rest = read_audits(cfg);
        let ledger = ledger.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (ledger, rest)
    });
    let (ids, mut seq, merge) = rest?;
    let mut cfg = cfg.clone();
    let mut ledger = ledger;
    if let (Some(s), Some(sc), Some(l)) = (seq.as_mut(), cfg.seq.as_mut(), ledger.as_mut()) {
        ledger_scope(s, sc, l);
    }
    let fold = GateFold::new(cfg, ids, seq, merge).with_ledger(ledger);
    if let Some(l) = &fold.ledger {
        refuse_ledger(l, fold.seq.as_ref())?;
    }
    Ok(fold)
}

type Parts = (
    Option<crate::audit::fold::ids::IdsPart>,
    Option<crate::audit::fold::seq::SeqPart>,
    Option<crate::audit::fold::merge::MergePart>,
);

fn read_audits(cfg: &GateConfig) -> Result<Parts, GateError> {
    let ids = cfg.ids.as_ref().map(crate::engine::ids::read_ids).transpose()?;
    let seq = cfg
        .seq
        .as_ref()
        .map(|c| crate::engine::seq::read_seq(c, None))
        .transpose()?;
    let merge = cfg.merge.as_ref().map(crate::engine::merge::read_merge);
    Ok((ids, seq, merge))
}

/// Without `--exam`, a tree of several exams is audited in the exams the
/// ledger's uploads name (a second run on one server: the first run's exam
/// is not this run's), when the tree holds them all.
fn ledger_scope(
    seq: &mut crate::audit::fold::seq::SeqPart,
    cfg: &mut crate::settings::SeqConfig,
    l: &mut crate::audit::fold::ledger::LedgerPart,
) {
    if !cfg.exams.is_empty() || seq.exams.len() < 2 {
        return;
    }
    let named: Vec<String> = l
        .by_exam
        .iter()
        .filter(|(_, m)| m.values().any(|s| s.has_uploads()))
        .map(|(e, _)| e.clone())
        .collect();
    let held = |e: &String| seq.exams.iter().any(|x| x.exam.as_ref() == Some(e));
    if named.is_empty() || !named.iter().all(held) || named.len() == seq.exams.len() {
        return;
    }
    let all: Vec<&str> = seq.exams.iter().filter_map(|e| e.exam.as_deref()).collect();
    l.scope = Some(format!(
        "--dir holds exams {}: audited {}, the exam(s) the ledger's uploads name (--exam chooses)",
        all.join(", "),
        named.join(", ")
    ));
    seq.retain_exams(&named);
    cfg.exams = named;
}

/// Refuses (exit 2) a `--ledger` whose first record is no `run` of a version
/// this build reads, and exam-less records against a tree of several exams.
fn refuse_ledger(
    l: &crate::audit::fold::ledger::LedgerPart,
    seq: Option<&crate::audit::fold::seq::SeqPart>,
) -> Result<(), GateError> {
    if let Some((file, why)) = l.refusals().into_iter().next() {
        return Err(GateError::Ledger(format!(
            "--ledger {file}: not a ledger this build reads: {why}"
        )));
    }
    let exams = seq.map(|p| p.exam_dirs()).unwrap_or_default();
    match crate::audit::reconcile::exam_ambiguity(l, &exams) {
        Some(why) => Err(GateError::Ledger(format!("--ledger: {why}"))),
        None => Ok(()),
    }
}

pub use crate::findings::FailOnSets;

/// Combines gate reports of several servers into one: logins, presence and
/// findings are combined exactly (a student missing overall is missing on
/// every server; duplicates are reclassified over all servers' logins).
/// `missing_ratio`: `--max-missing-ratio` and `--expect-segments`, applied to
/// the combined seq report as to a single server's.
pub fn merge_reports(
    reports: Vec<(String, GateReport)>,
    f: &FailOnSets,
    missing_ratio: Option<(f64, Option<u64>)>,
) -> GateReport {
    let from: Vec<String> = reports.iter().map(|(p, _)| p.clone()).collect();
    let (mut ids, mut seq, mut merge) = (Vec::new(), Vec::new(), Vec::new());
    // Ledger findings were reconciled per server: they are kept as found.
    let mut ledger: Option<crate::report::gate::LedgerReport> = None;
    for (label, r) in &reports {
        if let Some(l) = r.cross.as_ref().and_then(|c| c.ledger.as_ref()) {
            let all = ledger.get_or_insert_with(Default::default);
            all.files
                .extend(l.files.iter().map(|f| crate::report::gate::LedgerFile {
                    path: format!("{label}:{}", f.path),
                    ..f.clone()
                }));
            all.students = all.students.saturating_add(l.students);
            all.uploads = all.uploads.saturating_add(l.uploads);
            all.acked_seqs = all.acked_seqs.saturating_add(l.acked_seqs);
            all.acked_unsequenced = all.acked_unsequenced.saturating_add(l.acked_unsequenced);
            all.rows.extend(l.rows.iter().cloned());
            all.notes.extend(l.notes.iter().map(|n| format!("{label}: {n}")));
            all.errors
                .extend(labeled_errors(std::iter::once((label, &l.errors[..]))));
        }
    }
    for (label, r) in reports {
        ids.extend(r.ids.map(|x| (label.clone(), x)));
        seq.extend(r.seq.map(|x| (label.clone(), x)));
        merge.extend(r.merge.map(|x| (label.clone(), x)));
    }
    let ids = (!ids.is_empty()).then(|| merge_ids(ids, &f.ids));
    let mut seq = (!seq.is_empty()).then(|| merge_seq(seq, &f.seq));
    if let (Some(s), Some((ratio, expect_segments))) = (seq.as_mut(), missing_ratio) {
        apply_missing_ratio(s, ratio, expect_segments);
    }
    let merge = (!merge.is_empty()).then(|| merge_merge(merge, &f.merge));
    assemble(ids, seq, merge, ledger, &f.cross, from)
}

/// Every server's read errors, each path prefixed with its report's label.
fn labeled_errors<'a>(per_report: impl Iterator<Item = (&'a String, &'a [PathError])>) -> Vec<PathError> {
    per_report
        .flat_map(|(label, errors)| {
            errors.iter().map(move |e| PathError {
                path: format!("{label}:{}", e.path),
                ..e.clone()
            })
        })
        .collect()
}

/// Missing overall = missing on every server; everything else is a union.
fn intersect_missing<T: Ord + Clone>(lists: &[Vec<T>]) -> Vec<T> {
    let mut it = lists.iter();
    let Some(first) = it.next() else { return Vec::new() };
    let mut set: BTreeSet<T> = first.iter().cloned().collect();
    for l in it {
        let other: BTreeSet<T> = l.iter().cloned().collect();
        set = set.intersection(&other).cloned().collect();
    }
    set.into_iter().collect()
}

fn merge_ids(reports: Vec<(String, IdsReport)>, fail_on: &FailOn<IdsKind>) -> IdsReport {
    let window = reports
        .iter()
        .map(|(_, r)| r.summary.window_seconds)
        .max()
        .unwrap_or(120);
    let mut files: Vec<String> = Vec::new();
    let mut fold = LoginFold::default();
    let mut file_idx: HashMap<String, usize> = HashMap::new();
    for (label, r) in &reports {
        for l in &r.logins {
            for e in &l.events {
                let name = format!("{label}:{}", e.file);
                let idx = *file_idx.entry(name.clone()).or_insert_with(|| {
                    files.push(name);
                    files.len() - 1
                });
                fold.observe(Observation::Login(LoginEvent {
                    id: l.id.clone(),
                    file: idx,
                    line: e.line,
                    time: e.time.clone().zip(e.unix),
                    source: e.source.clone(),
                    ..LoginEvent::default()
                }));
            }
            // Logouts as each report aligned them (`unix`): no zone to apply again.
            for e in &l.logouts {
                let name = format!("{label}:{}", e.file);
                let idx = *file_idx.entry(name.clone()).or_insert_with(|| {
                    files.push(name);
                    files.len() - 1
                });
                fold.observe(Observation::Logout(LoginEvent {
                    id: l.id.clone(),
                    file: idx,
                    line: e.line,
                    time: e.time.clone().zip(e.unix),
                    source: e.source.clone(),
                    how: crate::audit::sessions::how_of(e.how.as_deref()),
                    ..LoginEvent::default()
                }));
            }
        }
    }
    let name = |i: usize| files.get(i).cloned().unwrap_or_default();
    let duplicates = fold.duplicates(window as i64, &name);
    let missing = intersect_missing(&reports.iter().map(|(_, r)| r.missing.clone()).collect::<Vec<_>>());
    let unexpected: BTreeSet<String> = reports.iter().flat_map(|(_, r)| r.unexpected.iter().cloned()).collect();
    let mut base = reports[0].1.clone();
    let collisions = duplicates.iter().filter(|d| d.kind == IdsKind::Collision).count() as u64;
    let malformed: u64 = reports.iter().map(|(_, r)| r.malformed.count).sum();
    let lines = reports.iter().fold(0u64, |a, (_, r)| a.saturating_add(r.summary.lines));
    let requests: u64 = reports.iter().map(|(_, r)| r.summary.login_requests_sampled).sum();
    let undecodable: u64 = reports.iter().map(|(_, r)| r.summary.undecodable_lines).sum();
    let requests_only = u64::from(fold.events == 0 && requests > 0 && undecodable == 0);
    let no_logins = u64::from(lines > 0 && fold.events == 0 && requests_only == 0);
    let counts = [
        (IdsKind::Collision, collisions),
        (IdsKind::Relogin, duplicates.len() as u64 - collisions),
        (IdsKind::Missing, missing.len() as u64),
        (IdsKind::Unexpected, unexpected.len() as u64),
        (IdsKind::Malformed, malformed),
        (IdsKind::NoLogins, no_logins),
        (IdsKind::LoginRequestsOnly, requests_only),
    ];
    let errors = labeled_errors(reports.iter().map(|(l, r)| (l, &r.errors[..])));
    let (failed_on, verdict) = judge(counts, fail_on, !errors.is_empty());
    let s = &mut base.summary;
    s.files = reports.iter().map(|(_, r)| r.summary.files).sum();
    s.lines = reports.iter().map(|(_, r)| r.summary.lines).sum();
    s.login_events = fold.events;
    s.logout_events = fold.logouts;
    s.login_requests_sampled = requests;
    s.distinct_ids = fold.by_id.len() as u64;
    s.duplicated_ids = duplicates.len() as u64;
    s.collisions = collisions;
    s.relogins = duplicates.len() as u64 - collisions;
    s.missing = missing.len() as u64;
    s.unexpected = unexpected.len() as u64;
    s.malformed = malformed;
    s.continuation_lines = reports.iter().map(|(_, r)| r.summary.continuation_lines).sum();
    s.undecodable_lines = reports.iter().map(|(_, r)| r.summary.undecodable_lines).sum();
    s.mixed_encoding_lines = reports.iter().map(|(_, r)| r.summary.mixed_encoding_lines).sum();
    s.window_seconds = window;
    base.verdict = verdict;
    base.failed_on = failed_on;
    base.logins = fold.logins(&name);
    base.files = reports
        .iter()
        .flat_map(|(l, r)| {
            r.files.iter().map(move |f| crate::report::ids::FileSummary {
                path: format!("{l}:{}", f.path),
                ..f.clone()
            })
        })
        .collect();
    base.duplicates = duplicates;
    base.missing = missing;
    base.unexpected = unexpected.into_iter().collect();
    base.malformed.count = malformed;
    base.malformed.samples = reports
        .iter()
        .flat_map(|(_, r)| r.malformed.samples.clone())
        .take(5)
        .collect();
    base.warnings = reports
        .iter()
        .flat_map(|(l, r)| r.warnings.iter().map(move |w| format!("{l}: {w}")))
        .collect();
    base.errors = errors;
    base
}

fn merge_seq(reports: Vec<(String, SeqReport)>, fail_on: &FailOn<SeqKind>) -> SeqReport {
    let mut base = reports[0].1.clone();
    let missing: Vec<StudentRef> = {
        let keyed: Vec<Vec<(Option<String>, String)>> = reports
            .iter()
            .map(|(_, r)| {
                r.missing_students
                    .iter()
                    .map(|m| (m.exam.clone(), m.id.clone()))
                    .collect()
            })
            .collect();
        let both = intersect_missing(&keyed);
        let explained: std::collections::HashSet<(Option<String>, String)> = reports
            .iter()
            .flat_map(|(_, r)| r.missing_students.iter().filter(|m| m.explained))
            .map(|m| (m.exam.clone(), m.id.clone()))
            .collect();
        let reason: HashMap<(Option<String>, String), String> = reports
            .iter()
            .flat_map(|(_, r)| {
                r.missing_students
                    .iter()
                    .map(|m| ((m.exam.clone(), m.id.clone()), m.reason.clone()))
            })
            .collect();
        both.into_iter()
            .map(|k| StudentRef {
                reason: reason.get(&k).cloned().unwrap_or_default(),
                explained: explained.contains(&k),
                exam: k.0,
                id: k.1,
            })
            .collect()
    };
    let mut findings: BTreeMap<SeqKind, u64> = SeqKind::ALL.iter().map(|&k| (k, 0)).collect();
    for (_, r) in &reports {
        for (k, n) in &r.summary.findings {
            let total = findings.entry(*k).or_default();
            *total = total.saturating_add(*n);
        }
    }
    let unexpected: BTreeSet<StudentRef> = reports
        .iter()
        .flat_map(|(_, r)| r.unexpected_students.iter().cloned())
        .collect();
    findings.insert(SeqKind::MissingStudent, missing.len() as u64);
    findings.insert(SeqKind::UnexpectedStudent, unexpected.len() as u64);
    let mut explained: BTreeMap<SeqKind, u64> = BTreeMap::new();
    for (k, n) in reports.iter().flat_map(|(_, r)| r.summary.explained.iter()) {
        let e = explained.entry(*k).or_default();
        *e = e.saturating_add(*n);
    }
    let errors = labeled_errors(reports.iter().map(|(l, r)| (l, &r.errors[..])));
    let sum = |f: fn(&SeqReport) -> u64| reports.iter().map(|(_, r)| f(r)).sum::<u64>();
    base.summary.students = sum(|r| r.summary.students);
    base.summary.students_with_findings = sum(|r| r.summary.students_with_findings);
    base.summary.files = sum(|r| r.summary.files);
    base.summary.segments = sum(|r| r.summary.segments);
    base.summary.in_flight = sum(|r| r.summary.in_flight);
    base.summary.skipped_links = sum(|r| r.summary.skipped_links);
    base.summary.findings = findings;
    base.summary.explained = explained;
    base.summary.errors = errors.len() as u64;
    base.errors = errors;
    crate::audit::explain::rejudge(&mut base, fail_on);
    base.scanned.exams = reports.iter().flat_map(|(_, r)| r.scanned.exams.clone()).collect();
    base.scanned.root = reports
        .iter()
        .map(|(l, r)| format!("{l}:{}", r.scanned.root))
        .collect::<Vec<_>>()
        .join(" + ");
    base.missing_students = missing;
    base.unexpected_students = unexpected.into_iter().collect();
    base.students = reports.iter().flat_map(|(_, r)| r.students.clone()).collect();
    base.present = reports.iter().flat_map(|(_, r)| r.present.clone()).collect();
    base.stray_files = reports.iter().flat_map(|(_, r)| r.stray_files.clone()).collect();
    base
}

fn merge_merge(reports: Vec<(String, MergeReport)>, fail_on: &FailOn<MergeKind>) -> MergeReport {
    let mut base = reports[0].1.clone();
    let mut tasks: BTreeMap<String, TaskStats> = BTreeMap::new();
    for (_, r) in &reports {
        for t in &r.tasks {
            let e = tasks
                .entry(t.name.clone())
                .or_insert_with(|| TaskStats::empty(&t.name, t.duration_ms));
            e.received = e.received.saturating_add(t.received);
            e.succeeded = e.succeeded.saturating_add(t.succeeded);
            e.skipped = e.skipped.saturating_add(t.skipped);
            e.failed = e.failed.saturating_add(t.failed);
            e.retried = e.retried.saturating_add(t.retried);
            e.never_finished = e.never_finished.saturating_add(t.never_finished);
            // Percentiles do not combine exactly: keep the worst of each.
            if let (Some(a), Some(b)) = (e.duration_ms.as_mut(), t.duration_ms) {
                a.p50 = a.p50.max(b.p50);
                a.p99 = a.p99.max(b.p99);
                a.max = a.max.max(b.max);
            }
        }
    }
    let s = &mut base.summary;
    for (i, (_, r)) in reports.iter().enumerate() {
        if i == 0 {
            continue;
        }
        let o = &r.summary;
        s.files = s.files.saturating_add(o.files);
        s.lines = s.lines.saturating_add(o.lines);
        s.celery_lines = s.celery_lines.saturating_add(o.celery_lines);
        s.continuation_lines = s.continuation_lines.saturating_add(o.continuation_lines);
        s.tasks = s.tasks.saturating_add(o.tasks);
        s.succeeded = s.succeeded.saturating_add(o.succeeded);
        s.skipped = s.skipped.saturating_add(o.skipped);
        s.students_skipped = s.students_skipped.saturating_add(o.students_skipped);
        s.ffmpeg_failures = s.ffmpeg_failures.saturating_add(o.ffmpeg_failures);
        s.other_exam_tasks = s.other_exam_tasks.saturating_add(o.other_exam_tasks);
        s.failed = s.failed.saturating_add(o.failed);
        s.retries = s.retries.saturating_add(o.retries);
        s.never_finished = s.never_finished.saturating_add(o.never_finished);
        s.missing_seqs = s.missing_seqs.saturating_add(o.missing_seqs);
        s.warnings = s.warnings.saturating_add(o.warnings);
        s.mixed_encoding_lines = s.mixed_encoding_lines.saturating_add(o.mixed_encoding_lines);
    }
    base.tasks = tasks.into_values().collect();
    base.files = reports
        .iter()
        .flat_map(|(label, r)| {
            r.files.iter().map(move |f| MergeFile {
                path: format!("{label}:{}", f.path),
                ..f.clone()
            })
        })
        .collect();
    base.failures = reports.iter().flat_map(|(_, r)| r.failures.clone()).collect();
    base.never_finished = reports.iter().flat_map(|(_, r)| r.never_finished.clone()).collect();
    base.server_gaps = reports.iter().flat_map(|(_, r)| r.server_gaps.clone()).collect();
    base.merge_skipped = reports.iter().flat_map(|(_, r)| r.merge_skipped.clone()).collect();
    base.students = reports.iter().flat_map(|(_, r)| r.students.clone()).collect();
    base.warnings = reports.iter().flat_map(|(_, r)| r.warnings.clone()).collect();
    base.errors = labeled_errors(reports.iter().map(|(l, r)| (l, &r.errors[..])));
    let students: BTreeSet<&str> = base.server_gaps.iter().map(|g| g.id.as_str()).collect();
    base.summary.students_with_gaps = students.len() as u64;
    (base.failed_on, base.verdict) = judge(base.counts(), fail_on, !base.errors.is_empty());
    base
}
