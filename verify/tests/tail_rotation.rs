//! The follower under load: a writer thread appends numbered lines at a steady
//! rate and rotates the log 100 times in each of the three ways while the
//! reader polls; every line must be seen exactly once, in order.
//!
//! copytruncate loses by nature what is written between the copy and the
//! truncation unless the reader has read it; the writer here truncates only
//! once the reader has caught up (as a slow rotation would), which is the
//! guarantee the README states.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use verify::sources::tail::Follower;

#[derive(Clone, Copy, Debug)]
enum Rotation {
    Rename,
    CopyTruncate,
    DeleteRecreate,
}

fn append(p: &Path, line: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
}

fn run(kind: Rotation) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gunicorn_access.log");
    append(&log, "");
    let (seen, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let total_written = Arc::new(AtomicU64::new(u64::MAX));
    const ROTATIONS: u64 = 100;
    const PER_ROTATION: u64 = 20;
    let mut f = Follower::new(&log, true, Duration::from_secs(2));
    let writer = {
        let (log, seen, done, dir, total) = (
            log.clone(),
            seen.clone(),
            done.clone(),
            dir.path().to_path_buf(),
            total_written.clone(),
        );
        std::thread::spawn(move || {
            let mut n = 0u64;
            for r in 0..ROTATIONS {
                for _ in 0..PER_ROTATION {
                    append(
                        &log,
                        &format!("[2025-11-23 18:00:00 +0800] [1] [INFO] 登录成功 student_id=test_{n:05} line {n}\n"),
                    );
                    n += 1;
                }
                // Rotations are far apart in life: the reader is current before each.
                while seen.load(Ordering::SeqCst) < n {
                    std::thread::sleep(Duration::from_micros(200));
                }
                match kind {
                    Rotation::Rename => {
                        // Some gunicorn workers keep writing to the renamed file after USR1.
                        let mut late = OpenOptions::new().append(true).open(&log).unwrap();
                        fs::rename(&log, dir.join(format!("gunicorn_access.log.{r}"))).unwrap();
                        for _ in 0..3 {
                            late.write_all(format!("late write to the renamed file, line {n}\n").as_bytes())
                                .unwrap();
                            n += 1;
                        }
                        append(&log, "");
                    }
                    Rotation::DeleteRecreate => {
                        fs::remove_file(&log).unwrap();
                        append(&log, "");
                    }
                    Rotation::CopyTruncate => {
                        fs::copy(&log, dir.join("gunicorn_access.log.1")).unwrap();
                        OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
                    }
                }
            }
            total.store(n, Ordering::SeqCst);
            done.store(true, Ordering::SeqCst);
            n
        })
    };
    let mut got: Vec<u64> = Vec::new();
    loop {
        let finished = done.load(Ordering::SeqCst);
        for line in f.poll().unwrap() {
            let text = String::from_utf8(line).unwrap();
            got.push(text.rsplit(' ').next().unwrap().parse().unwrap());
        }
        seen.store(got.len() as u64, Ordering::SeqCst);
        if finished && got.len() as u64 >= total_written.load(Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let total = writer.join().unwrap();
    assert_eq!(got.len() as u64, total);
    assert_eq!(
        got,
        (0..total).collect::<Vec<_>>(),
        "{kind:?}: every line once, in order"
    );
    match kind {
        Rotation::CopyTruncate => assert_eq!(f.truncations, ROTATIONS),
        _ => assert!(f.rotations >= ROTATIONS - 1, "{kind:?}: {} rotations seen", f.rotations),
    }
}

#[test]
fn rename_rotation_100_times() {
    run(Rotation::Rename);
}

#[test]
fn copytruncate_100_times() {
    run(Rotation::CopyTruncate);
}

#[test]
fn delete_and_recreate_100_times() {
    run(Rotation::DeleteRecreate);
}
