//! The `verify ids` report (`"schema": "verify.ids/1"`).

use serde::{Deserialize, Serialize};

use super::PathError;
use crate::findings::Kind;
use common::exit::Outcome;

/// Schema tag of this report.
pub const SCHEMA: &str = "verify.ids/1";

/// Kinds of finding of `verify ids`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdsKind {
    /// One ID logged in several times close together: likely two virtual users.
    Collision,
    /// One ID logged in again later: sequential sessions.
    Relogin,
    /// An expected ID that never logged in.
    Missing,
    /// An ID that logged in but was not expected.
    Unexpected,
    /// A login line without a student ID.
    Malformed,
    /// Lines read, and not one login event among them: the wrong file, the
    /// wrong encoding or the wrong `--event` (`--allow-empty` accepts it).
    NoLogins,
    /// An access log shows `POST /api/login` requests and no log line a
    /// login: the server's login messages are not in the files read (the
    /// real server prints none at all). `--allow-empty` does not accept it.
    LoginRequestsOnly,
}

impl Kind for IdsKind {
    const ALL: &'static [IdsKind] = &[
        IdsKind::Collision,
        IdsKind::Relogin,
        IdsKind::Missing,
        IdsKind::Unexpected,
        IdsKind::Malformed,
        IdsKind::NoLogins,
        IdsKind::LoginRequestsOnly,
    ];

    fn name(self) -> &'static str {
        match self {
            IdsKind::Collision => "collision",
            IdsKind::Relogin => "relogin",
            IdsKind::Missing => "missing",
            IdsKind::Unexpected => "unexpected",
            IdsKind::Malformed => "malformed",
            IdsKind::NoLogins => "no_logins",
            IdsKind::LoginRequestsOnly => "login_requests_only",
        }
    }

    fn fails_by_default(self) -> bool {
        matches!(
            self,
            IdsKind::Collision | IdsKind::Missing | IdsKind::NoLogins | IdsKind::LoginRequestsOnly
        )
    }
}

/// The whole `verify ids` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdsReport {
    /// Always `verify.ids/1`.
    pub schema: String,
    /// `pass`, `fail` or `error`.
    pub verdict: common::exit::Verdict,
    /// The finding kinds that made the run fail.
    pub failed_on: Vec<IdsKind>,
    /// Totals.
    pub summary: IdsSummary,
    /// One entry per file read.
    pub files: Vec<FileSummary>,
    /// IDs with two or more login events, sorted by ID.
    pub duplicates: Vec<DuplicateId>,
    /// Every ID that logged in, with its events, sorted by ID: what `verify
    /// gate --merge` needs to combine reports of several servers exactly.
    pub logins: Vec<IdLogins>,
    /// Expected IDs that never logged in, in expectation order.
    pub missing: Vec<String>,
    /// IDs that logged in outside the expectation, sorted.
    pub unexpected: Vec<String>,
    /// Login lines without an ID.
    pub malformed: Malformed,
    /// Things a person should know (wrong file, wrong encoding, …).
    pub warnings: Vec<String>,
    /// Files that could not be read (or only in part); any entry makes the exit code 2.
    pub errors: Vec<PathError>,
}

/// Totals of a `verify ids` run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdsSummary {
    /// Files read.
    pub files: u64,
    /// Lines read, in all files.
    pub lines: u64,
    /// Login events (lines with the event word and an ID).
    pub login_events: u64,
    /// Logout events (lines with the logout word and an ID), and other session ends.
    #[serde(default)]
    pub logout_events: u64,
    /// Distinct IDs that logged in.
    pub distinct_ids: u64,
    /// IDs with two or more logins.
    pub duplicated_ids: u64,
    /// Duplicated IDs classified as collisions.
    pub collisions: u64,
    /// Duplicated IDs classified as relogins.
    pub relogins: u64,
    /// Expected IDs (0 without `--expect`).
    pub expected: u64,
    /// Expected IDs that never logged in.
    pub missing: u64,
    /// IDs outside the expectation.
    pub unexpected: u64,
    /// Login lines without an ID.
    pub malformed: u64,
    /// Lines with the event word inside multi-line entries (tracebacks), not counted as logins.
    pub continuation_lines: u64,
    /// Candidate or sampled lines that did not decode in the file's encoding.
    pub undecodable_lines: u64,
    /// Candidate or sampled lines written in the other encoding than the
    /// file's (UTF-8 in a GB18030 file, GB18030 in a UTF-8 one), read in it:
    /// the file mixes encodings.
    #[serde(default)]
    pub mixed_encoding_lines: u64,
    /// The `--window` used to tell collisions from relogins, in seconds.
    pub window_seconds: u64,
    /// `POST /api/login` requests among the access lines sampled at the head
    /// of each file (a few MiB).
    #[serde(default)]
    pub login_requests_sampled: u64,
}

impl IdsSummary {
    /// 1 when lines were read and not one was a login (`ids:no_logins`),
    /// unless access lines show login requests (`login_requests_only`).
    pub fn no_logins(&self) -> u64 {
        u64::from(self.lines > 0 && self.login_events == 0 && self.login_requests_only() == 0)
    }

    /// 1 when access lines show login requests and no line a login, every
    /// line decoding (`ids:login_requests_only`; undecodable lines point at
    /// the wrong `--encoding` instead, a `no_logins`).
    pub fn login_requests_only(&self) -> u64 {
        u64::from(self.login_events == 0 && self.login_requests_sampled > 0 && self.undecodable_lines == 0)
    }
}

/// One file read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSummary {
    /// Path as given (`-` for standard input).
    pub path: String,
    /// Encoding used: `utf-8`, `gb18030` or `gbk`.
    pub encoding: String,
    /// Lines read.
    pub lines: u64,
    /// Login events found.
    pub login_events: u64,
    /// Logout events found.
    #[serde(default)]
    pub logout_events: u64,
    /// Undecodable lines among the sampled head of the file and the login lines.
    pub undecodable_lines: u64,
    /// Lines among those in the other encoding (UTF-8 vs GB18030), read in it.
    #[serde(default)]
    pub mixed_encoding_lines: u64,
    /// NUL bytes at the start of the file (left by copytruncate), skipped.
    pub leading_nul_bytes: u64,
    /// Lines over 64 MiB, counted but not searched.
    pub overlong_lines: u64,
}

/// One duplicated ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateId {
    /// The student ID.
    pub id: String,
    /// Number of login events.
    pub count: u64,
    /// `collision` or `relogin`.
    pub kind: IdsKind,
    /// Why that kind, in words.
    pub evidence: String,
    /// The login events, in time order.
    pub events: Vec<LoginRef>,
    /// What ended its sessions (logouts; `how` names anything else), in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logouts: Vec<LoginRef>,
}

/// The logins of one ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdLogins {
    /// Student ID.
    pub id: String,
    /// Its login events, in time order.
    pub events: Vec<LoginRef>,
    /// What ended its sessions, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logouts: Vec<LoginRef>,
}

/// Where and when one login happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRef {
    /// File path.
    pub file: String,
    /// Line number, from 1.
    pub line: u64,
    /// Timestamp as written in the line, if any.
    pub time: Option<String>,
    /// The timestamp as seconds since the epoch, if the line had one.
    pub unix: Option<i64>,
    /// Client address or worker (`pid 123`), if known.
    pub source: Option<String>,
    /// For a session's end that is no logout: what ended it (`went offline`,
    /// `restarted`, `was killed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
}

/// Login lines without an ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Malformed {
    /// How many.
    pub count: u64,
    /// The first few, with their text.
    pub samples: Vec<LineSample>,
}

/// A line quoted as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSample {
    /// File path.
    pub file: String,
    /// Line number, from 1.
    pub line: u64,
    /// The line (escaped, cut at 300 characters).
    pub text: String,
}

impl IdsReport {
    /// The outcome this report maps to.
    pub fn outcome(&self) -> Outcome {
        self.verdict.outcome()
    }
}
