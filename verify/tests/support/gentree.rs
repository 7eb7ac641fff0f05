//! Generates a recordings tree with injected faults and returns the ground
//! truth of what it injected. Used by the integration tests and, through
//! `examples/gentree.rs`, by `scripts/bench-seq.sh`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub exam: String,
    pub students: u64,
    pub segments: u64,
    /// About one student in this many gets one fault (0: none).
    pub fault_every: u64,
    pub seed: u64,
    /// Bytes in every file (0: every file empty, each one a finding).
    pub size: u64,
}

/// What was injected, keyed by student ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Truth {
    pub recordings: PathBuf,
    pub students: u64,
    pub files: u64,
    pub gaps: BTreeMap<String, Vec<[u64; 2]>>,
    pub duplicates: BTreeMap<String, Vec<u64>>,
    pub unsequenced: BTreeMap<String, u64>,
    pub empty: BTreeMap<String, u64>,
    pub missing: Vec<String>,
}

/// One student's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Gap { from: u64, len: u64 },
    Duplicate(u64),
    Unsequenced(u64),
    Empty(u64),
    Missing,
}

/// splitmix64: deterministic, dependency-free randomness.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fault_for(spec: &Spec, student: u64) -> Fault {
    let r = mix(spec.seed ^ student.wrapping_mul(0x2545_F491_4F6C_DD1D));
    if spec.fault_every == 0 || spec.segments < 5 || !r.is_multiple_of(spec.fault_every) {
        return Fault::None;
    }
    // A seq strictly inside 2..segments-1, so gaps are never leading or trailing.
    let inner = 2 + (r >> 20) % (spec.segments - 3);
    match (r >> 8) % 5 {
        0 => Fault::Gap {
            from: inner,
            len: 1 + ((r >> 40) % 3).min(spec.segments - 1 - inner),
        },
        1 => Fault::Duplicate(inner),
        2 => Fault::Unsequenced(inner),
        3 => Fault::Empty(inner),
        _ => Fault::Missing,
    }
}

/// `YYYYMMDD_HHMMSS` of 2025-11-23 18:00:00 plus `secs` (under a day).
fn stamp(secs: u64) -> String {
    let (d, s) = (secs / 86_400, secs % 86_400);
    format!("202511{:02}_{:02}{:02}{:02}", 23 + d, s / 3600, s % 3600 / 60, s % 60)
}

/// Writes the tree under `root/server_data/<exam>/recordings`.
pub fn generate(root: &Path, spec: &Spec) -> io::Result<Truth> {
    let recordings = root.join("server_data").join(&spec.exam).join("recordings");
    fs::create_dir_all(&recordings)?;
    let plans: Vec<(u64, Fault)> = (1..=spec.students).map(|i| (i, fault_for(spec, i))).collect();
    let files: u64 = plans
        .par_iter()
        .map(|&(i, fault)| write_student(&recordings, i, fault, spec))
        .collect::<io::Result<Vec<u64>>>()?
        .into_iter()
        .sum();
    let mut truth = Truth {
        recordings,
        students: spec.students,
        files,
        ..Truth::default()
    };
    for (i, fault) in plans {
        let id = format!("test_{i:05}");
        match fault {
            Fault::None => {}
            Fault::Gap { from, len } => {
                truth.gaps.insert(id, vec![[from, from + len - 1]]);
            }
            Fault::Duplicate(s) => {
                truth.duplicates.insert(id, vec![s]);
            }
            Fault::Unsequenced(_) => {
                truth.unsequenced.insert(id, 1);
            }
            Fault::Empty(_) => {
                truth.empty.insert(id, 1);
            }
            Fault::Missing => truth.missing.push(id),
        }
    }
    Ok(truth)
}

fn write_student(recordings: &Path, i: u64, fault: Fault, spec: &Spec) -> io::Result<u64> {
    if fault == Fault::Missing {
        return Ok(0);
    }
    let id = format!("test_{i:05}");
    let dir = recordings.join(&id);
    fs::create_dir_all(&dir)?;
    let offset = i % 30;
    let full = vec![b'x'; usize::try_from(spec.size).unwrap_or(0)];
    let mut n = 0;
    let mut put = |name: String, body: &[u8]| {
        n += 1;
        fs::write(dir.join(name), body)
    };
    for seq in 1..=spec.segments {
        if let Fault::Gap { from, len } = fault
            && (from..from + len).contains(&seq)
        {
            continue;
        }
        let t = offset + 30 * (seq - 1);
        let body: &[u8] = if fault == Fault::Empty(seq) { b"" } else { &full };
        put(format!("{id}_{}_seq_{seq:04}.mp4", stamp(t)), body)?;
        if fault == Fault::Duplicate(seq) {
            put(format!("{id}_{}_seq_{seq:04}.mp4", stamp(t + 7)), &full)?;
        }
        if fault == Fault::Unsequenced(seq) {
            put(format!("{id}_{}.mp4", stamp(t + 3)), &full)?;
        }
    }
    Ok(n)
}
