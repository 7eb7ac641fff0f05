//! The `verify gate` report (`"schema": "verify.gate/1"`): the three audits
//! and the cross-checks between them, with one verdict.

use serde::{Deserialize, Serialize};

use super::ids::IdsReport;
use super::merge::MergeReport;
use super::seq::SeqReport;
use crate::findings::Kind;
use common::exit::Outcome;

/// Schema tag of this report.
pub const SCHEMA: &str = "verify.gate/1";

/// Kinds of cross-check finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossKind {
    /// A gap both the server and the disk show: certain.
    GapBoth,
    /// A gap the server reported that the disk does not show (the segment came later).
    GapServerOnly,
    /// A gap on disk the server never reported (its merge did not run or did not see it).
    GapDiskOnly,
    /// A student who logged in and left no recordings.
    LoginWithoutRecordings,
    /// Recordings of a student who never logged in.
    RecordingsWithoutLogin,
    /// A collision in the log confirmed on disk (duplicate seqs or foreign files): certain.
    CollisionConfirmed,
    /// A collision in the log the disk does not show.
    CollisionLogOnly,
    /// Duplicate seqs on disk without a collision in the log.
    DuplicateDiskOnly,
    /// `--ledger`: the server answered 2xx, no file with that seq is on disk: data lost.
    AckedMissing,
    /// `--ledger`: the file is there, its size is not what the client sent.
    AckedSizeMismatch,
    /// `--ledger`: a gap on disk the client never got acknowledged (gave up, 5xx, timeout).
    GapClientGaveUp,
    /// `--ledger`: a gap on disk the client skipped on purpose (`--skip-seq`).
    GapClientSkipped,
    /// `--ledger`: a gap or short tail of seqs still queued when the client's exit passes ended.
    GapClientLostAtExit,
    /// `--ledger`: a gap or short tail of seqs dropped at a client restart (its queue; seq counts again from 1).
    GapClientRestarted,
    /// `--ledger`: a gap or short tail of seqs lost when the client was killed (its queue, every later seq).
    GapClientKilled,
    /// `--ledger`: duplicate seqs on disk the client sent again (after a restart) and got acknowledged.
    DuplicateClientRestarted,
    /// `--ledger`: a gap on disk for a seq the client never tried (quit, or ledger incomplete).
    GapUnexplained,
    /// `--ledger`: the client saw a failure, the file is on disk (the answer was lost).
    UnackedPresent,
    /// `--ledger`: a login in the gunicorn log that no ledger records.
    LoginNotInLedger,
    /// `--ledger`: a login the ledger records as answered 2xx that the log lacks.
    LedgerNotInLog,
    /// `--ledger`: lines of a ledger that are no record, or records of an unknown kind.
    LedgerMalformed,
    /// `--ledger`: a ledger with no record of any student the tree or the log shows.
    LedgerUnrelated,
    /// `--ledger`: a run section with no closing record (`end`, `run_end`):
    /// the client was killed or the file was cut, so what it did last is unknown.
    LedgerIncomplete,
    /// `--ledger`: one ID logged in by two workers (two ledgers), or twice by
    /// one with no logout between: two clients used one student.
    LedgerCollision,
    /// `--ledger`: one ID logged in again after its session ended (a logout,
    /// a client restart).
    LedgerRelogin,
}

impl CrossKind {
    /// The kinds only a `--ledger` reconciliation gives.
    pub const LEDGER: &'static [CrossKind] = &[
        CrossKind::AckedMissing,
        CrossKind::AckedSizeMismatch,
        CrossKind::GapClientGaveUp,
        CrossKind::GapClientSkipped,
        CrossKind::GapClientLostAtExit,
        CrossKind::GapClientRestarted,
        CrossKind::GapClientKilled,
        CrossKind::DuplicateClientRestarted,
        CrossKind::GapUnexplained,
        CrossKind::UnackedPresent,
        CrossKind::LoginNotInLedger,
        CrossKind::LedgerNotInLog,
        CrossKind::LedgerMalformed,
        CrossKind::LedgerUnrelated,
        CrossKind::LedgerIncomplete,
        CrossKind::LedgerCollision,
        CrossKind::LedgerRelogin,
    ];
}

impl CrossKind {
    /// The ledger kinds that explain a gap, a short tail or a duplicate on
    /// disk as the client's doing: those seqs stop failing the seq check.
    pub const EXPLAINS: &'static [CrossKind] = &[
        CrossKind::GapClientGaveUp,
        CrossKind::GapClientSkipped,
        CrossKind::GapClientLostAtExit,
        CrossKind::GapClientRestarted,
        CrossKind::GapClientKilled,
        CrossKind::DuplicateClientRestarted,
    ];
}

impl Kind for CrossKind {
    const ALL: &'static [CrossKind] = &[
        CrossKind::GapBoth,
        CrossKind::GapServerOnly,
        CrossKind::GapDiskOnly,
        CrossKind::LoginWithoutRecordings,
        CrossKind::RecordingsWithoutLogin,
        CrossKind::CollisionConfirmed,
        CrossKind::CollisionLogOnly,
        CrossKind::DuplicateDiskOnly,
        CrossKind::AckedMissing,
        CrossKind::AckedSizeMismatch,
        CrossKind::GapClientGaveUp,
        CrossKind::GapClientSkipped,
        CrossKind::GapClientLostAtExit,
        CrossKind::GapClientRestarted,
        CrossKind::GapClientKilled,
        CrossKind::DuplicateClientRestarted,
        CrossKind::GapUnexplained,
        CrossKind::UnackedPresent,
        CrossKind::LoginNotInLedger,
        CrossKind::LedgerNotInLog,
        CrossKind::LedgerMalformed,
        CrossKind::LedgerUnrelated,
        CrossKind::LedgerIncomplete,
        CrossKind::LedgerCollision,
        CrossKind::LedgerRelogin,
    ];

    fn name(self) -> &'static str {
        match self {
            CrossKind::GapBoth => "gap_both",
            CrossKind::GapServerOnly => "gap_server_only",
            CrossKind::GapDiskOnly => "gap_disk_only",
            CrossKind::LoginWithoutRecordings => "login_without_recordings",
            CrossKind::RecordingsWithoutLogin => "recordings_without_login",
            CrossKind::CollisionConfirmed => "collision_confirmed",
            CrossKind::CollisionLogOnly => "collision_log_only",
            CrossKind::DuplicateDiskOnly => "duplicate_disk_only",
            CrossKind::AckedMissing => "acked_missing",
            CrossKind::AckedSizeMismatch => "acked_size_mismatch",
            CrossKind::GapClientGaveUp => "gap_client_gave_up",
            CrossKind::GapClientSkipped => "gap_client_skipped",
            CrossKind::GapClientLostAtExit => "gap_client_lost_at_exit",
            CrossKind::GapClientRestarted => "gap_client_restarted",
            CrossKind::GapClientKilled => "gap_client_killed",
            CrossKind::DuplicateClientRestarted => "duplicate_client_restarted",
            CrossKind::GapUnexplained => "gap_unexplained",
            CrossKind::UnackedPresent => "unacked_present",
            CrossKind::LoginNotInLedger => "login_not_in_ledger",
            CrossKind::LedgerNotInLog => "ledger_not_in_log",
            CrossKind::LedgerMalformed => "ledger_malformed",
            CrossKind::LedgerUnrelated => "ledger_unrelated",
            CrossKind::LedgerIncomplete => "ledger_incomplete",
            CrossKind::LedgerCollision => "ledger_collision",
            CrossKind::LedgerRelogin => "ledger_relogin",
        }
    }

    fn fails_by_default(self) -> bool {
        matches!(
            self,
            CrossKind::GapBoth
                | CrossKind::LoginWithoutRecordings
                | CrossKind::RecordingsWithoutLogin
                | CrossKind::CollisionConfirmed
                | CrossKind::AckedMissing
                | CrossKind::AckedSizeMismatch
                | CrossKind::GapUnexplained
                | CrossKind::LedgerMalformed
                | CrossKind::LedgerUnrelated
                | CrossKind::LedgerIncomplete
                | CrossKind::LedgerCollision
        )
    }
}

/// The whole gate report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateReport {
    /// Always `verify.gate/1`.
    pub schema: String,
    /// `pass`, `fail` or `error`: the worst of the checks.
    pub verdict: common::exit::Verdict,
    /// Failing kinds as `check:kind` (`seq:gap`, `cross:collision_confirmed`).
    pub failed_on: Vec<String>,
    /// One line per check that ran.
    pub checks: Vec<CheckVerdict>,
    /// The login audit, when `--log` was given.
    pub ids: Option<IdsReport>,
    /// The recordings audit, when `--dir` was given.
    pub seq: Option<SeqReport>,
    /// The celery audit, when `--celery-log` was given.
    pub merge: Option<MergeReport>,
    /// Cross-checks between the audits that ran.
    pub cross: Option<CrossReport>,
    /// Reports combined by `--merge` (their paths); empty for a direct run.
    pub merged_from: Vec<String>,
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckVerdict {
    /// `ids`, `seq`, `merge` or `cross`.
    pub check: String,
    /// `pass`, `fail` or `error`.
    pub verdict: common::exit::Verdict,
    /// Its failing kinds.
    pub failed_on: Vec<String>,
}

/// Cross-checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossReport {
    /// Gaps compared, per student and seq range.
    pub gaps: Vec<GapRow>,
    /// Students who logged in and left no recordings.
    pub logins_without_recordings: Vec<String>,
    /// Students with recordings who never logged in.
    pub recordings_without_login: Vec<String>,
    /// Collisions and disk duplicates compared.
    pub collisions: Vec<CollisionRow>,
    /// The client ledger against the disk and the log (`--ledger`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerReport>,
    /// The failing kinds found.
    pub failed_on: Vec<CrossKind>,
}

/// The client ledger reconciled with the server (`verify gate --ledger`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerReport {
    /// The ledger files read.
    pub files: Vec<LedgerFile>,
    /// Students the ledgers name.
    pub students: u64,
    /// Upload requests recorded, and seqs the server acknowledged.
    pub uploads: u64,
    pub acked_seqs: u64,
    /// Uploads sent without a seq (`--no-seq`) the server acknowledged.
    #[serde(default)]
    pub acked_unsequenced: u64,
    /// Findings, per student and kind.
    pub rows: Vec<LedgerRow>,
    /// What the reconciliation cannot know (a ledger cut short, students on no ledger).
    pub notes: Vec<String>,
    /// Ledger files that could not be read.
    pub errors: Vec<crate::report::PathError>,
}

/// One ledger file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerFile {
    pub path: String,
    /// Records read.
    pub records: u64,
    /// Lines that are no ledger record (counted, skipped; overlong lines included).
    pub malformed: u64,
    /// Records of a kind this version does not know (counted, skipped).
    #[serde(default)]
    pub unknown_kinds: u64,
    /// The first problems, as `file:line: what`.
    #[serde(default)]
    pub problems: Vec<String>,
    /// Run sections (`--ledger-append` adds one per run).
    #[serde(default)]
    pub sections: u64,
    /// True when it ends with its `end` record (the run finished).
    pub complete: bool,
}

/// One reconciliation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRow {
    pub kind: CrossKind,
    /// The exam (its folder name) the row's student was reconciled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exam: Option<String>,
    /// Student ID.
    pub id: String,
    /// The seqs concerned (inclusive ranges; empty for login rows).
    pub seqs: Vec<[u64; 2]>,
    /// The ledger record (`file:line`), when one applies.
    pub record: Option<String>,
    /// The file on disk, when one applies.
    pub file: Option<String>,
    /// What each side showed.
    pub detail: String,
}

/// A gap seen by the server, the disk, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapRow {
    /// Student ID.
    pub id: String,
    /// Missing seqs, inclusive ranges.
    pub seqs: Vec<[u64; 2]>,
    /// `gap_both`, `gap_server_only` or `gap_disk_only`.
    pub kind: CrossKind,
}

/// One ID's collision evidence from both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollisionRow {
    /// Student ID.
    pub id: String,
    /// `collision_confirmed`, `collision_log_only` or `duplicate_disk_only`.
    pub kind: CrossKind,
    /// What each side showed.
    pub evidence: String,
}

impl GateReport {
    /// The outcome this report maps to.
    pub fn outcome(&self) -> Outcome {
        self.verdict.outcome()
    }
}
