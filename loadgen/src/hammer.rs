//! `loadgen hammer`: the scenario's login, as fast as the server answers, with
//! a fixed number in flight. Measures the generator's cost per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use verify::idspace::IdRange;

use crate::http::{Client, Target};
use crate::report::RunReport;
use crate::requests;
use crate::scenario::{Scenario, Vars};
use crate::stats::{Collector, Event, FailKind, RunMeta, Sample};

/// What to hammer.
#[derive(Debug, Clone)]
pub struct HammerConfig {
    pub host: String,
    pub target: Target,
    pub scenario: Scenario,
    pub ids: IdRange,
    pub requests: u64,
    pub concurrency: u64,
}

/// Sends `requests` logins, `concurrency` at a time, and reports them.
pub async fn hammer(cfg: HammerConfig) -> anyhow::Result<RunReport> {
    let addr = cfg.target.resolve().await?;
    let client = Arc::new(Client::new(
        cfg.target.clone(),
        addr,
        Duration::from_secs(30),
        cfg.concurrency as usize,
    ));
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let ids: Arc<Vec<String>> = Arc::new(cfg.ids.ids().collect());
    let scenario = Arc::new(cfg.scenario.clone());
    let mut tasks = Vec::new();
    for _ in 0..cfg.concurrency.max(1) {
        let (client, tx, next, ids, scenario) =
            (client.clone(), tx.clone(), next.clone(), ids.clone(), scenario.clone());
        let total = cfg.requests;
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let id = &ids[(i % ids.len() as u64) as usize];
                let p = requests::call(
                    &scenario.login,
                    &Vars {
                        student_id: id,
                        exam_id: &scenario.exam_id,
                        seq: None,
                        token: "",
                    },
                );
                let sent = p.body.len();
                let t0 = Instant::now();
                let r = client.send(&p.method, &p.path, &p.headers, p.body).await;
                let done = Instant::now();
                let (failure, received) = match r {
                    Ok(a) if (200..300).contains(&a.status) => (None, a.body.len() as u64),
                    Ok(a) => (Some(FailKind::Http(a.status)), a.body.len() as u64),
                    Err(k) => (Some(k), 0),
                };
                let _ = tx.send(Event::Sample(Sample {
                    endpoint: 0,
                    at_ms: (done - start).as_millis() as u64,
                    latency_us: (done - t0).as_micros() as u64,
                    failure,
                    sent,
                    received,
                }));
            }
        }));
    }
    drop(tx);
    let mut c = Collector::new(&[(
        "login".into(),
        cfg.scenario.login.method.clone(),
        cfg.scenario.login.path.clone(),
    )]);
    while let Some(ev) = rx.recv().await {
        c.record(ev);
    }
    for t in tasks {
        t.await?;
    }
    // Unpaced: any failure fails the hammer.
    let meta = RunMeta {
        host: cfg.host,
        id_range: cfg.ids.to_string(),
        id_source: "hammer".into(),
        planned: None,
        max_fail_ratio: 0.0,
    };
    Ok(c.report(meta, start.elapsed().as_secs_f64()))
}
