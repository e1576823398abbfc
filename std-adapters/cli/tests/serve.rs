//! `tidings serve` as the real binary: `kill -9` in the middle of a few
//! thousand deliveries loses nothing answered 202 (every such device is
//! delivered at least once after a restart; duplicates are counted and
//! reported), SIGTERM drains and exits cleanly, and no secret reaches the
//! log.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{assert_no_secrets, standin, Standin};

const API_TOKEN: &str = "serve-test-api-token-0123456789";

/// One HTTP/1.1 request on its own connection: the status and the JSON body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
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

struct Gateway {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `tidings serve` and waits (bounded) until it answers `/healthz`.
fn serve(config: &std::path::Path, port: u16, log: &std::path::Path) -> Gateway {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["serve", "--config"])
        .arg(config)
        .env("TIDINGS_LOG", "debug")
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
        if http(gateway.addr, "GET", "/healthz", None).is_some() {
            return gateway;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("tidings serve did not start");
}

fn config(standin: &Standin, dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let apns = std::fs::read_to_string(standin.info["Config"].as_str().unwrap()).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            "{apns}\n[server]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = {:?}\napi_tokens = \"{API_TOKEN}\"\nmax_devices = 1000\ndrain_secs = 5\n",
            dir.join("data")
        ),
    )
    .unwrap();
    file
}

fn recorded_tokens(standin: &Standin) -> HashMap<String, usize> {
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

#[test]
fn kill_9_mid_load_loses_no_accepted_push_and_sigterm_drains() {
    const JOBS: usize = 5;
    const PER_JOB: usize = 600;
    let standin = standin(&[]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(&standin, dir.path(), port);
    let first_log = dir.path().join("first.log");
    let gateway = serve(&config, port, &first_log);

    // Jobs of 600 devices each, every device its own token.
    let mut accepted: Vec<(String, Vec<String>)> = Vec::new();
    for job in 0..JOBS {
        let tokens: Vec<String> = (0..PER_JOB).map(|i| format!("{job:02x}{i:06x}")).collect();
        let devices: Vec<Value> = tokens
            .iter()
            .map(|t| json!({ "Channel": "apns", "Token": t, "State": "background" }))
            .collect();
        let body = json!({
            "Message": {
                "From_Account": "ann", "GroupId": "dev-team",
                "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": "Standup in 5" } }]
            },
            "Sender": { "Nick": "Ann" },
            "Group": { "Name": "Dev team", "Type": "Work" },
            "App": { "BundleId": "com.example.chat" },
            "Recipients": [{ "Account": "team", "Devices": devices, "ReceiveOpt": 0 }]
        });
        let (status, answer) = http(gateway.addr, "POST", "/v1/push", Some(&body)).unwrap();
        assert_eq!(status, 202, "{answer}");
        accepted.push((answer["JobId"].as_str().unwrap().to_owned(), tokens));
    }
    // kill -9 while deliveries are under way.
    let mut gateway = gateway;
    gateway.child.kill().unwrap();
    gateway.child.wait().unwrap();
    let at_kill: usize = recorded_tokens(&standin).values().sum();
    let total = JOBS * PER_JOB;
    eprintln!("crash test: {at_kill} of {total} pushes had reached the stand-in at kill -9");

    // Restarted on the same store: everything answered 202 is delivered.
    let second_log = dir.path().join("second.log");
    let mut gateway = serve(&config, port, &second_log);
    let started = Instant::now();
    for (job, _) in &accepted {
        loop {
            let (_, state) = http(gateway.addr, "GET", &format!("/v1/jobs/{job}"), None).unwrap();
            let devices = state["Devices"].as_array().unwrap();
            assert_eq!(devices.len(), PER_JOB);
            if devices.iter().all(|d| d["State"] == "delivered") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not all delivered: {job}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let counts = recorded_tokens(&standin);
    let mut duplicates = 0;
    for (_, tokens) in &accepted {
        for token in tokens {
            let n = counts.get(token).copied().unwrap_or(0);
            assert!(n >= 1, "{token} was accepted but never delivered");
            duplicates += n - 1;
        }
    }
    eprintln!("crash test: all {total} delivered at least once; {duplicates} sent twice (in flight at the kill)");
    assert!(
        duplicates <= at_kill.max(1) + 512,
        "more duplicates than sends in flight could explain"
    );

    // SIGTERM: drains and exits 0.
    let status = Command::new("kill")
        .args(["-TERM", &gateway.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = gateway.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");

    // No key, provider token or API token in either run's log.
    for log in [first_log, second_log] {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(text.contains("tidings gateway"), "logging was on");
        assert!(
            text.contains("request_id="),
            "requests are logged with their id"
        );
        assert_no_secrets(&standin, &text);
        assert!(!text.contains(API_TOKEN), "the API token in the log");
    }
}

#[test]
fn a_bad_config_exits_64_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nlisten = \"nowhere\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: server.listen: "), "{stderr}");
    std::fs::write(&file, "[queue]\nkind = \"kafka\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: queue.kind: "));
}
