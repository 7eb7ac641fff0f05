//! `verify watch`: the live audit. At start the logs and the tree are read
//! into the gate fold as `verify gate` reads them; then the logs are followed
//! through rotation (`sources::tail`) from where that read stopped, and the
//! tree is watched (notify). Every line and folder goes into the same fold, so
//! the final report is the fold's, and holds everything seen, even lines of
//! files deleted since. The engine writes no text: it hands typed events to
//! a sink (`render::watch` writes them).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use notify::{Event, EventKind, RecursiveMode, Watcher};

use crate::audit::fold::ids::{IdsPart, LogState};
pub use crate::audit::fold::live::{Stats, WatchEvent};
use crate::audit::fold::merge::{CeleryLog, MergePart};
use crate::audit::fold::{Alert, GateFold, Role};
use crate::engine::gate::GateConfig;
use crate::engine::seq::{SeqConfig, list_exam, read_seq};
use crate::report::PathError;
use crate::sources::tail::{Follower, line_end, open_regular};
use crate::sources::tree;

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

/// One followed log.
struct Followed {
    role: Role,
    /// Its index among the logs of its role.
    file: usize,
    follower: Option<Follower>,
}

/// Reads the inputs as they are, then follows them until the configured end
/// or Ctrl-C. Returns the fold: its report is the final report.
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
            Box::new(notify::PollWatcher::new(tx.clone(), ncfg)?)
        } else {
            Box::new(notify::RecommendedWatcher::new(tx.clone(), ncfg)?)
        };
        w.watch(&s.dir, RecursiveMode::Recursive)?;
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
    let mut young: Vec<Young> = Vec::new();
    loop {
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
            && (!events.is_empty() || !young.is_empty())
        {
            let reads = tree_events(s, &mut fold, events, &mut young, Instant::now());
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
        let wait = cfg
            .duration
            .map_or(cfg.tick, |d| d.saturating_sub(start.elapsed()).min(cfg.tick));
        if let Ok(ev) = rx.recv_timeout(wait) {
            pending.push(ev);
        }
    }
    drop(watcher);
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

/// Reads each log up to its last whole line into the fold and follows it from
/// there; a log that does not exist yet is waited for and read from its start.
fn followers(cfg: &WatchConfig, fold: &mut GateFold) -> Vec<Followed> {
    let mut out = Vec::new();
    let roles = cfg
        .gunicorn
        .iter()
        .map(|p| (Role::Gunicorn, p))
        .chain(cfg.celery.iter().map(|p| (Role::Celery, p)))
        .chain(cfg.ledgers.iter().map(|p| (Role::Ledger, p)));
    let all: Vec<&PathBuf> = cfg.gunicorn.iter().chain(&cfg.celery).chain(&cfg.ledgers).collect();
    for (role, path) in roles {
        // `--log 'gunicorn.log*'`: the rotated siblings are history, read
        // whole and not followed; following `gunicorn.log.1` would read the
        // live file again once rotation renames it there.
        let history = is_rotated_sibling(path, &all);
        let file = match role {
            Role::Gunicorn => fold.ids.as_ref().map_or(0, |p| p.logs.len()),
            Role::Celery => fold.merge.as_ref().map_or(0, |p| p.logs.len()),
            Role::Ledger => fold.ledger.as_ref().map_or(0, |p| p.files.len()),
        };
        let follower = match open_regular(path).and_then(|(f, m)| Ok((line_end(&f, m.len())?, f, m))) {
            Ok((cut, f, m)) if !history && !crate::sources::logfile::is_gzip(&f) => {
                read_prefix(fold, role, path, cut);
                Some(Follower::resume(path, f, &m, cut, cfg.rotate_grace))
            }
            Ok(_) => {
                // A gzip file or a rotated sibling is history: read whole, not followed.
                read_prefix(fold, role, path, u64::MAX);
                None
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                add_empty(fold, role, path);
                Some(Follower::new(path, true, cfg.rotate_grace))
            }
            Err(e) => {
                add_empty(fold, role, path);
                add_error(fold, role, PathError::io(path, &e));
                None
            }
        };
        out.push(Followed { role, file, follower });
    }
    out
}

/// True when another input's name plus `.`/`-` and more is this one's name
/// (`gunicorn.log.1`, `gunicorn.log-20251123` beside `gunicorn.log`).
fn is_rotated_sibling(path: &Path, all: &[&PathBuf]) -> bool {
    let name = path.as_os_str().as_encoded_bytes();
    all.iter().any(|other| {
        let base = other.as_os_str().as_encoded_bytes();
        name.len() > base.len() + 1 && name.starts_with(base) && matches!(name.get(base.len()), Some(b'.' | b'-'))
    })
}

fn read_prefix(fold: &mut GateFold, role: Role, path: &Path, limit: u64) {
    match role {
        Role::Gunicorn => {
            if let (Some(p), Some(c)) = (fold.ids.as_mut(), fold.cfg.ids.as_ref()) {
                crate::engine::ids::read_prefix(c, p, path, limit);
            }
        }
        Role::Celery => {
            if let (Some(p), Some(c)) = (fold.merge.as_mut(), fold.cfg.merge.as_ref()) {
                crate::engine::merge::read_prefix(c, p, path, limit);
            }
        }
        Role::Ledger => {
            if let Some(p) = fold.ledger.as_mut() {
                crate::engine::ledger::read_prefix(p, path, limit);
            }
        }
    }
}

fn add_empty(fold: &mut GateFold, role: Role, path: &Path) {
    let name = crate::text::escape_os(path.as_os_str());
    match role {
        Role::Gunicorn => {
            if let Some(p) = fold.ids.as_mut() {
                p.logs.push(LogState::empty(name));
            }
        }
        Role::Celery => {
            if let Some(p) = fold.merge.as_mut() {
                p.logs.push(CeleryLog {
                    name,
                    lines: 0,
                    encoding: None,
                });
            }
        }
        Role::Ledger => {
            if let Some(p) = fold.ledger.as_mut() {
                p.add_file(name);
            }
        }
    }
}

fn add_error(fold: &mut GateFold, role: Role, e: PathError) {
    match role {
        Role::Gunicorn => fold.ids.iter_mut().for_each(|p| p.errors.push(e.clone())),
        Role::Celery => fold.merge.iter_mut().for_each(|p| p.errors.push(e.clone())),
        Role::Ledger => fold.ledger.iter_mut().for_each(|p| p.errors.push(e.clone())),
    }
}

/// Folds what one log gained; a log that cannot be read any more becomes an
/// error of its check and is no longer followed. Returns the lines read.
fn poll_log(f: &mut Followed, fold: &mut GateFold) -> u64 {
    let Some(follower) = f.follower.as_mut() else { return 0 };
    let overlong_before = follower.overlong;
    match follower.poll() {
        Ok(lines) => {
            for line in &lines {
                fold.observe_line(f.role, f.file, line);
            }
            let dropped = follower.overlong.saturating_sub(overlong_before);
            if dropped > 0
                && f.role == Role::Gunicorn
                && let Some(log) = fold.ids.as_mut().and_then(|p| p.logs.get_mut(f.file))
            {
                log.summary.overlong_lines = log.summary.overlong_lines.saturating_add(dropped);
                log.summary.lines = log.summary.lines.saturating_add(dropped);
            }
            lines.len() as u64
        }
        Err(e) => {
            let path = follower.path().to_path_buf();
            add_error(fold, f.role, PathError::io(&path, &e));
            f.follower = None;
            0
        }
    }
}

/// Turns tree events into folder reads: each changed folder is read once per
/// tick, whatever the number of events. Returns the folders read.
/// A student folder first seen less than `YOUNG` ago: files written into it
/// before notify added its watch send no event, so it is read on every tick
/// for a while.
struct Young {
    exam: Option<String>,
    path: PathBuf,
    since: Instant,
}

const YOUNG: Duration = Duration::from_secs(2);

fn tree_events(
    s: &SeqConfig,
    fold: &mut GateFold,
    events: Vec<notify::Result<Event>>,
    young: &mut Vec<Young>,
    now: Instant,
) -> u64 {
    let mut dirty: BTreeSet<PathBuf> = BTreeSet::new();
    let mut rescan = false;
    for ev in events {
        let Ok(ev) = ev else {
            rescan = true; // an overflowed queue or a watch error: look again
            continue;
        };
        if ev.need_rescan() {
            rescan = true;
        }
        if matches!(ev.kind, EventKind::Access(_)) && !is_close_write(&ev.kind) {
            continue;
        }
        for p in ev.paths {
            if let Some(parent) = p.parent() {
                dirty.insert(parent.to_path_buf());
            }
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                dirty.insert(p);
            }
        }
    }
    let Some(part) = fold.seq.as_mut() else { return 0 };
    let mut reads = 0u64;
    let mut folders: Vec<(Option<String>, PathBuf)> = Vec::new();
    if rescan || dirty.iter().any(|d| part.exam_of(d).is_none() && !is_student(part, d)) {
        // Something above the student folders changed (a new exam, a new
        // recordings folder, a lost event): look at the whole layout again.
        if let Ok((_, exam_dirs, errors)) = tree::detect(&s.dir, s.scan.follow_links) {
            part.errors = errors;
            for ed in &exam_dirs {
                let known = part.exam_of(&ed.recordings).is_some();
                let students = list_exam(s, ed, part);
                if rescan || !known {
                    folders.extend(students.into_iter().map(|(_, p)| (ed.exam.clone(), p)));
                }
            }
        }
    }
    for d in &dirty {
        if let Some(exam) = part.exam_of(d).cloned() {
            let ed = tree::ExamDir {
                exam: exam.exam.clone(),
                recordings: exam.recordings.clone(),
            };
            for (_, p) in list_exam(s, &ed, part) {
                if !part.has_folder(&p) {
                    folders.push((exam.exam.clone(), p));
                }
            }
        } else if let Some(exam) = d.parent().and_then(|r| part.exam_of(r)) {
            folders.push((exam.exam.clone(), d.clone()));
        }
    }
    young.retain(|y| now.saturating_duration_since(y.since) < YOUNG);
    for (exam, path) in &folders {
        if !part.has_folder(path) && !young.iter().any(|y| &y.path == path) {
            young.push(Young {
                exam: exam.clone(),
                path: path.clone(),
                since: now,
            });
        }
    }
    folders.extend(young.iter().map(|y| (y.exam.clone(), y.path.clone())));
    folders.sort();
    folders.dedup();
    for (exam, path) in folders {
        let Some(name) = path.file_name().map(|n| n.to_os_string()) else {
            continue;
        };
        let obs = tree::read_folder(exam, &name, &path, &s.scan);
        fold.observe_folder(path, obs, now);
        reads += 1;
    }
    reads
}

fn is_student(part: &crate::audit::fold::seq::SeqPart, d: &Path) -> bool {
    d.parent().is_some_and(|r| part.exam_of(r).is_some())
        || d.parent()
            .and_then(Path::parent)
            .is_some_and(|r| part.exam_of(r).is_some())
}

fn is_close_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write))
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_siblings_are_told_by_name() {
        let (a, b, c, d) = (
            PathBuf::from("/l/gunicorn.log"),
            PathBuf::from("/l/gunicorn.log.1"),
            PathBuf::from("/l/gunicorn.log-20251123.gz"),
            PathBuf::from("/l/gunicorn.logger"),
        );
        let all = [&a, &b, &c, &d];
        assert!(!is_rotated_sibling(&a, &all));
        assert!(is_rotated_sibling(&b, &all));
        assert!(is_rotated_sibling(&c, &all));
        assert!(!is_rotated_sibling(&d, &all), "another log, not a rotation");
    }
}
