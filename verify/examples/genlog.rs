//! `cargo run --release -p verify --example genlog -- FILE [LINES] [IDS] [TWICE]`
//! writes a gunicorn log of LINES lines (default 10,000,000, ~1.5 GB) in which
//! IDS students (default 500) log in once and TWICE of them (default 20) log in
//! a second time hours later from another client (relogins), among upload and
//! access lines that also carry student IDs. Deterministic.

use std::fs::File;
use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().expect("usage: genlog FILE [LINES] [IDS] [TWICE]");
    let num = |i: usize, d: u64| args.get(i).map_or(d, |s| s.parse().expect("a number"));
    let (lines, ids, twice) = (num(1, 10_000_000), num(2, 500), num(3, 20));
    let logins = ids + twice;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Logins spread evenly; the second logins of the first TWICE IDs follow at the end.
    let every = lines / logins;
    let mut login = 0u64;
    for i in 0..lines {
        let secs = i * 36_000 / lines; // ten hours of log
        let (h, m, s) = (8 + secs / 3600, secs / 60 % 60, secs % 60);
        let r = next();
        let sid = r % ids + 1;
        if i % every == every / 2 && login < logins {
            let id = if login < ids { login + 1 } else { login - ids + 1 };
            let ip = if login < ids { 1 } else { 2 };
            writeln!(
                out,
                "[2025-11-23 {h:02}:{m:02}:{s:02} +0800] [{}] [INFO] 登录成功 student_id=test_{id:05} exam_id=30 ip=127.0.0.{ip}",
                20_000 + r % 8
            )?;
            login += 1;
        } else if r % 3 == 0 {
            writeln!(
                out,
                "[2025-11-23 {h:02}:{m:02}:{s:02} +0800] [{}] [INFO] 上传成功 student_id=test_{sid:05} seq={} size={} file=test_{sid:05}_seq.mp4",
                20_000 + r % 8,
                r % 240,
                4_000_000 + r % 1_000_000
            )?;
        } else {
            writeln!(
                out,
                "127.0.0.1 - - [23/Nov/2025:{h:02}:{m:02}:{s:02} +0800] \"POST /api/upload?sid=test_{sid:05} HTTP/1.1\" 200 {} \"-\" \"loadgen/0.1 (student test_{sid:05})\"",
                60 + r % 40
            )?;
        }
    }
    out.flush()
}
