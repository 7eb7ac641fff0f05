//! Flag values both tools take, and how a bad one fails: sizes (`4MiB`),
//! durations (`250ms`, `2m`), ratios (`0.05` or `5%`), and [`UsageError`],
//! the error of a bad flag value (exit code 2).

/// A usage error: bad flag values. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses a ratio between 0 and 1, written as one (`0.05`) or as a
/// percentage (`5%`): a clap value parser, so the flag's name is added by clap.
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    let bad = || format!("'{text}' is not a ratio between 0 and 1 (e.g. 0.05) or a percentage (e.g. 5%)");
    let v = number.parse::<f64>().map_err(|_| bad())? / scale;
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(bad())
    }
}

/// Parses sizes such as `0`, `512`, `1K`, `4MiB`, `2MB` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, UsageError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| UsageError(format!("bad size '{text}' (try 1K, 4MiB)")))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(UsageError(format!("bad size unit in '{text}' (use K, M or G)"))),
    };
    n.checked_mul(mult)
        .ok_or_else(|| UsageError(format!("size '{text}' is too large")))
}

/// Parses durations such as `250ms`, `120`, `120s`, `2m`, `1h` into milliseconds.
pub fn parse_millis(text: &str) -> Result<u64, UsageError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| UsageError(format!("bad duration '{text}' (try 500ms, 120s, 2m)")))?;
    let mult = match unit.trim() {
        "ms" => 1,
        "" | "s" | "sec" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err(UsageError(format!("bad duration unit in '{text}' (use ms, s, m or h)"))),
    };
    n.checked_mul(mult)
        .ok_or_else(|| UsageError(format!("duration '{text}' is too large")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 27 item 3: `5%` is 0.05 wherever a ratio is asked for.
    #[test]
    fn ratios_and_percentages() {
        assert_eq!(parse_ratio("5%"), Ok(0.05));
        assert_eq!(parse_ratio("0.05"), Ok(0.05));
        assert_eq!(parse_ratio(" 100 % "), Ok(1.0));
        assert_eq!(parse_ratio("0"), Ok(0.0));
        for bad in ["150%", "-1", "NaN", "inf", "five", "%", "1.5"] {
            assert!(
                parse_ratio(bad).unwrap_err().contains("or a percentage (e.g. 5%)"),
                "{bad}"
            );
        }
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("1K").unwrap(), 1024);
        assert_eq!(parse_size("4MiB").unwrap(), 4 << 20);
        assert_eq!(parse_size("2 mb").unwrap(), 2 << 20);
        assert!(parse_size("x").is_err() && parse_size("3T").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_millis("250ms").unwrap(), 250);
        assert_eq!(parse_millis("2s").unwrap(), 2000);
        assert_eq!(parse_millis("2m").unwrap(), 120_000);
        assert_eq!(parse_millis("1h").unwrap(), 3_600_000);
        assert!(parse_millis("soon").is_err() && parse_millis("3d").is_err());
    }
}
