//! The client ledger (`--ledger FILE`): one JSON line per login, logout and
//! request of the sequenced task, and per seq given up or skipped and per
//! student that ended abnormally, for `verify gate --ledger` to hold against
//! the server's disk. One thread writes it while the run goes and flushes at
//! least every `FLUSH_EVERY`, so a killed run leaves a usable prefix; a run
//! that ends normally closes it with an `end` record.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest a record waits before it is written and flushed.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

pub use common::ledger::{Record, VERSION};

/// How a request ended, as the ledger says it (the fields every request
/// record carries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answered {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// `None` when the request succeeded, else its failure kind (`http 500`, `timeout`, …).
    pub failure: Option<String>,
    /// The answer's fields the scenario names (`ledger = { filename = "/filename" }`).
    pub answer: BTreeMap<String, serde_json::Value>,
}

/// Where students send records; cheap to clone.
#[derive(Debug, Clone)]
pub struct Sink(mpsc::Sender<Option<Record>>);

impl Sink {
    pub fn record(&self, r: Record) {
        let _ = self.0.send(Some(r));
    }
}

/// The writer thread and its file.
#[derive(Debug)]
pub struct Ledger {
    sink: Sink,
    path: PathBuf,
    thread: JoinHandle<io::Result<u64>>,
}

impl Ledger {
    /// Creates (or truncates) `path` and writes `first` as its first line.
    pub fn create(path: &Path, first: Record) -> io::Result<Ledger> {
        let file = File::create(path)?;
        let (tx, rx) = mpsc::channel::<Option<Record>>();
        tx.send(Some(first)).map_err(io::Error::other)?;
        let thread = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || write_all(BufWriter::with_capacity(64 << 10, file), rx))?;
        Ok(Ledger {
            sink: Sink(tx),
            path: path.to_path_buf(),
            thread,
        })
    }

    /// A sender for the students.
    pub fn sink(&self) -> Sink {
        self.sink.clone()
    }

    /// Writes the `end` record after everything sent so far, and closes the
    /// file (records sent later are dropped). Returns the records written.
    pub fn finish(self) -> anyhow::Result<u64> {
        let Ledger { sink, path, thread } = self;
        let _ = sink.0.send(None);
        let n = thread
            .join()
            .map_err(|_| anyhow::anyhow!("--ledger {}: the writer thread panicked", path.display()))?
            .map_err(|e| anyhow::anyhow!("write --ledger {}: {e}", path.display()))?;
        Ok(n)
    }
}

/// Writes records until told to close (or every sender is gone), then the
/// `end` record. It wakes on a clock, not per record: a sender then only
/// queues (no thread wake-up per upload), and the file is written in batches.
fn write_all<W: Write>(mut out: W, rx: mpsc::Receiver<Option<Record>>) -> io::Result<u64> {
    let mut n = 0u64;
    loop {
        std::thread::sleep(FLUSH_EVERY);
        let mut closed = false;
        loop {
            match rx.try_recv() {
                Ok(Some(r)) => {
                    line(&mut out, &r)?;
                    n += 1;
                }
                Ok(None) | Err(mpsc::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
                Err(mpsc::TryRecvError::Empty) => break,
            }
        }
        out.flush()?;
        if closed {
            break;
        }
    }
    n += 1;
    line(&mut out, &Record::End { records: n })?;
    out.flush()?;
    Ok(n)
}

fn line<W: Write>(out: &mut W, r: &Record) -> io::Result<()> {
    r.write_line(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_one_json_line_each_and_the_file_ends_with_end() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.ndjson");
        let l = Ledger::create(
            &p,
            Record::Run {
                v: VERSION,
                tool: "loadgen".into(),
                host: "http://h".into(),
                scenario: "built-in".into(),
                task: Some("recording".into()),
                started_unix_ms: 1,
            },
        )
        .unwrap();
        let s = l.sink();
        s.record(Record::Upload {
            student: "test_00001".into(),
            seq: Some(3),
            attempt: 1,
            planned_ms: 30_000,
            start_ms: 30_001,
            end_ms: 30_090,
            bytes_sent: 1200,
            file: Some("recording_3.mp4".into()),
            file_size: 1000,
            exam: None,
            status: Some(200),
            failure: None,
            answer: [("filename".to_string(), serde_json::json!("x.mp4"))].into(),
        });
        drop(s);
        assert_eq!(l.finish().unwrap(), 3);
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["kind"], "run");
        assert_eq!(lines[1]["kind"], "upload");
        assert_eq!(lines[1]["status"], 200);
        assert_eq!(lines[1]["failure"], serde_json::Value::Null);
        assert_eq!(lines[1]["answer"]["filename"], "x.mp4");
        assert_eq!(lines[2], serde_json::json!({"kind": "end", "records": 3}));
    }
}
