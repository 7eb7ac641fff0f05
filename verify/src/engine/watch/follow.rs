//! The logs `verify watch` follows: each read up to its last whole line by
//! the batch readers, then followed from there (`sources::tail`), its lines
//! folded under the role the user gave it.

use std::path::{Path, PathBuf};

use crate::audit::fold::ids::LogState;
use crate::audit::fold::merge::CeleryLog;
use crate::audit::fold::{GateFold, Role};
use crate::report::PathError;
use crate::sources::tail::{Follower, line_end};
use common::regular_file::open_regular;

use super::WatchConfig;

/// One followed log.
pub(super) struct Followed {
    pub(super) role: Role,
    /// Its index among the logs of its role.
    pub(super) file: usize,
    pub(super) follower: Option<Follower>,
}

/// Reads each log up to its last whole line into the fold and follows it from
/// there; a log that does not exist yet is waited for and read from its start.
pub(super) fn followers(cfg: &WatchConfig, fold: &mut GateFold) -> Vec<Followed> {
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
/// Compared in absolute form: `./gunicorn.log.1` beside `gunicorn.log` is one.
fn is_rotated_sibling(path: &Path, all: &[&PathBuf]) -> bool {
    let abs = |p: &Path| -> PathBuf {
        std::path::absolute(p)
            .map(|a| a.components().collect())
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let path = abs(path);
    let name = path.as_os_str().as_encoded_bytes();
    all.iter().any(|other| {
        let other = abs(other);
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
    let name = common::text::escape_os(path.as_os_str());
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
                    mixed_encoding_lines: 0,
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
pub(super) fn poll_log(f: &mut Followed, fold: &mut GateFold) -> u64 {
    let Some(follower) = f.follower.as_mut() else { return 0 };
    let overlong_before = follower.overlong;
    match follower.poll() {
        Ok(lines) => {
            if f.role == Role::Ledger {
                observe_ledger(fold, f.file, &lines, &follower.dropped_at);
                return lines.len() as u64;
            }
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

/// A ledger's new lines, each overlong one dropped folded where it was: its
/// `file:line`s stay those `verify gate` gives.
fn observe_ledger(fold: &mut GateFold, file: usize, lines: &[Vec<u8>], dropped_at: &[usize]) {
    let Some(p) = fold.ledger.as_mut() else { return };
    let mut dropped = dropped_at.iter().peekable();
    for (i, line) in lines.iter().enumerate() {
        while dropped.next_if(|&&d| d <= i).is_some() {
            p.observe_overlong(file);
        }
        p.observe_line(file, line);
    }
    dropped.for_each(|_| p.observe_overlong(file));
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
        let (e, f) = (PathBuf::from("gunicorn.log"), PathBuf::from("./gunicorn.log.1"));
        assert!(is_rotated_sibling(&f, &[&e, &f]), "the same names, written differently");
    }
}
