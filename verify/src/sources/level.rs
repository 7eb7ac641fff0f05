//! Is `--dir` the level a recordings audit reads? `tree::detect` takes any
//! folder without an exam layout for a bare recordings folder; a batch audit
//! first checks that it holds student folders of segments, and otherwise
//! refuses it saying what it looked for and where a layout is (a student's
//! own folder, `logs/`, one level above `server_data`). Bounded: at most
//! `LOOK` entries of the folder and of each child are read.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use common::text::escape_os;

/// Entries read per folder while looking.
const LOOK: usize = 2000;
/// Subfolders named in the message.
const NAMED: usize = 5;

/// Why `root` (shown as `shown`) is no recordings folder, or `None` when it
/// holds a student folder of segments.
pub fn wrong_level(root: &Path, shown: &str, exts: &[String], follow: bool) -> Option<String> {
    let name = root.file_name().map(escape_os).unwrap_or_default();
    let entries = read(root);
    if entries.iter().any(|(n, dir)| !dir && is_segment(n, exts)) {
        let up = root
            .parent()
            .filter(|p| p.file_name() == Some(OsStr::new("recordings")));
        let exam = up.and_then(Path::parent).or(root.parent());
        let exam_shown = Path::new(shown)
            .parent()
            .filter(|p| up.is_some() && p.file_name() == Some(OsStr::new("recordings")))
            .and_then(Path::parent)
            .or_else(|| Path::new(shown).parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || exam.map(|e| escape_os(e.as_os_str())).unwrap_or_default(),
                |p| escape_os(p.as_os_str()),
            );
        return Some(format!(
            "--dir {shown} is one student's folder ({name}: it holds segment files): give its exam folder, --dir {exam_shown}"
        ));
    }
    let mut layouts = Vec::new();
    let mut dirs = Vec::new();
    for (child, _) in entries.iter().filter(|(_, dir)| *dir) {
        let path = root.join(child);
        if !follow && fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        let inner = read(&path);
        if inner.iter().any(|(n, dir)| !dir && is_segment(n, exts)) {
            return None; // a student folder: `root` is a recordings folder
        }
        let exams = inner
            .iter()
            .filter(|(n, dir)| *dir && path.join(n).join("recordings").is_dir())
            .count();
        if exams > 0 {
            layouts.push(format!(
                "{}/ is inside ({exams} exam folder(s)): did you mean --dir {}?",
                escape_os(child),
                join(shown, child)
            ));
        }
        dirs.push(format!("{}/", escape_os(child)));
    }
    let looked = format!(
        "looked for {shown}/recordings/<student>/ (an exam folder), {shown}/<exam>/recordings/ (a server_data) and student folders of <student>_<YYYYMMDD>_<HHMMSS>_seq_<N>.mp4 files in {shown} (a recordings folder)"
    );
    let holds = match dirs.len() {
        0 => "it holds no folder".to_string(),
        n if n > NAMED => format!(
            "it holds {}, … ({n} folders)",
            dirs.get(..NAMED).unwrap_or_default().join(", ")
        ),
        _ => format!("it holds {}", dirs.join(", ")),
    };
    Some(match layouts.first() {
        Some(hint) => format!("--dir {shown} has no recordings layout: {hint} ({looked})"),
        None => format!("--dir {shown} has no recordings layout: {looked}; {holds}"),
    })
}

/// `shown/child`, as typed.
fn join(shown: &str, child: &OsStr) -> String {
    let base = shown.trim_end_matches('/');
    let c = escape_os(child);
    if base.is_empty() || base == "." {
        c
    } else {
        format!("{base}/{c}")
    }
}

fn is_segment(name: &OsStr, exts: &[String]) -> bool {
    name.to_str().is_some_and(|n| crate::segment::parse(n, exts).is_some())
}

/// Up to `LOOK` entries: (name, is a folder). Unreadable: none.
fn read(dir: &Path) -> Vec<(std::ffi::OsString, bool)> {
    let Ok(rd) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(std::ffi::OsString, bool)> = rd
        .take(LOOK)
        .filter_map(Result::ok)
        .map(|e| {
            let dir = e.file_type().is_ok_and(|t| t.is_dir())
                || (e.file_type().is_ok_and(|t| t.is_symlink()) && e.path().is_dir());
            (e.file_name(), dir)
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exts() -> Vec<String> {
        vec!["mp4".into()]
    }

    #[test]
    fn student_folders_logs_and_the_level_above_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let student = root.join("server_data/31/recordings/test_00001");
        fs::create_dir_all(&student).unwrap();
        fs::write(student.join("test_00001_20251123_180001_seq_0001.mp4"), b"x").unwrap();
        fs::create_dir_all(root.join("logs")).unwrap();
        fs::write(root.join("logs/gunicorn_access.log"), b"x").unwrap();
        let shown = |p: &Path| p.display().to_string();
        let sd = root.join("server_data");
        let above = wrong_level(root, &shown(root), &exts(), false).unwrap();
        assert!(
            above.contains("server_data/ is inside") && above.contains(&format!("--dir {}", shown(&sd))),
            "{above}"
        );
        let logs = wrong_level(&root.join("logs"), "logs", &exts(), false).unwrap();
        assert!(
            logs.contains("no recordings layout") && logs.contains("it holds no folder"),
            "{logs}"
        );
        let one = wrong_level(&student, "server_data/31/recordings/test_00001", &exts(), false).unwrap();
        assert!(
            one.contains("one student's folder (test_00001") && one.ends_with("--dir server_data/31"),
            "{one}"
        );
        assert_eq!(wrong_level(&sd.join("31/recordings"), "r", &exts(), false), None);
    }
}
