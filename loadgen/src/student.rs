//! One virtual student: log in (with backoff), upload a segment every
//! interval with seq 1, 2, 3 … (a failed upload is retried with the same seq;
//! a seq is never skipped silently), then finish. Every outcome goes to the
//! collector as an event.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::http::Client;
use crate::payload::Payload;
use crate::requests::{self, Prepared};
use crate::scenario::{Scenario, Vars};
use crate::stats::{Event, FailKind, Sample};

/// Request kinds, in the collector's order.
pub const LOGIN: usize = 0;
pub const UPLOAD: usize = 1;
pub const FINISH: usize = 2;

/// Seqs not to upload, to prove the audit finds exactly those holes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipRule {
    /// These seqs, for every student.
    pub seqs: BTreeSet<u64>,
    /// Every k-th seq (k, 2k, …).
    pub every: Option<u64>,
}

impl SkipRule {
    /// True when `seq` is to be skipped.
    pub fn skips(&self, seq: u64) -> bool {
        self.seqs.contains(&seq) || self.every.is_some_and(|k| k > 0 && seq.is_multiple_of(k))
    }
}

/// What every student does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Time between uploads.
    pub interval: Duration,
    /// Stop after this many seqs (none: until the run stops).
    pub segments: Option<u64>,
    /// Retries of one upload (same seq) before giving it up.
    pub retries: u32,
    /// Retries of the login before giving up.
    pub login_retries: u32,
    /// First backoff; doubles per retry.
    pub backoff: Duration,
    /// Seqs to skip on purpose.
    pub skip: SkipRule,
    /// Upload without the seq field (the seed's "some files without seq_NNNN").
    pub no_seq: bool,
}

/// Shared by every student task.
#[derive(Debug)]
pub struct Ctx {
    pub client: Client,
    pub scenario: Scenario,
    pub payload: Payload,
    pub plan: Plan,
    pub events: mpsc::UnboundedSender<Event>,
    /// When the run started (sample timestamps count from here).
    pub start: Instant,
}

impl Ctx {
    fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    /// Sends one request and reports it; returns the answer body on success.
    async fn exchange(&self, endpoint: usize, p: Prepared) -> Result<bytes::Bytes, FailKind> {
        let sent = p.body.len();
        let t0 = Instant::now();
        let result = self.client.send(&p.method, &p.path, &p.headers, p.body).await;
        let done = Instant::now();
        let (failure, received, body) = match result {
            Ok(a) if (200..300).contains(&a.status) => (None, a.body.len() as u64, Some(a.body)),
            Ok(a) => (Some(FailKind::Http(a.status)), a.body.len() as u64, None),
            Err(k) => (Some(k), 0, None),
        };
        self.emit(Event::Sample(Sample {
            endpoint,
            at_ms: (done - self.start).as_millis() as u64,
            latency_us: (done - t0).as_micros() as u64,
            failure,
            sent,
            received,
        }));
        body.ok_or_else(|| failure.unwrap_or(FailKind::Protocol))
    }
}

/// Sleeps until `at`, or returns false at once when `stop` turns true.
async fn sleep_until(stop: &watch::Receiver<bool>, at: Instant) -> bool {
    let mut stop = stop.clone();
    if *stop.borrow() {
        return false;
    }
    let woke = tokio::select! {
        _ = tokio::time::sleep_until(at) => true,
        _ = stop.wait_for(|s| *s) => false,
    };
    woke && !*stop.borrow()
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    (base * 2u32.saturating_pow(attempt.min(16))).min(Duration::from_secs(30))
}

/// Finds the token in a login answer by JSON pointer (`/token`).
fn token(body: &[u8], pointer: &str) -> Option<String> {
    if pointer.is_empty() {
        return Some(String::new());
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match v.pointer(pointer)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Runs one student to its end; `stop` ends it early (uploads in flight still
/// finish, then it calls finish). `seed` varies segment sizes between students.
pub async fn run(ctx: Arc<Ctx>, id: String, seed: u64, stop: watch::Receiver<bool>) {
    ctx.emit(Event::Spawned);
    let exam = ctx.scenario.exam_id.clone();

    // Log in.
    let mut tok = None;
    for attempt in 0..=ctx.plan.login_retries {
        let v = Vars {
            student_id: &id,
            exam_id: &exam,
            seq: None,
            token: "",
        };
        let got = ctx.exchange(LOGIN, requests::call(&ctx.scenario.login, &v)).await;
        if let Ok(body) = got {
            match token(&body, &ctx.scenario.login.token) {
                Some(t) => {
                    tok = Some(t);
                    break;
                }
                None => ctx.emit(Event::Sample(Sample {
                    endpoint: LOGIN,
                    at_ms: (Instant::now() - ctx.start).as_millis() as u64,
                    latency_us: 0,
                    failure: Some(FailKind::Protocol),
                    sent: 0,
                    received: 0,
                })),
            }
        }
        if attempt == ctx.plan.login_retries
            || !sleep_until(&stop, Instant::now() + backoff(ctx.plan.backoff, attempt)).await
        {
            break;
        }
    }
    let Some(tok) = tok else {
        ctx.emit(Event::LoginGaveUp { student: id.clone() });
        ctx.emit(Event::Ended);
        return;
    };
    ctx.emit(Event::LoggedIn);

    // Upload, paced against the plan, never against the last upload's end.
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = Instant::now() + ctx.plan.interval;
    let mut seq = 1u64;
    while ctx.plan.segments.is_none_or(|n| seq <= n) && sleep_until(&stop, next).await {
        let late = Instant::now().saturating_duration_since(next);
        if ctx.plan.skip.skips(seq) {
            ctx.emit(Event::SeqSkipped {
                student: id.clone(),
                seq,
            });
        } else {
            ctx.emit(Event::Lateness {
                us: late.as_micros() as u64,
            });
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let sent_seq = (!ctx.plan.no_seq).then_some(seq);
            let mut ok = false;
            for attempt in 0..=ctx.plan.retries {
                let v = Vars {
                    student_id: &id,
                    exam_id: &exam,
                    seq: sent_seq,
                    token: &tok,
                };
                let p = requests::upload(&ctx.scenario.upload, &v, ctx.payload.segment(rng));
                if ctx.exchange(UPLOAD, p).await.is_ok() {
                    ok = true;
                    break;
                }
                if attempt == ctx.plan.retries
                    || !sleep_until(&stop, Instant::now() + backoff(ctx.plan.backoff, attempt)).await
                {
                    break;
                }
            }
            ctx.emit(if ok {
                Event::Uploaded
            } else {
                Event::SeqGaveUp {
                    student: id.clone(),
                    seq,
                }
            });
        }
        seq += 1;
        next += ctx.plan.interval;
    }

    // Finish, also when the run is stopping: the server must merge what it has.
    if let Some(finish) = &ctx.scenario.finish {
        let mut ok = false;
        for attempt in 0..=ctx.plan.retries.min(2) {
            let v = Vars {
                student_id: &id,
                exam_id: &exam,
                seq: None,
                token: &tok,
            };
            if ctx.exchange(FINISH, requests::call(finish, &v)).await.is_ok() {
                ok = true;
                break;
            }
            if attempt < 2 && !*stop.borrow() {
                tokio::time::sleep(backoff(ctx.plan.backoff, attempt)).await;
            }
        }
        ctx.emit(Event::Finished { ok });
    }
    ctx.emit(Event::Ended);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_rules() {
        let r = SkipRule {
            seqs: [3].into(),
            every: Some(5),
        };
        let skipped: Vec<u64> = (1..=12).filter(|s| r.skips(*s)).collect();
        assert_eq!(skipped, [3, 5, 10]);
        assert!(!SkipRule::default().skips(1));
    }

    #[test]
    fn tokens_by_pointer() {
        assert_eq!(token(br#"{"token":"abc","ok":true}"#, "/token").as_deref(), Some("abc"));
        assert_eq!(token(br#"{"data":{"t":5}}"#, "/data/t").as_deref(), Some("5"));
        assert_eq!(token(b"not json", "/token"), None);
        assert_eq!(token(b"whatever", "").as_deref(), Some(""));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_millis(500);
        assert_eq!(backoff(b, 0), b);
        assert_eq!(backoff(b, 2), Duration::from_secs(2));
        assert_eq!(backoff(b, 20), Duration::from_secs(30));
    }
}
