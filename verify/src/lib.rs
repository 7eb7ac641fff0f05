//! `verify`: audits of a supervise load test. The binary is a thin shell over
//! [`run`]; engines return report structs, renderers print them.

pub mod audit;
pub mod classify;
pub mod cli;
pub mod config;
pub mod engine;
pub mod expect;
pub mod findings;
pub mod render;
pub mod report;
pub mod segment;
pub mod settings;
pub mod sources;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};

use clap::Parser;

use crate::cli::{Cli, Command, Format};
use crate::config::OutputConfig;
use crate::render::AuditView;
use crate::render::seq::SeqView;
use common::exit::Outcome;

/// Runs the command line `args` (program name first) and returns the outcome.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Outcome {
    let args: Vec<OsString> = args.into_iter().collect();
    render::html::remember_command(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Outcome::Error } else { Outcome::Clean };
        }
    };
    let result = match cli.command {
        Command::Seq(args) => run_seq(&args),
        Command::Ids(args) => run_ids(&args),
        Command::Merge(args) => run_merge(&args),
        Command::Gate(args) => run_gate(&args),
        Command::Watch(args) => run_watch(&args),
        Command::Completions { shell } => {
            common::clidocs::completions(<cli::Cli as clap::CommandFactory>::command(), shell, &mut io::stdout())
                .map(|()| Outcome::Clean)
                .map_err(anyhow::Error::from)
        }
        Command::Man { dir } => common::clidocs::man_pages(<cli::Cli as clap::CommandFactory>::command(), &dir)
            .map(|_| Outcome::Clean)
            .map_err(|e| anyhow::anyhow!("write man pages to {}: {e}", dir.display())),
    };
    match result {
        Ok(outcome) => outcome,
        Err(e) if is_broken_pipe(&e) => Outcome::Clean,
        Err(e) => {
            eprintln!("verify: {e:#}");
            Outcome::Error
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn run_seq(args: &cli::SeqArgs) -> anyhow::Result<Outcome> {
    let cfg = args.to_config()?;
    let out = OutputConfig::from_args(&args.output);
    let report = engine::seq::run_seq(&cfg)?;
    let view = SeqView {
        report: &report,
        fail_on: &cfg.fail_on,
    };
    emit(&out, &view, &report)
}

fn run_ids(args: &cli::IdsArgs) -> anyhow::Result<Outcome> {
    let cfg = args.to_config()?;
    let out = OutputConfig::from_args(&args.output);
    let report = engine::ids::run_ids(&cfg)?;
    let view = render::ids::IdsView {
        report: &report,
        fail_on: &cfg.fail_on,
    };
    emit(&out, &view, &report)
}

fn run_merge(args: &cli::MergeArgs) -> anyhow::Result<Outcome> {
    let cfg = args.to_config()?;
    let out = OutputConfig::from_args(&args.output);
    let report = engine::merge::run_merge(&cfg);
    let view = render::merge::MergeView {
        report: &report,
        fail_on: &cfg.fail_on,
    };
    emit(&out, &view, &report)
}

fn run_gate(args: &cli::GateArgs) -> anyhow::Result<Outcome> {
    let file = args.file()?;
    let (cfg, sets) = args.to_config(&file)?;
    warn_fail_on(&sets);
    let report = if args.merge.is_empty() {
        engine::gate::run_gate(&cfg)?
    } else {
        let mut reports = Vec::new();
        for p in &args.merge {
            let text = config::read_user_file(p, "--merge", MAX_REPORT_BYTES)?;
            let r: report::gate::GateReport = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("--merge {}: not a verify.gate/1 report: {e}", p.display()))?;
            reports.push((p.display().to_string(), r));
        }
        let ratio = cfg.max_missing_ratio.map(|r| (r, args.expect_segments));
        engine::gate::merge_reports(reports, &sets, ratio)
    };
    emit_gate(args, &report, &sets)
}

/// The gate's outputs (shared by `gate` and `watch`): Markdown, GitHub, then as `emit`
/// with one JUnit suite per check.
fn emit_gate(
    g: &cli::GateArgs,
    report: &report::gate::GateReport,
    sets: &engine::gate::FailOnSets,
) -> anyhow::Result<Outcome> {
    let mut out = OutputConfig::from_args(&g.output);
    out.runner |= g.github;
    let view = render::gate::GateView { report, fail_on: sets };
    let parts = view.parts();
    let part_refs: Vec<&dyn AuditView> = parts.iter().map(|p| p.as_ref()).collect();
    if let Some(path) = &g.markdown {
        std::fs::write(path, render::markdown::render(&view, render::github::SUMMARY_MAX_BYTES))
            .map_err(|e| anyhow::anyhow!("write --markdown {}: {e}", path.display()))?;
    }
    if g.github {
        render::github::annotations(&mut io::stdout().lock(), &view)?;
        render::github::step_summary(&view)?;
    }
    emit_many(&out, &view, &part_refs, report)
}

fn run_watch(args: &cli::WatchArgs) -> anyhow::Result<Outcome> {
    let in_place =
        std::io::IsTerminal::is_terminal(&io::stderr()) && std::env::var_os("TERM").is_some_and(|t| t != "dumb");
    let (wcfg, sets) = args.to_config(in_place)?;
    warn_fail_on(&sets);
    let screen = render::watch::Screen {
        in_place,
        width: render::table::terminal_width(io::stderr()),
    };
    let mut err = io::stderr();
    let fold = engine::watch::run_watch(&wcfg, &mut |ev| screen.write(&mut err, &ev))?;
    emit_gate(&args.gate, &fold.report(), &sets)
}

/// The largest report `gate --merge` reads (a report lists every student).
const MAX_REPORT_BYTES: u64 = 1 << 30;

fn warn_fail_on(sets: &engine::gate::FailOnSets) {
    for w in config::fail_on_warnings(sets) {
        eprintln!("verify: warning: {w}");
    }
}

/// Writes one audit in the chosen format, plus JUnit when asked.
fn emit<R: serde::Serialize + render::json::JsonReport>(
    out: &OutputConfig,
    view: &dyn AuditView,
    report: &R,
) -> anyhow::Result<Outcome> {
    emit_many(out, view, &[view], report)
}

/// As `emit`, with one JUnit test suite per part.
fn emit_many<R: serde::Serialize + render::json::JsonReport>(
    out: &OutputConfig,
    view: &dyn AuditView,
    suites: &[&dyn AuditView],
    report: &R,
) -> anyhow::Result<Outcome> {
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    match out.format {
        Format::Table => render::table::write(
            &mut w,
            view,
            render::table::Style {
                color: out.color,
                limit: out.limit,
                runner: out.runner,
                width: out.width,
            },
        )?,
        Format::Json => render::json::write(&mut w, report)?,
    }
    w.flush()?;
    if let Some(path) = &out.html {
        let write = || -> io::Result<()> {
            let mut f = BufWriter::new(File::create(path)?);
            render::html::write(&mut f, &view.title(), report)?;
            f.flush()
        };
        write().map_err(|e| anyhow::anyhow!("write --html {}: {e}", path.display()))?;
    }
    if let Some(path) = &out.junit {
        let write = || -> io::Result<()> {
            let mut f = BufWriter::new(File::create(path)?);
            render::junit::write(&mut f, "verify", suites)?;
            f.flush()
        };
        if let Err(e) = write() {
            anyhow::bail!("write --junit {}: {e}", path.display());
        }
    }
    Ok(view.outcome())
}
