//! The client a virtual student simulates, described in TOML (version 2):
//! one-time `[[setup]]` requests, a `[login]` with captures from its answer,
//! any number of periodic `[[task]]`s (at most one `sequenced`), a
//! `[logout]`. Parsed in two steps: `raw` keeps every value's place in the
//! file, `compile` checks it and builds the typed scenario the engine runs, so
//! a bad scenario is refused with its file, line and key.

mod compile;
mod raw;
mod request;
pub mod template;

use std::time::Duration;

use hyper::Method;
use hyper::header::HeaderName;

pub use template::{Captured, Escape, Template, Values};

/// The built-in scenario: the real supervise client (also `loadgen scenario`).
pub const DEFAULT_TOML: &str = include_str!("../../../fixtures/scenarios/supervise.toml");

/// The longest `every`, `jitter` or `offset` (scenario or `--every`): a day.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// `application/x-www-form-urlencoded`.
    #[default]
    Form,
    /// `application/json`.
    Json,
    /// `multipart/form-data`, with at most one file part.
    Multipart,
}

/// The file part of a multipart request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The form field name (`video`, `screenshot`).
    pub field: String,
    /// The file name sent.
    pub name: Template,
    pub content_type: String,
    /// Bytes sent, drawn per request from this range.
    pub size: (u64, u64),
    /// Or drawn from a log-normal fitted to a measured median and p90,
    /// clipped at `size.1` (`size = { median = …, p90 = …, max = … }`).
    pub dist: Option<SizeDist>,
}

/// A measured size distribution: log-normal with `ln X ~ N(ln median, σ)`,
/// `σ = (ln p90 − ln median) / 1.2816` (the normal's 90th percentile), each
/// draw clipped to `1..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeDist {
    pub median: u64,
    pub p90: u64,
    pub max: u64,
}

/// How a queued task retries a failed upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It stays queued (same seq, same `{timestamp}`) for the next flush, without a cap while the run lasts.
    NextFlush,
    /// Up to N attempts in all, one after the other (with `--backoff`), then the seq is given up.
    Immediate(u32),
}

/// A sequenced task that records into a local queue and uploads it in bursts
/// (the real client): a segment every `every`, a flush every `flush_every`
/// + uniform(0, `flush_jitter`) after the previous burst ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Queue {
    pub flush_every: Duration,
    pub flush_jitter: Duration,
    /// Pause between two uploads of one burst.
    pub flush_gap: Duration,
    pub retry: Retry,
    /// Upload passes at the end (stop or `--segments`), `exit_pass_gap` apart;
    /// what is still queued after them is lost.
    pub exit_passes: u32,
    pub exit_pass_gap: Duration,
}

/// What an answer must be to count as a success.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expect {
    /// Accepted statuses; empty: any 2xx.
    pub status: Vec<u16>,
    /// JSON pointers and the values they must hold.
    pub json: Vec<(String, serde_json::Value)>,
}

/// One request of the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Its name in the statistics (`login`, `heartbeat`, …).
    pub name: String,
    pub method: Method,
    /// Values filled into the path are percent-encoded.
    pub path: Template,
    pub encoding: Encoding,
    pub fields: Vec<(String, Template)>,
    pub headers: Vec<(HeaderName, Template)>,
    pub file: Option<FilePart>,
    pub expect: Expect,
    /// (capture index, JSON pointer) taken from a successful answer.
    pub capture: Vec<(usize, String)>,
    /// (name, JSON pointer): answer fields written to the `--ledger`.
    pub ledger: Vec<(String, String)>,
}

/// A periodic request of every logged-in student.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub request: Request,
    /// Time between runs.
    pub every: Duration,
    /// Each run starts up to this much after its planned time (drawn per run).
    pub jitter: Duration,
    /// First run this long after login (default: `every`).
    pub offset: Option<Duration>,
    /// Each planned run happens with this probability.
    pub probability: f64,
    /// Carries seq 1, 2, 3 …: paced, retried with the same seq, given-up seqs listed.
    pub sequenced: bool,
    /// Sequenced only: record into a local queue, flushed in bursts.
    pub queue: Option<Queue>,
    /// Off unless `--every NAME=DURATION` turns it on (`enabled = false`).
    pub enabled: bool,
    /// Attempts per run (`tries`, default 1), with `--backoff` between them;
    /// for the sequenced task, `--retries` overrides it.
    pub tries: u32,
    /// Unsequenced: each attempt's own time limit (`timeout`, default `--timeout`).
    pub timeout: Option<Duration>,
}

impl Task {
    /// When the first run is due after login.
    pub fn first(&self) -> Duration {
        self.offset.unwrap_or(self.every)
    }
}

/// A whole scenario, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Where it came from (file name or `built-in`), for messages.
    pub source: String,
    /// `{student_name}` of student `{n}`.
    pub student_name: Template,
    pub setup: Vec<Request>,
    /// Names captured by setup, in index order.
    pub setup_captures: Vec<String>,
    pub login: Request,
    /// Names captured by login, in index order.
    pub captures: Vec<String>,
    pub tasks: Vec<Task>,
    pub logout: Option<Request>,
    /// The index in `captures` of the exam the student logged into, written
    /// on its `--ledger` records: `ledger_exam = "NAME"`, else the capture
    /// named `exam_id` when there is one.
    pub ledger_exam: Option<usize>,
}

/// Why a scenario was refused: the file, the line, the key.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("read scenario {0}: {1}")]
    Read(String, std::io::Error),
    #[error("scenario {file}{}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default(), key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default())]
    Invalid {
        file: String,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
    /// A command-line flag's value, named as typed (`--var foo=1`): not a
    /// scenario line.
    #[error("{flag}: {message}")]
    Flag { flag: String, message: String },
}

impl ScenarioError {
    /// A refused flag value (sanitized: it came from the command line).
    pub fn flag(flag: String, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Flag {
            flag: common::text::escape_str(&flag),
            message: common::text::escape_str(&message.into()),
        }
    }
}

/// Options that change a scenario from the command line, as typed (the
/// last one for a name wins); checked by `compile`, which names the flag.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--var NAME=VALUE`: replaces a `[vars]` constant the scenario declares.
    pub vars: Vec<(String, String)>,
    /// `--every NAME=DURATION`: a task's interval.
    pub every: Vec<(String, String)>,
}

/// Resolves `ledger_exam` against the login's captures.
fn exam_capture(
    cx: &compile::Ctx,
    named: Option<&toml::Spanned<String>>,
    captures: &[String],
) -> Result<Option<usize>, ScenarioError> {
    let Some(name) = named else {
        return Ok(captures.iter().position(|c| c == "exam_id"));
    };
    match captures.iter().position(|c| c == name.get_ref()) {
        Some(i) => Ok(Some(i)),
        None => Err(cx.err(
            Some(&name.span()),
            "ledger_exam",
            format!(
                "'{}' is not captured by [login] (its captures: {})",
                name.get_ref(),
                if captures.is_empty() {
                    "none".to_string()
                } else {
                    captures.join(", ")
                }
            ),
        )),
    }
}

impl Scenario {
    /// The built-in scenario.
    pub fn builtin() -> Result<Scenario, ScenarioError> {
        Scenario::parse(DEFAULT_TOML, "built-in", &Overrides::default())
    }

    /// Parses and checks a scenario.
    pub fn parse(text: &str, name: &str, o: &Overrides) -> Result<Scenario, ScenarioError> {
        compile::compile(text, name, o)
    }

    /// Reads a scenario file.
    pub fn load(path: &std::path::Path, o: &Overrides) -> Result<Scenario, ScenarioError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read(name.clone(), e))?;
        Scenario::parse(&text, &name, o)
    }

    /// The sequenced task's index, if any.
    pub fn sequenced(&self) -> Option<usize> {
        self.tasks.iter().position(|t| t.sequenced)
    }

    /// Request kinds in statistics order: login, each task, logout.
    pub fn endpoints(&self) -> Vec<(String, String, String)> {
        let row = |r: &Request| (r.name.clone(), r.method.to_string(), r.path_text());
        std::iter::once(row(&self.login))
            .chain(self.tasks.iter().map(|t| row(&t.request)))
            .chain(self.logout.iter().map(row))
            .collect()
    }

    /// Statistics index of the logout request.
    pub fn logout_index(&self) -> usize {
        1 + self.tasks.len()
    }
}

impl Request {
    /// True when a template of the request reads its moment (`{timestamp}`, `{time:…}`):
    /// only then is the clock read for it.
    pub fn uses_time(&self) -> bool {
        self.path.uses_time()
            || self.fields.iter().any(|(_, t)| t.uses_time())
            || self.headers.iter().any(|(_, t)| t.uses_time())
            || self.file.as_ref().is_some_and(|f| f.name.uses_time())
    }

    /// True when a template of the request sends `{seq}`.
    pub fn uses_seq(&self) -> bool {
        self.path.uses_seq()
            || self.fields.iter().any(|(_, t)| t.uses_seq())
            || self.headers.iter().any(|(_, t)| t.uses_seq())
            || self.file.as_ref().is_some_and(|f| f.name.uses_seq())
    }

    /// The path as written, for tables (templates shown unfilled).
    pub fn path_text(&self) -> String {
        self.path.source().to_string()
    }
}

#[cfg(test)]
mod tests;
