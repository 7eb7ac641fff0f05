//! Validated, typed configuration built from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::audit::merge::MergeRules;
use crate::audit::seq::SeqRules;
use crate::classify::login::LoginMatcher;
use crate::cli::{ColorChoice, ExpectArgs, Format, GateArgs, IdsArgs, MergeArgs, OutputArgs, SeqArgs};
use crate::engine::gate::{FailOnSets, GateConfig};
use crate::engine::ids::IdsConfig;
use crate::engine::merge::MergeConfig;
use crate::engine::seq::SeqConfig;
use crate::expect::Expectation;
use crate::findings::{FailOn, Kind};
use crate::report::ids::IdsKind;
use crate::report::merge::MergeKind;
use crate::sources::logfile::EncodingChoice;
pub use crate::sources::named::{MAX_CONFIG_BYTES, absolute, read_user_file};
use crate::sources::tree::ScanOptions;
use common::idspace::IdRange;
use common::usage::{UsageError, parse_millis, parse_ratio, parse_size};

/// How results are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputConfig {
    /// Format on standard output.
    pub format: Format,
    /// JUnit file, if any.
    pub junit: Option<PathBuf>,
    /// HTML file, if any.
    pub html: Option<PathBuf>,
    /// Findings rows shown in tables (0: all).
    pub limit: usize,
    /// ANSI colour on.
    pub color: bool,
    /// Standard output is read by a CI runner (`--github`, or inside GitHub
    /// Actions): text also has `::` and `##[` broken.
    pub runner: bool,
    /// Columns tables are fitted to (`None`: `--wide`, or no terminal).
    pub width: Option<usize>,
}

impl OutputConfig {
    /// Decides colour: `auto` means a terminal and no `NO_COLOR`.
    pub fn from_args(a: &OutputArgs) -> OutputConfig {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match a.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        OutputConfig {
            format: a.format,
            junit: a.junit.clone(),
            html: a.html.clone(),
            limit: a.limit,
            color,
            runner: std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            width: crate::render::table::width(a.wide),
        }
    }
}

/// Builds the expectation from `--expect` ranges or the count flags.
pub fn expectation(a: &ExpectArgs) -> Result<Expectation, UsageError> {
    let mut ranges = Vec::new();
    for text in &a.expect {
        if let Some(meant) = dashed_range(text) {
            return Err(UsageError(format!(
                "--expect {text}: a range is written with two dots: did you mean {meant}?"
            )));
        }
        ranges.push(IdRange::parse(text).map_err(|e| UsageError(format!("--expect: {e}")))?);
    }
    if let Some(count) = a.expect_count {
        let prefix = a.expect_prefix.as_deref().unwrap_or("test_");
        let r = IdRange::from_count(prefix, a.expect_width, a.expect_first, count)
            .ok_or_else(|| UsageError("--expect-count must be at least 1".into()))?;
        ranges.push(r);
    }
    // The expectation is listed ID by ID (missing students are named): a
    // population past this bound is a typo, not an exam.
    let total = ranges.iter().fold(0u64, |n, r| n.saturating_add(r.len()));
    if total > MAX_POPULATION {
        return Err(UsageError(format!(
            "--expect: {total} students is more than {MAX_POPULATION}, the most one audit checks (a typo in a range?)"
        )));
    }
    Ok(Expectation { ranges })
}

/// `A..B` when `text` is `A-B` with A and B two IDs of one prefix (taken
/// as one ID, the range would expect a student nobody is).
fn dashed_range(text: &str) -> Option<String> {
    if text.contains("..") {
        return None;
    }
    let (a, b) = text.trim().split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    IdRange::parse(&format!("{a}..{b}")).ok().map(|_| format!("{a}..{b}"))
}

/// The largest population `--expect` takes.
pub const MAX_POPULATION: u64 = 10_000_000;

/// Parses `--fail-on` for an audit's kinds.
pub fn fail_on<K: Kind>(text: Option<&str>) -> Result<FailOn<K>, UsageError> {
    match text {
        None => Ok(FailOn::default()),
        Some(t) => FailOn::parse(t).map_err(|e| UsageError(format!("--fail-on: {e}"))),
    }
}

/// The login message of the supervise server ("login success").
pub const DEFAULT_EVENT: &str = "登录成功";

/// Parses durations such as `120`, `120s`, `2m`, `1h` into whole seconds.
pub fn parse_duration(text: &str) -> Result<u64, UsageError> {
    parse_millis(text).map(|ms| ms / 1000)
}

impl IdsArgs {
    /// Validates the arguments of `verify ids`.
    pub fn to_config(&self) -> Result<IdsConfig, UsageError> {
        if self.event.as_deref() == Some("") {
            return Err(UsageError("--event must not be empty".into()));
        }
        let matcher = match &self.pattern {
            // --event gates lines only when given alongside --pattern.
            Some(p) => LoginMatcher::custom(p, self.event.as_deref()).map_err(|e| UsageError(e.to_string()))?,
            None => LoginMatcher::new(self.event.as_deref().unwrap_or(DEFAULT_EVENT), &self.prefix),
        }
        .with_logout(Some(&self.logout_event), &self.prefix);
        let encoding = EncodingChoice::parse(&self.encoding).ok_or_else(|| {
            UsageError(format!(
                "--encoding: unknown '{}' (utf-8, gb18030, gbk, auto)",
                self.encoding
            ))
        })?;
        let mut fail_on = fail_on(self.output.fail_on.as_deref())?;
        if self.allow_empty {
            fail_on.remove(IdsKind::NoLogins);
        }
        Ok(IdsConfig {
            logs: self.logs.clone(),
            ledgers: self.ledgers.clone(),
            db: db_source(&self.db, &self.exams)?,
            matcher,
            encoding,
            window_secs: parse_duration(&self.window)?,
            expect: expectation(&self.expect)?,
            fail_on,
            threads: self.threads,
            split_min_bytes: crate::engine::ids::SPLIT_MIN_BYTES,
        })
    }
}

/// The database to read (`--db`), its password from `--db-password-file` or
/// the environment (never the command line), and the exams to keep.
pub fn db_source(a: &crate::cli::DbArgs, exams: &[String]) -> Result<Option<crate::sources::db::DbSource>, UsageError> {
    let Some(url) = &a.db else {
        return match a.db_password_file {
            Some(_) => Err(UsageError(
                "--db-password-file needs --db: the database it is the password of".into(),
            )),
            None => Ok(None),
        };
    };
    let password = match &a.db_password_file {
        Some(p) => {
            let text = read_user_file(p, "--db-password-file", 4096)?;
            Some(text.lines().next().unwrap_or_default().to_string())
        }
        None => crate::sources::db::PASSWORD_ENV
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())),
    };
    let exams = exams
        .iter()
        .map(|e| {
            e.trim().parse::<u64>().map_err(|_| {
                UsageError(format!(
                    "--exam: '{e}' is not an exam ID (a number, as `loadgen setup` prints)"
                ))
            })
        })
        .collect::<Result<Vec<u64>, UsageError>>()?;
    crate::sources::db::DbSource::new(url, password, exams)
        .map(Some)
        .map_err(UsageError)
}

/// Parses `--encoding`.
pub fn encoding(text: &str) -> Result<EncodingChoice, UsageError> {
    EncodingChoice::parse(text)
        .ok_or_else(|| UsageError(format!("--encoding: unknown '{text}' (utf-8, gb18030, gbk, auto)")))
}

/// The gap words given, or both real wordings by default.
fn gap_words<'a>(given: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let words: Vec<String> = given.into_iter().cloned().collect();
    if words.is_empty() {
        crate::audit::merge::GAP_WORDS.iter().map(|w| w.to_string()).collect()
    } else {
        words
    }
}

impl MergeArgs {
    /// Validates `verify merge`.
    pub fn to_config(&self) -> Result<MergeConfig, UsageError> {
        if self.gap_event.iter().any(String::is_empty) {
            return Err(UsageError("--gap-event must not be empty".into()));
        }
        if self.exams.iter().any(|e| e.trim().is_empty()) {
            return Err(UsageError("--exam must not be empty".into()));
        }
        Ok(MergeConfig {
            logs: self.logs.clone(),
            rules: MergeRules {
                gap_words: gap_words(&self.gap_event),
                id: crate::classify::login::id_regex(&self.prefix),
                exams: self.exams.iter().map(|e| e.trim().to_string()).collect(),
            },
            encoding: encoding(&self.encoding)?,
            fail_on: {
                let mut f = fail_on(self.output.fail_on.as_deref())?;
                if self.allow_empty {
                    f.remove(MergeKind::NoTasks);
                }
                f
            },
        })
    }
}

impl SeqArgs {
    /// Validates the arguments of `verify seq`.
    pub fn to_config(&self) -> Result<SeqConfig, UsageError> {
        let mut exts = vec!["mp4".to_string()];
        for e in &self.exts {
            let e = e.trim_start_matches('.').to_string();
            if e.is_empty() || e.contains(['/', '.']) {
                return Err(UsageError(format!("--ext: bad extension '{e}'")));
            }
            exts.push(e);
        }
        if !(self.stall_factor.is_finite() && self.stall_factor > 1.0) {
            return Err(UsageError("--stall-factor must be a number above 1".into()));
        }
        let min_size = self.min_size.as_deref().map(parse_size).transpose()?.unwrap_or(0);
        if self.no_size_check && min_size > 0 {
            return Err(UsageError(
                "--min-size needs the size check; drop --no-size-check".into(),
            ));
        }
        Ok(SeqConfig {
            keep_segments: false,
            dir: absolute(&self.dir, "--dir")?,
            dir_shown: self.dir.clone(),
            scan: ScanOptions {
                exts,
                follow_links: self.follow_links,
                check_size: !self.no_size_check,
            },
            rules: SeqRules {
                first_seq: self.first_seq,
                min_size,
                stall_factor: self.stall_factor,
                expect_segments: self.expect_segments,
                max_seq: self.max_seq,
            },
            expect: expectation(&self.expect)?,
            exams: self.exams.clone(),
            fail_on: fail_on(self.output.fail_on.as_deref())?,
            threads: self.threads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_take_percentages_and_dashed_ranges_are_refused() {
        assert_eq!(parse_ratio("5%"), Ok(0.05));
        assert_eq!(parse_ratio("0.05"), Ok(0.05));
        assert_eq!(parse_ratio(" 100 % "), Ok(1.0));
        assert!(parse_ratio("150%").unwrap_err().contains("between 0 and 1"));
        assert!(parse_ratio("lots").unwrap_err().contains("5%"));
        assert_eq!(
            dashed_range("test_00001-test_00040").as_deref(),
            Some("test_00001..test_00040")
        );
        assert_eq!(dashed_range("test_00001..test_00040"), None);
        assert_eq!(dashed_range("test-00001"), None);
        let args = ExpectArgs {
            expect: vec!["test_00001-test_00040".into()],
            expect_prefix: None,
            expect_count: None,
            expect_first: 1,
            expect_width: 5,
        };
        let e = expectation(&args).unwrap_err().0;
        assert!(e.contains("did you mean test_00001..test_00040"), "{e}");
    }

    #[test]
    fn the_config_file_takes_a_ratio_or_a_percentage() {
        for (text, want) in [("max_missing_ratio = 0.05", 0.05), ("max_missing_ratio = \"5%\"", 0.05)] {
            let f: GateFile = toml::from_str(text).unwrap();
            assert_eq!(f.max_missing_ratio, Some(want), "{text}");
        }
        let e = toml::from_str::<GateFile>("max_missing_ratio = \"lots\"").unwrap_err();
        assert!(e.to_string().contains("(e.g. 0.05) or a percentage (e.g. 5%)"), "{e}");
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("120").unwrap(), 120);
        assert_eq!(parse_duration("2m").unwrap(), 120);
        assert_eq!(parse_duration("1h").unwrap(), 3600);
        assert!(parse_duration("soon").is_err() && parse_duration("3d").is_err());
    }
}

/// `verify.toml`: the gate's settings; every key is also a flag, and flags win.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    #[serde(default)]
    pub log: Vec<String>,
    #[serde(default)]
    pub celery_log: Vec<String>,
    pub dir: Option<PathBuf>,
    /// As `--exam`.
    #[serde(default)]
    pub exam: Vec<String>,
    /// Client ledgers, as `--ledger`.
    #[serde(default)]
    pub ledger: Vec<String>,
    #[serde(default)]
    pub expect: Vec<String>,
    pub expect_segments: Option<u64>,
    pub window: Option<String>,
    pub event: Option<String>,
    /// As `--logout-event`.
    pub logout_event: Option<String>,
    /// As `--db` (no password here: `db_password_file` or the environment).
    pub db: Option<String>,
    /// As `--db-password-file`.
    pub db_password_file: Option<PathBuf>,
    pub gap_event: Option<String>,
    pub prefix: Option<String>,
    pub encoding: Option<String>,
    /// A ratio (0.01) or a percentage ("1%").
    #[serde(default, deserialize_with = "ratio_key")]
    pub max_missing_ratio: Option<f64>,
    /// As `--allow-empty`.
    pub allow_empty: Option<bool>,
    /// `check:kind` items, as `--fail-on`.
    #[serde(default)]
    pub fail_on: Vec<String>,
}

/// `max_missing_ratio = 0.01` or `max_missing_ratio = "1%"`.
fn ratio_key<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Ratio {
        Number(f64),
        Text(String),
    }
    match <Ratio as serde::Deserialize>::deserialize(d)? {
        Ratio::Number(v) => parse_ratio(&v.to_string()).map(Some),
        Ratio::Text(t) => parse_ratio(&t).map(Some),
    }
    .map_err(serde::de::Error::custom)
}

/// Routes `check:kind` items (`+ids:relogin`, `-seq:stall`, `cross:gap_disk_only`)
/// to each check's `--fail-on` text.
pub fn gate_fail_on(items: &[String]) -> Result<FailOnSets, UsageError> {
    let mut per: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for item in items
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (sign, rest) = match item.strip_prefix(['+', '-']) {
            Some(r) => (&item[..1], r),
            None => ("", item),
        };
        let (check, kind) = rest.split_once(':').ok_or_else(|| {
            UsageError(format!(
                "--fail-on: '{item}' must be CHECK:KIND (ids, seq, merge, cross), e.g. +ids:relogin"
            ))
        })?;
        let check = match check {
            "ids" | "seq" | "merge" | "cross" => check,
            _ => {
                return Err(UsageError(format!(
                    "--fail-on: unknown check '{check}' (ids, seq, merge, cross)"
                )));
            }
        };
        per.entry(check).or_default().push(format!("{sign}{kind}"));
    }
    let text = |c: &str| per.get(c).map(|v| v.join(","));
    Ok(FailOnSets {
        ids: fail_on(text("ids").as_deref())?,
        seq: fail_on(text("seq").as_deref())?,
        merge: fail_on(text("merge").as_deref())?,
        cross: fail_on(text("cross").as_deref())?,
    })
}

/// Warnings about a `--fail-on` that is legal but likely a mistake: a plain
/// `cross:KIND` replaces the cross set, and so can stop `acked_missing` (the
/// server lost an upload it acknowledged) from failing the run.
pub fn fail_on_warnings(sets: &FailOnSets) -> Vec<String> {
    use crate::report::gate::CrossKind;
    let mut out = Vec::new();
    if !sets.cross.fails(CrossKind::AckedMissing) {
        out.push(
            "--fail-on leaves out cross:acked_missing: an upload the server acknowledged and lost \
             no longer fails the run (write +cross:KIND to add to the default set instead of replacing it)"
                .to_string(),
        );
    }
    out
}

impl GateArgs {
    /// Reads `--config` when given.
    pub fn file(&self) -> Result<GateFile, UsageError> {
        match &self.config {
            None => Ok(GateFile::default()),
            Some(p) => {
                let text = read_user_file(p, "--config", MAX_CONFIG_BYTES)?;
                toml::from_str(&text).map_err(|e| UsageError(format!("--config {}: {e}", p.display())))
            }
        }
    }

    /// Validates `verify gate` (flags over the config file).
    pub fn to_config(&self, file: &GateFile) -> Result<(GateConfig, FailOnSets), UsageError> {
        let pick = |flag: &Vec<String>, key: &Vec<String>| if flag.is_empty() { key.clone() } else { flag.clone() };
        let mut fail_items = file.fail_on.clone();
        fail_items.extend(self.output.fail_on.clone());
        let mut sets = gate_fail_on(&fail_items)?;
        if self.allow_empty || file.allow_empty == Some(true) {
            sets.ids.remove(IdsKind::NoLogins);
            sets.merge.remove(MergeKind::NoTasks);
        }
        let mut expect_args = ExpectArgs {
            expect: pick(&self.expect.expect, &file.expect),
            expect_prefix: self.expect.expect_prefix.clone(),
            expect_count: self.expect.expect_count,
            expect_first: self.expect.expect_first,
            expect_width: self.expect.expect_width,
        };
        if expect_args.expect.iter().all(String::is_empty) {
            expect_args.expect.clear();
        }
        let expect = expectation(&expect_args)?;
        let prefix = self
            .prefix
            .clone()
            .or(file.prefix.clone())
            .unwrap_or_else(|| "test_".into());
        let enc = encoding(self.encoding.as_deref().or(file.encoding.as_deref()).unwrap_or("auto"))?;
        let logs = pick(&self.logs, &file.log);
        let celery = pick(&self.celery_logs, &file.celery_log);
        let dir = self.dir.clone().or(file.dir.clone());
        let ledgers = pick(&self.ledgers, &file.ledger);
        let db_args = crate::cli::DbArgs {
            db: self.db.db.clone().or(file.db.clone()),
            db_password_file: self.db.db_password_file.clone().or(file.db_password_file.clone()),
        };
        if logs.is_empty() && celery.is_empty() && dir.is_none() && self.merge.is_empty() && db_args.db.is_none() {
            return Err(UsageError(
                "give at least one of --log, --db, --celery-log, --dir (or --merge, or a --config naming them)".into(),
            ));
        }
        let db = db_source(&db_args, &pick(&self.exams, &file.exam))?;
        if db.is_some() && !logs.is_empty() {
            return Err(UsageError(
                "give one login source: --log (logs that record logins) or --db (the server's login history)".into(),
            ));
        }
        let ids = (!logs.is_empty() || db.is_some())
            .then(|| -> Result<IdsConfig, UsageError> {
                Ok(IdsConfig {
                    logs: logs.clone(),
                    ledgers: Vec::new(),
                    db: db.clone(),
                    matcher: LoginMatcher::new(
                        self.event.as_deref().or(file.event.as_deref()).unwrap_or(DEFAULT_EVENT),
                        &prefix,
                    )
                    .with_logout(
                        Some(
                            self.logout_event
                                .as_deref()
                                .or(file.logout_event.as_deref())
                                .unwrap_or(crate::cli::DEFAULT_LOGOUT_EVENT),
                        ),
                        &prefix,
                    ),
                    encoding: enc,
                    window_secs: parse_duration(self.window.as_deref().or(file.window.as_deref()).unwrap_or("120s"))?,
                    expect: expect.clone(),
                    fail_on: sets.ids.clone(),
                    threads: 0,
                    split_min_bytes: crate::engine::ids::SPLIT_MIN_BYTES,
                })
            })
            .transpose()?;
        let dir = dir.map(|d| absolute(&d, "--dir").map(|abs| (abs, d))).transpose()?;
        let seq = dir.map(|(d, shown)| SeqConfig {
            keep_segments: !ledgers.is_empty(),
            dir: d,
            dir_shown: shown,
            scan: ScanOptions {
                exts: vec!["mp4".into()],
                follow_links: self.follow_links,
                check_size: true,
            },
            rules: SeqRules {
                expect_segments: self.expect_segments.or(file.expect_segments),
                max_seq: self.max_seq,
                ..SeqRules::default()
            },
            expect: expect.clone(),
            exams: pick(&self.exams, &file.exam),
            fail_on: sets.seq.clone(),
            threads: 0,
        });
        let merge = (!celery.is_empty()).then(|| MergeConfig {
            logs: celery,
            rules: MergeRules {
                gap_words: gap_words(self.gap_event.as_slice().iter().chain(&file.gap_event).take(1)),
                id: crate::classify::login::id_regex(&prefix),
                // The gate's --exam: tasks of other exams are left out.
                exams: pick(&self.exams, &file.exam),
            },
            encoding: enc,
            fail_on: sets.merge.clone(),
        });
        let max_missing_ratio = self.max_missing_ratio.or(file.max_missing_ratio);
        if max_missing_ratio.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            return Err(UsageError(
                "--max-missing-ratio must be between 0 and 1 (0% and 100%)".into(),
            ));
        }
        Ok((
            GateConfig {
                ids,
                seq,
                merge,
                cross_fail_on: sets.cross.clone(),
                max_missing_ratio,
                ledgers,
            },
            sets,
        ))
    }
}

impl crate::cli::WatchArgs {
    /// The watch's settings. `in_place`: stderr is a terminal, where the
    /// summary is refreshed every second.
    pub fn to_config(&self, in_place: bool) -> Result<(crate::engine::watch::WatchConfig, FailOnSets), UsageError> {
        use crate::engine::watch::{WatchConfig, followed_paths};
        use std::time::Duration;
        let g = &self.gate;
        if !g.merge.is_empty() {
            return Err(UsageError(
                "verify watch reads live inputs; --merge belongs to verify gate".into(),
            ));
        }
        if g.db.db.is_some() {
            return Err(UsageError(
                "verify watch follows logs; the database's login history is read once: run verify gate --db after the run"
                    .into(),
            ));
        }
        let (cfg, sets) = g.to_config(&g.file()?)?;
        let ms = |t: &str, flag: &str| {
            parse_millis(t)
                .map(Duration::from_millis)
                .map_err(|e| UsageError(format!("{flag}: {e}")))
        };
        let summary_every = ms(&self.summary_interval, "--summary-interval")?;
        // Each log keeps the role it was given: --log gunicorn, --celery-log celery.
        let w = WatchConfig {
            gunicorn: cfg.ids.as_ref().map_or_else(Vec::new, |c| followed_paths(&c.logs)),
            celery: cfg.merge.as_ref().map_or_else(Vec::new, |c| followed_paths(&c.logs)),
            ledgers: followed_paths(&cfg.ledgers),
            gate: cfg,
            from_start: self.from_start,
            grace: ms(&self.grace, "--grace")?,
            duration: self.duration.as_deref().map(|d| ms(d, "--duration")).transpose()?,
            until_idle: self.until_idle.as_deref().map(|d| ms(d, "--until-idle")).transpose()?,
            poll: self.poll,
            tick: ms(&self.tick, "--tick")?,
            summary_every: if in_place {
                summary_every.min(Duration::from_secs(1))
            } else {
                summary_every
            },
            rotate_grace: ms(&self.rotate_grace, "--rotate-grace")?,
            max_alerts_per_second: self.max_alerts_per_second.max(1),
        };
        Ok((w, sets))
    }
}
