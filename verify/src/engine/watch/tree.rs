//! The recordings tree as `verify watch` sees it change: notify events turned
//! into folder reads, each changed student folder read once per tick.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::{Event, EventKind};

use crate::audit::fold::GateFold;
use crate::engine::seq::{SeqConfig, list_exam};
use crate::sources::tree;

/// A student folder first seen less than `YOUNG` ago: files written into it
/// before notify added its watch send no event, so it is read again for a
/// while, after 1, 2, 4, 8 ticks (five reads, not one per tick: 1,000 new
/// folders a minute cost 20,000 reads so).
pub(super) struct Young {
    exam: Option<String>,
    path: PathBuf,
    since: Instant,
    /// When it is read again (never past the end of time), and the wait after that.
    next: Option<Instant>,
    wait: Duration,
}

const YOUNG: Duration = Duration::from_secs(2);

/// A recordings folder is listed again (its student count, its stray files)
/// at most this often: a new student folder is read at once from its own
/// event, and listing 1,000 names for each of 1,000 new folders showed.
const LIST_EVERY: Duration = Duration::from_secs(1);

/// What the tree watch remembers between turns.
#[derive(Default)]
pub(super) struct TreeState {
    young: Vec<Young>,
    /// When each recordings folder was last listed.
    listed: HashMap<PathBuf, Instant>,
    /// Recordings folders that changed since they were last listed.
    owed: BTreeSet<PathBuf>,
}

impl TreeState {
    /// True when a turn without events has nothing to do.
    pub(super) fn idle(&self) -> bool {
        self.young.is_empty() && self.owed.is_empty()
    }
}

/// Turns tree events into folder reads: each changed folder is read once per
/// tick, whatever the number of events. `last`: the watch ends, list what is
/// owed now. Returns the folders read.
pub(super) fn tree_events(
    s: &SeqConfig,
    fold: &mut GateFold,
    events: Vec<notify::Result<Event>>,
    st: &mut TreeState,
    now: Instant,
    tick: Duration,
    last: bool,
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
        if is_read_only(&ev.kind) {
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
            // `--exam`: other exams' folders stay out, new ones included.
            let chosen = |e: &Option<String>| s.exams.is_empty() || e.as_ref().is_some_and(|e| s.exams.contains(e));
            for ed in exam_dirs.iter().filter(|ed| chosen(&ed.exam)) {
                let known = part.exam_of(&ed.recordings).is_some();
                let students = list_exam(s, ed, part);
                if rescan || !known {
                    folders.extend(students.into_iter().map(|(_, p)| (ed.exam.clone(), p)));
                }
            }
        }
    }
    for d in &dirty {
        if part.exam_of(d).is_some() {
            st.owed.insert(d.clone());
        } else if let Some(exam) = d.parent().and_then(|r| part.exam_of(r)) {
            folders.push((exam.exam.clone(), d.clone()));
        }
    }
    let due: Vec<PathBuf> = st
        .owed
        .iter()
        .filter(|r| {
            last || st
                .listed
                .get(*r)
                .is_none_or(|t| now.saturating_duration_since(*t) >= LIST_EVERY)
        })
        .cloned()
        .collect();
    for r in due {
        st.owed.remove(&r);
        st.listed.insert(r.clone(), now);
        let Some(exam) = part.exam_of(&r).map(|e| e.exam.clone()) else {
            continue;
        };
        let ed = tree::ExamDir { exam, recordings: r };
        for (_, p) in list_exam(s, &ed, part) {
            if !part.has_folder(&p) {
                folders.push((ed.exam.clone(), p));
            }
        }
    }
    let young = &mut st.young;
    young.retain(|y| now.saturating_duration_since(y.since) < YOUNG);
    for (exam, path) in &folders {
        if !part.has_folder(path) && !young.iter().any(|y| &y.path == path) {
            young.push(Young {
                exam: exam.clone(),
                path: path.clone(),
                since: now,
                next: now.checked_add(tick),
                wait: tick,
            });
        }
    }
    for y in young.iter_mut().filter(|y| y.next.is_some_and(|n| now >= n)) {
        y.wait = y.wait.saturating_mul(2);
        y.next = now.checked_add(y.wait);
        folders.push((y.exam.clone(), y.path.clone()));
    }
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

/// An access that changes nothing: open, read, close without writing.
/// A close after writing is kept (a segment finished).
pub(super) fn is_read_only(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(_))
        && !matches!(
            kind,
            EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write))
        )
}
