//! What the binary's tests share: running `tidings`, the examples, a
//! provider's stand-in started as a user starts it, and the check that no
//! secret reached a command's output.

#![allow(dead_code)] // each test binary uses its part

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn tidings(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(args)
        .env_remove("TIDINGS_BUNDLE_ID")
        .env_remove("TIDINGS_PACKAGE_NAME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    path.to_string_lossy().into_owned()
}

/// `tidings standin PROVIDER` started on a free port, as a user starts it.
pub struct Standin {
    pub child: std::process::Child,
    pub dir: tempfile::TempDir,
    pub info: serde_json::Value,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn standin(extra: &[&str]) -> Standin {
    standin_for("apns", extra)
}

pub fn standin_for(provider: &str, extra: &[&str]) -> Standin {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["standin", provider, "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path())
        .arg("--record")
        .arg(dir.path().join("record.jsonl"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Standin { child, dir, info }
}

/// No part of the key or secret, no provider or access token and no
/// `authorization`/`authToken` value in what a command printed or logged.
pub fn assert_no_secrets(standin: &Standin, text: &str) {
    if let Some(secret_file) = standin.info["SecretFile"].as_str() {
        let secret = std::fs::read_to_string(secret_file).unwrap();
        assert!(secret.len() >= 16);
        assert!(
            !text.contains(secret.trim()),
            "the app secret in the output"
        );
        // An access token shows only with its name (the token answer's
        // `access_token`/`authToken`, the `authToken` header) or its scheme.
        let lower = text.to_ascii_lowercase();
        for marker in [
            "access_token",
            "\"authtoken\"",
            "authtoken:",
            "client_secret",
            "app_secret",
        ] {
            assert!(!lower.contains(marker), "{marker} in the output");
        }
    } else {
        let key = std::fs::read_to_string(standin.info["KeyFile"].as_str().unwrap()).unwrap();
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "key material in the output");
        }
    }
    // Every ES256 provider token starts with base64url('{"alg":"ES256","kid":').
    assert!(
        !text.contains("eyJhbGciOiJFUzI1NiIsImtpZCI6"),
        "a JWT in the output"
    );
    assert!(
        !text.to_ascii_lowercase().contains("bearer "),
        "an authorization value in the output"
    );
}
