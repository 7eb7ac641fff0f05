//! The `verify merge` report (`"schema": "verify.merge/1"`): celery logs.

use serde::{Deserialize, Serialize};

use super::PathError;
use crate::findings::Kind;
use common::exit::Outcome;

/// Schema tag of this report.
pub const SCHEMA: &str = "verify.merge/1";

/// Kinds of finding of `verify merge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeKind {
    /// The server reported missing seqs (`序号缺失`, `序号不连续`).
    ServerGap,
    /// The server skipped a student's merge (`序号不连续，跳过合并`, or a task
    /// result `{'status': 'skipped'}`): that student's video was never merged.
    MergeSkipped,
    /// A task raised.
    TaskFailed,
    /// A task was received but never succeeded nor failed.
    NeverFinished,
    /// A task was retried.
    Retried,
    /// Another per-student warning of the worker.
    Warning,
    /// Lines read, and not one task line among them: the wrong file or the
    /// wrong encoding (`--allow-empty` accepts it).
    NoTasks,
}

impl Kind for MergeKind {
    const ALL: &'static [MergeKind] = &[
        MergeKind::ServerGap,
        MergeKind::MergeSkipped,
        MergeKind::TaskFailed,
        MergeKind::NeverFinished,
        MergeKind::Retried,
        MergeKind::Warning,
        MergeKind::NoTasks,
    ];

    fn name(self) -> &'static str {
        match self {
            MergeKind::ServerGap => "server_gap",
            MergeKind::MergeSkipped => "merge_skipped",
            MergeKind::TaskFailed => "task_failed",
            MergeKind::NeverFinished => "never_finished",
            MergeKind::Retried => "retried",
            MergeKind::Warning => "warning",
            MergeKind::NoTasks => "no_tasks",
        }
    }

    fn fails_by_default(self) -> bool {
        matches!(
            self,
            MergeKind::ServerGap
                | MergeKind::MergeSkipped
                | MergeKind::TaskFailed
                | MergeKind::NeverFinished
                | MergeKind::NoTasks
        )
    }
}

/// The whole `verify merge` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeReport {
    /// Always `verify.merge/1`.
    pub schema: String,
    /// `pass`, `fail` or `error`.
    pub verdict: common::exit::Verdict,
    /// The finding kinds that made the run fail.
    pub failed_on: Vec<MergeKind>,
    /// Totals.
    pub summary: MergeSummary,
    /// One entry per file read, with the encoding it was read in (absent
    /// from reports of earlier versions).
    #[serde(default)]
    pub files: Vec<MergeFile>,
    /// Outcomes per task name, sorted by name.
    pub tasks: Vec<TaskStats>,
    /// Failures grouped by task name and exception type.
    pub failures: Vec<FailureGroup>,
    /// Tasks received but never finished (IDs).
    pub never_finished: Vec<TaskRef>,
    /// Missing seqs the server reported, per student (sorted by ID, then line;
    /// the same report repeated by a re-queued task is one entry).
    pub server_gaps: Vec<ServerGap>,
    /// Students whose merge the server skipped, one entry each (absent from
    /// reports of earlier versions).
    #[serde(default)]
    pub merge_skipped: Vec<SkippedMerge>,
    /// Students with a skipped merge, a re-queue, a retry or an ffmpeg
    /// failure, with their counts (absent from reports of earlier versions).
    #[serde(default)]
    pub students: Vec<StudentMerge>,
    /// Other per-student warnings of the worker.
    pub warnings: Vec<StudentWarning>,
    /// Files that could not be read; any entry makes the exit code 2.
    pub errors: Vec<PathError>,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeSummary {
    /// Files read.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// celery lines (with a `[time: LEVEL/process]` header).
    pub celery_lines: u64,
    /// Continuation lines (tracebacks) kept with their entry.
    pub continuation_lines: u64,
    /// Distinct task IDs seen.
    pub tasks: u64,
    /// Tasks that succeeded (a skipped merge is not a success).
    pub succeeded: u64,
    /// Task runs that returned a skipped merge.
    #[serde(default)]
    pub skipped: u64,
    /// Students whose merge was skipped.
    #[serde(default)]
    pub students_skipped: u64,
    /// `[FFmpeg] 合并失败` lines (and the other ffmpeg failure wordings).
    #[serde(default)]
    pub ffmpeg_failures: u64,
    /// Tasks left out because they belong to an exam not named by `--exam`.
    #[serde(default)]
    pub other_exam_tasks: u64,
    /// Tasks whose last outcome was a failure.
    pub failed: u64,
    /// Retries seen.
    pub retries: u64,
    /// Tasks received and never finished.
    pub never_finished: u64,
    /// Students with server-reported gaps.
    pub students_with_gaps: u64,
    /// Missing seq numbers the server reported, all students.
    pub missing_seqs: u64,
    /// Per-student warnings.
    pub warnings: u64,
    /// Lines written in the other encoding than their file's (UTF-8 in a
    /// GB18030 file, GB18030 in a UTF-8 one), read in it: a file mixes encodings.
    #[serde(default)]
    pub mixed_encoding_lines: u64,
}

impl MergeSummary {
    /// 1 when lines were read and not one named a task (`merge:no_tasks`).
    pub fn no_tasks(&self) -> u64 {
        u64::from(self.lines > 0 && self.tasks == 0)
    }
}

/// One celery log read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeFile {
    /// Path as given (`-` for standard input).
    pub path: String,
    /// Encoding used: `utf-8`, `gb18030` or `gbk`.
    pub encoding: String,
    /// Lines read.
    pub lines: u64,
    /// Lines among those in the other encoding (UTF-8 vs GB18030), read in it.
    #[serde(default)]
    pub mixed_encoding_lines: u64,
}

/// Outcomes of one task name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskStats {
    /// Task name, e.g. `tasks.merge_segments`.
    pub name: String,
    pub received: u64,
    pub succeeded: u64,
    /// Runs that returned a skipped merge (not counted as succeeded).
    #[serde(default)]
    pub skipped: u64,
    pub failed: u64,
    pub retried: u64,
    pub never_finished: u64,
    /// Run time of successful runs, milliseconds (null without any).
    pub duration_ms: Option<Durations>,
}

/// Run-time percentiles, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Durations {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Failures of one task name with one exception type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureGroup {
    pub name: String,
    /// Exception type, e.g. `ValueError`.
    pub exception: String,
    pub count: u64,
    /// The first few: where, and the message.
    pub samples: Vec<TaskRef>,
}

/// A task at a place in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    pub name: String,
    pub id: String,
    pub file: String,
    pub line: u64,
    /// The message (failure detail, or empty).
    pub text: String,
}

/// Seqs the server reported missing for one student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerGap {
    /// Student ID.
    pub id: String,
    /// Missing seqs as inclusive `[from, to]` ranges (empty when the line named none).
    pub missing: Vec<[u64; 2]>,
    pub file: String,
    pub line: u64,
    /// Timestamp text of the line.
    pub time: Option<String>,
    /// The exam the line names (`考试=`, `exam_id=`), when it names one.
    #[serde(default)]
    pub exam: Option<String>,
    /// How many times the server reported this same gap (a re-queued student
    /// reports it at every run); `file`/`line` are the first.
    #[serde(default = "one")]
    pub times: u64,
}

fn one() -> u64 {
    1
}

/// A student whose merge the server skipped: the video was never merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedMerge {
    /// Student ID.
    pub id: String,
    pub exam: Option<String>,
    /// Runs that skipped (one per queued task).
    pub runs: u64,
    /// Times the student was queued again after the first run.
    pub requeued: u64,
    /// The missing seqs the last skip named.
    pub missing: Vec<[u64; 2]>,
    /// Where the first skip was seen.
    pub file: String,
    pub line: u64,
    pub time: Option<String>,
}

/// The merge worker's dealings with one student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentMerge {
    /// Student ID.
    pub id: String,
    pub exam: Option<String>,
    /// Distinct merge tasks run for the student.
    pub tasks: u64,
    /// Times queued again after the first task.
    pub requeued: u64,
    /// Runs that skipped the merge.
    pub skipped: u64,
    /// celery retries of the student's tasks.
    pub retries: u64,
    /// ffmpeg failure lines in the student's tasks.
    pub ffmpeg_failures: u64,
    /// Whether a task of the student succeeded (merged).
    pub merged: bool,
}

/// A warning naming a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentWarning {
    pub id: String,
    pub text: String,
    pub file: String,
    pub line: u64,
}

impl TaskStats {
    /// A task name with nothing counted yet.
    pub fn empty(name: &str, duration_ms: Option<Durations>) -> TaskStats {
        TaskStats {
            name: name.to_string(),
            received: 0,
            succeeded: 0,
            skipped: 0,
            failed: 0,
            retried: 0,
            never_finished: 0,
            duration_ms,
        }
    }
}

impl MergeReport {
    /// The count of each kind of finding, as `judge` takes them.
    pub fn counts(&self) -> [(MergeKind, u64); 7] {
        [
            (MergeKind::ServerGap, self.server_gaps.len() as u64),
            (MergeKind::MergeSkipped, self.merge_skipped.len() as u64),
            (MergeKind::TaskFailed, self.summary.failed),
            (MergeKind::NeverFinished, self.never_finished.len() as u64),
            (MergeKind::Retried, self.summary.retries),
            (MergeKind::Warning, self.warnings.len() as u64),
            (MergeKind::NoTasks, self.summary.no_tasks()),
        ]
    }

    /// The outcome this report maps to.
    pub fn outcome(&self) -> Outcome {
        self.verdict.outcome()
    }
}
