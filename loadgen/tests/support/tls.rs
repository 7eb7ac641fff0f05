//! nginx terminating TLS in front of a target (scripts/tls-proxy.sh), with a
//! throw-away CA; shared by the HTTPS tests and the worker's HTTPS test.

use std::process::Command;

use super::repo;

/// nginx with TLS in front of a target; stopped when dropped.
pub struct Proxy {
    dir: tempfile::TempDir,
    pub url: String,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(repo().join("scripts/tls-proxy.sh"))
            .args(["up", dir.path().to_str().unwrap(), upstream])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Proxy {
            url: String::from_utf8(out.stdout).unwrap().trim().to_string(),
            dir,
        }
    }

    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/tls-proxy.sh"))
            .args(["down", self.dir.path().to_str().unwrap()])
            .output();
    }
}
