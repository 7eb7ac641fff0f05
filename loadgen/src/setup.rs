//! `loadgen setup`: the scenario's one-time requests (create an exam holding
//! the whole population), run in order; each one's captures are visible to the
//! next and printed at the end as `NAME=VALUE`. Time templates count from the
//! server's clock (see `clock`), and the exam's window is checked against it.

use std::time::Duration;

use bytes::Bytes;
use common::idspace::IdRange;
use serde::Serialize;

use crate::answer;
use crate::clock::{self, Clock, ClockReport};
use crate::http::{Client, Target};
use crate::requests;
use crate::scenario::{Escape, Scenario, Values};

/// What `loadgen setup` needs.
#[derive(Debug, Clone)]
pub struct SetupConfig {
    pub host: String,
    pub target: Target,
    pub scenario: Scenario,
    /// The whole population.
    pub ids: IdRange,
    pub timeout: Duration,
    /// TLS for an `https://` host.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// `--max-answer-size`, in bytes.
    pub max_answer: usize,
    /// `--server-clock`: where the server tells its time (`None`: off).
    pub server_clock: Option<String>,
    /// `--tz`: the server's UTC offset when it does not tell its time.
    pub tz: Option<chrono::FixedOffset>,
}

/// One setup request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupStep {
    pub name: String,
    pub method: String,
    pub path: String,
    /// The full URL requested (`--host`'s path prefix included).
    pub url: String,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// `None` on success; else the failure (`http 400`, `check /status`, `connect`, …).
    pub failure: Option<String>,
    /// The start of the answer (`answer::head`: at most 200 bytes, a JSON answer's words unescaped).
    pub answer: String,
}

/// The outcome of the whole setup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupReport {
    pub schema: &'static str,
    pub host: String,
    /// The population, e.g. `test_00001..test_00500`.
    pub students: String,
    pub steps: Vec<SetupStep>,
    /// Captured values by name, as text.
    pub captures: Vec<(String, String)>,
    /// True when every request succeeded.
    pub ok: bool,
    /// The clock the times were filled from.
    pub clock: ClockReport,
    /// The exam's window (`start_time`/`end_time` fields of a setup request), when found.
    pub window: Option<Window>,
    /// Things to fix before running (a window that misses the server's now, …).
    pub warnings: Vec<String>,
}

/// The exam's window as sent, and the clock's now beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    /// Now on the clock the times came from (the server's when it told it).
    pub now: String,
    /// False: the server will refuse every login of this exam now.
    pub contains_now: bool,
}

/// The field names of an exam's window.
const WINDOW_FIELDS: (&str, &str) = ("start_time", "end_time");

/// The window a setup request sends, when it has both fields.
fn window_of(r: &crate::scenario::Request, v: &Values) -> Option<(String, String)> {
    let field = |name: &str| {
        r.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, t)| t.fill(v, Escape::None))
    };
    Some((field(WINDOW_FIELDS.0)?, field(WINDOW_FIELDS.1)?))
}

/// Compares the window with the clock's now; a warning when it misses it.
fn check_window(start: String, end: String, clock: &Clock, warnings: &mut Vec<String>) -> Window {
    let now = clock.now();
    let (s, e) = (clock::parse_wall(&start), clock::parse_wall(&end));
    let contains_now = match (s, e) {
        (Some(s), Some(e)) => s <= now && now <= e,
        _ => {
            warnings.push(format!(
                "the exam window '{start}' .. '{end}' is not YYYY-MM-DD HH:MM:SS: it was not checked against the server's clock"
            ));
            true
        }
    };
    let now = now.format(clock::SHOWN).to_string();
    if !contains_now {
        warnings.push(format!(
            "the exam window {start} .. {end} does not contain {} now ({now}): the server will refuse every login \
             (当前没有进行中的考试); give the server's UTC offset with --tz, or fix the scenario's start_time/end_time",
            clock.whose()
        ));
    }
    Window {
        start,
        end,
        now,
        contains_now,
    }
}

/// `ID NAME` per student, one per line: the `{student_list}` value.
pub fn student_list(s: &Scenario, ids: &IdRange) -> String {
    let mut out = String::new();
    for (i, id) in ids.ids().enumerate() {
        let v = Values {
            student_id: &id,
            n: ids.first.saturating_add(i as u64),
            ..Values::default()
        };
        out.push_str(&id);
        out.push(' ');
        out.push_str(&s.student_name.fill(&v, Escape::None));
        out.push('\n');
    }
    out
}

/// Runs the setup requests in order; stops at the first failure.
pub async fn setup(cfg: SetupConfig) -> anyhow::Result<SetupReport> {
    let addr = cfg.target.resolve().await?;
    let client = Client::new(cfg.target.clone(), addr, cfg.timeout, 4, cfg.tls.clone()).with_max_answer(cfg.max_answer);
    let s = &cfg.scenario;
    let clock = clock::choose(&client, cfg.server_clock.as_deref(), cfg.tz).await;
    let mut warnings = Vec::new();
    let timed = s
        .setup
        .iter()
        .any(|r| r.fields.iter().any(|(_, t)| t.uses_time()) || r.path.uses_time());
    if timed && clock.report.source == "local" {
        warnings.push(format!(
            "{}: the exam's times are this machine's local time (UTC{}); if the server's clock is in another zone, give it with --tz (e.g. --tz +08:00)",
            clock.report.note.as_deref().unwrap_or("no server clock (--server-clock off)"),
            clock.report.offset
        ));
    }
    let base = &cfg.target.base;
    if let Some(r) = s
        .setup
        .iter()
        .find(|r| !base.is_empty() && r.path.source().starts_with(&format!("{base}/")))
    {
        warnings.push(format!(
            "--host ends in {base} and the scenario's paths already start with it: this requests {base}{}; give --host without the path",
            r.path.source()
        ));
    }
    let list = student_list(s, &cfg.ids);
    let mut caps = answer::slots(&s.setup_captures);
    let mut steps = Vec::new();
    let mut window = None;
    for r in &s.setup {
        let v = Values {
            student_list: &list,
            captures: &caps,
            at: None,
            zone: clock.zone,
            ..Values::default()
        };
        if window.is_none() {
            window = window_of(r, &v).map(|(a, b)| check_window(a, b, &clock, &mut warnings));
        }
        let path = r.path.fill(&v, Escape::Url);
        let url = format!("{}{path}", cfg.target.origin());
        let o = requests::exchange(&client, r, &s.setup_captures, &v, Bytes::new(), false).await;
        let answer = o
            .answer
            .as_ref()
            .map_or_else(String::new, |a| answer::head(&a.body).to_string());
        let failure = o.result.as_ref().err().map(ToString::to_string);
        steps.push(SetupStep {
            name: r.name.clone(),
            method: r.method.to_string(),
            path: r.path.source().to_string(),
            url,
            status: o.answer.as_ref().map(|a| a.status),
            failure,
            answer,
        });
        match o.result {
            Ok(got) => answer::store(&mut caps, got),
            Err(_) => break,
        }
    }
    let ok = steps.len() == s.setup.len() && steps.iter().all(|s| s.failure.is_none());
    if steps.iter().any(|s| s.failure.as_deref() == Some("connect")) {
        warnings.push(format!(
            "could not open a connection to {}: nothing listens there (connection refused) or it is unreachable; \
             start the server, or check --host (scheme, address, port)",
            cfg.host
        ));
    }
    let captures = s
        .setup_captures
        .iter()
        .zip(&caps)
        .filter(|(_, c)| !c.json.is_null())
        .map(|(n, c)| (n.clone(), c.text.clone()))
        .collect();
    Ok(SetupReport {
        schema: "loadgen.setup/1",
        host: cfg.host,
        students: cfg.ids.to_string(),
        steps,
        captures,
        ok,
        clock: clock.report,
        window,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_student_list_names_every_student() {
        let s = Scenario::builtin().unwrap();
        let ids = IdRange::from_count("test_", 5, 9, 3).unwrap();
        assert_eq!(
            student_list(&s, &ids),
            "test_00009 Student 9\ntest_00010 Student 10\ntest_00011 Student 11\n"
        );
    }
}
