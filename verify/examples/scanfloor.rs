//! The kernel floor for `verify seq` on a recordings folder: list every
//! student folder with `getdents64` (32 KiB buffer) and `fstatat` every file
//! relative to the open folder (`AT_SYMLINK_NOFOLLOW`), on N threads taking
//! folders in batches, doing nothing else.
//! `cargo run --release -p verify --example scanfloor -- RECORDINGS [THREADS] [nostat]`

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rustix::fs::{AtFlags, CWD, Mode, OFlags, RawDir, openat, statat};

const BATCH: usize = 64;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = args.first().expect("usage: scanfloor RECORDINGS [THREADS] [nostat]");
    let threads: usize = args.get(1).map_or(2, |t| t.parse().expect("THREADS"));
    let stat = args.get(2).map(String::as_str) != Some("nostat");
    let dirs: Vec<_> = std::fs::read_dir(root)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    let (next, files, bytes) = (AtomicUsize::new(0), AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut buf: Vec<u8> = Vec::with_capacity(32 << 10);
                let (mut n, mut b) = (0u64, 0u64);
                loop {
                    let first = next.fetch_add(BATCH, Ordering::Relaxed);
                    let Some(batch) = dirs.get(first..(first + BATCH).min(dirs.len())) else {
                        break;
                    };
                    if batch.is_empty() {
                        break;
                    }
                    for d in batch {
                        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                        let Ok(fd) = openat(CWD, d, flags, Mode::empty()) else {
                            continue;
                        };
                        let mut dir = RawDir::new(&fd, buf.spare_capacity_mut());
                        while let Some(Ok(e)) = dir.next() {
                            let name = e.file_name();
                            if matches!(name.to_bytes(), b"." | b"..") {
                                continue;
                            }
                            n += 1;
                            if stat {
                                b += statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW).map_or(0, |s| s.st_size as u64);
                            }
                        }
                    }
                }
                files.fetch_add(n, Ordering::Relaxed);
                bytes.fetch_add(b, Ordering::Relaxed);
            });
        }
    });
    println!("{} files, {} bytes", files.into_inner(), bytes.into_inner());
    Ok(())
}
