//! `verify watch`: the live audit. At start the logs and the tree are read
//! into the gate fold as `verify gate` reads them; then the logs are followed
//! through rotation (`sources::tail`) from where that read stopped, and the
//! tree is watched (notify). Every line and folder goes into the same fold, so
//! the final report is the fold's, and holds everything seen, even lines of
//! files deleted since. The engine writes no text: it hands typed events to
//! a sink (`render::watch` writes them).

mod follow;
mod tree;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use notify::{Event, RecursiveMode, Watcher};

use crate::audit::fold::ids::IdsPart;
pub use crate::audit::fold::live::{Stats, WatchEvent};
use crate::audit::fold::merge::MergePart;
use crate::audit::fold::{Alert, GateFold};
use crate::engine::gate::GateConfig;
use crate::engine::seq::read_seq;
use follow::{followers, poll_log};
use tree::{TreeState, tree_events};

/// What `verify watch` follows and when it stops.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The checks (and the inputs: their logs and tree).
    pub gate: GateConfig,
    /// gunicorn logs to follow (`--log`), one per file.
    pub gunicorn: Vec<PathBuf>,
    /// celery logs to follow (`--celery-log`).
    pub celery: Vec<PathBuf>,
    /// client ledgers to follow (`--ledger`).
    pub ledgers: Vec<PathBuf>,
    /// Alert on what the inputs already hold at start, too.
    pub from_start: bool,
    /// A gap is confirmed when a later seq arrived this long ago and the missing one has not.
    pub grace: Duration,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this long without new lines or files.
    pub until_idle: Option<Duration>,
    /// Use notify's PollWatcher (NFS, inotify limits).
    pub poll: bool,
    /// How often logs are read.
    pub tick: Duration,
    /// How often a summary is given.
    pub summary_every: Duration,
    /// How long a rotated-away log keeps being read.
    pub rotate_grace: Duration,
    /// Alert lines per second; the rest are counted (`WatchEvent::HeldBack`).
    pub max_alerts_per_second: u32,
}

/// Reads the inputs as they are, then follows them until the configured end
/// or a signal (SIGINT, SIGTERM, SIGHUP: ctrlc's `termination` feature). Returns the fold: its report is the final report.
pub fn run_watch(
    cfg: &WatchConfig,
    sink: &mut dyn FnMut(WatchEvent) -> std::io::Result<()>,
) -> anyhow::Result<GateFold> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let start = Instant::now();
    // The tree first: a watch started before reading misses nothing.
    let (tx, rx) = mpsc::channel::<notify::Result<Event>>();
    let mut watcher: Option<Box<dyn Watcher>> = None;
    if let Some(s) = &cfg.gate.seq {
        let ncfg = notify::Config::default()
            .with_follow_symlinks(s.scan.follow_links)
            .with_poll_interval(cfg.tick);
        let mut w: Box<dyn Watcher> = if cfg.poll {
            Box::new(notify::PollWatcher::new(changes_only(tx.clone()), ncfg)?)
        } else {
            Box::new(notify::RecommendedWatcher::new(changes_only(tx.clone()), ncfg)?)
        };
        w.watch(&s.dir, RecursiveMode::Recursive)
            .map_err(|e| match std::fs::metadata(&s.dir) {
                // notify says "No path was found": say which, in words.
                Err(io) => anyhow::anyhow!(
                    "--dir {}: {}",
                    common::text::escape_os(s.dir_shown.as_os_str()),
                    crate::report::io_words(&io)
                ),
                Ok(_) => anyhow::anyhow!("watch --dir {}: {e}", common::text::escape_os(s.dir_shown.as_os_str())),
            })?;
        watcher = Some(w);
    }
    let mut fold = initial_fold(cfg, start)?;
    let mut followed = followers(cfg, &mut fold);
    if !cfg.from_start {
        fold.quiet(start);
    }
    let (mut last_activity, mut last_summary) = (Instant::now(), Instant::now());
    let mut stats = Stats::default();
    let mut pending: Vec<notify::Result<Event>> = Vec::new();
    let mut limiter = Limiter::new(cfg.max_alerts_per_second);
    let mut tree_state = TreeState::default();
    // When the tree was last looked at: at most once per tick.
    let mut tree_turn: Option<Instant> = None;
    loop {
        let turn = Instant::now();
        if stop.load(Ordering::SeqCst) {
            sink(WatchEvent::Stopping { at: SystemTime::now() })?;
            break;
        }
        if cfg.duration.is_some_and(|d| start.elapsed() >= d)
            || cfg.until_idle.is_some_and(|d| last_activity.elapsed() >= d)
        {
            break;
        }
        for f in &mut followed {
            let n = poll_log(f, &mut fold);
            if n > 0 {
                stats.lines = stats.lines.saturating_add(n);
                last_activity = Instant::now();
            }
            // A deadline is kept even while a log pours in.
            if cfg.duration.is_some_and(|d| start.elapsed() >= d) {
                break;
            }
        }
        let events: Vec<_> = pending
            .drain(..)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .collect();
        if let Some(s) = &cfg.gate.seq
            && (!events.is_empty() || !tree_state.idle())
        {
            let now = Instant::now();
            let woken = !events.is_empty();
            let reads = tree_events(s, &mut fold, events, &mut tree_state, now, cfg.tick, false);
            // A turn that only found no young folder due did not look.
            if woken || reads > 0 {
                tree_turn = Some(now);
            }
            if reads > 0 {
                stats.folder_reads = stats.folder_reads.saturating_add(reads);
                last_activity = Instant::now();
            }
        }
        fold.confirm_gaps(Instant::now(), cfg.grace);
        limiter.pass(fold.take_alerts(), sink)?;
        if last_summary.elapsed() >= cfg.summary_every {
            let secs = start.elapsed().as_secs_f64().max(1e-3);
            sink(WatchEvent::Summary {
                at: SystemTime::now(),
                tally: fold.tally(),
                lines_per_s: stats.lines as f64 / secs,
                files_per_s: stats.folder_reads as f64 / secs,
            })?;
            last_summary = Instant::now();
        }
        // The tree is looked at once per tick at most, however many events
        // arrive (a turn woken by every event read young folders hundreds of
        // times a second); an event after a quiet tick is handled at once.
        let wait = cfg
            .duration
            .map_or(cfg.tick, |d| d.saturating_sub(start.elapsed()).min(cfg.tick));
        let Some(end) = turn.checked_add(wait) else {
            pending.extend(rx.recv_timeout(wait).ok());
            continue;
        };
        while let Some(left) = end.checked_duration_since(Instant::now()).filter(|l| !l.is_zero()) {
            match rx.recv_timeout(left) {
                Ok(ev) => {
                    pending.push(ev);
                    if tree_turn.is_none_or(|t| t.elapsed() >= cfg.tick) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    drop(watcher);
    // Listings put off (at most one a second) are owed to the final report.
    if let Some(s) = &cfg.gate.seq {
        let events = pending.drain(..).chain(rx.try_iter()).collect();
        let reads = tree_events(s, &mut fold, events, &mut tree_state, Instant::now(), cfg.tick, true);
        stats.folder_reads = stats.folder_reads.saturating_add(reads);
    }
    limiter.flush(sink)?;
    for f in followed.iter().filter_map(|f| f.follower.as_ref()) {
        stats.rotations = stats.rotations.saturating_add(f.rotations);
        stats.truncations = stats.truncations.saturating_add(f.truncations);
    }
    stats.seconds = start.elapsed().as_secs_f64();
    sink(WatchEvent::Done {
        at: SystemTime::now(),
        stats,
    })?;
    Ok(fold)
}

/// The tree watcher's handler: events that change nothing (a folder opened,
/// read, closed unwritten: our own reads among them) are dropped here, so
/// they neither queue nor wake the loop.
fn changes_only(tx: mpsc::Sender<notify::Result<Event>>) -> impl FnMut(notify::Result<Event>) + Send + 'static {
    move |ev: notify::Result<Event>| {
        if ev.as_ref().is_ok_and(|e| tree::is_read_only(&e.kind)) {
            return;
        }
        let _ = tx.send(ev);
    }
}

/// The fold as the inputs are now: the tree read (observations kept), the
/// logs' parts with one slot per followed file (read later, in `followers`).
fn initial_fold(cfg: &WatchConfig, now: Instant) -> anyhow::Result<GateFold> {
    let seq = cfg.gate.seq.as_ref().map(|s| read_seq(s, Some(now))).transpose()?;
    let ids = cfg.gate.ids.as_ref().map(|_| IdsPart::default());
    let merge = cfg.gate.merge.as_ref().map(|_| MergePart::default());
    let ledger = (!cfg.ledgers.is_empty()).then(crate::audit::fold::ledger::LedgerPart::default);
    Ok(GateFold::new(cfg.gate.clone(), ids, seq, merge).with_ledger(ledger))
}

/// At most `per_second` alerts a second; the rest are counted and said once
/// the second is over.
struct Limiter {
    per_second: u32,
    window: Instant,
    shown: u32,
    held: u64,
}

impl Limiter {
    fn new(per_second: u32) -> Limiter {
        Limiter {
            per_second,
            window: Instant::now(),
            shown: 0,
            held: 0,
        }
    }

    fn pass(
        &mut self,
        alerts: Vec<Alert>,
        sink: &mut dyn FnMut(WatchEvent) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        if self.window.elapsed() >= Duration::from_secs(1) {
            self.flush(sink)?;
            self.window = Instant::now();
            self.shown = 0;
        }
        for alert in alerts {
            if self.shown < self.per_second {
                self.shown += 1;
                sink(WatchEvent::Alert {
                    at: SystemTime::now(),
                    alert,
                })?;
            } else {
                self.held = self.held.saturating_add(1);
            }
        }
        Ok(())
    }

    fn flush(&mut self, sink: &mut dyn FnMut(WatchEvent) -> std::io::Result<()>) -> std::io::Result<()> {
        if self.held > 0 {
            sink(WatchEvent::HeldBack {
                at: SystemTime::now(),
                count: std::mem::take(&mut self.held),
            })?;
        }
        Ok(())
    }
}

/// The files `verify watch` follows for one role: each argument's matches,
/// or the path itself when nothing exists yet (it is waited for).
pub fn followed_paths(args: &[String]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for arg in args {
        let (inputs, _) = crate::sources::logfile::expand(std::slice::from_ref(arg));
        let found: Vec<PathBuf> = inputs
            .into_iter()
            .filter_map(crate::sources::logfile::Input::into_path)
            .collect();
        if found.is_empty() {
            paths.push(PathBuf::from(arg));
        } else {
            paths.extend(found);
        }
    }
    paths
}
