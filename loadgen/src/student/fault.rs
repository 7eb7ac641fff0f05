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

/// The student's fault, if its seed chose it: one uniform draw per student,
/// below the restart share → restart, within the next kill share → kill.
pub fn chosen(plan: &Plan, seed: u64, start: Instant) -> Option<(Kind, Instant)> {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
    let restart = plan.restart.map_or(0.0, |f| f.share);
    let (kind, f) = match (plan.restart, plan.kill) {
        (Some(f), _) if u < f.share => (Kind::Restart, f),
        (_, Some(f)) if u >= restart && u < restart + f.share => (Kind::Kill, f),
        _ => return None,
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
        assert!((1_800..2_200).contains(&restarts), "{restarts}");
        assert!((850..1_150).contains(&kills), "{kills}");
        let again: Vec<Option<Kind>> = (1..=10_000).map(|n| chosen(&plan, n, start).map(|c| c.0)).collect();
        assert_eq!(kinds, again, "the same students every run");
    }
}
