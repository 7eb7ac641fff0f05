//! The run report (`"schema": "loadgen.run/1"`): the JSON contract and what
//! every renderer reads. Fields may be added, never renamed.

use std::collections::BTreeMap;

use common::exit::Verdict;
use serde::{Deserialize, Serialize};

/// Schema tag of this report.
pub const SCHEMA: &str = "loadgen.run/1";

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    /// Always `loadgen.run/1`.
    pub schema: String,
    /// `pass`, `fail` (failure ratio above `--max-fail-ratio`, or a student
    /// that ended abnormally), or `interrupted`: the run ended before its
    /// plan (see `interrupted`) with no failure over the limit until then.
    pub verdict: Verdict,
    /// The target.
    pub host: String,
    /// Student IDs this process used, e.g. `test_00001..test_00167`.
    pub id_range: String,
    /// How the range was chosen: `all`, `shard 1/3`, `worker-offset 200`.
    pub id_source: String,
    /// `loadgen worker`: ranges of IDs its users took outside the run's
    /// population (users moved between workers), e.g. `test_00061..test_00063`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids_outside_population: Vec<String>,
    /// Seconds the run lasted, stop included.
    pub duration_s: f64,
    /// Students and their uploads.
    pub students: Students,
    /// One entry per request kind.
    pub endpoints: Vec<EndpointReport>,
    /// All request kinds together.
    pub total: EndpointReport,
    /// Total failures over total requests.
    pub fail_ratio: f64,
    /// The `--max-fail-ratio` the verdict used.
    pub max_fail_ratio: f64,
    /// How late the sequenced task's runs started against their plan.
    pub lateness: Lateness,
    /// How late each task's runs started against their plan, in scenario order.
    #[serde(default)]
    pub task_lateness: Vec<TaskLateness>,
    /// One row per second: the run over time.
    pub history: Vec<HistoryRow>,
    /// HTTPS: handshakes and their times, and whether certificates were checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsReport>,
    /// `--ledger`: the first write error (a full disk). The ledger stops
    /// there, the run goes on, and loadgen exits 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_error: Option<String>,
    /// The signal that stopped the run before its end (`SIGINT`, `SIGTERM`,
    /// `SIGHUP`), when one did; the figures cover the run until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// What to do about the failures seen (every login refused: `loadgen
    /// setup` first; nothing listening at the host; …), in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// A queued sequenced task (the real client): how deep the local queues got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueReport>,
    /// The run ended before its plan (a signal, the Locust master lost): its
    /// figures cover only part of it. loadgen then exits 3, unless
    /// `--ok-if-interrupted`. A run that also failed keeps `verdict: fail`.
    #[serde(default)]
    pub interrupted: bool,
    /// When, by which build and with which command line the run was made
    /// (the page's heading); absent in the reports of older builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<RunContext>,
}

/// The local queues of a queued sequenced task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueReport {
    /// Segments queued over every student at once, at most (the series is
    /// `history[].queued`, one value a second).
    pub max_queued: u64,
    /// One student's queue at a flush, at most (segments waiting for upload).
    pub max_student_depth: u64,
    /// The oldest queued segment's age at a flush, at most, seconds.
    pub max_oldest_age_s: f64,
    /// Segments still queued after the exit passes (listed per student in `students.lost_at_exit`).
    pub lost_at_exit: u64,
}

/// Where a report came from, for a person reading it later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunContext {
    /// When the command started, local time with its offset (RFC 3339).
    pub started_at: String,
    /// `loadgen 0.2.0`.
    pub tool: String,
    /// The command line after the program name, as given; `--var` values
    /// are replaced by `…` (they may hold passwords).
    pub command: Vec<String>,
}

impl RunReport {
    /// Marks the run as ended before its plan; a passing verdict becomes
    /// `interrupted` (a part of a run is no pass), a failing one stays.
    pub fn interrupt(&mut self) {
        self.interrupted = true;
        if self.verdict == Verdict::Pass {
            self.verdict = Verdict::Interrupted;
        }
    }
}

impl RunContext {
    /// The context of a command started at `started` with `args` (program
    /// name first, as the process got them).
    pub fn new(args: &[std::ffi::OsString], started: chrono::DateTime<chrono::Local>) -> RunContext {
        let mut command = Vec::new();
        let mut secret_next = false;
        for a in args.iter().skip(1).map(|a| a.to_string_lossy()) {
            let hidden = |v: &str| v.split_once('=').map_or("…".to_string(), |(k, _)| format!("{k}=…"));
            command.push(if secret_next {
                hidden(&a)
            } else if let Some(v) = a.strip_prefix("--var=") {
                format!("--var={}", hidden(v))
            } else {
                a.to_string()
            });
            secret_next = a == "--var";
        }
        RunContext {
            started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            tool: format!("loadgen {}", env!("CARGO_PKG_VERSION")),
            command,
        }
    }
}

/// TLS handshakes of new connections (`https://` hosts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsReport {
    /// Handshakes completed (failed ones are requests failed as `tls`).
    pub handshakes: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// `--insecure`: the server's certificate was not verified.
    pub insecure: bool,
}

/// Students of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Students {
    /// Students planned for this process.
    pub planned: u64,
    /// Student tasks started.
    pub spawned: u64,
    /// Students that logged in.
    pub logged_in: u64,
    /// Students that never logged in (retries exhausted), by ID.
    pub login_failed: Vec<String>,
    /// Students whose task ended without finishing (panicked, or abandoned
    /// after `--stop-timeout`), with why; each fails the run, and the seq it
    /// had in flight is listed in `gave_up`.
    #[serde(default)]
    pub ended_abnormally: Vec<AbnormalEnd>,
    /// Segments uploaded successfully.
    pub segments_uploaded: u64,
    /// Seqs given up after retries, per student: holes the server will show.
    pub gave_up: Vec<StudentIssue>,
    /// Seqs skipped on purpose (`--skip-seq`, `--skip-every`), per student.
    pub skipped: Vec<StudentIssue>,
    /// Seqs still queued after a queued task's exit passes, per student:
    /// recorded but never uploaded (the client lost them at exit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_at_exit: Vec<StudentIssue>,
    /// `--restart-students`: students whose client restarted, with the
    /// queued seqs the restart lost (their seqs then start again at 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarted: Vec<StudentIssue>,
    /// `--kill-students`: students whose client was killed (no logout), with the queued seqs lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub killed: Vec<StudentIssue>,
    /// Students whose finish call succeeded.
    pub finished: u64,
    /// Students whose finish call failed for good.
    pub finish_failed: u64,
}

/// A student that ended abnormally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbnormalEnd {
    /// Student ID.
    pub id: String,
    /// `panicked` or `abandoned after --stop-timeout`.
    pub why: String,
}

/// Seqs of one student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentIssue {
    /// Student ID.
    pub id: String,
    /// The seq numbers.
    pub seqs: Vec<u64>,
}

/// Figures of one request kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointReport {
    /// Name in the scenario (`login`, `upload`, `finish`), or `Aggregated`.
    pub name: String,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Requests sent (retries included).
    pub requests: u64,
    /// Requests that failed.
    pub failures: u64,
    /// Failures by kind: `http 500`, `timeout`, `connect`, `reset`, `protocol`.
    pub failure_kinds: BTreeMap<String, u64>,
    /// The server's first answer for each failure kind that had one (its
    /// first 200 bytes as text): `"http 400": "{\"message\":\"当前没有进行中的考试…\"}"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_answers: BTreeMap<String, String>,
    /// Requests per second over the run.
    pub requests_per_s: f64,
    /// Failures per second over the run.
    pub failures_per_s: f64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
    /// Mean response body size.
    pub avg_response_bytes: f64,
    /// Latency in milliseconds (HDR histogram, 3 significant digits).
    pub latency_ms: Latency,
    /// Latency at Locust's quantiles (`PERCENTILES`), whole milliseconds; empty without requests.
    pub percentiles_ms: Vec<u64>,
}

/// Locust's reported quantiles, in its CSV column order.
pub const PERCENTILES: [(f64, &str); 11] = [
    (0.50, "50%"),
    (0.66, "66%"),
    (0.75, "75%"),
    (0.80, "80%"),
    (0.90, "90%"),
    (0.95, "95%"),
    (0.98, "98%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
    (1.0, "100%"),
];

/// Latency figures, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub avg: f64,
}

/// Upload schedule lateness: start time minus planned time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lateness {
    /// Uploads measured.
    pub uploads: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One task's lateness: start time minus planned time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskLateness {
    /// The task's name in the scenario.
    pub name: String,
    /// Runs measured.
    pub runs: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The run at one second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRow {
    /// Unix time, seconds.
    pub timestamp: u64,
    /// Seconds since the start.
    pub elapsed_s: f64,
    /// Students running.
    pub users: u64,
    /// Requests per second over the last 10 complete seconds.
    pub requests_per_s: f64,
    /// Failures per second over the last 10 complete seconds.
    pub failures_per_s: f64,
    /// Latency so far at Locust's quantiles (`PERCENTILES`), whole milliseconds; empty before any request.
    pub percentiles_ms: Vec<u64>,
    /// Requests so far.
    pub total_requests: u64,
    /// Failures so far.
    pub total_failures: u64,
    /// Latency so far: mean, min and max, milliseconds.
    pub avg_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Mean response body size so far.
    pub avg_response_bytes: f64,
    /// Lateness p99 so far over every task, milliseconds.
    pub lateness_p99_ms: Option<f64>,
    /// A queued task: segments queued over every student now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_keeps_the_command_but_not_the_vars_values() {
        let args: Vec<std::ffi::OsString> = [
            "loadgen",
            "run",
            "--var",
            "password=hunter2",
            "--var=token=abc",
            "--students",
            "3",
        ]
        .map(Into::into)
        .to_vec();
        let c = RunContext::new(&args, chrono::Local::now());
        assert_eq!(
            c.command,
            ["run", "--var", "password=…", "--var=token=…", "--students", "3"]
        );
        assert!(c.tool.starts_with("loadgen ") && c.started_at.len() >= 20, "{c:?}");
    }
}
