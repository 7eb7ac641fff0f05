//! The login part of the gate fold: what every gunicorn log gave so far. The
//! batch reader adds whole files (scanned in parallel ranges); the live
//! follower adds lines one by one; both end in the same report.

use std::collections::HashSet;

use encoding_rs::{Encoding, UTF_8};

use crate::audit::ids::{LoginFold, Observation, classify};
use crate::findings::judge;
use crate::report::PathError;
use crate::report::ids::{FileSummary, IdsKind, IdsReport, IdsSummary, Malformed, SCHEMA};
use crate::settings::IdsConfig;
use crate::sources::logfile::{self, EncodingChoice, LineEnc};

use super::Alert;

/// A file whose sampled lines are this undecodable (per mille) gets a warning.
const UNDECODABLE_WARN_PER_MILLE: u64 = 10;

/// One gunicorn log as read so far.
#[derive(Debug, Clone)]
pub struct LogState {
    /// Name, lines, logins, encoding and oddities, as the report shows them.
    pub summary: FileSummary,
    /// The decoding in use; `None` until a live file's first bytes arrive.
    pub encoding: Option<&'static Encoding>,
    /// What `--encoding auto` chose.
    pub auto_chose: Option<&'static str>,
    /// Lines of the sampled head, and how many were gunicorn access lines.
    pub sampled_lines: u64,
    pub access_lines_sampled: u64,
    /// Sampled access lines that are `POST /api/login` requests.
    pub login_requests_sampled: u64,
    /// The candidate words (login, logout) in this file's encoding, made at
    /// the first live line (not once per line).
    pub words: Option<Vec<Vec<u8>>>,
}

impl LogState {
    /// A file not read yet (a followed log that does not exist yet).
    pub fn empty(path: String) -> LogState {
        LogState {
            summary: FileSummary {
                path,
                encoding: "utf-8".into(),
                lines: 0,
                login_events: 0,
                logout_events: 0,
                undecodable_lines: 0,
                mixed_encoding_lines: 0,
                leading_nul_bytes: 0,
                overlong_lines: 0,
            },
            encoding: None,
            auto_chose: None,
            sampled_lines: 0,
            access_lines_sampled: 0,
            login_requests_sampled: 0,
            words: None,
        }
    }
}

/// The login audit's state.
#[derive(Debug, Clone, Default)]
pub struct IdsPart {
    pub logs: Vec<LogState>,
    pub fold: LoginFold,
    pub errors: Vec<PathError>,
    /// IDs whose collision was already alerted.
    alerted: HashSet<String>,
    /// Every overlap collides, however far apart (client ledgers: they
    /// record every session the client had).
    pub no_window: bool,
}

impl IdsPart {
    /// Adds one file read in batch (its fold has file index `logs.len()`).
    pub fn add_file(&mut self, log: LogState, fold: LoginFold, error: Option<PathError>) {
        self.logs.push(log);
        self.fold.merge(fold);
        self.errors.extend(error);
    }

    /// The collision window in seconds.
    fn window(&self, cfg: &IdsConfig) -> i64 {
        if self.no_window {
            crate::audit::sessions::NO_WINDOW
        } else {
            i64::try_from(cfg.window_secs).unwrap_or(i64::MAX)
        }
    }

    fn name(&self, i: usize) -> String {
        self.logs.get(i).map(|l| l.summary.path.clone()).unwrap_or_default()
    }

    /// Folds one live line of file `file` (bytes without the newline).
    /// Returns the alert it raised: the first collision of an ID.
    pub fn observe_line(&mut self, cfg: &IdsConfig, file: usize, bytes: &[u8]) -> Option<Alert> {
        let log = self.logs.get_mut(file)?;
        log.summary.lines = log.summary.lines.saturating_add(1);
        let line = log.summary.lines;
        let enc = match log.encoding {
            Some(enc) => enc,
            // ASCII reads the same in UTF-8 and GB18030: `auto` waits for a
            // line that tells them apart ("Booting worker" comes first).
            None if cfg.encoding == EncodingChoice::Auto && bytes.is_ascii() => {
                let words = cfg.matcher.words();
                if !words.is_empty()
                    && !words
                        .iter()
                        .any(|w| memchr::memmem::find(bytes, w.as_bytes()).is_some())
                {
                    return None;
                }
                UTF_8
            }
            None => {
                let enc = logfile::resolve(cfg.encoding, bytes);
                log.encoding = Some(enc);
                log.summary.encoding = enc.name().to_ascii_lowercase();
                if cfg.encoding == EncodingChoice::Auto {
                    log.auto_chose = Some(if enc == UTF_8 { "utf-8" } else { "gb18030" });
                }
                enc
            }
        };
        // As the batch scan: only lines holding the event word, in either
        // encoding, are decoded.
        if cfg.matcher.event.is_some() && log.encoding.is_some() {
            let words = log
                .words
                .get_or_insert_with(|| logfile::encode_both(enc, &cfg.matcher.words()));
            if !words.iter().any(|w| memchr::memmem::find(bytes, w).is_some()) {
                return None;
            }
        }
        let (text, how) = logfile::decode_line(enc, bytes);
        log.summary.undecodable_lines += u64::from(how == LineEnc::Bad);
        log.summary.mixed_encoding_lines += u64::from(how == LineEnc::Other);
        let obs = cfg.matcher.observe(&text, file, line)?;
        let id = match &obs {
            Observation::Login(e) => Some(e.id.clone()),
            _ => None,
        };
        if id.is_some() {
            log.summary.login_events = log.summary.login_events.saturating_add(1);
        }
        if matches!(obs, Observation::Logout(_)) {
            log.summary.logout_events = log.summary.logout_events.saturating_add(1);
        }
        self.fold.observe(obs);
        let id = id?;
        // An ID alerted once is never alerted again: no need to classify it.
        if self.alerted.contains(&id) {
            return None;
        }
        let evs = self.fold.by_id.get(&id).filter(|e| e.len() > 1)?;
        let d = classify(&id, evs, self.fold.ends(&id), self.window(cfg), &|i| self.name(i));
        (d.kind == IdsKind::Collision && self.alerted.insert(id.clone())).then_some(Alert::DuplicateLogin {
            id,
            evidence: d.evidence,
        })
    }

    /// Marks every collision seen so far as alerted (the state found at start).
    pub fn quiet(&mut self, cfg: &IdsConfig) {
        let name = |i: usize| self.name(i);
        for d in self.fold.duplicates(self.window(cfg), &name) {
            if d.kind == IdsKind::Collision {
                self.alerted.insert(d.id);
            }
        }
    }

    /// Collisions alerted so far.
    pub fn alerted(&self) -> usize {
        self.alerted.len()
    }

    /// The report, judged.
    pub fn report(&self, cfg: &IdsConfig) -> IdsReport {
        let name = |i: usize| self.name(i);
        let fold = &self.fold;
        let files: Vec<FileSummary> = self.logs.iter().map(|l| l.summary.clone()).collect();
        let warnings: Vec<String> = self.logs.iter().flat_map(|l| file_warnings(cfg, l)).collect();
        let duplicates = fold.duplicates(self.window(cfg), &name);
        let cmp = cfg.expect.compare(fold.by_id.keys().map(String::as_str));
        let collisions = duplicates.iter().filter(|d| d.kind == IdsKind::Collision).count() as u64;
        let relogins = (duplicates.len() as u64).saturating_sub(collisions);
        let lines = files.iter().fold(0u64, |a, f| a.saturating_add(f.lines));
        let mut summary = IdsSummary {
            files: files.len() as u64,
            lines,
            login_events: fold.events,
            logout_events: fold.logouts,
            distinct_ids: fold.by_id.len() as u64,
            duplicated_ids: duplicates.len() as u64,
            collisions,
            relogins,
            expected: cfg.expect.len() as u64,
            missing: cmp.missing.len() as u64,
            unexpected: cmp.unexpected.len() as u64,
            malformed: fold.malformed,
            continuation_lines: fold.continuations,
            undecodable_lines: files.iter().fold(0u64, |a, f| a.saturating_add(f.undecodable_lines)),
            mixed_encoding_lines: files.iter().fold(0u64, |a, f| a.saturating_add(f.mixed_encoding_lines)),
            window_seconds: cfg.window_secs,
            login_requests_sampled: 0,
        };
        summary.login_requests_sampled = self
            .logs
            .iter()
            .fold(0u64, |a, l| a.saturating_add(l.login_requests_sampled));
        let counts = [
            (IdsKind::Collision, collisions),
            (IdsKind::Relogin, relogins),
            (IdsKind::Missing, cmp.missing.len() as u64),
            (IdsKind::Unexpected, cmp.unexpected.len() as u64),
            (IdsKind::Malformed, fold.malformed),
            (IdsKind::NoLogins, summary.no_logins()),
            (IdsKind::LoginRequestsOnly, summary.login_requests_only()),
        ];
        let (failed_on, verdict) = judge(counts, &cfg.fail_on, !self.errors.is_empty());
        IdsReport {
            schema: SCHEMA.to_string(),
            verdict,
            failed_on,
            summary,
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
            errors: self.errors.clone(),
        }
    }
}

fn file_warnings(cfg: &IdsConfig, r: &LogState) -> Vec<String> {
    let (s, mut w) = (&r.summary, Vec::new());
    // `auto` is the default: only a choice other than UTF-8 is news.
    if let Some(enc) = r.auto_chose.filter(|&e| e != "utf-8") {
        w.push(format!(
            "{}: encoding detected as {enc} (--encoding auto; give --encoding to force one)",
            s.path
        ));
    }
    let sampled_bad = s.undecodable_lines;
    if sampled_bad > 0 && sampled_bad.saturating_mul(1000) >= r.sampled_lines.max(1) * UNDECODABLE_WARN_PER_MILLE {
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
    if s.mixed_encoding_lines > 0 {
        w.push(format!(
            "{}: the file mixes encodings: {} line(s) are not {} but {}, and were read as such \
             (a server restarted under another locale?)",
            s.path,
            s.mixed_encoding_lines,
            s.encoding,
            if s.encoding == "utf-8" { "gb18030" } else { "utf-8" }
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
    if s.login_events == 0 && r.access_lines_sampled > 0 && cfg.matcher.event.is_some() {
        w.push(format!(
            "{}: a gunicorn access log ({} of its first {} lines are access lines, {} of them POST /api/login): \
             access lines never carry the student ID, and no login event is in it",
            s.path, r.access_lines_sampled, r.sampled_lines, r.login_requests_sampled
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::login::LoginMatcher;

    /// `verify watch` and `verify gate` fold live lines here: a login in the
    /// other encoding than the file's is read, counted and collides.
    #[test]
    fn live_lines_in_either_encoding_are_read() {
        let cfg = IdsConfig {
            ledgers: Vec::new(),
            db: None,
            logs: Vec::new(),
            matcher: LoginMatcher::new("登录成功", "test_"),
            encoding: EncodingChoice::Auto,
            window_secs: 120,
            expect: crate::expect::Expectation::default(),
            fail_on: crate::findings::FailOn::default(),
            threads: 1,
            split_min_bytes: 1,
        };
        let line = |s: u32, ip: &str| {
            format!("[2026-12-04 10:00:{s:02} +0800] [1] [INFO] 登录成功 student_id=test_00001 exam_id=1 ip={ip}")
        };
        for gb_first in [true, false] {
            let mut part = IdsPart::default();
            part.logs.push(LogState::empty("mix.log".into()));
            let (a, b) = (line(0, "127.0.0.1"), line(8, "127.0.0.2"));
            let (first, second) = if gb_first {
                (logfile::encode(encoding_rs::GB18030, &a), b.into_bytes())
            } else {
                (a.into_bytes(), logfile::encode(encoding_rs::GB18030, &b))
            };
            assert_eq!(part.observe_line(&cfg, 0, &first), None);
            assert!(part.observe_line(&cfg, 0, &second).is_some(), "gb first: {gb_first}");
            let r = part.report(&cfg);
            assert_eq!((r.summary.login_events, r.summary.collisions), (2, 1));
            assert_eq!((r.summary.mixed_encoding_lines, r.summary.undecodable_lines), (1, 0));
            assert!(
                r.warnings.iter().any(|w| w.contains("mixes encodings")),
                "{:?}",
                r.warnings
            );
        }
    }
}
