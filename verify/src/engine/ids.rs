//! The `verify ids` engine: inputs -> line scan -> login observations -> fold
//! -> report. Big plain files are split into line-aligned ranges scanned in
//! parallel; each range folds on its own and the folds merge in file order.

use std::fs::File;
use std::io::{self, Cursor, Read};

use encoding_rs::{Encoding, UTF_8};
use rayon::prelude::*;

use crate::audit::fold::ids::{IdsPart, LogState};
use crate::audit::ids::LoginFold;
use crate::classify::logline::header;
use crate::report::PathError;
use crate::report::ids::IdsReport;
pub use crate::settings::IdsConfig;
use crate::sources::lines::{self, Filter, RangeReader, ScanStats};
use crate::sources::logfile::{self, EncodingChoice, Input, LineEnc, Opened, SAMPLE_BYTES};

/// Default for `IdsConfig::split_min_bytes`: below it one thread is faster.
pub const SPLIT_MIN_BYTES: u64 = 32 << 20;

/// What one file gave.
struct FileResult {
    log: LogState,
    fold: LoginFold,
    error: Option<PathError>,
}

/// Why the login audit could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum IdsError {
    #[error("start worker threads: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
    /// The database could not be read: unreachable, refused, the wrong one.
    #[error("{0}")]
    Db(String),
}

/// Reads every log and returns the report.
pub fn run_ids(cfg: &IdsConfig) -> Result<IdsReport, IdsError> {
    Ok(read_ids(cfg)?.report(cfg))
}

/// Reads the login source (logs, ledgers or the database) into the login
/// part of the fold.
pub fn read_ids(cfg: &IdsConfig) -> Result<IdsPart, IdsError> {
    if let Some(db) = &cfg.db {
        return crate::sources::db::read_logins(db).map_err(IdsError::Db);
    }
    if !cfg.ledgers.is_empty() {
        return Ok(from_ledgers(&cfg.ledgers));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build()?;
    let (inputs, bad) = logfile::expand(&cfg.logs);
    let mut part = IdsPart::default();
    part.errors = bad.into_iter().map(|(path, error)| PathError { path, error }).collect();
    for (idx, input) in inputs.iter().enumerate() {
        let r = pool.install(|| read_input(cfg, idx, input, None));
        part.add_file(r.log, r.fold, r.error);
    }
    Ok(part)
}

/// The ledgers' logins as a login part: one "file" per ledger, each worker
/// a source, no collision window.
fn from_ledgers(args: &[String]) -> IdsPart {
    let ledger = crate::engine::ledger::read_ledgers(args);
    let mut part = IdsPart::default();
    part.no_window = true;
    part.errors = ledger.errors.clone();
    part.errors
        .extend(ledger.refusals().into_iter().map(|(path, why)| PathError {
            path,
            error: format!("not a ledger this build reads: {why}"),
        }));
    let count = |by: &std::collections::HashMap<String, Vec<crate::audit::ids::LoginEvent>>, i: usize| {
        by.values().flatten().filter(|e| e.file == i).count() as u64
    };
    // A ledger that lies about its length, or holds lines that are no
    // record, cannot vouch for the logins it lacks: an error, never a pass.
    for f in ledger.files.iter().filter(|f| f.refused.is_none()) {
        let mut why = Vec::new();
        if f.malformed > 0 || f.unknown_kinds > 0 {
            why.push(format!(
                "{} line(s) are no ledger record or of an unknown kind",
                f.malformed.saturating_add(f.unknown_kinds)
            ));
        }
        if f.sections == 0 {
            why.push(
                "it holds no run section (empty, or only blank lines: a worker killed before its first flush?)"
                    .to_string(),
            );
        }
        if f.miscounted > 0 {
            why.push(format!(
                "{} run section(s) do not hold the lines their closing record counts",
                f.miscounted
            ));
        } else if f.sections > 0 && !f.complete() {
            why.push("a run section has no end record (the client was killed, or the file was cut)".to_string());
        }
        if !why.is_empty() {
            part.errors.push(PathError {
                path: f.name.clone(),
                error: format!(
                    "{}: its logins may be incomplete; audit the whole ledger (or `verify gate --ledger`, which says what it can still reconcile)",
                    why.join("; ")
                ),
            });
        }
    }
    for (i, f) in ledger.files.iter().enumerate() {
        let mut log = LogState::empty(f.name.clone());
        log.summary.lines = f.lines;
        log.summary.login_events = count(&ledger.logins.fold.by_id, i);
        log.summary.logout_events = count(&ledger.logins.fold.logouts_by_id, i);
        part.logs.push(log);
    }
    part.fold = ledger.logins.fold;
    part
}

/// Reads the first `limit` bytes of one plain file as file `idx` of `part`
/// (`verify watch`: what a log holds at start, up to where following begins).
pub fn read_prefix(cfg: &IdsConfig, part: &mut IdsPart, path: &std::path::Path, limit: u64) {
    let idx = part.logs.len();
    let r = read_input(cfg, idx, &Input::File(path.to_path_buf()), Some(limit));
    part.add_file(r.log, r.fold, r.error);
}

fn read_input(cfg: &IdsConfig, idx: usize, input: &Input, limit: Option<u64>) -> FileResult {
    let mut res = FileResult {
        log: LogState::empty(input.name()),
        fold: LoginFold::default(),
        error: None,
    };
    let outcome = match logfile::open(input) {
        Err(e) => {
            res.error = Some(logfile::input_error(input, &e));
            return res;
        }
        Ok(Opened::Stream(s)) => scan_stream(cfg, idx, s.0, &mut res),
        Ok(Opened::Plain(f)) => scan_plain(cfg, idx, &f, limit, &mut res),
    };
    if let Err(e) = outcome {
        let mut pe = logfile::input_error(input, &e);
        pe.error = format!(
            "read stopped after {} lines (truncated or damaged?): {}",
            res.log.summary.lines, pe.error
        );
        res.error = Some(pe);
    }
    res.log.summary.login_events = res.fold.events;
    res.log.summary.logout_events = res.fold.logouts;
    res
}

/// Encoding, leading NULs, access and undecodable lines, from a file's head.
fn sample(cfg: &IdsConfig, head: &[u8], res: &mut FileResult) -> &'static Encoding {
    let enc = logfile::resolve(cfg.encoding, head);
    let log = &mut res.log;
    // A whole file of ASCII says nothing about what follows: `watch` decides
    // on the first live line that tells UTF-8 from GB18030.
    log.encoding = (!logfile::undecided(cfg.encoding, head)).then_some(enc);
    log.summary.encoding = enc.name().to_ascii_lowercase();
    if cfg.encoding == EncodingChoice::Auto {
        log.auto_chose = Some(if enc == UTF_8 { "utf-8" } else { "gb18030" });
    }
    let nuls = head.iter().take_while(|&&b| b == 0).count();
    log.summary.leading_nul_bytes = nuls as u64;
    let body = head.get(nuls..).unwrap_or_default();
    // Only whole lines: the sample may end mid-line.
    let body = if head.len() == SAMPLE_BYTES {
        memchr::memrchr(b'\n', body).map_or(&body[..0], |i| &body[..i])
    } else {
        body
    };
    // Candidate lines are decoded (and counted) by the scan itself.
    let words = logfile::encode_both(enc, &cfg.matcher.words());
    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        log.sampled_lines += 1;
        let candidate = words.is_empty() || words.iter().any(|w| memchr::memmem::find(line, w).is_some());
        let (text, how) = logfile::decode_line(enc, line);
        if !candidate {
            log.summary.undecodable_lines += u64::from(how == LineEnc::Bad);
            log.summary.mixed_encoding_lines += u64::from(how == LineEnc::Other);
        }
        let access = header(&text).access;
        log.access_lines_sampled += u64::from(access);
        log.login_requests_sampled += u64::from(access && is_login_request(&text));
    }
    enc
}

/// An access line of a login request the server answered 2xx:
/// `"POST /api/login HTTP/1.1" 200`.
fn is_login_request(text: &str) -> bool {
    let Some(i) = text.find("\"POST /api/login") else {
        return false;
    };
    let rest = text.get(i + 1..).unwrap_or_default();
    let after = rest.find('"').and_then(|q| rest.get(q + 1..)).unwrap_or_default();
    after.trim_start().starts_with('2')
}

/// The byte search for candidate lines: the words in the file's encoding
/// and in the other one (`logfile::decode_line`), in one pass.
fn finder(cfg: &IdsConfig, enc: &'static Encoding) -> Filter<'static> {
    Filter::packed(&logfile::encode_both(enc, &cfg.matcher.words()))
}

/// Classifies one candidate line into `fold`; counts undecodable ones.
fn on_line(
    cfg: &IdsConfig,
    enc: &'static Encoding,
    idx: usize,
    line_no: u64,
    bytes: &[u8],
    fold: &mut LoginFold,
    bad: &mut Odd,
) {
    let (text, how) = logfile::decode_line(enc, bytes);
    bad.count(how);
    if let Some(obs) = cfg.matcher.observe(&text, idx, line_no) {
        fold.observe(obs);
    }
}

fn scan_stream<R: Read>(cfg: &IdsConfig, idx: usize, mut reader: R, res: &mut FileResult) -> io::Result<()> {
    let (head, head_err) = logfile::read_head(&mut reader, SAMPLE_BYTES);
    let enc = sample(cfg, &head, res);
    let filter = finder(cfg, enc);
    let (mut fold, mut bad) = (LoginFold::default(), Odd::default());
    let mut on = |i: u64, l: &[u8]| on_line(cfg, enc, idx, i + 1, l, &mut fold, &mut bad);
    // After a damaged head, scan what was read and stop there.
    let (st, err) = match head_err {
        Some(e) => (lines::scan(Cursor::new(head), None, &filter, &mut on).0, Some(e)),
        None => lines::scan(Cursor::new(head).chain(reader), None, &filter, &mut on),
    };
    add_stats(res, st, fold, bad);
    err.map_or(Ok(()), Err)
}

fn scan_plain(cfg: &IdsConfig, idx: usize, file: &File, limit: Option<u64>, res: &mut FileResult) -> io::Result<()> {
    let len = file.metadata()?.len();
    let len = limit.map_or(len, |l| l.min(len));
    // A copytruncate hole can be longer than the sample: measure all of it,
    // and sample the text after it.
    let mut nuls = 0u64;
    let head = loop {
        let (head, err) = logfile::read_head(&mut RangeReader::new(file, nuls), SAMPLE_BYTES);
        if let Some(e) = err {
            return Err(e);
        }
        let run = head.iter().take_while(|&&b| b == 0).count();
        nuls += run as u64;
        if run < head.len() || head.is_empty() {
            break head;
        }
    };
    let head = if (head.len() as u64) > len.saturating_sub(nuls) {
        head.get(..len.saturating_sub(nuls) as usize)
            .unwrap_or_default()
            .to_vec()
    } else {
        head
    };
    let enc = sample(cfg, &head, res);
    res.log.summary.leading_nul_bytes = nuls;
    let filter = finder(cfg, enc);
    let parts = if len >= cfg.split_min_bytes {
        rayon::current_num_threads() * 2
    } else {
        1
    };
    let ranges = lines::split(file, len, parts)?;
    let results: Vec<(ScanStats, LoginFold, Odd, Option<io::Error>)> = ranges
        .par_iter()
        .map(|&(start, limit)| {
            let (mut fold, mut bad) = (LoginFold::default(), Odd::default());
            let (st, err) = lines::scan(RangeReader::new(file, start), Some(limit), &filter, |i, l| {
                on_line(cfg, enc, idx, i + 1, l, &mut fold, &mut bad)
            });
            (st, fold, bad, err)
        })
        .collect();
    // Line numbers were per range: shift each range's by the lines before it.
    let mut first_error = None;
    for (st, mut fold, bad, err) in results {
        shift_lines(&mut fold, res.log.summary.lines);
        add_stats(res, st, fold, bad);
        if first_error.is_none() {
            first_error = err;
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn shift_lines(fold: &mut LoginFold, by: u64) {
    for evs in fold.by_id.values_mut().chain(fold.logouts_by_id.values_mut()) {
        evs.iter_mut().for_each(|e| e.line += by);
    }
    fold.malformed_samples.iter_mut().for_each(|s| s.1 += by);
}

/// Candidate lines that decoded in neither encoding, and in the other one.
#[derive(Debug, Default, Clone, Copy)]
struct Odd {
    bad: u64,
    mixed: u64,
}

impl Odd {
    fn count(&mut self, how: LineEnc) {
        self.bad += u64::from(how == LineEnc::Bad);
        self.mixed += u64::from(how == LineEnc::Other);
    }
}

fn add_stats(res: &mut FileResult, st: ScanStats, fold: LoginFold, bad: Odd) {
    res.log.summary.lines += st.lines;
    res.log.summary.overlong_lines += st.overlong;
    res.log.summary.undecodable_lines += bad.bad;
    res.log.summary.mixed_encoding_lines += bad.mixed;
    res.fold.merge(fold);
}
