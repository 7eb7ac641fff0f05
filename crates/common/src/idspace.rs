//! The student ID scheme (`test_00001`): a prefix and a zero-padded number.
//! Both tools need it: `loadgen` plans ranges, `verify` checks them.

use std::fmt;

/// An inclusive range of student IDs sharing one prefix and width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRange {
    /// Text before the number, e.g. `test_`.
    pub prefix: String,
    /// Minimum number of digits; numbers are zero-padded to it.
    pub width: usize,
    /// First number in the range.
    pub first: u64,
    /// Last number in the range (inclusive).
    pub last: u64,
}

/// Why an ID or a range could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("'{0}' does not end in a number (expected something like test_00001)")]
    NoNumber(String),
    #[error("number in '{0}' is too large")]
    TooLarge(String),
    #[error("range '{0}' is not of the form FIRST..LAST (e.g. test_00001..test_00500)")]
    NotARange(String),
    #[error("range ends '{0}' and '{1}' have different prefixes")]
    PrefixMismatch(String, String),
    #[error("range '{0}' is empty: its last ID comes before its first")]
    Empty(String),
}

/// Splits an ID into its prefix and its trailing number: `test_00042` -> (`test_`, 42, width 5).
pub fn split_id(id: &str) -> Result<(&str, u64, usize), IdError> {
    let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(IdError::NoNumber(id.to_string()));
    }
    let (prefix, num) = id.split_at(id.len() - digits);
    let n = num.parse::<u64>().map_err(|_| IdError::TooLarge(id.to_string()))?;
    Ok((prefix, n, digits))
}

/// Formats one ID of the scheme.
pub fn format_id(prefix: &str, width: usize, n: u64) -> String {
    format!("{prefix}{n:0width$}")
}

impl IdRange {
    /// Parses `test_00001..test_00500` (or a single ID, a range of one).
    pub fn parse(text: &str) -> Result<IdRange, IdError> {
        let text = text.trim();
        let (a, b) = match text.split_once("..") {
            Some((a, b)) => (a.trim(), b.trim()),
            None if !text.is_empty() => (text, text),
            None => return Err(IdError::NotARange(text.to_string())),
        };
        let (pa, first, width) = split_id(a)?;
        let (pb, last, _) = split_id(b)?;
        if pa != pb {
            return Err(IdError::PrefixMismatch(a.to_string(), b.to_string()));
        }
        if last < first {
            return Err(IdError::Empty(text.to_string()));
        }
        Ok(IdRange {
            prefix: pa.to_string(),
            width,
            first,
            last,
        })
    }

    /// A range of `count` IDs starting at `first`.
    pub fn from_count(prefix: &str, width: usize, first: u64, count: u64) -> Option<IdRange> {
        // `None` also when the last number would not fit: never a wrapped range.
        let last = first.checked_add(count.checked_sub(1)?)?;
        Some(IdRange {
            prefix: prefix.to_string(),
            width,
            first,
            last,
        })
    }

    /// Number of IDs in the range.
    pub fn len(&self) -> u64 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }

    /// Always false: a range holds at least one ID.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The number of `id` if it belongs to this range. `test_1` is not `test_00001`:
    /// an ID written with another width is a different string on the server.
    pub fn number_of(&self, id: &str) -> Option<u64> {
        let rest = id.strip_prefix(self.prefix.as_str())?;
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = rest.parse().ok()?;
        (format_id("", self.width, n).len() == rest.len() && (self.first..=self.last).contains(&n)).then_some(n)
    }

    /// Every ID of the range, in order.
    pub fn ids(&self) -> impl Iterator<Item = String> + '_ {
        (self.first..=self.last).map(|n| format_id(&self.prefix, self.width, n))
    }
}

/// Splits `count` IDs from `first` into `parts` balanced contiguous ranges and
/// returns the `k`-th (1-based): 500 over 3 gives 1-167, 168-334, 335-500.
/// `None` when `k` is not in `1..=parts` or the shard would be empty.
pub fn shard(prefix: &str, width: usize, first: u64, count: u64, k: u64, parts: u64) -> Option<IdRange> {
    if parts == 0 || k == 0 || k > parts {
        return None;
    }
    let (base, extra) = (count / parts, count % parts);
    let i = k - 1;
    let start = first.checked_add(i.checked_mul(base)?)?.checked_add(i.min(extra))?;
    let len = base + u64::from(i < extra);
    IdRange::from_count(prefix, width, start, len)
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = format_id(&self.prefix, self.width, self.first);
        if self.first == self.last {
            f.write_str(&a)
        } else {
            write!(f, "{a}..{}", format_id(&self.prefix, self.width, self.last))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_and_single_ids() {
        let r = IdRange::parse("test_00001..test_00500").unwrap();
        assert_eq!((r.prefix.as_str(), r.width, r.first, r.last), ("test_", 5, 1, 500));
        assert_eq!(r.len(), 500);
        assert_eq!(r.to_string(), "test_00001..test_00500");
        let one = IdRange::parse("stu7").unwrap();
        assert_eq!((one.first, one.last, one.width), (7, 7, 1));
    }

    #[test]
    fn rejects_bad_ranges() {
        assert!(matches!(IdRange::parse("test_"), Err(IdError::NoNumber(_))));
        assert!(matches!(IdRange::parse("a_1..b_2"), Err(IdError::PrefixMismatch(..))));
        assert!(matches!(IdRange::parse("t_5..t_1"), Err(IdError::Empty(_))));
        assert!(matches!(IdRange::parse(""), Err(IdError::NotARange(_))));
    }

    #[test]
    fn shards_are_balanced_contiguous_and_cover_everything() {
        let r: Vec<(u64, u64)> = (1..=3)
            .map(|k| shard("t_", 5, 1, 500, k, 3).map(|r| (r.first, r.last)).unwrap())
            .collect();
        assert_eq!(r, [(1, 167), (168, 334), (335, 500)]);
        assert_eq!(shard("t_", 5, 1, 500, 4, 3), None);
        assert_eq!(
            shard("t_", 5, 1, 2, 3, 3),
            None,
            "more shards than IDs leaves some empty"
        );
        for count in 0..40u64 {
            for parts in 1..7u64 {
                let mut next = 10;
                for k in 1..=parts {
                    if let Some(s) = shard("t_", 5, 10, count, k, parts) {
                        assert_eq!(s.first, next);
                        next = s.last + 1;
                    }
                }
                assert_eq!(next, 10 + count, "{count} over {parts}");
            }
        }
    }

    #[test]
    fn membership_respects_prefix_width_and_bounds() {
        let r = IdRange::parse("test_00001..test_00500").unwrap();
        assert_eq!(r.number_of("test_00042"), Some(42));
        assert_eq!(r.number_of("test_42"), None);
        assert_eq!(r.number_of("test_00501"), None);
        assert_eq!(r.number_of("exam_00042"), None);
        assert_eq!(r.number_of("test_0004x"), None);
        // Numbers wider than the width are still members when in range.
        let wide = IdRange::parse("s_98..s_100").unwrap();
        assert_eq!(wide.number_of("s_100"), Some(100));
        assert_eq!(wide.ids().collect::<Vec<_>>(), ["s_98", "s_99", "s_100"]);
    }
}
