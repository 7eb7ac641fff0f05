//! Command-line syntax (clap); `config.rs` turns it into typed configs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Load generator for the supervise proctoring server.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate students: log in, run the scenario's tasks (heartbeats, screenshots, recordings with seq 1, 2, 3 …), log out.
    ///
    /// Exit status: 0 when the failure ratio is within --max-fail-ratio, 1 above it, 2 on usage errors,
    /// 3 when the run ended before its plan (Ctrl-C, SIGTERM, SIGHUP) unless --ok-if-interrupted.
    Run(Box<RunArgs>),
    /// Join a real Locust master as a worker: its UI drives users, our students run them.
    ///
    /// Exit status: 0 when the failure ratio is within --max-fail-ratio, 1 above it, 2 on errors,
    /// 3 when a signal or the master's loss cut a run short unless --ok-if-interrupted.
    Worker(Box<WorkerArgs>),
    /// Print the ID range and the exact command for each of N machines.
    Plan(PlanArgs),
    /// Send one request (login) as fast as possible, without pacing: CPU per request.
    Hammer(HammerArgs),
    /// Run the scenario's one-time [[setup]] requests (e.g. create an exam holding the population).
    ///
    /// Prints each captured value as NAME=VALUE. Exit status: 0 when every request succeeded, 1 when one failed, 2 on usage errors.
    Setup(SetupArgs),
    /// Print the built-in scenario (the real supervise client) as TOML.
    Scenario,
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

/// The student ID scheme: prefix, width, first number.
#[derive(Debug, Args, Clone)]
pub struct IdSchemeArgs {
    /// Student IDs are this prefix and a zero-padded number.
    #[arg(long, default_value = "test_", value_name = "PREFIX")]
    pub id_prefix: String,
    /// Digits of the number.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub id_width: usize,
    /// The first number.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub first_id: u64,
}

/// The student ID scheme and this machine's share of it.
#[derive(Debug, Args, Clone)]
pub struct IdArgs {
    #[command(flatten)]
    pub scheme: IdSchemeArgs,
    /// Take the K-th of N balanced contiguous ranges of the --students population.
    #[arg(long, value_name = "K/N", conflicts_with = "worker_offset")]
    pub shard: Option<String>,
    /// The seed procedure: this machine's IDs start --worker-offset after --first-id.
    #[arg(long, env = "WORKER_OFFSET", value_name = "N")]
    pub worker_offset: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The server, e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    pub host: String,
    /// Students: the whole population with --shard, this machine's count otherwise.
    #[arg(long, value_name = "N")]
    pub students: u64,
    /// Students started per second.
    #[arg(long, default_value_t = 10.0, value_name = "R")]
    pub spawn_rate: f64,
    /// Stop after this long (e.g. 10m); without it, students stop after --segments.
    #[arg(long, value_name = "DURATION")]
    pub run_time: Option<String>,
    /// After the stop, wait this long for in-flight uploads and finish calls.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub stop_timeout: String,
    /// Exit 1 when failed requests over all requests exceed this (0.01 or 1%).
    #[arg(long, default_value = "0.01", value_name = "RATIO", value_parser = common::usage::parse_ratio)]
    pub max_fail_ratio: f64,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (charts over time; works offline) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write Locust-compatible PREFIX_stats.csv and PREFIX_stats_history.csv.
    #[arg(long, value_name = "PREFIX")]
    pub csv: Option<String>,
    /// Seconds between progress lines when not on a terminal.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub progress_interval: String,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub threads: usize,
    #[command(flatten)]
    pub ids: IdArgs,
    #[command(flatten)]
    pub student: StudentArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// How the final report is judged and printed (`run` and `worker`).
#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    /// Exit 0, not 3, when the run ended before its plan (it still says INTERRUPTED).
    #[arg(long)]
    pub ok_if_interrupted: bool,
    /// Print the whole table, whatever the terminal's width (COLUMNS, or the tty's).
    #[arg(long)]
    pub wide: bool,
}

/// How an `https://` server's certificate is checked: the same for every command.
#[derive(Debug, Args, Clone, Default)]
pub struct TlsArgs {
    /// Trust only the CA certificates in this PEM file (a private CA).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server's certificate (said in the report).
    #[arg(long)]
    pub insecure: bool,
}

/// The scenario and its command-line overrides: the same for every command.
#[derive(Debug, Args, Clone, Default)]
pub struct ScenarioArgs {
    /// The client to simulate (TOML, version 2; `loadgen scenario` prints the built-in one).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Set a [vars] value of the scenario (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Run task NAME every DURATION instead of the scenario's interval (repeatable).
    #[arg(long = "every", value_name = "NAME=DURATION")]
    pub every: Vec<String>,
}

/// What every virtual student does: the same for `run` and `worker`.
#[derive(Debug, Args, Clone)]
pub struct StudentArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Time between the sequenced task's runs (default: the scenario's `every`).
    #[arg(long, value_name = "DURATION")]
    pub segment_interval: Option<String>,
    /// The sequenced task's file size, or a range drawn per upload (default: the scenario's).
    #[arg(long, value_name = "SIZE[-SIZE]")]
    pub segment_size: Option<String>,
    /// A queued sequenced task's flush: every MIN, plus up to MAX-MIN drawn per flush (default: the scenario's).
    #[arg(long, value_name = "DURATION[-DURATION]")]
    pub flush_every: Option<String>,
    /// Send this file as every sequenced upload instead of generated bytes.
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,
    /// Seqs per student, then log out (default: until --run-time).
    #[arg(long, value_name = "N")]
    pub segments: Option<u64>,
    /// Retries of a failed sequenced upload (same seq) before it is given up and reported
    /// (default: the task's `tries` - 1, else 3; a queued task retries by its queue's `retry`).
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Retries of a failed login.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub login_retries: u32,
    /// First retry delay; doubles per retry (at most 30 s).
    #[arg(long, default_value = "500ms", value_name = "DURATION")]
    pub backoff: String,
    /// Give up a request after this long.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub timeout: String,
    /// Fault injection: never upload these seqs (comma-separated).
    #[arg(long, value_name = "SEQS", value_delimiter = ',')]
    pub skip_seq: Vec<u64>,
    /// Fault injection: never upload every K-th seq.
    #[arg(long, value_name = "K")]
    pub skip_every: Option<u64>,
    /// Fault injection: send the sequenced task without its seq field (files come out without _seq_NNNN).
    #[arg(long)]
    pub no_seq: bool,
    /// Fault injection: this share of the students (0.1 or 10%: exactly that many of IDs 1..N, rounded down, spread evenly by ID number) restart their client
    /// TIME after the start: queue lost, no logout, a new login, seqs again from 1.
    #[arg(long, value_name = "SHARE@TIME")]
    pub restart_students: Option<String>,
    /// Fault injection: this share of the students (chosen by their number, apart from the restarted ones) are
    /// killed TIME after the start: queue lost, no logout.
    #[arg(long, value_name = "SHARE@TIME")]
    pub kill_students: Option<String>,

    /// No cookie jars: answers' Set-Cookie headers are ignored.
    #[arg(long)]
    pub no_cookies: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Write the client ledger to FILE: one JSON line per login, logout and
    /// sequenced upload (and per seq given up or skipped), for `verify gate --ledger`.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// With --ledger: add this run as a new section of an existing ledger
    /// (without it an existing file is refused: a ledger is never overwritten).
    #[arg(long, requires = "ledger")]
    pub ledger_append: bool,

    /// Keep at most this many idle keep-alive connections.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_idle_connections: usize,
    /// Read at most this much of an answer that checks, captures or the ledger
    /// read as JSON; a longer one fails as `answer too large` (the rest is still read and counted).
    #[arg(long, default_value = "8MiB", value_name = "SIZE")]
    pub max_answer_size: String,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The Locust master's host.
    #[arg(long, value_name = "HOST")]
    pub master_host: String,
    /// The Locust master's port.
    #[arg(long, default_value_t = 5557, value_name = "PORT")]
    pub master_port: u16,
    /// The server to load (default: the master's --host, sent with every spawn).
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// Without a master heartbeat for half of this, reconnect once; for all of it, stop the users and quit with a report.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub master_timeout: String,
    /// This worker's node id (default: <hostname>_<random hex>, as Locust makes them).
    #[arg(long, value_name = "ID")]
    pub node_id: Option<String>,
    #[command(flatten)]
    pub ids: IdSchemeArgs,
    /// After a stop or quit, wait this long for in-flight uploads and finish calls.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub stop_timeout: String,
    /// Exit 1 when failed requests over all requests exceed this (0.01 or 1%).
    #[arg(long, default_value = "0.01", value_name = "RATIO", value_parser = common::usage::parse_ratio)]
    pub max_fail_ratio: f64,
    /// Write the final JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the final report as self-contained HTML to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write each run's own JSON report to DIR/run-N.json when it ends (a new swarm after a stop is a new run).
    #[arg(long, value_name = "DIR")]
    pub run_reports: Option<PathBuf>,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub threads: usize,
    #[command(flatten)]
    pub student: StudentArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The whole population.
    #[arg(long, value_name = "N")]
    pub students: u64,
    /// Machines to split it over.
    #[arg(long, value_name = "N")]
    pub workers: u64,
    /// The server, for the printed commands.
    #[arg(long, default_value = "http://SERVER:5000", value_name = "URL")]
    pub host: String,
    #[command(flatten)]
    pub ids: IdArgs,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The server.
    #[arg(long, value_name = "URL")]
    pub host: String,
    /// The whole population ({student_list} holds one `ID NAME` line per student).
    #[arg(long, value_name = "N")]
    pub students: u64,
    #[command(flatten)]
    pub ids: IdSchemeArgs,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Give up a request after this long.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub timeout: String,
    /// Write the outcome (requests, captures) as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Read at most this much of an answer that checks, captures or the ledger
    /// read as JSON; a longer one fails as `answer too large` (the rest is still read and counted).
    #[arg(long, default_value = "8MiB", value_name = "SIZE")]
    pub max_answer_size: String,
    /// Where the server tells its time ({"server_time": "YYYY-MM-DD HH:MM:SS"}): the
    /// exam's {time…} values count from the server's clock; `off`: from --tz, else this machine's.
    #[arg(long, default_value = crate::clock::DEFAULT_PATH, value_name = "PATH|off")]
    pub server_clock: String,
    /// The server's UTC offset (+08:00), for a server that does not tell its time.
    #[arg(long, value_name = "OFFSET")]
    pub tz: Option<String>,
}

#[derive(Debug, Args)]
pub struct HammerArgs {
    /// The server.
    #[arg(long, value_name = "URL")]
    pub host: String,
    /// Requests in all.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub concurrency: u64,
    /// Student IDs the logins cycle through.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub students: u64,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Keep at most this many idle connections (default: --concurrency; 0: a new
    /// connection, and with https a TLS handshake, per request).
    #[arg(long, value_name = "N")]
    pub max_idle_connections: Option<usize>,
    /// The request to hammer: login, or a task's name (each student logs in once first).
    #[arg(long, default_value = "login", value_name = "NAME")]
    pub request: String,
    /// Read at most this much of an answer that checks, captures or the ledger
    /// read as JSON; a longer one fails as `answer too large` (the rest is still read and counted).
    #[arg(long, default_value = "8MiB", value_name = "SIZE")]
    pub max_answer_size: String,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    #[command(flatten)]
    pub ids: IdArgs,
}
