//! The `verify ids` engine: inputs -> line scan -> login observations -> fold
//! -> report. Big plain files are split into line-aligned ranges scanned in
//! parallel; each range folds on its own and the folds merge in file order.

use std::fs::File;
use std::io::{self, Cursor, Read};

use encoding_rs::{Encoding, UTF_8};
use memchr::memmem::Finder;
use rayon::prelude::*;

use crate::audit::ids::LoginFold;
use crate::classify::login::LoginMatcher;
use crate::classify::logline::header;
use crate::exit::Outcome;
use crate::expect::Expectation;
use crate::findings::FailOn;
use crate::report::PathError;
use crate::report::ids::{FileSummary, IdsKind, IdsReport, IdsSummary, Malformed, SCHEMA};
use crate::sources::lines::{self, Filter, RangeReader, ScanStats};
use crate::sources::logfile::{self, EncodingChoice, Input, Opened, SAMPLE_BYTES};

/// Everything `verify ids` needs, validated.
#[derive(Debug, Clone)]
pub struct IdsConfig {
    /// `--log` arguments as given (paths, globs, `-`).
    pub logs: Vec<String>,
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

/// Default for `IdsConfig::split_min_bytes`: below it one thread is faster.
pub const SPLIT_MIN_BYTES: u64 = 32 << 20;
/// A file whose sampled lines are this undecodable (per mille) gets a warning.
const UNDECODABLE_WARN_PER_MILLE: u64 = 10;

/// What one file gave.
struct FileResult {
    summary: FileSummary,
    fold: LoginFold,
    access_lines_sampled: u64,
    sampled_lines: u64,
    auto_chose: Option<&'static str>,
    error: Option<PathError>,
}

/// Reads every log and returns the report.
pub fn run_ids(cfg: &IdsConfig) -> Result<IdsReport, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build()?;
    let (inputs, bad) = logfile::expand(&cfg.logs);
    let mut errors: Vec<PathError> = bad.into_iter().map(|(path, error)| PathError { path, error }).collect();
    let mut fold = LoginFold::default();
    let (mut files, mut warnings) = (Vec::new(), Vec::new());
    for (idx, input) in inputs.iter().enumerate() {
        let r = pool.install(|| read_input(cfg, idx, input));
        warnings.extend(file_warnings(cfg, &r));
        fold.merge(r.fold);
        errors.extend(r.error);
        files.push(r.summary);
    }
    Ok(assemble(cfg, fold, files, warnings, errors))
}

fn read_input(cfg: &IdsConfig, idx: usize, input: &Input) -> FileResult {
    let name = input.name();
    let mut res = FileResult {
        summary: FileSummary {
            path: name.clone(),
            encoding: "utf-8".into(),
            lines: 0,
            login_events: 0,
            undecodable_lines: 0,
            leading_nul_bytes: 0,
            overlong_lines: 0,
        },
        fold: LoginFold::default(),
        access_lines_sampled: 0,
        sampled_lines: 0,
        auto_chose: None,
        error: None,
    };
    let outcome = match logfile::open(input) {
        Err(e) => {
            res.error = Some(logfile::input_error(input, &e));
            return res;
        }
        Ok(Opened::Stream(s)) => scan_stream(cfg, idx, s.0, &mut res),
        Ok(Opened::Plain(f)) => scan_plain(cfg, idx, &f, &mut res),
    };
    if let Err(e) = outcome {
        let mut pe = logfile::input_error(input, &e);
        pe.error = format!(
            "read stopped after {} lines (truncated or damaged?): {}",
            res.summary.lines, pe.error
        );
        res.error = Some(pe);
    }
    res.summary.login_events = res.fold.events;
    res
}

/// Encoding, leading NULs, access and undecodable lines, from a file's head.
fn sample(cfg: &IdsConfig, head: &[u8], res: &mut FileResult) -> &'static Encoding {
    let enc = logfile::resolve(cfg.encoding, head);
    res.summary.encoding = enc.name().to_ascii_lowercase();
    if cfg.encoding == EncodingChoice::Auto {
        res.auto_chose = Some(if enc == UTF_8 { "utf-8" } else { "gb18030" });
    }
    res.summary.leading_nul_bytes = head.iter().take_while(|&&b| b == 0).count() as u64;
    let body = &head[res.summary.leading_nul_bytes as usize..];
    // Only whole lines: the sample may end mid-line.
    let body = if head.len() == SAMPLE_BYTES {
        memchr::memrchr(b'\n', body).map_or(&body[..0], |i| &body[..i])
    } else {
        body
    };
    // Candidate lines are decoded (and counted) by the scan itself.
    let event = cfg.matcher.event.as_ref().map(|ev| logfile::encode(enc, ev));
    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        res.sampled_lines += 1;
        let (text, clean) = logfile::decode(enc, line);
        let candidate = event.as_ref().is_none_or(|ev| memchr::memmem::find(line, ev).is_some());
        res.summary.undecodable_lines += u64::from(!clean && !candidate);
        res.access_lines_sampled += u64::from(header(&text).access);
    }
    enc
}

fn finder(cfg: &IdsConfig, enc: &'static Encoding) -> Filter<'static> {
    match &cfg.matcher.event {
        Some(ev) => Filter::Contains(Box::new(Finder::new(&logfile::encode(enc, ev)).into_owned())),
        None => Filter::All,
    }
}

/// Classifies one candidate line into `fold`; counts undecodable ones.
fn on_line(
    cfg: &IdsConfig,
    enc: &'static Encoding,
    idx: usize,
    line_no: u64,
    bytes: &[u8],
    fold: &mut LoginFold,
    bad: &mut u64,
) {
    let (text, clean) = logfile::decode(enc, bytes);
    *bad += u64::from(!clean);
    if let Some(obs) = cfg.matcher.observe(&text, idx, line_no) {
        fold.observe(obs);
    }
}

fn scan_stream<R: Read>(cfg: &IdsConfig, idx: usize, mut reader: R, res: &mut FileResult) -> io::Result<()> {
    let (head, head_err) = logfile::read_head(&mut reader, SAMPLE_BYTES);
    let enc = sample(cfg, &head, res);
    let filter = finder(cfg, enc);
    let (mut fold, mut bad) = (LoginFold::default(), 0);
    let mut on = |i: u64, l: &[u8]| on_line(cfg, enc, idx, i + 1, l, &mut fold, &mut bad);
    // After a damaged head, scan what was read and stop there.
    let (st, err) = match head_err {
        Some(e) => (lines::scan(Cursor::new(head), None, &filter, &mut on).0, Some(e)),
        None => lines::scan(Cursor::new(head).chain(reader), None, &filter, &mut on),
    };
    add_stats(res, st, fold, bad);
    err.map_or(Ok(()), Err)
}

fn scan_plain(cfg: &IdsConfig, idx: usize, file: &File, res: &mut FileResult) -> io::Result<()> {
    let len = file.metadata()?.len();
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
    let enc = sample(cfg, &head, res);
    res.summary.leading_nul_bytes = nuls;
    let filter = finder(cfg, enc);
    let parts = if len >= cfg.split_min_bytes {
        rayon::current_num_threads() * 2
    } else {
        1
    };
    let ranges = lines::split(file, len, parts)?;
    let results: Vec<(ScanStats, LoginFold, u64, Option<io::Error>)> = ranges
        .par_iter()
        .map(|&(start, limit)| {
            let (mut fold, mut bad) = (LoginFold::default(), 0);
            let (st, err) = lines::scan(RangeReader::new(file, start), Some(limit), &filter, |i, l| {
                on_line(cfg, enc, idx, i + 1, l, &mut fold, &mut bad)
            });
            (st, fold, bad, err)
        })
        .collect();
    // Line numbers were per range: shift each range's by the lines before it.
    let mut first_error = None;
    for (st, mut fold, bad, err) in results {
        shift_lines(&mut fold, res.summary.lines);
        add_stats(res, st, fold, bad);
        if first_error.is_none() {
            first_error = err;
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn shift_lines(fold: &mut LoginFold, by: u64) {
    for evs in fold.by_id.values_mut() {
        evs.iter_mut().for_each(|e| e.line += by);
    }
    fold.malformed_samples.iter_mut().for_each(|s| s.1 += by);
}

fn add_stats(res: &mut FileResult, st: ScanStats, fold: LoginFold, bad: u64) {
    res.summary.lines += st.lines;
    res.summary.overlong_lines += st.overlong;
    res.summary.undecodable_lines += bad;
    res.fold.merge(fold);
}

fn file_warnings(cfg: &IdsConfig, r: &FileResult) -> Vec<String> {
    let (s, mut w) = (&r.summary, Vec::new());
    if let Some(enc) = r.auto_chose {
        w.push(format!("{}: encoding detected as {enc}", s.path));
    }
    let sampled_bad = s.undecodable_lines;
    if sampled_bad > 0 && sampled_bad * 1000 >= r.sampled_lines.max(1) * UNDECODABLE_WARN_PER_MILLE {
        let hint = if s.encoding == "utf-8" {
            "; a server with a Chinese locale writes GB18030: try --encoding gb18030 or --encoding auto"
        } else {
            ""
        };
        w.push(format!(
            "{}: {sampled_bad} line(s) are not valid {}{hint}",
            s.path, s.encoding
        ));
    }
    if s.leading_nul_bytes > 0 {
        w.push(format!(
            "{}: starts with {} NUL bytes (a copytruncate of a file written without O_APPEND); skipped",
            s.path, s.leading_nul_bytes
        ));
    }
    if s.overlong_lines > 0 {
        w.push(format!(
            "{}: {} line(s) over 64 MiB were counted but not searched",
            s.path, s.overlong_lines
        ));
    }
    if r.fold.events == 0 && r.access_lines_sampled > 0 && cfg.matcher.event.is_some() {
        w.push(format!(
            "{}: holds gunicorn access lines but no login events; access lines never carry the student ID. \
             When gunicorn's --error-logfile is a separate file the application's messages are there: try --log gunicorn_error.log",
            s.path
        ));
    }
    w
}

fn assemble(
    cfg: &IdsConfig,
    fold: LoginFold,
    files: Vec<FileSummary>,
    warnings: Vec<String>,
    errors: Vec<PathError>,
) -> IdsReport {
    let names: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    let name = |i: usize| names.get(i).cloned().unwrap_or_default();
    let duplicates = fold.duplicates(cfg.window_secs as i64, &name);
    let cmp = cfg.expect.compare(fold.by_id.keys().map(String::as_str));
    let collisions = duplicates.iter().filter(|d| d.kind == IdsKind::Collision).count() as u64;
    let relogins = duplicates.len() as u64 - collisions;
    let counts = [
        (IdsKind::Collision, collisions),
        (IdsKind::Relogin, relogins),
        (IdsKind::Missing, cmp.missing.len() as u64),
        (IdsKind::Unexpected, cmp.unexpected.len() as u64),
        (IdsKind::Malformed, fold.malformed),
    ];
    let failed_on: Vec<IdsKind> = counts
        .iter()
        .filter(|(k, n)| *n > 0 && cfg.fail_on.fails(*k))
        .map(|(k, _)| *k)
        .collect();
    let outcome = Outcome::judge(!errors.is_empty(), !failed_on.is_empty());
    IdsReport {
        schema: SCHEMA.to_string(),
        verdict: outcome.verdict().to_string(),
        failed_on,
        summary: IdsSummary {
            files: files.len() as u64,
            lines: files.iter().map(|f| f.lines).sum(),
            login_events: fold.events,
            distinct_ids: fold.by_id.len() as u64,
            duplicated_ids: duplicates.len() as u64,
            collisions,
            relogins,
            expected: cfg.expect.len() as u64,
            missing: cmp.missing.len() as u64,
            unexpected: cmp.unexpected.len() as u64,
            malformed: fold.malformed,
            continuation_lines: fold.continuations,
            undecodable_lines: files.iter().map(|f| f.undecodable_lines).sum(),
            window_seconds: cfg.window_secs,
        },
        malformed: Malformed {
            count: fold.malformed,
            samples: fold.samples(&name),
        },
        logins: fold.logins(&name),
        files,
        duplicates,
        missing: cmp.missing,
        unexpected: cmp.unexpected,
        warnings,
        errors,
    }
}
