//! The kernel floor for `verify seq` on a recordings folder: list every
//! student folder and stat every file (as `verify seq` does, relative to the
//! open directory), on N threads, doing nothing else.
//! `cargo run --release -p verify --example scanfloor -- RECORDINGS [THREADS] [nostat]`

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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
                while let Some(d) = dirs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                        files.fetch_add(1, Ordering::Relaxed);
                        if stat {
                            bytes.fetch_add(e.metadata().map_or(0, |m| m.len()), Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    println!("{} files, {} bytes", files.into_inner(), bytes.into_inner());
    Ok(())
}
