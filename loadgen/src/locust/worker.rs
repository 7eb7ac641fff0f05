//! `loadgen worker`: the Locust-driven controller. The master decides how
//! many users run; each user is one of our students (the same engine as
//! `loadgen run`); statistics go back to the master every 3 s as deltas.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::blocks::Ids;
use super::protocol::{FromMaster, Heartbeat, SpawningComplete, decode, encode};
use super::runs::Runs;
use super::stats::Delta;
use super::transport::{self, Link};
use super::users::User;
use crate::config::WorkerConfig;
use crate::http::{Client, Target};
use crate::report::RunReport;
use crate::stats::{Collector, Event, RunMeta};
use crate::student::Ctx;

const HEARTBEAT: Duration = Duration::from_secs(1);
const REPORT: Duration = Duration::from_secs(3);
const ACK_WAIT: Duration = Duration::from_secs(5);
const ACK_TRIES: u32 = 60;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// (user time + system time) in clock ticks, and RSS in bytes, of this process.
fn usage() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let rss_pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (ticks, rss_pages * 4096)
}

pub(super) struct Worker {
    pub(super) cfg: WorkerConfig,
    pub(super) link: Link,
    pub(super) index: Option<u64>,
    pub(super) state: &'static str,
    pub(super) users: Vec<User>,
    pub(super) targets: BTreeMap<String, u64>,
    /// Which student each user is (the master's IDs, or our own numbering).
    pub(super) ids: Ids,
    /// The students' context and the host URL it was made for.
    pub(super) ctx: Option<(Arc<Ctx>, String)>,
    pub(super) events_tx: mpsc::UnboundedSender<Event>,
    pub(super) collector: Collector,
    pub(super) delta: Delta,
    pub(super) last_spawn: f64,
    pub(super) start: Instant,
    pub(super) send_failing: bool,
    /// `--ledger`: the section of the run in progress (one per Locust run:
    /// opened at start and at a swarm after a stop, closed at each stop).
    pub(super) ledger: Option<crate::ledger::Ledger>,
    /// The ledger's first write error, in any section.
    pub(super) ledger_error: Option<String>,
    /// Some spawn aimed at an `https://` host (the report then has TLS figures).
    pub(super) tls_used: bool,
    /// Each run's own figures (`--run-reports`).
    pub(super) runs: Runs,
}

impl Worker {
    async fn send<T: serde::Serialize>(&mut self, kind: &str, data: &T) {
        let frame = encode(kind, data, &self.cfg.node_id);
        match self.link.sink.send(frame).await {
            // Said once per outage, not once per heartbeat.
            Err(e) if !self.send_failing => {
                eprintln!("loadgen worker: cannot reach the master ({kind}: {e}); retrying quietly");
                self.send_failing = true;
            }
            Err(_) => {}
            Ok(()) if self.send_failing => {
                eprintln!("loadgen worker: the master is reachable again");
                self.send_failing = false;
            }
            Ok(()) => {}
        }
    }

    /// Sends `client_ready` until the master acknowledges it, at most until `until`.
    async fn handshake(&mut self, until: Instant) -> anyhow::Result<()> {
        for _ in 0..ACK_TRIES {
            if Instant::now() >= until {
                break;
            }
            self.send("client_ready", &-1i64).await;
            let deadline = (Instant::now() + ACK_WAIT).min(until);
            while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.link.incoming.recv()).await {
                let f = frame.map_err(anyhow::Error::msg)?;
                match decode(&f) {
                    Ok((FromMaster::Ack { index }, _)) => {
                        self.index = index;
                        let shown = index.map_or("?".into(), |i| i.to_string());
                        eprintln!(
                            "loadgen worker: {} joined the master as index {shown}",
                            self.cfg.node_id
                        );
                        return Ok(());
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("loadgen worker: undecodable frame from the master: {e}"),
                }
            }
        }
        anyhow::bail!(
            "the master at {}:{} never acknowledged client_ready within {:?} (--master-timeout): \
             is that port a Locust master's (--master-bind-port, 5557 by default), and is its version one loadgen speaks?",
            self.cfg.master_host,
            self.cfg.master_port,
            self.cfg.master_timeout
        )
    }

    /// The students' context for this spawn's host; made again when the
    /// host changed (the web UI's form sends one with every swarm).
    pub(super) fn ctx(&mut self, host: Option<&str>) -> anyhow::Result<Arc<Ctx>> {
        let url = self
            .cfg
            .host
            .clone()
            .or(host.map(str::to_string))
            .ok_or_else(|| anyhow::anyhow!("no --host given and the master sent none"))?;
        if let Some((c, for_url)) = &self.ctx {
            if *for_url == url {
                return Ok(c.clone());
            }
            eprintln!(
                "loadgen worker: the master's host is now {} (was {})",
                common::text::escape_str(&url),
                common::text::escape_str(for_url)
            );
        }
        let url = url.as_str();
        let target = Target::parse(url)?;
        // Resolved synchronously here: one lookup per process.
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&target.authority)?
            .next()
            .ok_or_else(|| anyhow::anyhow!("cannot resolve {}", target.authority))?;
        let s = &self.cfg.setup;
        let tls = crate::config::tls_for(&target, &s.tls)?;
        self.tls_used |= target.tls;
        let ctx = Arc::new(Ctx {
            cookies: s.cookies,
            client: Client::new(target, addr, s.timeout, s.max_idle_connections, tls).with_max_answer(s.max_answer),
            scenario: s.scenario.clone(),
            payloads: s.payloads.clone(),
            plan: s.plan.clone(),
            events: self.events_tx.clone(),
            ledger: self.ledger.as_ref().map(crate::ledger::Ledger::sink),
            start: self.start,
            wall_start: chrono::Local::now() - chrono::TimeDelta::from_std(self.start.elapsed()).unwrap_or_default(),
        });
        self.ctx = Some((ctx.clone(), url.to_string()));
        Ok(ctx)
    }

    /// Ends the run in progress (its report to `--run-reports`).
    fn end_run(&mut self) {
        let mut meta = self.meta();
        (meta.id_range, meta.ids_outside_population) = self.ids.run_ranges();
        self.ids.end_run();
        match self.runs.end(meta) {
            Ok(Some(p)) => eprintln!("loadgen worker: run report {}", p.display()),
            Ok(None) => {}
            Err(e) => eprintln!("loadgen worker: cannot write the run report: {e:#}"),
        }
    }

    fn meta(&self) -> RunMeta {
        RunMeta {
            tls: self.tls_used,
            insecure: self.tls_used && self.cfg.setup.tls.insecure,
            host: self
                .cfg
                .host
                .clone()
                .unwrap_or_else(|| "(from the Locust master)".into()),
            id_range: self.ids.life().0,
            id_source: self.ids.source(self.index),
            ids_outside_population: self.ids.life().1,
            planned: None,
            max_fail_ratio: self.cfg.max_fail_ratio,
        }
    }

    async fn report_stats(&mut self) {
        let counts = self.live_counts();
        let stats = self.delta.take(unix_now(), counts);
        self.send("stats", &stats).await;
    }

    fn drain_events(&mut self, rx: &mut mpsc::UnboundedReceiver<Event>) {
        while let Ok(ev) = rx.try_recv() {
            match &ev {
                Event::Sample(s) => self.delta.record(s),
                Event::FailedAnswer { endpoint, kind, head } => self.delta.answer(*endpoint, kind, head),
                _ => {}
            }
            self.runs.record(&ev);
            self.collector.record(ev);
        }
    }
}

/// `at + d`, or a year from now when that is past what an `Instant` holds.
fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 86_400))
}

/// No master reached within `--master-timeout`: what to check.
fn no_master(cfg: &WorkerConfig, e: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{e}: no Locust master listens at {}:{} (waited {:?}, --master-timeout). Start it first \
         (`locust -f locustfile.py --master --master-bind-port {}`), check --master-host and --master-port, \
         or give a longer --master-timeout",
        cfg.master_host,
        cfg.master_port,
        cfg.master_timeout,
        cfg.master_port
    )
}

/// A last heartbeat time that makes the worker reconnect now (a broken link).
fn half_silent(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_sub(timeout / 2).unwrap_or(now)
}

/// Joins the master and runs until it says quit (or is lost); returns the report.
pub async fn run_worker(cfg: WorkerConfig) -> anyhow::Result<RunReport> {
    let mut caught = crate::signals::listen("loadgen worker")?;
    // The statistics count from `start`. The ledger first: a refused one is
    // said before waiting for the master.
    let start = Instant::now();
    let ledger = cfg
        .setup
        .ledger
        .as_ref()
        .map(|p| {
            let host = cfg.host.clone().unwrap_or_else(|| "(from the Locust master)".into());
            crate::run::open_ledger(p, &host, &cfg.setup.scenario)
        })
        .transpose()?;
    let mut early = caught.clone();
    // The master may start after the worker: wait for it --master-timeout, no longer.
    let until = Instant::now() + cfg.master_timeout;
    let link = tokio::select! {
        r = transport::connect(&cfg.master_host, cfg.master_port, &cfg.node_id, cfg.master_timeout) => r.map_err(|e| no_master(&cfg, &e)),
        c = crate::signals::first(&mut early) => Err(anyhow::anyhow!("{}: stopped before reaching the master", c.name)),
    };
    let link = match link {
        Ok(l) => l,
        Err(e) => {
            // An empty section, closed: this worker ran and did nothing.
            if let Some(Err(le)) = ledger.map(crate::ledger::Ledger::finish) {
                eprintln!("loadgen worker: {le}");
            }
            return Err(e);
        }
    };
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let names = cfg.setup.scenario.endpoints();
    let mut w = Worker {
        link,
        index: None,
        state: "ready",
        users: Vec::new(),
        targets: BTreeMap::new(),
        ids: Ids::new(&cfg.id_prefix, cfg.id_width, cfg.first_id),
        ctx: None,
        events_tx,
        collector: crate::run::collector(&cfg.setup.scenario),
        // Locust shows each request kind under its scenario name (login, heartbeat, …).
        delta: Delta::new(
            names.iter().map(|(n, m, _)| (n.clone(), m.clone())).collect(),
            unix_now(),
        ),
        last_spawn: f64::MIN,
        start,
        send_failing: false,
        tls_used: false,
        runs: Runs::new(cfg.run_reports.clone()),
        ledger,
        ledger_error: None,
        cfg,
    };
    // A signal while the master has not answered yet: the loop below sees it at once.
    let joined = tokio::select! {
        r = w.handshake(until) => r,
        _ = crate::signals::first(&mut early) => Ok(()),
    };
    if let Err(e) = joined {
        w.end_section();
        return Err(e);
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut report = tokio::time::interval(REPORT);
    report.tick().await;
    let mut last_master = Instant::now();
    let mut reconnected = false;
    let mut master_gone = false;
    let mut stopped_by = None;
    // A signal or the master's loss while a run was in progress cut it short.
    let mut interrupted = false;
    let mut cpu_prev = (usage().0, Instant::now());
    loop {
        tokio::select! {
            frame = w.link.incoming.recv() => {
                let frame = match frame {
                    Some(Ok(f)) => f,
                    Some(Err(e)) => { eprintln!("loadgen worker: link to the master failed: {e}"); last_master = half_silent(w.cfg.master_timeout); continue; }
                    None => { last_master = half_silent(w.cfg.master_timeout); continue; }
                };
                let msg = match decode(&frame) {
                    Ok((m, _)) => m,
                    Err(e) => { eprintln!("loadgen worker: undecodable frame from the master, ignored: {e}"); continue; }
                };
                last_master = Instant::now();
                reconnected = false;
                match msg {
                    FromMaster::Heartbeat => {}
                    FromMaster::Ack { index } => w.index = index.or(w.index),
                    FromMaster::Spawn { timestamp, user_classes_count, host, num_users, expect_workers, .. } => {
                        w.send("spawning", &()).await;
                        if timestamp <= w.last_spawn { continue; }
                        w.last_spawn = timestamp;
                        w.state = "spawning";
                        if let Err(e) = w.spawn_to(user_classes_count, host.as_deref(), num_users, expect_workers) {
                            eprintln!("loadgen worker: cannot spawn: {e:#}");
                            w.send("exception", &BTreeMap::from([("msg", format!("{e:#}")), ("traceback", String::new())])).await;
                            continue;
                        }
                        let counts = w.targets.clone();
                        let total = counts.values().sum();
                        w.send("spawning_complete", &SpawningComplete { user_classes_count: &counts, user_count: total }).await;
                        w.state = "running";
                    }
                    FromMaster::SpawningComplete { .. } => {}
                    FromMaster::Stop => {
                        w.state = "stopping";
                        w.stop_all().await;
                        w.drain_events(&mut events_rx);
                        w.report_stats().await;
                        w.send("client_stopped", &()).await;
                        w.end_run();
                        w.end_run_section();
                        w.send("client_ready", &-1i64).await;
                        w.state = "ready";
                    }
                    FromMaster::Quit => break,
                    FromMaster::Reconnect => {
                        eprintln!("loadgen worker: the master asked to reconnect");
                        w.link = transport::connect(&w.cfg.master_host, w.cfg.master_port, &w.cfg.node_id, Duration::from_secs(30)).await.map_err(anyhow::Error::msg)?;
                    }
                    FromMaster::Ids(Ok(a)) => w.ids.assigned(a),
                    FromMaster::Ids(Err(e)) => eprintln!("loadgen worker: the master's student IDs are unreadable, ignored: {}", common::text::escape_str(&e)),
                    FromMaster::Other { kind } => eprintln!("loadgen worker: ignoring message type '{}' from the master", common::text::escape_str(&kind)),
                }
            }
            _ = heartbeat.tick() => {
                w.drain_events(&mut events_rx);
                let (ticks, rss) = usage();
                let secs = cpu_prev.1.elapsed().as_secs_f64().max(1e-3);
                let cpu = (ticks.saturating_sub(cpu_prev.0)) as f64 / 100.0 / secs * 100.0;
                cpu_prev = (ticks, Instant::now());
                let state = w.state;
                w.send("heartbeat", &Heartbeat { state, current_cpu_usage: cpu, current_memory_usage: rss }).await;
            }
            // Half the timeout: one reconnect; the whole of it: give up, so
            // users are told to stop --master-timeout after the last heartbeat.
            _ = tokio::time::sleep_until(after(last_master, if reconnected { w.cfg.master_timeout } else { w.cfg.master_timeout / 2 })) => {
                if reconnected {
                    eprintln!("loadgen worker: the master is gone (no heartbeat for {:.1?}); stopping", last_master.elapsed());
                    master_gone = true;
                    interrupted |= w.runs.in_progress();
                    break;
                }
                eprintln!("loadgen worker: no master heartbeat for {:.1?}; reconnecting with the same identity", last_master.elapsed());
                reconnected = true;
                if let Ok(link) = transport::connect(&w.cfg.master_host, w.cfg.master_port, &w.cfg.node_id, (w.cfg.master_timeout / 4).min(Duration::from_secs(5))).await {
                    w.link = link;
                    w.send("client_ready", &-1i64).await;
                }
            }
            _ = report.tick() => {
                w.drain_events(&mut events_rx);
                w.report_stats().await;
            }
            c = crate::signals::first(&mut caught) => {
                eprintln!("loadgen worker: {}: stopping users (they log out) and leaving the master; another signal ends at once", c.name);
                stopped_by = Some(c.name);
                interrupted |= w.runs.in_progress();
                break;
            }
        }
    }
    // Quit: stop users, final stats within the master's grace, then quit.
    w.stop_all().await;
    w.drain_events(&mut events_rx);
    w.report_stats().await;
    w.send("quit", &()).await;
    w.end_run();
    if !master_gone {
        // Lets the quit reach a master that is there to read it.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    w.end_section();
    w.ctx = None;
    let mut report = w.collector.report(w.meta(), w.start.elapsed().as_secs_f64());
    report.ledger_error = w.ledger_error.take();
    report.stopped_by = stopped_by.map(str::to_string);
    if interrupted {
        report.interrupt();
    }
    Ok(report)
}
