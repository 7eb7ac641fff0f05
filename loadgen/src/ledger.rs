//! The client ledger (`--ledger FILE`): one JSON line per login, logout and
//! request of the sequenced task, and per seq given up or skipped and per
//! student that ended abnormally, for `verify gate --ledger` to hold against
//! the server's disk. One thread writes it while the run goes and flushes at
//! least every `FLUSH_EVERY`, so a killed run leaves a usable prefix; a run
//! that ends normally closes its section with an `end` record (a Locust
//! worker's, at the master's stop, with `run_end`: the worker stays).
//!
//! A ledger is evidence: an existing file is never truncated. It is refused,
//! or with `--ledger-append` a new run section follows its content.
//! A write error (a full disk) does not stop the run: the load is still
//! valid. It is said on stderr at once, the writer stops (the file keeps what
//! was written before), and the run's report carries it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use common::usage::UsageError;

/// Longest a record waits before it is written and flushed.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Longest first line read from an existing ledger to check it is one (a
/// `run` record is a few hundred bytes).
const OPENING_CAP: u64 = 64 << 10;

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

/// What the writer thread is sent: a record, or the section's close (the
/// record that closes it, made from the section's line count).
type Msg = Result<Record, fn(u64) -> Record>;

/// Where students send records; cheap to clone.
#[derive(Debug, Clone)]
pub struct Sink {
    tx: mpsc::Sender<Msg>,
    /// When the section started (`started_unix_ms`): its records' times count from here.
    start: tokio::time::Instant,
}

impl Sink {
    pub fn record(&self, r: Record) {
        // After a write error the writer is gone: records are dropped, not queued.
        let _ = self.tx.send(Ok(r));
    }

    /// `at` in the section's milliseconds.
    pub fn millis(&self, at: tokio::time::Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }
}

/// The writer thread and its file.
#[derive(Debug)]
pub struct Ledger {
    sink: Sink,
    path: PathBuf,
    thread: JoinHandle<u64>,
    /// The first write error, set by the writer thread.
    failed: Arc<OnceLock<String>>,
}

/// `--ledger FILE` and whether `--ledger-append` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub append: bool,
}

impl Ledger {
    /// Opens the ledger (never truncating it) and writes `first` as its
    /// section's first line. Without `append` the file must not exist; with
    /// it, an existing file must be a regular file holding a ledger, and the
    /// new section starts on a line of its own.
    pub fn open(target: &Target, first: Record) -> anyhow::Result<Ledger> {
        let file = open_file(target)?;
        Ledger::start(file, &target.path, first).map_err(|e| anyhow::anyhow!("--ledger {}: {e}", target.path.display()))
    }

    fn start<W: Write + Send + 'static>(out: W, path: &Path, first: Record) -> io::Result<Ledger> {
        let (tx, rx) = mpsc::channel::<Msg>();
        tx.send(Ok(first)).map_err(io::Error::other)?;
        let failed = Arc::new(OnceLock::new());
        let shown = path.display().to_string();
        let slot = failed.clone();
        let thread = std::thread::Builder::new()
            .name("ledger".into())
            .spawn(move || match write_all(BufWriter::with_capacity(64 << 10, out), &rx) {
                Ok(n) => n,
                Err(e) => {
                    let msg = format!("write --ledger {shown}: {e}");
                    eprintln!(
                        "loadgen: {msg}; the ledger stops here (what was written stays), the run goes on, and it will exit 2"
                    );
                    let _ = slot.set(msg);
                    0
                }
            })?;
        Ok(Ledger {
            sink: Sink {
                tx,
                start: tokio::time::Instant::now(),
            },
            path: path.to_path_buf(),
            thread,
            failed,
        })
    }

    /// A sender for the students.
    pub fn sink(&self) -> Sink {
        self.sink.clone()
    }

    /// Writes the `end` record after everything sent so far, and closes the
    /// file (records sent later are dropped). Returns the records written, or
    /// the first write error of the whole run.
    pub fn finish(self) -> Result<u64, String> {
        self.close(|records| Record::End { records })
    }

    /// As [`Ledger::finish`], closing the section with `run_end`: a Locust
    /// run stopped by the master, the worker staying for the next one.
    pub fn finish_run(self) -> Result<u64, String> {
        self.close(|records| Record::RunEnd { records })
    }

    fn close(self, last: fn(u64) -> Record) -> Result<u64, String> {
        let Ledger {
            sink,
            path,
            thread,
            failed,
        } = self;
        let _ = sink.tx.send(Err(last));
        drop(sink);
        let n = thread
            .join()
            .map_err(|_| format!("--ledger {}: the writer thread panicked", path.display()))?;
        match failed.get() {
            Some(e) => Err(e.clone()),
            None => Ok(n),
        }
    }
}

fn open_file(target: &Target) -> anyhow::Result<File> {
    let path = &target.path;
    let shown = path.display();
    if !target.append {
        return OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| match e.kind() {
                io::ErrorKind::AlreadyExists => UsageError(format!(
                    "--ledger {shown} exists, and a ledger is never overwritten: give --ledger-append to add this run to it, or another file name"
                ))
                .into(),
                _ => anyhow::anyhow!("--ledger {shown}: {e}"),
            });
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("--ledger {shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| anyhow::anyhow!("--ledger {shown}: {e}"))?;
    if !meta.is_file() {
        anyhow::bail!(UsageError(format!("--ledger {shown}: not a regular file")));
    }
    if meta.len() == 0 {
        return Ok(file);
    }
    let mut first = Vec::new();
    BufReader::new((&mut file).take(OPENING_CAP))
        .read_until(b'\n', &mut first)
        .map_err(|e| anyhow::anyhow!("--ledger {shown}: {e}"))?;
    let line = first.strip_suffix(b"\n").unwrap_or(&first);
    common::ledger::check_opening(&common::ledger::decode(line))
        .map_err(|why| UsageError(format!("--ledger-append {shown}: {why}; not appending to it")))?;
    // A killed run may have left half a line: the new section starts on its own.
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(|e| anyhow::anyhow!("--ledger {shown}: {e}"))?;
    if last[0] != b'\n' {
        file.write_all(b"\n")
            .map_err(|e| anyhow::anyhow!("--ledger {shown}: {e}"))?;
    }
    Ok(file)
}

/// Writes records until told to close (or every sender is gone), then the
/// closing record (`end` when no close said otherwise). It wakes on a clock, not per record: a sender then only
/// queues (no thread wake-up per upload), and the file is written in batches.
/// Returns at the first error (the receiver then goes, so senders stop queueing).
fn write_all<W: Write>(mut out: W, rx: &mpsc::Receiver<Msg>) -> io::Result<u64> {
    let mut n = 0u64;
    let mut last: fn(u64) -> Record = |records| Record::End { records };
    loop {
        std::thread::sleep(FLUSH_EVERY);
        let mut closed = false;
        loop {
            match rx.try_recv() {
                Ok(Ok(r)) => {
                    r.write_line(&mut out)?;
                    n += 1;
                }
                Ok(Err(close)) => {
                    last = close;
                    closed = true;
                    break;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
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
    last(n).write_line(&mut out)?;
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests;
