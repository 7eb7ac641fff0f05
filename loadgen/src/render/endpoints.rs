//! The run's table (one row per request kind, then the total), fitted to a
//! width: the whole table when it fits; else the request column holds the
//! name only (its method and path listed under the table); else the `sent`,
//! `min ms` and `p90` columns go and the failure kinds stack one a line; else
//! the widest cells wrap inside their column. `--wide` or a pipe: the whole
//! table.

use common::text::escape_str;
use tabled::builder::Builder;
use tabled::settings::peaker::Priority;
use tabled::settings::{Style, Width};

use super::width;
use crate::report::{EndpointReport, RunReport};

/// The compact layouts tried in turn, least lossy first.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Whole,
    NamesOnly,
    Narrow,
    Wrapped,
}

/// The table and, when the request column lost the paths, the lines naming them.
pub fn fitted(r: &RunReport, width: Option<usize>) -> (String, Vec<String>) {
    let Some(w) = width else {
        return (build(r, Layout::Whole, None), Vec::new());
    };
    for layout in [Layout::Whole, Layout::NamesOnly, Layout::Narrow, Layout::Wrapped] {
        let t = build(r, layout, Some(w));
        if layout == Layout::Wrapped || t.lines().all(|l| width::of(l) <= w) {
            let legend = if layout == Layout::Whole { Vec::new() } else { paths(r) };
            return (t, legend);
        }
    }
    (build(r, Layout::Whole, None), Vec::new())
}

/// `name: METHOD path` for each request kind with a path.
fn paths(r: &RunReport) -> Vec<String> {
    let base = base(r);
    r.endpoints
        .iter()
        .filter(|e| !e.path.is_empty())
        .map(|e| escape_str(&format!("  {}: {} {base}{}", e.name, e.method, e.path)))
        .collect()
}

/// `--host`'s own path (`/api` of `http://h:p/api`): the paths are shown as
/// requested, with it first.
fn base(r: &RunReport) -> String {
    crate::http::Target::parse(&r.host).map(|t| t.base).unwrap_or_default()
}

fn build(r: &RunReport, layout: Layout, width: Option<usize>) -> String {
    let narrow = matches!(layout, Layout::Narrow | Layout::Wrapped);
    let mut t = Builder::default();
    let mut head = vec![
        "request", "requests", "failed", "req/s", "sent", "min ms", "p50", "p90", "p99", "max ms", "failures",
    ];
    if narrow {
        head.retain(|h| !["sent", "min ms", "p90"].contains(h));
    }
    t.push_record(head);
    let base = base(r);
    for e in r.endpoints.iter().chain(std::iter::once(&r.total)) {
        t.push_record(row(e, &base, layout == Layout::Whole, narrow));
    }
    let mut table = t.build();
    table.with(Style::rounded());
    if let (Layout::Wrapped, Some(w)) = (layout, width) {
        table.with(Width::wrap(w).keep_words(true).priority(Priority::max(true)));
    }
    table.to_string()
}

fn row(e: &EndpointReport, base: &str, with_path: bool, narrow: bool) -> Vec<String> {
    // Each failure kind with the server's own answer to it, when it gave one.
    let kinds: Vec<String> = e
        .failure_kinds
        .iter()
        .map(|(k, n)| match e.failure_answers.get(k) {
            Some(a) => format!(
                "{}: {n} \"{}\"",
                escape_str(k),
                escape_str(&super::table::cut(&crate::answer::words(a), 48))
            ),
            None => format!("{}: {n}", escape_str(k)),
        })
        .collect();
    let l = &e.latency_ms;
    // No request, no latency: `-`, not a 0.0 that reads as a measure.
    let ms = |v: f64| if e.requests == 0 { "-".to_string() } else { ms(v) };
    let name = if e.path.is_empty() || !with_path {
        escape_str(&e.name)
    } else {
        escape_str(&format!("{} {} {base}{}", e.name, e.method, e.path))
    };
    let mut cells = vec![
        name,
        e.requests.to_string(),
        e.failures.to_string(),
        format!("{:.1}", e.requests_per_s),
    ];
    if narrow {
        cells.extend([ms(l.p50), ms(l.p99), ms(l.max), kinds.join("\n")]);
    } else {
        cells.extend([
            bytes(e.bytes_sent),
            ms(l.min),
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.max),
        ]);
        cells.push(kinds.join(", "));
    }
    cells
}

pub(super) fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
