//! Locust's master/worker messages: one msgpack frame `[type, data, node_id]`,
//! structs as maps. Encoding is strict (a malformed frame can deafen the
//! master's receive loop); decoding is lenient (unknown types and keys pass).

use std::collections::BTreeMap;

use rmpv::Value;
use serde::Serialize;

/// A message from the master.
#[derive(Debug, Clone, PartialEq)]
pub enum FromMaster {
    /// `client_ready` acknowledged; the worker's index (none before Locust 2.11).
    Ack {
        index: Option<u64>,
    },
    Heartbeat,
    /// Absolute per-class targets.
    Spawn {
        timestamp: f64,
        user_classes_count: BTreeMap<String, u64>,
        host: Option<String>,
        stop_timeout: Option<f64>,
        num_users: Option<u64>,
        expect_workers: Option<u64>,
    },
    SpawningComplete {
        user_count: Option<u64>,
    },
    Stop,
    Quit,
    Reconnect,
    /// `loadgen_ids` from scripts/locust/locustfile.py: the exact ID numbers
    /// of this worker's users for the next spawn; `Err` names what was wrong.
    Ids(Result<Assignment, String>),
    /// `update_user_class` and anything else: logged and ignored.
    Other {
        kind: String,
    },
}

/// The master's `loadgen_ids` message: per user class, the ID numbers of
/// this worker's users in the order they start (1 is the worker's
/// `--first-id`), as inclusive ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The master's run counter (a new swarm after a stop is a new run).
    pub run: u64,
    /// The run's population: numbers above it are users moved between workers.
    pub population: u64,
    pub ids: BTreeMap<String, Vec<(u64, u64)>>,
}

/// The custom message type the master's locustfile sends.
pub const IDS: &str = "loadgen_ids";

fn assignment(data: &Value) -> Result<Assignment, String> {
    let num = |k: &str| get(data, k).and_then(Value::as_u64).ok_or(format!("no integer '{k}'"));
    match num("version")? {
        1 => {}
        v => return Err(format!("version {v}, this loadgen reads 1")),
    }
    let mut ids = BTreeMap::new();
    for (class, list) in get(data, "ids").and_then(Value::as_map).ok_or("no 'ids' map")? {
        let class = class.as_str().ok_or("a class name that is not a string")?;
        let mut ranges = Vec::new();
        for r in list.as_array().ok_or("ranges not a list")? {
            match r
                .as_array()
                .map(|a| a.iter().map(Value::as_u64).collect::<Vec<_>>())
                .as_deref()
            {
                Some([Some(a), Some(b)]) if *a >= 1 && a <= b => ranges.push((*a, *b)),
                _ => return Err(format!("range {r} is not [first, last] with 1 <= first <= last")),
            }
        }
        ids.insert(class.to_string(), ranges);
    }
    Ok(Assignment {
        run: num("run")?,
        population: num("population")?,
        ids,
    })
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not msgpack: {0}")]
    Msgpack(String),
    #[error("not a [type, data, node_id] array")]
    Shape,
}

/// Encodes `[kind, data, node_id]` with maps for structs (as Python's msgpack does).
pub fn encode<T: Serialize>(kind: &str, data: &T, node_id: &str) -> Vec<u8> {
    rmp_serde::to_vec_named(&(kind, data, node_id)).expect("plain data always encodes")
}

fn get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_i64().map(|i| i as f64))
        .or_else(|| v.as_u64().map(|u| u as f64))
}

/// Decodes one frame from the master.
pub fn decode(frame: &[u8]) -> Result<(FromMaster, String), DecodeError> {
    let v: Value = rmp_serde::from_slice(frame).map_err(|e| DecodeError::Msgpack(e.to_string()))?;
    let arr = v.as_array().filter(|a| a.len() == 3).ok_or(DecodeError::Shape)?;
    let kind = arr[0].as_str().ok_or(DecodeError::Shape)?;
    let node = arr[2].as_str().unwrap_or_default().to_string();
    let data = &arr[1];
    let msg = match kind {
        "ack" => FromMaster::Ack {
            index: get(data, "index").and_then(Value::as_u64),
        },
        "heartbeat" => FromMaster::Heartbeat,
        "spawn" => {
            let counts = get(data, "user_classes_count")
                .and_then(Value::as_map)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_u64()?)))
                        .collect()
                })
                .unwrap_or_default();
            let opts = get(data, "parsed_options");
            FromMaster::Spawn {
                timestamp: get(data, "timestamp").and_then(as_f64).unwrap_or(0.0),
                user_classes_count: counts,
                host: get(data, "host").and_then(Value::as_str).map(str::to_string),
                stop_timeout: get(data, "stop_timeout").and_then(as_f64),
                num_users: opts.and_then(|o| get(o, "num_users")).and_then(Value::as_u64),
                expect_workers: opts.and_then(|o| get(o, "expect_workers")).and_then(Value::as_u64),
            }
        }
        "spawning_complete" => FromMaster::SpawningComplete {
            user_count: get(data, "user_count").and_then(Value::as_u64),
        },
        "stop" => FromMaster::Stop,
        "quit" => FromMaster::Quit,
        "reconnect" => FromMaster::Reconnect,
        IDS => FromMaster::Ids(assignment(data)),
        other => FromMaster::Other {
            kind: other.to_string(),
        },
    };
    Ok((msg, node))
}

/// `heartbeat` data. Every key is required by the master.
#[derive(Debug, Clone, Serialize)]
pub struct Heartbeat<'a> {
    pub state: &'a str,
    pub current_cpu_usage: f64,
    pub current_memory_usage: u64,
}

/// `spawning_complete` data.
#[derive(Debug, Clone, Serialize)]
pub struct SpawningComplete<'a> {
    pub user_classes_count: &'a BTreeMap<String, u64>,
    pub user_count: u64,
}

/// One stats entry (a delta since the last report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub name: String,
    pub method: String,
    pub last_request_timestamp: Option<f64>,
    pub start_time: f64,
    pub num_requests: u64,
    pub num_none_requests: u64,
    pub num_failures: u64,
    pub total_response_time: f64,
    pub max_response_time: f64,
    pub min_response_time: Option<f64>,
    pub total_content_length: u64,
    /// Bucketed response time (ms) -> count; integer keys, as the master requires.
    pub response_times: BTreeMap<u64, u64>,
    /// Unix second -> requests.
    pub num_reqs_per_sec: BTreeMap<i64, u64>,
    /// Unix second -> failures.
    pub num_fail_per_sec: BTreeMap<i64, u64>,
}

/// One error group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorEntry {
    pub name: String,
    pub method: String,
    pub error: String,
    pub occurrences: u64,
    pub first_seen: Option<f64>,
    pub last_seen: Option<f64>,
}

/// `stats` data. `user_classes_count` is required in practice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub stats: Vec<Entry>,
    pub stats_total: Entry,
    pub errors: BTreeMap<String, ErrorEntry>,
    pub user_classes_count: BTreeMap<String, u64>,
    pub user_count: u64,
}

/// Python's `round`: halves to even.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// Locust's response-time bucket (`bucket_response_time`): below 100 ms to the
/// millisecond, then to 10, 100 and 1,000 ms; halves to even, as Python rounds.
pub fn bucket(ms: f64) -> u64 {
    let (step, v) = match ms {
        m if m < 100.0 => (1.0, m),
        m if m < 1_000.0 => (10.0, m),
        m if m < 10_000.0 => (100.0, m),
        m => (1_000.0, m),
    };
    (round_half_even(v / step) * step) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_locusts_checked_values() {
        let cases = [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (12.345, 12),
            (99.5, 100),
            (145.0, 140),
            (147.0, 150),
            (155.0, 160),
            (995.0, 1000),
            (1049.0, 1000),
            (1050.0, 1000),
            (1150.0, 1200),
            (1250.0, 1200),
            (3432.0, 3400),
            (9950.0, 10000),
            (12500.0, 12000),
            (13500.0, 14000),
            (58760.0, 59000),
        ];
        for (ms, want) in cases {
            assert_eq!(bucket(ms), want, "{ms}");
        }
    }
}

#[cfg(test)]
mod ids_tests {
    use super::*;

    fn frame(data: serde_json::Value) -> Vec<u8> {
        encode(IDS, &data, "master")
    }

    #[test]
    fn the_masters_ids_decode_and_bad_ones_are_named() {
        let ok = frame(
            serde_json::json!({"version": 1, "run": 2, "population": 20, "ids": {"StudentUser": [[1, 10], [21, 21]]}}),
        );
        let (msg, _) = decode(&ok).unwrap();
        assert_eq!(
            msg,
            FromMaster::Ids(Ok(Assignment {
                run: 2,
                population: 20,
                ids: BTreeMap::from([("StudentUser".to_string(), vec![(1, 10), (21, 21)])]),
            }))
        );
        for bad in [
            serde_json::json!({"version": 2, "run": 1, "population": 1, "ids": {}}),
            serde_json::json!({"version": 1, "run": 1, "population": 1, "ids": {"S": [[0, 3]]}}),
            serde_json::json!({"version": 1, "run": 1, "population": 1, "ids": {"S": [[5, 3]]}}),
            serde_json::json!({"version": 1, "run": 1, "population": 1, "ids": {"S": [[1, -3]]}}),
            serde_json::json!({"version": 1, "run": 1, "ids": {}}),
        ] {
            let (msg, _) = decode(&frame(bad.clone())).unwrap();
            assert!(matches!(msg, FromMaster::Ids(Err(_))), "{bad}: {msg:?}");
        }
    }
}

#[cfg(test)]
mod vector_tests {
    //! Against frames recorded from a real Locust 2.47.0 master (fixtures/locust).
    use super::*;

    fn vectors(file: &str) -> Vec<serde_json::Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/locust")
            .join(file);
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn recorded(file: &str, kind: &str, nth: usize) -> String {
        vectors(file)
            .into_iter()
            .filter(|v| v["type"] == kind)
            .nth(nth)
            .unwrap()["hex"]
            .as_str()
            .unwrap()
            .to_string()
    }

    const NODE: &str = "rust-probe_0001";

    #[test]
    fn simple_messages_are_byte_identical_to_what_the_master_accepted() {
        let f = "rust_zeromq_probe_sent.jsonl";
        assert_eq!(
            hex(&encode("client_ready", &-1i64, NODE)),
            recorded(f, "client_ready", 0)
        );
        assert_eq!(hex(&encode("spawning", &(), NODE)), recorded(f, "spawning", 0));
        assert_eq!(hex(&encode("quit", &(), NODE)), recorded(f, "quit", 0));
        let counts = BTreeMap::from([("StudentUser".to_string(), 3)]);
        assert_eq!(
            hex(&encode(
                "spawning_complete",
                &SpawningComplete {
                    user_classes_count: &counts,
                    user_count: 3
                },
                NODE
            )),
            recorded(f, "spawning_complete", 0)
        );
    }

    /// Keys, in order, of a msgpack map (nested by path).
    fn keys(v: &Value) -> Vec<String> {
        v.as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn stats_and_heartbeat_have_the_masters_keys_in_order() {
        let rec: Value = rmp_serde::from_slice(&unhex(&recorded("rust_zeromq_probe_sent.jsonl", "stats", 0))).unwrap();
        let mut d = crate::locust::stats::Delta::new(vec![("/x".into(), "GET".into())], 1000.0);
        let ours: Value = rmp_serde::from_slice(&encode("stats", &d.take(1003.0, BTreeMap::new()), NODE)).unwrap();
        let (r, o) = (&rec.as_array().unwrap()[1], &ours.as_array().unwrap()[1]);
        assert_eq!(keys(r), keys(o));
        assert_eq!(
            keys(get(r, "stats_total").unwrap()),
            keys(get(o, "stats_total").unwrap())
        );
        assert_eq!(
            get(o, "stats_total").and_then(|t| get(t, "min_response_time")),
            Some(&Value::Nil)
        );
        // A real Python worker's non-empty entry: the same keys as ours.
        let real = vectors("real_worker_webui.jsonl")
            .into_iter()
            .filter(|v| v["type"] == "stats")
            .map(|v| rmp_serde::from_slice::<Value>(&unhex(v["hex"].as_str().unwrap())).unwrap())
            .find(|v| {
                get(&v.as_array().unwrap()[1], "stats")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            })
            .unwrap();
        let real_entry = &get(&real.as_array().unwrap()[1], "stats").unwrap().as_array().unwrap()[0];
        let s = crate::stats::Sample {
            endpoint: 0,
            at_ms: 10,
            latency_us: 2_500,
            failure: None,
            sent: 1,
            received: 1,
        };
        d.record(&s);
        let ours: Value = rmp_serde::from_slice(&encode("stats", &d.take(1006.0, BTreeMap::new()), NODE)).unwrap();
        let our_entry = &get(&ours.as_array().unwrap()[1], "stats").unwrap().as_array().unwrap()[0];
        assert_eq!(keys(real_entry), keys(our_entry));
        let rt = get(our_entry, "response_times").unwrap().as_map().unwrap();
        assert!(rt[0].0.is_u64(), "response_times keys must be msgpack integers");
        // Heartbeat keys as the emulator's (which the master accepted).
        let hb = vectors("headless_emulator.jsonl")
            .into_iter()
            .find(|v| v["type"] == "heartbeat" && v["dir"] == "worker->master")
            .unwrap();
        let hb: Value = rmp_serde::from_slice(&unhex(hb["hex"].as_str().unwrap())).unwrap();
        let ours: Value = rmp_serde::from_slice(&encode(
            "heartbeat",
            &Heartbeat {
                state: "ready",
                current_cpu_usage: 1.5,
                current_memory_usage: 10,
            },
            NODE,
        ))
        .unwrap();
        assert_eq!(keys(&hb.as_array().unwrap()[1]), keys(&ours.as_array().unwrap()[1]));
    }

    #[test]
    fn every_recorded_master_message_decodes() {
        let mut seen = std::collections::BTreeSet::new();
        for file in [
            "headless_emulator.jsonl",
            "real_worker_webui.jsonl",
            "webui_stop_reconnect_emulator.jsonl",
            "update_user_class_emulator.jsonl",
        ] {
            for v in vectors(file).into_iter().filter(|v| v["dir"] == "master->worker") {
                let (msg, _) = decode(&unhex(v["hex"].as_str().unwrap()))
                    .unwrap_or_else(|e| panic!("{file} seq {}: {e}", v["seq"]));
                let kind = v["type"].as_str().unwrap();
                match (&msg, kind) {
                    (FromMaster::Ack { index: Some(_) }, "ack")
                    | (FromMaster::Heartbeat, "heartbeat")
                    | (FromMaster::SpawningComplete { .. }, "spawning_complete")
                    | (FromMaster::Stop, "stop")
                    | (FromMaster::Quit, "quit")
                    | (FromMaster::Reconnect, "reconnect")
                    | (FromMaster::Other { .. }, "update_user_class") => {}
                    (
                        FromMaster::Spawn {
                            user_classes_count,
                            num_users,
                            ..
                        },
                        "spawn",
                    ) => {
                        assert!(!user_classes_count.is_empty() && num_users.is_some(), "{file}: {msg:?}");
                    }
                    _ => panic!("{file}: {kind} decoded as {msg:?}"),
                }
                seen.insert(kind.to_string());
            }
        }
        for kind in [
            "ack",
            "heartbeat",
            "spawn",
            "spawning_complete",
            "stop",
            "quit",
            "reconnect",
            "update_user_class",
        ] {
            assert!(seen.contains(kind), "no recorded {kind}");
        }
        assert!(decode(&[0xc1]).is_err() && decode(&encode("x", &(), "n")[..3]).is_err());
    }
}
