//! `loadgen`: simulated students against a supervise server. The binary is a
//! thin shell over [`run`]; the engine returns a report, renderers print it.

pub mod answer;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod files;
pub mod hammer;
pub mod hints;
pub mod http;
pub mod ledger;
pub mod locust;
pub mod payload;
pub mod render;
pub mod report;
pub mod requests;
pub mod run;
pub mod scenario;
pub mod setup;
pub mod signals;
pub mod stats;
pub mod student;
pub mod tls;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};

use clap::Parser;
use common::exit::{Outcome, Verdict};

use crate::cli::{Cli, Command};
use crate::report::RunReport;

/// Exit codes: 0 pass, 1 failure ratio over the limit, 2 usage or I/O error
/// (verify's codes: `common::exit`), 3 a run that ended before its plan
/// (without `--ok-if-interrupted`).
pub const EXIT_PASS: u8 = Outcome::Clean.code();
pub const EXIT_FAIL: u8 = Outcome::Findings.code();
pub const EXIT_ERROR: u8 = Outcome::Error.code();
pub const EXIT_INTERRUPTED: u8 = 3;

/// Runs the command line `args` (program name first); returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_PASS };
        }
    };
    match execute(cli.command, &args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {}", printable(&format!("{e:#}")));
            EXIT_ERROR
        }
    }
}

/// Runs `fut` on a runtime built here, explicitly, once the thread count is
/// known: one thread is a current-thread runtime (no cross-thread wake-ups);
/// more are worker threads, and `fut` itself runs on them as a task, so the
/// collector never wakes a thread parked in `block_on`.
fn on_runtime<T: Send + 'static>(
    threads: usize,
    fut: impl Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    if threads <= 1 {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(fut);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async { tokio::spawn(fut).await? })
}

fn execute(cmd: Command, args: &[OsString]) -> anyhow::Result<u8> {
    let started = chrono::Local::now();
    match cmd {
        Command::Scenario => {
            print!("{}", scenario::DEFAULT_TOML);
            Ok(EXIT_PASS)
        }
        Command::Completions { shell } => {
            common::clidocs::completions(<cli::Cli as clap::CommandFactory>::command(), shell, &mut io::stdout())?;
            Ok(EXIT_PASS)
        }
        Command::Man { dir } => {
            common::clidocs::man_pages(<cli::Cli as clap::CommandFactory>::command(), &dir)
                .map_err(|e| anyhow::anyhow!("write man pages to {}: {e}", dir.display()))?;
            Ok(EXIT_PASS)
        }
        Command::Setup(a) => {
            let cfg = a.to_config()?;
            let report = on_runtime(1, setup::setup(cfg))?;
            let mut out = BufWriter::new(io::stdout().lock());
            render::setup::write(&mut out, &report)?;
            out.flush()?;
            // Also on stderr: `eval "$(loadgen setup …)"` hides stdout.
            for w in &report.warnings {
                eprintln!("loadgen setup: warning: {}", printable(w));
            }
            if let Some(p) = &a.json {
                let f = File::create(p).map_err(|e| anyhow::anyhow!("write {}: {e}", p.display()))?;
                let mut f = BufWriter::new(f);
                serde_json::to_writer_pretty(&mut f, &report)?;
                f.flush()?;
            }
            Ok(if report.ok { EXIT_PASS } else { EXIT_FAIL })
        }
        Command::Plan(a) => {
            let mut out = io::stdout().lock();
            plan(&mut out, &a)?;
            Ok(EXIT_PASS)
        }
        Command::Run(a) => {
            let cfg = a.to_config()?;
            eprintln!(
                "loadgen: students {} ({}), {} per second, against {}",
                printable(&cfg.ids.to_string()),
                printable(&cfg.id_source.to_string()),
                cfg.spawn_rate,
                printable(&cfg.host)
            );
            let mut report = on_runtime(cfg.threads, run::run(cfg.clone()))?;
            report.context = Some(report::RunContext::new(args, started));
            let width = render::width::terminal(a.report.wide);
            emit(
                &report,
                cfg.json.as_deref(),
                cfg.csv.as_deref(),
                a.html.as_deref(),
                width,
            )?;
            Ok(exit_code(&report, &a.report))
        }
        Command::Worker(a) => {
            let cfg = a.to_config()?;
            let json = cfg.json.clone();
            let mut report = on_runtime(cfg.threads, locust::worker::run_worker(cfg))?;
            report.context = Some(report::RunContext::new(args, started));
            let width = render::width::terminal(a.report.wide);
            emit(&report, json.as_deref(), None, a.html.as_deref(), width)?;
            Ok(exit_code(&report, &a.report))
        }
        Command::Hammer(a) => {
            let target = http::Target::parse(&a.host).map_err(|e| common::usage::UsageError(e.to_string()))?;
            let (ids, _) = config::id_range(&a.ids, a.students)?;
            let scenario = a.scenario.load()?;
            if a.request != "login" && !scenario.tasks.iter().any(|t| t.request.name == a.request) {
                anyhow::bail!(common::usage::UsageError(format!(
                    "--request: scenario {} has no task named '{}'",
                    scenario.source, a.request
                )));
            }
            let cfg = hammer::HammerConfig {
                host: a.host.clone(),
                target: target.clone(),
                scenario,
                request: a.request.clone(),
                ids,
                requests: a.requests,
                concurrency: a.concurrency,
                max_idle: a
                    .max_idle_connections
                    .unwrap_or(usize::try_from(a.concurrency).unwrap_or(usize::MAX)),
                tls: config::tls_for(&target, &a.tls.options()?)?,
                max_answer: config::max_answer(&a.max_answer_size)?,
            };
            let report = on_runtime(a.threads, hammer::hammer(cfg))?;
            emit(&report, a.json.as_deref(), None, None, render::width::terminal(false))?;
            Ok(if report.verdict == Verdict::Pass {
                EXIT_PASS
            } else {
                EXIT_FAIL
            })
        }
    }
}

/// Text that came from a flag, a file or a server, made safe for a terminal
/// (controls escaped line by line: a message's own newlines stay).
fn printable(s: &str) -> String {
    s.split('\n')
        .map(common::text::escape_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The exit code of a run whose reports are written: a ledger that could
/// not be written is an I/O error (2), whatever the load's verdict; a
/// failure (1) outranks an interruption (3).
fn exit_code(report: &RunReport, a: &cli::ReportArgs) -> u8 {
    if let Some(e) = &report.ledger_error {
        eprintln!(
            "loadgen: {}: the ledger is incomplete (the reports are written); exit 2",
            printable(e)
        );
        return EXIT_ERROR;
    }
    if report.verdict == Verdict::Fail {
        return EXIT_FAIL;
    }
    if report.interrupted && !a.ok_if_interrupted {
        eprintln!("loadgen: the run ended before its plan: exit 3 (--ok-if-interrupted: exit 0)");
        return EXIT_INTERRUPTED;
    }
    EXIT_PASS
}

fn emit(
    report: &RunReport,
    json: Option<&std::path::Path>,
    csv: Option<&str>,
    html: Option<&std::path::Path>,
    width: Option<usize>,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    render::table::write_fitted(&mut out, report, width)?;
    out.flush()?;
    let create = |path: &std::path::Path| {
        File::create(path)
            .map(BufWriter::new)
            .map_err(|e| anyhow::anyhow!("write {}: {e}", path.display()))
    };
    if let Some(p) = json {
        let mut f = create(p)?;
        serde_json::to_writer_pretty(&mut f, report)?;
        f.flush()?;
    }
    if let Some(p) = html {
        let mut f = create(p)?;
        render::html::write(&mut f, report)?;
        f.flush()?;
    }
    if let Some(prefix) = csv {
        let mut f = create(std::path::Path::new(&format!("{prefix}_stats.csv")))?;
        render::csv::write_stats(&mut f, report)?;
        f.flush()?;
        let mut f = create(std::path::Path::new(&format!("{prefix}_stats_history.csv")))?;
        render::csv::write_history(&mut f, report)?;
        f.flush()?;
    }
    Ok(())
}

/// `loadgen plan`: each machine's range and exact command.
pub fn plan<W: Write>(out: &mut W, a: &cli::PlanArgs) -> anyhow::Result<()> {
    if a.workers == 0 {
        anyhow::bail!(common::usage::UsageError("--workers must be at least 1".into()));
    }
    writeln!(
        out,
        "{} students over {} machines; IDs never overlap.\n  once, from any machine (the exam holding every student):\n    loadgen setup --host {} --students {} --id-prefix {} --id-width {} --first-id {}",
        a.students, a.workers, a.host, a.students, a.ids.scheme.id_prefix, a.ids.scheme.id_width, a.ids.scheme.first_id
    )?;
    for k in 1..=a.workers {
        let mut ids = a.ids.clone();
        ids.shard = Some(format!("{k}/{}", a.workers));
        ids.worker_offset = None;
        match config::id_range(&ids, a.students) {
            Ok((r, _)) => writeln!(
                out,
                "  machine {k}: {r} ({} students)\n    loadgen run --host {} --students {} --shard {k}/{} --id-prefix {} --id-width {} --first-id {} --spawn-rate 10 --run-time 10m",
                r.len(),
                a.host,
                a.students,
                a.workers,
                a.ids.scheme.id_prefix,
                a.ids.scheme.id_width,
                a.ids.scheme.first_id
            )?,
            Err(_) => writeln!(out, "  machine {k}: no students (more machines than students)")?,
        }
    }
    Ok(())
}
