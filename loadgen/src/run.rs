//! The standalone controller: spawn students at the spawn rate, stop at
//! `--run-time` or Ctrl-C, let in-flight uploads finish within
//! `--stop-timeout`, collect every event into the report.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::RunConfig;
use crate::http::Client;
use crate::report::RunReport;
use crate::stats::{Collector, Event, RunMeta};
use crate::student::{self, Ctx, Student};

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A collector for a scenario's request kinds and tasks.
pub fn collector(s: &crate::scenario::Scenario) -> Collector {
    let tasks: Vec<String> = s.tasks.iter().map(|t| t.request.name.clone()).collect();
    Collector::new(&s.endpoints(), &tasks, s.sequenced())
}

/// Runs the load and returns the report.
pub async fn run(cfg: RunConfig) -> anyhow::Result<RunReport> {
    let addr = cfg.target.resolve().await?;
    let client = Client::new(
        cfg.target.clone(),
        addr,
        cfg.timeout,
        cfg.max_idle_connections,
        cfg.tls.clone(),
    )
    .with_max_answer(cfg.max_answer);
    let (tx, rx) = mpsc::unbounded_channel();
    // Reports students whose tasks end abnormally; dropped once they are all joined.
    let ends = tx.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let mut caught = crate::signals::listen("loadgen")?;
    let ledger = cfg
        .ledger
        .as_ref()
        .map(|t| open_ledger(t, &cfg.host, &cfg.scenario))
        .transpose()?;
    let ctx = Arc::new(Ctx {
        cookies: cfg.cookies,
        ledger: ledger.as_ref().map(crate::ledger::Ledger::sink),
        client,
        scenario: cfg.scenario.clone(),
        payloads: cfg.payloads.clone(),
        plan: cfg.plan.clone(),
        events: tx,
        start,
        wall_start: chrono::Local::now(),
    });
    let collector = tokio::spawn(collect(
        rx,
        collector(&cfg.scenario),
        start,
        cfg.progress_every,
        cfg.ids.len(),
    ));

    // Stop on the clock or on a signal (Ctrl-C, SIGTERM, SIGHUP).
    // The signal that cut the run short (not one during the stop after --run-time).
    let stopped_by = Arc::new(std::sync::OnceLock::new());
    let stopper = {
        let stopped_by = stopped_by.clone();
        let stop_tx = stop_tx.clone();
        let run_time = cfg.run_time;
        tokio::spawn(async move {
            let timer = async {
                match run_time {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            let said = "finishing requests in flight, logging out; another signal ends at once";
            tokio::select! {
                _ = timer => {}
                c = crate::signals::first(&mut caught) => {
                    eprintln!("loadgen: {}: stopping ({said})", c.name);
                    let _ = stopped_by.set(c.name);
                }
            }
            let _ = stop_tx.send(true);
            if caught.borrow().is_none() {
                let c = crate::signals::first(&mut caught).await;
                eprintln!("loadgen: {}: already stopping ({said})", c.name);
            }
        })
    };

    // Spawn at the spawn rate; stop spawning when told to stop.
    let mut students = JoinSet::new();
    let mut names: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut stop_seen = stop_rx.clone();
    for (i, id) in cfg.ids.ids().enumerate() {
        let at = start + Duration::from_secs_f64(i as f64 / cfg.spawn_rate);
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stop_seen.wait_for(|s| *s) => break,
        }
        let n = cfg.ids.first.saturating_add(i as u64);
        let handle = students.spawn(student::run(
            ctx.clone(),
            Student {
                id: id.clone(),
                n,
                seed: n,
                exam: None,
            },
            stop_rx.clone(),
        ));
        names.insert(handle.id(), id);
    }
    drop(ctx);

    // Wait for the students: all done, or the stop plus its timeout.
    let sink = ledger.as_ref().map(crate::ledger::Ledger::sink);
    let all_done = join_all(&mut students, &mut names, &ends, sink.as_ref(), "panicked");
    let mut stop_seen2 = stop_tx.subscribe();
    tokio::select! {
        _ = all_done => {}
        _ = async {
            let _ = stop_seen2.wait_for(|s| *s).await;
            tokio::time::sleep(cfg.stop_timeout).await;
        } => {
            if !students.is_empty() {
                eprintln!("loadgen: {} student(s) still busy after --stop-timeout; abandoning them", students.len());
            }
            students.abort_all();
            join_all(&mut students, &mut names, &ends, sink.as_ref(), "abandoned after --stop-timeout").await;
        }
    }
    drop(ends);
    drop(sink);
    let ledger_error = ledger.and_then(|l| l.finish().err());
    stopper.abort();
    let duration = start.elapsed();
    let collector = collector.await?;
    let mut r = report(&cfg, &collector, duration);
    r.ledger_error = ledger_error;
    r.stopped_by = stopped_by.get().map(ToString::to_string);
    // A signal before --run-time or before every student finished: the plan was cut short.
    if r.stopped_by.is_some() {
        r.interrupt();
    }
    Ok(r)
}

/// Opens the `--ledger` file with its section's `run` record.
pub fn open_ledger(
    target: &crate::ledger::Target,
    host: &str,
    s: &crate::scenario::Scenario,
) -> anyhow::Result<crate::ledger::Ledger> {
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let first = crate::ledger::Record::Run {
        v: crate::ledger::VERSION,
        tool: format!("loadgen {}", env!("CARGO_PKG_VERSION")),
        host: host.to_string(),
        scenario: s.source.clone(),
        task: s
            .sequenced()
            .and_then(|i| s.tasks.get(i))
            .map(|t| t.request.name.clone()),
        started_unix_ms,
    };
    crate::ledger::Ledger::open(target, first)
}

/// Joins student tasks; one that did not end by itself (`why`: a panic, or
/// cancelled after the stop timeout) is reported, never silently dropped.
async fn join_all(
    students: &mut JoinSet<()>,
    names: &mut HashMap<tokio::task::Id, String>,
    ends: &mpsc::UnboundedSender<Event>,
    ledger: Option<&crate::ledger::Sink>,
    why: &str,
) {
    while let Some(res) = students.join_next_with_id().await {
        match res {
            Ok((id, ())) => {
                names.remove(&id);
            }
            Err(e) => {
                let why = if e.is_panic() { "panicked" } else { why };
                let student = names.remove(&e.id()).unwrap_or_else(|| "?".into());
                if let Some(l) = ledger {
                    l.record(crate::ledger::Record::Ended {
                        student: student.clone(),
                        why: why.to_string(),
                    });
                }
                let _ = ends.send(Event::EndedAbnormally {
                    student,
                    why: why.to_string(),
                });
            }
        }
    }
}

/// Receives events until every sender is gone; ticks history and progress.
async fn collect(
    mut rx: mpsc::UnboundedReceiver<Event>,
    mut c: Collector,
    start: Instant,
    progress: Duration,
    planned: u64,
) -> Collector {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let mut last_line = Instant::now();
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => c.record(ev),
                None => break,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                c.tick(unix_now(), (now - start).as_millis() as u64);
                let line = crate::render::table::progress_line(&c, now - start, planned);
                match &bar {
                    Some(b) => b.set_message(line),
                    None if now - last_line >= progress => {
                        eprintln!("{line}");
                        last_line = now;
                    }
                    None => {}
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    c
}

/// The report of a finished run.
pub fn report(cfg: &RunConfig, c: &Collector, duration: Duration) -> RunReport {
    let meta = RunMeta {
        tls: cfg.target.tls,
        insecure: cfg.insecure,
        host: cfg.host.clone(),
        id_range: cfg.ids.to_string(),
        id_source: cfg.id_source.clone(),
        ids_outside_population: Vec::new(),
        planned: Some(cfg.ids.len()),
        max_fail_ratio: cfg.max_fail_ratio,
    };
    c.report(meta, duration.as_secs_f64())
}
