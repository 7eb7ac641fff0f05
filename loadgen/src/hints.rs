//! What to do about a run's failures, in words: read from the finished
//! report, so the table, the JSON and a worker's report all say the same.
//! Each hint names the evidence it came from (the server's answer, the count).

use crate::report::{EndpointReport, RunReport};

/// The hints for a finished run, most decisive first.
pub fn for_run(r: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    let connect = r.total.failure_kinds.get("connect").copied().unwrap_or(0);
    if connect > 0 && connect * 2 >= r.total.failures {
        out.push(format!(
            "{connect} request(s) could not open a connection to {}: nothing listens there (connection refused) \
             or it is unreachable; start the server, or check --host (scheme, address, port)",
            r.host
        ));
    }
    // The login is the first request kind of every scenario.
    if let Some(login) = r.endpoints.first() {
        refused_logins(r, login, &mut out);
    }
    if let Some(h) = doubled_prefix(r) {
        out.push(h);
    }
    out
}

/// The failure kinds that are the server's own refusal (it answered).
fn answered(kind: &str) -> bool {
    kind.starts_with("http 4") || kind.starts_with("check ") || kind.starts_with("capture ")
}

/// The login's most frequent answered failure with its words, for the hint.
fn evidence(login: &EndpointReport) -> Option<String> {
    let (kind, _) = login
        .failure_kinds
        .iter()
        .filter(|(k, _)| answered(k))
        .max_by_key(|(_, n)| **n)?;
    Some(match login.failure_answers.get(kind) {
        Some(a) => format!("{kind}: {}", crate::answer::words(a)),
        None => kind.clone(),
    })
}

fn refused_logins(r: &RunReport, login: &EndpointReport, out: &mut Vec<String>) {
    let s = &r.students;
    let Some(why) = evidence(login) else { return };
    if why.starts_with("http 404") || why.starts_with("http 405") {
        out.push(format!(
            "the login's URL is not on the server ({why}): check --host and the scenario's paths \
             (the table shows what was requested)"
        ));
    } else if s.logged_in == 0 && login.requests > 0 {
        out.push(format!(
            "every login was refused ({why}): the server has no exam in progress holding these students. \
             Run `loadgen setup --host {} --students N` first (N the whole population, the same --id-prefix, \
             --id-width and --first-id; it prints the exam's window beside the server's time, which the window must contain), then run again",
            r.host
        ));
    } else if !s.login_failed.is_empty() {
        out.push(format!(
            "{} student(s) never logged in ({why}): is each of them enrolled in a running exam? \
             `loadgen setup --students N` must cover the whole population ({})",
            s.login_failed.len(),
            r.id_range
        ));
    }
}

/// `--host http://H:P/api` with paths `/api/…`: every request went to `/api/api/…`.
fn doubled_prefix(r: &RunReport) -> Option<String> {
    let base = crate::http::Target::parse(&r.host).ok()?.base;
    if base.is_empty() {
        return None;
    }
    let ep = r.endpoints.iter().find(|e| e.path.starts_with(&format!("{base}/")))?;
    Some(format!(
        "--host ends in {base} and the scenario's paths already start with it: requests went to {base}{} \
         (not {}); give --host without the path",
        ep.path, ep.path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(host: &str, login: EndpointReport, logged_in: u64) -> RunReport {
        let mut r: RunReport = serde_json::from_value(serde_json::json!({
            "schema": "loadgen.run/1", "verdict": "fail", "host": host, "id_range": "test_00001..test_00003",
            "id_source": "all", "duration_s": 1.0,
            "students": {"planned": 3, "spawned": 3, "logged_in": logged_in, "login_failed": [],
                "segments_uploaded": 0, "gave_up": [], "skipped": [], "finished": 0, "finish_failed": 0},
            "endpoints": [], "total": login.clone(), "fail_ratio": 1.0, "max_fail_ratio": 0.01,
            "lateness": {"uploads": 0, "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0},
            "history": []
        }))
        .unwrap();
        r.endpoints.push(login);
        r
    }

    fn login(kinds: &[(&str, u64)], answers: &[(&str, &str)]) -> EndpointReport {
        serde_json::from_value(serde_json::json!({
            "name": "login", "method": "POST", "path": "/api/login",
            "requests": 30, "failures": 30,
            "failure_kinds": kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "failure_answers": answers.iter().map(|(k, a)| (k.to_string(), a.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
            "requests_per_s": 1.0, "failures_per_s": 1.0, "bytes_sent": 0, "bytes_received": 0,
            "avg_response_bytes": 0.0,
            "latency_ms": {"min": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "avg": 0.0},
            "percentiles_ms": []
        }))
        .unwrap()
    }

    #[test]
    fn refused_logins_point_at_setup_with_the_servers_words() {
        let a = r#"{"message":"当前没有进行中的考试，请联系管理员","status":"error"}"#;
        let r = report("http://h:1", login(&[("http 400", 30)], &[("http 400", a)]), 0);
        let h = for_run(&r);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].starts_with("every login was refused (http 400: 当前没有进行中的考试，请联系管理员)"));
        assert!(h[0].contains("loadgen setup --host http://h:1"));
    }

    #[test]
    fn nothing_listening_and_a_doubled_prefix() {
        let r = report("http://h:1", login(&[("connect", 30)], &[]), 0);
        let h = for_run(&r);
        assert_eq!(h.len(), 1, "connect failures are not refusals: {h:?}");
        assert!(h[0].contains("could not open a connection to http://h:1"));
        let r = report("http://h:1/api/", login(&[("http 404", 30)], &[]), 0);
        let h = for_run(&r);
        assert!(h.iter().any(|h| h.contains("requests went to /api/api/login")), "{h:?}");
        assert!(
            h.iter()
                .any(|h| h.contains("login's URL is not on the server (http 404)")),
            "{h:?}"
        );
        assert!(for_run(&report("http://h:1", login(&[], &[]), 3)).is_empty());
    }
}
