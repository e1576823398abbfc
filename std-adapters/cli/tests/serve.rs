//! `tidings serve` as the real binary: `kill -9` in the middle of a few
//! thousand deliveries loses nothing answered 202 (every such device is
//! delivered at least once after a restart; duplicates are counted and
//! reported), SIGTERM drains and exits cleanly, and no secret reaches the
//! log. On the NATS queue: three gateways on one real `nats-server -js`,
//! one of them `kill -9`ed and NATS itself restarted mid-run, lose nothing
//! either.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
#[path = "../../gateway/tests/support/nats_server.rs"]
mod nats_server;
use common::{
    assert_no_secrets, config, free_port, http, recorded_tokens, serve, sigterm_exits_cleanly,
    standin, API_TOKEN,
};

#[test]
fn kill_9_mid_load_loses_no_accepted_push_and_sigterm_drains() {
    const JOBS: usize = 5;
    const PER_JOB: usize = 600;
    let standin = standin(&[]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config(&standin, dir.path(), port, "");
    let first_log = dir.path().join("first.log");
    let gateway = serve(&config, port, &first_log);

    // Jobs of 600 devices each, every device its own token.
    let mut accepted: Vec<(String, Vec<String>)> = Vec::new();
    for job in 0..JOBS {
        let (body, tokens) = group_job(job, PER_JOB);
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
    await_delivered(
        &[gateway.addr],
        &accepted,
        PER_JOB,
        Duration::from_secs(120),
    );
    let duplicates = duplicates(&standin, &accepted);
    eprintln!("crash test: all {total} delivered at least once; {duplicates} sent twice (in flight at the kill)");
    assert!(
        duplicates <= at_kill.max(1) + 512,
        "more duplicates than sends in flight could explain"
    );

    // SIGTERM: drains and exits 0.
    sigterm_exits_cleanly(&mut gateway);

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

/// Waits (bounded) until every device of every job is delivered, asking
/// the gateways in turn.
fn await_delivered(
    gateways: &[std::net::SocketAddr],
    accepted: &[(String, Vec<String>)],
    per_job: usize,
    deadline: Duration,
) {
    let started = Instant::now();
    for (i, (job, _)) in accepted.iter().enumerate() {
        let asked = gateways[i % gateways.len()];
        loop {
            if let Some((200, state)) = http(asked, "GET", &format!("/v1/jobs/{job}"), None) {
                let devices = state["Devices"].as_array().unwrap();
                assert_eq!(devices.len(), per_job);
                if devices.iter().all(|d| d["State"] == "delivered") {
                    break;
                }
            }
            assert!(started.elapsed() < deadline, "not all delivered: {job}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sends beyond the first per accepted token, at the stand-in; every
/// accepted token must have been sent.
fn duplicates(standin: &common::Standin, accepted: &[(String, Vec<String>)]) -> usize {
    let counts = recorded_tokens(standin);
    let mut duplicates = 0;
    for (_, tokens) in accepted {
        for token in tokens {
            let n = counts.get(token).copied().unwrap_or(0);
            assert!(n >= 1, "{token} was accepted but never delivered");
            duplicates += n - 1;
        }
    }
    duplicates
}

/// A group message of `per_job` devices, every device its own token.
fn group_job(job: usize, per_job: usize) -> (Value, Vec<String>) {
    let tokens: Vec<String> = (0..per_job).map(|i| format!("{job:02x}{i:06x}")).collect();
    let body = common::group_push(&tokens, None);
    (body, tokens)
}

#[test]
fn three_gateways_on_nats_lose_nothing_when_one_is_killed_and_nats_restarts() {
    const JOBS: usize = 6;
    const PER_JOB: usize = 500;
    let mut nats = nats_server::NatsServer::start();
    // Every send takes 20 ms at the stand-in and a gateway has 8 in
    // flight, so the run lasts a few seconds and the faults land in it.
    let standin = standin(&["--delay-ms", "20"]);
    let dir = tempfile::tempdir().unwrap();
    let queue = format!(
        "concurrency = 8\n[queue]\nkind = \"nats\"\nurl = \"{}\"\nack_wait_secs = 2\n",
        nats.url()
    );
    let mut gateways = Vec::new();
    let mut logs = Vec::new();
    for name in ["a", "b", "c"] {
        let home = dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        let port = free_port();
        let config = config(&standin, &home, port, &queue);
        let log = home.join("serve.log");
        gateways.push(serve(&config, port, &log));
        logs.push(log);
    }

    // Jobs posted round-robin to the three gateways.
    let mut accepted: Vec<(String, Vec<String>)> = Vec::new();
    for job in 0..JOBS {
        let (body, tokens) = group_job(job, PER_JOB);
        let (status, answer) =
            http(gateways[job % 3].addr, "POST", "/v1/push", Some(&body)).unwrap();
        assert_eq!(status, 202, "{answer}");
        accepted.push((answer["JobId"].as_str().unwrap().to_owned(), tokens));
    }
    let total = JOBS * PER_JOB;
    let reached = || -> usize { recorded_tokens(&standin).values().sum() };

    // kill -9 one gateway once deliveries are under way.
    let started = Instant::now();
    while reached() < total / 5 {
        assert!(started.elapsed() < Duration::from_secs(60), "no deliveries");
        std::thread::sleep(Duration::from_millis(10));
    }
    gateways[0].child.kill().unwrap();
    gateways[0].child.wait().unwrap();
    let at_kill = reached();
    // Then NATS itself, restarted on the same store.
    while reached() < at_kill + total / 5 && reached() < total {
        assert!(started.elapsed() < Duration::from_secs(120), "stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    nats.kill();
    let at_nats = reached();
    nats.restart();
    eprintln!(
        "nats crash test: {at_kill} of {total} at the stand-in at the gateway's kill -9, {at_nats} when NATS was restarted"
    );

    // Everything answered 202 is delivered, as either survivor tells.
    let survivors = [gateways[1].addr, gateways[2].addr];
    await_delivered(&survivors, &accepted, PER_JOB, Duration::from_secs(240));
    let duplicates = duplicates(&standin, &accepted);
    eprintln!(
        "nats crash test: all {total} delivered at least once; {duplicates} sent more than once"
    );
    // Only sends in flight at a fault can go twice: at most 32 per gateway
    // (4 x concurrency), three gateways, two faults.
    assert!(duplicates <= 3 * 32 * 2, "{duplicates} duplicates");

    for gateway in &mut gateways[1..] {
        sigterm_exits_cleanly(gateway);
    }
    for (i, log) in logs.into_iter().enumerate() {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(
            text.contains("NATS JetStream queue ready"),
            "logging was on"
        );
        // The survivors lived through NATS's restart.
        assert!(
            i == 0 || text.contains("NATS connection lost"),
            "the reconnect was logged"
        );
        assert!(
            !text.contains(nats_server::PASSWORD),
            "the NATS password in the log"
        );
        assert_no_secrets(&standin, &text);
        assert!(!text.contains(API_TOKEN), "the API token in the log");
    }
}

#[test]
fn a_bad_config_exits_64_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    for (config, named) in [
        ("[server]\nlisten = \"nowhere\"\n", "server.listen"),
        ("[queue]\nkind = \"kafka\"\n", "queue.kind"),
    ] {
        std::fs::write(&file, config).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(["serve", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{named}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("error: {named}: ")), "{stderr}");
    }
}
