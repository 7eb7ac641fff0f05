//! Validated, typed configuration.

use std::path::PathBuf;
use std::time::Duration;

use verify::config::{UsageError, parse_millis, parse_size};
use verify::idspace::{IdRange, shard};

use crate::cli::{IdArgs, RunArgs};
use crate::http::Target;
use crate::payload::Payload;
use crate::scenario::Scenario;
use crate::student::{Plan, SkipRule};

/// Everything `loadgen run` needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub host: String,
    pub target: Target,
    /// This process's students.
    pub ids: IdRange,
    /// How `ids` was chosen, for the report.
    pub id_source: String,
    pub spawn_rate: f64,
    pub run_time: Option<Duration>,
    pub stop_timeout: Duration,
    pub timeout: Duration,
    pub plan: Plan,
    pub scenario: Scenario,
    pub payload: Payload,
    pub max_fail_ratio: f64,
    pub max_idle_connections: usize,
    pub progress_every: Duration,
    pub json: Option<PathBuf>,
    pub csv: Option<String>,
    pub threads: usize,
}

fn dur(text: &str, flag: &str) -> Result<Duration, UsageError> {
    parse_millis(text)
        .map(Duration::from_millis)
        .map_err(|e| UsageError(format!("{flag}: {e}")))
}

/// `K/N` with 1 <= K <= N.
pub fn parse_shard(text: &str) -> Result<(u64, u64), UsageError> {
    let bad = || UsageError(format!("--shard: '{text}' is not K/N with 1 <= K <= N (e.g. 2/3)"));
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// This machine's ID range and how it was chosen.
pub fn id_range(a: &IdArgs, students: u64) -> Result<(IdRange, String), UsageError> {
    if students == 0 {
        return Err(UsageError("--students must be at least 1".into()));
    }
    if let Some(s) = &a.shard {
        let (k, n) = parse_shard(s)?;
        let r = shard(&a.id_prefix, a.id_width, a.first_id, students, k, n)
            .ok_or_else(|| UsageError(format!("--shard {k}/{n} of {students} students is empty")))?;
        return Ok((r, format!("shard {k}/{n} of {students}")));
    }
    let offset = a.worker_offset.unwrap_or(0);
    let r = IdRange::from_count(&a.id_prefix, a.id_width, a.first_id + offset, students).expect("students > 0");
    let source = if a.worker_offset.is_some() {
        format!("worker-offset {offset}")
    } else {
        "all".to_string()
    };
    Ok((r, source))
}

/// `4MiB-5MiB` or `4MiB`.
fn size_range(text: &str) -> Result<(u64, u64), UsageError> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (parse_size(a)?, parse_size(b)?);
    if a == 0 || b < a {
        return Err(UsageError(format!(
            "--segment-size: '{text}' must be SIZE or MIN-MAX with 0 < MIN <= MAX"
        )));
    }
    Ok((a, b))
}

/// Loads the scenario (built-in or a file) and applies `--exam-id`.
pub fn scenario(path: Option<&std::path::Path>, exam: Option<&str>) -> Result<Scenario, UsageError> {
    let mut s = match path {
        Some(p) => Scenario::load(p).map_err(|e| UsageError(e.to_string()))?,
        None => Scenario::builtin(),
    };
    if let Some(e) = exam {
        s.exam_id = e.to_string();
    }
    Ok(s)
}

impl RunArgs {
    /// Validates `loadgen run`.
    pub fn to_config(&self) -> Result<RunConfig, UsageError> {
        let target = Target::parse(&self.host).map_err(|e| UsageError(e.to_string()))?;
        let (ids, id_source) = id_range(&self.ids, self.students)?;
        if !(self.spawn_rate.is_finite() && self.spawn_rate > 0.0) {
            return Err(UsageError("--spawn-rate must be above 0".into()));
        }
        if !(0.0..=1.0).contains(&self.max_fail_ratio) {
            return Err(UsageError("--max-fail-ratio must be between 0 and 1".into()));
        }
        let run_time = self.run_time.as_deref().map(|t| dur(t, "--run-time")).transpose()?;
        if run_time.is_none() && self.segments.is_none() {
            return Err(UsageError(
                "give --run-time, --segments, or both: otherwise the run never ends".into(),
            ));
        }
        let interval = dur(&self.segment_interval, "--segment-interval")?;
        if interval.is_zero() {
            return Err(UsageError("--segment-interval must be above 0".into()));
        }
        let payload = match &self.payload {
            Some(p) => Payload::from_file(p).map_err(|e| UsageError(format!("--payload {}: {e}", p.display())))?,
            None => {
                let (min, max) = size_range(&self.segment_size)?;
                Payload::generated(min, max)
            }
        };
        if self.skip_every == Some(0) {
            return Err(UsageError("--skip-every must be at least 1".into()));
        }
        Ok(RunConfig {
            host: self.host.clone(),
            target,
            ids,
            id_source,
            spawn_rate: self.spawn_rate,
            run_time,
            stop_timeout: dur(&self.stop_timeout, "--stop-timeout")?,
            timeout: dur(&self.timeout, "--timeout")?,
            plan: Plan {
                interval,
                segments: self.segments,
                retries: self.retries,
                login_retries: self.login_retries,
                backoff: dur(&self.backoff, "--backoff")?,
                skip: SkipRule {
                    seqs: self.skip_seq.iter().copied().collect(),
                    every: self.skip_every,
                },
                no_seq: self.no_seq,
            },
            scenario: scenario(self.scenario.as_deref(), self.exam_id.as_deref())?,
            payload,
            max_fail_ratio: self.max_fail_ratio,
            max_idle_connections: self.max_idle_connections,
            progress_every: dur(&self.progress_interval, "--progress-interval")?,
            json: self.json.clone(),
            csv: self.csv.clone(),
            threads: self.threads.max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(shard: Option<&str>, offset: Option<u64>) -> IdArgs {
        IdArgs {
            id_prefix: "test_".into(),
            id_width: 5,
            first_id: 1,
            shard: shard.map(String::from),
            worker_offset: offset,
        }
    }

    #[test]
    fn ranges_from_shards_and_offsets() {
        let (r, s) = id_range(&ids(Some("2/3"), None), 500).unwrap();
        assert_eq!(
            (r.to_string(), s.as_str()),
            ("test_00168..test_00334".to_string(), "shard 2/3 of 500")
        );
        let (r, s) = id_range(&ids(None, Some(200)), 100).unwrap();
        assert_eq!(
            (r.to_string(), s.as_str()),
            ("test_00201..test_00300".to_string(), "worker-offset 200")
        );
        let (r, _) = id_range(&ids(None, None), 60).unwrap();
        assert_eq!(r.to_string(), "test_00001..test_00060");
        assert!(parse_shard("0/3").is_err() && parse_shard("4/3").is_err() && parse_shard("x").is_err());
        assert!(size_range("5MiB-4MiB").is_err());
        assert_eq!(size_range("4K-8K").unwrap(), (4096, 8192));
    }
}
