//! From the raw file to the checked scenario: every refusal names the file,
//! the line and the key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use common::text::escape_str;
use toml::Spanned;

use super::raw::{RawRequest, RawScenario};
use super::request::request;
use super::template::{Place, Scope, is_builtin};
use super::{MAX_DURATION, Overrides, Queue, Retry, Scenario, ScenarioError, Task, Template};

pub(super) struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let upto = self.text.as_bytes().get(..span.start).unwrap_or(self.text.as_bytes());
        upto.iter().filter(|b| **b == b'\n').count() + 1
    }

    /// A refusal; the key and message quote the file's text, so they are
    /// sanitized (a task name holding ESC cannot rewrite the terminal).
    pub(super) fn err(&self, span: Option<&Range<usize>>, key: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: escape_str(self.file),
            line: span.map(|s| self.line(s)),
            key: (!key.is_empty()).then(|| escape_str(key)),
            message: escape_str(&message.into()),
        }
    }

    pub(super) fn template(&self, v: &Spanned<String>, key: &str, scope: &Scope) -> Result<Template, ScenarioError> {
        Template::compile(v.get_ref(), scope).map_err(|m| self.err(Some(&v.span()), key, m))
    }

    /// A task's `every`, `jitter` or `offset`: at most `MAX_DURATION`.
    pub(super) fn duration(&self, v: &Spanned<String>, key: &str) -> Result<Duration, ScenarioError> {
        bounded(v.get_ref()).map_err(|m| self.err(Some(&v.span()), key, m))
    }
}

/// A task duration, at most `MAX_DURATION` (nothing in an exam waits longer,
/// and the schedule's arithmetic stays far from any overflow).
pub(super) fn bounded(text: &str) -> Result<Duration, String> {
    let d = common::usage::parse_millis(text)
        .map(Duration::from_millis)
        .map_err(|e| e.0)?;
    if d > MAX_DURATION {
        return Err(format!("'{text}' is too long: at most 24h"));
    }
    Ok(d)
}

/// Parses `text` (named `file` in messages) into a checked scenario.
pub fn compile(text: &str, file: &str, o: &Overrides) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { text, file };
    // Syntax first, then the version (a version 1 file would only show unknown keys), then the shape.
    let table: toml::Table = toml::from_str(text).map_err(|e| cx.err(e.span().as_ref(), "", e.message()))?;
    if !table.contains_key("version") {
        return Err(cx.err(
            None,
            "version",
            "missing `version = 2` at the top (version 1 scenarios changed shape: see CHANGELOG)",
        ));
    }
    let raw: RawScenario = toml::from_str(text).map_err(|e| cx.err(e.span().as_ref(), "", e.message()))?;
    match &raw.version {
        Some(v) if *v.get_ref() == 2 => {}
        Some(v) => return Err(cx.err(Some(&v.span()), "version", "this loadgen reads version = 2 scenarios")),
        None => {
            return Err(cx.err(
                None,
                "version",
                "missing `version = 2` at the top (version 1 scenarios changed shape: see CHANGELOG)",
            ));
        }
    }
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &raw.vars {
        if is_builtin(k) {
            return Err(cx.err(
                Some(&v.span()),
                &format!("vars.{k}"),
                format!("'{k}' is a built-in template name"),
            ));
        }
        vars.insert(k.clone(), v.get_ref().clone());
    }
    override_vars(&raw, o, &mut vars)?;

    let no_captures: Vec<String> = Vec::new();
    let student_name = match &raw.student_name {
        Some(t) => {
            let scope = Scope {
                place: Place::Login,
                captures: &no_captures,
                vars: &vars,
            };
            if t.get_ref().contains("{student_name}") {
                return Err(cx.err(Some(&t.span()), "student_name", "student_name cannot use itself"));
            }
            cx.template(t, "student_name", &scope)?
        }
        None => Template::compile(
            "Student {n}",
            &Scope {
                place: Place::Login,
                captures: &no_captures,
                vars: &vars,
            },
        )
        .map_err(|m| cx.err(None, "student_name", m))?,
    };

    let mut setup_captures = Vec::new();
    let mut setup = Vec::new();
    for (i, r) in raw.setup.iter().enumerate() {
        let key = format!("setup[{}]", i + 1);
        let name = format!("setup {}", i + 1);
        let req = request(&cx, r, &key, &name, Place::Setup, &mut setup_captures, &vars)?;
        setup.push(req);
    }

    let login_raw = raw
        .login
        .as_ref()
        .ok_or_else(|| cx.err(None, "login", "a scenario needs a [login] table"))?;
    let mut captures = Vec::new();
    let login = request(&cx, login_raw, "login", "login", Place::Login, &mut captures, &vars)?;

    let mut tasks: Vec<Task> = Vec::new();
    for (i, r) in raw.tasks.iter().enumerate() {
        let t = r.get_ref();
        let name = t.name.as_ref().ok_or_else(|| {
            cx.err(
                Some(&r.span()),
                &format!("task[{}].name", i + 1),
                "every [[task]] needs a name",
            )
        })?;
        let key = format!("task.{}", name.get_ref());
        let n = name.get_ref();
        if n.is_empty() || ["login", "logout", "Aggregated"].contains(&n.as_str()) || n.contains(['=', ',']) {
            return Err(cx.err(
                Some(&name.span()),
                &format!("{key}.name"),
                format!("'{n}' cannot name a task"),
            ));
        }
        if tasks.iter().any(|o| &o.request.name == n) {
            return Err(cx.err(
                Some(&name.span()),
                &format!("{key}.name"),
                format!("two tasks are named '{n}'"),
            ));
        }
        let sequenced = t.sequenced.as_ref().is_some_and(|s| *s.get_ref());
        if sequenced && let Some(first) = tasks.iter().find(|o| o.sequenced) {
            let span = t.sequenced.as_ref().map(Spanned::span);
            return Err(cx.err(
                span.as_ref(),
                &format!("{key}.sequenced"),
                format!(
                    "only one task may be sequenced, and '{}' already is",
                    first.request.name
                ),
            ));
        }
        let place = if sequenced { Place::Sequenced } else { Place::Student };
        let mut none = captures.clone();
        let before = none.len();
        let request = request(&cx, r, &key, n, place, &mut none, &vars)?;
        if none.len() != before {
            return Err(cx.err(
                Some(&r.span()),
                &format!("{key}.capture"),
                "captures come from [login] and [[setup]] answers only",
            ));
        }
        let every = match &t.every {
            Some(e) => cx.duration(e, &format!("{key}.every"))?,
            None => return Err(cx.err(Some(&r.span()), &format!("{key}.every"), "every [[task]] needs `every`")),
        };
        // The last `--every` for a task wins (as for `--var`).
        let every_flag = o.every.iter().rev().find(|(k, _)| k == n);
        if sequenced && let Some(e) = t.enabled.as_ref().filter(|e| !*e.get_ref()) {
            return Err(cx.err(
                Some(&e.span()),
                &format!("{key}.enabled"),
                "the sequenced task cannot be off (it paces the student's end)",
            ));
        }
        let enabled = every_flag.is_some() || t.enabled.as_ref().is_none_or(|e| *e.get_ref());
        let every = match every_flag {
            Some((k, text)) => {
                let flag = || format!("--every {k}={text}");
                let d = bounded(text).map_err(|m| ScenarioError::flag(flag(), m))?;
                if d.is_zero() {
                    return Err(ScenarioError::flag(flag(), "must be above 0"));
                }
                d
            }
            None => every,
        };
        if every.is_zero() {
            return Err(cx.err(
                t.every.as_ref().map(Spanned::span).as_ref(),
                &format!("{key}.every"),
                "`every` must be above 0",
            ));
        }
        let probability = t.probability.as_ref().map_or(Ok(1.0), |p| {
            let v = *p.get_ref();
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(cx.err(
                    Some(&p.span()),
                    &format!("{key}.probability"),
                    "probability must be between 0 and 1",
                ))
            }
        })?;
        tasks.push(Task {
            request,
            every,
            jitter: t
                .jitter
                .as_ref()
                .map(|j| cx.duration(j, &format!("{key}.jitter")))
                .transpose()?
                .unwrap_or_default(),
            offset: t
                .offset
                .as_ref()
                .map(|j| cx.duration(j, &format!("{key}.offset")))
                .transpose()?,
            probability,
            sequenced,
            queue: queue(&cx, t, &key, sequenced)?,
            enabled,
            tries: tries(&cx, t, &key)?,
            timeout: match &t.timeout {
                Some(d) => {
                    let v = cx.duration(d, &format!("{key}.timeout"))?;
                    if v.is_zero() {
                        return Err(cx.err(Some(&d.span()), &format!("{key}.timeout"), "`timeout` must be above 0"));
                    }
                    Some(v)
                }
                None => None,
            },
        });
    }
    // After the one-sequenced-task check: a sequenced task must carry its seq
    // somewhere, or the uploads it paces and retries are indistinguishable.
    if let Some(i) = tasks.iter().position(|t| t.sequenced && !t.request.uses_seq()) {
        let span = raw
            .tasks
            .get(i)
            .and_then(|r| r.get_ref().sequenced.as_ref())
            .map(Spanned::span);
        let name = tasks.get(i).map_or("", |t| t.request.name.as_str());
        return Err(cx.err(
            span.as_ref(),
            &format!("task.{name}.sequenced"),
            "a sequenced task sends its seq: use {seq} in its path, a field, a header or the file name",
        ));
    }
    for (name, text) in &o.every {
        if !tasks.iter().any(|t| &t.request.name == name) {
            let names: Vec<&str> = tasks.iter().map(|t| t.request.name.as_str()).collect();
            return Err(ScenarioError::flag(
                format!("--every {name}={text}"),
                format!("the scenario has no task named '{name}' (tasks: {})", names.join(", ")),
            ));
        }
    }

    let logout = match &raw.logout {
        Some(r) => {
            let mut none = captures.clone();
            let req = request(&cx, r, "logout", "logout", Place::Student, &mut none, &vars)?;
            if none.len() != captures.len() {
                return Err(cx.err(
                    Some(&r.span()),
                    "logout.capture",
                    "captures come from [login] and [[setup]] answers only",
                ));
            }
            Some(req)
        }
        None => None,
    };
    Ok(Scenario {
        source: file.to_string(),
        student_name,
        setup,
        setup_captures,
        login,
        ledger_exam: super::exam_capture(&cx, raw.ledger_exam.as_ref(), &captures)?,
        captures,
        tasks,
        logout,
    })
}

/// A task's `tries` (attempts per run). A queued task retries by its
/// queue's `retry`; a plain sequenced one's `tries` is the default of `--retries` (+1).
fn tries(cx: &Ctx, t: &RawRequest, key: &str) -> Result<u32, ScenarioError> {
    let key = format!("{key}.tries");
    let Some(n) = &t.tries else { return Ok(1) };
    if t.queue.is_some() {
        return Err(cx.err(Some(&n.span()), &key, "a queued task retries by its queue's `retry`"));
    }
    u32::try_from(*n.get_ref())
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| cx.err(Some(&n.span()), &key, "tries must be 1 to 100"))
}

/// A sequenced task's `queue = { … }`.
fn queue(cx: &Ctx, t: &RawRequest, key: &str, sequenced: bool) -> Result<Option<Queue>, ScenarioError> {
    let Some(q) = &t.queue else { return Ok(None) };
    let key = format!("{key}.queue");
    if !sequenced {
        return Err(cx.err(Some(&q.span()), &key, "only the sequenced task can be a queue"));
    }
    let q = q.get_ref();
    let dur = |v: &Option<Spanned<String>>, sub: &str| {
        v.as_ref()
            .map(|d| cx.duration(d, &format!("{key}.{sub}")))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let flush_every = cx.duration(&q.flush_every, &format!("{key}.flush_every"))?;
    if flush_every.is_zero() {
        return Err(cx.err(
            Some(&q.flush_every.span()),
            &format!("{key}.flush_every"),
            "`flush_every` must be above 0",
        ));
    }
    let retry = match &q.retry {
        None => Retry::NextFlush,
        Some(r) => parse_retry(r.get_ref()).map_err(|m| cx.err(Some(&r.span()), &format!("{key}.retry"), m))?,
    };
    let exit_passes = match &q.exit_passes {
        None => 1,
        Some(p) => u32::try_from(*p.get_ref()).ok().filter(|n| *n <= 100).ok_or_else(|| {
            cx.err(
                Some(&p.span()),
                &format!("{key}.exit_passes"),
                "exit_passes must be 0 to 100",
            )
        })?,
    };
    Ok(Some(Queue {
        flush_every,
        flush_jitter: dur(&q.flush_jitter, "flush_jitter")?,
        flush_gap: dur(&q.flush_gap, "flush_gap")?,
        retry,
        exit_passes,
        exit_pass_gap: dur(&q.exit_pass_gap, "exit_pass_gap")?,
    }))
}

/// `next-flush` or `immediate:N` (N attempts in all, 1 to 100).
pub(super) fn parse_retry(text: &str) -> Result<Retry, String> {
    if text == "next-flush" {
        return Ok(Retry::NextFlush);
    }
    text.strip_prefix("immediate:")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=100).contains(n))
        .map(Retry::Immediate)
        .ok_or_else(|| {
            format!("retry '{text}' must be \"next-flush\" or \"immediate:N\" (N attempts in all, 1 to 100)")
        })
}

/// Applies `--var`s (the last for a name wins): only to names `[vars]`
/// declares, so a typo or a built-in or captured name is refused, not ignored.
fn override_vars(raw: &RawScenario, o: &Overrides, vars: &mut BTreeMap<String, String>) -> Result<(), ScenarioError> {
    let captured = |k: &str| {
        raw.login
            .iter()
            .chain(&raw.setup)
            .any(|r| r.get_ref().capture.contains_key(k))
    };
    for (k, v) in &o.vars {
        if !raw.vars.contains_key(k) {
            let why = if is_builtin(k) {
                format!("{k} is a built-in template name, not a [vars] entry")
            } else if captured(k) {
                format!("{k} is captured from an answer, not a [vars] entry")
            } else {
                let declared: Vec<&str> = raw.vars.keys().map(String::as_str).collect();
                let list = if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                };
                format!("the scenario declares no [vars] entry {k} (it declares: {list})")
            };
            return Err(ScenarioError::flag(format!("--var {k}={v}"), why));
        }
        vars.insert(k.clone(), v.clone());
    }
    Ok(())
}
