//! Validated settings of each check, built by `config.rs` from the command
//! line and read by the engines (I/O) and the folds (judging) alike.

use std::path::PathBuf;

use crate::audit::merge::MergeRules;
use crate::audit::seq::SeqRules;
use crate::classify::login::LoginMatcher;
use crate::expect::Expectation;
use crate::findings::FailOn;
use crate::report::gate::CrossKind;
use crate::report::ids::IdsKind;
use crate::report::merge::MergeKind;
use crate::report::seq::SeqKind;
use crate::sources::logfile::EncodingChoice;
use crate::sources::tree::ScanOptions;

/// Everything `verify ids` needs, validated.
#[derive(Debug, Clone)]
pub struct IdsConfig {
    /// `--log` arguments as given (paths, globs, `-`).
    pub logs: Vec<String>,
    /// `--ledger` instead: the load generator's ledgers.
    pub ledgers: Vec<String>,
    /// `--db` instead: the server's login history.
    pub db: Option<crate::sources::db::DbSource>,
    /// Classifies candidate lines.
    pub matcher: LoginMatcher,
    /// Encoding choice.
    pub encoding: EncodingChoice,
    /// Logins of one ID within this many seconds are a collision.
    pub window_secs: u64,
    /// Expected population (may be empty).
    pub expect: Expectation,
    /// Kinds that fail the run.
    pub fail_on: FailOn<IdsKind>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Plain files at least this big are split into ranges scanned in parallel.
    pub split_min_bytes: u64,
}

/// Everything `verify seq` needs, validated.
#[derive(Debug, Clone)]
pub struct SeqConfig {
    /// Keep each segment's seq, size and name for the ledger reconciliation.
    pub keep_segments: bool,
    /// The tree to scan, absolute (`config::absolute`): notify reports
    /// absolute paths, and every path of the scan is matched against them.
    pub dir: PathBuf,
    /// `--dir` as the user wrote it: the report shows paths under it so.
    pub dir_shown: PathBuf,
    /// How folders are read.
    pub scan: ScanOptions,
    /// Per-student checks.
    pub rules: SeqRules,
    /// Expected population (may be empty), of each exam.
    pub expect: Expectation,
    /// `--exam`: the exams audited (folder names); empty: every exam.
    pub exams: Vec<String>,
    /// Kinds that fail the run.
    pub fail_on: FailOn<SeqKind>,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

impl SeqConfig {
    /// A path of the scan (escaped, as in reports) written under `--dir` as
    /// the user gave it: `server_data/30/recordings`, not `/home/…/server_data/…`.
    pub fn shown(&self, path: &str) -> String {
        let abs = common::text::escape_os(self.dir.as_os_str());
        let typed = common::text::escape_os(self.dir_shown.as_os_str());
        if abs == typed {
            return path.to_string();
        }
        let typed = match typed.trim_end_matches('/') {
            "" => "/",
            t => t,
        };
        match path.strip_prefix(abs.as_str()) {
            Some("") => typed.to_string(),
            Some(rest) if rest.starts_with('/') => format!("{}{rest}", typed.trim_end_matches('/')),
            _ => path.to_string(),
        }
    }
}

/// Everything `verify merge` needs.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// `--log` arguments (paths, globs, `-`).
    pub logs: Vec<String>,
    /// What to look for.
    pub rules: MergeRules,
    /// Encoding choice.
    pub encoding: EncodingChoice,
    /// Kinds that fail the run.
    pub fail_on: FailOn<MergeKind>,
}

/// Everything `verify gate` runs.
#[derive(Debug, Clone)]
pub struct GateConfig {
    pub ids: Option<IdsConfig>,
    pub seq: Option<SeqConfig>,
    pub merge: Option<MergeConfig>,
    pub cross_fail_on: FailOn<CrossKind>,
    /// Fail `seq:gap` only when missing seqs exceed this share of the seqs expected.
    pub max_missing_ratio: Option<f64>,
    /// `--ledger` files (paths, globs): client ledgers to reconcile.
    pub ledgers: Vec<String>,
}
