//! The clock `loadgen setup` fills exam times from. The server compares an
//! exam's window with its own wall time (MySQL `NOW()` in its zone), so the
//! window must be written in the server's time: read from its
//! `GET /api/server_time` when it has one, else from `--tz`, else this
//! machine's local time (said, with what to do).

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, Utc};
use common::usage::UsageError;
use hyper::Method;
use serde::Serialize;

use crate::http::Client;
use crate::scenario::template::Zone;

/// The server's time answers: `{"server_time": "YYYY-MM-DD HH:MM:SS"}`.
pub const DEFAULT_PATH: &str = "/api/server_time";

/// Wall-time formats read from servers and scenario fields.
const FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];
/// How an exam's window is written.
pub const SHOWN: &str = "%Y-%m-%d %H:%M:%S";

/// Which clock the setup used, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockReport {
    /// `server` (its `GET /api/server_time`), `tz` (`--tz`) or `local` (this machine's).
    pub source: &'static str,
    /// The server's answer when read, as it wrote it (`2026-12-04 17:30:00`).
    pub server_time: Option<String>,
    /// The UTC offset the times are written in (`+08:00`).
    pub offset: String,
    /// The server's wall time minus this machine's, in ms (offset included).
    pub ahead_ms: i64,
    /// Why the server's clock was not used, when it was not.
    pub note: Option<String>,
}

/// The chosen clock: the zone templates count in (`None`: local time).
#[derive(Debug, Clone)]
pub struct Clock {
    pub zone: Option<Zone>,
    pub report: ClockReport,
}

impl Clock {
    /// Now on this clock, as a wall time.
    pub fn now(&self) -> NaiveDateTime {
        match self.zone {
            Some(z) => z.at(Local::now()).naive_local(),
            None => Local::now().naive_local(),
        }
    }

    /// Whose now this is, for messages.
    pub fn whose(&self) -> &'static str {
        match self.report.source {
            "server" => "the server's",
            "tz" => "the --tz clock's",
            _ => "this machine's",
        }
    }
}

/// A wall time as servers and forms write it.
pub fn parse_wall(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

/// `--tz`: `UTC`, `+08:00`, `+0800`, `+8`, `UTC+8`, `-05:30`.
pub fn parse_tz(text: &str) -> Result<FixedOffset, UsageError> {
    let bad = || {
        UsageError(format!(
            "--tz: '{text}' is not a UTC offset (e.g. +08:00, -05:30, UTC); zone names such as Asia/Shanghai are not read"
        ))
    };
    let t = text.trim();
    let t = t.strip_prefix("UTC").or_else(|| t.strip_prefix("GMT")).unwrap_or(t);
    if t.is_empty() || t == "Z" {
        return FixedOffset::east_opt(0).ok_or_else(bad);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

/// The server's zone from its wall time `server` read at this machine's UTC
/// `utc`: the offset is the difference rounded to a quarter hour (zones are
/// quarter hours), what is left is the server clock's own error.
pub fn zone_from(server: NaiveDateTime, utc: NaiveDateTime) -> Option<Zone> {
    let diff_ms = server.signed_duration_since(utc).num_milliseconds();
    const QUARTER_MS: i64 = 900_000;
    let quarters = diff_ms.checked_add(diff_ms.signum() * QUARTER_MS / 2)? / QUARTER_MS;
    let offset_s = i32::try_from(quarters.checked_mul(900)?).ok()?;
    let offset = FixedOffset::east_opt(offset_s).filter(|_| offset_s.abs() <= 14 * 3600)?;
    Some(Zone {
        offset,
        skew_ms: diff_ms.checked_sub(i64::from(offset_s) * 1000)?,
    })
}

/// Reads the server's clock at `path`; the error says what came instead.
pub async fn read_server(client: &Client, path: &str) -> Result<(String, Zone), String> {
    let before = Utc::now();
    let a = client
        .send(&Method::GET, path, &[], crate::http::Body::new([]), 4 << 10)
        .await
        .map_err(|k| k.to_string())?;
    let after = Utc::now();
    if a.status != 200 {
        return Err(format!("http {}", a.status));
    }
    let json: serde_json::Value = serde_json::from_slice(&a.body).map_err(|_| "the answer is not JSON".to_string())?;
    let text = json
        .get("server_time")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| "the answer has no \"server_time\" string".to_string())?;
    let wall = parse_wall(text).ok_or_else(|| "\"server_time\" is not YYYY-MM-DD HH:MM:SS".to_string())?;
    // A time in whole seconds was truncated: its middle is half a second on.
    let wall = if wall.and_utc().timestamp_subsec_millis() == 0 {
        wall + chrono::TimeDelta::milliseconds(500)
    } else {
        wall
    };
    // The server read its clock somewhere in the exchange: take the middle.
    let mid = before + (after - before) / 2;
    let zone =
        zone_from(wall, mid.naive_utc()).ok_or_else(|| "\"server_time\" is over 14 hours from UTC".to_string())?;
    Ok((text.to_string(), zone))
}

/// Chooses the clock: the server's when `path` answers, else `--tz`, else local.
pub async fn choose(client: &Client, path: Option<&str>, tz: Option<FixedOffset>) -> Clock {
    let here = Local::now();
    let (mut note, mut server_time) = (None, None);
    if let Some(p) = path {
        match read_server(client, p).await {
            Ok((text, zone)) => {
                server_time = Some(text);
                if let Some(t) = tz.filter(|t| *t != zone.offset) {
                    note = Some(format!(
                        "--tz {t} differs from the server's clock (UTC{}): the server's is used",
                        zone.offset
                    ));
                }
                return Clock {
                    zone: Some(zone),
                    report: report("server", server_time, zone, here, note),
                };
            }
            Err(e) => note = Some(format!("the server did not give its time (GET {p}: {e})")),
        }
        server_time = None;
    }
    match tz {
        Some(offset) => {
            let zone = Zone { offset, skew_ms: 0 };
            Clock {
                zone: Some(zone),
                report: report("tz", server_time, zone, here, note),
            }
        }
        None => {
            let zone = Zone {
                offset: *here.offset(),
                skew_ms: 0,
            };
            Clock {
                zone: None,
                report: report("local", server_time, zone, here, note),
            }
        }
    }
}

fn report(
    source: &'static str,
    server_time: Option<String>,
    zone: Zone,
    here: DateTime<Local>,
    note: Option<String>,
) -> ClockReport {
    let there = zone.at(here).naive_local();
    ClockReport {
        source,
        server_time,
        offset: zone.offset.to_string(),
        ahead_ms: there.signed_duration_since(here.naive_local()).num_milliseconds(),
        note,
    }
}

/// `8h 0m 12s ahead of`, `5s behind`, `the same as`: for people.
pub fn ahead_words(ms: i64) -> String {
    let s = (ms.unsigned_abs() + 500) / 1000;
    if s == 0 {
        return "the same as".into();
    }
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut t = String::new();
    if h > 0 {
        t.push_str(&format!("{h}h "));
    }
    if h > 0 || m > 0 {
        t.push_str(&format!("{m}m "));
    }
    if sec > 0 || (h == 0 && m == 0) {
        t.push_str(&format!("{sec}s "));
    }
    t.push_str(if ms > 0 { "ahead of" } else { "behind" });
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(t: &str) -> NaiveDateTime {
        parse_wall(t).unwrap()
    }

    #[test]
    fn the_zone_is_the_difference_rounded_to_a_quarter_hour() {
        let utc = wall("2026-12-04 09:30:00");
        let z = zone_from(wall("2026-12-04 17:31:30"), utc).unwrap();
        assert_eq!((z.offset.local_minus_utc(), z.skew_ms), (8 * 3600, 90_000));
        let z = zone_from(wall("2026-12-04 04:00:00.5"), utc).unwrap();
        assert_eq!((z.offset.local_minus_utc(), z.skew_ms), (-5 * 3600 - 1800, 500));
        let z = zone_from(wall("2026-12-04 09:29:58"), utc).unwrap();
        assert_eq!((z.offset.local_minus_utc(), z.skew_ms), (0, -2000));
        assert!(
            zone_from(wall("2026-12-06 09:30:00"), utc).is_none(),
            "two days off is no zone"
        );
        assert_eq!(wall("2026-12-04T09:30:00"), utc);
        assert!(parse_wall("yesterday").is_none());
    }

    #[test]
    fn tz_offsets() {
        for (text, secs) in [
            ("UTC", 0),
            ("+08:00", 28_800),
            ("+0800", 28_800),
            ("+8", 28_800),
            ("UTC+8", 28_800),
            ("-05:30", -19_800),
            ("Z", 0),
        ] {
            assert_eq!(parse_tz(text).unwrap().local_minus_utc(), secs, "{text}");
        }
        for bad in ["Asia/Shanghai", "+15", "8", "+08:60", "+", "+123"] {
            assert!(parse_tz(bad).unwrap_err().0.contains("not a UTC offset"), "{bad}");
        }
    }

    #[test]
    fn ahead_in_words() {
        assert_eq!(ahead_words(8 * 3_600_000 + 12_000), "8h 0m 12s ahead of");
        assert_eq!(ahead_words(-5_000), "5s behind");
        assert_eq!(ahead_words(300), "the same as");
        assert_eq!(ahead_words(8 * 3_600_000), "8h 0m ahead of");
    }
}
