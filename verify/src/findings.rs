//! Finding kinds and `--fail-on`: which kinds of finding make a run fail.
//! Each audit has its own kind enum; the selection logic is written once here.

use std::collections::BTreeSet;
use std::fmt::Debug;

/// A kind of finding of one audit.
pub trait Kind: Copy + Ord + Debug + 'static {
    /// Every kind, in report order.
    const ALL: &'static [Self];
    /// The kind's name in flags, JSON and tables.
    fn name(self) -> &'static str;
    /// Whether the kind fails a run when `--fail-on` is not given.
    fn fails_by_default(self) -> bool;
}

/// The set of kinds that fail a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailOn<K: Kind> {
    kinds: BTreeSet<K>,
}

impl<K: Kind> Default for FailOn<K> {
    fn default() -> Self {
        FailOn {
            kinds: K::ALL.iter().copied().filter(|k| k.fails_by_default()).collect(),
        }
    }
}

impl<K: Kind> FailOn<K> {
    /// Parses `gap,duplicate`, `all`, `none` or `default`; `+kind` / `-kind`
    /// items adjust the default set.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut set = FailOn::<K>::default();
        let items: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if !items.iter().all(|i| i.starts_with(['+', '-'])) {
            set.kinds.clear();
        }
        for item in items {
            match item {
                "all" => set.kinds.extend(K::ALL.iter().copied()),
                "none" => set.kinds.clear(),
                "default" => set.kinds.extend(FailOn::<K>::default().kinds),
                _ => {
                    let (add, name) = match item.strip_prefix('-') {
                        Some(n) => (false, n),
                        None => (true, item.trim_start_matches('+')),
                    };
                    let kind = find::<K>(name)?;
                    if add {
                        set.kinds.insert(kind);
                    } else {
                        set.kinds.remove(&kind);
                    }
                }
            }
        }
        Ok(set)
    }

    /// Stops `kind` failing the run (`--allow-empty`).
    pub fn remove(&mut self, kind: K) {
        self.kinds.remove(&kind);
    }

    /// True when findings of `kind` fail the run.
    pub fn fails(&self, kind: K) -> bool {
        self.kinds.contains(&kind)
    }

    /// The failing kinds, in report order.
    pub fn kinds(&self) -> impl Iterator<Item = K> + '_ {
        self.kinds.iter().copied()
    }
}

fn find<K: Kind>(name: &str) -> Result<K, String> {
    let wanted = name.replace('-', "_");
    K::ALL.iter().copied().find(|k| k.name() == wanted).ok_or_else(|| {
        let names: Vec<&str> = K::ALL.iter().map(|k| k.name()).collect();
        format!(
            "unknown finding kind '{name}' (known: {}, all, none, default)",
            names.join(", ")
        )
    })
}

/// The one judgement of every check: the kinds that fail (in the order they
/// were counted) and the verdict. Read errors win over findings.
pub fn judge<K: Kind>(
    counts: impl IntoIterator<Item = (K, u64)>,
    fail_on: &FailOn<K>,
    errors: bool,
) -> (Vec<K>, common::exit::Verdict) {
    let failed: Vec<K> = counts
        .into_iter()
        .filter(|&(k, n)| n > 0 && fail_on.fails(k))
        .map(|(k, _)| k)
        .collect();
    let verdict = common::exit::Outcome::judge(errors, !failed.is_empty()).into();
    (failed, verdict)
}

/// The `--fail-on` sets of `verify gate`, one per check.
#[derive(Debug, Clone, Default)]
pub struct FailOnSets {
    pub ids: FailOn<crate::report::ids::IdsKind>,
    pub seq: FailOn<crate::report::seq::SeqKind>,
    pub merge: FailOn<crate::report::merge::MergeKind>,
    pub cross: FailOn<crate::report::gate::CrossKind>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum K {
        A,
        B,
        C,
    }
    impl Kind for K {
        const ALL: &'static [K] = &[K::A, K::B, K::C];
        fn name(self) -> &'static str {
            match self {
                K::A => "a",
                K::B => "b_b",
                K::C => "c",
            }
        }
        fn fails_by_default(self) -> bool {
            self != K::C
        }
    }

    fn kinds(f: &FailOn<K>) -> Vec<K> {
        f.kinds().collect()
    }

    #[test]
    fn parses_lists_keywords_and_adjustments() {
        assert_eq!(kinds(&FailOn::default()), [K::A, K::B]);
        assert_eq!(kinds(&FailOn::parse("c").unwrap()), [K::C]);
        assert_eq!(kinds(&FailOn::parse("all").unwrap()), [K::A, K::B, K::C]);
        assert_eq!(kinds(&FailOn::parse("none").unwrap()), []);
        assert_eq!(kinds(&FailOn::parse("+c,-a").unwrap()), [K::B, K::C]);
        assert_eq!(kinds(&FailOn::parse("b-b").unwrap()), [K::B]);
        let err = FailOn::<K>::parse("zzz").unwrap_err();
        assert!(
            err.contains("unknown finding kind 'zzz'") && err.contains("b_b"),
            "{err}"
        );
    }
}
