//! Runs the built `vantage` binary in a temporary directory.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary working directory for one test.
pub struct Workdir {
    dir: tempfile::TempDir,
}

/// What one `vantage` run printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts a zero exit and returns the run.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit `code` and that stderr mentions `needle`.
    #[track_caller]
    pub fn fails(self, code: i32, needle: &str) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {}",
            self.stderr
        );
        self
    }
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, path: &str) -> PathBuf {
        self.dir.path().join(path)
    }

    /// Runs `vantage ARGS…` with this directory as the working directory.
    pub fn vantage(&self, args: &[&str]) -> Run {
        self.vantage_with_env(args, &[])
    }

    /// Runs `vantage ARGS…` with these environment variables set besides.
    pub fn vantage_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(env!("CARGO_BIN_EXE_vantage"))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.path())
            .output()
            .expect("vantage runs");
        Run {
            code: status.code().expect("vantage exited, not killed"),
            stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
        }
    }

    /// Writes a valid manifest for plugin `name` and a fake but well-formed
    /// component, as `manifest.json` and `probe.wasm`.
    pub fn plugin_sources(&self, name: &str) {
        let manifest = serde_json::json!({
            "name": name, "version": "1.2.3", "description": "connects somewhere",
            "capabilities": ["tcp", "dns"],
            "config_schema": {"type": "object", "additionalProperties": false},
            "metrics": [{"name": "connect_time", "unit": "seconds", "help": "handshake time"}]
        });
        std::fs::write(
            self.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        std::fs::write(self.join("probe.wasm"), component()).unwrap();
    }

    /// Generates key `name` into `keys/`, packs `probe.vpkg` and signs it with
    /// that key; returns the key id.
    pub fn signed_package(&self, key: &str) -> String {
        self.plugin_sources("probe");
        let key_id = self.generate_key(key);
        self.vantage(&[
            "plugin",
            "pack",
            "--manifest",
            "manifest.json",
            "--component",
            "probe.wasm",
            "--out",
            "probe.vpkg",
        ])
        .ok();
        self.vantage(&[
            "plugin",
            "sign",
            "probe.vpkg",
            "--key",
            &format!("keys/{key}.key"),
        ])
        .ok();
        key_id
    }

    /// Generates key `name` into `keys/`; returns its id.
    pub fn generate_key(&self, name: &str) -> String {
        let run = self
            .vantage(&["keys", "generate", "--name", name, "--out", "keys"])
            .ok();
        run.stdout.trim().to_owned()
    }
}

/// A fake component: the component preamble and some bytes.
pub fn component() -> Vec<u8> {
    let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
    bytes.extend_from_slice(b"not really code, but the host is not asked to run it");
    bytes
}
