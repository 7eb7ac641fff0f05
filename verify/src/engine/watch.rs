//! `verify watch`: the live audit. Logs are followed through rotation
//! (`sources::tail`), the recordings tree is watched (notify); every line and
//! file goes through the same classifiers and folds as batch mode, and alerts
//! come from those folds. The final report *is* `verify gate` over the same
//! inputs, so live and batch can never disagree about the end result.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

use notify::{Event, EventKind, RecursiveMode, Watcher};

use crate::audit::ids::{LoginFold, Observation, classify};
use crate::audit::merge::{MergeFold, MergeRules};
use crate::audit::ranges;
use crate::classify::login::LoginMatcher;
use crate::engine::gate::GateConfig;
use crate::report::ids::IdsKind;
use crate::segment::{NameKind, classify as classify_name};
use crate::sources::tail::Follower;

/// What `verify watch` follows and when it stops.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The gate run at the end (and the inputs: its logs, celery logs, dir).
    pub gate: GateConfig,
    /// Log files to follow (gunicorn and celery alike).
    pub logs: Vec<PathBuf>,
    /// The recordings tree, if any.
    pub dir: Option<PathBuf>,
    /// Read existing log content first.
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
    /// How often a summary line is printed.
    pub summary_every: Duration,
    /// How long a rotated-away log keeps being read.
    pub rotate_grace: Duration,
    /// On a terminal: the summary is refreshed in place, alerts print above it.
    pub in_place: bool,
}

/// How output lines are laid out: plain lines, or (on a terminal) alerts above
/// a summary line that is rewritten in place.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub in_place: bool,
}

impl Screen {
    /// An alert (or a final line): on a terminal it first clears the summary line.
    pub fn line(&self, text: &str) -> String {
        if self.in_place {
            format!("\r\x1b[2K{text}\n")
        } else {
            format!("{text}\n")
        }
    }

    /// The summary: rewritten in place on a terminal, a new line otherwise.
    pub fn summary(&self, text: &str) -> String {
        if self.in_place {
            format!("\r\x1b[2K{text}")
        } else {
            format!("{text}\n")
        }
    }
}

/// Live seq state of one student: seq -> when it first arrived.
#[derive(Debug, Default)]
struct Live {
    seqs: BTreeMap<u64, Instant>,
}

fn stamp() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}Z")
}

/// Runs until the configured end or Ctrl-C; writes alerts and summaries to `out`.
pub fn run_watch(
    cfg: &WatchConfig,
    matcher: &LoginMatcher,
    merge_rules: &MergeRules,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let screen = Screen { in_place: cfg.in_place };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let mut followers: Vec<Follower> = cfg
        .logs
        .iter()
        .map(|p| Follower::new(p, cfg.from_start, cfg.rotate_grace))
        .collect();
    let (tx, rx) = mpsc::channel::<notify::Result<Event>>();
    let mut watcher: Option<Box<dyn Watcher>> = None;
    if let Some(dir) = &cfg.dir {
        let mut w: Box<dyn Watcher> = if cfg.poll {
            Box::new(notify::PollWatcher::new(
                tx.clone(),
                notify::Config::default().with_poll_interval(cfg.tick),
            )?)
        } else {
            Box::new(notify::recommended_watcher(tx.clone())?)
        };
        w.watch(dir, RecursiveMode::Recursive)?;
        watcher = Some(w);
    }
    let exts = vec!["mp4".to_string()];
    let (mut logins, mut merge) = (LoginFold::default(), MergeFold::default());
    let mut live: BTreeMap<String, Live> = BTreeMap::new();
    let (mut alerted_dup, mut alerted_gap, mut seen_files): (
        HashSet<String>,
        HashSet<(String, u64)>,
        HashSet<PathBuf>,
    ) = Default::default();
    let (start, mut last_activity, mut last_summary) = (Instant::now(), Instant::now(), Instant::now());
    let (mut lines, mut files, mut server_gaps_seen) = (0u64, 0u64, 0usize);
    let mut line_no: Vec<u64> = vec![0; followers.len()];
    let mut pending: Vec<notify::Result<Event>> = Vec::new();
    let window = cfg.gate.ids.as_ref().map_or(120, |c| c.window_secs) as i64;
    let names: Vec<String> = cfg.logs.iter().map(|p| p.display().to_string()).collect();
    let file_name = |i: usize| names.get(i).cloned().unwrap_or_default();
    if let Some(dir) = &cfg.dir {
        // What is already there counts as arrived now.
        scan_existing(dir, &exts, &mut live, &mut seen_files, &mut files);
    }
    loop {
        if stop.load(Ordering::SeqCst) {
            write!(out, "{}", screen.line(&format!("[{}] stopping (Ctrl-C)", stamp())))?;
            break;
        }
        if cfg.duration.is_some_and(|d| start.elapsed() >= d)
            || cfg.until_idle.is_some_and(|d| last_activity.elapsed() >= d)
        {
            break;
        }
        // Logs.
        for (i, f) in followers.iter_mut().enumerate() {
            for raw in f.poll()? {
                line_no[i] += 1;
                lines += 1;
                last_activity = Instant::now();
                let text = String::from_utf8_lossy(&raw);
                if let Some(obs) = matcher.observe(&text, i, line_no[i]) {
                    let id = match &obs {
                        Observation::Login(e) => Some(e.id.clone()),
                        _ => None,
                    };
                    logins.observe(obs);
                    if let Some(id) = id
                        && let Some(evs) = logins.by_id.get(&id).filter(|e| e.len() > 1)
                    {
                        let d = classify(&id, evs, window, &file_name);
                        if d.kind == IdsKind::Collision && alerted_dup.insert(id.clone()) {
                            write!(
                                out,
                                "{}",
                                screen.line(&format!("[{}] ALERT duplicate login {id}: {}", stamp(), d.evidence))
                            )?;
                        }
                    }
                }
                merge.observe(merge_rules, i, line_no[i], &text);
                for (id, missing) in merge.gaps_since(server_gaps_seen) {
                    let msg = format!(
                        "[{}] ALERT server reports missing seq {} for {id}",
                        stamp(),
                        ranges::format(&missing)
                    );
                    write!(out, "{}", screen.line(&msg))?;
                    server_gaps_seen += 1;
                }
            }
        }
        // Tree.
        let arrived: Vec<_> = pending
            .drain(..)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .collect();
        for ev in arrived {
            let Ok(ev) = ev else { continue };
            if ev.need_rescan()
                && let Some(dir) = &cfg.dir
            {
                scan_existing(dir, &exts, &mut live, &mut seen_files, &mut files);
            }
            if matches!(
                ev.kind,
                EventKind::Create(_) | EventKind::Modify(notify::event::ModifyKind::Name(_))
            ) {
                for p in ev.paths {
                    if p.is_dir() {
                        // Files made in a new folder before its watch was added send no event.
                        let before = files;
                        scan_existing(&p, &exts, &mut live, &mut seen_files, &mut files);
                        if files > before {
                            last_activity = Instant::now();
                        }
                    } else if note_file(&p, &exts, &mut live, &mut seen_files) {
                        files += 1;
                        last_activity = Instant::now();
                    }
                }
            }
        }
        // Gaps confirmed: a later seq arrived over `grace` ago, the missing one has not.
        for (id, l) in &live {
            let present: Vec<u64> = l.seqs.keys().copied().collect();
            for [a, b] in ranges::gaps(&present) {
                let later = l.seqs.range(b + 1..).next().map(|(_, t)| *t);
                if later.is_some_and(|t| t.elapsed() >= cfg.grace) {
                    for seq in a..=b {
                        if alerted_gap.insert((id.clone(), seq)) {
                            write!(
                                out,
                                "{}",
                                screen.line(&format!(
                                    "[{}] ALERT gap confirmed: {id} seq {seq} missing (a later seq arrived {} s ago)",
                                    stamp(),
                                    cfg.grace.as_secs()
                                ))
                            )?;
                        }
                    }
                }
            }
        }
        let every = if cfg.in_place {
            cfg.summary_every.min(Duration::from_secs(1))
        } else {
            cfg.summary_every
        };
        if last_summary.elapsed() >= every {
            let secs = start.elapsed().as_secs_f64().max(1e-3);
            let expected = cfg.gate.ids.as_ref().map_or(0, |c| c.expect.len());
            let text = format!(
                "[{}] logins {} ({} distinct{}), duplicate IDs {}, students uploading {}, latest seqs {}, gaps confirmed {}, server gaps {}, {:.0} lines/s, {:.0} files/s",
                stamp(),
                logins.events,
                logins.by_id.len(),
                if expected > 0 {
                    format!(" of {expected} expected")
                } else {
                    String::new()
                },
                alerted_dup.len(),
                live.len(),
                latest(&live),
                alerted_gap.len(),
                server_gaps_seen,
                lines as f64 / secs,
                files as f64 / secs,
            );
            write!(out, "{}", screen.summary(&text))?;
            out.flush()?;
            last_summary = Instant::now();
        }
        // Wait for the next tick, or wake at once when the tree changes.
        if let Ok(ev) = rx.recv_timeout(cfg.tick) {
            pending.push(ev);
        }
    }
    drop(watcher);
    let rot: u64 = followers.iter().map(|f| f.rotations).sum();
    let trunc: u64 = followers.iter().map(|f| f.truncations).sum();
    write!(
        out,
        "{}",
        screen.line(&format!(
            "[{}] watched {:.0} s: {lines} lines ({rot} rotations, {trunc} truncations), {files} files",
            stamp(),
            start.elapsed().as_secs_f64()
        ))
    )?;
    Ok(())
}

/// "min-max" of the students' latest seqs.
fn latest(live: &BTreeMap<String, Live>) -> String {
    let last: BTreeSet<u64> = live
        .values()
        .filter_map(|l| l.seqs.keys().next_back().copied())
        .collect();
    match (last.first(), last.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}-{b}"),
        (Some(a), _) => a.to_string(),
        _ => "-".into(),
    }
}

/// Records a segment file; true when it is new.
fn note_file(p: &Path, exts: &[String], live: &mut BTreeMap<String, Live>, seen: &mut HashSet<PathBuf>) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let NameKind::Segment(seg) = classify_name(name, exts) else {
        return false;
    };
    if !seen.insert(p.to_path_buf()) {
        return false;
    }
    if let Some(seq) = seg.seq {
        live.entry(seg.student.to_string())
            .or_default()
            .seqs
            .entry(seq)
            .or_insert_with(Instant::now);
    } else {
        live.entry(seg.student.to_string()).or_default();
    }
    true
}

fn scan_existing(
    dir: &Path,
    exts: &[String],
    live: &mut BTreeMap<String, Live>,
    seen: &mut HashSet<PathBuf>,
    files: &mut u64,
) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(_) => {
                    if note_file(&e.path(), exts, live, seen) {
                        *files += 1;
                    }
                }
                Err(_) => {}
            }
        }
    }
}

/// True when a log's first lines are celery lines (else: a gunicorn log).
pub fn looks_like_celery(path: &Path) -> bool {
    let Ok(text) = std::fs::read(path) else { return false };
    let head = String::from_utf8_lossy(&text[..text.len().min(64 << 10)]).into_owned();
    let lines: Vec<&str> = head.lines().filter(|l| l.starts_with('[')).take(20).collect();
    let celery = lines
        .iter()
        .filter(|l| crate::classify::celery::parse(l).is_some())
        .count();
    !lines.is_empty() && celery * 2 > lines.len()
}

/// The files `verify watch` follows: each `--log`/`--celery-log` argument's
/// matches, or the path itself when nothing exists yet (it is waited for).
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

/// The gate run at the end: over what is on disk now, each followed log with
/// its rotated siblings (`<log>.*`, where rotation moved lines), gunicorn and
/// celery logs told apart by their lines.
pub fn final_gate(
    mut cfg: GateConfig,
    paths: &[PathBuf],
    rules: &MergeRules,
    merge_fail_on: &crate::findings::FailOn<crate::report::merge::MergeKind>,
) -> GateConfig {
    let mut all: Vec<PathBuf> = Vec::new();
    for p in paths {
        let pattern = format!("{}.*", glob::Pattern::escape(&p.display().to_string()));
        let (rotated, _) = crate::sources::logfile::expand(&[pattern]);
        all.extend(
            rotated
                .into_iter()
                .filter_map(crate::sources::logfile::Input::into_path),
        );
        all.push(p.clone());
    }
    let (celery, gunicorn): (Vec<&PathBuf>, Vec<&PathBuf>) =
        all.iter().filter(|p| p.exists()).partition(|p| looks_like_celery(p));
    let as_args = |v: &[&PathBuf]| v.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
    cfg.ids = cfg.ids.take().filter(|_| !gunicorn.is_empty()).map(|mut c| {
        c.logs = as_args(&gunicorn);
        c
    });
    let encoding = cfg
        .ids
        .as_ref()
        .map_or(crate::sources::logfile::EncodingChoice::Utf8, |c| c.encoding);
    cfg.merge = (!celery.is_empty()).then(|| crate::engine::merge::MergeConfig {
        logs: as_args(&celery),
        rules: rules.clone(),
        encoding,
        fail_on: merge_fail_on.clone(),
    });
    cfg
}

#[cfg(test)]
mod tests {
    use super::Screen;

    #[test]
    fn terminal_layout_rewrites_the_summary_and_prints_alerts_above_it() {
        let tty = Screen { in_place: true };
        assert_eq!(tty.summary("s"), "\r\x1b[2Ks");
        assert_eq!(tty.line("ALERT x"), "\r\x1b[2KALERT x\n");
        let plain = Screen { in_place: false };
        assert_eq!(plain.summary("s"), "s\n");
        assert_eq!(plain.line("ALERT x"), "ALERT x\n");
    }
}
