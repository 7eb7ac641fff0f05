//! The `verify seq` engine: detect the layout, list student folders, read and
//! audit each folder in parallel (map), then merge and sort (so the report does
//! not depend on the thread count), then compare with the expected population.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;

use crate::audit::fold::seq::{ExamState, FolderResult, SeqPart};
use crate::audit::seq::FolderObs;
use crate::report::seq::{Layout, SeqReport};
pub use crate::settings::SeqConfig;
use crate::sources::level;
use crate::sources::tree::{self, ExamDir};
use common::text::escape_os;

/// Why a scan could not start.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// `--dir` cannot be read (said once: the OS error is not also a source).
    #[error("--dir {path}: {}", crate::report::io_words(err))]
    Root { path: String, err: std::io::Error },
    #[error("start worker threads: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
    /// `--dir` at the wrong level, or an `--exam` it does not hold.
    #[error("{0}")]
    Level(String),
}

/// Scans the tree and returns the report.
pub fn run_seq(cfg: &SeqConfig) -> Result<SeqReport, ScanError> {
    Ok(read_seq(cfg, None)?.into_report(cfg))
}

/// Scans the tree into the seq part of the fold. `live`: keep every folder's
/// observations for more to come (`verify watch`), arrived at that instant;
/// otherwise each folder is audited as it is read and only findings stay.
pub fn read_seq(cfg: &SeqConfig, live: Option<Instant>) -> Result<SeqPart, ScanError> {
    let root_err = |err| ScanError::Root {
        path: escape_os(cfg.dir_shown.as_os_str()),
        err,
    };
    let (layout, exam_dirs, detect_errors) = tree::detect(&cfg.dir, cfg.scan.follow_links).map_err(root_err)?;
    let shown = escape_os(cfg.dir_shown.as_os_str());
    // A batch audit refuses a folder with no layout; `verify watch` waits
    // for one to appear (a server_data before the first exam).
    if live.is_none()
        && layout == Layout::Recordings
        && cfg.dir.file_name() != Some(std::ffi::OsStr::new("recordings"))
        && let Some(why) = level::wrong_level(&cfg.dir, &shown, &cfg.scan.exts, cfg.scan.follow_links)
    {
        return Err(ScanError::Level(why));
    }
    let exam_dirs = select_exams(cfg, &shown, exam_dirs)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build()?;
    let mut part = SeqPart::new(layout, detect_errors);
    for ed in &exam_dirs {
        let students = list_exam(cfg, ed, &mut part);
        match live {
            Some(now) => {
                for (name, path) in students {
                    let obs = tree::read_folder(ed.exam.clone(), &name, &path, &cfg.scan);
                    part.set_live(path, obs, &cfg.rules, now);
                }
            }
            None => {
                let mapped: Vec<(PathBuf, Box<FolderResult>)> = pool.install(|| {
                    students
                        .into_par_iter()
                        .map_init(FolderObs::default, |obs, (name, path)| {
                            tree::read_folder_into(obs, ed.exam.clone(), &name, &path, &cfg.scan);
                            (path, Box::new(FolderResult::audit(obs, &cfg.rules, cfg.keep_segments)))
                        })
                        .collect()
                });
                part.add_audited_all(mapped);
            }
        }
    }
    Ok(part)
}

/// The exams `--exam` names (all without it); an `--exam` the tree does
/// not hold is refused, naming the exams it holds.
fn select_exams(cfg: &SeqConfig, shown: &str, dirs: Vec<ExamDir>) -> Result<Vec<ExamDir>, ScanError> {
    if cfg.exams.is_empty() {
        return Ok(dirs);
    }
    let held = |e: &str| dirs.iter().any(|d| d.exam.as_deref() == Some(e));
    if let Some(absent) = cfg.exams.iter().find(|e| !held(e)) {
        let names: Vec<&str> = dirs.iter().filter_map(|d| d.exam.as_deref()).collect();
        return Err(ScanError::Level(format!(
            "--exam {}: no exam folder of that name under --dir {shown} (it holds: {})",
            common::text::escape_str(absent),
            if names.is_empty() {
                "no exam folder".to_string()
            } else {
                names.join(", ")
            }
        )));
    }
    Ok(dirs
        .into_iter()
        .filter(|d| d.exam.as_ref().is_some_and(|e| cfg.exams.contains(e)))
        .collect())
}

/// Lists one recordings folder into `part`; returns its student folders.
pub fn list_exam(cfg: &SeqConfig, ed: &ExamDir, part: &mut SeqPart) -> Vec<(OsString, PathBuf)> {
    let listing = tree::list_students(&ed.recordings, cfg.scan.follow_links);
    let rec = escape_os(ed.recordings.as_os_str());
    part.set_exam(ExamState {
        exam: ed.exam.clone(),
        recordings: ed.recordings.clone(),
        students: listing.students.len() as u64,
        stray: listing.stray.iter().map(|s| format!("{rec}/{s}")).collect(),
        errors: listing.errors,
        skipped_links: listing.skipped_links,
    });
    listing.students
}
