//! The celery fold: task lifecycles, failures, durations, and the gaps and
//! warnings the merge worker reports per student. Free of I/O.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use crate::classify::celery::{TaskEvent, parse, task_event};
use crate::report::merge::{Durations, FailureGroup, MergeSummary, ServerGap, StudentWarning, TaskRef, TaskStats};

/// Samples kept per failure group.
const SAMPLES: usize = 3;

/// What the fold looks for.
#[derive(Debug, Clone)]
pub struct MergeRules {
    /// The gap message's word (`序号缺失`).
    pub gap_word: String,
    /// Finds the student ID (named group `id`).
    pub id: Regex,
}

#[derive(Debug, Clone, Default)]
struct TaskState {
    name: String,
    received: bool,
    succeeded: bool,
    failed: bool,
    retries: u64,
    /// Where it was last seen: (file, line).
    at: (usize, u64),
}

/// A failure as seen: where, which task, the message.
#[derive(Debug, Clone)]
struct FailureSeen {
    file: usize,
    line: u64,
    id: String,
    detail: String,
}

/// Failures of one (task name, exception type).
#[derive(Debug, Clone, Default)]
struct FailureTally {
    count: u64,
    samples: Vec<FailureSeen>,
}

/// A gap message as seen.
#[derive(Debug, Clone)]
struct GapSeen {
    id: String,
    seqs: Vec<[u64; 2]>,
    file: usize,
    line: u64,
    time: Option<String>,
}

/// A per-student warning as seen.
#[derive(Debug, Clone)]
struct WarningSeen {
    id: String,
    text: String,
    file: usize,
    line: u64,
}

/// The fold's state.
#[derive(Debug, Clone, Default)]
pub struct MergeFold {
    tasks: HashMap<String, TaskState>,
    durations: HashMap<String, Vec<f64>>,
    failures: BTreeMap<(String, String), FailureTally>,
    gaps: Vec<GapSeen>,
    warnings: Vec<WarningSeen>,
    lines: u64,
    celery_lines: u64,
    continuation_lines: u64,
}

/// The seq numbers a gap message names after the student ID: the value of a
/// `missing=`/`missing:`/`缺失=` key when there is one (`3,5,7-9`), otherwise
/// every number and range left after dropping `key=value` fields. Kept as
/// sorted, merged ranges: `1-99999` is one range, whatever its width.
pub fn missing_seqs(after_id: &str) -> Vec<[u64; 2]> {
    static KEYED: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"(?:missing_seqs|missing|seqs?|缺失序号|缺失)\s*[=:：]\s*([\[\]0-9,，\s-]+)").expect("valid regex")
    });
    let text: String = match KEYED.captures(after_id) {
        Some(c) => c[1].to_string(),
        None => after_id
            .split_whitespace()
            .filter(|t| !t.contains(['=', ':']))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut out = Vec::new();
    for part in text.split(|c: char| !(c.is_ascii_digit() || c == '-')) {
        let mut nums = part.split('-').filter_map(|n| n.parse::<u64>().ok());
        match (nums.next(), nums.next(), nums.next()) {
            (Some(a), None, _) => out.push([a, a]),
            (Some(a), Some(b), None) if a <= b => out.push([a, b]),
            _ => {}
        }
    }
    crate::audit::ranges::normalize(out)
}

impl MergeFold {
    /// Folds one line (`line` numbered from 1) of file `file`.
    pub fn observe(&mut self, rules: &MergeRules, file: usize, line: u64, text: &str) {
        self.lines += 1;
        let Some(l) = parse(text) else {
            if !text.trim().is_empty() {
                self.continuation_lines += 1;
            }
            return;
        };
        self.celery_lines += 1;
        let time = l.time.map(|t| t.text);
        let message = match task_event(l.message) {
            Some(TaskEvent::Received { name, id }) => {
                self.task(name, id, file, line).received = true;
                return;
            }
            Some(TaskEvent::Succeeded { name, id, seconds }) => {
                let t = self.task(name, id, file, line);
                t.succeeded = true;
                t.failed = false;
                if let Some(s) = seconds {
                    self.durations.entry(name.to_string()).or_default().push(s * 1000.0);
                }
                return;
            }
            Some(TaskEvent::Failed {
                name,
                id,
                exception,
                detail,
            }) => {
                let t = self.task(name, id, file, line);
                t.failed = true;
                let g = self.failures.entry((name.to_string(), exception)).or_default();
                g.count += 1;
                if g.samples.len() < SAMPLES {
                    g.samples.push(FailureSeen {
                        file,
                        line,
                        id: id.to_string(),
                        detail: detail.to_string(),
                    });
                }
                return;
            }
            Some(TaskEvent::Retried { name, id }) => {
                self.task(name, id, file, line).retries += 1;
                return;
            }
            Some(TaskEvent::Message { text, .. }) => text,
            None => l.message,
        };
        let Some(caps) = rules.id.captures(message) else { return };
        let Some(m) = caps.name("id") else { return };
        if message.contains(rules.gap_word.as_str()) {
            let (id, seqs) = (m.as_str().to_string(), missing_seqs(&message[m.end()..]));
            self.gaps.push(GapSeen {
                id,
                seqs,
                file,
                line,
                time,
            });
        } else if matches!(l.level, "WARNING" | "ERROR" | "CRITICAL") {
            let (id, text) = (m.as_str().to_string(), message.to_string());
            self.warnings.push(WarningSeen { id, text, file, line });
        }
    }

    fn task(&mut self, name: &str, id: &str, file: usize, line: u64) -> &mut TaskState {
        let t = self.tasks.entry(id.to_string()).or_default();
        if t.name.is_empty() {
            t.name = name.to_string();
        }
        t.at = (file, line);
        t
    }

    /// The server gaps seen after the first `since`: (student, missing ranges).
    pub fn gaps_since(&self, since: usize) -> Vec<(String, Vec<[u64; 2]>)> {
        self.gaps
            .iter()
            .skip(since)
            .map(|g| (g.id.clone(), g.seqs.clone()))
            .collect()
    }

    /// Lines seen so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The report pieces, with file indexes turned into names.
    pub fn finish(&self, file_name: &dyn Fn(usize) -> String) -> MergePieces {
        let mut per_name: BTreeMap<&str, TaskStats> = BTreeMap::new();
        let mut never = Vec::new();
        for (id, t) in &self.tasks {
            let s = per_name
                .entry(&t.name)
                .or_insert_with(|| TaskStats::empty(&t.name, None));
            s.received += u64::from(t.received);
            s.succeeded += u64::from(t.succeeded);
            s.failed += u64::from(t.failed && !t.succeeded);
            s.retried += t.retries;
            if t.received && !t.succeeded && !t.failed {
                s.never_finished += 1;
                never.push(TaskRef {
                    name: t.name.clone(),
                    id: id.clone(),
                    file: file_name(t.at.0),
                    line: t.at.1,
                    text: String::new(),
                });
            }
        }
        for (name, s) in per_name.iter_mut() {
            s.duration_ms = self.durations.get(*name).map(|d| durations(d));
        }
        never.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        let failures = self
            .failures
            .iter()
            .map(|((name, exception), t)| FailureGroup {
                name: name.clone(),
                exception: exception.clone(),
                count: t.count,
                samples: t
                    .samples
                    .iter()
                    .map(|f| TaskRef {
                        name: name.clone(),
                        id: f.id.clone(),
                        file: file_name(f.file),
                        line: f.line,
                        text: f.detail.clone(),
                    })
                    .collect(),
            })
            .collect();
        let mut gaps: Vec<ServerGap> = self
            .gaps
            .iter()
            .map(|g| ServerGap {
                id: g.id.clone(),
                missing: g.seqs.clone(),
                file: file_name(g.file),
                line: g.line,
                time: g.time.clone(),
            })
            .collect();
        gaps.sort_by(|a, b| (&a.id, &a.file, a.line).cmp(&(&b.id, &b.file, b.line)));
        let mut warnings: Vec<StudentWarning> = self
            .warnings
            .iter()
            .map(|w| StudentWarning {
                id: w.id.clone(),
                text: w.text.clone(),
                file: file_name(w.file),
                line: w.line,
            })
            .collect();
        warnings.sort_by(|a, b| (&a.id, &a.file, a.line).cmp(&(&b.id, &b.file, b.line)));
        let tasks: Vec<TaskStats> = per_name.into_values().collect();
        let mut students: Vec<&str> = gaps.iter().map(|g| g.id.as_str()).collect();
        students.dedup();
        let summary = MergeSummary {
            files: 0,
            lines: self.lines,
            celery_lines: self.celery_lines,
            continuation_lines: self.continuation_lines,
            tasks: self.tasks.len() as u64,
            succeeded: tasks.iter().map(|t| t.succeeded).sum(),
            failed: tasks.iter().map(|t| t.failed).sum(),
            retries: tasks.iter().map(|t| t.retried).sum(),
            never_finished: never.len() as u64,
            students_with_gaps: students.len() as u64,
            missing_seqs: gaps
                .iter()
                .map(|g| crate::audit::ranges::count(&g.missing))
                .fold(0, u64::saturating_add),
            warnings: warnings.len() as u64,
        };
        MergePieces {
            summary,
            tasks,
            failures,
            never_finished: never,
            server_gaps: gaps,
            warnings,
        }
    }
}

/// Everything the report needs from the fold.
#[derive(Debug, Clone)]
pub struct MergePieces {
    pub summary: MergeSummary,
    pub tasks: Vec<TaskStats>,
    pub failures: Vec<FailureGroup>,
    pub never_finished: Vec<TaskRef>,
    pub server_gaps: Vec<ServerGap>,
    pub warnings: Vec<StudentWarning>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_seqs_from_various_wordings() {
        assert_eq!(missing_seqs(" exam_id=30 missing=3,5,7-9"), [[3, 3], [5, 5], [7, 9]]);
        assert_eq!(missing_seqs(" exam_id=30 缺失序号:[4, 6]"), [[4, 4], [6, 6]]);
        assert_eq!(missing_seqs(" 缺少 12 14-15 号片段 exam_id=30"), [[12, 12], [14, 15]]);
        assert_eq!(
            missing_seqs(" missing=1-99999,5-200000,3"),
            [[1, 200_000]],
            "ranges stay ranges"
        );
        assert!(missing_seqs(" exam_id=30").is_empty());
    }
}
