//! Locust-compatible CSV: `PREFIX_stats.csv` and `PREFIX_stats_history.csv`
//! with Locust 2.x's columns, so existing tooling keeps working.

use std::io::{self, Write};

use crate::report::{EndpointReport, PERCENTILES, RunReport};

fn percentile_headers() -> Vec<&'static str> {
    PERCENTILES.iter().map(|(_, h)| *h).collect()
}

fn percentile_cells(p: &[u64]) -> Vec<String> {
    if p.is_empty() {
        vec!["N/A".to_string(); PERCENTILES.len()]
    } else {
        p.iter().map(u64::to_string).collect()
    }
}

/// One CSV line; cells are sanitized first (a task name holding ESC or CR
/// cannot rewrite a terminal that shows the file, or split a row).
fn row<W: Write>(out: &mut W, cells: &[String]) -> io::Result<()> {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            let c = common::text::escape_str(c);
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    writeln!(out, "{}", quoted.join(","))
}

/// `_stats.csv`: one row per request kind, then `Aggregated`.
pub fn write_stats<W: Write>(out: &mut W, r: &RunReport) -> io::Result<()> {
    let mut head: Vec<String> = [
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
    ]
    .map(String::from)
    .to_vec();
    head.extend(percentile_headers().into_iter().map(String::from));
    row(out, &head)?;
    let line = |e: &EndpointReport, name: &str, method: &str| {
        let l = &e.latency_ms;
        let mut cells = vec![
            method.to_string(),
            name.to_string(),
            e.requests.to_string(),
            e.failures.to_string(),
            e.percentiles_ms.first().map_or("0".into(), u64::to_string),
            format!("{:.2}", l.avg),
            format!("{:.0}", l.min),
            format!("{:.0}", l.max),
            format!("{:.2}", e.avg_response_bytes),
            format!("{:.6}", e.requests_per_s),
            format!("{:.6}", e.failures_per_s),
        ];
        cells.extend(percentile_cells(&e.percentiles_ms));
        cells
    };
    for e in &r.endpoints {
        row(out, &line(e, &e.name, &e.method))?;
    }
    row(out, &line(&r.total, "Aggregated", ""))
}

/// `_stats_history.csv`: one `Aggregated` row per second.
pub fn write_history<W: Write>(out: &mut W, r: &RunReport) -> io::Result<()> {
    let mut head: Vec<String> = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"]
        .map(String::from)
        .to_vec();
    head.extend(percentile_headers().into_iter().map(String::from));
    head.extend(
        [
            "Total Request Count",
            "Total Failure Count",
            "Total Median Response Time",
            "Total Average Response Time",
            "Total Min Response Time",
            "Total Max Response Time",
            "Total Average Content Size",
        ]
        .map(String::from),
    );
    row(out, &head)?;
    for h in &r.history {
        let mut cells = vec![
            h.timestamp.to_string(),
            h.users.to_string(),
            String::new(),
            "Aggregated".to_string(),
            format!("{:.6}", h.requests_per_s),
            format!("{:.6}", h.failures_per_s),
        ];
        cells.extend(percentile_cells(&h.percentiles_ms));
        cells.extend([
            h.total_requests.to_string(),
            h.total_failures.to_string(),
            h.percentiles_ms.first().map_or("0".into(), u64::to_string),
            format!("{:.2}", h.avg_ms),
            format!("{:.0}", h.min_ms),
            format!("{:.0}", h.max_ms),
            format!("{:.2}", h.avg_response_bytes),
        ]);
        row(out, &cells)?;
    }
    Ok(())
}
