//! `tidings serve` as the real binary facing hostile clients: half-open
//! and silent connections closed after the header timeout, a trickling
//! body cut with 408, connections past the cap refused while those inside
//! keep working, one token's flood answered 429 while another's requests
//! pass, a failed-auth flood slowed and logged once, and TLS (HTTP/2 by
//! ALPN) with its certificate reloaded on SIGHUP without dropping an open
//! connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{free_port, serve_logging, serve_until, Gateway};

const TOKEN_A: &str = "hostile-test-token-a-0123456789";
const TOKEN_B: &str = "hostile-test-token-b-0123456789";
/// Long enough for any answer on a loaded 2-core machine: a read that
/// waits this long has not been answered.
const PATIENCE: Duration = Duration::from_secs(60);

/// A gateway with only `[server]` (no provider: these tests never send),
/// tokens A and B, and `extra` keys.
fn gateway(dir: &Path, extra: &str) -> (Gateway, PathBuf) {
    let port = free_port();
    let config = write_config(dir, port, extra);
    let log = dir.join("gateway.log");
    (serve_logging(&config, port, &log, "info"), log)
}

fn write_config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let file = dir.join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndata_dir = {:?}\n\
             api_tokens = [\"{TOKEN_A}\", \"{TOKEN_B}\"]\ndrain_secs = 2\n{extra}",
            dir.join("data")
        ),
    )
    .unwrap();
    file
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

/// An answer read off a keep-alive connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// One request on `stream` (kept alive), its answer read by its
/// `Content-Length`; `None` when the connection closes first.
fn exchange(stream: &mut TcpStream, method: &str, path: &str, token: &str) -> Option<Answer> {
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    read_answer(stream)
}

fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let mut answer = Answer {
        status,
        head,
        body: String::new(),
    };
    let length: usize = answer.header("content-length")?.parse().ok()?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    answer.body = String::from_utf8(body).ok()?;
    Some(answer)
}

/// Whether the server closed `stream` (EOF, or a reset), reading and
/// dropping whatever it answered first; a read that times out is not a
/// close.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                )
            }
        }
    }
}

/// `/metrics` as served, on a connection of its own.
fn metrics(addr: SocketAddr) -> String {
    let mut stream = connect(addr);
    exchange(&mut stream, "GET", "/metrics", "").unwrap().body
}

/// A sample in `/metrics` text (labels as written, e.g.
/// `{phase="header"}`); 0 when absent.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The open-file limit this test runs under (`ulimit -n`).
fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(1024)
}

#[test]
fn half_open_and_silent_connections_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, _log) = gateway(dir.path(), "header_timeout_secs = 1\n");
    // 500 half-open and 50 silent, below this process's file limit (the
    // gateway's is the same) with room for everything else.
    let half_open = 500.min(open_file_limit().saturating_sub(200) * 10 / 11);
    let silent = half_open / 10;
    let mut held: Vec<TcpStream> = (0..half_open + silent)
        .map(|_| connect(gateway.addr))
        .collect();
    for stream in &mut held[..half_open] {
        stream
            .write_all(b"POST /v1/push HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
    }
    // The gateway answers meanwhile, on a fresh connection.
    let mut probe = connect(gateway.addr);
    assert_eq!(
        exchange(&mut probe, "GET", "/healthz", "").unwrap().status,
        200
    );
    drop(probe);
    let waiting = Instant::now();
    for (i, stream) in held.iter_mut().enumerate() {
        assert!(
            closed_by_server(stream),
            "connection {i} still open after {:?}",
            waiting.elapsed()
        );
    }
    eprintln!(
        "{half_open} half-open and {silent} silent connections closed {:?} after the last was opened",
        waiting.elapsed()
    );
    let text = metrics(gateway.addr);
    let timed_out = sample(&text, "tidings_timeouts_total{phase=\"header\"}");
    assert!(
        timed_out >= (half_open + silent) as f64,
        "{timed_out} header timeouts counted"
    );
    // Their slots are given back (a task may still be finishing after its
    // socket closed): only the connection asking stays open.
    let started = Instant::now();
    while sample(&metrics(gateway.addr), "tidings_connections_open") != 1.0 {
        assert!(started.elapsed() < PATIENCE, "slots never given back");
    }
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    // idle_timeout_secs closes a connection between requests; on
    // HTTP/1.1 the header timeout does too (hyper starts its clock when
    // the connection begins waiting for the next request).
    for (keys, phase) in [
        ("idle_timeout_secs = 1\nheader_timeout_secs = 60\n", "idle"),
        (
            "idle_timeout_secs = 60\nheader_timeout_secs = 1\n",
            "header",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (gateway, _log) = gateway(dir.path(), keys);
        let mut stream = connect(gateway.addr);
        let answer = exchange(&mut stream, "GET", "/v1/feedback", TOKEN_A).unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        let waited = Instant::now();
        assert!(closed_by_server(&mut stream), "{keys}");
        eprintln!("{phase}: closed {:?} after its answer", waited.elapsed());
        let name = format!("tidings_timeouts_total{{phase=\"{phase}\"}}");
        assert_eq!(sample(&metrics(gateway.addr), &name), 1.0, "{keys}");
    }
}

#[test]
fn a_trickling_body_is_cut_with_408() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, _log) = gateway(dir.path(), "body_timeout_secs = 1\n");
    let mut stream = connect(gateway.addr);
    stream
        .write_all(
            format!(
                "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN_A}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .unwrap();
    // A byte every 100 ms: always about to finish, never finishing.
    let mut writer = stream.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..600 {
            if writer.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let answer = read_answer(&mut stream).expect("an answer");
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let error = answer.json()["Error"].as_str().unwrap().to_owned();
    assert!(error.contains("server.body_timeout_secs"), "{error}");
    assert!(closed_by_server(&mut stream));
    trickle.join().unwrap();
    let text = metrics(gateway.addr);
    assert_eq!(sample(&text, "tidings_timeouts_total{phase=\"body\"}"), 1.0);
    assert_eq!(
        sample(
            &text,
            "tidings_http_requests_total{route=\"/v1/push\",status=\"408\"}"
        ),
        1.0
    );
}

#[test]
fn connections_past_the_cap_are_refused_and_those_inside_keep_working() {
    const CAP: usize = 20;
    const EXTRA: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let (gateway, _log) = gateway(
        dir.path(),
        &format!("max_connections = {CAP}\nheader_timeout_secs = 60\n"),
    );
    // Fill the cap, each connection answered once (so it is inside; one
    // refused while the start-up probe's connection was still closing is
    // opened again).
    let mut inside = Vec::new();
    let started = Instant::now();
    while inside.len() < CAP {
        assert!(started.elapsed() < PATIENCE, "the cap never filled");
        let mut stream = connect(gateway.addr);
        if exchange(&mut stream, "GET", "/healthz", "").is_some() {
            inside.push(stream);
        }
    }
    for _ in 0..EXTRA {
        let mut extra = connect(gateway.addr);
        // Refused before a byte is read: the request may not even be sent.
        let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(closed_by_server(&mut extra), "a connection past the cap");
    }
    // Those inside keep working.
    let answer = exchange(&mut inside[0], "GET", "/metrics", "").unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(sample(&answer.body, "tidings_connections_open"), CAP as f64);
    let refused = sample(&answer.body, "tidings_connections_refused_total");
    assert!(refused >= EXTRA as f64, "{refused} refused counted");
    for stream in &mut inside {
        let answer = exchange(stream, "GET", "/v1/feedback", TOKEN_B).unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
}

#[test]
fn one_tokens_flood_gets_429_while_anothers_requests_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, log) = gateway(
        dir.path(),
        "rate_limit_per_second = 1\nrate_limit_burst = 5\n",
    );
    let mut flood = connect(gateway.addr);
    let mut other = connect(gateway.addr);
    let mut limited = Vec::new();
    for _ in 0..40 {
        let answer = exchange(&mut flood, "GET", "/v1/feedback", TOKEN_A).unwrap();
        match answer.status {
            200 => {}
            429 => limited.push(answer),
            other => panic!("{other}: {answer:?}"),
        }
    }
    // 5 at once and one a second: most of 40 back-to-back are refused.
    assert!(limited.len() >= 20, "{} of 40 refused", limited.len());
    let refusal = &limited[0];
    let retry_after: u64 = refusal.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refusal.json()["Error"],
        "API token 0 is over its rate (server.rate_limit_per_second)"
    );
    // Token B spends its own allowance only.
    for _ in 0..5 {
        let answer = exchange(&mut other, "GET", "/v1/feedback", TOKEN_B).unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let text = metrics(gateway.addr);
    assert_eq!(
        sample(&text, "tidings_rate_limited_total{token=\"0\"}"),
        limited.len() as f64
    );
    assert!(!text.contains("tidings_rate_limited_total{token=\"1\"}"));
    let logged = std::fs::read_to_string(log).unwrap();
    for (what, text) in [("metrics", &text), ("log", &logged)] {
        assert!(
            !text.contains(TOKEN_A) && !text.contains(TOKEN_B),
            "a token in the {what}"
        );
    }
}

#[test]
fn a_failed_auth_flood_is_slowed_and_logged_once_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, log) = gateway(dir.path(), "auth_failures_per_minute = 5\n");
    let wrong = "hostile-test-wrong-token-guess-1";
    let mut stream = connect(gateway.addr);
    let mut statuses = Vec::new();
    for _ in 0..50 {
        let answer = exchange(&mut stream, "GET", "/v1/feedback", wrong).unwrap();
        if answer.status == 429 {
            let retry_after: u64 = answer.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry_after), "{retry_after}");
            assert_eq!(
                answer.json()["Error"],
                "too many failed authentications from this address (server.auth_failures_per_minute)"
            );
        } else {
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
        }
        statuses.push(answer.status);
    }
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    // 5 a minute: the first 5 are told 401 (a sixth if a twelve-second
    // slot passed meanwhile), the rest 429.
    assert!((5..=7).contains(&unauthorized), "{statuses:?}");
    assert_eq!(
        unauthorized + statuses.iter().filter(|s| **s == 429).count(),
        50
    );
    // A valid token from the same address still passes.
    let answer = exchange(&mut stream, "GET", "/v1/feedback", TOKEN_A).unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let text = metrics(gateway.addr);
    assert_eq!(
        sample(&text, "tidings_auth_failures_total{outcome=\"limited\"}"),
        (50 - unauthorized) as f64
    );
    // Within the minute: one line for the address (its first failure).
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("failed API authentications"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("127.0.0.1"), "{}", lines[0]);
    assert!(!text.contains(wrong), "the wrong token in the log");
}

/// A self-signed certificate for `localhost` written as the gateway's
/// files; its DER, for a client trusting only it.
fn write_certificate(cert_file: &Path, key_file: &Path) -> Vec<u8> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(cert_file, made.cert.pem()).unwrap();
    std::fs::write(key_file, made.signing_key.serialize_pem()).unwrap();
    made.cert.der().to_vec()
}

/// An HTTPS client offering only `h2` by ALPN and trusting only `cert`.
fn client(cert: &[u8]) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.to_vec().into()).unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

/// `GET /healthz` over HTTPS: the HTTP version, or `None` if the
/// handshake (or the request) failed.
async fn healthz(client: &reqwest::Client, port: u16) -> Option<reqwest::Version> {
    let answer = client
        .get(format!("https://localhost:{port}/healthz"))
        .timeout(PATIENCE)
        .send()
        .await
        .ok()?;
    (answer.status() == 200).then(|| answer.version())
}

#[test]
fn tls_serves_h2_by_alpn_and_reloads_on_sighup_without_dropping_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("api.crt"), dir.path().join("api.key"));
    let first = write_certificate(&cert_file, &key_file);
    let port = free_port();
    let config = write_config(
        dir.path(),
        port,
        &format!("tls_cert_file = {cert_file:?}\ntls_key_file = {key_file:?}\n"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let old = client(&first);
    let log = dir.path().join("gateway.log");
    let gateway = serve_until(&config, port, &log, "info", &|_| {
        runtime.block_on(healthz(&old, port)).is_some()
    });
    assert_eq!(
        runtime.block_on(healthz(&old, port)),
        Some(reqwest::Version::HTTP_2),
        "HTTP/2 by ALPN"
    );
    // Plain HTTP on the TLS port gets no answer.
    assert!(common::http(gateway.addr, "GET", "/healthz", None).is_none());

    let second = write_certificate(&cert_file, &key_file);
    let new = client(&second);
    assert_eq!(
        runtime.block_on(healthz(&new, port)),
        None,
        "not reloaded yet"
    );
    let hup = Command::new("kill")
        .args(["-HUP", &gateway.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let started = Instant::now();
    while runtime.block_on(healthz(&new, port)).is_none() {
        assert!(
            started.elapsed() < PATIENCE,
            "the new certificate never served"
        );
    }
    // The connection opened under the first certificate still works (a
    // new one would be refused: `old` trusts only the first).
    assert_eq!(
        runtime.block_on(healthz(&old, port)),
        Some(reqwest::Version::HTTP_2)
    );
    assert_eq!(
        runtime.block_on(healthz(&client(&first), port)),
        None,
        "a new connection gets the new certificate"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("TLS certificate reloaded"), "{text}");
}

#[test]
fn a_bad_tls_file_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("api.crt"), dir.path().join("api.key"));
    write_certificate(&cert_file, &key_file);
    std::fs::write(&key_file, "not a key").unwrap();
    let config = write_config(
        dir.path(),
        free_port(),
        &format!("tls_cert_file = {cert_file:?}\ntls_key_file = {key_file:?}\n"),
    );
    let out = common::tidings(&["serve", "--config", config.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("server.tls_key_file") && stderr.contains("no PEM private key"),
        "{stderr}"
    );
}
