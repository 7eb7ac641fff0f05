//! One virtual student: log in (with backoff, captures from the answer), then
//! run every task of the scenario side by side, each paced against its own
//! plan (the sequenced one carries seq 1, 2, 3 …, retried with the same seq,
//! never skipped silently), then log out. Every outcome goes to the collector
//! as an event.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Local};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::answer;
use crate::http::Client;
use crate::ledger::{self, Record};
use crate::payload::Payload;
use crate::requests;
use crate::scenario::{Captured, Request, Scenario, Values};
use crate::stats::{Event, FailKind, Sample};

/// Statistics index of the login.
pub const LOGIN: usize = 0;

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

/// What every student does beside the scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stop after this many seqs of the sequenced task (none: until the run stops).
    pub segments: Option<u64>,
    /// Retries of one sequenced upload (same seq) before giving it up.
    pub retries: u32,
    /// Retries of the login before giving up.
    pub login_retries: u32,
    /// First backoff; doubles per retry.
    pub backoff: Duration,
    /// Seqs to skip on purpose.
    pub skip: SkipRule,
    /// Send the sequenced task without its seq field.
    pub no_seq: bool,
    /// `--restart-students SHARE@TIME`.
    pub restart: Option<fault::Fault>,
    /// `--kill-students SHARE@TIME`.
    pub kill: Option<fault::Fault>,
}

/// Shared by every student task.
#[derive(Debug)]
pub struct Ctx {
    pub client: Client,
    pub scenario: Scenario,
    /// The file part's content per task (empty for tasks without one).
    pub payloads: Vec<Option<Payload>>,
    pub plan: Plan,
    pub events: mpsc::UnboundedSender<Event>,
    /// When the run started (sample timestamps count from here) …
    pub start: Instant,
    /// … and the wall clock then, for `{timestamp}` and `{time:…}`.
    pub wall_start: DateTime<Local>,
    /// `--ledger`: where each login, logout and sequenced upload is recorded.
    pub ledger: Option<ledger::Sink>,
    /// One cookie jar per student (off with `--no-cookies`).
    pub cookies: bool,
}

/// One request as the ledger needs it.
struct Exchanged {
    result: Result<Vec<(usize, Captured)>, FailKind>,
    start_ms: u64,
    end_ms: u64,
    sent: u64,
    answered: ledger::Answered,
}

/// Who a student is.
#[derive(Debug, Clone)]
pub struct Student {
    pub id: String,
    /// Its number (`{n}`).
    pub n: u64,
    /// Varies sizes, jitter and probabilities between students.
    pub seed: u64,
    /// The exam it logged into, for the ledger (set at login).
    pub exam: Option<String>,
}

/// One attempt of a sequenced upload, as the ledger records it.
struct Attempt {
    seq: Option<u64>,
    attempt: u32,
    planned: Instant,
    /// A queued task's segment: when it was recorded (its `timestamp`).
    recorded: Option<Instant>,
    file_size: u64,
}

/// Records an upload attempt's exchange in the ledger; true when it succeeded.
fn record_upload(
    ctx: &Ctx,
    who: &Student,
    t: &crate::scenario::Task,
    v: &Values<'_>,
    x: Exchanged,
    a: Attempt,
) -> bool {
    let ok = x.result.is_ok();
    ctx.record(|| Record::Upload {
        student: who.id.clone(),
        seq: a.seq,
        attempt: a.attempt,
        planned_ms: ctx.ledger_millis(a.planned),
        start_ms: x.start_ms,
        end_ms: x.end_ms,
        bytes_sent: x.sent,
        recorded_ms: a.recorded.map(|r| ctx.ledger_millis(r)),
        file: t
            .request
            .file
            .as_ref()
            .map(|f| f.name.fill(v, crate::scenario::Escape::None)),
        file_size: a.file_size,
        exam: who.exam.clone(),
        status: x.answered.status,
        failure: x.answered.failure,
        answer: x.answered.answer,
    });
    ok
}

/// A seq skipped on purpose (`--skip-seq`): counted and recorded, never sent.
fn skip_seq(ctx: &Ctx, who: &Student, seq: u64) {
    ctx.emit(Event::SeqSkipped {
        student: who.id.clone(),
        seq,
    });
    ctx.record(|| Record::Skipped {
        student: who.id.clone(),
        exam: who.exam.clone(),
        seq,
    });
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

impl Ctx {
    fn emit(&self, ev: Event) {
        let _ = self.events.send(ev);
    }

    /// The wall-clock time of `at`.
    fn wall(&self, at: Instant) -> DateTime<Local> {
        let d = chrono::TimeDelta::from_std(at.saturating_duration_since(self.start)).unwrap_or_default();
        self.wall_start.checked_add_signed(d).unwrap_or(self.wall_start)
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// Sends one request, judges the answer, reports it once; returns the
    /// captures. Callers box this future: an idle student then holds only its
    /// timers, not the state of a request it is not making.
    async fn exchange(
        &self,
        endpoint: usize,
        r: &Request,
        v: &Values<'_>,
        file: Bytes,
    ) -> Result<Vec<(usize, Captured)>, FailKind> {
        self.exchange_full(endpoint, r, v, file).await.result
    }

    /// As `exchange`, with what the ledger records.
    async fn exchange_full(&self, endpoint: usize, r: &Request, v: &Values<'_>, file: Bytes) -> Exchanged {
        let t0 = Instant::now();
        let o = requests::exchange(&self.client, r, &self.scenario.captures, v, file, self.ledger.is_some()).await;
        let done = Instant::now();
        if let Some(d) = o.answer.as_ref().and_then(|a| a.tls_handshake) {
            self.emit(Event::TlsHandshake {
                us: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            });
        }
        // The server's own words for the report (issue 27 item 3),
        // before the sample: a Locust worker names the error with them.
        if let (Err(kind), Some(a)) = (&o.result, &o.answer) {
            self.emit(Event::FailedAnswer {
                endpoint,
                kind: kind.clone(),
                head: crate::answer::head(&a.body),
            });
        }
        self.emit(Event::Sample(Sample {
            endpoint,
            at_ms: self.millis(done),
            latency_us: u64::try_from((done - t0).as_micros()).unwrap_or(u64::MAX),
            failure: o.result.as_ref().err().cloned(),
            sent: o.sent,
            received: o.received,
        }));
        let answered = ledger::Answered {
            status: o.answer.as_ref().map(|a| a.status),
            failure: o.result.as_ref().err().map(ToString::to_string),
            answer: o.ledger,
        };
        Exchanged {
            result: o.result,
            start_ms: self.ledger_millis(t0),
            end_ms: self.ledger_millis(done),
            sent: o.sent,
            answered,
        }
    }

    /// `at` in the ledger section's milliseconds.
    fn ledger_millis(&self, at: Instant) -> u64 {
        self.ledger.as_ref().map_or(0, |l| l.millis(at))
    }

    fn record(&self, r: impl FnOnce() -> Record) {
        if let Some(l) = &self.ledger {
            l.record(r());
        }
    }
}

/// Stop signals: the run's, and the student's own (its sequenced task is done).
#[derive(Clone)]
struct Stops {
    run: watch::Receiver<bool>,
    done: Option<watch::Receiver<bool>>,
    /// `--restart-students`, `--kill-students`: the client dies now.
    abort: Option<watch::Receiver<bool>>,
}

impl Stops {
    fn stopped(&self) -> bool {
        *self.run.borrow() || self.done.as_ref().is_some_and(|d| *d.borrow()) || self.aborted()
    }

    fn aborted(&self) -> bool {
        self.abort.as_ref().is_some_and(|d| *d.borrow())
    }

    /// Sleeps until `at`; false at once when a stop comes.
    async fn sleep_until(&self, at: Instant) -> bool {
        if self.stopped() {
            return false;
        }
        let (mut run, mut done, mut abort) = (self.run.clone(), self.done.clone(), self.abort.clone());
        tokio::select! {
            _ = tokio::time::sleep_until(at) => !self.stopped(),
            _ = run.wait_for(|s| *s) => false,
            _ = wait_true(done.as_mut()) => false,
            _ = wait_true(abort.as_mut()) => false,
        }
    }
}

/// Until `w` holds true (never without one).
async fn wait_true(w: Option<&mut watch::Receiver<bool>>) {
    match w {
        Some(d) => {
            let _ = d.wait_for(|s| *s).await;
        }
        None => std::future::pending().await,
    }
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(Duration::from_secs(30))
}

/// A run's delay past its plan, in 0..=`jitter_us` µs (no draw without jitter,
/// so a jitter-free task's random stream is unchanged). No remainder by zero
/// whatever the jitter.
fn draw_jitter(jitter_us: u64, rng: &mut u64) -> u64 {
    if jitter_us == 0 {
        return 0;
    }
    let r = xorshift(rng);
    jitter_us.checked_add(1).map_or(r, |m| r % m)
}

/// `at + d`; past the clock's range (never, for a scenario's bounded
/// durations), 30 years from now (tokio's own far future): a sleep until
/// then waits for a stop.
fn later(at: Instant, d: Duration) -> Instant {
    const NEVER: Duration = Duration::from_secs(30 * 365 * 86_400);
    at.checked_add(d)
        .or_else(|| Instant::now().checked_add(NEVER))
        .unwrap_or(at)
}

/// Runs one student to its end; `stop` ends it early (requests in flight
/// finish, then it logs out). A student chosen by `--restart-students`
/// logs in again after its restart; one chosen by `--kill-students` ends
/// there, without a logout.
pub async fn run(ctx: Arc<Ctx>, mut who: Student, stop: watch::Receiver<bool>) {
    ctx.emit(Event::Spawned);
    let mut fault = fault::chosen(&ctx.plan, who.n, ctx.start);
    let mut first = true;
    while session(&ctx, &mut who, &stop, fault.take(), first).await == fault::End::Restarted {
        first = false;
    }
    ctx.emit(Event::Ended);
}

/// One login to its end: logout, a failed login, or a fault.
async fn session(
    ctx: &Ctx,
    who: &mut Student,
    stop: &watch::Receiver<bool>,
    fault: Option<(fault::Kind, Instant)>,
    first: bool,
) -> fault::End {
    let s = &ctx.scenario;
    let jar = ctx.cookies.then(|| crate::cookies::Jar::new(ctx.client.origin()));
    let base = Values {
        student_id: &who.id,
        n: who.n,
        jar: jar.as_ref(),
        ..Values::default()
    };
    let name = s.student_name.fill(&base, crate::scenario::Escape::None);
    let (abort_tx, abort_rx) = watch::channel(false);
    let run_stop = Stops {
        run: stop.clone(),
        done: None,
        abort: Some(abort_rx.clone()),
    };
    // Log in.
    let mut captures: Option<Vec<Captured>> = None;
    for attempt in 0..=ctx.plan.login_retries {
        let v = Values {
            student_name: &name,
            at: None,
            ..base
        };
        // The exchange's state is dropped here, not held across the backoff.
        let result = {
            let x = Box::pin(ctx.exchange_full(LOGIN, &s.login, &v, Bytes::new())).await;
            ctx.record(|| Record::Login {
                student: who.id.clone(),
                attempt: attempt + 1,
                start_ms: x.start_ms,
                end_ms: x.end_ms,
                exam: x.result.as_ref().ok().and_then(|got| {
                    got.iter()
                        .find(|(i, _)| Some(*i) == s.ledger_exam)
                        .map(|(_, c)| c.text.clone())
                }),
                status: x.answered.status,
                failure: x.answered.failure,
                answer: x.answered.answer,
            });
            x.result
        };
        if let Ok(got) = result {
            let mut caps = answer::slots(&s.captures);
            answer::store(&mut caps, got);
            captures = Some(caps);
            break;
        }
        if attempt == ctx.plan.login_retries
            || !run_stop
                .sleep_until(Instant::now() + backoff(ctx.plan.backoff, attempt))
                .await
        {
            break;
        }
    }
    let Some(captures) = captures else {
        ctx.emit(Event::LoginGaveUp {
            student: who.id.clone(),
        });
        return fault::End::Over;
    };
    if first {
        ctx.emit(Event::LoggedIn);
    }
    // The exam this student's records belong to (numbers as their decimal text).
    who.exam = s.ledger_exam.and_then(|i| captures.get(i)).map(|c| c.text.clone());
    let v = Values {
        student_name: &name,
        captures: &captures,
        ..base
    };

    // Every task side by side; the sequenced one's end ends the others.
    let t0 = Instant::now();
    let (done_tx, done_rx) = watch::channel(false);
    let others = Stops {
        run: run_stop.run.clone(),
        done: Some(done_rx),
        abort: Some(abort_rx),
    };
    let loops = s.tasks.iter().enumerate().map(|(i, t)| {
        let (stops, done) = if t.sequenced {
            (run_stop.clone(), Some(&done_tx))
        } else {
            (others.clone(), None)
        };
        task_loop(ctx, i, who, v, stops, t0, done)
    });
    let (ends, fired) = fault::race(futures_util::future::join_all(loops), fault, &abort_tx, stop).await;
    if let Some(kind) = fired {
        return fault::report(ctx, who, kind, ends.into_iter().flatten().next().unwrap_or_default());
    }

    // Log out, also when the run is stopping: the server must merge what it has.
    if let Some(logout) = &s.logout {
        let mut ok = false;
        for attempt in 0..=ctx.plan.retries.min(2) {
            let v = Values { at: None, ..v };
            let done = {
                let x = Box::pin(ctx.exchange_full(s.logout_index(), logout, &v, Bytes::new())).await;
                ctx.record(|| Record::Logout {
                    student: who.id.clone(),
                    attempt: attempt + 1,
                    start_ms: x.start_ms,
                    end_ms: x.end_ms,
                    exam: who.exam.clone(),
                    status: x.answered.status,
                    failure: x.answered.failure,
                    answer: x.answered.answer,
                });
                x.result.is_ok()
            };
            if done {
                ok = true;
                break;
            }
            if attempt < 2 && !*run_stop.run.borrow() {
                tokio::time::sleep(backoff(ctx.plan.backoff, attempt)).await;
            }
        }
        ctx.emit(Event::Finished { ok });
    }
    fault::End::Over
}

/// Runs task `i` from login time `t0` until a stop (or, sequenced, its last seq).
async fn task_loop(
    ctx: &Ctx,
    i: usize,
    who: &Student,
    v: Values<'_>,
    stops: Stops,
    t0: Instant,
    done: Option<&watch::Sender<bool>>,
) -> Option<fault::Summary> {
    let t = ctx.scenario.tasks.get(i)?;
    if !t.enabled {
        return None;
    }
    if let Some(q) = t.queue {
        return Some(queue::run(ctx, i, t, q, who, v, stops, t0, done).await);
    }
    let endpoint = 1 + i;
    let mut rng =
        (who.seed ^ (i as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let jitter_us = u64::try_from(t.jitter.as_micros()).unwrap_or(u64::MAX);
    let mut planned = later(t0, t.first());
    let mut seq = 1u64;
    while !t.sequenced || ctx.plan.segments.is_none_or(|n| seq <= n) {
        let at = later(planned, Duration::from_micros(draw_jitter(jitter_us, &mut rng)));
        if !stops.sleep_until(at).await {
            break;
        }
        planned = later(planned, t.every);
        let roll = xorshift(&mut rng);
        let size_roll = xorshift(&mut rng);
        if t.probability < 1.0 && (roll >> 11) as f64 / (1u64 << 53) as f64 >= t.probability {
            continue;
        }
        let file = || {
            ctx.payloads
                .get(i)
                .and_then(Option::as_ref)
                .map_or_else(Bytes::new, |p| p.segment(size_roll))
        };
        let late = Instant::now().saturating_duration_since(at);
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        if !t.sequenced {
            ctx.emit(Event::Lateness { task: i, us });
            let v = Values {
                at: t.request.uses_time().then(|| ctx.wall(at)),
                ..v
            };
            for attempt in 0..t.tries.max(1) {
                let sent = Box::pin(ctx.exchange(endpoint, &t.request, &v, file()));
                let ok = match t.timeout {
                    None => sent.await.is_ok(),
                    Some(limit) => {
                        let began = Instant::now();
                        match tokio::time::timeout(limit, sent).await {
                            Ok(r) => r.is_ok(),
                            Err(_) => {
                                // Cut short by the task's own limit: counted as a timeout.
                                ctx.emit(Event::Sample(Sample {
                                    endpoint,
                                    at_ms: ctx.millis(Instant::now()),
                                    latency_us: u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX),
                                    failure: Some(FailKind::Timeout),
                                    sent: 0,
                                    received: 0,
                                }));
                                false
                            }
                        }
                    }
                };
                if ok
                    || attempt + 1 >= t.tries
                    || !stops
                        .sleep_until(Instant::now() + backoff(ctx.plan.backoff, attempt))
                        .await
                {
                    break;
                }
            }
            continue;
        }
        if ctx.plan.skip.skips(seq) {
            skip_seq(ctx, who, seq);
        } else {
            ctx.emit(Event::Lateness { task: i, us });
            let sent_seq = (!ctx.plan.no_seq).then_some(seq);
            let mut ok = false;
            let mut tries = 0;
            for attempt in 0..=ctx.plan.retries {
                tries = attempt + 1;
                let v = Values {
                    seq: sent_seq,
                    at: t.request.uses_time().then(|| ctx.wall(at)),
                    ..v
                };
                let body = file();
                let file_size = body.len() as u64;
                // Scoped: the exchange's state is not held across the backoff sleep.
                let done = {
                    let x = Box::pin(ctx.exchange_full(endpoint, &t.request, &v, body)).await;
                    let at = Attempt {
                        seq: sent_seq,
                        attempt: tries,
                        planned: at,
                        recorded: None,
                        file_size,
                    };
                    record_upload(ctx, who, t, &v, x, at)
                };
                if done {
                    ok = true;
                    break;
                }
                if attempt == ctx.plan.retries
                    || !stops
                        .sleep_until(Instant::now() + backoff(ctx.plan.backoff, attempt))
                        .await
                {
                    break;
                }
            }
            ctx.emit(if ok {
                Event::Uploaded {
                    student: who.id.clone(),
                    seq,
                }
            } else {
                ctx.record(|| Record::GaveUp {
                    student: who.id.clone(),
                    exam: who.exam.clone(),
                    seq,
                    attempts: tries,
                });
                Event::SeqGaveUp {
                    student: who.id.clone(),
                    seq,
                }
            });
        }
        seq += 1;
    }
    if let Some(d) = done {
        let _ = d.send(true);
    }
    t.sequenced.then(|| fault::Summary {
        last_seq: seq.saturating_sub(1),
        lost: Vec::new(),
    })
}

pub mod fault;
mod queue;
#[cfg(test)]
mod tests;
