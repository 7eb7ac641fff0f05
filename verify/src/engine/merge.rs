//! The `verify merge` engine: celery logs -> merge fold -> report.

use std::io::{Cursor, Read};
use std::path::Path;

use crate::audit::fold::merge::{CeleryLog, MergePart};
use crate::report::PathError;
use crate::report::merge::MergeReport;
pub use crate::settings::MergeConfig;
use crate::sources::lines::{self, Filter};
use crate::sources::logfile::{self, Input, SAMPLE_BYTES};

/// Reads every celery log and returns the report.
pub fn run_merge(cfg: &MergeConfig) -> MergeReport {
    read_merge(cfg).report(cfg)
}

/// Reads every celery log into the merge part of the fold.
pub fn read_merge(cfg: &MergeConfig) -> MergePart {
    let (inputs, bad) = logfile::expand(&cfg.logs);
    let mut part = MergePart::default();
    part.errors = bad.into_iter().map(|(path, error)| PathError { path, error }).collect();
    for input in &inputs {
        read_input(cfg, &mut part, input, None);
    }
    part
}

/// Reads the first `limit` bytes of one file as the next log of `part`
/// (`verify watch`: what a log holds at start, up to where following begins).
pub fn read_prefix(cfg: &MergeConfig, part: &mut MergePart, path: &Path, limit: u64) {
    read_input(cfg, part, &Input::File(path.to_path_buf()), Some(limit));
}

fn read_input(cfg: &MergeConfig, part: &mut MergePart, input: &Input, limit: Option<u64>) {
    let idx = part.logs.len();
    part.logs.push(CeleryLog {
        name: input.name(),
        lines: 0,
        encoding: None,
        mixed_encoding_lines: 0,
    });
    let reader = match logfile::open_reader(input, limit) {
        Ok(r) => r,
        Err(e) => {
            part.errors.push(logfile::input_error(input, &e));
            return;
        }
    };
    if let Err(e) = read_one(cfg, idx, reader, part) {
        part.errors.push(logfile::stopped_error(input, &e));
    }
}

fn read_one(
    cfg: &MergeConfig,
    idx: usize,
    mut reader: Box<dyn Read + Send>,
    part: &mut MergePart,
) -> std::io::Result<()> {
    let (head, head_err) = logfile::read_head(&mut reader, SAMPLE_BYTES);
    let enc = logfile::resolve(cfg.encoding, &head);
    let undecided = logfile::undecided(cfg.encoding, &head);
    let (fold, mut mixed) = (&mut part.fold, 0u64);
    let mut on = |i: u64, l: &[u8]| {
        let (text, how) = logfile::decode_line(enc, l);
        mixed += u64::from(how == logfile::LineEnc::Other);
        fold.observe(&cfg.rules, idx, i + 1, &text);
    };
    let (st, err) = match head_err {
        Some(e) => (lines::scan(Cursor::new(head), None, &Filter::All, &mut on).0, Some(e)),
        None => lines::scan(Cursor::new(head).chain(reader), None, &Filter::All, &mut on),
    };
    part.fold.skipped_overlong(st.overlong);
    if let Some(log) = part.logs.get_mut(idx) {
        log.lines = st.lines;
        log.mixed_encoding_lines = mixed;
        log.encoding = (!undecided).then_some(enc);
    }
    err.map_or(Ok(()), Err)
}
