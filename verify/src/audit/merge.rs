//! The celery fold: task lifecycles, failures, durations, and the gaps and
//! warnings the merge worker reports per student. Free of I/O.

mod finish;

use std::collections::HashMap;

use regex::Regex;

use crate::classify::celery::{TaskEvent, parse, task_event};
use crate::classify::mergeline;
use crate::report::merge::{
    FailureGroup, MergeSummary, ServerGap, SkippedMerge, StudentMerge, StudentWarning, TaskRef, TaskStats,
};

/// Samples kept per failure group.
const SAMPLES: usize = 3;

/// The gap words read by default: the real server's two wordings
/// (`检测到序号缺失`, merged anyway; `序号不连续，跳过合并`, not merged) and the
/// reference target's older `序号缺失 student_id=…`.
pub const GAP_WORDS: [&str; 2] = ["序号缺失", "序号不连续"];

/// What the fold looks for.
#[derive(Debug, Clone)]
pub struct MergeRules {
    /// A line holding any of these words reports a gap.
    pub gap_words: Vec<String>,
    /// Finds the student ID (named group `id`) when no `学生=`/`student_id=` names it.
    pub id: Regex,
    /// `--exam`: only tasks and lines of these exams count (every exam when empty;
    /// a task whose exam no line names is kept).
    pub exams: Vec<String>,
}

impl MergeRules {
    /// Whether a task or line of this exam counts.
    pub fn keeps(&self, exam: Option<&str>) -> bool {
        self.exams.is_empty() || exam.is_none_or(|e| self.exams.iter().any(|x| x == e))
    }
}

#[derive(Debug, Clone, Default)]
struct TaskState {
    name: String,
    received: bool,
    succeeded: bool,
    /// Returned a skipped merge (or logged the skip).
    skipped: bool,
    failed: bool,
    retries: u64,
    /// Run time of the success, ms.
    ms: Option<f64>,
    student: Option<String>,
    exam: Option<String>,
    /// ffmpeg failure lines logged while it ran.
    ffmpeg: u64,
    /// Where it was last seen: (file, line).
    at: (usize, u64),
    /// Where it skipped.
    skip_at: Option<Place>,
}

/// A failure as seen: where, which task, the message.
#[derive(Debug, Clone)]
struct FailureSeen {
    name: String,
    exception: String,
    file: usize,
    line: u64,
    id: String,
    detail: String,
}

/// A gap report as seen (first place), with how often it was repeated.
#[derive(Debug, Clone)]
struct GapSeen {
    id: String,
    exam: Option<String>,
    seqs: Vec<[u64; 2]>,
    file: usize,
    line: u64,
    time: Option<String>,
    times: u64,
}

/// Skip lines of one student.
#[derive(Debug, Clone)]
struct SkipSeen {
    lines: u64,
    missing: Vec<[u64; 2]>,
    file: usize,
    line: u64,
    time: Option<String>,
}

/// A per-student warning as seen.
#[derive(Debug, Clone)]
struct WarningSeen {
    id: String,
    exam: Option<String>,
    text: String,
    file: usize,
    line: u64,
}

/// A place in the logs: (file, line, time text).
type Place = (usize, u64, Option<String>);

/// A student in one exam (the exam when a line names it).
type StudentKey = (String, Option<String>);

/// The fold's state.
#[derive(Debug, Clone, Default)]
pub struct MergeFold {
    tasks: HashMap<String, TaskState>,
    /// The task each worker process runs now: the real server's lines name
    /// no task, so an ffmpeg line or a gap line belongs to the task its
    /// process started last (a prefork process runs one task at a time).
    running: HashMap<String, String>,
    failures: Vec<FailureSeen>,
    gaps: Vec<GapSeen>,
    gap_index: HashMap<(StudentKey, Vec<[u64; 2]>), usize>,
    skips: HashMap<StudentKey, SkipSeen>,
    /// ffmpeg failure lines of no known task.
    ffmpeg_loose: u64,
    warnings: Vec<WarningSeen>,
    lines: u64,
    celery_lines: u64,
    continuation_lines: u64,
}

/// The text of `message` after `part`, a slice of it.
fn after<'a>(message: &'a str, part: &str) -> &'a str {
    let at = (part.as_ptr() as usize)
        .checked_sub(message.as_ptr() as usize)
        .and_then(|o| o.checked_add(part.len()));
    at.and_then(|a| message.get(a..)).unwrap_or("")
}

impl MergeFold {
    /// Folds one line (`line` numbered from 1) of file `file`.
    /// Counts lines read but over the line cap (skipped unread): a file of
    /// nothing else still held lines, so `no_tasks` can say it named no task.
    pub fn skipped_overlong(&mut self, n: u64) {
        self.lines = self.lines.saturating_add(n);
    }

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
        let (message, task_id) = match task_event(l.message) {
            Some(TaskEvent::Received { name, id }) => {
                self.task(name, id, file, line).received = true;
                return;
            }
            Some(TaskEvent::Succeeded {
                name,
                id,
                seconds,
                result,
            }) => {
                let r = mergeline::task_result(result);
                let t = self.task(name, id, file, line);
                t.failed = false;
                if r.skipped() || t.skipped {
                    t.skipped = true;
                    t.skip_at.get_or_insert((file, line, time));
                } else {
                    t.succeeded = true;
                    t.ms = seconds.map(|s| s * 1000.0);
                }
                fill(&mut t.student, r.student);
                fill(&mut t.exam, r.exam);
                self.release(l.process, id);
                return;
            }
            Some(TaskEvent::Failed {
                name,
                id,
                exception,
                detail,
            }) => {
                self.task(name, id, file, line).failed = true;
                self.failures.push(FailureSeen {
                    name: name.to_string(),
                    exception,
                    file,
                    line,
                    id: id.to_string(),
                    detail: detail.to_string(),
                });
                self.release(l.process, id);
                return;
            }
            Some(TaskEvent::Retried { name, id }) => {
                self.task(name, id, file, line).retries += 1;
                self.release(l.process, id);
                return;
            }
            Some(TaskEvent::Message { name, id, text }) => {
                self.task(name, id, file, line);
                self.run_on(l.process, id);
                (text, Some(id))
            }
            None => (l.message, None),
        };
        if let Some(started) = mergeline::started_task(message) {
            let t = self.tasks.entry(started.to_string()).or_default();
            t.at = (file, line);
            fill(&mut t.student, mergeline::student(message));
            fill(&mut t.exam, mergeline::exam(message));
            self.run_on(l.process, started);
            return;
        }
        let ffmpeg = mergeline::ffmpeg_failure(message);
        let gap = rules.gap_words.iter().any(|w| message.contains(w.as_str()));
        let warning = matches!(l.level, "WARNING" | "ERROR" | "CRITICAL");
        // Most lines are none of these: read no fields from them.
        if !(ffmpeg || gap || warning) {
            return;
        }
        let running = task_id.or_else(|| self.running.get(l.process).map(String::as_str));
        let task = match running {
            Some(id) => self.tasks.get_mut(id),
            None => None,
        };
        if ffmpeg {
            match task {
                Some(t) => t.ffmpeg += 1,
                None => self.ffmpeg_loose += 1,
            }
            return;
        }
        if mergeline::failure_echo(message) {
            return;
        }
        let student = mergeline::student(message).or_else(|| {
            rules
                .id
                .captures(message)
                .and_then(|c| c.name("id"))
                .map(|m| m.as_str())
        });
        let Some(student) = student else { return };
        let exam = mergeline::exam(message)
            .map(str::to_string)
            .or_else(|| task.as_ref().and_then(|t| t.exam.clone()));
        if gap {
            let skipped = mergeline::says_skipped(message);
            if let Some(t) = task {
                fill(&mut t.student, Some(student));
                fill(&mut t.exam, exam.as_deref());
                if skipped {
                    t.skipped = true;
                    t.skip_at.get_or_insert((file, line, time.clone()));
                }
            }
            if !rules.keeps(exam.as_deref()) {
                return;
            }
            let seqs = mergeline::missing_seqs(after(message, student));
            let key: StudentKey = (student.to_string(), exam.clone());
            if skipped {
                let s = self.skips.entry(key.clone()).or_insert_with(|| SkipSeen {
                    lines: 0,
                    missing: Vec::new(),
                    file,
                    line,
                    time: time.clone(),
                });
                s.lines += 1;
                s.missing.clone_from(&seqs);
            }
            match self.gap_index.get(&(key.clone(), seqs.clone())) {
                Some(&i) => {
                    if let Some(g) = self.gaps.get_mut(i) {
                        g.times = g.times.saturating_add(1);
                    }
                }
                None => {
                    self.gap_index.insert((key, seqs.clone()), self.gaps.len());
                    self.gaps.push(GapSeen {
                        id: student.to_string(),
                        exam,
                        seqs,
                        file,
                        line,
                        time,
                        times: 1,
                    });
                }
            }
        } else if warning && rules.keeps(exam.as_deref()) {
            self.warnings.push(WarningSeen {
                id: student.to_string(),
                exam,
                text: message.to_string(),
                file,
                line,
            });
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

    /// Process `process` runs task `id` now.
    fn run_on(&mut self, process: &str, id: &str) {
        if self.running.get(process).is_none_or(|r| r != id) {
            self.running.insert(process.to_string(), id.to_string());
        }
    }

    /// The process finished task `id`: its next lines belong to another.
    fn release(&mut self, process: &str, id: &str) {
        if self.running.get(process).is_some_and(|r| r == id) {
            self.running.remove(process);
        }
    }

    /// The server gaps first seen after the first `since`: (student, missing
    /// ranges). A gap a re-queued task repeats is not new.
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
    pub fn finish(&self, rules: &MergeRules, file_name: &dyn Fn(usize) -> String) -> MergePieces {
        finish::pieces(self, rules, file_name)
    }
}

/// Sets `slot` from `value` when it is still unknown.
fn fill(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.map(str::to_string);
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
    pub merge_skipped: Vec<SkippedMerge>,
    pub students: Vec<StudentMerge>,
    pub warnings: Vec<StudentWarning>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(exams: &[&str]) -> MergeRules {
        MergeRules {
            gap_words: GAP_WORDS.iter().map(|w| w.to_string()).collect(),
            id: crate::classify::login::id_regex("test_"),
            exams: exams.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn fold(rules: &MergeRules, text: &str) -> MergePieces {
        let mut f = MergeFold::default();
        for (i, l) in text.lines().enumerate() {
            f.observe(rules, 0, i as u64 + 1, l);
        }
        f.finish(rules, &|_| "merge.log".into())
    }

    const N: &str = "celery_tasks.merge_videos_task";

    /// Two worker processes interleaved: the ffmpeg failure, its stderr and the
    /// retry belong to the task process 2 started, not to process 1's.
    #[test]
    fn lines_without_a_task_id_belong_to_the_task_their_process_runs() {
        let a = "0a0a0a0a-0000-4000-8000-00000000000a";
        let b = "0b0b0b0b-0000-4000-8000-00000000000b";
        let log = format!(
            "[2026-04-15 10:30:00,001: INFO/MainProcess] Task {N}[{a}] received\n\
             [2026-04-15 10:30:00,002: INFO/MainProcess] Task {N}[{b}] received\n\
             [2026-04-15 10:30:00,003: INFO/ForkPoolWorker-1] [视频合并] 开始处理: 考试=12, 学生=S1 (甲), Task ID={a}\n\
             [2026-04-15 10:30:00,004: INFO/ForkPoolWorker-2] [视频合并] 开始处理: 考试=12, 学生=S2 (乙), Task ID={b}\n\
             [2026-04-15 10:30:00,005: ERROR/ForkPoolWorker-2] [FFmpeg] 合并失败: ffmpeg version 4.4.2\n\
             [mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c3a7e900] moov atom not found\n\
             [x: ERROR/ForkPoolWorker-1] not a header: no time\n\
             [2026-04-15 10:30:00,006: ERROR/ForkPoolWorker-2] [视频合并] 合并失败: S2, 12\n\
             [2026-04-15 10:30:00,007: INFO/ForkPoolWorker-1] Task {N}[{a}] succeeded in 1.0s: {{'status': 'success', 'student_id': 'S1', 'exam_id': 12}}\n\
             [2026-04-15 10:30:00,008: INFO/ForkPoolWorker-2] Task {N}[{b}] retry: Retry in 60s\n"
        );
        let p = fold(&rules(&[]), &log);
        assert_eq!((p.summary.celery_lines, p.summary.continuation_lines), (8, 2));
        let s: Vec<(&str, u64, u64, bool)> = p
            .students
            .iter()
            .map(|s| (s.id.as_str(), s.retries, s.ffmpeg_failures, s.merged))
            .collect();
        assert_eq!(s, [("S2", 1, 1, false)], "S1 merged cleanly and is not listed");
        assert!(p.warnings.is_empty(), "the worker's echo of the failure is no warning");
        assert_eq!(p.summary.never_finished, 1, "S2's task was retried and not seen again");
    }

    #[test]
    fn a_skipped_result_alone_is_a_skipped_merge_and_no_success() {
        let a = "0a0a0a0a-0000-4000-8000-00000000000a";
        let log = format!(
            "[2026-04-15 10:30:00,001: INFO/MainProcess] Task {N}[{a}] received\n\
             [2026-04-15 10:30:00,009: INFO/ForkPoolWorker-1] Task {N}[{a}] succeeded in 0.002s: \
             {{'status': 'skipped', 'reason': '序号不连续', 'missing_seqs': [3], 'total_seqs': 3, 'student_id': 'S9', 'exam_id': 12}}\n"
        );
        let p = fold(&rules(&[]), &log);
        assert_eq!((p.summary.succeeded, p.summary.skipped), (0, 1));
        assert_eq!(p.merge_skipped.len(), 1);
        assert_eq!((p.merge_skipped[0].id.as_str(), p.merge_skipped[0].line), ("S9", 2));
        let anonymous = log.replace(", 'student_id': 'S9', 'exam_id': 12", "");
        let p = fold(&rules(&[]), &anonymous);
        assert_eq!(
            p.merge_skipped.len(),
            1,
            "a skipped run of no known student still fails"
        );
        assert_eq!(p.merge_skipped[0].id, "");
        let p = fold(&rules(&["13"]), &log);
        assert_eq!((p.summary.tasks, p.summary.other_exam_tasks), (0, 1));
        assert!(p.merge_skipped.is_empty());
    }
}
