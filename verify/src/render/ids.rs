//! How a `verify ids` report reads for people and JUnit.

use super::{AuditView, Case, FindingRow, kind_note, short_list};
use crate::findings::{FailOn, Kind};
use crate::report::PathError;
use crate::report::ids::{DuplicateId, IdsKind, IdsReport};
use common::exit::Outcome;

/// An ids report together with the `--fail-on` set that judged it.
#[derive(Debug)]
pub struct IdsView<'a> {
    /// The report.
    pub report: &'a IdsReport,
    /// Which kinds fail.
    pub fail_on: &'a FailOn<IdsKind>,
}

const LIST_KEEP: usize = 3;

/// `file:line time source` for each event of a duplicate.
fn events_detail(d: &DuplicateId) -> String {
    let evs: Vec<String> = d
        .events
        .iter()
        .map(|e| {
            let mut s = format!("{}:{}", e.file, e.line);
            if let Some(t) = &e.time {
                s.push_str(&format!(" {t}"));
            }
            if let Some(src) = &e.source {
                s.push_str(&format!(" ({src})"));
            }
            s
        })
        .collect();
    format!("{}: {}", d.evidence, short_list(&evs, LIST_KEEP))
}

/// Why an access log with login requests shows no login, and what to do.
pub fn requests_only_words(r: &IdsReport) -> String {
    format!(
        "{} POST /api/login request(s) answered 2xx in the access log, and not one login event in {} file(s): \
         the access log never names the student, and the server's own messages (print() output) are not in this file. \
         gunicorn keeps print() output only with --capture-output, in its --error-logfile; and the real supervise \
         server prints no line at all for a login (登录成功 is only in its JSON answer; it prints 学生登出 for a logout). \
         Audit the logins where they are recorded: the server's login history with --db mysql://USER@HOST/monitoring, \
         the load generator's ledgers with --ledger FILE…, or a target that logs them (--log on its error log)",
        r.summary.login_requests_sampled, r.summary.files
    )
}

impl AuditView for IdsView<'_> {
    fn name(&self) -> &'static str {
        "verify ids"
    }

    fn title(&self) -> String {
        let s = &self.report.summary;
        format!(
            "verify ids: {} file(s), {} lines, {} login events",
            s.files, s.lines, s.login_events
        )
    }

    fn outcome(&self) -> Outcome {
        self.report.outcome()
    }

    fn failed_on(&self) -> Vec<String> {
        self.report.failed_on.iter().map(|k| k.name().to_string()).collect()
    }

    fn summary_rows(&self) -> Vec<[String; 3]> {
        let s = &self.report.summary;
        let note = |kind: IdsKind, n: u64| kind_note(self.fail_on, kind, n);
        let mut rows = vec![
            ["lines".into(), s.lines.to_string(), format!("{} file(s)", s.files)],
            [
                "login events".into(),
                s.login_events.to_string(),
                note(IdsKind::NoLogins, s.no_logins()),
            ],
            [
                "logout events".into(),
                s.logout_events.to_string(),
                "a login after a logout is a relogin".into(),
            ],
            ["distinct IDs".into(), s.distinct_ids.to_string(), String::new()],
            [
                "duplicated IDs".into(),
                s.duplicated_ids.to_string(),
                format!("window {} s", s.window_seconds),
            ],
            [
                "collision".into(),
                s.collisions.to_string(),
                note(IdsKind::Collision, s.collisions),
            ],
            [
                "relogin".into(),
                s.relogins.to_string(),
                note(IdsKind::Relogin, s.relogins),
            ],
        ];
        if s.expected > 0 {
            rows.push(["expected".into(), s.expected.to_string(), String::new()]);
            rows.push([
                "missing".into(),
                s.missing.to_string(),
                note(IdsKind::Missing, s.missing),
            ]);
            rows.push([
                "unexpected".into(),
                s.unexpected.to_string(),
                note(IdsKind::Unexpected, s.unexpected),
            ]);
        }
        rows.push([
            "malformed".into(),
            s.malformed.to_string(),
            note(IdsKind::Malformed, s.malformed),
        ]);
        if s.undecodable_lines > 0 {
            rows.push([
                "undecodable lines".into(),
                s.undecodable_lines.to_string(),
                "see warnings".into(),
            ]);
        }
        if s.mixed_encoding_lines > 0 {
            rows.push([
                "mixed-encoding lines".into(),
                s.mixed_encoding_lines.to_string(),
                "the logs mix UTF-8 and GB18030; see warnings".into(),
            ]);
        }
        for f in &self.report.files {
            rows.push([
                format!("file {}", f.path),
                format!("{} lines", f.lines),
                format!("{} logins, {}", f.login_events, f.encoding),
            ]);
        }
        for w in &self.report.warnings {
            rows.push(["warning".into(), String::new(), w.clone()]);
        }
        rows
    }

    fn finding_rows(&self) -> Vec<FindingRow> {
        let r = self.report;
        let row = |student: &str, kind: IdsKind, detail: String| FindingRow::of(self.fail_on, kind, student, detail);
        let mut rows: Vec<FindingRow> = r
            .duplicates
            .iter()
            .map(|d| row(&d.id, d.kind, events_detail(d)))
            .collect();
        rows.extend(
            r.missing
                .iter()
                .map(|id| row(id, IdsKind::Missing, "never logged in".into())),
        );
        rows.extend(
            r.unexpected
                .iter()
                .map(|id| row(id, IdsKind::Unexpected, "logged in, not in --expect".into())),
        );
        if r.summary.no_logins() > 0 && r.summary.logout_events > 0 {
            rows.push(row(
                "",
                IdsKind::NoLogins,
                format!(
                    "{} logout(s) and not one login event in {} file(s): the real supervise server prints 学生登出 \
                     for a logout and no line at all for a login. Read its logins with --db mysql://USER@HOST/monitoring \
                     (its login history) or --ledger FILE… (the load generator's ledgers)",
                    r.summary.logout_events, r.summary.files
                ),
            ));
        } else if r.summary.no_logins() > 0 {
            rows.push(row(
                "",
                IdsKind::NoLogins,
                format!(
                    "{} lines in {} file(s), not one login event: the wrong log (gunicorn's error log holds them), \
                     the wrong --encoding or the wrong --event? (--allow-empty accepts a log without logins)",
                    r.summary.lines, r.summary.files
                ),
            ));
        }
        if r.summary.login_requests_only() > 0 {
            rows.push(row("", IdsKind::LoginRequestsOnly, requests_only_words(r)));
        }
        rows.extend(r.malformed.samples.iter().map(|s| {
            row(
                "",
                IdsKind::Malformed,
                format!("{}:{} login line without an ID: {}", s.file, s.line, s.text),
            )
        }));
        rows
    }

    fn errors(&self) -> Vec<PathError> {
        self.report.errors.clone()
    }

    fn junit_cases(&self) -> Vec<Case> {
        let r = self.report;
        let case = |name: String, kind: IdsKind, texts: Vec<String>| {
            let fails = self.fail_on.fails(kind);
            Case::finding(name, format!("verify.ids.{}", kind.name()), texts, fails)
        };
        let mut cases: Vec<Case> = r
            .duplicates
            .iter()
            .map(|d| case(d.id.clone(), d.kind, vec![events_detail(d)]))
            .collect();
        if !r.missing.is_empty() {
            cases.push(case("missing logins".into(), IdsKind::Missing, r.missing.clone()));
        }
        if !r.unexpected.is_empty() {
            cases.push(case(
                "unexpected logins".into(),
                IdsKind::Unexpected,
                r.unexpected.clone(),
            ));
        }
        if r.malformed.count > 0 {
            let texts = r
                .malformed
                .samples
                .iter()
                .map(|s| format!("{}:{} {}", s.file, s.line, s.text))
                .collect();
            cases.push(case("malformed login lines".into(), IdsKind::Malformed, texts));
        }
        if r.summary.login_requests_only() > 0 {
            cases.push(case(
                "login requests only".into(),
                IdsKind::LoginRequestsOnly,
                vec![requests_only_words(r)],
            ));
        }
        cases.push(Case {
            name: "logins".into(),
            classname: "verify.ids".into(),
            failures: vec![],
            notes: vec![format!(
                "{} login events, {} distinct IDs",
                r.summary.login_events, r.summary.distinct_ids
            )],
            error: None,
        });
        cases.extend(r.errors.iter().map(|e| Case::read_error(e, "verify.ids.errors")));
        cases
    }
}
