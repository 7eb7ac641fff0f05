//! Shared by loadgen's end-to-end tests: real targets started from the
//! project's scripts, stopped by PID files when dropped (also on panic).

#![allow(dead_code)]

pub mod fake;
pub mod hung;
pub mod signals;
pub mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running target; stopped (by its PID files) when dropped, also on panic.
pub struct Target {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl Target {
    pub fn start() -> Target {
        Target::start_with(&[])
    }

    /// Starts it with environment settings (the fault switches
    /// `TARGET_LOSE_SEQS`, `TARGET_TRUNCATE_SEQS`). With the stand-in's login
    /// lines (the real server logs no login) and the gap wording verify reads
    /// as a server gap (`检测到序号缺失`, merged anyway).
    pub fn start_with(env: &[(&str, &str)]) -> Target {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(repo().join("scripts/target-up.sh"))
            .arg(dir.path())
            .args(["--capture-output", "--login-lines", "--merge-gaps", "merge"])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "target-up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Target { dir, url }
    }

    /// gunicorn's error log: the login lines and the captured print() lines.
    pub fn log(&self) -> String {
        self.dir.path().join("logs/gunicorn_error.log").display().to_string()
    }

    pub fn data(&self) -> String {
        self.dir.path().join("server_data").display().to_string()
    }

    /// `loadgen setup` for `students` students (the built-in scenario): an
    /// active exam holding them; returns its ID.
    pub fn setup(&self, students: u64) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["setup", "--host", &self.url, "--students", &students.to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "loadgen setup: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .find_map(|l| l.strip_prefix("exam_id="))
            .unwrap_or_else(|| panic!("no exam_id in: {text}"))
            .to_string()
    }

    /// The server's own counts: exam -> student -> call kind -> calls.
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>> {
        let out = Command::new("curl")
            .args(["-fsS", &format!("{}/api/_counts", self.url)])
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/target-down.sh"))
            .arg(self.dir.path())
            .arg("5")
            .output();
    }
}

/// `verify` as a library user would run it: the real binary, JSON back.
///
/// Built for this test run, once per test process: `cargo build --workspace
/// --bins` (scripts/test.sh's own step, so there it is already fresh) into
/// the target directory this test executable lives in
/// (`<target>/<profile>/deps/<test>`), and the path cargo reports for it.
/// Never a `target/debug/verify` left by an earlier build: loadgen depends on
/// verify's library only, so `cargo test -p loadgen` builds no verify binary.
/// Cargo holds no build-directory lock while tests run, so this does not wait
/// on the `cargo test` that started us.
pub fn verify_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let target = exe
            .ancestors()
            .nth(3)
            .unwrap_or_else(|| panic!("no target directory above {}", exe.display()));
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--workspace",
                "--bins",
                "--message-format",
                "json-render-diagnostics",
            ])
            .arg("--target-dir")
            .arg(target)
            .current_dir(repo())
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo build --workspace --bins failed");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| {
                m["reason"] == "compiler-artifact" && m["target"]["name"] == "verify" && m["target"]["kind"][0] == "bin"
            })
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no verify executable")
    })
    .clone()
}
