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
    let client = Client::new(cfg.target.clone(), addr, cfg.timeout, 4, cfg.tls.clone()).with_max_answer(cfg.max_answer);
    let s = &cfg.scenario;
    let list = student_list(s, &cfg.ids);
    let mut caps = answer::slots(&s.setup_captures);
    let mut steps = Vec::new();
    for r in &s.setup {
        let v = Values {
            student_list: &list,
            captures: &caps,
            at: None,
            ..Values::default()
        };
        let o = requests::exchange(&client, r, &s.setup_captures, &v, Bytes::new(), false).await;
        let answer = o.answer.as_ref().map_or_else(String::new, |a| {
            let head = a.body.get(..a.body.len().min(300)).unwrap_or_default();
            String::from_utf8_lossy(head).into_owned()
        });
        let failure = o.result.as_ref().err().map(ToString::to_string);
        steps.push(SetupStep {
            name: r.name.clone(),
            method: r.method.to_string(),
            path: r.path.source().to_string(),
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
