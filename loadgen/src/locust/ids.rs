//! Unique student IDs across Locust workers, by construction, from the
//! worker's index (given by the master) and a local counter that only grows:
//!
//! - worker `i` of `W` expected workers first takes the `i`-th balanced
//!   contiguous block of the master's `-u` population (as `loadgen plan` does);
//! - past its block (users moved to it, or it joined beyond `W`) it takes IDs
//!   above the population, interleaved by index: `first + N + k * STRIDE + i`.
//!
//! No ID is handed out twice within a run, whatever the master does. Up to
//! `STRIDE` worker indexes are supported.

use verify::idspace::{format_id, shard};

/// Worker indexes supported by the overflow scheme.
pub const STRIDE: u64 = 1024;

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
        shard("", 0, self.first, self.population, self.index + 1, self.workers).map(|r| (r.first, r.len()))
    }

    /// The number of the `k`-th ID of this worker.
    pub fn number(&self, k: u64) -> u64 {
        match self.block() {
            Some((start, len)) if k < len => start + k,
            block => {
                let over = k - block.map_or(0, |b| b.1);
                self.first + self.population + over * STRIDE + self.index
            }
        }
    }

    /// The next ID (the counter only grows).
    pub fn next_id(&mut self) -> String {
        let n = self.number(self.next);
        self.next += 1;
        format_id(&self.prefix, self.width, n)
    }

    /// IDs handed out so far.
    pub fn used(&self) -> u64 {
        self.next
    }

    /// The block in words, for logs and reports.
    pub fn describe(&self) -> String {
        match self.block() {
            Some((s, len)) => format!(
                "{}..{} (worker index {} of {}; beyond it {}+k*{STRIDE}+{})",
                format_id(&self.prefix, self.width, s),
                format_id(&self.prefix, self.width, s + len - 1),
                self.index,
                self.workers,
                self.first + self.population,
                self.index
            ),
            None => format!(
                "overflow only: {}+k*{STRIDE}+{} (worker index {} of {})",
                self.first + self.population,
                self.index,
                self.index,
                self.workers
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
        assert_eq!(a.next_id(), "test_00001");
        assert_eq!(b.next_id(), "test_00021");
        assert_eq!(a.number(19), 20);
        assert_eq!(a.number(20), 41, "past the block: above the population");
        assert_eq!(b.number(20), 42);
    }

    proptest! {
        /// Any number of IDs from any workers (more than expected included) never collide.
        #[test]
        fn never_collide(population in 1u64..200, workers in 1u64..6, extra in 0u64..4, takes in proptest::collection::vec(0u64..300, 1..9)) {
            let mut seen = HashSet::new();
            for (i, take) in takes.iter().enumerate().take((workers + extra) as usize) {
                let a = IdAllocator::new("t_", 5, 1, population, workers, i as u64);
                for k in 0..*take {
                    prop_assert!(seen.insert(a.number(k)), "duplicate id");
                }
            }
        }
    }
}
