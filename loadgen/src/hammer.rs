//! `loadgen hammer`: one request of the scenario (the login, or a task such
//! as the heartbeat), as fast as the server answers, with a fixed number in
//! flight. Measures the generator's cost per request. For a task, each
//! student ID logs in once first (its captures fill the task's templates);
//! a task with a file part sends it, sized as the scenario says, sliced from
//! one shared buffer as `run` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use common::idspace::IdRange;

use crate::answer;
use crate::http::{Client, Target};
use crate::payload::Payload;
use crate::report::RunReport;
use crate::requests;
use crate::scenario::{Captured, Escape, Request, Scenario, Values};
use crate::stats::{Collector, Event, FailKind, RunMeta, Sample};

/// What to hammer.
#[derive(Debug, Clone)]
pub struct HammerConfig {
    pub host: String,
    pub target: Target,
    pub scenario: Scenario,
    /// `login` or a task's name.
    pub request: String,
    pub ids: IdRange,
    pub requests: u64,
    pub concurrency: u64,
    /// Idle connections kept (`--max-idle-connections`).
    pub max_idle: usize,
    /// TLS for an `https://` host.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// `--max-answer-size`, in bytes.
    pub max_answer: usize,
}

/// A student as the hammer sends it: ID, number, name, captures.
struct Who {
    id: String,
    n: u64,
    name: String,
    captures: Vec<Captured>,
}

#[allow(clippy::too_many_arguments)]
async fn send(
    client: &Client,
    s: &Scenario,
    r: &Request,
    w: &Who,
    file: Bytes,
    endpoint: usize,
    start: Instant,
    tx: &tokio::sync::mpsc::UnboundedSender<Event>,
) -> (Sample, Result<Vec<(usize, Captured)>, FailKind>) {
    let v = Values {
        student_id: &w.id,
        n: w.n,
        student_name: &w.name,
        captures: &w.captures,
        at: None,
        ..Values::default()
    };
    let t0 = Instant::now();
    let o = requests::exchange(client, r, &s.captures, &v, file, false).await;
    let done = Instant::now();
    if let Some(d) = o.answer.as_ref().and_then(|a| a.tls_handshake) {
        let _ = tx.send(Event::TlsHandshake {
            us: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        });
    }
    if let (Err(kind), Some(a)) = (&o.result, &o.answer) {
        let _ = tx.send(Event::FailedAnswer {
            endpoint,
            kind: kind.clone(),
            head: crate::answer::head(&a.body),
        });
    }
    let sample = Sample {
        endpoint,
        at_ms: u64::try_from((done - start).as_millis()).unwrap_or(u64::MAX),
        latency_us: u64::try_from((done - t0).as_micros()).unwrap_or(u64::MAX),
        failure: o.result.as_ref().err().cloned(),
        sent: o.sent,
        received: o.received,
    };
    (sample, o.result)
}

/// Sends `requests` of the chosen request, `concurrency` at a time, and reports them.
pub async fn hammer(cfg: HammerConfig) -> anyhow::Result<RunReport> {
    let addr = cfg.target.resolve().await?;
    let client = Arc::new(
        Client::new(
            cfg.target.clone(),
            addr,
            Duration::from_secs(30),
            cfg.max_idle,
            cfg.tls.clone(),
        )
        .with_max_answer(cfg.max_answer),
    );
    let s = Arc::new(cfg.scenario.clone());
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let start = Instant::now();
    let task = s.tasks.iter().position(|t| t.request.name == cfg.request);
    // Each student, logged in once when the request needs its captures.
    let mut who = Vec::new();
    for (i, id) in cfg.ids.ids().enumerate() {
        let n = cfg.ids.first.saturating_add(i as u64);
        let base = Values {
            student_id: &id,
            n,
            ..Values::default()
        };
        let name = s.student_name.fill(&base, Escape::None);
        let mut w = Who {
            id: id.clone(),
            n,
            name,
            captures: answer::slots(&s.captures),
        };
        if task.is_some() {
            let (sample, got) = send(&client, &s, &s.login, &w, Bytes::new(), 0, start, &tx).await;
            let _ = tx.send(Event::Sample(sample));
            answer::store(&mut w.captures, got.unwrap_or_default());
        }
        who.push(w);
    }
    let who = Arc::new(who);
    // The task's file part, when it has one (noise, as `run` sends).
    let payload = task
        .and_then(|t| s.tasks.get(t))
        .and_then(|t| t.request.file.as_ref())
        .map(|f| {
            let p = Payload::generated(f.size.0, f.size.1);
            Arc::new(f.dist.map_or_else(|| p.clone(), |d| p.measured(d)))
        });
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..cfg.concurrency.max(1) {
        let (client, tx, next, who, s) = (client.clone(), tx.clone(), next.clone(), who.clone(), s.clone());
        let payload = payload.clone();
        let total = cfg.requests;
        tasks.push(tokio::spawn(async move {
            let (r, endpoint) = match task.and_then(|t| s.tasks.get(t)) {
                Some(t) => (&t.request, 1),
                None => (&s.login, 0),
            };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let Some(w) = who.get((i % who.len().max(1) as u64) as usize) else {
                    break;
                };
                // Sizes spread over the task's range (the index mixed, not taken as is).
                let roll = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let file = payload
                    .as_ref()
                    .map_or_else(Bytes::new, |p| p.segment(roll ^ (roll >> 29)));
                let (sample, _) = send(&client, &s, r, w, file, endpoint, start, &tx).await;
                let _ = tx.send(Event::Sample(sample));
            }
        }));
    }
    drop(tx);
    let mut eps = vec![(
        "login".to_string(),
        s.login.method.to_string(),
        s.login.path.source().to_string(),
    )];
    if let Some(t) = task.and_then(|t| s.tasks.get(t)) {
        eps.push((
            t.request.name.clone(),
            t.request.method.to_string(),
            t.request.path.source().to_string(),
        ));
    }
    let mut c = Collector::new(&eps, &[], None);
    while let Some(ev) = rx.recv().await {
        c.record(ev);
    }
    for t in tasks {
        t.await?;
    }
    // Unpaced: any failure fails the hammer.
    let meta = RunMeta {
        tls: cfg.target.tls,
        insecure: false,
        host: cfg.host,
        id_range: cfg.ids.to_string(),
        id_source: "hammer".into(),
        ids_outside_population: Vec::new(),
        planned: None,
        max_fail_ratio: 0.0,
    };
    Ok(c.report(meta, start.elapsed().as_secs_f64()))
}
