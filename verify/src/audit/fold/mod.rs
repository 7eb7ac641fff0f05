//! The gate fold: one state for every check, fed by the batch engines (whole
//! files, whole trees) and by `verify watch` (lines as they are written,
//! folders as they change). `report` judges it; alerts are what new
//! observations raised. Batch and live can therefore never disagree.

pub mod ids;
pub mod ledger;
pub mod ledger_order;
pub mod live;
pub mod merge;
pub mod seq;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::audit::cross::cross_check;
use crate::audit::seq::FolderObs;
use crate::findings::{FailOn, Kind};
use crate::report::gate::{CheckVerdict, CrossKind, GateReport, LedgerReport, SCHEMA};
use crate::report::ids::IdsReport;
use crate::report::merge::MergeReport;
use crate::report::seq::{SeqKind, SeqReport};
use crate::settings::GateConfig;
use common::exit::{Outcome, Verdict};

/// Something a new observation revealed, for `verify watch` to show at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A second login of an ID within the collision window.
    DuplicateLogin { id: String, evidence: String },
    /// The merge worker logged a gap (`序号缺失`, `序号不连续`) for a student.
    ServerGap { id: String, missing: Vec<[u64; 2]> },
    /// Seqs missing on disk while a later one arrived `grace` ago or more.
    GapConfirmed {
        exam: Option<String>,
        id: String,
        missing: Vec<[u64; 2]>,
        grace: Duration,
    },
}

/// Which check a log line belongs to: the role the user gave its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--log`: gunicorn (logins).
    Gunicorn,
    /// `--celery-log`: the merge worker.
    Celery,
    /// `--ledger`: a client ledger.
    Ledger,
}

/// Live tallies for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub logins: u64,
    pub distinct: u64,
    pub expected: u64,
    pub duplicates: u64,
    pub uploading: u64,
    pub latest: Option<[u64; 2]>,
    pub gaps_confirmed: u64,
    pub server_gaps: u64,
}

/// Every check's state, with the configuration that judges it.
#[derive(Debug, Clone)]
pub struct GateFold {
    pub cfg: GateConfig,
    pub ids: Option<ids::IdsPart>,
    pub seq: Option<seq::SeqPart>,
    pub merge: Option<merge::MergePart>,
    /// Client ledgers (`--ledger`).
    pub ledger: Option<ledger::LedgerPart>,
    alerts: Vec<Alert>,
}

impl GateFold {
    /// A fold of the given parts (each present when its check runs).
    pub fn new(
        cfg: GateConfig,
        ids: Option<ids::IdsPart>,
        seq: Option<seq::SeqPart>,
        merge: Option<merge::MergePart>,
    ) -> GateFold {
        GateFold {
            cfg,
            ids,
            seq,
            merge,
            ledger: None,
            alerts: Vec::new(),
        }
    }

    /// The same fold with client ledgers to reconcile.
    pub fn with_ledger(mut self, ledger: Option<ledger::LedgerPart>) -> GateFold {
        self.ledger = ledger;
        self
    }

    /// Folds one line of log `file` of the given role.
    pub fn observe_line(&mut self, role: Role, file: usize, bytes: &[u8]) {
        match role {
            Role::Gunicorn => {
                if let (Some(p), Some(c)) = (self.ids.as_mut(), self.cfg.ids.as_ref()) {
                    self.alerts.extend(p.observe_line(c, file, bytes));
                }
            }
            Role::Celery => {
                if let (Some(p), Some(c)) = (self.merge.as_mut(), self.cfg.merge.as_ref()) {
                    self.alerts.extend(p.observe_line(c, file, bytes));
                }
            }
            Role::Ledger => {
                if let Some(p) = self.ledger.as_mut() {
                    p.observe_line(file, bytes);
                }
            }
        }
    }

    /// Folds a student folder as it is now (read at `now`).
    pub fn observe_folder(&mut self, path: PathBuf, obs: FolderObs, now: Instant) {
        if let (Some(p), Some(c)) = (self.seq.as_mut(), self.cfg.seq.as_ref()) {
            p.set_live(path, obs, &c.rules, now);
        }
    }

    /// Confirms the gaps open for `grace` at `now`.
    pub fn confirm_gaps(&mut self, now: Instant, grace: Duration) {
        if let (Some(p), Some(c)) = (self.seq.as_mut(), self.cfg.seq.as_ref()) {
            self.alerts.extend(p.confirm_gaps(&c.rules, now, grace));
        }
    }

    /// The alerts raised since the last call.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.alerts)
    }

    /// Treats everything folded so far as known: no alert for it, ever
    /// (`verify watch` without `--from-start`: the state found at start).
    pub fn quiet(&mut self, now: Instant) {
        if let (Some(p), Some(c)) = (self.ids.as_mut(), self.cfg.ids.as_ref()) {
            p.quiet(c);
        }
        if let Some(p) = self.merge.as_mut() {
            p.quiet();
        }
        self.confirm_gaps(now, Duration::ZERO);
        self.alerts.clear();
    }

    /// Live tallies.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        if let Some(p) = &self.ids {
            t.logins = p.fold.events;
            t.distinct = p.fold.by_id.len() as u64;
            t.duplicates = p.alerted() as u64;
        }
        if let Some(c) = &self.cfg.ids {
            t.expected = c.expect.len() as u64;
        }
        if let Some(p) = &self.seq {
            (t.uploading, t.latest, t.gaps_confirmed) = p.live_counts();
        }
        if let Some(p) = &self.merge {
            t.server_gaps = p.alerted() as u64;
        }
        t
    }

    /// The gate report: every check judged, then cross-checked.
    pub fn report(&self) -> GateReport {
        let cfg = &self.cfg;
        let ids = self.ids.as_ref().zip(cfg.ids.as_ref()).map(|(p, c)| p.report(c));
        let mut seq = self.seq.as_ref().zip(cfg.seq.as_ref()).map(|(p, c)| p.report(c));
        let merge = self.merge.as_ref().zip(cfg.merge.as_ref()).map(|(p, c)| p.report(c));
        let ledger = self.ledger.as_ref().map(|l| {
            let disk = self
                .seq
                .as_ref()
                .zip(cfg.seq.as_ref())
                .map(|(p, c)| crate::audit::reconcile::Disk {
                    selected: !c.exams.is_empty(),
                    absent: seq
                        .as_ref()
                        .map_or_else(Default::default, |r| crate::audit::explain::absent(r, &c.rules)),
                    ..p.disk(&c.rules)
                });
            let logins: Option<std::collections::BTreeSet<String>> =
                ids.as_ref().map(|r| r.logins.iter().map(|l| l.id.clone()).collect());
            crate::audit::reconcile::reconcile(l, disk.as_ref(), logins.as_ref())
        });
        // What the client's ledger explains stops failing the seq check.
        if let (Some(s), Some(c), Some(l)) = (seq.as_mut(), cfg.seq.as_ref(), ledger.as_ref()) {
            crate::audit::explain::apply_explanations(s, l, &c.rules, &c.fail_on);
        }
        if let (Some(s), Some(ratio)) = (seq.as_mut(), cfg.max_missing_ratio) {
            apply_missing_ratio(s, ratio, cfg.seq.as_ref().and_then(|c| c.rules.expect_segments));
        }
        assemble(ids, seq, merge, ledger, &cfg.cross_fail_on, Vec::new())
    }
}

/// `--max-missing-ratio`: gaps under the ratio stop failing the seq check.
pub fn apply_missing_ratio(s: &mut SeqReport, ratio: f64, expect_segments: Option<u64>) {
    let unexplained = crate::audit::explain::unexplained(s);
    let count = |k| unexplained.iter().find(|u| u.0 == k).map_or(0, |u| u.1);
    let missing = u64::saturating_add(count(SeqKind::Gap), count(SeqKind::LeadingGap));
    let expected: u64 = match expect_segments {
        Some(n) => n.saturating_mul(s.summary.students.max(1)),
        None => s.summary.segments.max(1),
    };
    if (missing as f64) <= ratio * expected as f64 {
        s.failed_on.retain(|k| !matches!(k, SeqKind::Gap | SeqKind::LeadingGap));
        // Judged again: read errors still win, other failing kinds still fail.
        if s.verdict == Verdict::Fail && s.failed_on.is_empty() {
            s.verdict = Verdict::Pass;
        }
    }
}

/// One gate report from the checks' reports: cross-checks and one verdict.
pub fn assemble(
    ids: Option<IdsReport>,
    seq: Option<SeqReport>,
    merge: Option<MergeReport>,
    ledger: Option<LedgerReport>,
    cross_fail_on: &FailOn<CrossKind>,
    merged_from: Vec<String>,
) -> GateReport {
    let audits = ids.is_some() as u8 + seq.is_some() as u8 + merge.is_some() as u8;
    let mut cross = (audits >= 2 || ledger.is_some())
        .then(|| cross_check(ids.as_ref(), seq.as_ref(), merge.as_ref(), cross_fail_on));
    if let (Some(c), Some(l)) = (cross.as_mut(), ledger) {
        let mut kinds: std::collections::BTreeSet<CrossKind> = c.failed_on.iter().copied().collect();
        kinds.extend(l.rows.iter().map(|r| r.kind).filter(|k| cross_fail_on.fails(*k)));
        c.failed_on = kinds.into_iter().collect();
        c.ledger = Some(l);
    }
    let names = |v: Vec<&'static str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
    let mut checks = Vec::new();
    if let Some(r) = &ids {
        checks.push(CheckVerdict {
            check: "ids".into(),
            verdict: r.verdict,
            failed_on: names(r.failed_on.iter().map(|k| k.name()).collect()),
        });
    }
    if let Some(r) = &seq {
        checks.push(CheckVerdict {
            check: "seq".into(),
            verdict: r.verdict,
            failed_on: names(r.failed_on.iter().map(|k| k.name()).collect()),
        });
    }
    if let Some(r) = &merge {
        checks.push(CheckVerdict {
            check: "merge".into(),
            verdict: r.verdict,
            failed_on: names(r.failed_on.iter().map(|k| k.name()).collect()),
        });
    }
    if let Some(c) = &cross {
        let errors = c.ledger.as_ref().is_some_and(|l| !l.errors.is_empty());
        checks.push(CheckVerdict {
            check: "cross".into(),
            verdict: Outcome::judge(errors, !c.failed_on.is_empty()).into(),
            failed_on: names(c.failed_on.iter().map(|k| k.name()).collect()),
        });
    }
    let outcome = checks
        .iter()
        .map(|c| c.verdict.outcome())
        .fold(Outcome::Clean, Outcome::merge);
    let failed_on = checks
        .iter()
        .flat_map(|c| c.failed_on.iter().map(move |k| format!("{}:{k}", c.check)))
        .collect();
    GateReport {
        schema: SCHEMA.into(),
        verdict: outcome.into(),
        failed_on,
        checks,
        ids,
        seq,
        merge,
        cross,
        merged_from,
    }
}
