//! Recordings trees: which layout `--dir` is, the student folders in it, and
//! one folder's entries. Opens directories for reading only; never follows a
//! symbolic link unless asked; stats only segment files (for their size).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::audit::seq::FolderObs;
use crate::report::PathError;
use crate::report::seq::Layout;
use common::text::escape_os;

use super::rawdir::Kind;

/// How folders are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Accepted segment extensions, without dot.
    pub exts: Vec<String>,
    /// Follow symbolic links to folders and files.
    pub follow_links: bool,
    /// Stat segment files for their size (the empty check).
    pub check_size: bool,
}

/// One exam's recordings folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamDir {
    /// Exam ID (folder name), when the layout tells it.
    pub exam: Option<String>,
    /// The recordings folder.
    pub recordings: PathBuf,
}

/// Student folders of one recordings folder.
#[derive(Debug, Default)]
pub struct Listing {
    /// (folder name, path), sorted by name.
    pub students: Vec<(OsString, PathBuf)>,
    /// Files directly in the recordings folder.
    pub stray: Vec<String>,
    /// Symbolic links skipped.
    pub skipped_links: u64,
    /// Entries that could not be read.
    pub errors: Vec<PathError>,
}

const RECORDINGS: &str = "recordings";

/// Decides what `root` is: a recordings folder, an exam folder or a `server_data`.
/// The root the user named is followed even when it is a symbolic link. An
/// exam folder that cannot be read is an error entry, never a silent skip
/// (returned with the layout; the caller reports them).
pub fn detect(root: &Path, follow: bool) -> io::Result<(Layout, Vec<ExamDir>, Vec<PathError>)> {
    if !fs::metadata(root)?.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a directory"));
    }
    let name_of = |p: &Path| p.file_name().map(escape_os);
    if root.file_name() == Some(OsStr::new(RECORDINGS)) {
        let exam = root.parent().and_then(name_of);
        return Ok((Layout::Recordings, vec![exam_dir(exam, root.to_path_buf())], Vec::new()));
    }
    let own = root.join(RECORDINGS);
    match fs::metadata(&own) {
        Ok(m) if m.is_dir() => {
            let exam = fs::canonicalize(root).ok().as_deref().and_then(name_of);
            return Ok((Layout::Exam, vec![exam_dir(exam, own)], Vec::new()));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut exams = Vec::new();
    let mut errors = Vec::new();
    for entry in fs::read_dir(root)? {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(PathError::io(root, &e));
                continue;
            }
        };
        if !is_dir(&entry.path(), follow) {
            continue;
        }
        let rec = entry.path().join(RECORDINGS);
        match stat(&rec, follow) {
            Ok(m) if m.is_dir() => exams.push(exam_dir(Some(escape_os(&entry.file_name())), rec)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // EACCES and the like: an exam folder we cannot look into.
            Err(e) => errors.push(PathError::io(&entry.path(), &e)),
        }
    }
    if exams.is_empty() {
        // A recordings folder itself: its unreadable student folders are
        // reported by the scan of each folder.
        return Ok((Layout::Recordings, vec![exam_dir(None, root.to_path_buf())], Vec::new()));
    }
    exams.sort_by(|a, b| a.exam.cmp(&b.exam));
    Ok((Layout::ServerData, exams, errors))
}

fn exam_dir(exam: Option<String>, recordings: PathBuf) -> ExamDir {
    ExamDir { exam, recordings }
}

fn stat(path: &Path, follow: bool) -> io::Result<fs::Metadata> {
    if follow {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    }
}

fn is_dir(path: &Path, follow: bool) -> bool {
    stat(path, follow).is_ok_and(|m| m.is_dir())
}

/// Lists the student folders of a recordings folder.
pub fn list_students(recordings: &Path, follow: bool) -> Listing {
    let mut out = Listing::default();
    let listed = super::rawdir::for_each(recordings, follow, |_, name, kind| {
        let name = OsStr::from_bytes(name.to_bytes());
        match kind {
            Ok(Kind::Dir) => out.students.push((name.to_os_string(), recordings.join(name))),
            Ok(Kind::File(_)) => out.stray.push(escape_os(name)),
            Ok(Kind::SkippedLink) => out.skipped_links += 1,
            Err(e) => out.errors.push(PathError::io(recordings, &e)),
        }
    });
    if let Err(e) = listed {
        out.errors.push(PathError::io(recordings, &e));
    }
    out.students.sort();
    out.stray.sort();
    out
}

/// Reads one student folder into observations (at the kernel's floor:
/// `sources::rawdir`).
pub fn read_folder(exam: Option<String>, name: &OsStr, path: &Path, opts: &ScanOptions) -> FolderObs {
    super::rawdir::read_folder(exam, name, path, opts)
}

/// `read_folder` into a `FolderObs` reused from folder to folder.
pub fn read_folder_into(obs: &mut FolderObs, exam: Option<String>, name: &OsStr, path: &Path, opts: &ScanOptions) {
    super::rawdir::read_folder_into(obs, exam, name, path, opts)
}
