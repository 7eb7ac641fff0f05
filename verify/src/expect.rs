//! The expected population of students, shared by every audit (`seq`, `ids`, ...).

use std::collections::HashSet;

use common::idspace::IdRange;

/// Which student IDs a run should have produced. Empty means "no expectation".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    /// Ranges of expected IDs; they may overlap.
    pub ranges: Vec<IdRange>,
}

/// Result of comparing observed IDs with the expectation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Expected IDs never observed, in range order.
    pub missing: Vec<String>,
    /// Observed IDs outside every range, sorted.
    pub unexpected: Vec<String>,
}

impl Expectation {
    /// True when no population was given.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// True when `id` is in one of the ranges.
    pub fn contains(&self, id: &str) -> bool {
        self.ranges.iter().any(|r| r.number_of(id).is_some())
    }

    /// Number of distinct expected IDs.
    pub fn len(&self) -> usize {
        self.expected_ids().len()
    }

    fn expected_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.ranges
            .iter()
            .flat_map(IdRange::ids)
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }

    /// Compares the IDs that were observed with the expectation.
    /// Without an expectation nothing is missing or unexpected.
    pub fn compare<'a>(&self, observed: impl IntoIterator<Item = &'a str>) -> Comparison {
        if self.is_empty() {
            return Comparison::default();
        }
        let observed: HashSet<&str> = observed.into_iter().collect();
        let missing = self
            .expected_ids()
            .into_iter()
            .filter(|id| !observed.contains(id.as_str()))
            .collect();
        let mut unexpected: Vec<String> = observed
            .into_iter()
            .filter(|id| !self.contains(id))
            .map(str::to_string)
            .collect();
        unexpected.sort();
        Comparison { missing, unexpected }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(ranges: &[&str]) -> Expectation {
        Expectation {
            ranges: ranges.iter().map(|r| IdRange::parse(r).unwrap()).collect(),
        }
    }

    #[test]
    fn reports_missing_and_unexpected() {
        let e = exp(&["t_001..t_005"]);
        let c = e.compare(["t_001", "t_003", "t_005", "t_009", "x"]);
        assert_eq!(c.missing, ["t_002", "t_004"]);
        assert_eq!(c.unexpected, ["t_009", "x"]);
    }

    #[test]
    fn overlapping_ranges_count_each_id_once() {
        let e = exp(&["t_001..t_003", "t_002..t_004"]);
        assert_eq!(e.len(), 4);
        assert_eq!(e.compare(["t_001"]).missing, ["t_002", "t_003", "t_004"]);
    }

    #[test]
    fn no_expectation_means_no_findings() {
        let c = Expectation::default().compare(["anything"]);
        assert!(c.missing.is_empty() && c.unexpected.is_empty());
    }
}
