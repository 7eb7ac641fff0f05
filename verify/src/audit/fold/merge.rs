//! The celery part of the gate fold: merge-worker logs, read whole in batch
//! or line by line live, into one `MergeFold` and one judged report.

use encoding_rs::Encoding;

use crate::audit::merge::MergeFold;
use crate::findings::judge;
use crate::report::PathError;
use crate::report::merge::MergeFile;
use crate::report::merge::{MergeReport, SCHEMA};
use crate::settings::MergeConfig;
use crate::sources::logfile::{self, EncodingChoice};

use super::Alert;

/// One celery log as read so far.
#[derive(Debug, Clone)]
pub struct CeleryLog {
    /// Its name in the report.
    pub name: String,
    /// Lines read (the next live line is this plus one).
    pub lines: u64,
    /// The decoding in use; `None` until a live file's first bytes arrive.
    pub encoding: Option<&'static Encoding>,
}

/// The merge audit's state.
#[derive(Debug, Clone, Default)]
pub struct MergePart {
    pub logs: Vec<CeleryLog>,
    pub fold: MergeFold,
    pub errors: Vec<PathError>,
    /// Server gap lines already alerted.
    gaps_alerted: usize,
}

impl MergePart {
    /// Folds one live line of file `file` (bytes without the newline).
    /// Returns the alerts it raised: a gap line (`序号缺失`, `序号不连续`) names missing seqs.
    pub fn observe_line(&mut self, cfg: &MergeConfig, file: usize, bytes: &[u8]) -> Vec<Alert> {
        let Some(log) = self.logs.get_mut(file) else {
            return Vec::new();
        };
        let enc = match log.encoding {
            Some(enc) => enc,
            // ASCII reads the same in UTF-8 and GB18030: `auto` waits for a
            // line that tells them apart.
            None if cfg.encoding == EncodingChoice::Auto && bytes.is_ascii() => encoding_rs::UTF_8,
            None => *log.encoding.insert(logfile::resolve(cfg.encoding, bytes)),
        };
        log.lines = log.lines.saturating_add(1);
        let text = logfile::decode(enc, bytes).0;
        self.fold.observe(&cfg.rules, file, log.lines, &text);
        let new = self.fold.gaps_since(self.gaps_alerted);
        self.gaps_alerted += new.len();
        new.into_iter()
            .map(|(id, missing)| Alert::ServerGap { id, missing })
            .collect()
    }

    /// Marks the gap lines seen so far as alerted (the state found at start).
    pub fn quiet(&mut self) {
        self.gaps_alerted += self.fold.gaps_since(self.gaps_alerted).len();
    }

    /// Server gap lines alerted so far.
    pub fn alerted(&self) -> usize {
        self.gaps_alerted
    }

    /// The report, judged.
    pub fn report(&self, cfg: &MergeConfig) -> MergeReport {
        let pieces = self.fold.finish(&cfg.rules, &|i| {
            self.logs.get(i).map(|l| l.name.clone()).unwrap_or_default()
        });
        let mut summary = pieces.summary;
        summary.files = self.logs.len() as u64;
        let files = self
            .logs
            .iter()
            .map(|l| MergeFile {
                path: l.name.clone(),
                encoding: l.encoding.unwrap_or(encoding_rs::UTF_8).name().to_ascii_lowercase(),
                lines: l.lines,
            })
            .collect();
        let mut report = MergeReport {
            schema: SCHEMA.to_string(),
            verdict: crate::exit::Verdict::Pass,
            failed_on: Vec::new(),
            summary,
            files,
            tasks: pieces.tasks,
            failures: pieces.failures,
            never_finished: pieces.never_finished,
            server_gaps: pieces.server_gaps,
            merge_skipped: pieces.merge_skipped,
            students: pieces.students,
            warnings: pieces.warnings,
            errors: self.errors.clone(),
        };
        (report.failed_on, report.verdict) = judge(report.counts(), &cfg.fail_on, !self.errors.is_empty());
        report
    }
}
