//! What one ledger record costs: N upload records built as a student builds
//! them and written by the ledger thread. Prints CPU-seconds per record
//! (user + sys of this process, from /proc/self/stat).
//! `cargo run --release -p loadgen --example ledgercost -- FILE [N]`

use loadgen::ledger::{Ledger, Record, Target};

fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map_or("/tmp/ledgercost.ndjson", String::as_str);
    let n: u64 = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let t0 = cpu_ticks();
    // A fresh file each time: a ledger is never overwritten.
    let _ = std::fs::remove_file(path);
    let l = Ledger::open(
        &Target {
            path: path.into(),
            append: false,
        },
        Record::Run {
            v: loadgen::ledger::VERSION,
            tool: "ledgercost".into(),
            host: "http://h".into(),
            scenario: "built-in".into(),
            task: Some("recording".into()),
            started_unix_ms: 0,
        },
    )?;
    let sink = l.sink();
    let student = "test_00001".to_string();
    for i in 0..n {
        let seq = i % 240 + 1;
        let mut answer = std::collections::BTreeMap::new();
        answer.insert(
            "filename".to_string(),
            serde_json::json!(format!("test_00001_20261130_101010_seq_{seq:04}.mp4")),
        );
        answer.insert("size".to_string(), serde_json::json!(4096));
        sink.record(Record::Upload {
            student: student.clone(),
            seq: Some(seq),
            attempt: 1,
            planned_ms: i * 1000,
            start_ms: i * 1000 + 1,
            end_ms: i * 1000 + 9,
            bytes_sent: 4901,
            recorded_ms: None,
            file: Some(format!("recording_{seq}.mp4")),
            file_size: 4096,
            exam: Some("7".into()),
            status: Some(200),
            failure: None,
            answer,
        });
    }
    drop(sink);
    l.finish().map_err(anyhow::Error::msg)?;
    let secs = (cpu_ticks() - t0) as f64 / 100.0;
    println!("{n} records: {secs:.2} CPU-s, {:.2} us each", secs * 1e6 / n as f64);
    Ok(())
}
