//! A queued sequenced task, as the real client runs it: a recorder queues a
//! segment every `every` (its `{timestamp}` is its recording time, kept for
//! every attempt), a flusher uploads the whole queue in seq order every
//! `flush_every` + uniform(0, `flush_jitter`), `flush_gap` apart. A failed
//! upload stays queued for the next flush (or, `immediate:N`, is retried at
//! once and then given up). At the end (stop or `--segments`): up to
//! `exit_passes` passes, then what is still queued is lost and recorded so.
//!
//! Memory: a queued segment is its seq, two instants, a count and a `Bytes`
//! slice of the one shared payload (no copy).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::fault::Summary;
use super::{Attempt, Ctx, Stops, Student, backoff, draw_jitter, later, record_upload, skip_seq, xorshift};
use crate::ledger::Record;
use crate::scenario::{Queue, Retry, Task, Values};
use crate::stats::Event;

/// One recorded segment waiting for its upload.
#[derive(Debug, Clone)]
pub(crate) struct Seg {
    pub seq: u64,
    /// When it was recorded: its `{timestamp}` and the ledger's `recorded_ms`.
    pub recorded: Instant,
    pub body: Bytes,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// A student's queue, in seq order.
#[derive(Debug, Default)]
pub(crate) struct Local {
    items: VecDeque<Seg>,
}

/// What became of one upload of a burst.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Acknowledged: it left the queue.
    Acked(u64),
    /// Failed; it stays queued for the next flush.
    Kept(u64),
    /// Failed its immediate attempts: given up, out of the queue.
    GaveUp(u64),
}

impl Local {
    pub fn push(&mut self, s: Seg) {
        self.items.push_back(s);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The oldest queued segment's recording time.
    pub fn oldest(&self) -> Option<Instant> {
        self.items.front().map(|s| s.recorded)
    }

    /// Starts a burst over every segment queued now.
    pub fn burst(&mut self) -> Burst {
        Burst {
            todo: std::mem::take(&mut self.items),
            kept: VecDeque::new(),
        }
    }

    /// Ends a burst: its kept and untried segments go back in front of those
    /// recorded since (all of a higher seq), so the order stays.
    pub fn end(&mut self, b: Burst) {
        let Burst { mut kept, mut todo } = b;
        kept.append(&mut todo);
        kept.append(&mut self.items);
        self.items = kept;
    }

    /// Empties the queue (the run's end: these are lost).
    pub fn drain(&mut self) -> impl Iterator<Item = Seg> + '_ {
        self.items.drain(..)
    }

    /// Seqs queued, in order (tests).
    #[cfg(test)]
    pub fn seqs(&self) -> Vec<u64> {
        self.items.iter().map(|s| s.seq).collect()
    }
}

/// The segments of one flush, taken out of the queue while it runs.
#[derive(Debug)]
pub(crate) struct Burst {
    todo: VecDeque<Seg>,
    kept: VecDeque<Seg>,
}

impl Burst {
    /// The next segment to upload, in seq order.
    pub fn next(&mut self) -> Option<Seg> {
        self.todo.pop_front()
    }

    /// Settles `s` after its upload: kept when it failed and `keep` (next-flush).
    pub fn settle(&mut self, s: Seg, ok: bool, keep: bool) -> Settled {
        match (ok, keep) {
            (true, _) => Settled::Acked(s.seq),
            (false, true) => {
                let seq = s.seq;
                self.kept.push_back(s);
                Settled::Kept(seq)
            }
            (false, false) => Settled::GaveUp(s.seq),
        }
    }
}

/// Runs queued task `i` (recorder and flusher side by side) until its end,
/// exit passes included; `done` is signalled when the recording ends.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    ctx: &Ctx,
    i: usize,
    t: &Task,
    q: Queue,
    who: &Student,
    v: Values<'_>,
    stops: Stops,
    t0: Instant,
    done: Option<&watch::Sender<bool>>,
) -> Summary {
    let recorded = AtomicU64::new(0);
    let mut rng =
        (who.seed ^ (i as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut flush_rng = (rng ^ 0xD6E8_FEB8_6659_FD93).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let (tx, mut rx) = mpsc::unbounded_channel::<Seg>();

    let recorder = async {
        let jitter_us = u64::try_from(t.jitter.as_micros()).unwrap_or(u64::MAX);
        let mut planned = later(t0, t.first());
        let mut seq = 1u64;
        while ctx.plan.segments.is_none_or(|n| seq <= n) {
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
            if ctx.plan.skip.skips(seq) {
                skip_seq(ctx, who, seq);
            } else {
                let body = ctx
                    .payloads
                    .get(i)
                    .and_then(Option::as_ref)
                    .map_or_else(Bytes::new, |p| p.segment(size_roll));
                ctx.emit(Event::Queued);
                recorded.store(seq, Ordering::Relaxed);
                let _ = tx.send(Seg {
                    seq,
                    recorded: at,
                    body,
                    attempts: 0,
                });
            }
            seq += 1;
        }
        // Dropping the sender tells the flusher the recording is over; the
        // student's other tasks end with the recording, not after the exit passes.
        drop(tx);
        if let Some(d) = done {
            let _ = d.send(true);
        }
    };

    let flusher = async {
        let mut local = Local::default();
        let next_flush = |rng: &mut u64, from: Instant| {
            let jitter_us = u64::try_from(q.flush_jitter.as_micros()).unwrap_or(u64::MAX);
            later(
                later(from, q.flush_every),
                Duration::from_micros(draw_jitter(jitter_us, rng)),
            )
        };
        let mut flush_at = next_flush(&mut flush_rng, t0);
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(s) => local.push(s),
                    None => break,
                },
                () = tokio::time::sleep_until(flush_at) => {
                    while let Ok(s) = rx.try_recv() {
                        local.push(s);
                    }
                    let late = Instant::now().saturating_duration_since(flush_at);
                    ctx.emit(Event::Lateness {
                        task: i,
                        us: u64::try_from(late.as_micros()).unwrap_or(u64::MAX),
                    });
                    flush(ctx, i, t, q, who, v, &mut local, flush_at, Some(&stops)).await;
                    flush_at = next_flush(&mut flush_rng, Instant::now());
                }
            }
        }
        // A restarted or killed client loses its queue: no exit passes.
        if stops.aborted() {
            return local
                .drain()
                .map(|s| {
                    ctx.emit(Event::Unqueued);
                    s.seq
                })
                .collect();
        }
        // The end: exit passes (not cut short by the stop: this is the stop).
        for pass in 0..q.exit_passes {
            if local.is_empty() {
                break;
            }
            if pass > 0 {
                tokio::time::sleep(q.exit_pass_gap).await;
            }
            flush(ctx, i, t, q, who, v, &mut local, Instant::now(), None).await;
        }
        for s in local.drain() {
            ctx.emit(Event::Unqueued);
            ctx.emit(Event::LostAtExit {
                student: who.id.clone(),
                seq: s.seq,
            });
            ctx.record(|| Record::LostAtExit {
                student: who.id.clone(),
                exam: who.exam.clone(),
                seq: s.seq,
                attempts: s.attempts,
            });
        }
        Vec::new()
    };
    let ((), lost) = futures_util::future::join(recorder, flusher).await;
    Summary {
        last_seq: recorded.load(Ordering::Relaxed),
        lost,
    }
}

/// One burst: every queued segment in seq order, `flush_gap` apart; with
/// `stops`, a stop ends it after the upload in flight.
#[allow(clippy::too_many_arguments)]
async fn flush(
    ctx: &Ctx,
    i: usize,
    t: &Task,
    q: Queue,
    who: &Student,
    v: Values<'_>,
    local: &mut Local,
    planned: Instant,
    stops: Option<&Stops>,
) {
    let now = Instant::now();
    ctx.emit(Event::QueueSeen {
        depth: local.len() as u64,
        oldest_ms: local.oldest().map_or(0, |o| {
            u64::try_from(now.saturating_duration_since(o).as_millis()).unwrap_or(u64::MAX)
        }),
    });
    let (attempts, keep) = match q.retry {
        Retry::NextFlush => (1, true),
        Retry::Immediate(n) => (n.max(1), false),
    };
    let mut b = local.burst();
    let mut first = true;
    while let Some(mut s) = b.next() {
        if !first {
            let at = later(Instant::now(), q.flush_gap);
            let go_on = match stops {
                Some(st) => st.sleep_until(at).await,
                None => {
                    tokio::time::sleep_until(at).await;
                    true
                }
            };
            if !go_on {
                b.todo.push_front(s);
                break;
            }
        }
        first = false;
        let ok = upload(ctx, i, t, who, v, &mut s, planned, attempts).await;
        match b.settle(s, ok, keep) {
            Settled::Acked(seq) => {
                ctx.emit(Event::Unqueued);
                ctx.emit(Event::Uploaded {
                    student: who.id.clone(),
                    seq,
                });
            }
            Settled::Kept(_) => {}
            Settled::GaveUp(seq) => {
                ctx.emit(Event::Unqueued);
                ctx.record(|| Record::GaveUp {
                    student: who.id.clone(),
                    exam: who.exam.clone(),
                    seq,
                    attempts,
                });
                ctx.emit(Event::SeqGaveUp {
                    student: who.id.clone(),
                    seq,
                });
            }
        }
        if stops.is_some_and(Stops::stopped) {
            break;
        }
    }
    local.end(b);
}

/// Up to `attempts` tries of one segment (same seq, same `{timestamp}`);
/// each is written to the ledger.
#[allow(clippy::too_many_arguments)]
async fn upload(
    ctx: &Ctx,
    i: usize,
    t: &Task,
    who: &Student,
    v: Values<'_>,
    s: &mut Seg,
    planned: Instant,
    attempts: u32,
) -> bool {
    let sent_seq = (!ctx.plan.no_seq).then_some(s.seq);
    for a in 0..attempts {
        s.attempts = s.attempts.saturating_add(1);
        let v = Values {
            seq: sent_seq,
            at: t.request.uses_time().then(|| ctx.wall(s.recorded)),
            ..v
        };
        let file_size = s.body.len() as u64;
        let ok = {
            let x = Box::pin(ctx.exchange_full(1 + i, &t.request, &v, s.body.clone())).await;
            let rec = Attempt {
                seq: sent_seq,
                attempt: s.attempts,
                planned,
                recorded: Some(s.recorded),
                file_size,
            };
            record_upload(ctx, who, t, &v, x, rec)
        };
        if ok {
            return true;
        }
        if a + 1 < attempts {
            tokio::time::sleep(backoff(ctx.plan.backoff, a)).await;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(seq: u64) -> Seg {
        Seg {
            seq,
            recorded: Instant::now(),
            body: Bytes::new(),
            attempts: 0,
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Record,
        /// A flush: each upload's outcome, and where a stop cuts it short.
        Flush(Vec<bool>, Option<usize>),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            Just(Op::Record),
            (
                proptest::collection::vec(any::<bool>(), 0..12),
                proptest::option::of(0usize..12)
            )
                .prop_map(|(o, s)| Op::Flush(o, s)),
        ]
    }

    proptest! {
        /// Under random failures and stops, every recorded seq is acked
        /// exactly once or still queued, never both, never lost; the queue
        /// stays in seq order.
        #[test]
        fn next_flush_never_loses_or_duplicates_a_seq(ops in proptest::collection::vec(op(), 0..60)) {
            let mut q = Local::default();
            let mut next = 1u64;
            let mut acked: Vec<u64> = Vec::new();
            for o in ops {
                match o {
                    Op::Record => {
                        q.push(seg(next));
                        next += 1;
                    }
                    Op::Flush(outcomes, stop) => {
                        let mut b = q.burst();
                        // A segment recorded while the burst runs.
                        q.push(seg(next));
                        next += 1;
                        let mut k = 0;
                        while let Some(s) = b.next() {
                            if stop == Some(k) {
                                b.todo.push_front(s);
                                break;
                            }
                            let ok = outcomes.get(k).copied().unwrap_or(false);
                            if let Settled::Acked(seq) = b.settle(s, ok, true) {
                                acked.push(seq);
                            }
                            k += 1;
                        }
                        q.end(b);
                    }
                }
            }
            let queued = q.seqs();
            prop_assert!(queued.windows(2).all(|w| w[0] < w[1]), "in order: {:?}", queued);
            let mut all = acked.clone();
            all.extend(&queued);
            all.sort_unstable();
            prop_assert_eq!(all, (1..next).collect::<Vec<_>>());
        }
    }

    #[test]
    fn immediate_gives_up_and_next_flush_keeps() {
        let mut q = Local::default();
        for s in 1..=3 {
            q.push(seg(s));
        }
        let mut b = q.burst();
        let a = b.next().unwrap();
        assert_eq!(b.settle(a, false, false), Settled::GaveUp(1));
        let c = b.next().unwrap();
        assert_eq!(b.settle(c, false, true), Settled::Kept(2));
        q.end(b);
        assert_eq!(q.seqs(), [2, 3]);
    }
}
