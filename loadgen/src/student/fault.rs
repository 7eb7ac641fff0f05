//! The real client's own faults, as switches: `--restart-students SHARE@TIME`
//! (the client restarts: its queue is lost, it logs in again and its seqs
//! start again at 1) and `--kill-students SHARE@TIME` (killed: queue lost, no
//! logout). Which students is decided by their seed, so a run is repeatable.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{Ctx, Plan, Student};
use crate::ledger::Record;
use crate::stats::Event;

/// A share of the students and when (from the run's start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// 0.0 to 1.0.
    pub share: f64,
    pub at: Duration,
}

impl Fault {
    /// `0.1@5m`, `10%@300s`.
    pub fn parse(text: &str, flag: &str) -> Result<Fault, String> {
        let bad = || format!("{flag} {text}: must be SHARE@TIME, SHARE 0 to 1 or 0% to 100% (e.g. 0.1@10m, 5%@90s)");
        let (share, at) = text.split_once('@').ok_or_else(bad)?;
        let share = match share.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
            None => share.trim().parse::<f64>(),
        }
        .ok()
        .filter(|s| (0.0..=1.0).contains(s))
        .ok_or_else(bad)?;
        let at = common::usage::parse_millis(at.trim())
            .map(Duration::from_millis)
            .map_err(|_| bad())?;
        Ok(Fault { share, at })
    }
}

/// What a chosen student does at its fault's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Restart,
    Kill,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Logged out, or never logged in: the student is over.
    Over,
    /// Restarted: it logs in again.
    Restarted,
    /// Killed: over, without a logout.
    Killed,
}

/// What the sequenced task held when it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The last seq recorded (queued task) or started (0: none).
    pub last_seq: u64,
    /// Seqs still queued when an abort ended it (lost with the client).
    pub lost: Vec<u64>,
}

/// The student's fault, chosen by its number `n` (1-based ID number) so
/// that students 1..N hold exactly the shares (rounded down): student `n` is
/// faulted when `floor(n·(r+k))` steps up at it, and the `m`-th faulted one
/// restarts when `floor(m·r/(r+k))` steps up at `m`, else is killed. Spread
/// evenly over the IDs, the same students every run, and under `--shard` or
/// Locust the union of every machine's students holds the shares.
pub fn chosen(plan: &Plan, n: u64, start: Instant) -> Option<(Kind, Instant)> {
    let r = plan.restart.map_or(0.0, |f| f.share);
    let k = plan.kill.map_or(0.0, |f| f.share);
    let both = r + k;
    if n == 0 || both <= 0.0 {
        return None;
    }
    // A hair above the product (0.29 × 100 is 28.999999999999996), far below
    // any share a person writes (33.3333333% of 3 stays 0).
    let steps = |x: f64, share: f64| (x * share + 1e-12).floor();
    let nf = n as f64;
    if steps(nf, both) <= steps(nf - 1.0, both) {
        return None;
    }
    let m = steps(nf, both);
    let restarts = r / both;
    let (kind, f) = match (plan.restart, plan.kill) {
        (Some(f), _) if steps(m, restarts) > steps(m - 1.0, restarts) => (Kind::Restart, f),
        (_, Some(f)) => (Kind::Kill, f),
        (Some(f), None) => (Kind::Restart, f),
        (None, None) => return None,
    };
    Some((kind, start.checked_add(f.at)?))
}

/// Runs the tasks; at the fault's time (unless they ended first, or the run
/// is stopping) aborts them and waits for them. Returns their ends and the
/// fault that fired.
pub async fn race<T>(
    tasks: impl Future<Output = T>,
    fault: Option<(Kind, Instant)>,
    abort: &watch::Sender<bool>,
    stop: &watch::Receiver<bool>,
) -> (T, Option<Kind>) {
    let Some((kind, at)) = fault else {
        return (tasks.await, None);
    };
    let mut tasks = std::pin::pin!(tasks);
    tokio::select! {
        ends = &mut tasks => (ends, None),
        () = tokio::time::sleep_until(at) => {
            if *stop.borrow() {
                return (tasks.await, None);
            }
            let _ = abort.send(true);
            (tasks.await, Some(kind))
        }
    }
}

/// Records the fault (ledger, report) and says how the session ended.
pub fn report(ctx: &Ctx, who: &Student, kind: Kind, s: Summary) -> End {
    let at_ms = ctx.ledger_millis(Instant::now());
    let (student, exam) = (who.id.clone(), who.exam.clone());
    match kind {
        Kind::Restart => {
            ctx.record(|| Record::Restart {
                student: student.clone(),
                exam,
                at_ms,
                last_seq: s.last_seq,
                lost: s.lost.clone(),
            });
            ctx.emit(Event::Restarted { student, lost: s.lost });
            End::Restarted
        }
        Kind::Kill => {
            ctx.record(|| Record::Killed {
                student: student.clone(),
                exam,
                at_ms,
                last_seq: s.last_seq,
                lost: s.lost.clone(),
            });
            ctx.emit(Event::Killed { student, lost: s.lost });
            End::Killed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_and_choose_about_that_many_students_repeatably() {
        assert_eq!(
            Fault::parse("10%@90s", "--kill-students"),
            Ok(Fault {
                share: 0.1,
                at: Duration::from_secs(90)
            })
        );
        assert_eq!(Fault::parse("0.25@1m", "f").unwrap().share, 0.25);
        for bad in ["0.1", "2@1s", "-1%@1s", "x@1s", "0.1@soon"] {
            assert!(Fault::parse(bad, "--restart-students").is_err(), "{bad}");
        }
        let plan = Plan {
            segments: None,
            retries: 0,
            login_retries: 0,
            backoff: Duration::ZERO,
            skip: super::super::SkipRule::default(),
            no_seq: false,
            restart: Fault::parse("0.2@1s", "r").ok(),
            kill: Fault::parse("0.1@2s", "k").ok(),
        };
        let start = Instant::now();
        let kinds: Vec<Option<Kind>> = (1..=10_000).map(|n| chosen(&plan, n, start).map(|c| c.0)).collect();
        let restarts = kinds.iter().filter(|k| **k == Some(Kind::Restart)).count();
        let kills = kinds.iter().filter(|k| **k == Some(Kind::Kill)).count();
        assert_eq!((restarts, kills), (2_000, 1_000), "exactly the shares");
        for n in [20u64, 7, 33] {
            let kinds: Vec<Option<Kind>> = (1..=n).map(|i| chosen(&plan, i, start).map(|c| c.0)).collect();
            let count = |k| kinds.iter().filter(|x| **x == Some(k)).count() as u64;
            let (r, k) = (count(Kind::Restart), count(Kind::Kill));
            assert_eq!(r + k, (n as f64 * 0.3 + 1e-9).floor() as u64, "{n}: {kinds:?}");
            assert!(r.abs_diff(n / 5) <= 1 && k.abs_diff(n / 10) <= 1, "{n}: {r} {k}");
        }
        // 33.3333333% of 3 students is 0.999999999: none (the hair above the
        // product only absorbs float error), and 29% of 100 is 29.
        for (share, n, want) in [(0.333_333_333, 3u64, 0usize), (0.29, 100, 29)] {
            let plan = Plan {
                restart: Some(Fault {
                    share,
                    at: Duration::from_secs(1),
                }),
                kill: None,
                ..plan.clone()
            };
            let got = (1..=n).filter(|&i| chosen(&plan, i, start).is_some()).count();
            assert_eq!(got, want, "{share} of {n}");
        }
        let again: Vec<Option<Kind>> = (1..=10_000).map(|n| chosen(&plan, n, start).map(|c| c.0)).collect();
        assert_eq!(kinds, again, "the same students every run");
    }
}
