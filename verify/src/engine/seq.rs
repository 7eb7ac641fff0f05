//! The `verify seq` engine: detect the layout, list student folders, read and
//! audit each folder in parallel (map), then merge and sort (so the report does
//! not depend on the thread count), then compare with the expected population.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::audit::seq::{SeqRules, audit_student};
use crate::exit::Outcome;
use crate::expect::Expectation;
use crate::findings::{FailOn, Kind};
use crate::report::PathError;
use crate::report::seq::{
    ExamScanned, Presence, SCHEMA, Scanned, SeqKind, SeqReport, SeqSummary, StudentFindings, StudentRef,
};
use crate::sources::tree::{self, ScanOptions};
use crate::text::escape_os;

/// Everything `verify seq` needs, validated.
#[derive(Debug, Clone)]
pub struct SeqConfig {
    /// The tree to scan.
    pub dir: PathBuf,
    /// How folders are read.
    pub scan: ScanOptions,
    /// Per-student checks.
    pub rules: SeqRules,
    /// Expected population (may be empty).
    pub expect: Expectation,
    /// Kinds that fail the run.
    pub fail_on: FailOn<SeqKind>,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// Why a scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("read --dir {path}: {source}")]
    Root { path: String, source: std::io::Error },
    #[error("start worker threads: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// One audited folder, with the tallies the summary needs.
struct FolderResult {
    findings: StudentFindings,
    files: u64,
    skipped_links: u64,
    errors: Vec<PathError>,
}

/// Scans the tree and returns the report.
pub fn run_seq(cfg: &SeqConfig) -> Result<SeqReport, ScanError> {
    let root_err = |source| ScanError::Root {
        path: escape_os(cfg.dir.as_os_str()),
        source,
    };
    let (layout, exam_dirs, detect_errors) = tree::detect(&cfg.dir, cfg.scan.follow_links).map_err(root_err)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build()?;

    let mut exams = Vec::new();
    let mut results = Vec::new();
    let (mut stray, mut errors, mut skipped_links) = (Vec::new(), detect_errors, 0);
    for ed in &exam_dirs {
        let listing = tree::list_students(&ed.recordings, cfg.scan.follow_links);
        exams.push(ExamScanned {
            exam: ed.exam.clone(),
            recordings: escape_os(ed.recordings.as_os_str()),
            students: listing.students.len() as u64,
        });
        stray.extend(
            listing
                .stray
                .iter()
                .map(|s| format!("{}/{s}", escape_os(ed.recordings.as_os_str()))),
        );
        errors.extend(listing.errors);
        skipped_links += listing.skipped_links;
        let mapped: Vec<FolderResult> = pool.install(|| {
            listing
                .students
                .par_iter()
                .map(|(name, path)| {
                    let obs = tree::read_folder(ed.exam.clone(), name, path, &cfg.scan);
                    FolderResult {
                        findings: audit_student(&obs, &cfg.rules),
                        files: obs.files(),
                        skipped_links: obs.skipped_links,
                        errors: obs.errors,
                    }
                })
                .collect()
        });
        results.extend(mapped);
    }
    Ok(assemble(cfg, layout, exams, results, stray, errors, skipped_links))
}

fn assemble(
    cfg: &SeqConfig,
    layout: crate::report::seq::Layout,
    exams: Vec<ExamScanned>,
    results: Vec<FolderResult>,
    stray_files: Vec<String>,
    mut errors: Vec<PathError>,
    mut skipped_links: u64,
) -> SeqReport {
    let mut findings: BTreeMap<SeqKind, u64> = SeqKind::ALL.iter().map(|&k| (k, 0)).collect();
    let (mut files, mut segments, mut in_flight) = (0, 0, 0);
    let (mut students, mut clean, mut present) = (Vec::new(), Vec::new(), Vec::new());
    // Per exam: student ID -> has segments, for the expectation.
    let mut seen: HashMap<Option<String>, HashMap<String, bool>> = HashMap::new();
    for r in results {
        // Saturating: a total that wrapped to 0 would pass a run with findings.
        files = u64::saturating_add(files, r.files);
        skipped_links = u64::saturating_add(skipped_links, r.skipped_links);
        errors.extend(r.errors);
        let f = r.findings;
        segments = u64::saturating_add(segments, f.segments.saturating_add(f.foreign.len() as u64));
        in_flight = u64::saturating_add(in_flight, f.in_flight);
        for (kind, n) in f.counts() {
            let total = findings.entry(kind).or_default();
            *total = total.saturating_add(n);
        }
        seen.entry(f.exam.clone())
            .or_default()
            .insert(f.id.clone(), f.segments > 0);
        present.push(Presence {
            exam: f.exam.clone(),
            id: f.id.clone(),
            segments: f.segments,
            first_seq: f.first_seq,
            last_seq: f.last_seq,
        });
        if f.has_findings() {
            students.push(f);
        } else {
            clean.push((f.exam, f.id));
        }
    }
    let (missing, unexpected) = compare_expected(&cfg.expect, &exams, &seen);
    findings.insert(SeqKind::MissingStudent, missing.len() as u64);
    findings.insert(SeqKind::UnexpectedStudent, unexpected.len() as u64);
    students.sort_by(|a, b| (&a.exam, &a.id).cmp(&(&b.exam, &b.id)));
    clean.sort();
    present.sort_by(|a, b| (&a.exam, &a.id).cmp(&(&b.exam, &b.id)));
    errors.sort();

    let failed_on: Vec<SeqKind> = cfg.fail_on.kinds().filter(|k| findings[k] > 0).collect();
    let outcome = Outcome::judge(!errors.is_empty(), !failed_on.is_empty());
    let total_students = seen.values().map(|m| m.len() as u64).sum();
    SeqReport {
        schema: SCHEMA.to_string(),
        verdict: outcome.verdict().to_string(),
        failed_on,
        scanned: Scanned {
            root: escape_os(cfg.dir.as_os_str()),
            layout,
            exams,
        },
        summary: SeqSummary {
            students: total_students,
            students_with_findings: students.len() as u64,
            files,
            segments,
            in_flight,
            skipped_links,
            expected_students: cfg.expect.len() as u64,
            findings,
            errors: errors.len() as u64,
        },
        missing_students: missing,
        unexpected_students: unexpected,
        students,
        present,
        stray_files,
        errors,
        clean,
    }
}

/// Missing and unexpected students, exam by exam: every exam is expected to
/// hold the whole population.
fn compare_expected(
    expect: &Expectation,
    exams: &[ExamScanned],
    seen: &HashMap<Option<String>, HashMap<String, bool>>,
) -> (Vec<StudentRef>, Vec<StudentRef>) {
    let (mut missing, mut unexpected) = (Vec::new(), Vec::new());
    if expect.is_empty() {
        return (missing, unexpected);
    }
    let empty = HashMap::new();
    for exam in exams {
        let folders = seen.get(&exam.exam).unwrap_or(&empty);
        let with_segments = folders.iter().filter(|(_, has)| **has).map(|(id, _)| id.as_str());
        let cmp = expect.compare(with_segments);
        let student = |id: String, reason: &str| StudentRef {
            exam: exam.exam.clone(),
            reason: reason.to_string(),
            id,
        };
        for id in cmp.missing {
            let reason = if folders.contains_key(&id) {
                "no_segments"
            } else {
                "no_folder"
            };
            missing.push(student(id, reason));
        }
        let mut extra: Vec<&String> = folders.keys().filter(|id| !expect.contains(id)).collect();
        extra.sort();
        unexpected.extend(extra.into_iter().map(|id| student(id.clone(), "not_expected")));
    }
    (missing, unexpected)
}
