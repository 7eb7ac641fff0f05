//! Unique student IDs across Locust workers, by construction, from the
//! worker's index (given by the master) and a local counter that only grows:
//!
//! - worker `i` of `W` expected workers first takes the `i`-th balanced
//!   contiguous block of the master's `-u` population (as `loadgen plan` does);
//! - past its block (users moved to it, or it joined beyond `W`) it takes IDs
//!   above the population: `first + N + pair(i, k)` for its `k`-th extra ID,
//!   where `pair` is Szudzik's pairing, a bijection of pairs onto numbers.
//!
//! No ID is handed out twice within a run, whatever the master does, for any
//! worker index (Locust gives a restarted worker a new, higher one). Small
//! indexes and counts give small numbers: `pair(i, k) < (max(i, k) + 1)²`.

use common::idspace::{format_id, shard};

/// Szudzik's pairing: a bijection from pairs of numbers onto numbers.
fn pair(x: u64, y: u64) -> u128 {
    let (x, y) = (u128::from(x), u128::from(y));
    if x < y { y * y + x } else { x * x + x + y }
}

/// Hands out one worker's IDs.
#[derive(Debug, Clone)]
pub struct IdAllocator {
    prefix: String,
    width: usize,
    first: u64,
    population: u64,
    workers: u64,
    index: u64,
    next: u64,
}

impl IdAllocator {
    /// For worker `index` of `workers`, in a population of `population` from `first`.
    pub fn new(prefix: &str, width: usize, first: u64, population: u64, workers: u64, index: u64) -> IdAllocator {
        IdAllocator {
            prefix: prefix.into(),
            width,
            first,
            population,
            workers: workers.max(1),
            index,
            next: 0,
        }
    }

    fn block(&self) -> Option<(u64, u64)> {
        let k = self.index.checked_add(1)?;
        shard("", 0, self.first, self.population, k, self.workers).map(|r| (r.first, r.len()))
    }

    /// The number of the `k`-th ID of this worker; `None` past `u64` (never
    /// a wrapped, reused number).
    pub fn number(&self, k: u64) -> Option<u64> {
        match self.block() {
            Some((start, len)) if k < len => start.checked_add(k),
            block => {
                let over = k - block.map_or(0, |b| b.1);
                let base = u128::from(self.first) + u128::from(self.population);
                u64::try_from(base + pair(self.index, over)).ok()
            }
        }
    }

    /// The next ID and its number (the counter only grows); `None` when the
    /// scheme has no number left for this worker.
    pub fn take(&mut self) -> Option<(u64, String)> {
        let n = self.number(self.next)?;
        self.next += 1;
        Some((n, format_id(&self.prefix, self.width, n)))
    }

    /// IDs handed out so far.
    pub fn used(&self) -> u64 {
        self.next
    }

    /// The scheme in plain words, for the log.
    pub fn describe(&self) -> String {
        let above = format_id(&self.prefix, self.width, self.first.saturating_add(self.population));
        match self.block() {
            Some((s, len)) => format!(
                "it is worker {} of {} (Locust index {}, the master's --expect-workers {}), so its users take \
                 {}..{} of the {} users, then IDs from {above} up",
                self.index.saturating_add(1),
                self.workers,
                self.index,
                self.workers,
                format_id(&self.prefix, self.width, s),
                format_id(&self.prefix, self.width, s.saturating_add(len).saturating_sub(1)),
                self.population,
            ),
            None => format!(
                "its Locust index {} is not below the master's --expect-workers {} (a master with its web UI \
                 ignores --expect-workers: every worker but the first is in this case), so all its users take IDs \
                 from {above} up, outside the {} users",
                self.index, self.workers, self.population
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn blocks_like_plan_then_overflow() {
        let mut a = IdAllocator::new("test_", 5, 1, 40, 2, 0);
        let mut b = IdAllocator::new("test_", 5, 1, 40, 2, 1);
        assert_eq!(a.take(), Some((1, "test_00001".to_string())));
        assert_eq!(b.take().unwrap().1, "test_00021");
        assert_eq!(a.number(19), Some(20));
        assert_eq!(a.number(20), Some(41), "past the block: above the population");
        assert_eq!(b.number(20), Some(43));
        assert_eq!(a.number(21), Some(42));
    }

    #[test]
    fn indexes_past_1024_and_huge_ones_never_reuse_or_wrap() {
        let mut seen = HashSet::new();
        for index in [0, 1, 1023, 1024, 1025, 5000] {
            let a = IdAllocator::new("t_", 5, 1, 10, 2, index);
            for k in 0..50 {
                assert!(seen.insert(a.number(k).unwrap()), "index {index} k {k}");
            }
        }
        let huge = IdAllocator::new("t_", 5, 1, 10, 2, u64::MAX);
        assert_eq!(huge.number(0), None, "no number rather than a wrapped one");
    }

    proptest! {
        /// Any number of IDs from any workers (more than expected included) never collide.
        #[test]
        fn never_collide(population in 1u64..200, workers in 1u64..6, base in prop_oneof![Just(0u64), 1000u64..3000], extra in 0u64..4, takes in proptest::collection::vec(0u64..300, 1..9)) {
            // Indexes from 0, or (a restarted master's workers) well past 1024.
            let mut seen = HashSet::new();
            for (i, take) in takes.iter().enumerate().take((workers + extra) as usize) {
                let a = IdAllocator::new("t_", 5, 1, population, workers, base + i as u64);
                for k in 0..*take {
                    prop_assert!(seen.insert(a.number(k)), "duplicate id");
                }
            }
        }
    }
}
