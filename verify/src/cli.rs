//! Command-line syntax (clap). Turned into typed configs by `config.rs`; the
//! engines never see these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The logout message of the supervise server (`学生登出: ID=…`).
pub const DEFAULT_LOGOUT_EVENT: &str = "登出";

/// Audit a supervise load test: recordings trees and server logs.
#[derive(Debug, Parser)]
#[command(name = "verify", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every student's segments run seq 1, 2, 3 … with nothing missing.
    ///
    /// Exit status: 0 clean, 1 findings of a failing kind, 2 usage or I/O error.
    Seq(SeqArgs),
    /// Check that every student logged in once: duplicates, missing and unexpected IDs.
    ///
    /// Exit status: 0 clean, 1 findings of a failing kind, 2 usage or I/O error.
    Ids(IdsArgs),
    /// Read celery worker logs: task outcomes, failures, skipped merges, and the gaps the server reported (序号缺失, 序号不连续).
    ///
    /// Exit status: 0 clean, 1 findings of a failing kind, 2 usage or I/O error.
    Merge(MergeArgs),
    /// One CI gate: ids + seq + merge against one population, cross-checked, one verdict.
    ///
    /// Exit status: 0 clean, 1 findings of a failing kind, 2 usage or I/O error.
    Gate(GateArgs),
    /// Live audit during a run: follow logs through rotation, watch the recordings tree,
    /// alert on duplicate logins and confirmed gaps; end with the gate's report and code.
    Watch(Box<WatchArgs>),
    /// Print shell completions for bash, zsh or fish (source them, or put them
    /// where the shell looks: see the README's install section).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (roff) of this tool and its subcommands into DIR.
    #[command(hide = true)]
    Man { dir: std::path::PathBuf },
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Read the logs from their start (default: from their end).
    #[arg(long)]
    pub from_start: bool,
    /// A gap is confirmed when a later seq arrived this long ago and the missing one has not.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub grace: String,
    /// Stop after this long.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Stop after this long without new lines or files.
    #[arg(long, value_name = "DURATION")]
    pub until_idle: Option<String>,
    /// Watch the tree by polling (NFS, inotify limits) instead of inotify.
    #[arg(long)]
    pub poll: bool,
    /// How often logs are read (and the tree polled with --poll).
    #[arg(long, default_value = "100ms", value_name = "DURATION")]
    pub tick: String,
    /// How often a summary line is printed.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub summary_interval: String,
    /// How long a rotated-away log keeps being read (some gunicorn workers write to it after USR1).
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub rotate_grace: String,
    /// At most this many alert lines per second; the rest are counted in a line of
    /// their own (every finding stays in the final report).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_alerts_per_second: u32,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// A verify.toml whose keys mirror these flags (flags win).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gunicorn logs (as `verify ids --log`).
    #[arg(long = "log", value_name = "FILE", num_args = 1..)]
    pub logs: Vec<String>,
    /// celery logs (as `verify merge --log`).
    #[arg(long = "celery-log", value_name = "FILE", num_args = 1..)]
    pub celery_logs: Vec<String>,
    /// Recordings tree (as `verify seq --dir`).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Audit only this exam (its folder name under server_data; repeatable or
    /// comma-separated): the tree, the merge log's tasks and the --db rows.
    #[arg(long = "exam", value_name = "ID", value_delimiter = ',')]
    pub exams: Vec<String>,
    /// Client ledgers written by `loadgen --ledger` (one per machine or worker;
    /// globs): reconciled with the tree and the logs.
    #[arg(long = "ledger", value_name = "FILE", num_args = 1..)]
    pub ledgers: Vec<String>,
    /// The login check reads the server's login history from its database
    /// instead of --log (see `verify ids --db`).
    #[command(flatten)]
    pub db: DbArgs,
    /// Report students whose last seq is below N.
    #[arg(long, value_name = "N")]
    pub expect_segments: Option<u64>,
    /// Seqs above this are reported as unparseable instead of counted as gaps.
    #[arg(long, default_value_t = crate::audit::seq::MAX_SEQ, value_name = "N")]
    pub max_seq: u64,
    /// Follow symbolic links in the recordings tree (skipped and counted otherwise;
    /// `verify watch` then also watches where they lead).
    #[arg(long)]
    pub follow_links: bool,
    /// Collision window for duplicate logins (default 120s).
    #[arg(long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Login event text (default 登录成功).
    #[arg(long, value_name = "TEXT")]
    pub event: Option<String>,
    /// Logout event text (default 登出): a login after the same student's
    /// logout is a relogin, never a collision ('' reads no logouts).
    #[arg(long, value_name = "TEXT")]
    pub logout_event: Option<String>,
    /// Gap event text of the merge worker (default: 序号缺失 and 序号不连续).
    #[arg(long, value_name = "TEXT")]
    pub gap_event: Option<String>,
    /// Student ID prefix (default test_).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Log encoding: utf-8, gb18030, gbk, auto (default auto: per file, UTF-8
    /// or GB18030).
    #[arg(long, value_name = "ENC")]
    pub encoding: Option<String>,
    /// Pass logs that hold lines but not one login or task (`ids:no_logins`,
    /// `merge:no_tasks` fail otherwise).
    #[arg(long)]
    pub allow_empty: bool,
    /// Gaps fail only when missing seqs exceed this share of the seqs expected (e.g. 0.01 or 1%).
    #[arg(long, value_name = "RATIO", value_parser = common::usage::parse_ratio)]
    pub max_missing_ratio: Option<f64>,
    /// Combine these JSON gate reports (one per server) instead of reading logs and trees.
    #[arg(long = "merge", value_name = "REPORT.json", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// Print GitHub Actions annotations for the first findings and write the full
    /// table to $GITHUB_STEP_SUMMARY when set.
    #[arg(long)]
    pub github: bool,
    /// Also write the report as Markdown (for a PR comment) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub expect: ExpectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// celery logs: paths, globs, .gz, or - for standard input.
    #[arg(long = "log", value_name = "FILE", required = true, num_args = 1..)]
    pub logs: Vec<String>,
    /// The merge worker's gap message: a line holding this text reports
    /// missing seqs (repeatable; default both of the real server's wordings,
    /// 序号缺失 and 序号不连续).
    #[arg(long, value_name = "TEXT")]
    pub gap_event: Vec<String>,
    /// Only tasks of this exam (repeatable): the exam each task names
    /// (`考试=`, `exam_id=`); tasks of other exams are left out.
    #[arg(long = "exam", value_name = "ID")]
    pub exams: Vec<String>,
    /// Where no `学生=`/`student_id=` field names the student: IDs are this
    /// prefix followed by digits.
    #[arg(long, default_value = "test_", value_name = "PREFIX")]
    pub prefix: String,
    /// Encoding: utf-8, gb18030, gbk, or auto (per file: UTF-8 when its head
    /// is valid UTF-8, else GB18030 when it decodes cleanly as GB18030).
    #[arg(long, default_value = "auto", value_name = "ENC")]
    pub encoding: String,
    /// Pass a log that holds lines but not one task (`merge:no_tasks` fails otherwise).
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["logs", "ledgers", "db"])))]
pub struct IdsArgs {
    /// Log files: paths, globs ('gunicorn_*.log*'), rotated .gz files, or - for standard input.
    #[arg(long = "log", value_name = "FILE", num_args = 1..)]
    pub logs: Vec<String>,
    /// Instead of logs: the load generator's ledgers (`loadgen --ledger`, one per
    /// worker; globs). An ID logged in by two workers, or twice by one with no
    /// logout between, is a collision.
    #[arg(long = "ledger", value_name = "FILE", num_args = 1..)]
    pub ledgers: Vec<String>,
    #[command(flatten)]
    pub db: DbArgs,
    /// With --db: only these exams (their IDs; repeatable or comma-separated).
    #[arg(long = "exam", value_name = "ID", value_delimiter = ',', requires = "db")]
    pub exams: Vec<String>,
    /// A login is a line containing this text [default: 登录成功].
    #[arg(long, value_name = "TEXT")]
    pub event: Option<String>,
    /// A logout is a line containing this text and an ID (the real server
    /// prints `学生登出: ID=…, 考试=…, 时间=…`): a login after the same
    /// student's logout is a relogin, never a collision ('' reads no logouts).
    #[arg(long, default_value = DEFAULT_LOGOUT_EVENT, value_name = "TEXT")]
    pub logout_event: String,
    /// Student IDs are this prefix followed by digits.
    #[arg(long, default_value = "test_", value_name = "PREFIX")]
    pub prefix: String,
    /// Instead of event + prefix: a regex whose match is a login, with named groups
    /// `id` (required), `ts` and `source`. --event, when also given, still gates lines.
    #[arg(long, value_name = "REGEX")]
    pub pattern: Option<String>,
    /// Encoding of the logs: utf-8, gb18030, gbk, or auto (per file, from its
    /// head: UTF-8 when valid UTF-8, else GB18030 when it decodes cleanly).
    #[arg(long, default_value = "auto", value_name = "ENC")]
    pub encoding: String,
    /// Pass a log that holds lines but not one login (`ids:no_logins` fails otherwise).
    #[arg(long)]
    pub allow_empty: bool,
    /// Logins of one ID this close together are a collision, farther apart a relogin (e.g. 120s, 2m).
    #[arg(long, default_value = "120s", value_name = "DURATION")]
    pub window: String,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub threads: usize,
    #[command(flatten)]
    pub expect: ExpectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SeqArgs {
    /// A recordings folder, an exam folder holding recordings/, or a whole server_data.
    #[arg(long, value_name = "PATH")]
    pub dir: PathBuf,
    /// Audit only this exam (its folder name under server_data; repeatable or
    /// comma-separated): the tree, the merge log's tasks and the --db rows.
    #[arg(long = "exam", value_name = "ID", value_delimiter = ',')]
    pub exams: Vec<String>,
    /// Also accept this segment extension (mp4 always is); repeatable.
    #[arg(long = "ext", value_name = "EXT")]
    pub exts: Vec<String>,
    /// The seq number students start at.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub first_seq: u64,
    /// Seqs above this are reported as unparseable instead of counted as gaps.
    #[arg(long, default_value_t = crate::audit::seq::MAX_SEQ, value_name = "N")]
    pub max_seq: u64,
    /// Report segments smaller than this as empty (zero-byte files always are), e.g. 1K, 4MiB.
    #[arg(long, value_name = "SIZE")]
    pub min_size: Option<String>,
    /// Skip the size check (no stat per file); empty files go unnoticed.
    #[arg(long)]
    pub no_size_check: bool,
    /// A pause over this many times a student's median interval is a stall.
    #[arg(long, default_value_t = 3.0, value_name = "F")]
    pub stall_factor: f64,
    /// Report students whose last seq is below N.
    #[arg(long, value_name = "N")]
    pub expect_segments: Option<u64>,
    /// Follow symbolic links (skipped and counted otherwise).
    #[arg(long)]
    pub follow_links: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    pub threads: usize,
    #[command(flatten)]
    pub expect: ExpectArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The server's database as the login source (`ids`, `gate`).
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Instead of logs: the server's login history, read-only, from its MySQL/MariaDB
    /// (mysql://USER@HOST:3306/monitoring; the password from --db-password-file,
    /// VERIFY_DB_PASSWORD or MYSQL_PWD, never in the URL).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// A file holding the database password (one line).
    #[arg(long, value_name = "FILE")]
    pub db_password_file: Option<PathBuf>,
}

/// The expected population, shared by every audit.
#[derive(Debug, Args)]
pub struct ExpectArgs {
    /// Expected student IDs: FIRST..LAST (test_00001..test_00500); repeatable or comma-separated.
    #[arg(long, value_name = "RANGE", value_delimiter = ',')]
    pub expect: Vec<String>,
    /// Expected IDs by count instead: their prefix.
    #[arg(long, value_name = "PREFIX", requires = "expect_count")]
    pub expect_prefix: Option<String>,
    /// Expected IDs by count instead: how many.
    #[arg(long, value_name = "N")]
    pub expect_count: Option<u64>,
    /// Expected IDs by count instead: the first number.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub expect_first: u64,
    /// Expected IDs by count instead: digits, zero-padded.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub expect_width: usize,
}

/// Output options, shared by every audit.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a self-contained HTML report (works offline) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Finding kinds that fail the run: a list (gap,duplicate), all, none, or +kind/-kind against the default.
    #[arg(long, value_name = "KINDS")]
    pub fail_on: Option<String>,
    /// Show at most N findings rows in the table (0: all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
    /// Print table cells whole: no fitting to the terminal's width (or COLUMNS).
    #[arg(long)]
    pub wide: bool,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables for people.
    Table,
    /// The JSON contract (see README).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
