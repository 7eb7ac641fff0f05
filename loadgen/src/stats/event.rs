//! What student tasks report.

use std::fmt;
use std::sync::Arc;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailKind {
    /// The server answered with a non-2xx status.
    Http(u16),
    /// No answer within `--timeout`.
    Timeout,
    /// The connection could not be opened.
    Connect,
    /// The TLS handshake failed (certificate not trusted, wrong name, no TLS there).
    Tls,
    /// The connection was reset or closed mid-request.
    Reset,
    /// The request could not be built or the answer could not be used.
    Protocol,
    /// The answer failed a scenario check: the JSON pointer that failed.
    Check(Arc<str>),
    /// A value to capture was missing from the answer: its name.
    Capture(Arc<str>),
    /// The answer was longer than `--max-answer-size` (the cap, in bytes), and
    /// the request reads JSON from it.
    TooLarge(u64),
}

impl fmt::Display for FailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailKind::Http(s) => write!(f, "http {s}"),
            FailKind::Timeout => f.write_str("timeout"),
            FailKind::Connect => f.write_str("connect"),
            FailKind::Tls => f.write_str("tls"),
            FailKind::Reset => f.write_str("reset"),
            FailKind::Protocol => f.write_str("protocol"),
            FailKind::Check(ptr) => write!(f, "check {ptr}"),
            FailKind::Capture(name) => write!(f, "capture {name} missing"),
            FailKind::TooLarge(cap) => write!(
                f,
                "answer too large (over {}, --max-answer-size)",
                crate::files::human(*cap)
            ),
        }
    }
}

/// One request's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Index of the request kind: login, then each task, then logout.
    pub endpoint: usize,
    /// When it completed, in milliseconds since the run started.
    pub at_ms: u64,
    /// From sending to the whole answer read, in microseconds.
    pub latency_us: u64,
    /// `None` on success.
    pub failure: Option<FailKind>,
    /// Request bytes (body) sent.
    pub sent: u64,
    /// Response body bytes received.
    pub received: u64,
}

/// Everything the collector hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request finished.
    Sample(Sample),
    /// A failed request's answer (its start, `answer::head`): the server's
    /// own words, kept once per request kind and failure kind.
    FailedAnswer {
        endpoint: usize,
        kind: FailKind,
        head: Arc<str>,
    },
    /// A task's run started `us` microseconds after its planned time.
    Lateness { task: usize, us: u64 },
    /// A new connection's TLS handshake took `us` microseconds.
    TlsHandshake { us: u64 },
    /// A student task started.
    Spawned,
    /// A student logged in.
    LoggedIn,
    /// A student gave up logging in after its retries.
    LoginGaveUp { student: String },
    /// A student gave up a seq after its retries: a hole the server will show.
    SeqGaveUp { student: String, seq: u64 },
    /// A seq deliberately not uploaded (`--skip-seq`, `--skip-every`).
    SeqSkipped { student: String, seq: u64 },
    /// A queued task recorded a segment (it joins the student's queue).
    Queued,
    /// A segment left its queue (uploaded, given up or lost at exit).
    Unqueued,
    /// A student's queue at a flush: its depth and its oldest segment's age.
    QueueSeen { depth: u64, oldest_ms: u64 },
    /// A seq still queued after the exit passes: never uploaded.
    LostAtExit { student: String, seq: u64 },
    /// `--restart-students`: the client restarted, losing these queued seqs.
    Restarted { student: String, lost: Vec<u64> },
    /// `--kill-students`: the client was killed, losing these queued seqs.
    Killed { student: String, lost: Vec<u64> },
    /// A seq of the sequenced task was uploaded.
    Uploaded { student: String, seq: u64 },
    /// A student task ended without finishing its work (panicked, or
    /// abandoned after `--stop-timeout`): it fails the run.
    EndedAbnormally { student: String, why: String },
    /// A student logged out (its logout call answered, or failed for good).
    Finished { ok: bool },
    /// A student task ended.
    Ended,
}
