//! Which student each of this worker's users is. The master's locustfile
//! (scripts/locust/locustfile.py) sends, before every spawn, the exact ID
//! numbers of this worker's users (`loadgen_ids`): only the master knows how
//! many users each worker gets, so only it can keep every ID inside the
//! population. A stock locustfile sends none: then, and only then, the
//! worker numbers its own users from its Locust index (`ids.rs`), and says so.

use std::collections::{BTreeMap, HashSet};

use common::idspace::format_id;

use super::ids::IdAllocator;
use super::protocol::Assignment;

/// What the master's spawn said beside the counts (for the own scheme).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SpawnInfo {
    /// The master's `-u` (`num_users`), the web UI's user count.
    pub num_users: Option<u64>,
    /// The master's `--expect-workers` (only headless masters honour it).
    pub expect_workers: Option<u64>,
    /// This worker's Locust index.
    pub index: Option<u64>,
}

/// Users to stop (by number) and to start (class, number, ID) for a spawn.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Change {
    pub stop: Vec<u64>,
    pub start: Vec<(String, u64, String)>,
}

/// Inclusive ranges, merged and sorted.
#[derive(Debug, Clone, Default, PartialEq)]
struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    fn insert(&mut self, n: u64) {
        let i = self.0.partition_point(|&(_, b)| b < n);
        if self.0.get(i).is_some_and(|&(a, _)| a <= n) {
            return;
        }
        let joins_left = i > 0 && self.0.get(i - 1).is_some_and(|&(_, b)| b.checked_add(1) == Some(n));
        let joins_right = self.0.get(i).is_some_and(|&(a, _)| n.checked_add(1) == Some(a));
        match (joins_left, joins_right) {
            (true, true) => {
                let right = self.0.remove(i).1;
                self.0[i - 1].1 = right;
            }
            (true, false) => self.0[i - 1].1 = n,
            (false, true) => self.0[i].0 = n,
            (false, false) => self.0.insert(i, (n, n)),
        }
    }
}

/// Where this run's IDs come from.
#[derive(Debug)]
enum Source {
    Master,
    Own(IdAllocator),
}

/// One run's IDs.
#[derive(Debug)]
struct RunIds {
    source: Source,
    /// Ordinal numbers above this are outside the run's population.
    population: u64,
    used: RangeSet,
    outside: RangeSet,
}

/// This worker's IDs over its life.
#[derive(Debug)]
pub(super) struct Ids {
    prefix: String,
    width: usize,
    first: u64,
    /// The master's latest `loadgen_ids`, for the next spawn.
    pending: Option<Assignment>,
    run: Option<RunIds>,
    /// Ended runs: their ranges, and those outside their population.
    life: Vec<String>,
    life_outside: Vec<String>,
    sources: (bool, bool),
}

impl Ids {
    pub(super) fn new(prefix: &str, width: usize, first: u64) -> Ids {
        Ids {
            prefix: prefix.to_string(),
            width,
            first,
            pending: None,
            run: None,
            life: Vec::new(),
            life_outside: Vec::new(),
            sources: (false, false),
        }
    }

    fn id(&self, n: u64) -> String {
        format_id(&self.prefix, self.width, n)
    }

    /// The ID number of the master's ordinal `k` (1 is `--first-id`).
    fn number(&self, k: u64) -> Option<u64> {
        self.first.checked_add(k.checked_sub(1)?)
    }

    fn range_text(&self, (a, b): (u64, u64)) -> String {
        if a == b {
            self.id(a)
        } else {
            format!("{}..{}", self.id(a), self.id(b))
        }
    }

    fn population_text(&self, population: u64) -> String {
        match population {
            0 => "(none)".into(),
            p => self.range_text((self.first, self.first.saturating_add(p - 1))),
        }
    }

    /// The master's IDs for the next spawn.
    pub(super) fn assigned(&mut self, a: Assignment) {
        self.pending = Some(a);
    }

    fn own(&self, population: u64, info: SpawnInfo) -> IdAllocator {
        let workers = info.expect_workers.unwrap_or(1);
        IdAllocator::new(
            &self.prefix,
            self.width,
            self.first,
            population,
            workers,
            info.index.unwrap_or(0),
        )
    }

    /// The first spawn of a run: where its IDs come from, said once.
    fn begin(&mut self, total: u64, info: SpawnInfo) -> RunIds {
        if let Some(a) = &self.pending {
            self.sources.0 = true;
            eprintln!(
                "loadgen worker: student IDs from the master's locustfile; this run's population is {} ({} users)",
                self.population_text(a.population),
                a.population
            );
            return RunIds {
                source: Source::Master,
                population: a.population,
                used: RangeSet::default(),
                outside: RangeSet::default(),
            };
        }
        self.sources.1 = true;
        let population = info.num_users.unwrap_or(total);
        let own = self.own(population, info);
        eprintln!(
            "loadgen worker: the master sent no student IDs (its locustfile is not loadgen's scripts/locust/locustfile.py), \
             so this worker numbers its own users: {}. Start the master with scripts/locust/locustfile.py to keep every ID \
             inside 1..users whatever the workers do.",
            own.describe()
        );
        RunIds {
            source: Source::Own(own),
            population,
            used: RangeSet::default(),
            outside: RangeSet::default(),
        }
    }

    /// The users to stop and start to reach `targets`, given the numbers of
    /// the users running per class (in start order).
    pub(super) fn plan(
        &mut self,
        targets: &BTreeMap<String, u64>,
        running: &BTreeMap<String, Vec<u64>>,
        info: SpawnInfo,
    ) -> Change {
        let total = targets.values().fold(0u64, |a, &b| a.saturating_add(b));
        let mut run = match self.run.take() {
            Some(r) => r,
            None => self.begin(total, info),
        };
        let assignment = self.pending.take();
        if let (Some(a), Source::Master) = (&assignment, &run.source) {
            run.population = run.population.max(a.population);
        }
        let none = Vec::new();
        let mut change = Change::default();
        let mut short = 0u64;
        for (class, &want) in targets {
            let have = running.get(class).unwrap_or(&none);
            let mut desired: Vec<u64> = match (&assignment, &run.source) {
                (Some(a), Source::Master) => master_numbers(a, class, want)
                    .into_iter()
                    .filter_map(|k| self.number(k))
                    .collect(),
                _ => have
                    .iter()
                    .copied()
                    .take(usize::try_from(want).unwrap_or(usize::MAX))
                    .collect(),
            };
            while (desired.len() as u64) < want {
                let Source::Own(own) = &mut run.source else {
                    // Unnumbered users would risk another worker's IDs.
                    short = short.saturating_add(want - desired.len() as u64);
                    break;
                };
                match own.take() {
                    Some((n, _)) => desired.push(n),
                    None => {
                        eprintln!("loadgen worker: no unique student ID left for this worker; not starting more users");
                        break;
                    }
                }
            }
            // Sets: a spawn may name tens of thousands of users.
            let (want_set, have_set): (HashSet<u64>, HashSet<u64>) =
                (desired.iter().copied().collect(), have.iter().copied().collect());
            change.stop.extend(have.iter().filter(|n| !want_set.contains(n)));
            for n in desired.into_iter().filter(|n| !have_set.contains(n)) {
                change.start.push((class.clone(), n, self.id(n)));
            }
        }
        if short > 0 {
            eprintln!(
                "loadgen worker: warning: the master gave no ID for {short} of this spawn's users; they are not started"
            );
        }
        let mut outside = RangeSet::default();
        let limit = self.first.saturating_add(run.population);
        for &(_, n, _) in &change.start {
            run.used.insert(n);
            if n >= limit {
                outside.insert(n);
                run.outside.insert(n);
            }
        }
        if !outside.0.is_empty() {
            let ranges: Vec<String> = outside.0.iter().map(|&r| self.range_text(r)).collect();
            let why = match run.source {
                Source::Master => "users moved here from a worker that left, or by a rebalance",
                Source::Own(_) => "this worker's own numbering, past its block of the population",
            };
            eprintln!(
                "loadgen worker: warning: starting users with IDs outside the run's population {}: {} ({why}); \
                 `loadgen setup` must enrol them",
                self.population_text(run.population),
                ranges.join(", ")
            );
        }
        self.run = Some(run);
        change
    }

    fn source_text(source: &Source) -> &'static str {
        match source {
            Source::Master => "from the master",
            Source::Own(_) => "this worker's own numbering: the master sent none",
        }
    }

    /// The run in progress: its ranges and those outside its population.
    pub(super) fn run_ranges(&self) -> (String, Vec<String>) {
        let Some(run) = &self.run else {
            return ("none".into(), Vec::new());
        };
        let used: Vec<String> = run.used.0.iter().map(|&r| self.range_text(r)).collect();
        let used = if used.is_empty() {
            "none".into()
        } else {
            used.join(", ")
        };
        (
            format!("{used} ({})", Ids::source_text(&run.source)),
            run.outside.0.iter().map(|&r| self.range_text(r)).collect(),
        )
    }

    /// Ends the run (a stop): the next spawn starts a new one.
    pub(super) fn end_run(&mut self) {
        if self.run.is_some() {
            let (range, outside) = self.run_ranges();
            eprintln!("loadgen worker: this run's students: {range}");
            self.life.push(range);
            self.life_outside.extend(outside);
            self.run = None;
        }
        self.pending = None;
    }

    /// Every run so far (the one in progress included), for the final report.
    pub(super) fn life(&self) -> (String, Vec<String>) {
        let mut ranges = self.life.clone();
        let mut outside = self.life_outside.clone();
        if self.run.is_some() {
            let (r, o) = self.run_ranges();
            ranges.push(r);
            outside.extend(o);
        }
        let ranges = if ranges.is_empty() {
            "none".into()
        } else {
            ranges.join("; ")
        };
        (ranges, outside)
    }

    /// `id_source` of the reports.
    pub(super) fn source(&self, index: Option<u64>) -> String {
        let index = index.map_or("?".into(), |i| i.to_string());
        match self.sources {
            (true, false) => format!("locust master's IDs (worker index {index})"),
            (false, true) => format!("locust worker's own numbering (index {index}; the master sent no IDs)"),
            (true, true) => format!("locust master's IDs and, in some runs, own numbering (index {index})"),
            (false, false) => format!("locust worker index {index}"),
        }
    }
}

/// The first `want` ordinals the master gave `class`, in start order
/// (bounded by `want`, whatever the ranges say).
fn master_numbers(a: &Assignment, class: &str, want: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for &(first, last) in a.ids.get(class).map_or(&[][..], Vec::as_slice) {
        let mut k = first;
        while (out.len() as u64) < want && k <= last {
            out.push(k);
            match k.checked_add(1) {
                Some(n) => k = n,
                None => break,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: u64) -> BTreeMap<String, u64> {
        BTreeMap::from([("S".to_string(), n)])
    }

    fn assignment(population: u64, ranges: &[(u64, u64)]) -> Assignment {
        Assignment {
            run: 1,
            population,
            ids: BTreeMap::from([("S".to_string(), ranges.to_vec())]),
        }
    }

    fn apply(running: &mut BTreeMap<String, Vec<u64>>, c: &Change) {
        let r = running.entry("S".into()).or_default();
        r.retain(|n| !c.stop.contains(n));
        r.extend(c.start.iter().map(|s| s.1));
    }

    #[test]
    fn the_masters_numbers_are_used_and_moves_are_named() {
        let mut ids = Ids::new("test_", 5, 1);
        let mut running = BTreeMap::new();
        ids.assigned(assignment(20, &[(11, 15)]));
        let c = ids.plan(&counts(5), &running, SpawnInfo::default());
        assert_eq!(c.start.first().map(|s| s.2.as_str()), Some("test_00011"));
        apply(&mut running, &c);
        ids.assigned(assignment(20, &[(11, 20)]));
        let c = ids.plan(&counts(10), &running, SpawnInfo::default());
        assert_eq!((c.stop.len(), c.start.len()), (0, 5));
        apply(&mut running, &c);
        // A rebalance: two newest stop, three fresh IDs above 20 start.
        ids.assigned(assignment(20, &[(11, 18), (21, 23)]));
        let c = ids.plan(&counts(11), &running, SpawnInfo::default());
        assert_eq!(c.stop, [19, 20]);
        assert_eq!(c.start.iter().map(|s| s.1).collect::<Vec<_>>(), [21, 22, 23]);
        apply(&mut running, &c);
        let (range, outside) = ids.run_ranges();
        assert_eq!(range, "test_00011..test_00023 (from the master)");
        assert_eq!(outside, ["test_00021..test_00023"]);
        ids.end_run();
        assert_eq!(ids.life().1, ["test_00021..test_00023"]);
        assert!(ids.source(Some(1)).contains("master"));
    }

    #[test]
    fn first_id_shifts_the_masters_ordinals() {
        let mut ids = Ids::new("s", 3, 100);
        ids.assigned(assignment(2, &[(1, 2)]));
        let c = ids.plan(&counts(2), &BTreeMap::new(), SpawnInfo::default());
        assert_eq!(
            c.start.iter().map(|s| s.2.as_str()).collect::<Vec<_>>(),
            ["s100", "s101"]
        );
    }

    #[test]
    fn without_the_master_the_own_scheme_runs_and_says_so() {
        let mut ids = Ids::new("test_", 5, 1);
        let info = SpawnInfo {
            num_users: Some(20),
            expect_workers: Some(2),
            index: Some(1),
        };
        let mut running = BTreeMap::new();
        let c = ids.plan(&counts(10), &running, info);
        apply(&mut running, &c);
        assert_eq!(
            ids.run_ranges().0,
            "test_00011..test_00020 (this worker's own numbering: the master sent none)"
        );
        // Fewer users: the newest stop; more again: never a number reused.
        let c = ids.plan(&counts(8), &running, info);
        assert_eq!(c.stop, [19, 20]);
        apply(&mut running, &c);
        let c = ids.plan(&counts(9), &running, info);
        assert!(c.start.iter().all(|s| s.1 > 20), "{c:?}");
        assert_eq!(ids.run_ranges().1.len(), 1);
        assert!(ids.source(Some(1)).contains("own numbering"));
    }

    #[test]
    fn a_huge_range_from_the_master_is_bounded_by_the_count() {
        let mut ids = Ids::new("t", 1, 1);
        ids.assigned(assignment(u64::MAX, &[(1, u64::MAX)]));
        let c = ids.plan(&counts(3), &BTreeMap::new(), SpawnInfo::default());
        assert_eq!(c.start.len(), 3);
    }

    #[test]
    fn ranges_merge() {
        let mut r = RangeSet::default();
        for n in [5, 3, 4, 9, 1, 8, 2, u64::MAX] {
            r.insert(n);
        }
        assert_eq!(r.0, [(1, 5), (8, 9), (u64::MAX, u64::MAX)]);
    }
}
