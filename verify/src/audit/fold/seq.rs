//! The recordings part of the gate fold: per student folder either its audited
//! findings (batch: a folder read once is complete) or its observations kept
//! for more to come (live), plus what the tree's layout and listings gave.
//! Both end in the same report; live folders also confirm gaps over time.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::audit::ranges;
use crate::audit::reconcile::{Disk, SegRef};
use crate::audit::seq::{FolderObs, SeqRules, audit_student};
use crate::expect::Expectation;
use crate::findings::{Kind, judge};
use crate::report::PathError;
use crate::report::seq::{
    ExamScanned, Layout, Presence, SCHEMA, Scanned, SeqKind, SeqReport, SeqSummary, StudentFindings, StudentRef,
};
use crate::settings::SeqConfig;
use common::text::{escape_os, escape_str};

use super::Alert;

/// One audited folder, with the tallies the summary needs.
#[derive(Debug, Clone)]
pub struct FolderResult {
    pub findings: StudentFindings,
    pub files: u64,
    pub skipped_links: u64,
    pub errors: Vec<PathError>,
    /// Sequenced segments, kept for the ledger reconciliation (`--ledger`).
    pub kept: Vec<SegRef>,
    /// Segments without a seq (size, name), kept likewise.
    pub kept_unsequenced: Vec<(Option<u64>, String)>,
}

impl FolderResult {
    /// Audits a folder's observations; `keep`: also keep its segments.
    pub fn audit(obs: &FolderObs, rules: &SeqRules, keep: bool) -> FolderResult {
        FolderResult {
            findings: audit_student(obs, rules),
            files: obs.files(),
            skipped_links: obs.skipped_links,
            errors: obs.errors.clone(),
            kept: if keep { kept(obs, rules) } else { Vec::new() },
            kept_unsequenced: if keep { kept_unsequenced(obs) } else { Vec::new() },
        }
    }
}

/// The folder's own sequenced segments (foreign files and seqs above
/// `--max-seq` are findings of their own, not uploads).
fn kept(obs: &FolderObs, rules: &SeqRules) -> Vec<SegRef> {
    obs.segments
        .iter()
        .filter(|s| s.foreign_id.is_none())
        .filter_map(|s| {
            let seq = s.seq.filter(|&q| q <= rules.max_seq)?;
            Some(SegRef {
                seq,
                size: s.size,
                name: escape_str(obs.name(s)),
            })
        })
        .collect()
}

/// The folder's own segments without a seq: (size, name).
fn kept_unsequenced(obs: &FolderObs) -> Vec<(Option<u64>, String)> {
    obs.segments
        .iter()
        .filter(|s| s.foreign_id.is_none() && s.seq.is_none())
        .map(|s| (s.size, escape_str(obs.name(s))))
        .collect()
}

/// The seqs a short student lacks: after its last, up to `--expect-segments`.
pub fn short_tail(short: &crate::report::seq::Short, rules: &SeqRules) -> Option<[u64; 2]> {
    let last_needed = rules.first_seq.saturating_add(short.expected.saturating_sub(1));
    let first_missing = short.last_seq.checked_add(1)?;
    (first_missing <= last_needed).then_some([first_missing, last_needed])
}

/// A live folder: its observations and the gaps on their way to an alert.
#[derive(Debug, Clone)]
struct LiveFolder {
    obs: FolderObs,
    last_seq: Option<u64>,
    /// Gaps seen, and since when (a later seq had arrived).
    pending: Vec<([u64; 2], Instant)>,
    /// Seqs already alerted as missing.
    alerted: Vec<[u64; 2]>,
}

#[derive(Debug, Clone)]
/// Boxed: a map of 10,000 folders moves pointers, not 400-byte values.
enum Folder {
    Audited(Box<FolderResult>),
    Live(Box<LiveFolder>),
}

/// One exam's recordings folder as last listed.
#[derive(Debug, Clone)]
pub struct ExamState {
    pub exam: Option<String>,
    pub recordings: PathBuf,
    pub students: u64,
    /// Files directly in the recordings folder (paths, escaped).
    pub stray: Vec<String>,
    pub errors: Vec<PathError>,
    pub skipped_links: u64,
}

/// The seq audit's state.
#[derive(Debug, Clone)]
pub struct SeqPart {
    pub layout: Layout,
    pub exams: Vec<ExamState>,
    /// Errors of the layout detection (unreadable exam folders).
    pub errors: Vec<PathError>,
    folders: BTreeMap<PathBuf, Folder>,
}

impl SeqPart {
    pub fn new(layout: Layout, errors: Vec<PathError>) -> SeqPart {
        SeqPart {
            layout,
            exams: Vec::new(),
            errors,
            folders: BTreeMap::new(),
        }
    }

    /// Adds or replaces an exam's listing (kept in exam order).
    pub fn set_exam(&mut self, exam: ExamState) {
        match self.exams.iter_mut().find(|e| e.recordings == exam.recordings) {
            Some(e) => {
                // Stray files once seen stay reported.
                let mut stray = std::mem::take(&mut e.stray);
                stray.extend(exam.stray.iter().cloned());
                stray.sort();
                stray.dedup();
                *e = ExamState { stray, ..exam };
            }
            None => {
                self.exams.push(exam);
                self.exams.sort_by(|a, b| a.exam.cmp(&b.exam));
            }
        }
    }

    /// Keeps only the exams named (and their folders): the gate's scope
    /// when the ledger names the exam the run used.
    pub fn retain_exams(&mut self, exams: &[String]) {
        let keep = |e: &Option<String>| e.as_ref().is_some_and(|e| exams.contains(e));
        let dropped: Vec<PathBuf> = self
            .exams
            .iter()
            .filter(|e| !keep(&e.exam))
            .map(|e| e.recordings.clone())
            .collect();
        self.exams.retain(|e| keep(&e.exam));
        self.folders
            .retain(|path, _| !path.parent().is_some_and(|p| dropped.iter().any(|d| d == p)));
    }

    /// True when `dir` is a recordings folder of the scan.
    pub fn exam_of(&self, recordings: &Path) -> Option<&ExamState> {
        self.exams.iter().find(|e| e.recordings == recordings)
    }

    /// True when the folder at `path` is known.
    pub fn has_folder(&self, path: &Path) -> bool {
        self.folders.contains_key(path)
    }

    /// Adds folders read in batch, audited (their observations dropped).
    /// Listed in order, they cost one sortedness check and one merge, not a
    /// path comparison per tree level per folder (`Path`'s comparison walks
    /// components: it showed at 10,000 folders).
    /// Boxed by the scan threads: this serial step moves pointers only.
    pub fn add_audited_all(&mut self, results: Vec<(PathBuf, Box<FolderResult>)>) {
        let mut more: BTreeMap<PathBuf, Folder> = results.into_iter().map(|(p, r)| (p, Folder::Audited(r))).collect();
        self.folders.append(&mut more);
    }

    /// Adds or refreshes a live folder. Segments seen before and gone now are
    /// kept: what was seen stays seen. Returns nothing; gaps start their grace.
    pub fn set_live(&mut self, path: PathBuf, mut obs: FolderObs, rules: &SeqRules, now: Instant) {
        let old = self.folders.remove(&path);
        let (pending, alerted) = match old {
            Some(Folder::Live(f)) => {
                for seg in &f.obs.segments {
                    let name = f.obs.name(seg);
                    if !obs.has_segment(name) {
                        obs.push_segment(name, seg.seq, seg.time, seg.size, seg.foreign_id.clone());
                    }
                }
                (f.pending, f.alerted)
            }
            _ => (Vec::new(), Vec::new()),
        };
        obs.shrink_to_fit(); // kept for every folder of the tree
        let findings = audit_student(&obs, rules);
        let known: Vec<[u64; 2]> =
            ranges::normalize(pending.iter().map(|p| p.0).chain(alerted.iter().copied()).collect());
        let mut pending = pending;
        pending.extend(ranges::subtract(&findings.gaps, &known).into_iter().map(|r| (r, now)));
        self.folders.insert(
            path,
            Folder::Live(Box::new(LiveFolder {
                obs,
                last_seq: findings.last_seq,
                pending,
                alerted,
            })),
        );
    }

    /// Gaps that stayed open for `grace`: one alert per student and range.
    pub fn confirm_gaps(&mut self, rules: &SeqRules, now: Instant, grace: Duration) -> Vec<Alert> {
        let mut out = Vec::new();
        for f in self.folders.values_mut() {
            let Folder::Live(f) = f else { continue };
            if !f.pending.iter().any(|p| now.saturating_duration_since(p.1) >= grace) {
                continue;
            }
            let (due, wait): (Vec<_>, Vec<_>) = f
                .pending
                .drain(..)
                .partition(|p| now.saturating_duration_since(p.1) >= grace);
            f.pending = wait;
            let gaps = audit_student(&f.obs, rules).gaps;
            let due = ranges::normalize(due.into_iter().map(|p| p.0).collect());
            let missing = ranges::subtract(&ranges::intersect(&due, &gaps), &f.alerted);
            if missing.is_empty() {
                continue;
            }
            f.alerted = ranges::normalize(f.alerted.iter().chain(&missing).copied().collect());
            out.push(Alert::GapConfirmed {
                exam: f.obs.exam.clone(),
                id: f.obs.id.clone(),
                missing,
                grace,
            });
        }
        out
    }

    /// Live tallies: students with segments, the range of their latest seqs,
    /// and seqs alerted as missing.
    pub fn live_counts(&self) -> (u64, Option<[u64; 2]>, u64) {
        let (mut uploading, mut latest, mut alerted) = (0u64, None::<[u64; 2]>, 0u64);
        for f in self.folders.values() {
            let last = match f {
                Folder::Live(f) => {
                    alerted = alerted.saturating_add(ranges::count(&f.alerted));
                    f.last_seq
                }
                Folder::Audited(r) => r.findings.last_seq,
            };
            if let Some(l) = last {
                uploading += 1;
                latest = Some(latest.map_or([l, l], |[a, b]| [a.min(l), b.max(l)]));
            }
        }
        (uploading, latest, alerted)
    }

    /// The exams scanned: (name, exam folder, escaped).
    pub fn exam_dirs(&self) -> Vec<(Option<String>, String)> {
        self.exams
            .iter()
            .map(|e| {
                let dir = e.recordings.parent().unwrap_or(&e.recordings);
                (e.exam.clone(), escape_os(dir.as_os_str()))
            })
            .collect()
    }

    /// What the disk shows per exam and student, for the ledger.
    pub fn disk(&self, rules: &SeqRules) -> Disk<'_> {
        let mut d = Disk {
            exams: self.exam_dirs(),
            ..Disk::default()
        };
        for f in self.folders.values() {
            let live;
            let (exam, id, segs, unseq, found) = match f {
                Folder::Audited(r) => (
                    &r.findings.exam,
                    &r.findings.id,
                    Cow::Borrowed(&r.kept[..]),
                    r.kept_unsequenced.clone(),
                    &r.findings,
                ),
                Folder::Live(l) => {
                    live = audit_student(&l.obs, rules);
                    (
                        &l.obs.exam,
                        &l.obs.id,
                        Cow::Owned(kept(&l.obs, rules)),
                        kept_unsequenced(&l.obs),
                        &live,
                    )
                }
            };
            let gaps: Vec<[u64; 2]> = found.gaps.iter().copied().chain(found.leading_gap).collect();
            let key = (exam.clone(), id.clone());
            if let Some(tail) = found.short.as_ref().and_then(|s| short_tail(s, rules)) {
                d.tails.insert(key.clone(), tail);
            }
            if !found.duplicates.is_empty() {
                d.duplicates
                    .entry(key.clone())
                    .or_default()
                    .extend(found.duplicates.iter().map(|x| x.seq));
            }
            if !unseq.is_empty() {
                d.unsequenced.entry(key.clone()).or_default().extend(unseq);
            }
            if !gaps.is_empty() {
                d.gaps.entry(key.clone()).or_default().extend(gaps);
            }
            // A student has one folder per exam: a second one is appended.
            match d.segments.entry(key) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(segs);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    o.get_mut().to_mut().extend(segs.iter().cloned())
                }
            }
        }
        d
    }

    /// The report, judged.
    pub fn report(&self, cfg: &SeqConfig) -> SeqReport {
        let results = self.folders.values().map(|f| match f {
            Folder::Audited(r) => (**r).clone(),
            Folder::Live(l) => FolderResult::audit(&l.obs, &cfg.rules, false),
        });
        self.finish(cfg, results.collect())
    }

    /// The report, judged, from a part that is done: the findings move into
    /// it instead of being copied (a million empty files are a million names).
    pub fn into_report(mut self, cfg: &SeqConfig) -> SeqReport {
        let results = std::mem::take(&mut self.folders).into_values().map(|f| match f {
            Folder::Audited(r) => *r,
            Folder::Live(l) => FolderResult::audit(&l.obs, &cfg.rules, false),
        });
        self.finish(cfg, results.collect())
    }

    fn finish(&self, cfg: &SeqConfig, results: Vec<FolderResult>) -> SeqReport {
        let exams: Vec<ExamScanned> = self
            .exams
            .iter()
            .map(|e| ExamScanned {
                exam: e.exam.clone(),
                recordings: cfg.shown(&escape_os(e.recordings.as_os_str())),
                students: e.students,
            })
            .collect();
        let stray = self
            .exams
            .iter()
            .flat_map(|e| e.stray.iter().map(|p| cfg.shown(p)))
            .collect();
        let mut errors = self.errors.clone();
        errors.extend(self.exams.iter().flat_map(|e| e.errors.iter().cloned()));
        let links = self.exams.iter().fold(0u64, |a, e| a.saturating_add(e.skipped_links));
        assemble(cfg, self.layout, exams, results, stray, errors, links)
    }
}

fn assemble(
    cfg: &SeqConfig,
    layout: Layout,
    exams: Vec<ExamScanned>,
    results: Vec<FolderResult>,
    stray_files: Vec<String>,
    mut errors: Vec<PathError>,
    mut skipped_links: u64,
) -> SeqReport {
    let mut findings: BTreeMap<SeqKind, u64> = SeqKind::ALL.iter().map(|&k| (k, 0)).collect();
    // Per-student counts summed in `counts()` order, into `findings` after the loop.
    let mut totals = StudentFindings::default().counts();
    let (mut files, mut segments, mut in_flight) = (0u64, 0u64, 0u64);
    let (mut students, mut clean, mut present) = (Vec::new(), Vec::new(), Vec::new());
    // Per exam: student ID -> has segments, for the expectation.
    let mut seen: HashMap<Option<String>, HashMap<String, bool>> = HashMap::new();
    for r in results {
        // Saturating: a total that wrapped to 0 would pass a run with findings.
        files = files.saturating_add(r.files);
        skipped_links = skipped_links.saturating_add(r.skipped_links);
        errors.extend(r.errors);
        let f = r.findings;
        segments = segments.saturating_add(f.segments.saturating_add(f.foreign.len() as u64));
        in_flight = in_flight.saturating_add(f.in_flight);
        for (total, (_, n)) in totals.iter_mut().zip(f.counts()) {
            total.1 = total.1.saturating_add(n);
        }
        if !seen.contains_key(&f.exam) {
            seen.insert(f.exam.clone(), HashMap::new());
        }
        if let Some(ids) = seen.get_mut(&f.exam) {
            ids.insert(f.id.clone(), f.segments > 0);
        }
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
    for (kind, n) in totals {
        let total = findings.entry(kind).or_default();
        *total = total.saturating_add(n);
    }
    let (missing, unexpected) = compare_expected(&cfg.expect, &exams, &seen);
    findings.insert(SeqKind::MissingStudent, missing.len() as u64);
    findings.insert(SeqKind::UnexpectedStudent, unexpected.len() as u64);
    students.sort_by(|a, b| (&a.exam, &a.id).cmp(&(&b.exam, &b.id)));
    clean.sort();
    present.sort_by(|a, b| (&a.exam, &a.id).cmp(&(&b.exam, &b.id)));
    for e in &mut errors {
        e.path = cfg.shown(&e.path);
    }
    errors.sort();

    let (failed_on, verdict) = judge(findings.iter().map(|(&k, &n)| (k, n)), &cfg.fail_on, !errors.is_empty());
    let total_students = seen.values().map(|m| m.len() as u64).sum();
    SeqReport {
        schema: SCHEMA.to_string(),
        verdict,
        failed_on,
        scanned: Scanned {
            root: escape_os(cfg.dir_shown.as_os_str()),
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
            explained: BTreeMap::new(),
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
            explained: false,
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
