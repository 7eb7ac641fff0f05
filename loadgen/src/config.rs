//! Validated, typed configuration.

use std::path::PathBuf;
use std::time::Duration;

use common::idspace::{IdRange, shard};
use common::usage::{UsageError, parse_millis, parse_size};

use crate::cli::{IdArgs, RunArgs, ScenarioArgs, SetupArgs, StudentArgs, TlsArgs, WorkerArgs};
use crate::http::Target;
use crate::payload::Payload;
use crate::scenario::{Overrides, Scenario};
use crate::student::fault::Fault;
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
    /// The file part's content per task.
    pub payloads: Vec<Option<Payload>>,
    pub max_fail_ratio: f64,
    pub max_idle_connections: usize,
    pub progress_every: Duration,
    pub json: Option<PathBuf>,
    pub csv: Option<String>,
    pub threads: usize,
    /// `--ledger FILE` (and `--ledger-append`).
    pub ledger: Option<crate::ledger::Target>,
    /// TLS for an `https://` host.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// `--insecure`: certificates not verified (said in the report).
    pub insecure: bool,
    /// Cookie jars per student (off with `--no-cookies`).
    pub cookies: bool,
    /// `--max-answer-size`, in bytes.
    pub max_answer: usize,
}

/// `--max-answer-size`: at least 1 KiB, at most 1 GiB.
pub fn max_answer(text: &str) -> Result<usize, UsageError> {
    let n = parse_size(text).map_err(|e| UsageError(format!("--max-answer-size: {e}")))?;
    if !(1 << 10..=1 << 30).contains(&n) {
        return Err(UsageError(format!(
            "--max-answer-size: '{text}' must be between 1KiB and 1GiB"
        )));
    }
    usize::try_from(n).map_err(|_| UsageError(format!("--max-answer-size: '{text}' is too large")))
}

impl TlsArgs {
    /// The certificate options, checked.
    pub fn options(&self) -> Result<crate::tls::TlsOptions, UsageError> {
        if self.insecure && self.cacert.is_some() {
            return Err(UsageError("give --cacert or --insecure, not both".into()));
        }
        Ok(crate::tls::TlsOptions {
            cacert: self.cacert.clone(),
            insecure: self.insecure,
        })
    }
}

/// The TLS client configuration for `target` (none for `http://`, with a
/// warning when certificate options were given: they do nothing there).
pub fn tls_for(
    target: &Target,
    opts: &crate::tls::TlsOptions,
) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, UsageError> {
    if !target.tls {
        if let Some(w) = crate::tls::plain_http_warning(opts) {
            eprintln!("loadgen: warning: {w}");
        }
        return Ok(None);
    }
    crate::tls::client_config(opts)
        .map(Some)
        .map_err(|e| UsageError(e.to_string()))
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
        let r = shard(
            &a.scheme.id_prefix,
            a.scheme.id_width,
            a.scheme.first_id,
            students,
            k,
            n,
        )
        .ok_or_else(|| UsageError(format!("--shard {k}/{n} of {students} students is empty")))?;
        return Ok((r, format!("shard {k}/{n} of {students}")));
    }
    let offset = a.worker_offset.unwrap_or(0);
    let too_big = || {
        UsageError(format!(
            "--first-id, --worker-offset and --students overflow the ID numbers ({students} from {} + {offset})",
            a.scheme.first_id
        ))
    };
    let first = a.scheme.first_id.checked_add(offset).ok_or_else(too_big)?;
    let r = IdRange::from_count(&a.scheme.id_prefix, a.scheme.id_width, first, students).ok_or_else(too_big)?;
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
    if a == 0 || b < a || b > 4 << 30 {
        return Err(UsageError(format!(
            "--segment-size: '{text}' must be SIZE or MIN-MAX with 0 < MIN <= MAX <= 4GiB"
        )));
    }
    Ok((a, b))
}

/// `--flush-every 60s-120s` (every 60 s plus up to 60 s) or `--flush-every 2s`.
fn flush_range(text: &str) -> Result<(Duration, Duration), UsageError> {
    let bad = || {
        UsageError(format!(
            "--flush-every {text}: must be DURATION or MIN-MAX, 0 < MIN <= MAX <= 24h"
        ))
    };
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (
        dur(a, "--flush-every").map_err(|_| bad())?,
        dur(b, "--flush-every").map_err(|_| bad())?,
    );
    if a.is_zero() || b < a || b > crate::scenario::MAX_DURATION {
        return Err(bad());
    }
    Ok((a, b.saturating_sub(a)))
}

/// `NAME=VALUE` pairs.
fn pairs(items: &[String], flag: &str) -> Result<Vec<(String, String)>, UsageError> {
    items
        .iter()
        .map(|i| {
            i.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| UsageError(format!("{flag}: '{i}' is not NAME=VALUE")))
        })
        .collect()
}

impl ScenarioArgs {
    /// Loads the scenario (built-in or a file) with `--var` and `--every` applied.
    pub fn load(&self) -> Result<Scenario, UsageError> {
        // Values are checked by the scenario's compiler, which names the flag.
        let o = Overrides {
            vars: pairs(&self.vars, "--var")?,
            every: pairs(&self.every, "--every")?,
        };
        match &self.scenario {
            Some(p) => {
                let text = crate::files::read_text(p, "--scenario", crate::files::SCENARIO_CAP)
                    .map_err(|e| UsageError(e.to_string()))?;
                Scenario::parse(&text, &p.display().to_string(), &o)
            }
            None => Scenario::parse(crate::scenario::DEFAULT_TOML, "built-in", &o),
        }
        .map_err(|e| UsageError(e.to_string()))
    }
}

/// What students do, from `StudentArgs`.
#[derive(Debug, Clone)]
pub struct StudentSetup {
    pub plan: Plan,
    /// Certificate options for an `https://` host.
    pub tls: crate::tls::TlsOptions,
    /// Cookie jars per student (off with `--no-cookies`).
    pub cookies: bool,
    /// `--ledger FILE` (and `--ledger-append`).
    pub ledger: Option<crate::ledger::Target>,
    pub scenario: Scenario,
    pub payloads: Vec<Option<Payload>>,
    pub timeout: Duration,
    pub max_idle_connections: usize,
    /// `--max-answer-size`, in bytes.
    pub max_answer: usize,
}

/// One buffer of noise as large as the largest file part, sliced by every
/// task; `--payload` replaces the sequenced task's.
fn payloads(s: &Scenario, file: Option<&std::path::Path>) -> Result<Vec<Option<Payload>>, UsageError> {
    let largest = s
        .tasks
        .iter()
        .filter_map(|t| t.request.file.as_ref().map(|f| f.size.1))
        .max()
        .unwrap_or(0);
    let noise = Payload::generated(largest, largest);
    let from_file = file
        .map(|p| Payload::from_file(p).map_err(|e| UsageError(e.to_string())))
        .transpose()?;
    Ok(s.tasks
        .iter()
        .map(|t| {
            let f = t.request.file.as_ref()?;
            match (&from_file, t.sequenced) {
                (Some(p), true) => Some(p.clone()),
                _ => Some(match f.dist {
                    Some(d) => noise.measured(d),
                    None => noise.over(f.size.0, f.size.1),
                }),
            }
        })
        .collect())
}

impl StudentArgs {
    /// Validates the per-student options.
    pub fn to_setup(&self) -> Result<StudentSetup, UsageError> {
        let mut scenario = self.scenario.load()?;
        let seq = scenario.sequenced();
        let needs_seq = [
            ("--segments", self.segments.is_some()),
            ("--segment-interval", self.segment_interval.is_some()),
            ("--segment-size", self.segment_size.is_some()),
            ("--flush-every", self.flush_every.is_some()),
            ("--payload", self.payload.is_some()),
            ("--skip-seq", !self.skip_seq.is_empty()),
            ("--skip-every", self.skip_every.is_some()),
            ("--no-seq", self.no_seq),
        ];
        if seq.is_none()
            && let Some((flag, _)) = needs_seq.iter().find(|(_, given)| *given)
        {
            return Err(UsageError(format!(
                "{flag} applies to the sequenced task, and scenario {} has none",
                scenario.source
            )));
        }
        if let Some(task) = seq.and_then(|i| scenario.tasks.get_mut(i)) {
            if let Some(text) = &self.segment_interval {
                task.every = dur(text, "--segment-interval")?;
                if task.every.is_zero() || task.every > crate::scenario::MAX_DURATION {
                    return Err(UsageError(format!(
                        "--segment-interval {text}: must be above 0 and at most 24h"
                    )));
                }
            }
            if let Some(text) = &self.segment_size {
                let size = size_range(text)?;
                match task.request.file.as_mut() {
                    Some(f) => {
                        f.size = size;
                        f.dist = None;
                    }
                    None => {
                        return Err(UsageError(format!(
                            "--segment-size: the sequenced task '{}' sends no file",
                            task.request.name
                        )));
                    }
                }
            }
        }
        if let Some(text) = &self.flush_every
            && let Some(task) = seq.and_then(|i| scenario.tasks.get_mut(i))
        {
            let Some(q) = task.queue.as_mut() else {
                return Err(UsageError(format!(
                    "--flush-every: the sequenced task '{}' of scenario {} is not a queue (it has no `queue = {{ … }}`)",
                    task.request.name, scenario.source
                )));
            };
            (q.flush_every, q.flush_jitter) = flush_range(text)?;
        }
        let fault = |t: &Option<String>, flag: &str| {
            t.as_deref()
                .map(|t| Fault::parse(t, flag))
                .transpose()
                .map_err(UsageError)
        };
        let (restart, kill) = (
            fault(&self.restart_students, "--restart-students")?,
            fault(&self.kill_students, "--kill-students")?,
        );
        if restart.map_or(0.0, |f| f.share) + kill.map_or(0.0, |f| f.share) > 1.0 {
            return Err(UsageError(
                "--restart-students and --kill-students: their shares add up to more than all the students".into(),
            ));
        }
        if self.skip_every == Some(0) {
            return Err(UsageError("--skip-every must be at least 1".into()));
        }
        Ok(StudentSetup {
            plan: Plan {
                segments: self.segments,
                retries: self.retries.unwrap_or_else(|| {
                    seq.and_then(|i| scenario.tasks.get(i))
                        .filter(|t| t.tries > 1)
                        .map_or(3, |t| t.tries - 1)
                }),
                login_retries: self.login_retries,
                backoff: dur(&self.backoff, "--backoff")?,
                skip: SkipRule {
                    seqs: self.skip_seq.iter().copied().collect(),
                    every: self.skip_every,
                },
                no_seq: self.no_seq,
                restart,
                kill,
            },
            payloads: payloads(&scenario, self.payload.as_deref())?,
            ledger: self.ledger.clone().map(|path| crate::ledger::Target {
                path,
                append: self.ledger_append,
            }),
            tls: self.tls.options()?,
            cookies: !self.no_cookies,
            scenario,
            timeout: dur(&self.timeout, "--timeout")?,
            max_idle_connections: self.max_idle_connections,
            max_answer: max_answer(&self.max_answer_size)?,
        })
    }
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
        if run_time.is_none() && self.student.segments.is_none() {
            return Err(UsageError(
                "give --run-time, --segments, or both: otherwise the run never ends".into(),
            ));
        }
        let setup = self.student.to_setup()?;
        let tls = tls_for(&target, &setup.tls)?;
        let insecure = target.tls && setup.tls.insecure;
        Ok(RunConfig {
            host: self.host.clone(),
            target,
            ids,
            id_source,
            spawn_rate: self.spawn_rate,
            run_time,
            stop_timeout: dur(&self.stop_timeout, "--stop-timeout")?,
            timeout: setup.timeout,
            plan: setup.plan,
            scenario: setup.scenario,
            payloads: setup.payloads,
            max_fail_ratio: self.max_fail_ratio,
            max_idle_connections: setup.max_idle_connections,
            progress_every: dur(&self.progress_interval, "--progress-interval")?,
            json: self.json.clone(),
            csv: self.csv.clone(),
            threads: self.threads.max(1),
            ledger: setup.ledger,
            insecure,
            tls,
            cookies: setup.cookies,
            max_answer: setup.max_answer,
        })
    }
}

impl SetupArgs {
    /// Validates `loadgen setup`.
    pub fn to_config(&self) -> Result<crate::setup::SetupConfig, UsageError> {
        let target = Target::parse(&self.host).map_err(|e| UsageError(e.to_string()))?;
        let ids = IdRange::from_count(&self.ids.id_prefix, self.ids.id_width, self.ids.first_id, self.students)
            .ok_or_else(|| UsageError("--students must be at least 1 (and the IDs must fit in 64 bits)".into()))?;
        let scenario = self.scenario.load()?;
        let tls = tls_for(&target, &self.tls.options()?)?;
        if scenario.setup.is_empty() {
            return Err(UsageError(format!(
                "scenario {} has no [[setup]] requests",
                scenario.source
            )));
        }
        Ok(crate::setup::SetupConfig {
            host: self.host.clone(),
            target,
            scenario,
            ids,
            timeout: dur(&self.timeout, "--timeout")?,
            tls,
            max_answer: max_answer(&self.max_answer_size)?,
            server_clock: server_clock(&self.server_clock)?,
            tz: self.tz.as_deref().map(crate::clock::parse_tz).transpose()?,
        })
    }
}

/// `--server-clock`: a path on the server, or `off`.
fn server_clock(text: &str) -> Result<Option<String>, UsageError> {
    match text {
        "off" | "none" => Ok(None),
        p if p.starts_with('/') && !p.contains(char::is_whitespace) => Ok(Some(p.to_string())),
        _ => Err(UsageError(format!(
            "--server-clock: '{text}' is not a path starting with / (or off)"
        ))),
    }
}

/// Everything `loadgen worker` needs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub master_host: String,
    pub master_port: u16,
    pub host: Option<String>,
    pub master_timeout: Duration,
    pub node_id: String,
    pub id_prefix: String,
    pub id_width: usize,
    pub first_id: u64,
    pub stop_timeout: Duration,
    pub max_fail_ratio: f64,
    pub json: Option<PathBuf>,
    /// `--run-reports`: a folder that exists.
    pub run_reports: Option<PathBuf>,
    pub threads: usize,
    pub setup: StudentSetup,
}

/// `<hostname>_<32 hex>`, the shape Locust gives its workers.
fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "loadgen".into());
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()) << 32;
    let mut hex = String::new();
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hex.push_str(&format!("{:08x}", x as u32));
    }
    format!("{host}_{hex}")
}

impl WorkerArgs {
    /// Validates `loadgen worker`.
    pub fn to_config(&self) -> Result<WorkerConfig, UsageError> {
        // The seed's habit: refused aloud rather than silently ignored.
        if let Some(v) = std::env::var_os("WORKER_OFFSET") {
            return Err(UsageError(format!(
                "WORKER_OFFSET is set ({}), but `loadgen worker` takes no offset: the master's locustfile \
                 (scripts/locust/locustfile.py) gives every worker the exact IDs of its users. Unset it for the \
                 worker (env -u WORKER_OFFSET loadgen worker ...); it keeps its meaning for `loadgen run`",
                common::text::escape_str(&v.to_string_lossy())
            )));
        }
        let setup = self.student.to_setup()?;
        if let Some(h) = &self.host {
            let target = Target::parse(h).map_err(|e| UsageError(e.to_string()))?;
            // Checked now; an http:// host is warned about once, at the first spawn.
            if target.tls {
                tls_for(&target, &setup.tls)?;
            }
        }
        let node_id = self.node_id.clone().unwrap_or_else(default_node_id);
        let run_reports = match &self.run_reports {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| UsageError(format!("--run-reports {}: {e}", d.display())))?;
                Some(d.clone())
            }
            None => None,
        };
        if node_id.is_empty() {
            return Err(UsageError("--node-id must not be empty".into()));
        }
        Ok(WorkerConfig {
            master_host: self.master_host.clone(),
            master_port: self.master_port,
            host: self.host.clone(),
            master_timeout: dur(&self.master_timeout, "--master-timeout")?,
            node_id,
            id_prefix: self.ids.id_prefix.clone(),
            id_width: self.ids.id_width,
            first_id: self.ids.first_id,
            stop_timeout: dur(&self.stop_timeout, "--stop-timeout")?,
            max_fail_ratio: self.max_fail_ratio,
            json: self.json.clone(),
            run_reports,
            threads: self.threads.max(1),
            setup,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::IdSchemeArgs;

    fn ids(shard: Option<&str>, offset: Option<u64>) -> IdArgs {
        IdArgs {
            scheme: IdSchemeArgs {
                id_prefix: "test_".into(),
                id_width: 5,
                first_id: 1,
            },
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
        assert!(
            id_range(&ids(None, Some(u64::MAX)), 10).is_err(),
            "an overflowing offset is a usage error"
        );
        assert!(pairs(&["a=1".into()], "--var").is_ok() && pairs(&["=1".into()], "--var").is_err());
        assert_eq!(size_range("4K-8K").unwrap(), (4096, 8192));
    }
}
