//! A self-contained HTML page for a run (no network fetches): the report's
//! JSON is embedded and drawn (charts over time from the history rows, the
//! per-endpoint table). The numbers are the JSON's numbers.

use std::io::{self, Write};

use crate::report::RunReport;

const TEMPLATE: &str = include_str!("assets/run.html");

/// Writes the page for a run report (the same embedding as verify's pages:
/// escaped JSON, placeholders split by position).
pub fn write<W: Write>(out: &mut W, r: &RunReport) -> io::Result<()> {
    common::html::page(out, TEMPLATE, &format!("loadgen run: {}", r.host), &(), r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EndpointReport, Latency, Lateness, Students};

    #[test]
    fn embeds_the_report_and_fetches_nothing() {
        let ep = EndpointReport {
            name: "login".into(),
            method: "POST".into(),
            path: "/api/login</script>".into(),
            requests: 3,
            failures: 0,
            failure_kinds: Default::default(),
            failure_answers: Default::default(),
            requests_per_s: 1.0,
            failures_per_s: 0.0,
            bytes_sent: 10,
            bytes_received: 5,
            avg_response_bytes: 1.0,
            latency_ms: Latency::default(),
            percentiles_ms: vec![],
        };
        let r = RunReport {
            schema: crate::report::SCHEMA.into(),
            verdict: common::exit::Verdict::Pass,
            host: "http://127.0.0.1:1".into(),
            id_range: "test_00001..test_00003".into(),
            id_source: "all".into(),
            ids_outside_population: Vec::new(),
            duration_s: 1.0,
            students: Students::default(),
            endpoints: vec![ep.clone()],
            total: ep,
            fail_ratio: 0.0,
            max_fail_ratio: 0.01,
            lateness: Lateness::default(),
            task_lateness: vec![],
            history: vec![],
            tls: None,
            ledger_error: None,
            stopped_by: None,
            hints: vec![],
            queue: None,
            interrupted: false,
            context: None,
        };
        let mut out = Vec::new();
        write(&mut out, &r).unwrap();
        let html = String::from_utf8(out).unwrap();
        let start = html.find(r#"type="application/json">"#).unwrap() + r#"type="application/json">"#.len();
        let json = &html[start..start + html[start..].find("</script>").unwrap()];
        let back: RunReport = serde_json::from_str(&json.replace("<\\/", "</")).unwrap();
        assert_eq!(back, r, "a `</script>` in a value cannot end the JSON early");
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
    }
}
