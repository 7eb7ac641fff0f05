//! `loadgen worker --run-reports DIR`: one report per run. The master's
//! statistics restart with every swarm after a stop, the worker's final
//! report covers its whole life; these files are what each run's figures in
//! the master's CSV are compared with.

use std::io::Write;
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use crate::report::RunReport;
use crate::stats::{Collector, Event, RunMeta};

/// The run in progress: its own collector, fed the same events as the
/// worker's.
#[derive(Debug)]
pub struct Run {
    /// 1 for the first swarm this worker took part in.
    pub number: u32,
    start: Instant,
    collector: Collector,
}

/// Every run of this worker, and where their reports go.
#[derive(Debug)]
pub struct Runs {
    dir: Option<PathBuf>,
    current: Option<Run>,
    count: u32,
}

impl Runs {
    pub fn new(dir: Option<PathBuf>) -> Runs {
        Runs {
            dir,
            current: None,
            count: 0,
        }
    }

    /// A swarm started a new run with this fresh collector.
    pub fn begin(&mut self, collector: Collector) {
        self.count = self.count.saturating_add(1);
        self.current = Some(Run {
            number: self.count,
            start: Instant::now(),
            collector,
        });
    }

    /// A run is in progress (a swarm started it, no stop ended it yet).
    pub fn in_progress(&self) -> bool {
        self.current.is_some()
    }

    /// Only while a run is in progress (events after its stop belong to none).
    pub fn record(&mut self, ev: &Event) {
        if let Some(r) = &mut self.current {
            r.collector.record(ev.clone());
        }
    }

    /// Ends the run in progress; writes `DIR/run-N.json` when asked for,
    /// with `meta` naming the run's own ID ranges. Returns the path written.
    pub fn end(&mut self, meta: RunMeta) -> anyhow::Result<Option<PathBuf>> {
        let Some(run) = self.current.take() else {
            return Ok(None);
        };
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let report = run.collector.report(meta, run.start.elapsed().as_secs_f64());
        let path = dir.join(format!("run-{}.json", run.number));
        write(&path, &report)?;
        Ok(Some(path))
    }
}

fn write(path: &Path, report: &RunReport) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).map_err(|e| anyhow::anyhow!("write {}: {e}", path.display()))?;
    let mut f = std::io::BufWriter::new(file);
    serde_json::to_writer_pretty(&mut f, report)?;
    f.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Event;

    fn meta(id_range: &str) -> RunMeta {
        RunMeta {
            host: "http://x".into(),
            id_range: id_range.into(),
            ids_outside_population: Vec::new(),
            id_source: "test".into(),
            planned: None,
            max_fail_ratio: 0.01,
            tls: false,
            insecure: false,
        }
    }

    fn collector() -> Collector {
        crate::run::collector(&crate::scenario::Scenario::builtin().unwrap())
    }

    #[test]
    fn each_run_has_its_own_numbered_report() {
        let dir = tempfile::tempdir().unwrap();
        let mut runs = Runs::new(Some(dir.path().to_path_buf()));
        runs.record(&Event::Spawned); // before any run: belongs to none
        assert_eq!(runs.end(meta("x")).unwrap(), None, "no run, no report");
        for (n, spawned) in [(1, 3), (2, 1)] {
            runs.begin(collector());
            for _ in 0..spawned {
                runs.record(&Event::Spawned);
            }
            let path = runs.end(meta(&format!("block {n}"))).unwrap().unwrap();
            assert_eq!(path, dir.path().join(format!("run-{n}.json")));
            let r: RunReport = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(
                (r.students.spawned, r.id_range.as_str()),
                (spawned, format!("block {n}").as_str())
            );
        }
    }

    #[test]
    fn without_a_folder_nothing_is_written() {
        let mut runs = Runs::new(None);
        runs.begin(collector());
        assert_eq!(runs.end(meta("b")).unwrap(), None);
    }
}
