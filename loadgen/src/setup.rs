//! `loadgen setup`: the scenario's one-time requests (create an exam holding
//! the whole population), run in order; each one's captures are visible to the
//! next and printed at the end as `NAME=VALUE`.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use verify::idspace::IdRange;

use crate::answer;
use crate::http::{Client, Target};
use crate::requests;
use crate::scenario::{Captured, Escape, Scenario, Values};

/// What `loadgen setup` needs.
#[derive(Debug, Clone)]
pub struct SetupConfig {
    pub host: String,
    pub target: Target,
    pub scenario: Scenario,
    /// The whole population.
    pub ids: IdRange,
    pub timeout: Duration,
}

/// One setup request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupStep {
    pub name: String,
    pub method: String,
    pub path: String,
    /// HTTP status, when an answer came.
    pub status: Option<u16>,
    /// `None` on success; else the failure (`http 400`, `check /status`, `connect`, …).
    pub failure: Option<String>,
    /// The start of the answer body (at most 300 bytes, lossy UTF-8), for messages.
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
    let client = Client::new(cfg.target.clone(), addr, cfg.timeout, 4);
    let s = &cfg.scenario;
    let list = student_list(s, &cfg.ids);
    let mut caps = vec![Captured::new(serde_json::Value::Null); s.setup_captures.len()];
    let mut steps = Vec::new();
    for r in &s.setup {
        let v = Values {
            student_list: &list,
            captures: &caps,
            at: None,
            ..Values::default()
        };
        let mut step = SetupStep {
            name: r.name.clone(),
            method: r.method.to_string(),
            path: r.path.source().to_string(),
            status: None,
            failure: None,
            answer: String::new(),
        };
        let outcome = match requests::prepare(r, &v, Bytes::new()) {
            Err(k) => Err(k),
            Ok(p) => match client.send(&p.method, &p.path, &p.headers, p.body).await {
                Err(k) => Err(k),
                Ok(a) => {
                    step.status = Some(a.status);
                    let head = a.body.get(..a.body.len().min(300)).unwrap_or_default();
                    step.answer = String::from_utf8_lossy(head).into_owned();
                    answer::judge(r, &s.setup_captures, a.status, &a.body)
                }
            },
        };
        match outcome {
            Ok(got) => {
                for (i, c) in got {
                    if let Some(slot) = caps.get_mut(i) {
                        *slot = c;
                    }
                }
                steps.push(step);
            }
            Err(k) => {
                step.failure = Some(k.to_string());
                steps.push(step);
                break;
            }
        }
    }
    let ok = steps.len() == s.setup.len() && steps.iter().all(|s| s.failure.is_none());
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
