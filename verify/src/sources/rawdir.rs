//! One student folder read at the kernel's floor: `getdents64` into a buffer
//! of our own (one call for a folder of a few hundred entries, where `std`'s
//! `read_dir` makes several) and `fstatat` relative to the open folder with
//! `AT_SYMLINK_NOFOLLOW` (where `DirEntry::metadata` asks `statx` for every
//! field). Only segment files are stat'ed, for their size. Same observations
//! as `tree::read_folder` gave, entry for entry.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir, openat, statat};

use crate::audit::seq::FolderObs;
use crate::report::PathError;
use crate::segment::{NameKind, classify};
use crate::sources::tree::ScanOptions;
use common::text::escape_os;

/// The getdents buffer: a folder of ~400 segment names in one call.
const BUF: usize = 32 << 10;

fn io_err(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

/// What an entry of a folder is: links are followed only when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    /// A file, with its size when a followed link's stat gave it.
    File(Option<u64>),
    SkippedLink,
}

/// Calls `each` with every entry of the folder at `path`: the open folder,
/// the entry's name, and its kind (or why it could not be typed). Entries
/// come before any error that stops the listing.
pub fn for_each(
    path: &Path,
    follow: bool,
    mut each: impl FnMut(&OwnedFd, &CStr, std::io::Result<Kind>),
) -> std::io::Result<()> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = openat(CWD, path, flags, Mode::empty()).map_err(io_err)?;
    let mut buf: Vec<u8> = Vec::with_capacity(BUF);
    let mut dir = RawDir::new(&fd, buf.spare_capacity_mut());
    while let Some(entry) = dir.next() {
        let entry = entry.map_err(io_err)?;
        // The entry's own NUL-terminated name goes to fstatat as it is (no copy).
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        each(&fd, name, kind(&fd, name, entry.file_type(), follow).map_err(io_err));
    }
    Ok(())
}

/// Reads one student folder into observations.
pub fn read_folder(exam: Option<String>, name: &OsStr, path: &Path, opts: &ScanOptions) -> FolderObs {
    let mut obs = FolderObs::default();
    // Room for a typical folder (a few hundred segments) up front: no
    // regrowth per folder on the hot path; `verify watch` trims what it keeps.
    obs.reserve(256, 256 * 40);
    read_folder_into(&mut obs, exam, name, path, opts);
    obs
}

/// `read_folder` into `obs`, which is reset first and keeps its room (no
/// allocation per folder for a thread that reads folder after folder).
pub fn read_folder_into(obs: &mut FolderObs, exam: Option<String>, name: &OsStr, path: &Path, opts: &ScanOptions) {
    obs.reset(exam, escape_os(name));
    let listed = for_each(path, opts.follow_links, |fd, file_name, kind| {
        let seen = kind.and_then(|k| observe(fd, file_name, k, obs, opts).map_err(io_err));
        if let Err(e) = seen {
            obs.errors
                .push(PathError::io(&path.join(OsStr::from_bytes(file_name.to_bytes())), &e));
        }
    });
    if let Err(e) = listed {
        obs.errors.push(PathError::io(path, &e));
    }
}

/// The entry's kind: the folder's `d_type`, a stat only where it cannot
/// tell (a link to follow, a file system without `d_type`).
fn kind(fd: &OwnedFd, name: &CStr, ft: FileType, follow: bool) -> rustix::io::Result<Kind> {
    let ft = match ft {
        FileType::Unknown => FileType::from_raw_mode(statat(fd, name, AtFlags::SYMLINK_NOFOLLOW)?.st_mode),
        ft => ft,
    };
    Ok(match ft {
        FileType::Symlink if !follow => Kind::SkippedLink,
        FileType::Symlink => {
            let st = statat(fd, name, AtFlags::empty())?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => Kind::Dir,
                _ => Kind::File(Some(u64::try_from(st.st_size).unwrap_or(0))),
            }
        }
        FileType::Directory => Kind::Dir,
        _ => Kind::File(None),
    })
}

fn observe(fd: &OwnedFd, c_name: &CStr, kind: Kind, obs: &mut FolderObs, opts: &ScanOptions) -> rustix::io::Result<()> {
    let file_name = OsStr::from_bytes(c_name.to_bytes());
    let size_known = match kind {
        Kind::SkippedLink => {
            obs.skipped_links += 1;
            return Ok(());
        }
        Kind::Dir => {
            obs.others.push(format!("{}/", escape_os(file_name)));
            return Ok(());
        }
        Kind::File(size) => size,
    };
    let Some(text) = file_name.to_str() else {
        obs.others.push(escape_os(file_name));
        return Ok(());
    };
    let seg = match classify(text, &opts.exts) {
        NameKind::Segment(seg) => seg,
        NameKind::InFlight => {
            obs.in_flight += 1;
            return Ok(());
        }
        NameKind::Other => {
            obs.others.push(escape_os(file_name));
            return Ok(());
        }
    };
    let size = match (opts.check_size, size_known) {
        (false, _) => None,
        (true, Some(s)) => Some(s),
        (true, None) => Some(u64::try_from(statat(fd, c_name, AtFlags::SYMLINK_NOFOLLOW)?.st_size).unwrap_or(0)),
    };
    let foreign_id = (seg.student != obs.id).then(|| seg.student.to_string());
    obs.push_segment(text, seg.seq, seg.time, size, foreign_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn opts(follow: bool) -> ScanOptions {
        ScanOptions {
            exts: vec!["mp4".into()],
            follow_links: follow,
            check_size: true,
        }
    }

    #[test]
    fn every_kind_of_entry_and_a_folder_larger_than_the_buffer() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("test_00001");
        std::fs::create_dir(&f).unwrap();
        // 1,500 segments with long names: several getdents calls of 32 KiB.
        for seq in 1..=1500u32 {
            let name = format!("test_00001_20251123_180000_seq_{seq:04}.mp4");
            std::fs::write(f.join(name), vec![1u8; (seq % 3) as usize]).unwrap();
        }
        std::fs::write(f.join("test_00001_20251123_180000_seq_9999.mp4.123.part"), "x").unwrap();
        std::fs::write(f.join("notes.txt"), "x").unwrap();
        std::fs::write(f.join("test_00002_20251123_180000_seq_0001.mp4"), "xx").unwrap();
        std::fs::create_dir(f.join("sub")).unwrap();
        std::fs::write(f.join(OsStr::from_bytes(b"bad\xffname.mp4")), "x").unwrap();
        std::os::unix::fs::symlink(f.join("notes.txt"), f.join("test_00001_20251123_180000_seq_5000.mp4")).unwrap();
        let obs = read_folder(None, OsStr::new("test_00001"), &f, &opts(false));
        assert!(obs.errors.is_empty(), "{:?}", obs.errors);
        assert_eq!(obs.segments.len(), 1501, "1,500 own segments and one foreign");
        assert_eq!(obs.segments.iter().filter(|s| s.foreign_id.is_some()).count(), 1);
        assert_eq!(obs.in_flight, 1);
        assert_eq!(obs.skipped_links, 1);
        let mut others = obs.others.clone();
        others.sort();
        assert_eq!(others, ["bad\\xFFname.mp4", "notes.txt", "sub/"]);
        let s7 = obs.segments.iter().find(|s| s.seq == Some(7)).unwrap();
        assert_eq!(s7.size, Some(1), "sizes are the files' own");
        // Following links: the link is a segment with its target's size.
        let followed = read_folder(None, OsStr::new("test_00001"), &f, &opts(true));
        assert_eq!((followed.segments.len(), followed.skipped_links), (1502, 0));
        let link = followed.segments.iter().find(|s| s.seq == Some(5000)).unwrap();
        assert_eq!(link.size, Some(1));
        // A folder that is gone is an error entry, not a panic.
        let gone = read_folder(None, OsStr::new("x"), &d.path().join("gone"), &opts(false));
        assert_eq!(gone.errors.len(), 1);
    }
}
