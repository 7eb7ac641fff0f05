//! Validated, typed configuration built from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::audit::merge::MergeRules;
use crate::audit::seq::SeqRules;
use crate::classify::login::LoginMatcher;
use crate::cli::{ColorChoice, ExpectArgs, Format, IdsArgs, MergeArgs, OutputArgs, SeqArgs};
use crate::engine::ids::IdsConfig;
use crate::engine::merge::MergeConfig;
use crate::engine::seq::SeqConfig;
use crate::expect::Expectation;
use crate::findings::{FailOn, Kind};
use crate::idspace::IdRange;
use crate::sources::logfile::EncodingChoice;
use crate::sources::tree::ScanOptions;

/// A usage error: bad flag values. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// How results are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputConfig {
    /// Format on standard output.
    pub format: Format,
    /// JUnit file, if any.
    pub junit: Option<PathBuf>,
    /// Findings rows shown in tables (0: all).
    pub limit: usize,
    /// ANSI colour on.
    pub color: bool,
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
            limit: a.limit,
            color,
        }
    }
}

/// Builds the expectation from `--expect` ranges or the count flags.
pub fn expectation(a: &ExpectArgs) -> Result<Expectation, UsageError> {
    let mut ranges = Vec::new();
    for text in &a.expect {
        ranges.push(IdRange::parse(text).map_err(|e| UsageError(format!("--expect: {e}")))?);
    }
    if let Some(count) = a.expect_count {
        let prefix = a.expect_prefix.as_deref().unwrap_or("test_");
        let r = IdRange::from_count(prefix, a.expect_width, a.expect_first, count)
            .ok_or_else(|| UsageError("--expect-count must be at least 1".into()))?;
        ranges.push(r);
    }
    Ok(Expectation { ranges })
}

/// Parses `--fail-on` for an audit's kinds.
pub fn fail_on<K: Kind>(text: Option<&str>) -> Result<FailOn<K>, UsageError> {
    match text {
        None => Ok(FailOn::default()),
        Some(t) => FailOn::parse(t).map_err(|e| UsageError(format!("--fail-on: {e}"))),
    }
}

/// Parses sizes such as `0`, `512`, `1K`, `4MiB`, `2MB` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, UsageError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| UsageError(format!("bad size '{text}' (try 1K, 4MiB)")))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(UsageError(format!("bad size unit in '{text}' (use K, M or G)"))),
    };
    n.checked_mul(mult)
        .ok_or_else(|| UsageError(format!("size '{text}' is too large")))
}

/// The login message of the supervise server ("login success").
pub const DEFAULT_EVENT: &str = "登录成功";

/// Parses durations such as `250ms`, `120`, `120s`, `2m`, `1h` into milliseconds.
pub fn parse_millis(text: &str) -> Result<u64, UsageError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| UsageError(format!("bad duration '{text}' (try 500ms, 120s, 2m)")))?;
    let mult = match unit.trim() {
        "ms" => 1,
        "" | "s" | "sec" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err(UsageError(format!("bad duration unit in '{text}' (use ms, s, m or h)"))),
    };
    n.checked_mul(mult)
        .ok_or_else(|| UsageError(format!("duration '{text}' is too large")))
}

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
        };
        let encoding = EncodingChoice::parse(&self.encoding).ok_or_else(|| {
            UsageError(format!(
                "--encoding: unknown '{}' (utf-8, gb18030, gbk, auto)",
                self.encoding
            ))
        })?;
        Ok(IdsConfig {
            logs: self.logs.clone(),
            matcher,
            encoding,
            window_secs: parse_duration(&self.window)?,
            expect: expectation(&self.expect)?,
            fail_on: fail_on(self.output.fail_on.as_deref())?,
            threads: self.threads,
            split_min_bytes: crate::engine::ids::SPLIT_MIN_BYTES,
        })
    }
}

/// Parses `--encoding`.
pub fn encoding(text: &str) -> Result<EncodingChoice, UsageError> {
    EncodingChoice::parse(text)
        .ok_or_else(|| UsageError(format!("--encoding: unknown '{text}' (utf-8, gb18030, gbk, auto)")))
}

impl MergeArgs {
    /// Validates `verify merge`.
    pub fn to_config(&self) -> Result<MergeConfig, UsageError> {
        if self.gap_event.is_empty() {
            return Err(UsageError("--gap-event must not be empty".into()));
        }
        Ok(MergeConfig {
            logs: self.logs.clone(),
            rules: MergeRules {
                gap_word: self.gap_event.clone(),
                id: crate::classify::login::id_regex(&self.prefix),
            },
            encoding: encoding(&self.encoding)?,
            fail_on: fail_on(self.output.fail_on.as_deref())?,
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
            dir: self.dir.clone(),
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
            },
            expect: expectation(&self.expect)?,
            fail_on: fail_on(self.output.fail_on.as_deref())?,
            threads: self.threads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("1K").unwrap(), 1024);
        assert_eq!(parse_size("4MiB").unwrap(), 4 << 20);
        assert_eq!(parse_size("2 mb").unwrap(), 2 << 20);
        assert!(parse_size("x").is_err() && parse_size("3T").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("120").unwrap(), 120);
        assert_eq!(parse_duration("2m").unwrap(), 120);
        assert_eq!(parse_duration("1h").unwrap(), 3600);
        assert!(parse_duration("soon").is_err() && parse_duration("3d").is_err());
        assert_eq!(parse_millis("250ms").unwrap(), 250);
        assert_eq!(parse_millis("2s").unwrap(), 2000);
    }
}
