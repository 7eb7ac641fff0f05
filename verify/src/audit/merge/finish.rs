//! The merge fold turned into report pieces: tasks of other exams left out,
//! failures grouped, and one entry per student however often the status
//! worker re-queued it.

use std::collections::BTreeMap;

use super::{MergeFold, MergePieces, MergeRules, Place, SAMPLES, StudentKey, TaskState};
use crate::audit::ranges;
use crate::report::merge::{
    Durations, FailureGroup, MergeSummary, ServerGap, SkippedMerge, StudentMerge, StudentWarning, TaskRef, TaskStats,
};

/// A task whose name no lifecycle line gave (only its `开始处理` line was read).
const UNNAMED: &str = "(unnamed)";

/// The report pieces of `fold`, judged by `rules`' exams.
pub(super) fn pieces(fold: &MergeFold, rules: &MergeRules, file_name: &dyn Fn(usize) -> String) -> MergePieces {
    let kept: Vec<(&String, &TaskState)> = fold
        .tasks
        .iter()
        .filter(|(_, t)| rules.keeps(t.exam.as_deref()))
        .collect();
    let other_exam_tasks = fold.tasks.len().saturating_sub(kept.len()) as u64;
    let mut per_name: BTreeMap<&str, TaskStats> = BTreeMap::new();
    let mut ms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut never = Vec::new();
    for (id, t) in &kept {
        let name = if t.name.is_empty() { UNNAMED } else { t.name.as_str() };
        let s = per_name.entry(name).or_insert_with(|| TaskStats::empty(name, None));
        s.received += u64::from(t.received);
        s.succeeded += u64::from(t.succeeded);
        s.skipped += u64::from(t.skipped && !t.succeeded);
        s.failed += u64::from(t.failed && !t.succeeded && !t.skipped);
        s.retried = s.retried.saturating_add(t.retries);
        if let Some(d) = t.ms {
            ms.entry(name).or_default().push(d);
        }
        if t.received && !t.succeeded && !t.failed && !t.skipped {
            s.never_finished += 1;
            never.push(TaskRef {
                name: name.to_string(),
                id: (*id).clone(),
                file: file_name(t.at.0),
                line: t.at.1,
                text: String::new(),
            });
        }
    }
    for (name, s) in per_name.iter_mut() {
        s.duration_ms = ms.get(name).map(|d| durations(d));
    }
    never.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let (students, merge_skipped) = students(fold, &kept, file_name);
    let failures = failures(fold, rules, file_name);
    let mut gaps: Vec<ServerGap> = fold
        .gaps
        .iter()
        .map(|g| ServerGap {
            id: g.id.clone(),
            missing: g.seqs.clone(),
            file: file_name(g.file),
            line: g.line,
            time: g.time.clone(),
            exam: g.exam.clone(),
            times: g.times,
        })
        .collect();
    gaps.sort_by(|a, b| (&a.id, &a.file, a.line).cmp(&(&b.id, &b.file, b.line)));
    let mut warnings: Vec<StudentWarning> = fold
        .warnings
        .iter()
        .filter(|w| rules.keeps(w.exam.as_deref()))
        .map(|w| StudentWarning {
            id: w.id.clone(),
            text: w.text.clone(),
            file: file_name(w.file),
            line: w.line,
        })
        .collect();
    warnings.sort_by(|a, b| (&a.id, &a.file, a.line).cmp(&(&b.id, &b.file, b.line)));
    let tasks: Vec<TaskStats> = per_name.into_values().collect();
    let mut with_gaps: Vec<&str> = gaps.iter().map(|g| g.id.as_str()).collect();
    with_gaps.dedup();
    let summary = MergeSummary {
        files: 0,
        lines: fold.lines,
        celery_lines: fold.celery_lines,
        continuation_lines: fold.continuation_lines,
        tasks: kept.len() as u64,
        succeeded: tasks.iter().map(|t| t.succeeded).sum(),
        skipped: students.iter().map(|s| s.skipped).fold(0, u64::saturating_add),
        students_skipped: merge_skipped.len() as u64,
        ffmpeg_failures: kept
            .iter()
            .map(|(_, t)| t.ffmpeg)
            .fold(fold.ffmpeg_loose, u64::saturating_add),
        other_exam_tasks,
        failed: tasks.iter().map(|t| t.failed).sum(),
        retries: tasks.iter().map(|t| t.retried).fold(0, u64::saturating_add),
        never_finished: never.len() as u64,
        students_with_gaps: with_gaps.len() as u64,
        missing_seqs: gaps
            .iter()
            .map(|g| ranges::count(&g.missing))
            .fold(0, u64::saturating_add),
        warnings: warnings.len() as u64,
        mixed_encoding_lines: 0,
    };
    MergePieces {
        summary,
        tasks,
        failures,
        never_finished: never,
        server_gaps: gaps,
        merge_skipped,
        students,
        warnings,
    }
}

/// Per student: its tasks, re-queues, skips, retries and ffmpeg failures
/// (only students with one of those), and the skipped merges never made good
/// by a later successful run.
fn students(
    fold: &MergeFold,
    kept: &[(&String, &TaskState)],
    file_name: &dyn Fn(usize) -> String,
) -> (Vec<StudentMerge>, Vec<SkippedMerge>) {
    let mut per: BTreeMap<StudentKey, (StudentMerge, Option<Place>)> = BTreeMap::new();
    let blank = |(id, exam): &StudentKey| StudentMerge {
        id: id.clone(),
        exam: exam.clone(),
        tasks: 0,
        requeued: 0,
        skipped: 0,
        retries: 0,
        ffmpeg_failures: 0,
        merged: false,
    };
    for (_, t) in kept {
        // A skipped run no line ties to a student still fails, under no ID.
        let id = match &t.student {
            Some(id) => id.clone(),
            None if t.skipped && !t.succeeded => String::new(),
            None => continue,
        };
        let key = (id, t.exam.clone());
        let (s, first_skip) = per.entry(key.clone()).or_insert_with(|| (blank(&key), None));
        s.tasks += 1;
        s.skipped += u64::from(t.skipped && !t.succeeded);
        s.retries = s.retries.saturating_add(t.retries);
        s.ffmpeg_failures = s.ffmpeg_failures.saturating_add(t.ffmpeg);
        s.merged |= t.succeeded;
        if let Some(at) = &t.skip_at
            && first_skip.as_ref().is_none_or(|f| (f.0, f.1) > (at.0, at.1))
        {
            *first_skip = Some(at.clone());
        }
    }
    // A skip line and a skipped result are the same run: the larger count
    // stands for the runs (either may be missing from a cut log).
    for (key, seen) in &fold.skips {
        let (s, first_skip) = per.entry(key.clone()).or_insert_with(|| (blank(key), None));
        s.skipped = s.skipped.max(seen.lines);
        if first_skip.as_ref().is_none_or(|f| (f.0, f.1) > (seen.file, seen.line)) {
            *first_skip = Some((seen.file, seen.line, seen.time.clone()));
        }
    }
    let mut skipped = Vec::new();
    let mut out = Vec::new();
    for (key, (mut s, first_skip)) in per {
        s.requeued = s.tasks.max(s.skipped).saturating_sub(1);
        if s.skipped > 0
            && !s.merged
            && let Some((file, line, time)) = first_skip
        {
            skipped.push(SkippedMerge {
                id: s.id.clone(),
                exam: s.exam.clone(),
                runs: s.skipped,
                requeued: s.requeued,
                missing: fold.skips.get(&key).map(|k| k.missing.clone()).unwrap_or_default(),
                file: file_name(file),
                line,
                time,
            });
        }
        if s.skipped > 0 || s.requeued > 0 || s.retries > 0 || s.ffmpeg_failures > 0 {
            out.push(s);
        }
    }
    (out, skipped)
}

/// Failures of kept tasks, grouped by task name and exception type.
fn failures(fold: &MergeFold, rules: &MergeRules, file_name: &dyn Fn(usize) -> String) -> Vec<FailureGroup> {
    let mut groups: BTreeMap<(&str, &str), FailureGroup> = BTreeMap::new();
    for f in &fold.failures {
        let exam = fold.tasks.get(&f.id).and_then(|t| t.exam.as_deref());
        if !rules.keeps(exam) {
            continue;
        }
        let g = groups
            .entry((f.name.as_str(), f.exception.as_str()))
            .or_insert_with(|| FailureGroup {
                name: f.name.clone(),
                exception: f.exception.clone(),
                count: 0,
                samples: Vec::new(),
            });
        g.count = g.count.saturating_add(1);
        if g.samples.len() < SAMPLES {
            g.samples.push(TaskRef {
                name: f.name.clone(),
                id: f.id.clone(),
                file: file_name(f.file),
                line: f.line,
                text: f.detail.clone(),
            });
        }
    }
    groups.into_values().collect()
}

fn durations(ms: &[f64]) -> Durations {
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    // Nearest rank; an empty list (never built: a name gets a list with its
    // first duration) reads as zeros rather than panicking.
    let at = |q: f64| {
        let i = (v.len().saturating_sub(1) as f64 * q).round() as usize;
        v.get(i).copied().unwrap_or(0.0)
    };
    Durations {
        p50: at(0.5),
        p99: at(0.99),
        max: v.last().copied().unwrap_or(0.0),
    }
}
