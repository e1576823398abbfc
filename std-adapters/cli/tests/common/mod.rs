//! What the binary's tests share: running `tidings`, the examples, a
//! provider's stand-in started as a user starts it, and the check that no
//! secret reached a command's output.

#![allow(dead_code)] // each test binary uses its part

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn tidings(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
    command
        .args(args)
        .env_remove("TIDINGS_BUNDLE_ID")
        .env_remove("TIDINGS_PACKAGE_NAME");
    run(command, stdin.unwrap_or_default())
}

/// `command` run to its end with `stdin` as its input, its output captured.
pub fn run(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// A group message from Ann to the `tokens` of APNs devices in the
/// background, with `extra` keys in its one recipient.
pub fn group_push(tokens: &[String], extra: Option<(&str, Value)>) -> Value {
    let devices: Vec<Value> = tokens
        .iter()
        .map(|t| serde_json::json!({ "Channel": "apns", "Token": t, "State": "background" }))
        .collect();
    let mut recipient =
        serde_json::json!({ "Account": "team", "Devices": devices, "ReceiveOpt": 0 });
    if let Some((key, value)) = extra {
        recipient[key] = value;
    }
    serde_json::json!({
        "Message": {
            "From_Account": "ann", "GroupId": "dev-team",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": "Standup in 5" } }]
        },
        "Sender": { "Nick": "Ann" },
        "Group": { "Name": "Dev team", "Type": "Work" },
        "App": { "BundleId": "com.example.chat" },
        "Recipients": [recipient]
    })
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

pub const API_TOKEN: &str = "serve-test-api-token-0123456789";

/// One HTTP/1.1 request on its own connection: the status and the JSON body.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    Some((status, json))
}

pub struct Gateway {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `tidings serve` and waits (bounded) until it answers `/healthz`.
pub fn serve(config: &std::path::Path, port: u16, log: &std::path::Path) -> Gateway {
    serve_logging(config, port, log, "debug")
}

/// [`serve`] with the log level `level` (`info` is what an operator runs).
pub fn serve_logging(
    config: &std::path::Path,
    port: u16,
    log: &std::path::Path,
    level: &str,
) -> Gateway {
    serve_until(config, port, log, level, &|addr| {
        http(addr, "GET", "/healthz", None).is_some()
    })
}

/// Starts `tidings serve` and waits (bounded) until `ready` says it answers.
pub fn serve_until(
    config: &std::path::Path,
    port: u16,
    log: &std::path::Path,
    level: &str,
    ready: &dyn Fn(SocketAddr) -> bool,
) -> Gateway {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["serve", "--config"])
        .arg(config)
        .env("TIDINGS_LOG", level)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    // Owned at once, so the process is killed and waited for on any panic.
    let gateway = Gateway {
        child,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if ready(gateway.addr) {
            return gateway;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("tidings serve did not start");
}

/// The stand-in's provider table, a `[server]` on `port` with its data
/// under `dir`, and `extra` tables.
pub fn config(
    standin: &Standin,
    dir: &std::path::Path,
    port: u16,
    extra: &str,
) -> std::path::PathBuf {
    let apns = std::fs::read_to_string(standin.info["Config"].as_str().unwrap()).unwrap();
    write_gateway_config(&apns, dir, port, "max_devices = 1000", extra)
}

/// `gateway.toml` in `dir`: `provider` (a stand-in's provider table), a
/// `[server]` on `port` with its data under `dir` and the `server_extra`
/// keys, then the `extra` tables.
pub fn write_gateway_config(
    provider: &str,
    dir: &std::path::Path,
    port: u16,
    server_extra: &str,
    extra: &str,
) -> std::path::PathBuf {
    let file = dir.join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            "{provider}\n[server]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = {:?}\napi_tokens = \"{API_TOKEN}\"\ndrain_secs = 5\n{server_extra}\n{extra}",
            dir.join("data")
        ),
    )
    .unwrap();
    file
}

pub fn recorded_tokens(standin: &Standin) -> HashMap<String, usize> {
    let record =
        std::fs::read_to_string(standin.dir.path().join("record.jsonl")).unwrap_or_default();
    let mut counts = HashMap::new();
    for line in record.lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            *counts
                .entry(v["token"].as_str().unwrap_or("").to_owned())
                .or_insert(0) += 1;
        }
    }
    counts
}

/// SIGTERM, then the exit: a gateway drains and exits 0.
pub fn sigterm_exits_cleanly(gateway: &mut Gateway) {
    let status = Command::new("kill")
        .args(["-TERM", &gateway.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = gateway.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
