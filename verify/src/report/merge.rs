//! The `verify merge` report (`"schema": "verify.merge/1"`): celery logs.

use serde::{Deserialize, Serialize};

use super::PathError;
use crate::exit::Outcome;
use crate::findings::Kind;

/// Schema tag of this report.
pub const SCHEMA: &str = "verify.merge/1";

/// Kinds of finding of `verify merge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeKind {
    /// The server reported missing seqs (`序号缺失`).
    ServerGap,
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
        MergeKind::TaskFailed,
        MergeKind::NeverFinished,
        MergeKind::Retried,
        MergeKind::Warning,
        MergeKind::NoTasks,
    ];

    fn name(self) -> &'static str {
        match self {
            MergeKind::ServerGap => "server_gap",
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
            MergeKind::ServerGap | MergeKind::TaskFailed | MergeKind::NeverFinished | MergeKind::NoTasks
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
    pub verdict: crate::exit::Verdict,
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
    /// Missing seqs the server reported, per student (sorted by ID, then line).
    pub server_gaps: Vec<ServerGap>,
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
    /// Tasks that succeeded.
    pub succeeded: u64,
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
}

/// Outcomes of one task name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskStats {
    /// Task name, e.g. `tasks.merge_segments`.
    pub name: String,
    pub received: u64,
    pub succeeded: u64,
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
            failed: 0,
            retried: 0,
            never_finished: 0,
            duration_ms,
        }
    }
}

impl MergeReport {
    /// The outcome this report maps to.
    pub fn outcome(&self) -> Outcome {
        self.verdict.outcome()
    }
}
