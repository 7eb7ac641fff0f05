//! The `verify merge` engine: celery logs -> merge fold -> report.

use std::io::{Cursor, Read};

use crate::audit::merge::{MergeFold, MergeRules};
use crate::exit::Outcome;
use crate::findings::FailOn;
use crate::report::PathError;
use crate::report::merge::{MergeKind, MergeReport, SCHEMA};
use crate::sources::lines::{self, Filter};
use crate::sources::logfile::{self, EncodingChoice, Opened, SAMPLE_BYTES, Stream};

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

/// Reads every celery log and returns the report.
pub fn run_merge(cfg: &MergeConfig) -> MergeReport {
    let (inputs, bad) = logfile::expand(&cfg.logs);
    let mut errors: Vec<PathError> = bad.into_iter().map(|(path, error)| PathError { path, error }).collect();
    let mut fold = MergeFold::default();
    for (idx, input) in inputs.iter().enumerate() {
        let reader: Box<dyn Read + Send> = match logfile::open(input) {
            Ok(Opened::Plain(f)) => Box::new(f),
            Ok(Opened::Stream(Stream(s))) => s,
            Err(e) => {
                errors.push(logfile::input_error(input, &e));
                continue;
            }
        };
        if let Err(e) = read_one(cfg, idx, reader, &mut fold) {
            let mut pe = logfile::input_error(input, &e);
            pe.error = format!("read stopped (truncated or damaged?): {}", pe.error);
            errors.push(pe);
        }
    }
    let names: Vec<String> = inputs.iter().map(logfile::Input::name).collect();
    let pieces = fold.finish(&|i| names.get(i).cloned().unwrap_or_default());
    let mut summary = pieces.summary;
    summary.files = inputs.len() as u64;
    let counts = [
        (MergeKind::ServerGap, pieces.server_gaps.len()),
        (MergeKind::TaskFailed, summary.failed as usize),
        (MergeKind::NeverFinished, pieces.never_finished.len()),
        (MergeKind::Retried, summary.retries as usize),
        (MergeKind::Warning, pieces.warnings.len()),
    ];
    let failed_on: Vec<MergeKind> = counts
        .iter()
        .filter(|(k, n)| *n > 0 && cfg.fail_on.fails(*k))
        .map(|(k, _)| *k)
        .collect();
    let outcome = Outcome::judge(!errors.is_empty(), !failed_on.is_empty());
    MergeReport {
        schema: SCHEMA.to_string(),
        verdict: outcome.verdict().to_string(),
        failed_on,
        summary,
        tasks: pieces.tasks,
        failures: pieces.failures,
        never_finished: pieces.never_finished,
        server_gaps: pieces.server_gaps,
        warnings: pieces.warnings,
        errors,
    }
}

fn read_one(
    cfg: &MergeConfig,
    idx: usize,
    mut reader: Box<dyn Read + Send>,
    fold: &mut MergeFold,
) -> std::io::Result<()> {
    let (head, head_err) = logfile::read_head(&mut reader, SAMPLE_BYTES);
    let enc = logfile::resolve(cfg.encoding, &head);
    let mut on = |i: u64, l: &[u8]| fold.observe(&cfg.rules, idx, i + 1, &logfile::decode(enc, l).0);
    let (_, err) = match head_err {
        Some(e) => (lines::scan(Cursor::new(head), None, &Filter::All, &mut on).0, Some(e)),
        None => lines::scan(Cursor::new(head).chain(reader), None, &Filter::All, &mut on),
    };
    err.map_or(Ok(()), Err)
}
