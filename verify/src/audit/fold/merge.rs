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
    /// Lines in the other encoding than `encoding` (`logfile::decode_line`).
    pub mixed_encoding_lines: u64,
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
        let (text, how) = logfile::decode_line(enc, bytes);
        log.mixed_encoding_lines += u64::from(how == logfile::LineEnc::Other);
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
        summary.mixed_encoding_lines = self.logs.iter().map(|l| l.mixed_encoding_lines).sum();
        let files = self
            .logs
            .iter()
            .map(|l| MergeFile {
                path: l.name.clone(),
                encoding: l.encoding.unwrap_or(encoding_rs::UTF_8).name().to_ascii_lowercase(),
                lines: l.lines,
                mixed_encoding_lines: l.mixed_encoding_lines,
            })
            .collect();
        let mut report = MergeReport {
            schema: SCHEMA.to_string(),
            verdict: common::exit::Verdict::Pass,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merge::{GAP_WORDS, MergeRules};
    use crate::sources::logfile::EncodingChoice;

    /// `verify watch` alerts on both real wordings, once per gap: the status
    /// worker re-queues a skipped student every 30 s and each run repeats it.
    #[test]
    fn live_lines_alert_both_wordings_once() {
        let cfg = MergeConfig {
            logs: Vec::new(),
            rules: MergeRules {
                gap_words: GAP_WORDS.iter().map(|w| w.to_string()).collect(),
                id: crate::classify::login::id_regex("test_"),
                exams: Vec::new(),
            },
            encoding: EncodingChoice::Auto,
            fail_on: crate::findings::FailOn::default(),
        };
        let mut part = MergePart::default();
        part.logs.push(CeleryLog {
            name: "merge.log".into(),
            lines: 0,
            encoding: None,
            mixed_encoding_lines: 0,
        });
        let skip = "[2026-04-15 10:30:00,114: WARNING/ForkPoolWorker-2] [视频合并] 序号不连续，跳过合并: \
                    考试=12, 学生=2023010103, 缺失序号=[3, 4], 实际序号范围=1-6";
        let found = "[2025-12-29 15:30:00,217: WARNING/ForkPoolWorker-1] [视频合并] 检测到序号缺失: \
                     考试=11, 学生=2023010102, 缺失序号=[2], 实际序号=[1, 3, 4]";
        let gap = |id: &str, missing: Vec<[u64; 2]>| Alert::ServerGap { id: id.into(), missing };
        assert_eq!(
            part.observe_line(&cfg, 0, skip.as_bytes()),
            [gap("2023010103", vec![[3, 4]])]
        );
        assert_eq!(part.observe_line(&cfg, 0, skip.as_bytes()), []);
        assert_eq!(
            part.observe_line(&cfg, 0, found.as_bytes()),
            [gap("2023010102", vec![[2, 2]])]
        );
        let r = part.report(&cfg);
        assert_eq!(r.merge_skipped.len(), 1);
        assert_eq!((r.merge_skipped[0].runs, r.merge_skipped[0].requeued), (2, 1));
    }
}
